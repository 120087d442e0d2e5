"""The pre-test card: the label asks for a genetic test before this drug and none is on file."""

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
)
from cds_hooks.site_config import CodeableConcept
from knowledge.schema import Indicator, PretestRequirement

__all__ = ["pretest_card", "pretest_summary"]

_VERBS = {"testing required": "requires", "testing recommended": "recommends"}


def pretest_summary(drug: str, requirement: PretestRequirement) -> str:
    """``Abacavir: no HLA-B*57:01 result on file. FDA label requires testing before use``."""
    verb = _VERBS[requirement.level]
    text = (
        f"{drug.capitalize()}: no {requirement.test} result on file. "
        f"{_authority(requirement)} {verb} testing before use"
    )
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 3].rstrip() + "..."
    return text


def pretest_card(
    *,
    drug: str,
    order_reference: str | None,
    requirement: PretestRequirement,
    missing_genes: Sequence[str],
    indicator: Indicator,
    orderable: CodeableConcept,
    patient_id: str,
    kb_version: str,
    hook_instance: str,
) -> dict[str, Any]:
    """The card for one draft order of ``drug`` while no result for ``missing_genes`` is on file.

    Its one suggestion adds a draft ServiceRequest for ``orderable``; the medication order itself
    is left alone, because the label asks for the result before the first dose, not for another drug.
    """
    if not missing_genes:
        raise ValueError("a pre-test card needs at least one gene without a result")
    card_id = uuid.uuid5(
        CARD_NAMESPACE,
        "|".join([hook_instance, order_reference or drug, "pretest", drug, *sorted(missing_genes)]),
    )
    return {
        "uuid": str(card_id),
        "summary": pretest_summary(drug, requirement),
        "indicator": indicator,
        "detail": _detail(drug, requirement, missing_genes, orderable),
        "source": {"label": requirement.source, "url": requirement.url},
        "suggestions": [
            {
                "label": f"Order {orderable.text}",
                "uuid": str(uuid.uuid5(card_id, f"order:{requirement.test}")),
                "actions": [
                    {
                        "type": "create",
                        "description": f"Add a draft order for {orderable.text} before {drug}",
                        "resource": _service_request(drug, requirement, orderable, patient_id),
                    }
                ],
            }
        ],
        "selectionBehavior": "at-most-one",
        "overrideReasons": override_reasons(),
        "links": [{"label": requirement.source, "url": requirement.url, "type": "absolute"}],
        "extension": {KNOWLEDGE_VERSION: kb_version},
    }


def _authority(requirement: PretestRequirement) -> str:
    # Every entry of knowledge/pretest.yaml is an FDA label; a guideline would name itself.
    if requirement.source.startswith("FDA"):
        return "FDA label"
    return requirement.source.split(",")[0].strip()


def _detail(
    drug: str,
    requirement: PretestRequirement,
    missing_genes: Sequence[str],
    orderable: CodeableConcept,
) -> str:
    genes = ", ".join(f"**{gene}**" for gene in missing_genes)
    verb = _VERBS[requirement.level]
    lines = [
        f"No {genes} result is on file for this patient. "
        f"The {_authority(requirement)} {verb} {requirement.test} testing before {drug} is used:",
        "",
    ]
    if requirement.quote:
        lines += [f"> {' '.join(requirement.quote.split())}", ""]
    lines += [
        f"The suggestion adds a draft order for {orderable.text}; the {drug} order is not changed.",
        "",
        f"Source: {requirement.source} ({requirement.url}).",
    ]
    return "\n".join(lines)


def _service_request(
    drug: str, requirement: PretestRequirement, orderable: CodeableConcept, patient_id: str
) -> dict[str, Any]:
    verb = _VERBS[requirement.level]
    return draft_service_request(
        patient_id,
        orderable,
        f"{requirement.test} testing before {drug}",
        f"the {_authority(requirement)} {verb} {requirement.test} testing before {drug} "
        f"({requirement.source}).",
    )
