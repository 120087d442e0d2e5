"""The scenarios of issue #6, each a hook call with the card it must give.

Pre-test alerts, phenoconversion by a co-medication, patient factors (age), the IWPC warfarin dose,
no repeated alerts, and the patient-view summary.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import responses
from fhir.resources.R4B.servicerequest import ServiceRequest
from flask.testing import FlaskClient

from tests.builders import RXNORM, genotype_observation, hook_request, searchset

HGNC = {"CYP2D6": "HGNC:2625", "VKORC1": "HGNC:23663", "HLA-B": "HGNC:4932", "CYP2C9": "HGNC:2623"}


def _genotype(gene: str, text: str) -> dict[str, Any]:
    observation = genotype_observation(gene, "", id=f"geno-{gene.lower()}", value_text=text)
    observation["component"][0]["valueCodeableConcept"]["coding"][0]["code"] = HGNC[gene]
    return observation


def _order(drug: str, rxnorm: str, *, id: str = "rx-1") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": id,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxnorm, "display": drug}],
            "text": drug,
        },
        "subject": {"reference": "Patient/p1"},
    }


def _patient(birth_date: str, race: str | None = None) -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "birthDate": birth_date}
    if race is not None:
        patient["extension"] = [
            {
                "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": race},
                    }
                ],
            }
        ]
    return patient


def _vital(id: str, code: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _prefetch(*genotypes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    prefetch: dict[str, Any] = {
        "pgxResults": searchset(*genotypes),
        "patient": _patient("1980-01-01"),
        "pgxFactors": searchset(),
        "activeMedicationRequests": searchset(),
        "activeMedicationStatements": searchset(),
    }
    prefetch.update(extra)
    return prefetch


def _cards(client: FlaskClient, body: dict[str, Any], service: str = "pgx-order-sign") -> Any:
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


FHIR = "https://ehr.example/fhir"
ABACAVIR = ("abacavir", "190521")
CODEINE = ("codeine", "2670")
WARFARIN = ("warfarin", "11289")


def test_abacavir_with_no_hla_b_result_asks_for_the_test_with_a_service_request(
    client: FlaskClient,
) -> None:
    body = hook_request(_order(*ABACAVIR), prefetch=_prefetch())

    (card,) = _cards(client, body)

    assert card["summary"].startswith("Abacavir: no HLA-B*57:01 result")
    assert card["indicator"] == "warning"  # "testing required", the bundled site default
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "create"
    request = ServiceRequest.model_validate(action["resource"])
    assert request.status == "draft"
    assert request.subject.reference == "Patient/p1"
    assert "HLA-B*57:01" in (request.code.text or "")


def test_abacavir_with_an_hla_b_result_gets_no_pretest_card(client: FlaskClient) -> None:
    hla = _genotype("HLA-B", "HLA-B*07:02/*08:01")
    body = hook_request(_order(*ABACAVIR), prefetch=_prefetch(hla))

    cards = _cards(client, body)

    assert not [c for c in cards if "result on file" in c["summary"]]


def test_codeine_for_a_normal_metabolizer_on_paroxetine_is_a_poor_metabolizer_card(
    client: FlaskClient,
) -> None:
    paroxetine = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "32937", "display": "paroxetine"}]
        },
        "subject": {"reference": "Patient/p1"},
    }
    body = hook_request(
        _order(*CODEINE),
        prefetch=_prefetch(
            _genotype("CYP2D6", "CYP2D6 *1/*1"), activeMedicationStatements=searchset(paroxetine)
        ),
    )

    (card,) = _cards(client, body)

    assert "Poor Metabolizer" in card["summary"]
    assert card["indicator"] == "warning"
    assert "adjusted for paroxetine (strong inhibitor)" in card["detail"]
    assert "Normal Metabolizer, activity score 2.0" in card["detail"]
    assert "Avoid codeine" in card["detail"]


def test_without_the_inhibitor_the_same_patient_gets_no_codeine_card(client: FlaskClient) -> None:
    body = hook_request(_order(*CODEINE), prefetch=_prefetch(_genotype("CYP2D6", "CYP2D6 *1/*1")))

    assert _cards(client, body) == []


def test_codeine_ordered_with_paroxetine_in_the_same_sign_counts_the_draft(
    client: FlaskClient,
) -> None:
    body = hook_request(
        _order(*CODEINE),
        _order("paroxetine", "32937", id="rx-2"),
        prefetch=_prefetch(_genotype("CYP2D6", "CYP2D6 *1/*1")),
    )

    cards = _cards(client, body)

    (codeine,) = [c for c in cards if c["summary"].startswith("Codeine")]
    assert "MedicationRequest/rx-2" not in codeine["detail"]  # the source is not shown, the drug is
    assert "paroxetine (strong inhibitor)" in codeine["detail"]


def test_codeine_for_a_nine_year_old_is_contraindicated(client: FlaskClient) -> None:
    body = hook_request(
        _order(*CODEINE),
        prefetch=_prefetch(_genotype("CYP2D6", "CYP2D6 *1/*1"), patient=_patient("2017-03-01")),
    )

    (card,) = _cards(client, body)

    assert card["indicator"] == "critical"
    assert "Contraindicated in children younger than 12 years" in card["detail"]
    assert card["source"]["label"] == "FDA guideline"


def test_an_age_rule_raises_no_card_when_the_age_cannot_be_read(client: FlaskClient) -> None:
    prefetch = _prefetch(_genotype("CYP2D6", "CYP2D6 *1/*1"))
    del prefetch["patient"]
    body = hook_request(_order(*CODEINE), prefetch=prefetch)  # no fhirServer to fetch from

    # Nothing is guessed: a rule on age alone raises no card when the age is unknown.
    assert _cards(client, body) == []


@responses.activate
def test_the_patient_is_fetched_with_the_token_when_not_prefetched(client: FlaskClient) -> None:
    responses.get(f"{FHIR}/Patient", json=searchset(_patient("2017-03-01")))
    prefetch = _prefetch(_genotype("CYP2D6", "CYP2D6 *1/*1"))
    del prefetch["patient"]
    body = hook_request(_order(*CODEINE), prefetch=prefetch, fhir_server=FHIR, token="tok-1")

    (card,) = _cards(client, body)

    assert card["indicator"] == "critical"
    (call,) = responses.calls
    assert call.request.url == f"{FHIR}/Patient?_id=p1"
    assert call.request.headers["Authorization"] == "Bearer tok-1"


@responses.activate
def test_a_failing_fhir_server_leaves_the_factor_missing_and_says_so(client: FlaskClient) -> None:
    responses.get(f"{FHIR}/Patient", status=500)
    prefetch = _prefetch(
        _genotype("CYP2C9", "CYP2C9 *1/*3"), _genotype("VKORC1", "VKORC1 rs9923231 C/T")
    )
    del prefetch["patient"]
    body = hook_request(_order(*WARFARIN), prefetch=prefetch, fhir_server=FHIR, token="tok-1")

    (card,) = _cards(client, body)

    assert "*Not available*: patient details could not be read from fhirServer" in card["detail"]
    assert "no dose calculated" in card["detail"]


# The IWPC coefficients as knowledge/dose_algorithms/iwpc-warfarin.yaml records them (Klein et al.,
# NEJM 2009), written out here so the card's figure is checked by arithmetic done independently.
def _iwpc_root(*, decades: int, height: float, weight: float) -> float:
    return (
        5.6044
        - 0.2614 * decades
        + 0.0087 * height
        + 0.0128 * weight
        - 0.8677  # VKORC1 A/G
        - 0.9357  # CYP2C9 *1/*3
        - 0.0  # white (reference category), no enzyme inducer, no amiodarone
    )


def test_warfarin_with_cyp2c9_1_3_and_vkorc1_ag_gives_the_iwpc_dose(client: FlaskClient) -> None:
    prefetch = _prefetch(
        _genotype("CYP2C9", "CYP2C9 *1/*3"),
        _genotype("VKORC1", "VKORC1 rs9923231 C/T"),
        patient=_patient("1960-06-15", race="2106-3"),
        pgxFactors=searchset(_vital("ht", "8302-2", 170, "cm"), _vital("wt", "29463-7", 75, "kg")),
    )
    body = hook_request(_order(*WARFARIN), prefetch=prefetch)

    (card,) = _cards(client, body)

    # Born 1960-06-15: 66 years old today (2026), 6 whole decades.
    expected = _iwpc_root(decades=6, height=170, weight=75) ** 2
    assert f"{expected:.1f} mg/week" in card["detail"], card["detail"]
    for shown in ("CYP2C9 *1/*3", "170 cm", "75 kg", "amiodarone no"):
        assert shown in card["detail"]
    # Ancestry and age on file: the African-ancestry and children's rows are not shown.
    assert "| adults, non-African ancestry |" in card["detail"]
    assert "| adults, African ancestry" not in card["detail"]
    assert "| children" not in card["detail"]
    assert "66 years (6 decades)" in card["detail"]


def test_warfarin_names_the_inputs_that_are_missing(client: FlaskClient) -> None:
    prefetch = _prefetch(
        _genotype("CYP2C9", "CYP2C9 *1/*3"), _genotype("VKORC1", "VKORC1 rs9923231 C/T")
    )
    body = hook_request(_order(*WARFARIN), prefetch=prefetch)

    (card,) = _cards(client, body)

    assert "no dose calculated; not on file: weight, height" in card["detail"]
    assert "self-reported race/ancestry" in card["detail"]


@pytest.fixture
def clopidogrel_pm() -> dict[str, Any]:
    return _prefetch(genotype_observation("CYP2C19", "*2/*2", id="geno-c19"))


def test_guidance_shown_at_order_select_is_not_repeated_at_order_sign(
    client: FlaskClient, clopidogrel_pm: dict[str, Any]
) -> None:
    order = _order("clopidogrel", "32968")
    selected = _cards(
        client,
        hook_request(
            order,
            hook="order-select",
            prefetch=clopidogrel_pm,
            selections=["MedicationRequest/rx-1"],
        ),
        "pgx-order-select",
    )
    signed = _cards(client, hook_request(order, prefetch=clopidogrel_pm))

    assert len(selected) == 1
    assert signed == []


def test_order_sign_repeats_the_card_when_something_changed(
    client: FlaskClient, clopidogrel_pm: dict[str, Any]
) -> None:
    order = _order("clopidogrel", "32968")
    _cards(
        client,
        hook_request(order, hook="order-select", prefetch=clopidogrel_pm),
        "pgx-order-select",
    )
    changed = _prefetch(genotype_observation("CYP2C19", "*1/*2", id="geno-c19"))

    (card,) = _cards(client, hook_request(order, prefetch=changed))

    assert "Intermediate Metabolizer" in card["summary"]


def test_an_overridden_card_stays_quiet_for_the_same_patient_and_drug(
    client: FlaskClient, clopidogrel_pm: dict[str, Any]
) -> None:
    (card,) = _cards(client, hook_request(_order("clopidogrel", "32968"), prefetch=clopidogrel_pm))
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-21T10:00:00Z",
            }
        ]
    }
    assert client.post("/cds-services/pgx-order-sign/feedback", json=feedback).status_code == 200

    # A new draft of the same drug for the same patient, later: the card is not repeated...
    again = hook_request(_order("clopidogrel", "32968", id="rx-9"), prefetch=clopidogrel_pm)
    assert _cards(client, again) == []
    # ...but another patient still gets it.
    other = hook_request(_order("clopidogrel", "32968"), patient="p2", prefetch=clopidogrel_pm)
    assert len(_cards(client, other)) == 1


def test_patient_view_summarizes_actionable_results_with_the_report_link(
    client: FlaskClient,
) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "pgx-report",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "51969-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-10-02",
        "presentedForm": [
            {"contentType": "text/html", "url": "https://reports.example/pgx/p1.html"}
        ],
    }
    body = hook_request(hook="patient-view")
    del body["context"]["draftOrders"]
    body["prefetch"] = {
        "pgxResults": searchset(genotype_observation("CYP2C19", "*2/*2", id="geno-c19")),
        "pgxReports": searchset(report),
    }

    (card,) = _cards(client, body, "pgx-patient-view")

    assert card["indicator"] == "info"
    assert "CYP2C19" in card["summary"]
    assert len(card["summary"]) < 140
    assert "clopidogrel" in card["detail"]
    assert [link["url"] for link in card["links"]] == ["https://reports.example/pgx/p1.html"]


def test_iwpc_expected_value_agrees_with_the_label_table() -> None:
    # Guards the hand arithmetic above against a typo: the warfarin (Coumadin) label's genotype
    # table gives 3-4 mg/day (21-28 mg/week) for VKORC1 GA with CYP2C9 *1/*3.
    weekly = _iwpc_root(decades=6, height=170, weight=75) ** 2
    assert not math.isnan(weekly)
    assert 21 <= weekly <= 28
