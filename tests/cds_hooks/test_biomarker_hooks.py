"""Targeted drugs at order time: hook calls with tumour results, and the card each gives (#8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from knowledge import KnowledgeBase
from tests.builders import condition, hook_request, medication_request, searchset
from tests.tumour_builders import variant_observation

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
OSIMERTINIB = {"text": "Tagrisso 80 mg oral tablet"}
CETUXIMAB = {"coding": [{"system": RXNORM, "code": "318341", "display": "cetuximab"}]}
KRAS_G12D = variant_observation("KRAS", protein="NP_004976.2:p.Gly12Asp")
FHIR = "https://ehr.example.org/fhir"


@pytest.fixture
def ig_egfr_l858r(shared: Path) -> dict[str, Any]:
    """The Genomics Reporting IG STU3 example: a somatic EGFR L858R variant Observation."""
    path = shared / "onco/fhir/examples/Observation-EGFR-L858R-var.json"
    return dict(json.loads(path.read_text()))


def call(client: FlaskClient, *orders: dict[str, Any], **prefetch: Any) -> Any:
    response = client.post(
        "/cds-services/pgx-order-sign", json=hook_request(*orders, prefetch=prefetch)
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def test_ig_egfr_l858r_and_osimertinib_give_no_warning(
    client: FlaskClient, ig_egfr_l858r: dict[str, Any]
) -> None:
    cards = call(client, medication_request(OSIMERTINIB), tumorResults=searchset(ig_egfr_l858r))
    assert cards == []


def test_osimertinib_without_an_egfr_result_asks_for_the_test(client: FlaskClient) -> None:
    (card,) = call(client, medication_request(OSIMERTINIB), tumorResults=searchset())
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Osimertinib: no EGFR mutation test result on file")
    assert len(card["summary"]) < 140
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "create"
    request = action["resource"]
    assert request["resourceType"] == "ServiceRequest"
    assert request["status"] == "draft"
    assert request["subject"] == {"reference": "Patient/p1"}
    assert request["code"] == {"text": "EGFR mutation test"}
    assert "tagrisso" in card["source"]["label"].lower()
    assert card["source"]["url"].startswith("https://www.accessdata.fda.gov/")


def test_cetuximab_with_somatic_kras_g12d_warns(client: FlaskClient) -> None:
    (card,) = call(client, medication_request(CETUXIMAB), tumorResults=searchset(KRAS_G12D))
    assert card["indicator"] == "warning"
    assert "KRAS G12D" in card["summary"]
    # The tumour type is not known: the card says which tumour the warning is about.
    assert "If for colorectal cancer" in card["summary"]
    assert "not known to the service" in card["detail"]


def test_a_rectal_cancer_diagnosis_makes_the_warning_unconditional(client: FlaskClient) -> None:
    (card,) = call(
        client,
        medication_request(CETUXIMAB),
        tumorResults=searchset(KRAS_G12D),
        conditions=searchset(condition("C20")),
    )
    assert "If for" not in card["summary"]
    assert "Tumour type on file: colorectal cancer (CRC)." in card["detail"]


def test_germline_kras_is_not_a_tumour_result(client: FlaskClient) -> None:
    germline = variant_observation("KRAS", protein="p.Gly12Asp", origin="germline")
    assert call(client, medication_request(CETUXIMAB), tumorResults=searchset(germline)) == []


def test_a_diagnosis_outside_the_labelled_tumours_raises_nothing(client: FlaskClient) -> None:
    cards = call(
        client,
        medication_request(OSIMERTINIB),
        tumorResults=searchset(),
        conditions=searchset(condition("C50.911")),
    )
    assert cards == []


def test_the_orders_reason_decides_before_the_problem_list(client: FlaskClient) -> None:
    order = medication_request(OSIMERTINIB)
    order["reasonCode"] = [
        {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C34.90"}]}
    ]
    absent = variant_observation("EGFR", protein="p.Leu858Arg", present=False)
    (card,) = call(
        client, order, tumorResults=searchset(absent), conditions=searchset(condition("C50.9"))
    )
    assert card["indicator"] == "warning"
    assert "Not indicated by FDA label" in card["summary"]
    assert card["suggestions"] == []


def test_tumour_results_neither_prefetched_nor_fetchable_is_412(client: FlaskClient) -> None:
    response = client.post(
        "/cds-services/pgx-order-sign",
        json=hook_request(medication_request(OSIMERTINIB), prefetch={}),
    )
    assert response.status_code == 412
    assert response.get_json()["expression"] == "prefetch.tumorResults"


def test_a_drug_no_rule_covers_needs_no_tumour_results(client: FlaskClient) -> None:
    aspirin = medication_request({"text": "aspirin 81 mg"})
    response = client.post("/cds-services/pgx-order-sign", json=hook_request(aspirin, prefetch={}))
    assert response.status_code == 200
    assert response.get_json()["cards"] == []


@responses.activate
def test_tumour_results_are_fetched_when_not_prefetched(client: FlaskClient) -> None:
    responses.get(f"{FHIR}/Observation", json=searchset(KRAS_G12D))
    responses.get(f"{FHIR}/Condition", json=searchset(condition("C18.7")))
    body = hook_request(medication_request(CETUXIMAB), fhir_server=FHIR, token="t0k3n")
    response = client.post("/cds-services/pgx-order-sign", json=body)
    (card,) = response.get_json()["cards"]
    assert "KRAS G12D" in card["summary"]
    searched = [c.request.url for c in responses.calls]
    assert any("69548-6" in url and "94076-7" in url for url in searched)
    assert any("/Condition?" in url for url in searched)


@responses.activate
def test_fhir_server_down_for_tumour_results_answers_with_the_info_card(
    client: FlaskClient,
) -> None:
    responses.get(f"{FHIR}/Observation", status=503)
    responses.get(f"{FHIR}/Condition", status=503)
    body = hook_request(medication_request(OSIMERTINIB), fhir_server=FHIR, token="t0k3n")
    response = client.post("/cds-services/pgx-order-sign", json=body)
    assert response.status_code == 200
    (card,) = response.get_json()["cards"]
    assert card["indicator"] == "info"
    assert "could not run" in card["summary"]


def test_pgx_and_targeted_orders_in_one_call_each_get_their_card(client: FlaskClient) -> None:
    from tests.builders import genotype_observation

    clopidogrel = medication_request(id="rx-1")
    osimertinib = medication_request(OSIMERTINIB, id="rx-2")
    cards = call(
        client,
        clopidogrel,
        osimertinib,
        pgxResults=searchset(genotype_observation("CYP2C19", "*2/*2")),
        tumorResults=searchset(),
    )
    summaries = sorted(c["summary"].split(":")[0] for c in cards)
    assert summaries == ["Clopidogrel", "Osimertinib"]


@pytest.fixture
def site_app(tmp_path: Path, kb: KnowledgeBase) -> Flask:
    site = tmp_path / "site.yaml"
    site.write_text(
        "oncology:\n"
        "  levels:\n"
        "    documented: info\n"
        "  orderables:\n"
        "    EGFR:\n"
        "      coding:\n"
        "        - {system: 'http://lab.example.org/codes', code: EGFR-NGS}\n"
        "      text: EGFR NGS panel\n"
        "  biomarker_codes:\n"
        "    pd-l1: ['http://lab.example.org/codes|PDL1-SP263']\n"
    )
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", site_config=site)
    return create_app(settings, kb)


def test_a_site_may_show_documented_biomarkers_as_info(
    site_app: Flask, ig_egfr_l858r: dict[str, Any]
) -> None:
    (card,) = call(
        site_app.test_client(),
        medication_request(OSIMERTINIB),
        tumorResults=searchset(ig_egfr_l858r),
    )
    assert card["indicator"] == "info"
    assert "EGFR L858R on file" in card["summary"]


def test_the_site_orderable_goes_into_the_service_request(site_app: Flask) -> None:
    (card,) = call(
        site_app.test_client(), medication_request(OSIMERTINIB), tumorResults=searchset()
    )
    request = card["suggestions"][0]["actions"][0]["resource"]
    assert request["code"]["coding"][0]["code"] == "EGFR-NGS"


def test_discovery_announces_the_tumour_search_with_the_site_codes(site_app: Flask) -> None:
    services = site_app.test_client().get("/cds-services").get_json()["services"]
    sign = next(s for s in services if s["id"] == "pgx-order-sign")
    assert "PDL1-SP263" in sign["prefetch"]["tumorResults"]
    assert sign["prefetch"]["conditions"].startswith("Condition?patient={{context.patientId}}")


def test_off_in_the_site_file_silences_one_drug(tmp_path: Path, kb: KnowledgeBase) -> None:
    site = tmp_path / "site.yaml"
    # Unquoted: YAML 1.1 reads it as false, the site meant the word.
    site.write_text("oncology:\n  drugs:\n    osimertinib: off\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", site_config=site)
    app = create_app(settings, kb)
    assert call(app.test_client(), medication_request(OSIMERTINIB), tumorResults=searchset()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "oncology:\n  drugs:\n    osimertinb: off\n",
            "site.yaml:3:5: oncology.drugs.osimertinb: 'osimertinb' is not a targeted drug of "
            "knowledge/oncology/drugs/. Use a drug name from knowledge/oncology/drugs/ "
            "(did you mean 'osimertinib'?), or remove the entry.",
        ),
        (
            "oncology:\n  orderables:\n    EGFR mutation tests:\n      text: EGFR\n",
            "site.yaml:3:5: oncology.orderables.EGFR mutation tests: 'EGFR mutation tests' is not "
            "a test of knowledge/oncology/drugs/. Use a test name from knowledge/oncology/drugs/ "
            "(did you mean 'EGFR mutation test'?), or remove the entry.",
        ),
        (
            "oncology:\n  levels:\n    resistance: loud\n",
            "site.yaml:3:17: oncology.levels.resistance: 'loud' is not one of info, warning, "
            "critical, off. Use one of those words.",
        ),
        (
            "oncology:\n  biomarker_codes:\n    tmb: ['94076-7']\n",
            "site.yaml:3:11: oncology.biomarker_codes.tmb[0]: String should match pattern",
        ),
    ],
    ids=["misspelt drug", "misspelt test", "unknown level", "code without its system"],
)
def test_a_bad_oncology_setting_stops_start_up_with_its_place(
    tmp_path: Path, kb: KnowledgeBase, text: str, message: str
) -> None:
    from cds_hooks.site_config import SiteConfigError

    site = tmp_path / "site.yaml"
    site.write_text(text)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", site_config=site)
    with pytest.raises(SiteConfigError) as raised:
        create_app(settings, kb)
    shown = [str(e).removeprefix(f"{tmp_path}/") for e in raised.value.errors]
    assert any(line.startswith(message) for line in shown), shown


def test_a_tumour_search_that_never_ends_degrades_instead_of_a_500(
    tmp_path: Path, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import Future

    from cds_hooks import hooks

    # A bug past the client's hard bound: the search's future never completes.
    monkeypatch.setattr(hooks, "run_beside", lambda *args: Future())
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", hook_budget=0.05)
    app = create_app(settings, kb)
    body = hook_request(medication_request(OSIMERTINIB), fhir_server=FHIR, token="t0k3n")
    response = app.test_client().post("/cds-services/pgx-order-sign", json=body)
    assert response.status_code == 200
    (card,) = response.get_json()["cards"]
    assert card["indicator"] == "info"
    assert "could not run" in card["summary"]
