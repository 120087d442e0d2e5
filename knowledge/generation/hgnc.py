"""HGNC gene ids, read from the codings of the real FHIR examples in ``shared/fhir-examples``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from knowledge.generation.common import GenerationError

__all__ = ["hgnc_ids"]

_SYSTEMS = frozenset({"http://www.genenames.org", "http://www.genenames.org/geneId"})


def hgnc_ids(shared: Path, curated: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Gene symbol → (HGNC id, where it was seen); curated entries add genes no example shows.

    Real examples carry typos (one eMERGE bundle codes CYP2C19 as ``HGNC:262``), so the id most
    files agree on wins, and it must be seen in at least two files.
    """
    votes: dict[str, dict[str, list[str]]] = {}
    root = shared / "fhir-examples"
    for path in sorted(root.rglob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        for coding in _codings(document):
            code, symbol = str(coding.get("code", "")), coding.get("display")
            if not code.startswith("HGNC:") or not isinstance(symbol, str) or " " in symbol:
                continue
            files = votes.setdefault(symbol, {}).setdefault(code, [])
            where = str(path.relative_to(root))
            if where not in files:
                files.append(where)
    seen: dict[str, tuple[str, str]] = {}
    for symbol, codes in sorted(votes.items()):
        code, files = max(codes.items(), key=lambda kv: (len(kv[1]), kv[0]))
        if len(files) >= 2:
            seen[symbol] = (
                code,
                f"HGNC coding {code} {symbol!r} in {len(files)} files of ../shared/fhir-examples "
                f"(first: {files[0]})",
            )
    for symbol, entry in curated.items():
        code = entry["hgnc_id"]
        if symbol in seen and seen[symbol][0] != code:
            raise GenerationError(f"curated {symbol} {code} disagrees with {seen[symbol][1]}")
        seen.setdefault(symbol, (code, " ".join(entry["hgnc_source"].split())))
    return seen


def _codings(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, dict):
        if str(node.get("system", "")).rstrip("/") in _SYSTEMS:
            yield node
        for value in node.values():
            yield from _codings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _codings(value)
