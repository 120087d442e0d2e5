"""Which two variants decide a DPYD or RYR1 phenotype when a copy may carry several.

CPIC (fluoropyrimidines, PMID 29152729): the DPYD activity score is the sum of the activity values
of the two lowest-function variants; two different decreased/no-function variants are presumed to
lie on different copies. On phased data that is the lowest-function variant of each copy. RYR1
(CPIC volatile anaesthetics): malignant-hyperthermia-associated variants come first.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from knowledge.phenotype import ActivityScore, DiplotypeIndex

__all__ = ["REFERENCE", "lowest_function_pair"]

REFERENCE = "Reference"
# Lower is worse; used where an allele has no activity value (RYR1).
_FUNCTION_RANK = {
    "No function": 0,
    "Malignant Hyperthermia associated": 0,
    "Decreased function": 1,
    "Uncertain function": 2,
    "Normal function": 3,
}


def _rank(index: DiplotypeIndex, allele: str) -> tuple[Decimal, int] | None:
    known = index.table.alleles.get(allele)
    if known is None:
        return None
    activity = ActivityScore.parse(known.activity_value) if known.activity_value else None
    function = _FUNCTION_RANK.get(known.function)
    if activity is None and function is None:
        return None
    value = activity.value if activity is not None else Decimal(function or 0)
    return (value, function if function is not None else 9)


def lowest_function_pair(
    index: DiplotypeIndex,
    *,
    strands: Sequence[Sequence[str]] = (),
    variants: Sequence[str] = (),
) -> tuple[str, str] | None:
    """``("c.1905+1G>A (*2A)", "Reference")``; ``None`` if some variant's function is unknown."""
    if strands:
        pair = []
        for strand in strands:
            chosen = _lowest(index, list(strand) or [REFERENCE], 1)
            if chosen is None:
                return None
            pair.extend(chosen)
        if len(pair) == 1:  # haploid
            return None
        return pair[0], pair[1]
    chosen = _lowest(index, [*variants, REFERENCE, REFERENCE], 2)
    return None if chosen is None else (chosen[0], chosen[1])


def _lowest(index: DiplotypeIndex, alleles: list[str], count: int) -> list[str] | None:
    ranked = []
    for order, allele in enumerate(alleles):
        rank = _rank(index, allele)
        if rank is None:
            return None
        ranked.append((rank, order, allele))
    return [allele for _, _, allele in sorted(ranked)[:count]]
