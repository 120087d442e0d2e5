"""Turn pydantic validation errors into located, pharmacist-readable errors with a fix."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from knowledge.errors import KnowledgeError, dotted
from knowledge.yaml_source import Path, YamlDocument

__all__ = ["validate_document"]

Model = TypeVar("Model", bound=BaseModel)

_FIXES = {
    "missing": "Add this field.",
    "extra_forbidden": "Remove it, or check its spelling against docs/knowledge-format.md.",
    "literal_error": "Use one of those words.",
    "string_pattern_mismatch": "Write it in the form shown.",
    "string_type": "Write text here (quote it if it looks like a number or date).",
    "int_type": "Write a whole number here.",
    "int_parsing": "Write a whole number here.",
    "list_type": "Write a list here (items starting with '- ').",
    "dict_type": "Write a mapping here (key: value lines).",
    "model_type": "Write a mapping here (key: value lines).",
    "too_short": "Add at least one entry.",
    "greater_than": "Use a larger number.",
    "less_than_equal": "Use a smaller number.",
}


def validate_document(
    model: type[Model], document: YamlDocument
) -> tuple[Model | None, list[KnowledgeError]]:
    """Validate the whole document; every error is reported, located at its line and column."""
    try:
        return model.model_validate(document.data), []
    except ValidationError as exc:
        return None, [_to_knowledge_error(error, document) for error in exc.errors()]


def _to_knowledge_error(error: Any, document: YamlDocument) -> KnowledgeError:
    loc: Path = tuple(error["loc"])
    kind = error["type"]
    message = str(error["msg"])
    fix = _FIXES.get(kind, "See docs/knowledge-format.md for this field.")
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
        expected = expected.replace(" or ", ", ")
        message = f"{error['input']!r} is not one of {expected}"
    elif kind == "missing":
        message = "missing"
    elif kind == "extra_forbidden":
        message = "is not a known field"
    elif kind == "value_error":
        # Our validators write "what is wrong; how to fix it".
        text = str(error.get("ctx", {}).get("error", message))
        what, _, how = text.partition("; ")
        message = what
        fix = (how[:1].upper() + how[1:] + ".") if how else fix
    where = document.location(loc, key=kind == "extra_forbidden")
    return KnowledgeError(where, dotted(loc), message, fix)
