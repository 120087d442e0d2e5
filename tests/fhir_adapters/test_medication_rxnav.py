"""identify_drug with a product-code resolver: ingredient code, then RxNav, then names."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import pytest
import responses
from responses import matchers

from fhir_adapters import RxNavClient, draft_medications, identify_drug
from knowledge import KnowledgeBase
from tests.builders import RXNORM, medication_request
from tests.fhir_adapters.test_rxnav import (
    CELECOXIB,
    CLOPIDOGREL,
    PLAVIX_75_TABLET,
    RXNAV,
    SEGLENTIS_TABLET,
    TRAMADOL,
    related,
)

ATORVASTATIN_40_TABLET = "617311"  # SCD  atorvastatin 40 MG Oral Tablet
NDC = "http://hl7.org/fhir/sid/ndc"


class FakeResolver:
    """Ingredients by product code; records what it was asked, to prove what was (not) looked up."""

    def __init__(self, answers: Mapping[str, frozenset[str] | None]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def ingredients(self, rxcui: str) -> frozenset[str] | None:
        self.asked.append(rxcui)
        return self.answers.get(rxcui, frozenset())


def rxnorm(code: str | int, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": RXNORM, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def with_drugs(kb: KnowledgeBase, **rxnorm_by_name: str) -> KnowledgeBase:
    """``kb`` knowing exactly clopidogrel and the drugs named here (by their RxNorm IN code)."""
    template = kb.drugs["clopidogrel"]
    drugs = {"clopidogrel": template}
    for name, code in rxnorm_by_name.items():
        drugs[name] = template.model_copy(update={"rxnorm": code, "synonyms": []})
    return dataclasses.replace(kb, drugs=drugs)


PRODUCTS = {
    PLAVIX_75_TABLET: frozenset({"32968"}),
    SEGLENTIS_TABLET: frozenset({"140587", "10689"}),
    ATORVASTATIN_40_TABLET: frozenset({"83367"}),
}


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"coding": [rxnorm(PLAVIX_75_TABLET)]}, "clopidogrel"),
        ({"coding": [rxnorm(int(PLAVIX_75_TABLET))]}, "clopidogrel"),
        ({"coding": [rxnorm(PLAVIX_75_TABLET, "Plavix 75 MG Oral Tablet")]}, "clopidogrel"),
        ({"coding": [rxnorm("1"), rxnorm(PLAVIX_75_TABLET)]}, "clopidogrel"),
        # The product's ingredient is trusted over a text that names another drug.
        ({"coding": [rxnorm(PLAVIX_75_TABLET)], "text": "ticagrelor"}, "clopidogrel"),
        # A product without an ingredient we know leaves the names to decide.
        (
            {"coding": [rxnorm(ATORVASTATIN_40_TABLET)], "text": "clopidogrel 75 mg"},
            "clopidogrel",
        ),
    ],
    ids=[
        "branded-product",
        "code-as-number",
        "with-display",
        "second-coding",
        "product-over-text",
        "unknown-ingredients-then-name",
    ],
)
def test_product_code_resolves_to_its_ingredient(
    kb: KnowledgeBase, concept: dict[str, Any], expected: str
) -> None:
    kb = with_drugs(kb, ticagrelor="1116632")

    assert identify_drug(concept, kb, FakeResolver(PRODUCTS)) == expected


def test_ingredient_code_needs_no_lookup(kb: KnowledgeBase) -> None:
    resolver = FakeResolver(PRODUCTS)

    found = identify_drug({"coding": [rxnorm(PLAVIX_75_TABLET), rxnorm("32968")]}, kb, resolver)

    assert found == "clopidogrel"
    assert resolver.asked == []


@pytest.mark.parametrize(
    "concept",
    [
        {"coding": [{"system": NDC, "code": "63653117101"}]},
        {"coding": [{"code": PLAVIX_75_TABLET}]},
        {"coding": [rxnorm(None)]},  # type: ignore[arg-type]
        {"text": "Plavix 75 mg"},
    ],
    ids=["ndc", "no-system", "no-code", "text-only"],
)
def test_only_rxnorm_codes_are_looked_up(kb: KnowledgeBase, concept: dict[str, Any]) -> None:
    resolver = FakeResolver(PRODUCTS)

    identify_drug(concept, with_drugs(kb), resolver)

    assert resolver.asked == []


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"coding": [rxnorm(PLAVIX_75_TABLET, "Clopidogrel 75 MG Oral Tablet")]}, "clopidogrel"),
        ({"coding": [rxnorm(PLAVIX_75_TABLET)]}, None),
    ],
    ids=["falls-back-to-the-display", "nothing-else-to-go-on"],
)
def test_rxnav_unavailable_falls_back_to_names(
    kb: KnowledgeBase, concept: dict[str, Any], expected: str | None
) -> None:
    down = FakeResolver(dict.fromkeys(PRODUCTS))

    assert identify_drug(concept, with_drugs(kb), down) == expected


def test_a_combination_with_one_ingredient_we_know_is_that_drug(kb: KnowledgeBase) -> None:
    kb = with_drugs(kb, tramadol=TRAMADOL[0])

    found = identify_drug({"coding": [rxnorm(SEGLENTIS_TABLET)]}, kb, FakeResolver(PRODUCTS))

    assert found == "tramadol"


@pytest.mark.parametrize(
    "concept",
    [
        {"coding": [rxnorm(SEGLENTIS_TABLET)]},
        # Even a text naming one of them does not pick: the order holds both.
        {"coding": [rxnorm(SEGLENTIS_TABLET)], "text": "Seglentis (celecoxib and tramadol)"},
        # Two single-ingredient codes that disagree are no better.
        {"coding": [rxnorm(PLAVIX_75_TABLET), rxnorm(SEGLENTIS_TABLET)]},
    ],
    ids=["combination", "combination-with-text", "codes-disagree"],
)
def test_a_product_holding_two_drugs_we_know_is_not_guessed(
    kb: KnowledgeBase, caplog: pytest.LogCaptureFixture, concept: dict[str, Any]
) -> None:
    kb = with_drugs(kb, tramadol=TRAMADOL[0], celecoxib=CELECOXIB[0])

    with caplog.at_level(logging.INFO, logger="fhir_adapters"):
        found = identify_drug(concept, kb, FakeResolver(PRODUCTS))

    assert found is None
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.event == "drug_ambiguous"  # type: ignore[attr-defined]
    assert "tramadol" in record.drugs  # type: ignore[attr-defined]
    assert "celecoxib" in record.drugs  # type: ignore[attr-defined]


def collection(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


def test_draft_medications_without_a_resolver_keeps_todays_behaviour(kb: KnowledgeBase) -> None:
    order = medication_request({"coding": [rxnorm(PLAVIX_75_TABLET)]})

    (found,) = draft_medications(collection(order), with_drugs(kb))

    assert found.drug is None


@responses.activate
def test_draft_medications_asks_rxnav_for_a_product_code(kb: KnowledgeBase) -> None:
    responses.get(
        f"{RXNAV}/rxcui/{PLAVIX_75_TABLET}/related.json",
        match=[matchers.query_param_matcher({"tty": "IN"})],
        json=related(CLOPIDOGREL),
    )
    orders = collection(
        medication_request({"coding": [rxnorm(PLAVIX_75_TABLET)], "text": "Plavix 75mg"}, id="a"),
        medication_request({"coding": [rxnorm(PLAVIX_75_TABLET)]}, id="b"),
    )

    found = draft_medications(orders, with_drugs(kb), resolver=RxNavClient(RXNAV))

    assert [(o.reference, o.drug) for o in found] == [
        ("MedicationRequest/a", "clopidogrel"),
        ("MedicationRequest/b", "clopidogrel"),
    ]
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        (
            {"coding": [rxnorm(PLAVIX_75_TABLET), {"system": NDC, "code": "63653117101"}]},
            (f"{RXNORM}|{PLAVIX_75_TABLET}", f"{NDC}|63653117101"),
        ),
        ({"coding": [{"code": "x1"}, {"system": NDC}], "text": "secret"}, ("|x1",)),
        ({"text": "Plavix 75 mg for Jane Doe"}, ()),
    ],
    ids=["system-and-code", "code-without-system", "text-is-never-a-code"],
)
def test_draft_medication_codes_are_tokens(
    kb: KnowledgeBase, concept: dict[str, Any], expected: tuple[str, ...]
) -> None:
    (found,) = draft_medications(collection(medication_request(concept)), kb)

    assert found.codes == expected
