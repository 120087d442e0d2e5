"""iter_resources, is_operation_outcome, reference_of: walking what clients actually send."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_adapters import is_operation_outcome, iter_resources, reference_of
from tests.builders import genotype_observation, medication_request, searchset

RX = medication_request(id="rx-1")
GENO = genotype_observation("CYP2C19", "*2/*2", id="g-1")
OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "not-found"}],
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (searchset(RX, GENO), [RX, GENO]),
        (searchset(), []),
        ({"resourceType": "Bundle", "entry": [{"resource": RX}]}, [RX]),
        ({"resourceType": "Bundle", "type": "collection"}, []),
        (searchset(searchset(RX), GENO), [RX, GENO]),
        (searchset(searchset(searchset(RX)), searchset(), GENO), [RX, GENO]),
        (RX, [RX]),
        (OUTCOME, [OUTCOME]),
        ({"resourceType": "Patient"}, [{"resourceType": "Patient"}]),
    ],
    ids=[
        "searchset",
        "empty-searchset",
        "bundle-without-type",
        "bundle-without-entry",
        "nested-bundle",
        "deeply-nested-bundles",
        "single-resource",
        "operation-outcome",
        "resource-without-id",
    ],
)
def test_iter_resources(value: Any, expected: list[dict[str, Any]]) -> None:
    assert list(iter_resources(value)) == expected


@pytest.mark.parametrize(
    "entries",
    [
        [{}, {"resource": RX}],
        [{"fullUrl": "urn:uuid:0", "resource": None}, {"resource": RX}],
        [None, "entry", 7, ["x"], {"resource": RX}],
        [{"resource": "RX"}, {"resource": [RX]}, {"resource": RX}],
        [{"resource": {"id": "no-type"}}, {"resource": {"resourceType": 3}}, {"resource": RX}],
    ],
    ids=[
        "entry-without-resource",
        "resource-null",
        "entries-not-objects",
        "resource-not-object",
        "resource-without-type",
    ],
)
def test_bad_entries_skipped(entries: list[Any]) -> None:
    bundle = {"resourceType": "Bundle", "entry": entries}

    assert list(iter_resources(bundle)) == [RX]


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        [RX],
        "Bundle",
        "",
        42,
        {},
        {"entry": [{"resource": RX}]},
        {"resourceType": None, "entry": [{"resource": RX}]},
        {"resourceType": ["Bundle"]},
        {"resourceType": "Bundle", "entry": None},
        {"resourceType": "Bundle", "entry": "x"},
        {"resourceType": "Bundle", "entry": {"resource": RX}},
    ],
    ids=[
        "none",
        "list",
        "list-of-resources",
        "string",
        "empty-string",
        "number",
        "empty-object",
        "object-without-resourceType",
        "resourceType-null",
        "resourceType-not-string",
        "entry-null",
        "entry-string",
        "entry-object",
    ],
)
def test_iter_resources_of_garbage_is_empty(value: Any) -> None:
    assert list(iter_resources(value)) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (OUTCOME, True),
        ({"resourceType": "OperationOutcome"}, True),
        (searchset(OUTCOME), False),
        (searchset(), False),
        (RX, False),
        ({"resourceType": "operationoutcome"}, False),
        ({}, False),
        (None, False),
        ("OperationOutcome", False),
        ([OUTCOME], False),
    ],
    ids=[
        "outcome",
        "bare-outcome",
        "bundle-holding-outcome",
        "bundle",
        "medication-request",
        "wrong-case",
        "empty-object",
        "none",
        "string",
        "list",
    ],
)
def test_is_operation_outcome(value: Any, expected: bool) -> None:
    assert is_operation_outcome(value) is expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (RX, "MedicationRequest/rx-1"),
        (GENO, "Observation/g-1"),
        ({"resourceType": "MedicationOrder", "id": "103"}, "MedicationOrder/103"),
        ({"resourceType": "MedicationRequest"}, None),
        ({"resourceType": "MedicationRequest", "id": ""}, None),
        ({"resourceType": "MedicationRequest", "id": None}, None),
        ({"resourceType": "MedicationRequest", "id": 103}, None),
    ],
    ids=["request", "observation", "dstu2-order", "no-id", "empty-id", "id-null", "id-number"],
)
def test_reference_of(resource: dict[str, Any], expected: str | None) -> None:
    assert reference_of(resource) == expected
