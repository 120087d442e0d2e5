"""Read YAML into plain data while remembering where every value stood, refusing duplicate keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from knowledge.errors import KnowledgeError, Location, dotted

__all__ = ["Path", "YamlDocument", "parse_yaml"]

# A position inside a document: mapping keys and sequence indexes, as pydantic's ``loc`` gives them.
Path = tuple[str | int, ...]


@dataclass(slots=True)
class YamlDocument:
    """Plain data of one YAML file plus the line and column of each value in it."""

    path: str
    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    # Where each mapping key stands, for errors about the key itself (unknown field, duplicate).
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def location(self, loc: Path, *, key: bool = False) -> Location:
        """The closest known position to ``loc``: the value itself, else its nearest parent."""
        if key and tuple(loc) in self.key_marks:
            line, column = self.key_marks[tuple(loc)]
            return Location(self.path, line, column)
        for end in range(len(loc), -1, -1):
            mark = self.marks.get(tuple(loc[:end]))
            if mark is not None:
                return Location(self.path, mark[0], mark[1])
        return Location(self.path)


def parse_yaml(text: str, path: str) -> tuple[YamlDocument | None, list[KnowledgeError]]:
    """Parse ``text``; on failure return no document and the errors, each with its position."""
    try:
        # libyaml's composer when present: several times faster than the pure-Python one.
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError:
        # Errors are rare; PyYAML's own parser words them better ("but got ':'"), so ask it.
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            return None, [_syntax_error(exc, path)]
    document = YamlDocument(path, None)
    errors: list[KnowledgeError] = []
    if node is not None:
        document.data = _build(node, (), document, errors)
    return (None if errors else document), errors


def _syntax_error(exc: yaml.MarkedYAMLError, path: str) -> KnowledgeError:
    mark = exc.problem_mark
    where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
    return KnowledgeError(
        where,
        "",
        f"not valid YAML: {exc.problem or exc}",
        "Check indentation, colons and quotes around this point.",
    )


def _build(node: yaml.Node, at: Path, document: YamlDocument, errors: list[KnowledgeError]) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return _construct(node, at, document, errors, loader)
    finally:
        loader.dispose()


def _construct(
    node: yaml.Node,
    at: Path,
    document: YamlDocument,
    errors: list[KnowledgeError],
    loader: yaml.SafeLoader,
) -> Any:
    document.marks[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_at = Location(
                document.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1
            )
            if not isinstance(key_node, yaml.ScalarNode):
                errors.append(
                    KnowledgeError(
                        key_at,
                        dotted(at),
                        "a key is not plain text",
                        "Write each key as a single word or quoted text.",
                    )
                )
                continue
            key = str(loader.construct_object(key_node))
            document.key_marks[(*at, key)] = (key_at.line or 1, key_at.column or 1)
            if key in result:
                errors.append(
                    KnowledgeError(
                        key_at,
                        dotted((*at, key)),
                        f"duplicate key {key!r}",
                        "Keep one of the two entries and delete the other.",
                    )
                )
                continue
            result[key] = _construct(value_node, (*at, key), document, errors, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*at, index), document, errors, loader)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node)
