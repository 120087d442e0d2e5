"""Discovery: the document an EHR registers the services from."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


def test_discovery_lists_the_four_services(client: FlaskClient) -> None:
    services = client.get("/cds-services").get_json()["services"]

    assert {(s["id"], s["hook"]) for s in services} == {
        ("pgx-order-select", "order-select"),
        ("pgx-order-sign", "order-sign"),
        ("pgx-medication-prescribe", "medication-prescribe"),
        ("pgx-patient-view", "patient-view"),
    }


def test_order_services_prefetch_the_patient_factors_and_medications(client: FlaskClient) -> None:
    services = {s["id"]: s for s in client.get("/cds-services").get_json()["services"]}

    prefetch = services["pgx-order-sign"]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert "29463-7" in prefetch["pgxFactors"]  # body weight
    assert prefetch["activeMedicationRequests"].startswith(
        "MedicationRequest?patient={{context.patientId}}&status=active"
    )
    assert services["pgx-patient-view"]["prefetch"]["pgxReports"].startswith("DiagnosticReport?")


@pytest.mark.parametrize("field", ["title", "description", "usageRequirements", "prefetch"])
def test_every_service_carries(client: FlaskClient, field: str) -> None:
    services = client.get("/cds-services").get_json()["services"]

    assert all(service[field] for service in services)


def test_prefetch_asks_for_genotype_observations_of_the_patient(client: FlaskClient) -> None:
    service = client.get("/cds-services").get_json()["services"][0]

    template = service["prefetch"]["pgxResults"]
    assert template.startswith("Observation?patient={{context.patientId}}&code=")
    codes = template.partition("&code=")[2].partition("&")[0].split(",")
    # Genotype, haplotype, variant and therapeutic-implication Observations, every style.
    assert {
        "http://loinc.org|84413-4",
        "http://loinc.org|84414-2",
        "http://loinc.org|69548-6",
        "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs|therapeutic-implication",
        "http://loinc.org|53040-2",
    } <= set(codes)
