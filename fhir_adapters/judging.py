"""Choosing among several results for one gene: corrections, dates, and disagreements.

- an amended or corrected result supersedes the preliminary or final one with the same identity
  (resource reference or business identifier);
- otherwise the latest result per gene wins;
- two results of the same latest date that disagree are a conflict: neither is used, both are
  reported, so a card never rests on a silent choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from knowledge import GeneResult
from knowledge.phenotype import normalize_diplotype

__all__ = ["Conflict", "Reading", "choose"]

# Higher supersedes lower among results with the same identity.
_STATUS_RANK = {"amended": 3, "corrected": 3, "final": 2, "preliminary": 1, "unknown": 0}


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two or more current results for one gene that disagree; none of them was used."""

    gene: str
    results: tuple[GeneResult, ...]


@dataclass(slots=True)
class Reading:
    """One gene result read from one resource, with what is needed to judge it against others."""

    result: GeneResult
    identities: frozenset[str] = field(default_factory=frozenset)


def choose(readings: Sequence[Reading]) -> tuple[GeneResult | None, Conflict | None]:
    """The result to use for one gene, or the conflict that prevents using any."""
    current = _without_superseded(readings)
    latest = max((r.result.effective or "") for r in current)
    newest = [r.result for r in current if (r.result.effective or "") == latest]
    distinct: list[GeneResult] = []
    for result in newest:
        same = next((d for d in distinct if _agree(d, result)), None)
        if same is None:
            distinct.append(result)
        elif _richer(result, same):
            distinct[distinct.index(same)] = result
    if len(distinct) > 1:
        return None, Conflict(distinct[0].gene, tuple(distinct))
    return distinct[0], None


def _without_superseded(readings: Sequence[Reading]) -> list[Reading]:
    kept: list[Reading] = []
    for reading in readings:
        rivals = [k for k in kept if k.identities & reading.identities]
        if not rivals:
            kept.append(reading)
            continue
        for rival in rivals:
            if _rank(reading) > _rank(rival):
                kept.remove(rival)
                if reading not in kept:
                    kept.append(reading)
    return kept


def _rank(reading: Reading) -> tuple[int, str]:
    result = reading.result
    return _STATUS_RANK.get(result.status or "", 0), result.effective or ""


def _agree(a: GeneResult, b: GeneResult) -> bool:
    """Same alleles (in any order), no carrier status contradicted, phenotypes not at odds."""
    if a.diplotype and b.diplotype:
        pa, pb = normalize_diplotype(a.diplotype), normalize_diplotype(b.diplotype)
        if (pa or a.diplotype) != (pb or b.diplotype):
            return False
    if a.carriers & b.non_carriers or b.carriers & a.non_carriers:
        return False
    if not (a.diplotype or b.diplotype) and a.reported_phenotype and b.reported_phenotype:
        return a.reported_phenotype.lower() == b.reported_phenotype.lower()
    return True


def _richer(candidate: GeneResult, kept: GeneResult) -> bool:
    """A diplotype says more than carrier status, which says more than a phenotype alone."""

    def score(r: GeneResult) -> int:
        return (
            2 * bool(r.diplotype) + bool(r.carriers or r.non_carriers) + bool(r.reported_phenotype)
        )

    return score(candidate) > score(kept)
