"""The card for a targeted-drug order checked against its label's tumour biomarkers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from cds_hooks.cards import (
    CARD_NAMESPACE,
    KNOWLEDGE_VERSION,
    MAX_SUMMARY,
    draft_service_request,
    override_reasons,
    swapped_order,
)
from cds_hooks.site_config import SiteConfig, tumour_test_orderable
from fhir_adapters import DraftMedication
from knowledge import KnowledgeBase
from knowledge.biomarker_check import BiomarkerCheck, IndicationCall
from knowledge.marker_call import MarkerCall
from knowledge.schema import Indicator
from knowledge.tumour import Finding, TumourProfile

__all__ = ["biomarker_card", "biomarker_summary"]


def biomarker_summary(check: BiomarkerCheck, kb: KnowledgeBase) -> str:
    """One line under 140 characters: the drug, what is on file, what the label says."""
    drug = check.drug.capitalize()
    if_for = _if_for(check, kb)
    outcome = check.outcome
    if outcome == "resistance":
        hit = check.resistance[0]
        text = f"{drug}: {_evidence_label(hit.call)} on file. {if_for}{hit.resistance.says}"
    elif outcome == "test-required":
        tests = " / ".join(check.tests_needed)
        text = f"{drug}: no {tests} result on file. FDA label requires it{_for_short(check, kb)}"
    elif outcome == "not-indicated" and check.limitation is not None:
        text = f"{drug}: {check.limitation.says}"
    elif outcome == "not-indicated" and any(c.wild_type for c in check.deciding):
        found = _evidence_label(
            next(m for c in check.deciding for m in c.required if m.status == "present")
        )
        text = f"{drug}: {found} on file. {if_for}Not indicated by FDA label"
    elif outcome == "not-indicated":
        markers = _marker_labels(check)
        text = f"{drug}: tumour tested, {markers} not found. {if_for}Not indicated by FDA label"
    elif outcome == "uncertain":
        text = f"{drug}: tumour result on file cannot be read against the label's biomarker"
    else:
        found = _evidence_label(check.deciding[0].documented[0])
        text = f"{drug}: {found} on file, as the FDA label requires"
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 3].rstrip() + "..."
    return text


def biomarker_card(
    *,
    order: DraftMedication,
    check: BiomarkerCheck,
    profile: TumourProfile,
    indicator: Indicator,
    site: SiteConfig,
    kb: KnowledgeBase,
    patient_id: str,
    hook_instance: str,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The card for ``check`` (any outcome but ``none``) on one draft order."""
    card_id = uuid.uuid5(
        CARD_NAMESPACE,
        "|".join(
            [hook_instance, order.reference or check.drug, "biomarker", check.drug, check.outcome]
        ),
    )
    label = check.rules.label
    source = f"FDA label: {label.title} (revised {label.revised})"
    card: dict[str, Any] = {
        "uuid": str(card_id),
        "summary": biomarker_summary(check, kb),
        "indicator": indicator,
        "detail": _detail(check, profile, kb, notes),
        "source": {"label": source, "url": label.url},
        "suggestions": _suggestions(order, check, site, kb, patient_id, card_id),
        "overrideReasons": override_reasons(),
        "links": [{"label": source, "url": label.url, "type": "absolute"}],
        "extension": {KNOWLEDGE_VERSION: kb.version},
    }
    if card["suggestions"]:
        card["selectionBehavior"] = "at-most-one"
    return card


def _detail(
    check: BiomarkerCheck, profile: TumourProfile, kb: KnowledgeBase, notes: Sequence[str]
) -> str:
    lines = [_tumour_line(check, kb), ""]
    if check.limitation is not None:
        lines += [
            f"{check.limitation.says} The label's limitation of use:",
            "",
            f"> {_one_line(check.limitation.quote)}",
            "",
        ]
    if check.outcome == "resistance":
        for hit in check.resistance:
            lines += [
                f"**{_evidence_label(hit.call)}** is on file ({_sources(hit.call)}). "
                f"{hit.resistance.says}",
                "",
                f"> {_one_line(hit.resistance.quote)}",
                "",
            ]
            if hit.resistance.alternatives:
                named = ", ".join(hit.resistance.alternatives)
                lines += [f"The source names instead: {named}.", ""]
    for call in check.deciding:
        lines += _indication_lines(check, call)
    if check.outcome == "test-required":
        lines += [
            "The suggestion adds a draft order for the test; the "
            f"{check.drug} order is not changed.",
            "",
        ]
    implications = [i for i in profile.implications if i.drug == check.drug]
    for implication in implications:
        parts = [implication.implication]
        parts += [p for p in (implication.evidence, implication.disease) if p]
        lines.append(
            f"The lab's own interpretation ({implication.source or 'report'}): {', '.join(parts)}."
        )
    if implications:
        lines.append("")
    if profile.unreadable:
        # Never guessed, but never hidden: the prescriber may know what the lab meant.
        shown = "; ".join(
            f"{source or 'a result'}: {reason}" for source, reason in profile.unreadable[:3]
        )
        more = f" and {len(profile.unreadable) - 3} more" if len(profile.unreadable) > 3 else ""
        lines += [f"Tumour results on file the service could not read: {shown}{more}.", ""]
    for note in notes:
        lines.append(f"Note: {note}.")
    label = check.rules.label
    read = f", read from {label.read_from}" if label.read_from else ""
    lines.append(f"Source: {label.title}, revised {label.revised} ({label.url}{read}).")
    return "\n".join(lines).strip()


def _indication_lines(check: BiomarkerCheck, call: IndicationCall) -> list[str]:
    indication = call.indication
    wanted = " (the label requires these to be absent)" if call.wild_type else ""
    lines = [
        f"The FDA label indicates {check.drug} for {indication.text}{wanted}:",
        "",
        f"> {_one_line(indication.quote)}",
        "",
    ]
    for marker in call.required:
        lines.append(f"- {marker.marker.label}: {_status_text(marker)}")
    if call.required:
        lines.append("")
    if indication.civic:
        lines += [f"CIViC evidence: {', '.join(indication.civic)} (CIViC 01-Aug-2021).", ""]
    return lines


def _status_text(call: MarkerCall) -> str:
    if call.status == "present":
        return f"on file ({_sources(call)})"
    if call.status == "negative":
        return "tested, not found" + (f" ({_sources(call)})" if call.evidence else "")
    if call.status == "uncertain":
        return f"cannot be decided: {call.note}"
    return "no result on file"


def _suggestions(
    order: DraftMedication,
    check: BiomarkerCheck,
    site: SiteConfig,
    kb: KnowledgeBase,
    patient_id: str,
    card_id: uuid.UUID,
) -> list[dict[str, Any]]:
    suggestions: list[dict[str, Any]] = []
    if check.outcome == "test-required":
        for call in check.deciding:
            requires = call.indication.requires
            if requires is None or not call.not_on_file:
                continue
            genes = [g for m in call.not_on_file for g in m.marker.genes]
            orderable = tumour_test_orderable(site, requires.test, genes)
            key = f"order:{requires.test}"
            if any(s["uuid"] == str(uuid.uuid5(card_id, key)) for s in suggestions):
                continue
            suggestions.append(
                {
                    "label": f"Order {orderable.text}",
                    "uuid": str(uuid.uuid5(card_id, key)),
                    "actions": [
                        {
                            "type": "create",
                            "description": f"Add a draft order for {orderable.text} before {check.drug}",
                            "resource": draft_service_request(
                                patient_id,
                                orderable,
                                _reason(requires.test, check.drug, call),
                                f"the FDA label indicates {check.drug} for {call.indication.text}.",
                            ),
                        }
                    ],
                }
            )
    if check.outcome == "resistance" and order.reference is not None:
        alternatives = dict.fromkeys(
            a for hit in check.resistance for a in hit.resistance.alternatives
        )
        for drug in alternatives:
            suggestions.append(
                {
                    "label": f"Replace {check.drug} with {drug}",
                    "uuid": str(uuid.uuid5(card_id, f"swap:{drug}")),
                    "actions": [
                        {
                            "type": "delete",
                            "description": f"Remove the draft order for {check.drug}",
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
    return suggestions


def _reason(test: str, drug: str, call: IndicationCall) -> str:
    return f"{test} before {drug} ({call.indication.text})"


def _tumour_line(check: BiomarkerCheck, kb: KnowledgeBase) -> str:
    if check.tumour_types is None:
        return (
            "The tumour type this order is for is not known to the service (no coded reason on "
            "the order, no cancer diagnosis on file); every labelled indication was considered."
        )
    names = _tumour_names(check.tumour_types, kb)
    assert kb.oncology is not None
    # What the code cannot say (C34 is every lung cancer, not NSCLC alone), from the table.
    notes = [
        kb.oncology.tumour_types[t].caveat
        for t in sorted(check.tumour_types)
        if t in kb.oncology.tumour_types
    ]
    return " ".join([f"Tumour type on file: {names}.", *(n for n in notes if n)])


def _tumour_names(types: frozenset[str], kb: KnowledgeBase) -> str:
    oncology = kb.oncology
    assert oncology is not None
    # The most specific types only: "NSCLC", not "NSCLC, solid tumour".
    parents = {
        p for t in types for p in oncology.tumour_types[t].part_of if t in oncology.tumour_types
    }
    shown = sorted(t for t in types if t not in parents and t in oncology.tumour_types)
    return ", ".join(oncology.tumour_types[t].label for t in shown) or "unspecified"


def _if_for(check: BiomarkerCheck, kb: KnowledgeBase) -> str:
    """``If for colorectal cancer: `` when the tumour type is not known; else nothing."""
    if check.tumour_types is not None or not check.deciding:
        return ""
    oncology = kb.oncology
    assert oncology is not None
    tumours = dict.fromkeys(t for call in check.deciding for t in call.indication.tumour)
    labels = [oncology.tumour_types[t].label for t in tumours if t in oncology.tumour_types]
    return f"If for {' or '.join(labels)}: " if labels else ""


def _for_short(check: BiomarkerCheck, kb: KnowledgeBase) -> str:
    if check.tumour_types is None:
        return ""
    return f" for {_tumour_names(check.tumour_types, kb)}"


def _marker_labels(check: BiomarkerCheck) -> str:
    labels = dict.fromkeys(m.marker.label for call in check.deciding for m in call.required)
    return " or ".join(labels)


def _evidence_label(call: MarkerCall) -> str:
    for item in call.evidence:
        return item.label if isinstance(item, Finding) else f"{item.kind.upper()} {item.text}"
    return call.marker.label


def _sources(call: MarkerCall) -> str:
    parts = []
    for item in call.evidence:
        name = item.label if isinstance(item, Finding) else item.text
        origin = (
            f", {item.origin}" if isinstance(item, Finding) and item.origin != "unknown" else ""
        )
        where = f", {item.source}" if item.source else ""
        parts.append(f"{name}{origin}{where}")
    return "; ".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())
