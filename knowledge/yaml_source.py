"""Read YAML into plain data while remembering where every value stood, refusing duplicate keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from knowledge.errors import KnowledgeError, Location, dotted

__all__ = ["MAX_ALIAS_VALUES", "MAX_DEPTH", "Path", "YamlDocument", "load_plain", "parse_yaml"]

# A position inside a document: mapping keys and sequence indexes, as pydantic's ``loc`` gives them.
Path = tuple[str | int, ...]

# Knowledge files nest a handful of levels; far deeper is a broken or hostile file, and libyaml's
# scanner slows quadratically with flow depth, so reading stops at this depth.
MAX_DEPTH = 100
# Values that aliases (*name) may add in all: a "billion laughs" file is refused, not expanded.
MAX_ALIAS_VALUES = 100_000
# libyaml's parser when present: several times faster than the pure-Python one.
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


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
    """Parse ``text``; on failure return no document and the errors, each with its position.

    Built from the parser's events, without recursion: depth and alias expansion are bounded,
    so no file can exhaust the stack or the memory (``MAX_DEPTH``, ``MAX_ALIAS_VALUES``).
    """
    document = YamlDocument(path, None)
    builder = _Builder(document)
    try:
        builder.run(yaml.parse(text, Loader=_FAST))
    except (yaml.YAMLError, UnicodeError) as exc:
        # Errors are rare; PyYAML's own parser words them better ("but got ':'"), so ask it.
        return None, [_syntax_error(_worded(text) or exc, text, path)]
    except _Stop:
        pass
    errors = builder.errors
    return (None if errors else document), errors


def load_plain(text: str) -> Any:
    """Plain data from YAML this project wrote itself (libyaml when present), positions unkept.

    For the generator's own inputs and for tests: files a person edits go through
    :func:`parse_yaml`, which locates every error and refuses duplicate keys.
    """
    return yaml.load(text, Loader=_FAST)


def _worded(text: str) -> yaml.YAMLError | None:
    """The pure-Python parser's error for ``text`` (read no deeper than ``MAX_DEPTH``)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return None
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        return exc
    return None


def _syntax_error(exc: BaseException, text: str, path: str) -> KnowledgeError:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):
        # A character YAML does not allow (a control character, a lone surrogate).
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return KnowledgeError(
            Location(path, line, column),
            "",
            f"not valid YAML: character {ord(char):#06x} is not allowed ({exc.reason})",
            "Delete the character or write it as a \\u escape inside double quotes.",
        )
    if isinstance(exc, UnicodeError):
        return KnowledgeError(
            Location(path), "", "not valid YAML: the text is not valid Unicode", "Save it as UTF-8."
        )
    where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
    problem = getattr(exc, "problem", None)
    return KnowledgeError(
        where,
        "",
        f"not valid YAML: {problem or exc}",
        "Check indentation, colons and quotes around this point.",
    )


class _Stop(Exception):
    """The file cannot be read further (too deep, an alias bomb); its error is recorded."""


# Where the next value goes, besides a path: a mapping key, or nowhere (a dropped subtree).
_KEY = object()
_DROPPED = object()
# A mapping frame's key slot: waiting for a key, or the value of this key is to be dropped.
_NO_KEY = object()
_DROP = object()


@dataclass(slots=True)
class _Frame:
    # None for a dropped subtree: a duplicate key's value, a collection used as a key.
    container: dict[str, Any] | list[Any] | None
    at: Path | None
    anchor: str | None
    mark: tuple[int, int]
    key: Any = _NO_KEY
    size: int = 1


class _Builder:
    """Plain data from a stream of YAML events, as ``yaml.compose`` then ``construct`` would."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.errors: list[KnowledgeError] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.alias_values = 0
        self.documents = 0
        self.constructor = yaml.SafeLoader("")

    def run(self, events: Iterable[yaml.Event]) -> None:
        try:
            for event in events:
                self._event(event)
        finally:
            self.constructor.dispose()

    def _event(self, event: yaml.Event) -> None:
        kind = type(event)
        if issubclass(kind, yaml.CollectionEndEvent):
            frame = self.stack.pop()
            if frame.anchor is not None:
                self.anchors[frame.anchor] = (frame.container, frame.size)
            self._add(frame.container, frame.mark, frame.size, collection=True)
            return
        if not issubclass(kind, yaml.NodeEvent):
            if kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    self._stop(event, None, "a second document (---) follows the first", _ONE)
            return
        at = self._next()
        mark = _line_column(event)
        if type(at) is tuple:
            self.document.marks[at] = mark
        if kind is yaml.ScalarEvent:
            assert isinstance(event, yaml.ScalarEvent)
            value = None if at is _DROPPED else self._scalar(event, at)
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 1)
            self._add(value, mark, 1, collection=False)
        elif kind is yaml.AliasEvent:
            assert isinstance(event, yaml.AliasEvent)
            value, size = self._alias(event)
            self._add(value, mark, size, collection=isinstance(value, dict | list))
        else:
            assert isinstance(event, yaml.CollectionStartEvent)
            if len(self.stack) >= MAX_DEPTH:
                self._stop(
                    event,
                    None,
                    f"nested more than {MAX_DEPTH} levels deep",
                    "Knowledge files nest a few levels; check the brackets and indentation.",
                )
            if event.tag not in _COLLECTION_TAGS:
                self._error(event, at, f"the tag {event.tag} is not allowed", _PLAIN)
            container: dict[str, Any] | list[Any] | None = None
            if type(at) is tuple:
                container = {} if kind is yaml.MappingStartEvent else []
            path = at if type(at) is tuple else None
            self.stack.append(_Frame(container, path, event.anchor, mark))

    def _next(self) -> Any:
        """Where the next value goes: its path, ``_KEY`` or ``_DROPPED``."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if frame.at is None or frame.key is _DROP:
            return _DROPPED
        if isinstance(frame.container, list):
            return (*frame.at, len(frame.container))
        if frame.key is _NO_KEY:
            return _KEY
        return (*frame.at, frame.key)

    def _scalar(self, event: yaml.ScalarEvent, at: Any) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.constructor.resolve(  # type: ignore[no-untyped-call]
                yaml.ScalarNode, event.value, event.implicit
            )
        if tag == _STR:
            return event.value  # most values: skip the constructor's bookkeeping
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        try:
            value = self.constructor.construct_object(node)
        except yaml.constructor.ConstructorError:
            # Python objects, merge keys (<<), a site's own tags: nothing a knowledge file needs.
            self._error(event, at, f"the tag {tag} is not allowed", _PLAIN)
            return None
        except (ValueError, KeyError, TypeError, OverflowError):
            # !!int 0b, 2001-02-30, !!bool maybe, an integer of more than 4300 digits.
            kind = tag.rsplit(":", 1)[-1]
            self._error(
                event,
                at,
                f"{_clip(event.value)!r} is not a valid {kind}",
                "Quote it to keep it as text, or correct it.",
            )
            return None
        return value

    def _alias(self, event: yaml.AliasEvent) -> tuple[Any, int]:
        name = event.anchor
        if any(frame.anchor == name for frame in self.stack):
            self._stop(
                event, None, f"the alias *{name} refers to a value that contains it", _ALIASES
            )
        if name not in self.anchors:
            self._error(
                event, None, f"the alias *{name} names no anchor &{name} before it", _ALIASES
            )
            return None, 1
        value, size = self.anchors[name]
        self.alias_values += size
        if self.alias_values > MAX_ALIAS_VALUES:
            self._stop(
                event, None, f"aliases expand to more than {MAX_ALIAS_VALUES} values", _ALIASES
            )
        return value, size

    def _add(self, value: Any, mark: tuple[int, int], size: int, *, collection: bool) -> None:
        if not self.stack:
            self.document.data = value
            return
        frame = self.stack[-1]
        frame.size += size
        if frame.at is None or frame.container is None:
            return
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif frame.key is _NO_KEY:
            frame.key = self._key(value, frame.at, frame.container, mark, collection=collection)
        elif frame.key is _DROP:
            frame.key = _NO_KEY
        else:
            frame.container[frame.key] = value
            frame.key = _NO_KEY

    def _key(
        self,
        value: Any,
        at: Path,
        mapping: dict[str, Any],
        mark: tuple[int, int],
        *,
        collection: bool,
    ) -> Any:
        if collection:
            self.errors.append(
                KnowledgeError(
                    Location(self.document.path, *mark),
                    dotted(at),
                    "a key is not plain text",
                    "Write each key as a single word or quoted text.",
                )
            )
            return _DROP
        key = str(value)
        if key in mapping:
            self.errors.append(
                KnowledgeError(
                    Location(self.document.path, *mark),
                    dotted((*at, key)),
                    f"duplicate key {key!r}",
                    "Keep one of the two entries and delete the other.",
                )
            )
            return _DROP
        self.document.key_marks[(*at, key)] = mark
        return key

    def _error(self, event: yaml.Event, at: Any, message: str, fix: str) -> None:
        where = Location(self.document.path, *_line_column(event))
        field = dotted(at) if isinstance(at, tuple) else ""
        self.errors.append(KnowledgeError(where, field, message, fix))

    def _stop(self, event: yaml.Event, at: Any, message: str, fix: str) -> None:
        self._error(event, at, message, fix)
        raise _Stop


_PLAIN = "Remove the tag: knowledge files hold plain text, numbers, lists and mappings."
_ALIASES = "Write the values out instead of using anchors (&name) and aliases (*name)."
_ONE = "Keep one document per file: remove the '---' line and what follows, or split it."


def _line_column(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _clip(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:37]}..."
