"""Build CDS Hooks 2.0 cards from guideline evaluations: short, sourced, and acting on the order."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from cds_hooks.site_config import CodeableConcept
from fhir_adapters import DraftMedication
from fhir_adapters.medication import RXNORM
from knowledge import Evaluation, GeneCall, KnowledgeBase, indicator_for
from knowledge.evaluate import conditions_of
from knowledge.patient import PatientFactors
from knowledge.patient_conditions import describe, missing_labels
from knowledge.schema import DoseAdjustment, Recommendation
from knowledge.warfarin_dose import calculate, format_dose, warfarin_inputs

__all__ = [
    "CARD_NAMESPACE",
    "KNOWLEDGE_VERSION",
    "MAX_SUMMARY",
    "build_card",
    "draft_service_request",
    "override_reasons",
    "summary_for",
    "swapped_order",
]

# The spec asks for a summary under 140 characters; EHRs truncate longer ones mid-word.
MAX_SUMMARY = 139
# Card extension key (CDS Hooks: reverse-domain notation) for the knowledge version behind the card.
KNOWLEDGE_VERSION = "org.pgx-cds-hooks.knowledge-version"
CARD_NAMESPACE = uuid.UUID("4f1c6d0e-2b8a-4e57-9a53-1d2f0c9e7b11")
_ACTION_PHRASES = {
    "alternative": "advises an alternative drug",
    "dose-adjustment": "advises a dose change",
    "dose-calculation": "advises a genotype-based dose calculation",
    "caution": "advises caution",
    "contraindicated": "advises against use",
}
# HL7 non-adherence reason codes (CDS Hooks 3.0 draft vocabulary); displays as published there.
NON_ADHERENCE = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
OVERRIDE_REASONS = (
    (
        "action-performed-no-adverse-effect",
        "Intended action was performed previously without adverse effect",
    ),
    ("patient-contraindication", "Patient has contraindication to recommended action"),
    ("risk-benefit-ratio", "Recipient assessment of risk/benefit ratio"),
    ("cds-not-applicable", "PC CDS does not apply to patient"),
)


def override_reasons() -> list[dict[str, str]]:
    """The card's ``overrideReasons``: the HL7 non-adherence codings every card offers."""
    return [
        {"system": NON_ADHERENCE, "code": code, "display": display}
        for code, display in OVERRIDE_REASONS
    ]


def draft_service_request(
    patient_id: str, orderable: CodeableConcept, reason: str, note: str
) -> dict[str, Any]:
    """A draft ServiceRequest for a test a card suggests ordering (pre-test, tumour biomarker)."""
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": orderable.as_fhir(),
        "reasonCode": [{"text": reason}],
        "note": [{"text": f"Suggested by the pharmacogenomic CDS service: {note}"}],
    }


def summary_for(drug: str, calls: Sequence[GeneCall], rec: Recommendation, source: str) -> str:
    """``Clopidogrel: CYP2C19 Poor Metabolizer (*2/*2). CPIC advises ... (strong)``, under 140."""
    genes = ", ".join(f"{c.gene} {c.phenotype}" for c in calls if c.phenotype)
    diplotypes = ", ".join(c.diplotype for c in calls if c.diplotype)
    advice = f"{source} {_ACTION_PHRASES.get(rec.action, 'has guidance')} ({rec.strength})"
    for text in (
        f"{drug.capitalize()}: {genes} ({diplotypes}). {advice}",
        f"{drug.capitalize()}: {genes}. {advice}",
    ):
        if len(text) <= MAX_SUMMARY:
            return text
    return text[: MAX_SUMMARY - 3].rstrip() + "..."


def build_card(
    order: DraftMedication,
    evaluation: Evaluation,
    kb: KnowledgeBase,
    hook_instance: str,
    *,
    review_notes: Sequence[str] = (),
    context_notes: Sequence[str] = (),
) -> dict[str, Any] | None:
    """The card for one draft order and one guideline, or ``None`` when nothing is actionable.

    ``review_notes`` (e.g. a lab phenotype that differs from the CPIC call) go into the detail;
    ``context_notes`` say which patient details could not be read, when the card needed them.
    """
    actionable = evaluation.actionable
    lead = evaluation.lead
    if lead is None:
        if evaluation.uninterpretable:
            return _uninterpretable_card(order, evaluation, kb, hook_instance)
        return None
    guideline = evaluation.guideline
    card_id = uuid.uuid5(
        CARD_NAMESPACE,
        "|".join(
            [
                hook_instance,
                order.reference or order.described_as,
                guideline.id,
                *sorted(r.id for r in actionable),
            ]
        ),
    )
    card: dict[str, Any] = {
        "uuid": str(card_id),
        "summary": summary_for(evaluation.drug, evaluation.calls, lead, guideline.source),
        "indicator": indicator_for(lead),
        "detail": _detail(evaluation, kb, review_notes, context_notes),
        "source": {"label": f"{guideline.source} guideline", "url": guideline.url},
        "overrideReasons": override_reasons(),
        "links": _links(evaluation),
    }
    suggestions = _suggestions(order, evaluation, actionable, kb, card_id)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    card["extension"] = {KNOWLEDGE_VERSION: kb.version}
    return card


def _uninterpretable_card(
    order: DraftMedication, evaluation: Evaluation, kb: KnowledgeBase, hook_instance: str
) -> dict[str, Any]:
    """A result is on file but the CPIC tables cannot read it: say so instead of staying silent.

    Silence would read as "nothing actionable"; a guessed phenotype could be wrong. Neither.
    """
    guideline = evaluation.guideline
    calls = evaluation.uninterpretable
    results = ", ".join(f"{c.gene} {c.diplotype or 'result'}" for c in calls)
    summary = (
        f"{evaluation.drug.capitalize()}: {results} could not be interpreted; "
        f"{guideline.source} advice not applied"
    )
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 3].rstrip() + "..."
    lines = [
        f"- {c.note}" + (f" ({c.result.source})" if c.result and c.result.source else "")
        for c in calls
    ]
    lines += [
        "",
        f"The {guideline.source} guideline for {evaluation.drug} is keyed on the phenotype, "
        "which could not be derived from this result, so none of its recommendations was "
        "applied. Review the result (for example with the laboratory or a pharmacist) before "
        "relying on the absence of other advice.",
        "",
        f"Source: {guideline.name}.",
    ]
    card_id = uuid.uuid5(
        CARD_NAMESPACE,
        "|".join([hook_instance, order.reference or order.described_as, guideline.id, "?"]),
    )
    return {
        "uuid": str(card_id),
        "summary": summary,
        "indicator": "info",
        "detail": "\n".join(lines),
        "source": {"label": f"{guideline.source} guideline", "url": guideline.url},
        "links": _links(evaluation),
        "extension": {KNOWLEDGE_VERSION: kb.version},
    }


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _detail(
    evaluation: Evaluation,
    kb: KnowledgeBase,
    review_notes: Sequence[str] = (),
    context_notes: Sequence[str] = (),
) -> str:
    guideline = evaluation.guideline
    lines = []
    for call in evaluation.calls:
        conversion = call.conversion
        if conversion is not None:
            drugs = ", ".join(
                f"{d} ({strength} inhibitor)" for d, strength, _ in conversion.inhibitors
            )
            if conversion.applied:
                score = (
                    f", activity score {conversion.genotype_activity_score}"
                    if conversion.genotype_activity_score
                    else ""
                )
                lines.append(
                    f"**{call.gene} phenotype adjusted for {drugs}**: the genotype predicts "
                    f"{conversion.genotype_phenotype}{score}; with the inhibitor the advice "
                    f"below is for **{call.phenotype}** (phenoconversion; {conversion.basis})."
                )
            else:
                lines.append(
                    f"*Note*: the patient takes {drugs}; {call.gene} activity may be lower than "
                    f"the genotype predicts ({conversion.basis})."
                )
        if call.phenotype is None:
            if call.alleles and call.gene in evaluation.allele_only:
                # CYP4F2, rs12777823: CPIC gives no phenotype; the flowchart asks what is carried.
                origin = (
                    f" (from {call.result.source})" if call.result and call.result.source else ""
                )
                lines.append(f"**{call.gene}** `{call.diplotype}`{origin}")
            continue
        genotype = f" `{call.diplotype}`" if call.diplotype else ""
        score = f", activity score {call.activity_score}" if call.activity_score else ""
        origin = f" (from {call.result.source})" if call.result and call.result.source else ""
        lines.append(f"**{call.gene}**{genotype} → **{call.phenotype}**{score}{origin}")
    implications = {
        f"{gene}: {text}"
        for rec in evaluation.recommendations
        for gene, text in rec.implications.items()
    }
    lines.append("")
    lines.extend(f"*Implication*: {text}" for text in sorted(implications))
    lines.append("")
    order = list(guideline.populations)
    recommendations = sorted(
        evaluation.recommendations,
        key=lambda r: order.index(r.population) if r.population in order else len(order),
    )
    if any(r.population for r in recommendations):
        heading = guideline.population_heading or "Indication"
        lines.append(f"| {heading} | {guideline.source} recommendation | Strength |")
        lines.append("|---|---|---|")
        for rec in recommendations:
            label = guideline.populations[rec.population].label if rec.population else "all"
            lines.append(
                f"| {_cell(label)} | {_cell(rec.recommendation)} | {rec.strength.capitalize()} |"
            )
        if len({r.action for r in evaluation.recommendations}) > 1:
            lines.append("")
            lines.append(
                f"The advice depends on the {heading.lower()}, which the order does not "
                "state: use the row that fits this patient."
            )
    else:
        for rec in evaluation.recommendations:
            lines.append(f"**Recommendation ({rec.strength}):** {rec.recommendation}")
    lines.extend(_patient_lines(evaluation))
    dose = _warfarin_dose(evaluation, kb)
    if dose:
        lines.append("")
        lines.extend(dose)
    # The guideline's considerations, in table order, each once (several phenotypes share one text).
    notes = list(
        dict.fromkeys(
            r.considerations
            for r in recommendations
            if r.considerations and r in evaluation.actionable
        )
    )
    if notes:
        lines.append("")
        lines.extend(f"- {note}" for note in notes)
    if review_notes:
        lines.append("")
        lines.extend(f"*Note*: {note}" for note in review_notes)
    if context_notes and (evaluation.undecided or dose):
        lines.append("")
        lines.extend(f"*Not available*: {note}." for note in context_notes)
    lines.append("")
    tables = ", ".join(
        f"{c.gene} {kb.genes[c.gene].source.version}"
        for c in evaluation.calls
        if c.phenotype and c.gene in kb.genes
    )
    lines.append(
        f"Source: {guideline.name}, recommendations as of {guideline.data_version} "
        f"({guideline.data.name}); phenotypes from the CPIC diplotype tables ({tables})."
    )
    return "\n".join(lines).strip()


def _patient_lines(evaluation: Evaluation) -> list[str]:
    """For rows the record could not decide: whom they are for, and what the record lacks."""
    guideline = evaluation.guideline
    groups: dict[str, None] = {}
    missing: dict[str, None] = {}
    for rec in evaluation.recommendations:
        lacking = evaluation.undecided.get(rec.id)
        if not lacking:
            continue
        missing.update(dict.fromkeys(lacking))
        who = "; ".join(describe(c) for c in conditions_of(guideline, rec))
        name = (
            guideline.populations[rec.population].label
            if rec.population in guideline.populations
            else f'"{_cell(rec.recommendation)[:60]}..."'
        )
        groups[f"{name} ({who})"] = None
    if not groups:
        return []
    return [
        "",
        f"*Check*: the record does not state the patient's {missing_labels(missing)}, so these "
        f"rows could not be ruled out: {'; '.join(groups)}.",
    ]


def _warfarin_dose(evaluation: Evaluation, kb: KnowledgeBase) -> list[str]:
    """The IWPC pharmacogenetic dose, with every input used and every input missing named."""
    wanted = {r.dose_calculation for r in evaluation.recommendations if r.dose_calculation}
    lines = []
    for calculation in sorted(wanted):
        algorithm = kb.dose_algorithms.get(calculation)
        if algorithm is None:
            continue
        calls = {c.gene: c for c in evaluation.calls}
        inputs = warfarin_inputs(
            algorithm,
            evaluation.patient or PatientFactors(),
            evaluation.comedications,
            calls.get("CYP2C9"),
            calls.get("VKORC1"),
        )
        dose = calculate(algorithm, inputs)
        used = "; ".join(f"{label} {value}" for label, value in dose.inputs_used)
        if dose.weekly_mg is not None:
            lines.append(
                f"**Calculated starting maintenance dose ({algorithm.name})**: "
                f"{format_dose(dose)}, before the adjustments above. Inputs: {used}."
            )
        else:
            missing = ", ".join(dose.missing) or "inputs outside the equation's range"
            lines.append(
                f"**{algorithm.name}**: no dose calculated; not on file: {missing}. "
                f"Inputs read: {used}."
            )
        lines.extend(f"- {note}" for note in dose.notes)
        lines.append(f"- Source: {dose.source.rstrip('.')}.")
    return lines


def _links(evaluation: Evaluation) -> list[dict[str, str]]:
    guideline = evaluation.guideline
    links = [{"label": f"{guideline.source} guideline", "url": guideline.url, "type": "absolute"}]
    if guideline.annotation_url:
        links.append(
            {
                "label": "ClinPGx guideline annotation",
                "url": guideline.annotation_url,
                "type": "absolute",
            }
        )
    return links


def _suggestions(
    order: DraftMedication,
    evaluation: Evaluation,
    actionable: Sequence[Recommendation],
    kb: KnowledgeBase,
    card_id: uuid.UUID,
) -> list[dict[str, Any]]:
    if order.reference is None:
        # Without an id there is nothing an action could target; the detail still informs.
        return []
    suggestions = []
    for drug, populations in evaluation.alternatives.items():
        label = f"Replace {evaluation.drug} with {drug}"
        covered = {r.population for r in actionable if r.action == "alternative"}
        if populations != covered:
            names = [
                evaluation.guideline.populations[p].label
                for p in sorted(populations, key=str)
                if p is not None
            ]
            label += f" (CPIC names it for: {'; '.join(names)})"
        limits = sorted(
            {
                alternative.applies_to
                for rec in actionable
                for alternative in rec.alternatives
                if alternative.drug == drug and alternative.applies_to
            }
        )
        label += _only_for(limits)
        suggestions.append(
            {
                "label": label,
                "uuid": str(uuid.uuid5(card_id, f"swap:{drug}")),
                "actions": [
                    {
                        "type": "delete",
                        "description": f"Remove the draft order for {evaluation.drug}",
                        "resourceId": order.reference,
                    },
                    {
                        "type": "create",
                        "description": f"Add a draft order for {drug}",
                        "resource": swapped_order(order.resource, drug, kb),
                    },
                ],
            }
        )
    for rec in actionable:
        adjustment = rec.dose_adjustment
        # The order can only be scaled when the guideline gives one number relative to the
        # standard dose; a range, or "% of the lowest starting dose", needs the prescriber.
        if adjustment is None or not _scales_the_ordered_dose(adjustment):
            continue
        updated = _scaled_order(order.resource, Decimal(adjustment.percent_of_standard))
        if updated is None:
            continue
        suggestions.append(
            {
                "label": (
                    f"Change the {evaluation.drug} dose to {adjustment.percent_of_standard}"
                    f"% of the ordered dose ({adjustment.percent_of_standard}% of the "
                    f"{adjustment.basis})"
                    + _only_for([adjustment.applies_to] if adjustment.applies_to else [])
                ),
                "uuid": str(uuid.uuid5(card_id, f"dose:{rec.id}")),
                "actions": [
                    {
                        "type": "update",
                        "description": f"Adjust the dose of the draft {evaluation.drug} order",
                        "resource": updated,
                    }
                ],
            }
        )
        break
    return suggestions


def _only_for(limits: Sequence[str]) -> str:
    """The end of a suggestion's label naming what the guideline limits it to (``applies_to``)."""
    return f", only for: {'; '.join(limits)}" if limits else ""


def swapped_order(resource: Mapping[str, Any], drug: str, kb: KnowledgeBase) -> dict[str, Any]:
    """A new draft MedicationRequest for ``drug``; the dose is left to the prescriber.

    The drug is coded with its RxNorm ingredient code when the knowledge base has one, else
    named in text only (the EHR matches it to a product).
    """
    known = kb.drugs.get(drug)
    targeted = kb.oncology.drugs.get(drug) if kb.oncology is not None else None
    rxnorm = (known.rxnorm if known else None) or (targeted.rxnorm if targeted else None)
    concept: dict[str, Any] = {"text": drug}
    if rxnorm is not None:
        concept = {"coding": [{"system": RXNORM, "code": rxnorm, "display": drug}], "text": drug}
    new: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": resource.get("intent") or "order",
        "medicationCodeableConcept": concept,
    }
    for key in ("subject", "encounter", "requester"):
        if key in resource:
            new[key] = copy.deepcopy(resource[key])
    if "subject" not in new and "patient" in resource:
        new["subject"] = copy.deepcopy(resource["patient"])  # DSTU2 MedicationOrder.patient
    return new


def _scaled_order(resource: Mapping[str, Any], percent: Decimal) -> dict[str, Any] | None:
    """The whole draft with every dose quantity scaled; ``None`` when the draft states no dose.

    Reads the R4 place (``doseAndRate[].doseQuantity``, also when a client sends it as one object,
    as the spec's own order-select example does) and the STU3/DSTU2 place (``doseQuantity``).
    """
    updated = copy.deepcopy(dict(resource))
    scaled = False
    for dosage in _as_list(updated.get("dosageInstruction")):
        if not isinstance(dosage, dict):
            continue
        for holder in [dosage, *_as_list(dosage.get("doseAndRate"))]:
            quantity = holder.get("doseQuantity") if isinstance(holder, dict) else None
            value = quantity.get("value") if isinstance(quantity, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                assert isinstance(quantity, dict)
                quantity["value"] = float((Decimal(str(value)) * percent / 100).normalize())
                scaled = True
    return updated if scaled else None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def _scales_the_ordered_dose(adjustment: DoseAdjustment) -> bool:
    single = adjustment.percent_of_standard_max in (None, adjustment.percent_of_standard)
    # "% of the lowest dose" or "% of the calculated dose" is not a share of what was ordered.
    basis = adjustment.basis.lower()
    return single and "lowest" not in basis and "calculated" not in basis
