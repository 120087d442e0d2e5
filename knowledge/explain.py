"""Each step from a patient's diplotypes to the card for one drug, for ``pgx-cds knowledge explain``.

The steps are the evaluator's own (``call_gene`` and ``evaluate``); this module only lays them out:
how each diplotype was read, the phenotype and lookup key it gave, which recommendations matched
and why the others did not, and what card that makes.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.base import KnowledgeBase
from knowledge.evaluate import Evaluation, GeneCall, evaluate
from knowledge.phenotype import DiplotypeIndex
from knowledge.results import GeneResult
from knowledge.schema import DoseAdjustment, GeneTable, Guideline, LocusCondition, Recommendation

__all__ = [
    "Explanation",
    "GeneReading",
    "GuidelineExplanation",
    "UnknownDrugError",
    "describe_condition",
    "explain",
    "render_text",
    "resolve_drug",
]

_WIDTH = 100


class UnknownDrugError(Exception):
    """No guideline covers the drug asked about; names the closest drugs that have one."""

    def __init__(self, drug: str, suggestions: tuple[str, ...], known: bool) -> None:
        self.drug = drug
        self.suggestions = suggestions
        why = "has no guideline in this knowledge base" if known else "is not a drug we know"
        hint = (
            f"Did you mean: {', '.join(suggestions)}?"
            if suggestions
            else "Run `pgx-cds knowledge coverage` to list the drugs that have a guideline."
        )
        super().__init__(f"{drug!r} {why}. {hint}")


@dataclass(frozen=True, slots=True)
class GeneReading:
    """One gene of one guideline: the result as given and how the evaluator read it."""

    call: GeneCall
    # How the diplotype became a phenotype, in words: one line, then one per allele if any.
    method: str
    steps: tuple[str, ...] = ()

    @property
    def given(self) -> str:
        result = self.call.result
        if result is None:
            return "no result"
        if result.diplotype:
            return result.diplotype
        return (
            f"reported phenotype {result.reported_phenotype!r}"
            if result.reported_phenotype
            else "?"
        )


@dataclass(frozen=True, slots=True)
class GuidelineExplanation:
    """One guideline applied to the drug: readings, matched and unmatched rows, the card."""

    evaluation: Evaluation
    readings: tuple[GeneReading, ...]
    # Rows whose keys match but that a row keyed on the exact diplotype overrides (DPWG).
    overridden: tuple[Recommendation, ...]
    unmatched: tuple[Recommendation, ...]
    # Per gene, the lookup-key values (or flowchart conditions) of unmatched rows not met.
    unmatched_keys: Mapping[str, tuple[str, ...]]
    other_drugs: int

    @property
    def guideline(self) -> Guideline:
        return self.evaluation.guideline

    @property
    def matched(self) -> tuple[Recommendation, ...]:
        return self.evaluation.recommendations

    @property
    def dose_adjustments(self) -> tuple[tuple[Recommendation, DoseAdjustment], ...]:
        return tuple(
            (rec, rec.dose_adjustment)
            for rec in self.evaluation.actionable
            if rec.dose_adjustment is not None
        )

    def population(self, rec: Recommendation) -> str:
        """The population's label as the card shows it, ``all patients`` when none is named."""
        return _label(self.guideline, rec.population)


@dataclass(frozen=True, slots=True)
class Explanation:
    drug: str
    guidelines: tuple[GuidelineExplanation, ...]
    # Said once for the whole request, e.g. a gene given that no guideline for the drug uses.
    notes: tuple[str, ...] = ()


def resolve_drug(kb: KnowledgeBase, name: str) -> str:
    """The drug ``name`` means (any case, or a synonym), if a guideline covers it.

    Raises :class:`UnknownDrugError` with the closest drug names that have a guideline.
    """
    wanted = name.strip().lower()
    covered = kb.guidelines_by_drug
    if wanted in covered:
        return wanted
    named = kb.drug_named_in(wanted)
    if named is not None and named in covered:
        return named
    suggestions = tuple(difflib.get_close_matches(wanted, sorted(covered), n=5, cutoff=0.6))
    raise UnknownDrugError(name, suggestions, known=wanted in kb.drugs or named is not None)


def explain(kb: KnowledgeBase, drug: str, results: Mapping[str, GeneResult]) -> Explanation:
    """Every guideline covering ``drug`` (a name :func:`resolve_drug` accepts), step by step."""
    drug = resolve_drug(kb, drug)
    evaluations = evaluate(kb, drug, results)
    used = {locus for e in evaluations for locus in (*e.guideline.genes, *e.guideline.variants)}
    notes = tuple(
        f"{gene} was given but no guideline for {drug} uses it"
        + ("" if gene in kb.genes else f" (and the knowledge base has no {gene} table)")
        for gene in sorted(set(results) - used)
    )
    return Explanation(drug, tuple(_explain_one(kb, e) for e in evaluations), notes)


def _explain_one(kb: KnowledgeBase, evaluation: Evaluation) -> GuidelineExplanation:
    keys = {call.gene: call.match_keys for call in evaluation.calls}
    no_result = frozenset({"No Result"})
    overridden = []
    unmatched = []
    unmatched_keys: dict[str, set[str]] = {}
    by_locus = {call.gene: call for call in evaluation.calls}
    for rec in evaluation.guideline.recommendations:
        if rec.drug != evaluation.drug or rec in evaluation.recommendations:
            continue
        if rec.when:
            unmet = {
                locus: describe_condition(condition)
                for locus, condition in rec.when.items()
                if locus not in by_locus
                or not by_locus[locus].satisfies(condition, locus in evaluation.allele_only)
            }
            unmatched.append(rec)
            for locus, wanted in unmet.items():
                unmatched_keys.setdefault(locus, set()).add(wanted)
            continue
        missed = {
            gene: value
            for gene, value in rec.lookup_key.items()
            if value not in keys.get(gene, no_result)
        }
        if not missed:
            overridden.append(rec)
            continue
        unmatched.append(rec)
        for gene, value in missed.items():
            unmatched_keys.setdefault(gene, set()).add(value)
    return GuidelineExplanation(
        evaluation=evaluation,
        readings=tuple(_reading(kb, call) for call in evaluation.calls),
        overridden=tuple(overridden),
        unmatched=tuple(unmatched),
        unmatched_keys={gene: tuple(sorted(v)) for gene, v in sorted(unmatched_keys.items())},
        other_drugs=sum(r.drug != evaluation.drug for r in evaluation.guideline.recommendations),
    )


def describe_condition(condition: LocusCondition) -> str:
    """A flowchart condition in words: ``tested, carries *5, *6, *8 or *11``."""
    parts = []
    if condition.tested is not None:
        parts.append("tested" if condition.tested else "not tested")
    if condition.carries:
        parts.append("carries " + _either(condition.carries, "or"))
    if condition.carries_none_of:
        parts.append("carries none of " + _either(condition.carries_none_of, "and"))
    if condition.phenotype:
        parts.append("phenotype " + _either(condition.phenotype, "or"))
    return ", ".join(parts)


def _either(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _reading(kb: KnowledgeBase, call: GeneCall) -> GeneReading:
    if call.method == "genotype":
        return GeneReading(call, "genotype of a single variant (which alleles are carried)")
    index = kb.diplotype_index.get(call.gene)
    if call.method is None and call.alleles:
        return GeneReading(
            call,
            "alleles only: CPIC assigns no phenotype, so only rules asking which alleles are "
            f"carried can use it ({call.note})",
        )
    if call.method is None or index is None:
        return GeneReading(call, f"not read: {call.note or 'no lookup key'}")
    table = index.table
    if call.method == "reported":
        return GeneReading(
            call, "reported phenotype (no diplotype on file; the lab's phenotype is a lookup key)"
        )
    if call.method == "allele status":
        positive = {k.removesuffix(" positive") for k in call.lookup_keys if k.endswith("positive")}
        steps = tuple(
            f"{allele}: {'positive' if allele in positive else 'negative'}"
            for allele in table.alleles_of_interest
        )
        return GeneReading(call, "allele status (is each allele of interest carried?)", steps)
    if call.method == "activity score":
        pair = index.split(call.diplotype or "") or ()
        steps = tuple(_activity(index, allele) for allele in pair)
        total = call.activity_score or "n/a (an allele's function is unknown)"
        return GeneReading(
            call,
            "activity score (the sum of the alleles' activity values)",
            (*steps, f"sum: {total}"),
        )
    if call.method == "allele functions":
        pair = index.split(call.diplotype or "") or ()
        steps = tuple(f"{allele}: {_function(table, allele)}" for allele in pair)
        return GeneReading(
            call,
            "allele functions (CPIC's phenotype for the pair of allele functions)",
            (*steps, f"pair: {index.functions_key(pair)}"),
        )
    if call.method == "table":
        method = f"table (row {call.diplotype} of the {call.gene} diplotype table)"
        if table.lookup == "activity_score":
            # Such genes list only the diplotypes whose phenotype the sum does not give.
            method += "; the table row, not the activity-value sum, decides"
        return GeneReading(call, method)
    return GeneReading(call, call.method)


def _function(table: GeneTable, allele: str) -> str:
    known = table.alleles.get(allele)
    return known.function if known is not None else f"not in the {table.gene} allele table"


def _activity(index: DiplotypeIndex, allele: str) -> str:
    table = index.table
    known = table.alleles.get(allele)
    if known is not None:
        value = known.activity_value or "n/a (CPIC gives no activity value)"
        return f"{allele}: activity value {value} ({known.function})"
    # A copy-number form the table does not name: the evaluator's own rule gives its value.
    counted = index.allele_activity(allele)
    if counted is None:
        return f"{allele}: not in the {table.gene} allele table"
    return f"{allele}: copies counted, activity value {counted}"


def render_text(explanation: Explanation) -> str:
    """The explanation as plain text, indented step by step."""
    count = len(explanation.guidelines)
    lines = [f"{explanation.drug}: {count} guideline{'s' if count != 1 else ''}"]
    for part in explanation.guidelines:
        lines += ["", *_render_guideline(part)]
    if explanation.notes:
        lines += ["", "notes:", *(f"  - {note}" for note in explanation.notes)]
    return "\n".join(lines) + "\n"


def _render_guideline(part: GuidelineExplanation) -> list[str]:
    guideline = part.guideline
    evaluation = part.evaluation
    drug = evaluation.drug
    lines = [f"{guideline.id} [{guideline.source}, {guideline.status}]: {guideline.name}"]
    for reading in part.readings:
        call = reading.call
        lines.append(f"  {call.gene} {reading.given}")
        if call.diplotype and call.result and call.diplotype != call.result.diplotype:
            lines.append(f"    read as: {call.diplotype}")
        lines.append(f"    how: {reading.method}")
        lines += [f"      {step}" for step in reading.steps]
        if call.phenotype:
            lines.append(f"    phenotype: {call.phenotype}")
        if call.activity_score and call.method == "table":
            lines.append(f"    activity score: {call.activity_score}")
        if call.lookup_keys or not call.alleles:
            keys = sorted(call.lookup_keys) or ["No Result (nothing could be read)"]
            lines.append(f"    lookup key{'s' if len(keys) > 1 else ''}: {', '.join(keys)}")
        else:
            lines.append(f"    alleles: {', '.join(call.alleles)}")
        extra = sorted(call.match_keys - call.lookup_keys - {"No Result"})
        if extra:
            lines.append(f"    also matches rows keyed on: {', '.join(extra)}")
    total = len(part.matched) + len(part.overridden) + len(part.unmatched)
    lines.append(f"  matched {len(part.matched)} of {total} {drug} recommendation(s)")
    for rec in part.matched:
        lines.append(f"    {rec.id} ({part.population(rec)}): {rec.strength}, {rec.action}")
        lines += textwrap.wrap(
            rec.recommendation, _WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6
        )
    if part.overridden:
        ids = ", ".join(r.id for r in part.overridden)
        lines.append(f"  set aside, as a row keyed on the exact diplotype wins: {ids}")
    if part.unmatched:
        lines.append(f"  not matched: {len(part.unmatched)} row(s), keyed on (or asking)")
        lines += [
            _wrapped(f"{gene}: {', '.join(values)}", 4)
            for gene, values in part.unmatched_keys.items()
        ]
    if part.other_drugs:
        lines.append(f"  ({part.other_drugs} row(s) of this guideline are for other drugs)")
    lines += _render_card(part)
    return lines


def _render_card(part: GuidelineExplanation) -> list[str]:
    evaluation = part.evaluation
    indicator = evaluation.indicator
    lead = evaluation.lead
    if indicator is None:
        why = (
            "nothing actionable (standard dosing or no recommendation)"
            if evaluation.recommendations
            else "no recommendation matched"
        )
        return [f"  card: none, {why}"]
    if lead is None:
        genes = ", ".join(c.gene for c in evaluation.uninterpretable)
        return [f"  card: {indicator}, {genes} could not be interpreted; advice not applied"]
    lines = [f"  card: {indicator}, led by {lead.id} ({lead.strength}, {lead.action})"]
    for drug, populations in evaluation.alternatives.items():
        labels = sorted(_label(part.guideline, p) for p in populations)
        lines.append(f"    alternative: {drug} ({'; '.join(labels)})")
    for rec, dose in part.dose_adjustments:
        percent = f"{dose.percent_of_standard}"
        if dose.percent_of_standard_max is not None:
            percent += f"-{dose.percent_of_standard_max}"
        lines.append(f"    dose adjustment ({rec.id}): {percent}% of the {dose.basis}")
    if lead.action == "dose-adjustment" and not part.dose_adjustments:
        lines.append("    dose adjustment: in the recommendation's words only (no structured dose)")
    return lines


def _label(guideline: Guideline, population: str | None) -> str:
    if population is None:
        return "all patients"
    declared = guideline.populations.get(population)
    return declared.label if declared is not None else population


def _wrapped(text: str, indent: int) -> str:
    return textwrap.fill(
        text, _WIDTH, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2)
    )
