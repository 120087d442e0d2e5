"""Targeted-drug orders whose tumour results and diagnoses are read from a real FHIR server (#8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.builders import condition, hook_request, medication_request, searchset
from tests.integration.fhir_loader import for_patient, load_bundle, post_transaction, transaction_of
from tests.tumour_builders import variant_observation

pytestmark = pytest.mark.integration

SERVICE = "/cds-services/pgx-order-sign"
EXAMPLES = Path(__file__).resolve().parents[3] / "shared/onco/fhir/examples"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
OSIMERTINIB = {"text": "Tagrisso 80 mg oral tablet"}
CETUXIMAB = {"coding": [{"system": RXNORM, "code": "318341", "display": "cetuximab"}]}


def _cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


def test_the_ig_egfr_l858r_example_read_from_fhir_documents_egfr_for_osimertinib(
    client: FlaskClient, fhir: requests.Session, fhir_base: str, patient_id: str
) -> None:
    example = json.loads((EXAMPLES / "Observation-EGFR-L858R-var.json").read_text())
    post_transaction(fhir, fhir_base, for_patient(transaction_of([example]), patient_id))
    order = medication_request(OSIMERTINIB, patient=patient_id)
    body = hook_request(order, patient=patient_id, fhir_server=fhir_base)
    assert _cards(client.post(SERVICE, json=body)) == []


def test_the_ig_oncology_report_bundle_gives_cetuximab_an_uncertain_card(
    client: FlaskClient, fhir: requests.Session, fhir_base: str, patient_id: str
) -> None:
    # The report's NRAS variant is given as c.34G>T only: the service does not translate c. to
    # p. HGVS, so it cannot say whether codon 12 is hit and says so instead of guessing.
    load_bundle(
        fhir, fhir_base, EXAMPLES / "Bundle-bundle-oncology-report-example.json", patient_id
    )
    order = medication_request(CETUXIMAB, patient=patient_id)
    order["reasonCode"] = [
        {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C18.9"}]}
    ]
    body = hook_request(order, patient=patient_id, fhir_server=fhir_base)
    (card,) = _cards(client.post(SERVICE, json=body))
    assert card["indicator"] == "info"
    assert "NRAS c.34G>T: no protein change the service can read" in card["detail"]


def test_no_tumour_result_on_the_server_asks_for_the_test(
    client: FlaskClient, fhir_base: str, patient_id: str
) -> None:
    order = medication_request(OSIMERTINIB, patient=patient_id)
    body = hook_request(order, patient=patient_id, fhir_server=fhir_base)
    (card,) = _cards(client.post(SERVICE, json=body))
    assert card["summary"].startswith("Osimertinib: no EGFR mutation test result on file")
    assert card["suggestions"][0]["actions"][0]["resource"]["resourceType"] == "ServiceRequest"


def test_kras_and_a_rectal_cancer_diagnosis_from_fhir_give_the_prefetch_card(
    client: FlaskClient, fhir: requests.Session, fhir_base: str, patient_id: str
) -> None:
    variant = variant_observation("KRAS", protein="p.Gly12Asp")
    diagnosis = condition("C20")
    post_transaction(fhir, fhir_base, for_patient(transaction_of([variant, diagnosis]), patient_id))
    order = medication_request(CETUXIMAB, patient=patient_id)

    from_fhir = _cards(
        client.post(SERVICE, json=hook_request(order, patient=patient_id, fhir_server=fhir_base))
    )
    prefetch = {"tumorResults": searchset(variant), "conditions": searchset(diagnosis)}
    from_prefetch = _cards(
        client.post(SERVICE, json=hook_request(order, patient=patient_id, prefetch=prefetch))
    )

    (card,) = from_fhir
    assert card["summary"] == from_prefetch[0]["summary"]
    assert "KRAS G12D" in card["summary"]
    assert "If for" not in card["summary"]
