"""Errors about a VCF or outside-call file, located the way an editor jumps to them."""

from __future__ import annotations

__all__ = ["VcfInputError"]


class VcfInputError(Exception):
    """``INPUT.vcf:12: what is wrong. How to fix it.`` (line omitted when not known)."""

    def __init__(self, source: str, problem: str, fix: str, *, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        self.fix = fix
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}. {fix}")
