"""How one gene result was read: the phenotype, the lookup keys, and what changed it.

Kept apart from the evaluator so that what converts a call (phenoconversion) and what reads it
(the evaluator, the dose algorithms) both build on it without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.results import GeneResult
from knowledge.schema import LocusCondition

__all__ = ["NO_RESULT", "Conversion", "GeneCall"]

# CPIC multi-gene tables key "gene not tested" as "No Result"; an unreadable result is treated
# the same for matching (the card still says it could not be read).
NO_RESULT = frozenset({"No Result"})
# "*1x2" carries *1: copy-number suffixes do not change which allele is carried.
_COPY_SUFFIX = re.compile("\\s*[xX\u00d7]\\s*≥?\\d+$")


@dataclass(frozen=True, slots=True)
class Conversion:
    """A co-medication changed the phenotype used for the decision (phenoconversion).

    The call then carries the converted phenotype and keys; this keeps what the genotype alone
    predicted, the inhibitors responsible and the sourced rule applied, for the card to say.
    ``applied`` is False when an inhibitor is taken but no sourced rule converts this result
    (the card names the inhibitor and keeps the genotype-predicted phenotype).
    """

    genotype_phenotype: str | None
    genotype_activity_score: str | None
    # (drug, strength, where it was read), strongest first.
    inhibitors: tuple[tuple[str, str, str], ...]
    applied: bool
    basis: str


@dataclass(frozen=True, slots=True)
class GeneCall:
    """How one gene result was read: the CPIC phenotype and the keys recommendations are looked up by."""

    gene: str
    result: GeneResult | None
    diplotype: str | None = None
    phenotype: str | None = None
    activity_score: str | None = None
    # Usually one key; allele-status genes give one per allele of interest ("*57:01 negative" …).
    lookup_keys: frozenset[str] = frozenset()
    method: str | None = None
    # Why there is no lookup key (no result, diplotype not in the CPIC table …); never guessed.
    note: str | None = None
    # The two alleles (one for haploid genes) when every one is a known name; flowchart rules
    # ask which alleles are carried even where CPIC assigns no phenotype (CYP4F2, rs12777823).
    alleles: tuple[str, ...] = ()
    # Only some of what the gene table asks was reported (HLA-B*15:02 tested, *57:01 not).
    partial: bool = False
    # Set when a co-medication changed the phenotype (see Conversion).
    conversion: Conversion | None = None

    @property
    def lookup_key(self) -> str | None:
        """The single key, for the common one-key genes (``None`` when unreadable or several)."""
        return next(iter(self.lookup_keys)) if len(self.lookup_keys) == 1 else None

    diplotype_key: str | None = None

    @property
    def match_keys(self) -> frozenset[str]:
        """Keys recommendations match on: CPIC's ``No Result`` row when nothing could be read.

        Besides the lookup key, DPWG keys some rows on the phenotype name (for genes CPIC keys on
        the activity score) or on the diplotype itself; both are offered.
        """
        if not self.lookup_keys:
            return NO_RESULT
        extra = {k for k in (self.phenotype, self.diplotype_key) if k}
        return self.lookup_keys | extra

    @property
    def carried(self) -> frozenset[str]:
        """The alleles carried, copy-number suffixes dropped (``*1x2`` carries ``*1``)."""
        return frozenset(_COPY_SUFFIX.sub("", allele) for allele in self.alleles)

    def satisfies(self, condition: LocusCondition, allele_only: bool) -> bool:
        """Whether this result meets a flowchart condition; nothing unreadable is ever assumed.

        ``allele_only``: the guideline reads this locus by its alleles alone, so a result with
        known alleles but no CPIC phenotype (CYP4F2) still counts as tested.
        """
        readable = bool(self.lookup_keys) or (allele_only and bool(self.alleles))
        if condition.tested is not None and condition.tested != readable:
            return False
        if condition.carries and not (readable and self.carried & set(condition.carries)):
            return False
        if condition.carries_none_of and (
            not readable or self.carried & set(condition.carries_none_of)
        ):
            return False
        return not condition.phenotype or bool(
            ({self.phenotype} | self.lookup_keys) & set(condition.phenotype)
        )
