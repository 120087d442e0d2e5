"""The tumour's results and type for targeted-drug orders: from prefetch or the EHR's FHIR server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cds_hooks.hook_request import HookRequest
from cds_hooks.patient_context import PatientContext
from cds_hooks.patient_data import required_resources
from cds_hooks.services import CONDITION_KEYS, TUMOUR_RESULTS_KEY, tumour_results_template
from cds_hooks.state import ServiceState
from fhir_adapters import DraftMedication, IngredientResolver, identify_drug
from fhir_adapters.budget import Budget
from fhir_adapters.resources import codings
from fhir_adapters.tumour import read_tumour_profile
from knowledge import KnowledgeBase
from knowledge.tumour import TumourProfile

__all__ = ["TumourContext", "order_reason_codes", "tumour_profile"]


def tumour_profile(
    request: HookRequest,
    state: ServiceState,
    kb: KnowledgeBase,
    budget: Budget,
    resolver: IngredientResolver | None = None,
) -> tuple[TumourProfile, str]:
    """The tumour results on file and where they came from; 412 / unavailable like pgxResults."""
    codes = state.site.oncology.biomarker_codes
    resources, origin = required_resources(
        request,
        state,
        budget,
        TUMOUR_RESULTS_KEY,
        tumour_results_template(codes),
        "tumour results",
    )
    oncology = kb.oncology
    profile = read_tumour_profile(
        resources,
        hgnc_symbols=oncology.hgnc_symbols if oncology is not None else None,
        biomarker_codes={token: kind for kind, tokens in codes.items() for token in tokens},
        identify_drug=lambda concept: identify_drug(concept, kb, resolver),
    )
    return profile, origin


class TumourContext:
    """The tumour types one call's orders may be for: diagnoses and lab results, read once."""

    def __init__(self, context: PatientContext, kb: KnowledgeBase, profile: TumourProfile) -> None:
        self._context = context
        self._kb = kb
        self._profile = profile
        self._from_record: frozenset[str] | None = None
        self._read = False

    def for_order(self, order: DraftMedication) -> frozenset[str] | None:
        """What ``order`` is for: its own reason when coded, else the record's tumours.

        ``None`` when nothing says: every indication of the drug is then a candidate.
        """
        oncology = self._kb.oncology
        if oncology is None:
            return None
        reason = oncology.tumour_types_of(order_reason_codes(order))
        if reason:
            return reason
        if not self._read:
            self._read = True
            diagnoses = self._context.read(CONDITION_KEYS, "diagnoses")
            found = oncology.tumour_types_of(
                [*_condition_codes(diagnoses), *_tokens(self._profile.tumour_codes)]
            )
            self._from_record = found or None
        return self._from_record


def order_reason_codes(order: DraftMedication) -> list[tuple[str | None, str | None]]:
    """``(system, code)`` of the order's reasonCode (R4) or reason concepts (R5)."""
    resource = order.resource
    concepts: list[Any] = []
    reason_code = resource.get("reasonCode")
    if isinstance(reason_code, list):
        concepts.extend(reason_code)
    reason = resource.get("reason")
    if isinstance(reason, list):
        concepts.extend(r.get("concept") for r in reason if isinstance(r, Mapping))
    return [_pair(c) for concept in concepts for c in codings(concept)]


def _condition_codes(resources: Sequence[Any]) -> list[tuple[str | None, str | None]]:
    found: list[tuple[str | None, str | None]] = []
    for resource in resources:
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Condition":
            continue
        if _refuted(resource):
            continue
        found.extend(_pair(c) for c in codings(resource.get("code")))
    return found


def _refuted(condition: Mapping[str, Any]) -> bool:
    # A refuted or entered-in-error diagnosis says the patient does not have it.
    status = [c.get("code") for c in codings(condition.get("verificationStatus"))]
    return any(s in ("refuted", "entered-in-error") for s in status)


def _tokens(tokens: Iterable[str]) -> list[tuple[str | None, str | None]]:
    return [(t.split("|", 1)[0] or None, t.split("|", 1)[1]) for t in tokens if "|" in t]


def _pair(coding: Mapping[str, Any]) -> tuple[str | None, str | None]:
    system, code = coding.get("system"), coding.get("code")
    return (
        system if isinstance(system, str) else None,
        str(code) if isinstance(code, (str, int)) else None,
    )
