"""Results a person must look at before the advice can stand: conflicting results, and a lab's
reported phenotype that differs from the CPIC call on the same diplotype.

Two current results for one gene that disagree are never resolved by us: neither is used, and the
card shows what each would mean and asks for confirmation. Its urgency is that of the most urgent
reading, since the prescriber cannot rule that one out.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from cds_hooks.cards import KNOWLEDGE_VERSION, MAX_SUMMARY, summary_for
from fhir_adapters import Conflict, Discrepancy, DraftMedication
from knowledge import Evaluation, GeneResult, KnowledgeBase, evaluate
from knowledge.evaluate import URGENCY

__all__ = ["conflict_card", "discrepancy_notes"]

_NAMESPACE = uuid.UUID("0b8f6a52-57a4-4c3e-9a0e-6f3d2f1c7a41")


def discrepancy_notes(evaluation: Evaluation, discrepancies: Sequence[Discrepancy]) -> list[str]:
    """One line per gene of this guideline whose reported phenotype differs from the CPIC call."""
    genes = set(evaluation.guideline.genes)
    return [
        f"the laboratory reported {d.gene} {d.diplotype} as {d.reported}; the current CPIC "
        f"tables give {d.computed}, which this advice uses"
        + (f" ({d.source})" if d.source else "")
        + "."
        for d in discrepancies
        if d.gene in genes
    ]


def conflict_card(
    order: DraftMedication,
    evaluation: Evaluation,
    conflicts: Sequence[Conflict],
    results: Mapping[str, GeneResult],
    kb: KnowledgeBase,
    hook_instance: str,
) -> dict[str, Any]:
    """The card saying which results disagree, what each would mean, and to confirm."""
    guideline = evaluation.guideline
    drug = evaluation.drug
    lines = []
    urgency = "info"
    for conflict in conflicts:
        readings = []
        for candidate in conflict.results:
            outcome = _evaluated_with(kb, drug, guideline.id, {**results, conflict.gene: candidate})
            meaning = _meaning(outcome, guideline.source)
            if outcome is not None and outcome.indicator is not None:
                urgency = max(urgency, outcome.indicator, key=URGENCY.__getitem__)
            when = f", {candidate.effective}" if candidate.effective else ""
            origin = f" ({candidate.source}{when})" if candidate.source else ""
            readings.append(f"- `{_shown(candidate)}`{origin}: {meaning}")
        lines += [
            f"**{conflict.gene}**: {len(conflict.results)} current results disagree",
            *readings,
            "",
        ]
    genes = ", ".join(c.gene for c in conflicts)
    lines += [
        f"None of them was used. Confirm the {genes} genotype (with the laboratory, or by "
        "repeating the test) before relying on it; the card shows what each result would mean.",
        "",
        f"Source: {guideline.name}.",
    ]
    shown = "; ".join(f"{c.gene} {', '.join(_shown(r) for r in c.results)}" for c in conflicts)
    summary = (
        f"{drug.capitalize()}: conflicting {shown} results. "
        f"Confirm before relying on {guideline.source} advice"
    )
    if len(summary) > MAX_SUMMARY:
        summary = f"{drug.capitalize()}: conflicting {genes} results on file; confirm the genotype"
    card_id = uuid.uuid5(
        _NAMESPACE,
        "|".join([hook_instance, order.reference or order.described_as, guideline.id, genes]),
    )
    return {
        "uuid": str(card_id),
        "summary": summary[:MAX_SUMMARY],
        "indicator": urgency,
        "detail": "\n".join(lines),
        "source": {"label": f"{guideline.source} guideline", "url": guideline.url},
        "extension": {KNOWLEDGE_VERSION: kb.version},
    }


def _shown(result: GeneResult) -> str:
    return result.diplotype or result.reported_phenotype or "result"


def _evaluated_with(
    kb: KnowledgeBase, drug: str, guideline_id: str, results: Mapping[str, GeneResult]
) -> Evaluation | None:
    return next((e for e in evaluate(kb, drug, results) if e.guideline.id == guideline_id), None)


def _meaning(outcome: Evaluation | None, source: str) -> str:
    if outcome is None:
        return "no guideline applies"
    if outcome.lead is not None:
        return summary_for(outcome.drug, outcome.calls, outcome.lead, source)
    if outcome.uninterpretable:
        return "could not be interpreted"
    return f"{source} advises no change"
