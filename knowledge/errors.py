"""Errors in knowledge files, each located as ``file:line:col`` for the pharmacist who fixes it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["KnowledgeError", "KnowledgeLoadError", "Location", "dotted"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where in a knowledge file something is (1-based line and column)."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}:{self.column or 1}"


@dataclass(frozen=True, slots=True)
class KnowledgeError:
    """One problem in one knowledge file: what is wrong and how to fix it."""

    location: Location
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field else ""
        message = self.message.rstrip(".")
        return f"{self.location}: {field}{message}. {self.fix}"


class KnowledgeLoadError(Exception):
    """The knowledge base was refused; carries every error found, not just the first."""

    def __init__(self, errors: Sequence[KnowledgeError]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        lines = "\n".join(str(error) for error in self.errors)
        super().__init__(
            f"{count} error{'s' if count != 1 else ''} in the knowledge base:\n{lines}"
        )


def dotted(path: Iterable[str | int]) -> str:
    """``recommendations[1].strength`` from ``("recommendations", 1, "strength")``.

    The one way a place in a document is written, for YAML errors and request errors alike
    (the FHIRPath-like form of OperationOutcome.issue.expression).
    """
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
