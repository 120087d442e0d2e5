"""Match a patient's gene results against the guidelines for one drug."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.base import KnowledgeBase
from knowledge.results import GeneResult
from knowledge.schema import Guideline, Recommendation

__all__ = ["Evaluation", "GeneCall", "call_gene", "evaluate", "indicator_for"]

_SILENT_ACTIONS = frozenset({"standard", "no-recommendation"})
_URGENCY = {"info": 0, "warning": 1, "critical": 2}
_STRENGTH_RANK = {"strong": 3, "moderate": 2, "optional": 1}


def indicator_for(rec: Recommendation) -> str:
    """How urgent a recommendation is (the table is in docs/cards.md); the YAML may override it."""
    if rec.indicator is not None:
        return rec.indicator
    if rec.action == "contraindicated":
        return "critical"
    if rec.action in ("alternative", "dose-adjustment") and rec.strength in ("strong", "moderate"):
        return "warning"
    return "info"


@dataclass(frozen=True, slots=True)
class GeneCall:
    """How one gene result was read: the CPIC phenotype and the key recommendations are looked up by."""

    gene: str
    result: GeneResult | None
    diplotype: str | None = None
    phenotype: str | None = None
    activity_score: str | None = None
    lookup_key: str | None = None
    # Why there is no lookup key (no result, diplotype not in the CPIC table …); never guessed.
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One guideline applied to one drug for one patient."""

    guideline: Guideline
    drug: str
    calls: tuple[GeneCall, ...]
    recommendations: tuple[Recommendation, ...]

    @property
    def actionable(self) -> tuple[Recommendation, ...]:
        """The matched recommendations that ask the prescriber to do something different."""
        return tuple(r for r in self.recommendations if r.action not in _SILENT_ACTIONS)

    @property
    def uninterpretable(self) -> tuple[GeneCall, ...]:
        """Results on file that the CPIC tables cannot turn into a phenotype (never guessed)."""
        return tuple(c for c in self.calls if c.result is not None and c.lookup_key is None)

    @property
    def lead(self) -> Recommendation | None:
        """The most urgent, then strongest, actionable recommendation: it speaks for the card."""
        return max(
            self.actionable,
            key=lambda r: (_URGENCY[indicator_for(r)], _STRENGTH_RANK.get(r.strength, 0)),
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
    """Phenotype from the diplotype via the CPIC table; a reported phenotype only when no diplotype."""
    if result is None:
        return GeneCall(gene, None, note=f"no {gene} result on file")
    index = kb.diplotype_index.get(gene)
    if index is None:
        return GeneCall(
            gene, result, diplotype=result.diplotype, note=f"no {gene} table in the knowledge base"
        )
    if result.diplotype:
        found = index.lookup(result.diplotype)
        if found is None:
            return GeneCall(
                gene,
                result,
                diplotype=result.diplotype,
                note=f"{gene} {result.diplotype} is not in the CPIC diplotype table",
            )
        diplotype, entry = found
        return GeneCall(
            gene,
            result,
            diplotype=diplotype,
            phenotype=entry.phenotype,
            activity_score=entry.activity_score,
            lookup_key=entry.key,
        )
    if result.reported_phenotype and result.reported_phenotype in index.lookup_keys:
        return GeneCall(
            gene, result, phenotype=result.reported_phenotype, lookup_key=result.reported_phenotype
        )
    return GeneCall(
        gene, result, note=f"{gene} result has neither a diplotype nor a CPIC phenotype"
    )


def evaluate(kb: KnowledgeBase, drug: str, results: Mapping[str, GeneResult]) -> list[Evaluation]:
    """Every guideline covering ``drug``, with the recommendations the patient's results select."""
    evaluations = []
    for guideline in kb.guidelines_by_drug.get(drug, ()):
        calls = tuple(call_gene(kb, gene, results.get(gene)) for gene in guideline.genes)
        keys = {call.gene: call.lookup_key for call in calls}
        matched = tuple(
            rec
            for rec in guideline.recommendations
            if rec.drug == drug
            and all(keys.get(gene) == value for gene, value in rec.lookup_key.items())
        )
        evaluations.append(Evaluation(guideline, drug, calls, matched))
    return evaluations
