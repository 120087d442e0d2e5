"""The drugs a patient currently takes, from MedicationRequest/Order/Statement, as known names."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fhir_adapters.resources import Resource, all_resources, medication_concept, reference_of
from knowledge.patient import Comedication

__all__ = ["ACTIVE_STATEMENT_STATUSES", "ORDER_INTENTS", "active_comedications"]

# MedicationOrder is DSTU2's MedicationRequest. Only "active": an "on-hold" order is paused, and
# a rule that warns about an inhibitor must not count a drug the patient is not getting now.
_ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})
# Intents that mean the drug is to be given (R4 request-intent), less proposal, directive and
# option, which do not. DSTU2 MedicationOrder has no intent and is an order.
ORDER_INTENTS = frozenset(
    {"order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"}
)
# R4 statuses that say the patient takes (or is about to take) the drug. R5 replaced them with
# "recorded"/"draft", which say nothing about taking; such statements are not read.
ACTIVE_STATEMENT_STATUSES = frozenset({"active", "intended"})


def active_comedications(
    resources: Iterable[Mapping[str, Any]],
    identify: Callable[[Any], str | None],
    *,
    today: datetime.date | None = None,
) -> list[Comedication]:
    """One entry per known drug in the current medication resources, first source kept.

    ``resources`` are resources or Bundles; ``identify`` maps a medication CodeableConcept to
    the knowledge base's drug name. A statement whose effective period ended before ``today``
    (default: the current UTC date) is not current. Malformed resources are skipped.
    """
    today = today or datetime.datetime.now(datetime.UTC).date()
    flat = all_resources(resources)
    medications = {
        reference: r
        for r in flat
        if r.get("resourceType") == "Medication" and (reference := reference_of(r))
    }
    found: dict[str, Comedication] = {}
    for resource in flat:
        status = _current_status(resource, today)
        if status is None:
            continue
        drug = identify(medication_concept(resource, medications))
        if drug is not None and drug not in found:
            name = reference_of(resource) or str(resource["resourceType"])
            found[drug] = Comedication(drug, f"{name} ({status})")
    return list(found.values())


def _current_status(resource: Resource, today: datetime.date) -> str | None:
    """The resource's status when it says the drug is current, else ``None``."""
    kind = resource.get("resourceType")
    status = resource.get("status")
    if not isinstance(status, str):
        return None
    if kind in _ORDER_TYPES:
        intent = resource.get("intent")
        if status != "active" or resource.get("doNotPerform") is True:
            return None
        if intent is not None and (not isinstance(intent, str) or intent not in ORDER_INTENTS):
            return None
        return status
    if kind == "MedicationStatement":
        if status not in ACTIVE_STATEMENT_STATUSES:
            return None
        # DSTU2 wasNotTaken and STU3 taken = "n" record that the drug is not being taken.
        if resource.get("wasNotTaken") is True or resource.get("taken") == "n":
            return None
        if _ended(resource.get("effectivePeriod"), today):
            return None
        return status
    return None


def _ended(period: Any, today: datetime.date) -> bool:
    if not isinstance(period, Mapping):
        return False
    end = period.get("end")
    if not isinstance(end, str) or len(end) < 10:
        return False
    try:
        return datetime.date.fromisoformat(end[:10]) < today
    except ValueError:
        return False
