"""The FHIR server the integration tests use behaves as they assume: fresh searches, loadable examples."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.builders import genotype_observation
from tests.integration.fhir_loader import (
    as_transaction,
    for_patient,
    load_bundle,
    post_transaction,
    search,
    transaction_of,
)

pytestmark = pytest.mark.integration

EMERGE = Path(__file__).resolve().parents[3] / "shared" / "fhir-examples" / "emerge-fhir-spec"
EMERGE_BUNDLES = sorted(EMERGE.glob("*/*.json"))
GENOTYPE = "http://loinc.org|84413-4"


def _genotype_texts(resources: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        r["valueCodeableConcept"]["text"]
        for r in resources
        if r.get("resourceType") == "Observation"
        and any(c.get("code") == "84413-4" for c in r["code"].get("coding", []))
    )


def test_the_examples_are_there() -> None:
    # Guards the parametrised test below against passing vacuously on an empty glob.
    assert len(EMERGE_BUNDLES) == 10


def test_a_genotype_is_found_right_after_it_is_written(
    fhir: requests.Session, fhir_base: str, patient_id: str
) -> None:
    query = f"Observation?subject=Patient/{patient_id}&code={GENOTYPE}"
    # The same search before and after the write: a server that reuses cached search results
    # (HAPI does for 60 s by default) would answer the second one from the first, empty, result.
    assert search(fhir, fhir_base, query) == []

    post_transaction(
        fhir,
        fhir_base,
        for_patient(transaction_of([genotype_observation("CYP2C19", "*2/*2")]), patient_id),
    )

    (found,) = search(fhir, fhir_base, query)
    assert found["valueCodeableConcept"]["text"] == "CYP2C19*2/*2"
    assert found["subject"]["reference"].endswith(f"Patient/{patient_id}")


def test_an_observation_may_name_a_patient_the_server_has_not_seen(
    fhir: requests.Session, fhir_base: str
) -> None:
    # Lab results can arrive before the registration feed: the servers we test against must not
    # reject them (HAPI: placeholder targets on), or loading examples would depend on order.
    unseen = f"pgx-it-unseen-{uuid.uuid4()}"
    transaction = transaction_of([genotype_observation("CYP2C19", "*1/*1")])

    post_transaction(fhir, fhir_base, for_patient(transaction, unseen))

    (found,) = search(fhir, fhir_base, f"Observation?subject=Patient/{unseen}&code={GENOTYPE}")
    assert found["valueCodeableConcept"]["text"] == "CYP2C19*1/*1"


@pytest.mark.parametrize("path", EMERGE_BUNDLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_emerge_report_bundles_load_for_a_patient_of_our_own(
    fhir: requests.Session, fhir_base: str, patient_id: str, path: Path
) -> None:
    sent = load_bundle(fhir, fhir_base, path, patient_id)

    found = search(fhir, fhir_base, f"Observation?subject=Patient/{patient_id}&code={GENOTYPE}")
    expected = _genotype_texts([e["resource"] for e in sent["entry"]])
    assert expected, "every eMERGE report carries genotype Observations"
    assert _genotype_texts(found) == expected


def test_a_collection_bundle_becomes_a_transaction_of_posts() -> None:
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "http://lab.example/fhir/Patient/7",
                "resource": {"resourceType": "Patient", "id": "7"},
            },
            {"resource": genotype_observation("CYP2C19", "*1/*2", id="g1", patient="7")},
        ],
    }

    transaction = as_transaction(collection)

    assert [e["request"] for e in transaction["entry"]] == [
        {"method": "POST", "url": "Patient"},
        {"method": "POST", "url": "Observation"},
    ]
    patient_url = transaction["entry"][0]["fullUrl"]
    assert patient_url.startswith("urn:uuid:")
    # The Observation's "Patient/7" now points at the Patient's new local fullUrl.
    assert transaction["entry"][1]["resource"]["subject"] == {"reference": patient_url}
    assert json.dumps(collection).count("urn:uuid") == 0, "the input is left alone"
