"""Hook calls end to end: data from prefetch or FHIR, 412 when neither, cards that act on the order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from fhir.resources.R4B.medicationrequest import MedicationRequest
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from knowledge import KnowledgeBase
from tests.builders import (
    genotype_observation,
    hook_request,
    medication_request,
    pgx_prefetch,
    searchset,
)

FHIR = "https://ehr.example/fhir"
SEARCH = f"{FHIR}/Observation"


def _cards(client: FlaskClient, body: dict[str, Any], service: str = "pgx-order-sign") -> Any:
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def test_poor_metabolizer_selecting_clopidogrel_gets_a_warning_that_swaps(
    client: FlaskClient,
) -> None:
    body = hook_request(
        medication_request(id="rx-7"),
        hook="order-select",
        selections=["MedicationRequest/rx-7"],
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")),
    )

    (card,) = _cards(client, body, "pgx-order-select")

    assert card["indicator"] == "warning"
    assert "Clopidogrel" in card["summary"]
    assert "Poor Metabolizer" in card["summary"]
    swaps = {
        action["resource"]["medicationCodeableConcept"]["coding"][0]["code"]
        for suggestion in card["suggestions"]
        for action in suggestion["actions"]
        if action["type"] == "create"
    }
    assert swaps == {"613391", "1116632"}  # prasugrel, ticagrelor
    assert card["selectionBehavior"] == "at-most-one"


def test_each_swap_deletes_the_draft_it_replaces_and_creates_a_valid_order(
    client: FlaskClient,
) -> None:
    body = hook_request(
        medication_request(id="rx-7", patient="pt-9"),
        patient="pt-9",
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2", patient="pt-9")),
    )

    (card,) = _cards(client, body)

    for suggestion in card["suggestions"]:
        delete, create = suggestion["actions"]
        assert delete == {
            "type": "delete",
            "description": "Remove the draft order for clopidogrel",
            "resourceId": "MedicationRequest/rx-7",
        }
        order = MedicationRequest.model_validate(create["resource"])
        assert (order.status, order.intent) == ("draft", "order")
        assert order.subject.reference == "Patient/pt-9"


@pytest.mark.parametrize("diplotype", ["*1/*1", "*1/*17", "*17/*17", "*38/*38", "*1/*38"])
def test_no_card_when_clopidogrel_works_as_usual(client: FlaskClient, diplotype: str) -> None:
    body = hook_request(
        medication_request(), prefetch=pgx_prefetch(genotype_observation("CYP2C19", diplotype))
    )

    assert _cards(client, body) == []


@pytest.mark.parametrize("nothing_on_file", [None, searchset()], ids=["null", "empty-bundle"])
def test_prefetch_saying_nothing_on_file_gives_no_card_and_no_fetch(
    client: FlaskClient, nothing_on_file: Any
) -> None:
    body = hook_request(medication_request(), prefetch={"pgxResults": nothing_on_file})

    with responses.RequestsMock():  # any FHIR call would fail the test
        assert _cards(client, body) == []


def test_no_prefetch_and_no_fhir_server_is_a_412(client: FlaskClient) -> None:
    response = client.post("/cds-services/pgx-order-sign", json=hook_request(medication_request()))

    assert response.status_code == 412
    assert response.get_json()["expression"] == "prefetch.pgxResults"


def test_orders_no_guideline_covers_need_no_genomic_data(client: FlaskClient) -> None:
    body = hook_request(medication_request({"text": "Morphine sulfate 15 MG Oral Tablet"}))

    assert _cards(client, body) == []


@responses.activate
def test_results_are_fetched_from_fhir_with_the_bearer_token_when_not_prefetched(
    client: FlaskClient,
) -> None:
    responses.get(SEARCH, json=searchset(genotype_observation("CYP2C19", "*2/*2")))
    body = hook_request(medication_request(), fhir_server=FHIR, token="secret-token-1")

    (card,) = _cards(client, body)

    assert card["indicator"] == "warning"
    (call,) = responses.calls
    assert call.request.headers["Authorization"] == "Bearer secret-token-1"
    assert "patient=p1" in str(call.request.url)
    assert "code=http://loinc.org|84413-4" in requests.utils.unquote(str(call.request.url))


@responses.activate
def test_the_live_search_asks_for_what_the_prefetch_template_asks(client: FlaskClient) -> None:
    responses.get(SEARCH, json=searchset())
    template = client.get("/cds-services").get_json()["services"][0]["prefetch"]["pgxResults"]

    _cards(client, hook_request(medication_request(), fhir_server=FHIR))

    (call,) = responses.calls
    fetched = requests.utils.unquote(str(call.request.url)).removeprefix(f"{FHIR}/")
    assert fetched == template.replace("{{context.patientId}}", "p1")


@responses.activate
def test_an_operation_outcome_in_prefetch_means_fetch_it_ourselves(client: FlaskClient) -> None:
    responses.get(SEARCH, json=searchset(genotype_observation("CYP2C19", "*2/*2")))
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    body = hook_request(
        medication_request(), prefetch={"pgxResults": failed}, fhir_server=FHIR, token="t"
    )

    assert len(_cards(client, body)) == 1
    assert len(responses.calls) == 1


FAILURES = pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectTimeout("slow"),
        requests.ConnectionError("refused"),
        {"status": 503},
        {"status": 500},
        {"status": 401},
        {"status": 404},
        {"status": 429},
        {"body": "<html>gateway</html>"},
        {"json": {"resourceType": "Patient", "id": "p1"}},
    ],
    ids=["timeout", "refused", "503", "500", "401", "404", "429", "garbage", "not-a-bundle"],
)


def _failing_search(failure: Any) -> None:
    if isinstance(failure, Exception):
        responses.get(SEARCH, body=failure)
    else:
        responses.get(SEARCH, **failure)


@FAILURES
@responses.activate
def test_fhir_server_failing_without_prefetch_is_an_info_card_never_a_500(
    client: FlaskClient, failure: Any
) -> None:
    # The default outcome (fhir_failure_outcome="info-card"); tests/cds_hooks/test_faults.py
    # covers the others against a real misbehaving server.
    _failing_search(failure)
    body = hook_request(medication_request(), fhir_server=FHIR, token="secret-token-2")

    response = client.post("/cds-services/pgx-order-sign", json=body)

    (card,) = response.get_json()["cards"]
    assert (response.status_code, card["indicator"]) == (200, "info")
    assert card["summary"].startswith("PGx check could not run")
    assert "secret-token-2" not in response.get_data(as_text=True)


@FAILURES
@responses.activate
def test_fhir_server_failing_without_prefetch_is_a_412_when_so_set(
    tmp_path: Path, kb: KnowledgeBase, failure: Any
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", fhir_failure_outcome="412")
    client = create_app(settings, kb).test_client()
    _failing_search(failure)
    body = hook_request(medication_request(), fhir_server=FHIR, token="secret-token-2")

    response = client.post("/cds-services/pgx-order-sign", json=body)

    assert response.status_code == 412
    assert "could not be read from fhirServer" in response.get_json()["error"]
    assert "secret-token-2" not in response.get_data(as_text=True)
    client.application.extensions["pgx_cds"].feedback.close()


@responses.activate
def test_a_live_search_follows_its_pages_to_the_result(client: FlaskClient) -> None:
    second = f"{FHIR}/Observation?_getpages=abc&_offset=1"
    responses.get(SEARCH, json=searchset(next_url=second))
    responses.get(second, json=searchset(genotype_observation("CYP2C19", "*2/*2")))

    (card,) = _cards(client, hook_request(medication_request(), fhir_server=FHIR))

    assert card["indicator"] == "warning"
    assert len(responses.calls) == 2


@responses.activate
def test_paginated_prefetch_is_completed_from_the_fhir_server(client: FlaskClient) -> None:
    responses.get(f"{FHIR}/Observation", json=searchset(genotype_observation("CYP2C19", "*2/*2")))
    first_page = searchset(next_url=f"{FHIR}/Observation?page=2")
    body = hook_request(
        medication_request(), prefetch={"pgxResults": first_page}, fhir_server=FHIR, token="t"
    )

    assert len(_cards(client, body)) == 1


def test_every_draft_order_gets_its_own_card_targeting_it(client: FlaskClient) -> None:
    body = hook_request(
        medication_request(id="rx-a"),
        medication_request({"text": "Atorvastatin 40 MG Oral Tablet"}, id="rx-b"),
        medication_request({"text": "Clopidogrel 75 MG Oral Tablet"}, id="rx-c"),
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*1/*2")),
    )

    cards = _cards(client, body)

    targets = [
        {a["resourceId"] for s in card["suggestions"] for a in s["actions"] if "resourceId" in a}
        for card in cards
    ]
    assert targets == [{"MedicationRequest/rx-a"}, {"MedicationRequest/rx-c"}]
    assert len({card["uuid"] for card in cards}) == 2


def test_order_select_only_evaluates_the_selected_orders(client: FlaskClient) -> None:
    body = hook_request(
        medication_request(id="rx-a"),
        medication_request(id="rx-b"),
        hook="order-select",
        selections=["MedicationRequest/rx-b"],
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")),
    )

    (card,) = _cards(client, body, "pgx-order-select")

    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/rx-b"


def test_legacy_medication_prescribe_hook_reads_medications(client: FlaskClient) -> None:
    body = hook_request(
        medication_request(),
        hook="medication-prescribe",
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")),
    )

    assert len(_cards(client, body, "pgx-medication-prescribe")) == 1


def test_a_draft_without_id_still_informs_but_suggests_nothing(client: FlaskClient) -> None:
    body = hook_request(
        medication_request(id=None), prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2"))
    )

    (card,) = _cards(client, body)

    assert "suggestions" not in card
    assert "selectionBehavior" not in card


def test_a_diplotype_missing_from_the_cpic_table_is_said_never_guessed(
    client: FlaskClient,
) -> None:
    body = hook_request(
        medication_request(),
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*999", id="geno-x")),
    )

    (card,) = _cards(client, body)

    assert card["indicator"] == "info"
    assert card["summary"] == (
        "Clopidogrel: CYP2C19 *2/*999 could not be interpreted; CPIC advice not applied"
    )
    assert "CYP2C19 *2/*999 is not in the CPIC tables (Observation/geno-x)" in (card["detail"])
    assert "Metabolizer" not in card["detail"]
    assert "suggestions" not in card


def test_an_order_naming_its_drug_by_medication_reference_gets_its_card(
    client: FlaskClient,
) -> None:
    order = medication_request(id="rx-epic")
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/x1", "display": "CLOPIDOGREL 75 MG"}
    body = hook_request(order, prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")))

    (card,) = _cards(client, body)

    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/rx-epic"


@pytest.mark.parametrize(
    "mangle",
    [
        {"dosageInstruction": 75},
        {"dosageInstruction": [None, "x", {"doseAndRate": 3}]},
        {"dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": "75"}}]}]},
        {"medicationCodeableConcept": {"coding": 32968, "text": "clopidogrel"}},
        {"subject": "Patient/p1", "intent": 7},
        {"id": 12},
        {"contained": "x", "medicationReference": {"reference": "#m"}},
    ],
    ids=[
        "dosage-int",
        "dosage-junk",
        "dose-text",
        "coding-int",
        "junk-fields",
        "id-int",
        "contained",
    ],
)
def test_a_mangled_draft_order_never_makes_a_500(
    client: FlaskClient, mangle: dict[str, Any]
) -> None:
    order = {**medication_request(id="rx-1"), **mangle}
    body = hook_request(order, prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")))

    response = client.post("/cds-services/pgx-order-sign", json=body)

    assert response.status_code == 200


@responses.activate
def test_a_prefetch_next_link_to_another_host_never_gets_the_token(client: FlaskClient) -> None:
    foreign = "https://attacker.example/fhir/Observation?page=2"
    responses.get(foreign, json=searchset())
    first_page = searchset(genotype_observation("CYP2C19", "*2/*2"), next_url=foreign)
    body = hook_request(
        medication_request(), prefetch={"pgxResults": first_page}, fhir_server=FHIR, token="t"
    )

    assert len(_cards(client, body)) == 1  # the page in hand is still used
    assert len(responses.calls) == 0


def test_order_select_with_nothing_selected_checks_nothing(client: FlaskClient) -> None:
    body = hook_request(
        medication_request(id="rx-a"),
        hook="order-select",
        selections=[],
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")),
    )

    assert _cards(client, body, "pgx-order-select") == []


def test_a_warfarin_order_reads_vkorc1_as_labs_write_it(client: FlaskClient) -> None:
    warfarin = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "11289"}]
    }
    prefetch = pgx_prefetch(
        genotype_observation("CYP2C9", "*1/*3", id="geno-2c9"),
        # As the eMERGE lab reports write it: rsID and nucleotides, not PharmCAT's allele names.
        genotype_observation("VKORC1", "", id="geno-vk", value_text="VKORC1 rs9923231 C/T"),
    )
    body = hook_request(medication_request(warfarin, dose_mg=5), prefetch=prefetch)

    (card,) = _cards(client, body)

    assert card["summary"] == (
        "Warfarin: CYP2C9 Intermediate Metabolizer, VKORC1 -1639 AG. "
        "CPIC advises a genotype-based dose calculation (strong)"
    )
    assert card["indicator"] == "info"
    assert "| Patient group | CPIC recommendation | Strength |" in card["detail"]
