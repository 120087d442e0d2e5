"""Match a patient's gene results against the guidelines for one drug."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from knowledge.base import KnowledgeBase
from knowledge.results import GeneResult
from knowledge.schema import Guideline, LocusCondition, Recommendation, Variant

__all__ = [
    "URGENCY",
    "Conversion",
    "Evaluation",
    "GeneCall",
    "call_gene",
    "call_variant",
    "evaluate",
    "indicator_for",
]

_SILENT_ACTIONS = frozenset({"standard", "no-recommendation"})
# CPIC multi-gene tables key "gene not tested" as "No Result"; an unreadable result is treated
# the same for matching (the card still says it could not be read).
_NO_RESULT = frozenset({"No Result"})
_FIRM = frozenset({"strong", "moderate", "not graded"})
# Card indicators, least to most urgent.
URGENCY = {"info": 0, "warning": 1, "critical": 2}
_STRENGTH_RANK = {"strong": 3, "moderate": 2, "not graded": 2, "optional": 1}
# "*1x2" carries *1: copy-number suffixes do not change which allele is carried.
_COPY_SUFFIX = re.compile("\\s*[xX\u00d7]\\s*≥?\\d+$")
_GENOTYPE_SEPARATOR = re.compile(r"\s*[/|]\s*")


def indicator_for(rec: Recommendation) -> str:
    """How urgent a recommendation is (the table is in docs/cards.md); the YAML may override it."""
    if rec.indicator is not None:
        return rec.indicator
    if rec.action == "contraindicated":
        return "critical"
    # DPWG does not grade; its actionable advice is issued as an alert, so it is treated as firm.
    if rec.action in ("alternative", "dose-adjustment") and rec.strength in _FIRM:
        return "warning"
    return "info"


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
            return _NO_RESULT
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


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One guideline applied to one drug for one patient."""

    guideline: Guideline
    drug: str
    calls: tuple[GeneCall, ...]
    recommendations: tuple[Recommendation, ...]
    # Genes and variants this guideline reads by their alleles alone (KnowledgeBase.allele_only).
    allele_only: frozenset[str] = frozenset()
    # Genes read only in part (HLA-B*15:02 reported, *57:01 not) that no row of this guideline
    # could match: the result on file does not answer the guideline's question.
    unanswered: frozenset[str] = frozenset()

    @property
    def actionable(self) -> tuple[Recommendation, ...]:
        """The matched recommendations that ask the prescriber to do something different."""
        return tuple(r for r in self.recommendations if r.action not in _SILENT_ACTIONS)

    @property
    def uninterpretable(self) -> tuple[GeneCall, ...]:
        """Results on file that the CPIC tables cannot turn into a phenotype (never guessed)."""
        return tuple(
            c
            for c in self.calls
            if c.result is not None
            and (
                c.gene in self.unanswered
                or (not c.lookup_keys and not (c.gene in self.allele_only and c.alleles))
            )
        )

    @property
    def lead(self) -> Recommendation | None:
        """The most urgent, then strongest, actionable recommendation: it speaks for the card."""
        return max(
            self.actionable,
            key=lambda r: (URGENCY[indicator_for(r)], _STRENGTH_RANK.get(r.strength, 0)),
            default=None,
        )

    @property
    def indicator(self) -> str | None:
        """The card's urgency, or ``None`` when no card is due (see docs/cards.md)."""
        if self.lead is not None:
            return indicator_for(self.lead)
        return "info" if self.uninterpretable else None

    @property
    def alternatives(self) -> dict[str, set[str | None]]:
        """Each suggested drug with the populations whose recommendation names it, strongest first."""
        found: dict[str, set[str | None]] = {}
        ranked = sorted(
            self.actionable, key=lambda r: _STRENGTH_RANK.get(r.strength, 0), reverse=True
        )
        for rec in ranked:
            for alternative in rec.alternatives:
                found.setdefault(alternative.drug, set()).add(rec.population)
        return found


def call_gene(kb: KnowledgeBase, gene: str, result: GeneResult | None) -> GeneCall:
    """Phenotype from the diplotype via CPIC's data; a reported phenotype only when no diplotype."""
    if result is None:
        return GeneCall(gene, None, note=f"no {gene} result on file")
    index = kb.diplotype_index.get(gene)
    if index is None:
        return GeneCall(
            gene, result, diplotype=result.diplotype, note=f"no {gene} table in the knowledge base"
        )
    if result.diplotype:
        found = index.call(result.diplotype)
        pair = index.split(result.diplotype) or ()
        known = pair if all(a in index.table.alleles for a in pair) else ()
        if found is None:
            return GeneCall(
                gene,
                result,
                diplotype="/".join(known) if known else result.diplotype,
                note=f"{gene} {result.diplotype} is not in the CPIC tables",
                alleles=known,
            )
        return GeneCall(
            gene,
            result,
            diplotype=found.diplotype,
            phenotype=found.phenotype,
            activity_score=found.activity_score,
            lookup_keys=found.lookup_keys,
            method=found.method,
            diplotype_key=found.diplotype_key,
            alleles=known,
        )
    if result.carriers or result.non_carriers:
        return _call_carrier_status(gene, result, index.table.alleles_of_interest)
    reported = result.reported_phenotype
    if reported and reported in index.lookup_keys:
        return GeneCall(
            gene,
            result,
            phenotype=index.phenotype_of(reported) or reported,
            lookup_keys=frozenset({reported}),
            method="reported",
        )
    return GeneCall(
        gene, result, note=f"{gene} result has neither a diplotype nor a CPIC phenotype"
    )


def _call_carrier_status(
    gene: str, result: GeneResult, alleles_of_interest: Sequence[str]
) -> GeneCall:
    """Keys for the alleles of interest whose presence or absence was reported; no others guessed."""
    keys = {f"{a} positive" for a in alleles_of_interest if a in result.carriers}
    keys |= {
        f"{a} negative"
        for a in alleles_of_interest
        if a in result.non_carriers and a not in result.carriers
    }
    unknown = [a for a in alleles_of_interest if not {f"{a} positive", f"{a} negative"} & keys]
    positives = [a for a in alleles_of_interest if f"{a} positive" in keys]
    note = f"{gene} {', '.join(unknown)} status not reported" if unknown else None
    if not keys:
        return GeneCall(gene, result, note=note)
    phenotype = (
        ", ".join(f"{a} positive" for a in positives)
        if positives
        else "negative for " + ", ".join(a for a in alleles_of_interest if a not in unknown)
    )
    return GeneCall(
        gene,
        result,
        phenotype=phenotype,
        lookup_keys=frozenset(keys),
        method="carrier status",
        note=note,
        partial=bool(unknown),
    )


def call_variant(rsid: str, variant: Variant, result: GeneResult | None) -> GeneCall:
    """A single variant's genotype (``G/A``), reference allele first; only its own alleles."""
    if result is None:
        return GeneCall(rsid, None, note=f"no {rsid} result on file")
    text = (result.diplotype or "").strip()
    alleles = tuple(a for a in _GENOTYPE_SEPARATOR.split(text) if a)
    allowed = [variant.ref, *variant.alt]
    if not 1 <= len(alleles) <= 2 or any(a not in allowed for a in alleles):
        return GeneCall(
            rsid,
            result,
            diplotype=text or None,
            note=f"{rsid} genotype {text!r} is not two of {', '.join(allowed)}",
        )
    ordered = tuple(sorted(alleles, key=allowed.index))
    return GeneCall(rsid, result, diplotype="/".join(ordered), method="genotype", alleles=ordered)


def _most_specific(
    matched: list[Recommendation], calls: tuple[GeneCall, ...]
) -> tuple[Recommendation, ...]:
    """A row keyed on the patient's exact diplotype wins over rows keyed on the phenotype (DPWG)."""
    for call in calls:
        if call.diplotype_key is None:
            continue
        exact = [r for r in matched if r.lookup_key.get(call.gene) == call.diplotype_key]
        if exact:
            matched = [r for r in matched if r in exact or call.gene not in r.lookup_key]
    return tuple(matched)


def evaluate(kb: KnowledgeBase, drug: str, results: Mapping[str, GeneResult]) -> list[Evaluation]:
    """Every guideline covering ``drug``, with the recommendations the patient's results select."""
    evaluations = []
    for guideline in kb.guidelines_by_drug.get(drug, ()):
        calls = tuple(call_gene(kb, gene, results.get(gene)) for gene in guideline.genes)
        calls += tuple(
            call_variant(rsid, variant, results.get(rsid))
            for rsid, variant in guideline.variants.items()
        )
        allele_only = kb.allele_only[guideline.id]
        by_locus = {call.gene: call for call in calls}
        matched = [
            rec
            for rec in guideline.recommendations
            if rec.drug == drug and _selects(rec, by_locus, allele_only)
        ]
        unanswered = _unanswered(guideline, drug, calls, matched)
        evaluations.append(
            Evaluation(
                guideline, drug, calls, _most_specific(matched, calls), allele_only, unanswered
            )
        )
    return evaluations


def _unanswered(
    guideline: Guideline, drug: str, calls: tuple[GeneCall, ...], matched: list[Recommendation]
) -> frozenset[str]:
    """Partially read genes that the guideline asks about but none of its rows could match.

    Only partial readings count: a full reading that no row names is by design (DPWG lists only
    the phenotypes it advises on).
    """
    partial = [c for c in calls if c.partial and c.lookup_keys]
    if not partial:
        return frozenset()
    keyed = {gene for r in guideline.recommendations if r.drug == drug for gene in r.lookup_key}
    return frozenset(
        c.gene
        for c in partial
        if c.gene in keyed and not any(c.gene in r.lookup_key for r in matched)
    )


def _selects(
    rec: Recommendation, by_locus: Mapping[str, GeneCall], allele_only: frozenset[str]
) -> bool:
    """A table row by its lookup key; a flowchart rule by every one of its conditions."""
    if rec.when:
        return all(
            locus in by_locus and by_locus[locus].satisfies(condition, locus in allele_only)
            for locus, condition in rec.when.items()
        )
    return all(
        value in (by_locus[gene].match_keys if gene in by_locus else _NO_RESULT)
        for gene, value in rec.lookup_key.items()
    )
