"""Hooks that read the patient's results from a real FHIR server instead of prefetch."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.degraded_card import ORDER_SUMMARY
from knowledge import KnowledgeBase
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch
from tests.integration.fhir_loader import (
    for_patient,
    load_bundle,
    post_transaction,
    search,
    transaction_of,
)

pytestmark = pytest.mark.integration

SERVICE = "/cds-services/pgx-order-sign"
SHARED_EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "fhir-examples"


def _store(
    fhir: requests.Session, base: str, patient_id: str, *observations: dict[str, Any]
) -> None:
    post_transaction(fhir, base, for_patient(transaction_of(observations), patient_id))


def _card_keys(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.get_json()
    return sorted((c["indicator"], c["summary"]) for c in response.get_json()["cards"])


def _free_port() -> int:
    # Bound and released at once: nothing listens there when the hook calls it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("diplotype", "expected_indicators"),
    [("*2/*2", ["warning"]), ("*1/*1", [])],
    ids=["poor-metabolizer", "normal-metabolizer"],
)
def test_results_read_from_fhir_give_the_cards_prefetch_gives(
    client: FlaskClient,
    fhir: requests.Session,
    fhir_base: str,
    patient_id: str,
    diplotype: str,
    expected_indicators: list[str],
) -> None:
    observation = genotype_observation("CYP2C19", diplotype, patient=patient_id)
    _store(fhir, fhir_base, patient_id, observation)
    order = medication_request(patient=patient_id)

    from_fhir = client.post(
        SERVICE, json=hook_request(order, patient=patient_id, fhir_server=fhir_base)
    )
    from_prefetch = client.post(
        SERVICE, json=hook_request(order, patient=patient_id, prefetch=pgx_prefetch(observation))
    )

    cards = _card_keys(from_fhir)
    assert cards == _card_keys(from_prefetch)
    assert [indicator for indicator, _ in cards] == expected_indicators
    if expected_indicators:
        (summary,) = (s for _, s in cards)
        assert "Clopidogrel" in summary
        assert "Poor Metabolizer" in summary


def test_another_patients_results_on_the_server_are_not_used(
    client: FlaskClient, fhir: requests.Session, fhir_base: str, patient_id: str
) -> None:
    # The live search is by patient: a poor metabolizer elsewhere on the server gives no card
    # for a patient with no results at all (whose search comes back empty, not a 412).
    other = f"{patient_id}-other"
    _store(fhir, fhir_base, other, genotype_observation("CYP2C19", "*2/*2", patient=other))

    response = client.post(
        SERVICE,
        json=hook_request(
            medication_request(patient=patient_id), patient=patient_id, fhir_server=fhir_base
        ),
    )

    assert _card_keys(response) == []


def _degraded(response: Any) -> str:
    """The reason words of the one info card a hook answers when the FHIR server failed it."""
    assert response.status_code == 200, response.get_json()
    (card,) = response.get_json()["cards"]
    assert (card["indicator"], card["summary"]) == ("info", ORDER_SUMMARY)
    return str(card["detail"])


def test_a_fhir_server_nobody_listens_on_is_an_info_card_not_a_500(client: FlaskClient) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/fhir"

    response = client.post(SERVICE, json=hook_request(medication_request(), fhir_server=dead))

    assert "could not be reached" in _degraded(response)


def test_a_fhir_base_that_is_not_a_fhir_endpoint_is_an_info_card_not_a_500(
    client: FlaskClient, fhir_base: str
) -> None:
    # A live web server that answers the search with an error page (wrong base path).
    wrong = fhir_base.rsplit("/", 1)[0] + "/not-fhir"

    response = client.post(SERVICE, json=hook_request(medication_request(), fhir_server=wrong))

    _degraded(response)


def test_a_failing_fhir_server_is_a_412_when_so_set(tmp_path: Path, kb: KnowledgeBase) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/fhir"
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", fhir_failure_outcome="412"), kb
    )

    response = app.test_client().post(
        SERVICE, json=hook_request(medication_request(), fhir_server=dead)
    )
    app.extensions["pgx_cds"].feedback.close()

    assert response.status_code == 412, response.get_json()
    body = response.get_json()
    assert body["expression"] == "prefetch.pgxResults"
    assert "could not be read from fhirServer" in body["error"]


EMERGE = sorted(
    str(p.relative_to(SHARED_EXAMPLES))
    for p in SHARED_EXAMPLES.glob("emerge-fhir-spec/*/GenomicReportFHIRBundle*.json")
)
# RxNorm ingredients of drugs the eMERGE panel's genes (CYP2C19, CYP2C9 + VKORC1) speak to.
ORDERS = {"clopidogrel": "32968", "warfarin": "11289"}


@pytest.mark.parametrize("example", EMERGE)
def test_a_lab_bundle_on_the_server_gives_the_cards_its_prefetch_gives(
    client: FlaskClient,
    fhir: requests.Session,
    fhir_base: str,
    patient_id: str,
    example: str,
) -> None:
    load_bundle(fhir, fhir_base, SHARED_EXAMPLES / example, patient_id)
    template = client.get("/cds-services").get_json()["services"][0]["prefetch"]["pgxResults"]
    # What an EHR would prefetch: the discovery template run against the same server.
    stored = search(fhir, fhir_base, template.replace("{{context.patientId}}", patient_id))
    assert stored, "the bundle's PGx Observations are found by the prefetch query"

    for drug, rxnorm in ORDERS.items():
        concept = {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}]
        }
        order = medication_request(concept, patient=patient_id)
        from_fhir = client.post(
            SERVICE, json=hook_request(order, patient=patient_id, fhir_server=fhir_base)
        )
        from_prefetch = client.post(
            SERVICE,
            json=hook_request(order, patient=patient_id, prefetch=pgx_prefetch(*stored)),
        )
        cards = _card_keys(from_fhir)
        assert cards == _card_keys(from_prefetch), drug
        if drug == "warfarin":
            # Every eMERGE panel reports CYP2C9 and VKORC1: the flowchart always has a card.
            assert any(summary.startswith("Warfarin: CYP2C9 ") for _, summary in cards)


def test_every_shared_lab_bundle_is_exercised() -> None:
    assert len(EMERGE) == 10, EMERGE
