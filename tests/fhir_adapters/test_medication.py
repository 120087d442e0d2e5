"""identify_drug and draft_medications: which known drug each draft order is for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_adapters import DraftMedication, draft_medications, identify_drug
from knowledge import KnowledgeBase
from tests.builders import RXNORM, genotype_observation, medication_request

SPEC = Path(__file__).resolve().parents[1] / "data" / "cds-hooks-spec"


def collection(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def rxnorm(code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": RXNORM, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"coding": [rxnorm("32968")]}, "clopidogrel"),
        ({"coding": [rxnorm("613391")]}, "prasugrel"),
        ({"coding": [rxnorm("1116632")]}, "ticagrelor"),
        ({"coding": [{"system": RXNORM, "code": 32968}]}, "clopidogrel"),
        ({"coding": [rxnorm("617993"), rxnorm("32968")]}, "clopidogrel"),
        ({"text": "Clopidogrel 75 MG Oral Tablet"}, "clopidogrel"),
        ({"coding": [rxnorm("309362", "Clopidogrel 75 MG Oral Tablet")]}, "clopidogrel"),
        ({"coding": [{"display": "clopidogrel bisulfate"}]}, "clopidogrel"),
        ({"text": "CLOPIDOGREL 75 MG PO TABS"}, "clopidogrel"),
        ({"text": "Plavix (clopidogrel) 75 mg"}, "clopidogrel"),
        ({"text": "prasugrel 10 MG Oral Tablet"}, "prasugrel"),
        # The code is trusted over a text that names another drug.
        ({"coding": [rxnorm("613391")], "text": "clopidogrel"}, "prasugrel"),
    ],
    ids=[
        "rxnorm-clopidogrel",
        "rxnorm-prasugrel",
        "rxnorm-ticagrelor",
        "rxnorm-code-as-number",
        "rxnorm-second-coding",
        "text",
        "product-code-display",
        "display-only",
        "upper-case",
        "name-in-parentheses",
        "text-prasugrel",
        "code-over-text",
    ],
)
def test_identify_drug(kb: KnowledgeBase, concept: dict[str, Any], expected: str) -> None:
    assert identify_drug(concept, kb) == expected


@pytest.mark.parametrize(
    "concept",
    [
        {"coding": [rxnorm("617993", "Amoxicillin 120 MG/ML Oral Suspension")]},
        {"text": "Azithromycin 20 MG/ML Oral Suspension"},
        {"text": "clopidogrelate 75 mg"},
        {"text": "preclopidogrel"},
        {"coding": [{"system": "http://snomed.info/sct", "code": "32968"}]},
        {"coding": [{"code": "32968"}]},
        {},
        {"coding": None, "text": None},
        {"coding": "clopidogrel"},
        {"coding": {"system": RXNORM, "code": "32968"}},
        {"coding": [None, "clopidogrel", 32968]},
        {"text": 32968},
        {"coding": 32968},
        None,
        "clopidogrel",
        ["clopidogrel"],
    ],
    ids=[
        "other-rxnorm",
        "other-text",
        "longer-word",
        "prefixed-word",
        "code-of-other-system",
        "code-without-system",
        "empty",
        "nulls",
        "coding-string",
        "coding-object",
        "coding-items-not-objects",
        "text-not-string",
        "coding-number",
        "none",
        "string",
        "list",
    ],
)
def test_no_known_drug(kb: KnowledgeBase, concept: Any) -> None:
    assert identify_drug(concept, kb) is None


@pytest.mark.parametrize(
    ("selections", "expected"),
    [
        (None, ["MedicationRequest/rx-1", "MedicationRequest/rx-2"]),
        (["MedicationRequest/rx-1"], ["MedicationRequest/rx-1"]),
        (("MedicationRequest/rx-2",), ["MedicationRequest/rx-2"]),
        (["NutritionOrder/n-1", "MedicationRequest/rx-2"], ["MedicationRequest/rx-2"]),
        (["MedicationOrder/rx-1"], []),
        (["rx-1"], []),
        ([], []),
    ],
    ids=["all", "first", "tuple", "with-other-type", "wrong-type", "bare-id", "none-selected"],
)
def test_selections_limit_orders(
    kb: KnowledgeBase, selections: list[str] | None, expected: list[str]
) -> None:
    orders = collection(
        medication_request(id="rx-1"),
        medication_request({"text": "prasugrel 10 mg"}, id="rx-2"),
    )

    found = draft_medications(orders, kb, selections)

    assert [o.reference for o in found] == expected


def test_draft_medication_fields(kb: KnowledgeBase) -> None:
    order = medication_request(id="rx-1")

    found = draft_medications(collection(order), kb)

    assert found == [
        DraftMedication(
            "MedicationRequest/rx-1",
            order,
            "clopidogrel",
            "clopidogrel 75 mg oral tablet",
            (f"{RXNORM}|32968",),
        )
    ]


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"text": "Plavix 75 mg", "coding": [rxnorm("32968", "clopidogrel")]}, "Plavix 75 mg"),
        ({"coding": [{"code": "x"}, rxnorm("32968", "clopidogrel")]}, "clopidogrel"),
        ({"coding": [rxnorm("32968")]}, "medication"),
        ({}, "medication"),
    ],
    ids=["text", "first-display", "no-words", "empty"],
)
def test_described_as(kb: KnowledgeBase, concept: dict[str, Any], expected: str) -> None:
    (found,) = draft_medications(collection(medication_request(concept)), kb)

    assert found.described_as == expected


def test_order_without_medication(kb: KnowledgeBase) -> None:
    order = medication_request()
    del order["medicationCodeableConcept"]

    (found,) = draft_medications(collection(order), kb)

    assert (found.drug, found.described_as) == (None, "medication")


def test_unknown_drug_kept_with_no_drug(kb: KnowledgeBase) -> None:
    order = medication_request({"text": "Amoxicillin 500 mg tablet"}, id="rx-9")

    found = draft_medications(collection(order), kb)

    assert [(o.reference, o.drug) for o in found] == [("MedicationRequest/rx-9", None)]


@pytest.mark.parametrize(
    "other",
    [
        {"resourceType": "NutritionOrder", "id": "n-1", "status": "draft"},
        {"resourceType": "ServiceRequest", "id": "s-1", "code": {"text": "clopidogrel level"}},
        {"resourceType": "MedicationStatement", "id": "ms-1", "medicationCodeableConcept": {}},
        genotype_observation("CYP2C19", "*2/*2"),
    ],
    ids=["NutritionOrder", "ServiceRequest", "MedicationStatement", "Observation"],
)
def test_other_resources_skipped(kb: KnowledgeBase, other: dict[str, Any]) -> None:
    orders = collection(other, medication_request(id="rx-1"))

    found = draft_medications(orders, kb)

    assert [o.reference for o in found] == ["MedicationRequest/rx-1"]


def test_dstu2_medication_order(kb: KnowledgeBase) -> None:
    order = medication_request(id="103", resource_type="MedicationOrder")

    found = draft_medications(collection(order), kb, ["MedicationOrder/103"])

    assert [(o.reference, o.drug) for o in found] == [("MedicationOrder/103", "clopidogrel")]


@pytest.mark.parametrize(
    ("selections", "expected"),
    [
        (None, [(None, "clopidogrel")]),
        (["MedicationRequest/None"], []),
    ],
    ids=["checked-without-selections", "never-selected"],
)
def test_order_without_id(
    kb: KnowledgeBase, selections: list[str] | None, expected: list[tuple[str | None, str]]
) -> None:
    found = draft_medications(collection(medication_request(id=None)), kb, selections)

    assert [(o.reference, o.drug) for o in found] == expected


@pytest.mark.parametrize(
    "orders",
    [
        {"resourceType": "Bundle", "entry": [{"resource": medication_request(id="rx-1")}]},
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": "urn:uuid:1"}, {}, {"resource": medication_request(id="rx-1")}],
        },
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [None, "x", {"resource": None}, {"resource": medication_request(id="rx-1")}],
        },
        {"resourceType": "Bundle", "entry": [{"resource": collection(medication_request())}]},
        medication_request(id="rx-1"),
    ],
    ids=[
        "bundle-without-type",
        "entry-without-resource",
        "garbage-entries",
        "nested-bundle",
        "bare-resource",
    ],
)
def test_tolerated_containers(kb: KnowledgeBase, orders: dict[str, Any]) -> None:
    found = draft_medications(orders, kb)

    assert [(o.reference, o.drug) for o in found] == [("MedicationRequest/rx-1", "clopidogrel")]


@pytest.mark.parametrize(
    "orders",
    [
        {"resourceType": "Bundle"},
        {"resourceType": "Bundle", "entry": None},
        {"resourceType": "Bundle", "entry": {"resource": medication_request()}},
        {},
    ],
    ids=["no-entry", "entry-null", "entry-not-list", "not-a-resource"],
)
def test_no_orders(kb: KnowledgeBase, orders: dict[str, Any]) -> None:
    assert draft_medications(orders, kb) == []


@pytest.mark.parametrize(
    ("example", "selections", "expected"),
    [
        (
            "order-sign-request.json",
            None,
            [("MedicationRequest/smart-MedicationRequest-103", None)],
        ),
        (
            "order-sign-request-stu3.json",
            None,
            [("MedicationRequest/smart-MedicationRequest-103", None)],
        ),
        (
            "order-sign-request-dstu2.json",
            None,
            [("MedicationOrder/smart-MedicationOrder-103", None)],
        ),
        (
            "order-select-request.json",
            ["NutritionOrder/pureeddiet-simple", "MedicationRequest/smart-MedicationRequest-103"],
            [("MedicationRequest/smart-MedicationRequest-103", None)],
        ),
        (
            "medication-prescribe-request.json",
            None,
            [
                ("MedicationRequest/smart-MedicationRequest-103", None),
                ("MedicationRequest/smart-MedicationRequest-104", None),
            ],
        ),
    ],
)
def test_spec_examples(
    kb: KnowledgeBase,
    example: str,
    selections: list[str] | None,
    expected: list[tuple[str, str | None]],
) -> None:
    context = json.loads((SPEC / example).read_text(encoding="utf-8"))["context"]
    orders = context.get("draftOrders") or context["medications"]

    found = draft_medications(orders, kb, selections)

    assert [(o.reference, o.drug) for o in found] == expected


@pytest.mark.parametrize(
    "order",
    [
        {
            "resourceType": "MedicationRequest",
            "id": "rx-1",
            "status": "draft",
            "intent": "order",
            "medicationReference": {
                "reference": "Medication/eVBXvKwrWZIkPmaGwY.s1hQ3",
                "display": "CLOPIDOGREL 75 MG PO TABS",
            },
        },
        {
            "resourceType": "MedicationRequest",
            "id": "rx-1",
            "status": "draft",
            "intent": "order",
            "contained": [
                {"resourceType": "Medication", "id": "med", "code": {"coding": [rxnorm("32968")]}}
            ],
            "medicationReference": {"reference": "#med"},
        },
    ],
    ids=["reference-display", "contained-medication"],
)
def test_medication_reference(kb: KnowledgeBase, order: dict[str, Any]) -> None:
    found = draft_medications(collection(order), kb)

    assert [(o.reference, o.drug) for o in found] == [("MedicationRequest/rx-1", "clopidogrel")]


def test_medication_reference_to_a_medication_in_the_same_bundle(kb: KnowledgeBase) -> None:
    order = {
        "resourceType": "MedicationRequest",
        "id": "rx-1",
        "status": "draft",
        "intent": "order",
        "medicationReference": {"reference": "Medication/m1"},
    }
    medication = {"resourceType": "Medication", "id": "m1", "code": {"coding": [rxnorm("32968")]}}

    found = draft_medications(collection(order, medication), kb)

    assert [(o.reference, o.drug) for o in found] == [("MedicationRequest/rx-1", "clopidogrel")]
