"""active_comedications: the drugs the patient currently takes, from orders and statements."""

from __future__ import annotations

import copy
import datetime
import json
import random
from pathlib import Path
from typing import Any

import pytest

from fhir_adapters.comedication import active_comedications
from fhir_adapters.medication import identify_drug
from fhir_adapters.resources import codings
from knowledge import KnowledgeBase
from knowledge.patient import Comedication
from tests.builders import RXNORM

TODAY = datetime.date(2026, 11, 1)
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "fhir-examples"
FLUOXETINE = {"coding": [{"system": RXNORM, "code": "4493", "display": "fluoxetine"}]}
OMEPRAZOLE = {"coding": [{"system": RXNORM, "code": "7646", "display": "omeprazole"}]}
KNOWN = {"4493": "fluoxetine", "7646": "omeprazole"}


def identify(concept: Any) -> str | None:
    """A stand-in for the knowledge base: RxNorm code, else a known name in the text."""
    if not isinstance(concept, dict):
        return None
    for coding in codings(concept):
        if str(coding.get("code")) in KNOWN:
            return KNOWN[str(coding["code"])]
    text = concept.get("text")
    return text if text in KNOWN.values() else None


def order(
    concept: dict[str, Any] | None = FLUOXETINE,
    *,
    id: str | None = "rx-1",
    status: str = "active",
    intent: str | None = "order",
    resource_type: str = "MedicationRequest",
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": resource_type, "status": status}
    if id is not None:
        resource["id"] = id
    if intent is not None:
        resource["intent"] = intent
    if concept is not None:
        resource["medicationCodeableConcept"] = concept
    resource.update(extra)
    return resource


def statement(
    concept: dict[str, Any] | None = FLUOXETINE,
    *,
    id: str = "ms-1",
    status: str = "active",
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "MedicationStatement", "id": id, "status": status}
    if concept is not None:
        resource["medicationCodeableConcept"] = concept
    resource.update(extra)
    return resource


def read(*resources: Any) -> list[Comedication]:
    return active_comedications(list(resources), identify, today=TODAY)


@pytest.mark.parametrize(
    ("resource", "source"),
    [
        (order(), "MedicationRequest/rx-1 (active)"),
        (order(intent=None, resource_type="MedicationOrder"), "MedicationOrder/rx-1 (active)"),
        (order(id=None), "MedicationRequest (active)"),
        (statement(), "MedicationStatement/ms-1 (active)"),
        (statement(status="intended"), "MedicationStatement/ms-1 (intended)"),
    ],
)
def test_current_resources_are_read(resource: dict[str, Any], source: str) -> None:
    assert read(resource) == [Comedication("fluoxetine", source)]


@pytest.mark.parametrize(
    "intent", ["order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"]
)
def test_order_intents(intent: str) -> None:
    assert [c.drug for c in read(order(intent=intent))] == ["fluoxetine"]


@pytest.mark.parametrize(
    "resource",
    [
        order(status="on-hold"),
        order(status="draft"),
        order(status="completed"),
        order(status="stopped"),
        order(status="cancelled"),
        order(status="entered-in-error"),
        order(status="unknown"),
        order(intent="proposal"),
        order(intent="directive"),
        order(intent="option"),
        order(doNotPerform=True),
        order(status="on-hold", resource_type="MedicationOrder", intent=None),
        statement(status="completed"),
        statement(status="stopped"),
        statement(status="on-hold"),
        statement(status="not-taken"),
        statement(status="unknown"),
        statement(status="entered-in-error"),
        statement(status="recorded"),  # R5: says nothing about taking
        statement(wasNotTaken=True),  # DSTU2
        statement(taken="n"),  # STU3
        statement(effectivePeriod={"start": "2026-01-01", "end": "2026-10-31"}),
    ],
)
def test_not_current_resources_are_skipped(resource: dict[str, Any]) -> None:
    assert read(resource) == []


@pytest.mark.parametrize(
    "period",
    [
        {"start": "2026-01-01"},
        {"start": "2026-01-01", "end": "2026-11-01"},
        {"start": "2026-01-01", "end": "2027-01-01T00:00:00Z"},
        {"end": "2027"},
    ],
)
def test_statement_with_open_or_future_period_is_current(period: dict[str, str]) -> None:
    assert len(read(statement(effectivePeriod=period))) == 1


def test_medication_reference_to_contained_medication() -> None:
    resource = order(
        None,
        medicationReference={"reference": "#med"},
        contained=[{"resourceType": "Medication", "id": "med", "code": OMEPRAZOLE}],
    )
    assert read(resource) == [Comedication("omeprazole", "MedicationRequest/rx-1 (active)")]


@pytest.mark.parametrize(
    "reference", ["Medication/m1", "https://ehr.example.org/fhir/Medication/m1"]
)
def test_medication_reference_to_medication_in_the_bundle(reference: str) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": statement(None, medicationReference={"reference": reference})},
            {"resource": {"resourceType": "Medication", "id": "m1", "code": OMEPRAZOLE}},
        ],
    }
    assert [c.drug for c in read(bundle)] == ["omeprazole"]


def test_unresolved_reference_falls_back_to_its_display() -> None:
    resource = order(
        None, medicationReference={"reference": "Medication/x", "display": "omeprazole"}
    )
    assert [c.drug for c in read(resource)] == ["omeprazole"]


@pytest.mark.parametrize(
    "medication",
    [{"concept": OMEPRAZOLE}, {"reference": {"reference": "#m"}}],
)
def test_r5_codeable_reference(medication: dict[str, Any]) -> None:
    resource = statement(
        None,
        status="active",
        medication=medication,
        contained=[{"resourceType": "Medication", "id": "m", "code": OMEPRAZOLE}],
    )
    assert [c.drug for c in read(resource)] == ["omeprazole"]


def test_unknown_drugs_are_left_out() -> None:
    unknown = {"coding": [{"system": RXNORM, "code": "1"}], "text": "aspirin"}
    assert read(order(unknown), statement(None)) == []


def test_duplicates_keep_the_first_source() -> None:
    found = read(
        statement(id="ms-1"), order(id="rx-1"), order(OMEPRAZOLE, id="rx-2"), order(id="rx-3")
    )
    assert found == [
        Comedication("fluoxetine", "MedicationStatement/ms-1 (active)"),
        Comedication("omeprazole", "MedicationRequest/rx-2 (active)"),
    ]


def test_other_resources_are_ignored() -> None:
    assert (
        read(
            {"resourceType": "Observation", "status": "active"},
            {"resourceType": "Medication", "code": FLUOXETINE},
        )
        == []
    )


def test_with_the_knowledge_base_identifier(kb: KnowledgeBase) -> None:
    clopidogrel = {"coding": [{"system": RXNORM, "code": "32968"}]}
    found = active_comedications(
        [order(clopidogrel)], lambda concept: identify_drug(concept, kb), today=TODAY
    )
    assert found == [Comedication("clopidogrel", "MedicationRequest/rx-1 (active)")]


def test_today_defaults_to_the_current_date() -> None:
    ended = statement(effectivePeriod={"end": "2000-01-01"})
    assert active_comedications([ended, order(OMEPRAZOLE)], identify) == [
        Comedication("omeprazole", "MedicationRequest/rx-1 (active)")
    ]


@pytest.mark.parametrize(
    "resources",
    [
        None,
        7,
        [None, "x", [], {}],
        [{"resourceType": "MedicationRequest", "status": ["active"], "intent": {}}],
        [{"resourceType": "MedicationRequest", "status": "active", "intent": ["order"]}],
        [statement(effectivePeriod={"end": "2026-99-99"})],
        [statement(effectivePeriod={"end": 20260101})],
        [order(None, medicationReference={"reference": 5}, contained="x")],
        [order(None, medicationReference="Medication/1")],
        [statement(None, medication={"reference": "x"})],
    ],
    ids=lambda value: repr(value)[:40],
)
def test_malformed_input_never_raises(resources: Any) -> None:
    active_comedications(resources, identify, today=TODAY)


def _mutate(value: Any, rng: random.Random) -> Any:
    junk = [None, 0, 1.5, True, "", "active", "#m", [], {}, [None], {"reference": 1}]
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: _mutate(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        return [*value[:index], _mutate(value[index], rng), *value[index + 1 :]]
    return rng.choice(junk)


def test_random_mutations_never_raise(kb: KnowledgeBase) -> None:
    rng = random.Random(20261101)
    base = [
        order(
            None,
            medicationReference={"reference": "#m"},
            contained=[{"resourceType": "Medication", "id": "m", "code": OMEPRAZOLE}],
        ),
        statement(effectivePeriod={"start": "2026-01-01", "end": "2026-12-01"}),
        {"resourceType": "Medication", "id": "m2", "code": FLUOXETINE},
        statement(None, id="ms-2", medicationReference={"reference": "Medication/m2"}),
    ]
    for _ in range(3000):
        resources = _mutate(copy.deepcopy(base), rng)
        for _ in range(rng.randrange(3)):
            resources = _mutate(resources, rng)
        active_comedications(resources, identify, today=TODAY)
        active_comedications(resources, lambda c: identify_drug(c, kb), today=TODAY)


def _example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.json") if '"MedicationStatement"' in p.read_text())


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_real_examples_read(path: Path, kb: KnowledgeBase) -> None:
    # Every example statement has status "unknown": nothing says the patient takes it now.
    resources = [json.loads(path.read_text())]
    assert active_comedications(resources, lambda c: identify_drug(c, kb), today=TODAY) == []


def test_real_example_read_when_active(kb: KnowledgeBase) -> None:
    path = (
        EXAMPLES
        / "hl7-genomics-reporting-stu3"
        / "MedicationStatement-MedicationStatementWarfarin.json"
    )
    resource = json.loads(path.read_text()) | {"status": "active"}
    found = active_comedications([resource], lambda c: identify_drug(c, kb), today=TODAY)
    assert found == [
        Comedication("warfarin", "MedicationStatement/MedicationStatementWarfarin (active)")
    ]


def test_a_single_bundle_may_be_passed_as_is() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": order()}]}
    assert [c.drug for c in active_comedications(bundle, identify, today=TODAY)] == ["fluoxetine"]


def test_contained_medication_is_found_by_id() -> None:
    resource = order(
        None,
        medicationReference={"reference": "#b"},
        contained=[
            {"resourceType": "Medication", "id": "a", "code": FLUOXETINE},
            {"resourceType": "Medication", "id": "b", "code": OMEPRAZOLE},
        ],
    )
    assert [c.drug for c in read(resource)] == ["omeprazole"]
