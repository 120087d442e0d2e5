"""Find the drug a draft medication order is for: by RxNorm ingredient code, else by name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fhir_adapters.resources import Resource, iter_resources, reference_of
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
    found = []
    for resource in iter_resources(orders):
        if resource.get("resourceType") not in _ORDER_TYPES:
            continue
        reference = reference_of(resource)
        if wanted is not None and reference not in wanted:
            continue
        concept = resource.get("medicationCodeableConcept")
        found.append(
            DraftMedication(reference, resource, identify_drug(concept, kb), _describe(concept))
        )
    return found


def identify_drug(concept: Any, kb: KnowledgeBase) -> str | None:
    """The knowledge base's name for the drug in ``concept``, or ``None`` if it names none we know."""
    if not isinstance(concept, Mapping):
        return None
    codings = [c for c in concept.get("coding") or [] if isinstance(c, Mapping)]
    for coding in codings:
        if coding.get("system") == RXNORM and str(coding.get("code")) in kb.drugs_by_rxnorm:
            return kb.drugs_by_rxnorm[str(coding.get("code"))]
    texts = [concept.get("text")] + [c.get("display") for c in codings]
    for text in texts:
        if isinstance(text, str):
            name = _name_in(text, kb)
            if name is not None:
                return name
    return None


def _name_in(text: str, kb: KnowledgeBase) -> str | None:
    lowered = text.lower()
    for name, drug in kb.drugs.items():
        for word in (name, *drug.synonyms):
            if re.search(rf"\b{re.escape(word.lower())}\b", lowered):
                return name
    return None


def _describe(concept: Any) -> str:
    if isinstance(concept, Mapping):
        if isinstance(concept.get("text"), str):
            return str(concept["text"])
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and coding.get("display"):
                return str(coding["display"])
    return "medication"
