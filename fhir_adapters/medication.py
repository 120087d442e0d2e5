"""Find the drug a draft medication order is for: by RxNorm ingredient code, else by name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fhir_adapters.resources import Resource, codings, iter_resources, reference_of
from knowledge import KnowledgeBase

__all__ = ["DraftMedication", "draft_medications"]

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# MedicationOrder is the DSTU2 name of MedicationRequest; both hooks may still carry it.
_ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})


@dataclass(frozen=True, slots=True)
class DraftMedication:
    """One draft order: its reference (for card actions), the resource, and the drug if known."""

    reference: str | None
    resource: Resource
    drug: str | None
    described_as: str


def draft_medications(
    orders: Mapping[str, Any], kb: KnowledgeBase, selections: Iterable[str] | None = None
) -> list[DraftMedication]:
    """The medication orders in ``orders``, limited to ``selections`` when it is given."""
    wanted = set(selections) if selections is not None else None
    resources = list(iter_resources(orders))
    medications = {reference_of(r): r for r in resources if r.get("resourceType") == "Medication"}
    found = []
    for resource in resources:
        if resource.get("resourceType") not in _ORDER_TYPES:
            continue
        reference = reference_of(resource)
        if wanted is not None and reference not in wanted:
            continue
        concept = _medication_concept(resource, medications)
        found.append(
            DraftMedication(reference, resource, identify_drug(concept, kb), _describe(concept))
        )
    return found


def identify_drug(concept: Any, kb: KnowledgeBase) -> str | None:
    """The knowledge base's name for the drug in ``concept``, or ``None`` if it names none we know."""
    if not isinstance(concept, Mapping):
        return None
    found = codings(concept)
    for coding in found:
        if coding.get("system") == RXNORM and str(coding.get("code")) in kb.drugs_by_rxnorm:
            return kb.drugs_by_rxnorm[str(coding.get("code"))]
    texts = [concept.get("text")] + [c.get("display") for c in found]
    for text in texts:
        if isinstance(text, str):
            name = kb.drug_named_in(text)
            if name is not None:
                return name
    return None


def _medication_concept(order: Resource, medications: Mapping[str | None, Resource]) -> Any:
    """The drug's CodeableConcept, whether inline or behind ``medicationReference`` (Epic's way).

    A reference is followed to a contained Medication (``#id``) or one in the same Bundle;
    failing both, its ``display`` is read as the drug's text.
    """
    if order.get("medicationCodeableConcept") is not None:
        return order["medicationCodeableConcept"]
    pointer = order.get("medicationReference")
    if not isinstance(pointer, Mapping):
        return None
    target = pointer.get("reference")
    medication: Any = None
    if isinstance(target, str) and target.startswith("#"):
        contained = order.get("contained")
        for candidate in contained if isinstance(contained, list) else ():
            if isinstance(candidate, Mapping) and candidate.get("id") == target[1:]:
                medication = candidate
    elif isinstance(target, str):
        medication = medications.get(target)
    if isinstance(medication, Mapping) and medication.get("code") is not None:
        return medication["code"]
    display = pointer.get("display")
    return {"text": display} if isinstance(display, str) else None


def _describe(concept: Any) -> str:
    if isinstance(concept, Mapping):
        if isinstance(concept.get("text"), str):
            return str(concept["text"])
        for coding in codings(concept):
            if coding.get("display"):
                return str(coding["display"])
    return "medication"
