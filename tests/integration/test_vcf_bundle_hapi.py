"""A vcf2fhir Bundle on a real FHIR server: accepted, idempotent, and read back by our reader."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from fhir_adapters import read_genotypes
from fhir_adapters.queries import pgx_observation_query
from fhir_adapters.vcf.bundle import build_bundle
from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall, VariantGenotype
from knowledge import KnowledgeBase
from tests.integration.fhir_loader import post_transaction, search

pytestmark = pytest.mark.integration

ISSUED = "2025-01-31T09:00:00Z"
CALLS = SampleCalls(
    sample="NA12878",
    input_name="NA12878.pgx.vcf.gz",
    input_sha256="c" * 64,
    genes=(
        SampleGeneCall("CYP2C19", "HGNC:2621", "vcf", ("*1/*17",), ("Rapid Metabolizer",), ("",)),
        SampleGeneCall("CYP2C9", "HGNC:2623", "vcf", ("*1/*3",), ("Intermediate Metabolizer",)),
        SampleGeneCall(
            "CYP2D6", "HGNC:2625", "vcf", notes=("no combination of defined alleles matches",)
        ),
    ),
    variants=(VariantGenotype("rs12777823", "CYP2C9", "chr10", 94645745, "G", ("G", "A")),),
    definitions_version="3.1.0",
)


def statuses(response: dict[str, Any]) -> list[str]:
    return [entry["response"]["status"].split()[0] for entry in response["entry"]]


def test_posting_twice_creates_nothing_new_and_reads_back(
    fhir: requests.Session, fhir_base: str, patient_id: str, kb: KnowledgeBase
) -> None:
    bundle = build_bundle(CALLS, patient_id, issued=ISSUED)
    observations = f"Observation?subject=Patient/{patient_id}&_count=100"
    reports = f"DiagnosticReport?subject=Patient/{patient_id}"

    first = post_transaction(fhir, fhir_base, bundle)
    created = search(fhir, fhir_base, observations)
    second = post_transaction(fhir, fhir_base, bundle)

    assert statuses(first) == ["201"] * len(bundle["entry"])
    assert statuses(second) == ["200"] * len(bundle["entry"])
    assert len(created) == len(bundle["entry"]) - 1
    assert sorted(r["id"] for r in search(fhir, fhir_base, observations)) == sorted(
        r["id"] for r in created
    )
    [report] = search(fhir, fhir_base, reports)
    assert len(report["result"]) == len(created)

    # The service's own query, and its reader, on what the server now holds.
    found = search(fhir, fhir_base, pgx_observation_query(patient_id))
    readout = read_genotypes(found, kb.genes_by_hgnc, kb=kb)

    cyp2c19 = readout.results["CYP2C19"]
    assert (cyp2c19.diplotype, cyp2c19.reported_phenotype) == ("*1/*17", "Rapid Metabolizer")
    assert readout.results["rs12777823"].diplotype == "G/A"
    assert "CYP2D6" not in readout.results
    assert readout.conflicts == []


def test_vcf2fhir_post_drives_the_right_cards(
    client: Any, fhir: requests.Session, fhir_base: str, patient_id: str
) -> None:
    """PharmCAT's second example (CYP2C19 *2/*2) → ``vcf2fhir --post`` → clopidogrel card."""
    from pathlib import Path

    from click.testing import CliRunner

    from cds_hooks.cli import main
    from tests.builders import RXNORM, hook_request, medication_request

    vcf = (
        Path(__file__).resolve().parents[3]
        / "shared/pgx-data/truth/pharmcat_examples/pharmcat.example2.vcf"
    )
    result = CliRunner().invoke(
        main,
        ["vcf2fhir", str(vcf), "--patient-id", patient_id, "--post", fhir_base, "-o", "/dev/null"],
    )
    assert result.exit_code == 0, result.stderr
    assert " created, 0 already there" in result.stderr
    again = CliRunner().invoke(
        main,
        ["vcf2fhir", str(vcf), "--patient-id", patient_id, "--post", fhir_base, "-o", "/dev/null"],
    )
    assert "0 created" in again.stderr

    def cards(drug: str, rxnorm: str) -> list[tuple[str, str]]:
        concept = {"coding": [{"system": RXNORM, "code": rxnorm, "display": drug}], "text": drug}
        order = medication_request(concept, patient=patient_id)
        response = client.post(
            "/cds-services/pgx-order-sign",
            json=hook_request(order, patient=patient_id, fhir_server=fhir_base),
        )
        assert response.status_code == 200, response.get_json()
        return [(c["indicator"], c["summary"]) for c in response.get_json()["cards"]]

    [(indicator, summary)] = cards("clopidogrel", "32968")
    assert indicator == "warning"
    assert "Poor Metabolizer" in summary
    # CYP2C9 *1/*1 in this sample: nothing to say for celecoxib.
    assert cards("celecoxib", "140587") == []
