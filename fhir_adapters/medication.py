"""Find the drug a draft medication order is for: by RxNorm code, via RxNav, else by name."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fhir_adapters.resources import (
    Resource,
    codings,
    iter_resources,
    medication_concept,
    reference_of,
)
from knowledge import KnowledgeBase

__all__ = ["DraftMedication", "IngredientResolver", "draft_medications", "identify_drug"]

log = logging.getLogger(__name__)

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# MedicationOrder is the DSTU2 name of MedicationRequest; both hooks may still carry it.
_ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})


class IngredientResolver(Protocol):
    """Something that knows a product code's ingredients, such as ``RxNavClient``."""

    def ingredients(self, rxcui: str) -> frozenset[str] | None:
        """The ingredient RXCUIs of ``rxcui``; ``None`` when that cannot be known now."""
        ...


@dataclass(frozen=True, slots=True)
class DraftMedication:
    """One draft order: its reference (for card actions), the resource, and the drug if known.

    ``codes`` are the drug's codings as FHIR tokens (``system|code``), for logs that must say
    what could not be identified without quoting free text.
    """

    reference: str | None
    resource: Resource
    drug: str | None
    described_as: str
    codes: tuple[str, ...] = ()


def draft_medications(
    orders: Mapping[str, Any],
    kb: KnowledgeBase,
    selections: Iterable[str] | None = None,
    *,
    resolver: IngredientResolver | None = None,
) -> list[DraftMedication]:
    """The medication orders in ``orders``, limited to ``selections`` when it is given.

    ``resolver`` looks up RxNorm product codes (see ``identify_drug``); without one, only
    ingredient codes and names are recognised.
    """
    wanted = set(selections) if selections is not None else None
    resources = list(iter_resources(orders))
    medications = {
        reference: r
        for r in resources
        if r.get("resourceType") == "Medication" and (reference := reference_of(r))
    }
    found = []
    for resource in resources:
        if resource.get("resourceType") not in _ORDER_TYPES:
            continue
        reference = reference_of(resource)
        if wanted is not None and reference not in wanted:
            continue
        concept = medication_concept(resource, medications)
        found.append(
            DraftMedication(
                reference,
                resource,
                identify_drug(concept, kb, resolver),
                _describe(concept),
                _tokens(concept),
            )
        )
    return found


def identify_drug(
    concept: Any,
    kb: KnowledgeBase,
    resolver: IngredientResolver | None = None,
    *,
    substances: bool = False,
) -> str | None:
    """The knowledge base's name for the drug in ``concept``, or ``None`` if it names none we know.

    In order: an RxNorm coding that is the ingredient code of a drug we know; else, with a
    ``resolver``, the ingredients of the RxNorm codings (products such as "Plavix 75 MG Oral
    Tablet"); else the drug's name or synonym as a word in the text or a coding's display.
    ``substances``: also recognise drugs known only as co-medications (a medication list).
    """
    by_rxnorm = kb.substances_by_rxnorm if substances else kb.drugs_by_rxnorm
    if not isinstance(concept, Mapping):
        return None
    found = codings(concept)
    rxnorm_codes = [
        str(c.get("code")) for c in found if c.get("system") == RXNORM and c.get("code") is not None
    ]
    for code in rxnorm_codes:
        if code in by_rxnorm:
            return by_rxnorm[code]
    if resolver is not None and rxnorm_codes:
        drugs = _drugs_in_products(rxnorm_codes, by_rxnorm, resolver)
        if len(drugs) == 1:
            return drugs.pop()
        if len(drugs) > 1:
            # One order carries one drug here; naming one of two would leave the other unchecked
            # while the card looked complete, so the order is not guessed at all.
            log.warning(
                "RxNorm product has several ingredients we know; not guessing which",
                extra={"event": "drug_ambiguous", "rxnorm": rxnorm_codes, "drugs": sorted(drugs)},
            )
            return None
    texts = [concept.get("text")] + [c.get("display") for c in found]
    for text in texts:
        if isinstance(text, str):
            name = kb.drug_named_in(text, substances=substances)
            if name is not None:
                return name
    return None


def _drugs_in_products(
    codes: list[str], by_rxnorm: Mapping[str, str], resolver: IngredientResolver
) -> set[str]:
    """Our drugs among the ingredients of every product code RxNav could answer for."""
    drugs: set[str] = set()
    for code in codes:
        for ingredient in resolver.ingredients(code) or ():
            if ingredient in by_rxnorm:
                drugs.add(by_rxnorm[ingredient])
    return drugs


def _tokens(concept: Any) -> tuple[str, ...]:
    return tuple(
        f"{c.get('system') or ''}|{c['code']}"
        for c in codings(concept)
        if isinstance(c.get("code"), (str, int)) and str(c["code"])
    )


def _describe(concept: Any) -> str:
    if isinstance(concept, Mapping):
        if isinstance(concept.get("text"), str):
            return str(concept["text"])
        for coding in codings(concept):
            if coding.get("display"):
                return str(coding["display"])
    return "medication"
