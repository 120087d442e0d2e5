"""The patient-view card: which PGx results on file change drug advice, and for which drugs.

A result is *actionable* for a drug when the order hooks would show a card for that drug (its
evaluation has a ``lead``) and the result is one of the reasons for it. Multi-gene guidelines need
care, since every row names every gene: amitriptyline's "avoid" row for a CYP2C19 poor metabolizer
also names CYP2D6 activity score 2.0, yet a normal CYP2D6 result changes nothing. A locus of an
actionable row is a reason when:

- **table rows** (``lookup_key``): its key is not also its key in a row advising no change
  (``standard``) for the same drug and population. Such a key cannot be what asks for the change;
  each gene is judged against the guideline's own table, whatever the other genes are. When the
  table has no such row for the gene (tamoxifen, atomoxetine: CPIC words every phenotype's advice
  as an action, the normal one included), the result counts unless it is CPIC's normal one.
- **flowchart rules** (``when``, warfarin): its result is readable, not normal, and the rule does
  not ask for it to be untested. CPIC asks for a genotype-based warfarin dose for every tested
  patient, but a normal CYP2C9 or VKORC1 result does not change the dose much.
- if no locus qualifies (a combination no gene explains alone), every readable, non-normal locus
  keyed in the actionable rows is: a result that changes advice is never left out.

*Normal* is CPIC's normal phenotype ("Normal Metabolizer", "Normal Function" …) or, for genes CPIC
names no such phenotype for, only normal-function alleles (VKORC1 ``-1639 GG``). Genes no
guideline acts on are listed in one line; conflicting results (none of them is used) are listed
as needing confirmation; unreadable ones are counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cds_hooks.cards import KNOWLEDGE_VERSION, MAX_SUMMARY
from fhir_adapters import Conflict, GenotypeReadout
from fhir_adapters.reports import ReportLink
from knowledge import Evaluation, GeneCall, GeneResult, KnowledgeBase, evaluate
from knowledge.evaluate import call_gene

__all__ = ["drugs_affected", "patient_summary_card"]

_SUMMARY_NAMESPACE = uuid.UUID("9b0c53e4-6d0f-4f4a-8a43-2f7e1c5d8a26")
# CPIC's multi-gene tables key "gene not tested" so; it never makes a result a reason.
_NO_RESULT = "No Result"
# Drugs named per gene before "and N more": the table must stay readable in an EHR side panel.
_DRUGS_SHOWN = 12


@dataclass(slots=True)
class _GeneLine:
    gene: str
    call: GeneCall | None
    result: GeneResult
    drugs: set[str] = field(default_factory=set)


def drugs_affected(kb: KnowledgeBase, results: Mapping[str, GeneResult]) -> dict[str, set[str]]:
    """Gene (or variant rsID) → the drugs whose advice that result changes; actionable ones only."""
    found: dict[str, set[str]] = {}
    for drug in kb.guidelines_by_drug:
        for evaluation in evaluate(kb, drug, results):
            for locus in _reasons(evaluation, kb):
                found.setdefault(locus, set()).add(drug)
    return found


def patient_summary_card(
    readout: GenotypeReadout,
    kb: KnowledgeBase,
    reports: Sequence[ReportLink],
    hook_instance: str,
    patient_ref: str,
) -> dict[str, Any] | None:
    """One info card summarizing the results on file, or ``None`` when there are none at all."""
    if not readout.results and not readout.conflicts:
        return None
    lines = {gene: _GeneLine(gene, None, result) for gene, result in readout.results.items()}
    for drug in kb.guidelines_by_drug:
        for evaluation in evaluate(kb, drug, readout.results):
            reasons = _reasons(evaluation, kb)
            for call in evaluation.calls:
                line = lines.get(call.gene)
                if line is None or call.result is None:
                    continue
                if line.call is None:
                    line.call = call
                if call.gene in reasons:
                    line.drugs.add(drug)
    for line in lines.values():
        if line.call is None and line.gene in kb.genes:
            line.call = call_gene(kb, line.gene, line.result)
    actionable = sorted((line for line in lines.values() if line.drugs), key=lambda x: x.gene)
    others = sorted((line for line in lines.values() if not line.drugs), key=lambda x: x.gene)
    affected = {drug for line in actionable for drug in line.drugs}
    card: dict[str, Any] = {
        "uuid": str(
            uuid.uuid5(_SUMMARY_NAMESPACE, "|".join([hook_instance, patient_ref, "summary"]))
        ),
        "summary": _summary(actionable, len(affected), len(lines), len(readout.conflicts)),
        "indicator": "info",
        "detail": _detail(actionable, others, readout, kb),
        "source": {"label": f"Pharmacogenomic guidance: {', '.join(_sources(kb))}"},
    }
    if reports:
        card["links"] = [
            {
                "label": f"{r.title} ({r.date})" if r.date else r.title,
                "url": r.url,
                "type": "absolute",
            }
            for r in reports
        ]
    card["extension"] = {KNOWLEDGE_VERSION: kb.version}
    return card


def _reasons(evaluation: Evaluation, kb: KnowledgeBase) -> set[str]:
    """The loci whose results are why this evaluation advises a change (see the module doc)."""
    if evaluation.lead is None:
        return set()
    calls = {c.gene: c for c in evaluation.calls if c.result is not None}
    reasons: set[str] = set()
    keyed: set[str] = set()
    for rec in evaluation.actionable:
        for locus, key in rec.lookup_key.items():
            call = calls.get(locus)
            if call is None or not call.lookup_keys or key == _NO_RESULT:
                continue
            normal = _normal(call, kb)
            if not normal:
                keyed.add(locus)
            baseline = _standard_keys(evaluation, rec.population, locus)
            if key not in baseline and (baseline or not normal):
                reasons.add(locus)
        for locus, condition in rec.when.items():
            call = calls.get(locus)
            if condition.tested is False or call is None:
                continue
            readable = call.lookup_keys or (locus in evaluation.allele_only and call.alleles)
            if readable and not _normal(call, kb):
                reasons.add(locus)
    return reasons or keyed


def _standard_keys(evaluation: Evaluation, population: str | None, locus: str) -> set[str]:
    """``locus``'s keys in the rows advising the standard use, for this drug and population.

    "No recommendation" rows do not count: CPIC keys them on ``n/a`` or an indeterminate
    phenotype, which says nothing about what a normal result looks like.
    """
    return {
        r.lookup_key[locus]
        for r in evaluation.guideline.recommendations
        if r.drug == evaluation.drug
        and r.population == population
        and r.action == "standard"
        and locus in r.lookup_key
    }


def _normal(call: GeneCall, kb: KnowledgeBase) -> bool:
    """CPIC's normal phenotype, or only normal-function alleles (VKORC1 ``-1639 GG``)."""
    if call.phenotype is not None and call.phenotype.lower().startswith("normal"):
        return True
    table = kb.genes.get(call.gene)
    return (
        table is not None
        and bool(call.alleles)
        and all(
            a in table.alleles and table.alleles[a].function.lower().startswith("normal")
            for a in call.alleles
        )
    )


def _summary(actionable: Sequence[_GeneLine], drugs: int, genes: int, conflicts: int) -> str:
    head = "Pharmacogenomic results on file"
    confirm = f"; {conflicts} to confirm (results disagree)" if conflicts else ""
    if actionable:
        names = ", ".join(line.gene for line in actionable)
        affecting = f"affecting {drugs} drug{'s' if drugs != 1 else ''}"
        # Results to confirm matter more than the gene names, which the table gives anyway.
        candidates = [
            f"{head}: {len(actionable)} actionable ({names}) {affecting}{confirm}",
            f"{head}: {len(actionable)} actionable genes {affecting}{confirm}",
            f"{head}: {len(actionable)} actionable genes {affecting}",
        ]
    else:
        counted = f"{genes} gene{'s' if genes != 1 else ''}" if genes else "none usable"
        candidates = [f"{head} ({counted}): no change to drug advice{confirm}"]
    text = next((c for c in candidates if len(c) <= MAX_SUMMARY), candidates[-1])
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 3].rstrip() + "..."


def _detail(
    actionable: Sequence[_GeneLine],
    others: Sequence[_GeneLine],
    readout: GenotypeReadout,
    kb: KnowledgeBase,
) -> str:
    lines: list[str] = []
    if actionable:
        lines += ["| Gene | Result | Phenotype | Drugs affected |", "|---|---|---|---|"]
        lines += [
            f"| **{line.gene}** | {_result(line)} | {_cell(_phenotype(line))} | "
            f"{_cell(_drug_list(line.drugs))} |"
            for line in actionable
        ]
        lines.append("")
    if others:
        shown = "; ".join(_on_file(line) for line in others)
        lead = "Also on file" if actionable else "On file"
        lines += [f"{lead}, no change advised: {shown}.", ""]
    if readout.conflicts:
        lines.append("**Needs confirmation** (results disagree, none of them is used):")
        lines += [f"- {_conflict(conflict)}" for conflict in readout.conflicts]
        lines.append("")
    if readout.unreadable:
        count = len(readout.unreadable)
        lines += [
            f"{count} result{'s' if count != 1 else ''} could not be read and "
            f"{'are' if count != 1 else 'is'} not used.",
            "",
        ]
    guidelines = len({g.id for gs in kb.guidelines_by_drug.values() for g in gs})
    sources = _sources(kb)
    named = " and ".join([", ".join(sources[:-1]), sources[-1]] if len(sources) > 1 else sources)
    lines.append(
        f"Checked against the {guidelines} {named} recommendation sets of the knowledge base "
        f"(version {kb.version}); phenotypes from the CPIC diplotype tables. The cards shown "
        "when a drug is ordered give its recommendation."
    )
    return "\n".join(lines)


def _result(line: _GeneLine) -> str:
    call, result = line.call, line.result
    diplotype = (call.diplotype if call else None) or result.diplotype
    if diplotype:
        return f"`{_cell(diplotype)}`"
    if result.carriers or result.non_carriers:
        carried = [f"{a} positive" for a in sorted(result.carriers)]
        absent = [f"{a} negative" for a in sorted(result.non_carriers - result.carriers)]
        return _cell(", ".join(carried + absent))
    return "reported phenotype" if result.reported_phenotype else "—"


def _phenotype(line: _GeneLine) -> str:
    call = line.call
    if call is None or call.phenotype is None:
        if call is not None and call.alleles:
            return "no CPIC phenotype (read by its alleles)"
        return line.result.reported_phenotype or "—"
    score = f", activity score {call.activity_score}" if call.activity_score else ""
    return f"{call.phenotype}{score}"


def _drug_list(drugs: set[str]) -> str:
    names = sorted(drugs)
    if len(names) <= _DRUGS_SHOWN:
        return ", ".join(names)
    # Cut one earlier than the cap, so "and 1 more" never hides a name that would have fitted.
    shown = names[: _DRUGS_SHOWN - 1]
    return f"{', '.join(shown)} and {len(names) - len(shown)} more"


def _on_file(line: _GeneLine) -> str:
    result = _result(line)
    text = f"{line.gene} {result}" if result != "—" else line.gene
    call = line.call
    if call is not None and call.phenotype:
        return f"{text} ({call.phenotype})"
    if call is not None and call.note and not call.lookup_keys and not call.alleles:
        return f"{text} (not interpretable: {call.note})"
    if line.result.reported_phenotype:
        return f"{text} ({line.result.reported_phenotype})"
    return text


def _conflict(conflict: Conflict) -> str:
    readings = "; ".join(
        " ".join(
            part
            for part in (
                f"`{r.diplotype}`" if r.diplotype else (r.reported_phenotype or "result"),
                f"({', '.join(p for p in (r.source, r.effective) if p)})"
                if r.source or r.effective
                else "",
            )
            if part
        )
        for r in conflict.results
    )
    return f"**{conflict.gene}**: {readings}. Confirm the {conflict.gene} result."


def _sources(kb: KnowledgeBase) -> list[str]:
    return sorted({g.source for gs in kb.guidelines_by_drug.values() for g in gs})


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
