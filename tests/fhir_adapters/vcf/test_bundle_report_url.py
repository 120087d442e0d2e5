"""``build_bundle(report_url=…)``: the genomic report links the published HTML report."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from fhir_adapters.vcf.bundle import build_bundle
from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall

ISSUED = "2025-01-31T09:00:00Z"
URL = "https://reports.example.org/pgx/NA12878.report.html"
CALLS = SampleCalls(
    sample="NA12878",
    input_name="NA12878.pgx.vcf.gz",
    input_sha256="a" * 64,
    genes=(
        SampleGeneCall(
            "CYP2C19",
            "HGNC:2621",
            "vcf",
            diplotypes=("*2/*2",),
            phenotypes=("Poor Metabolizer",),
            definition_version="3.1.0",
        ),
    ),
    definitions_version="3.1.0",
)


def report_of(bundle: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    ]
    (report,) = found
    return report


def identifiers(bundle: dict[str, Any], kind: str) -> list[str]:
    return [
        e["resource"]["identifier"][0]["value"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == kind
    ]


def test_the_report_presents_the_published_html() -> None:
    bundle = build_bundle(CALLS, "p1", issued=ISSUED, report_url=URL)
    report = report_of(bundle)

    assert report["presentedForm"] == [
        {"contentType": "text/html", "url": URL, "title": "Pharmacogenomic report"}
    ]
    DiagnosticReport.model_validate(report)
    Bundle.model_validate(bundle)


def test_without_a_url_nothing_is_presented() -> None:
    assert "presentedForm" not in report_of(build_bundle(CALLS, "p1", issued=ISSUED))


def test_the_url_changes_only_the_reports_identifier() -> None:
    plain = build_bundle(CALLS, "p1", issued=ISSUED)
    linked = build_bundle(CALLS, "p1", issued=ISSUED, report_url=URL)

    assert identifiers(linked, "Observation") == identifiers(plain, "Observation")
    assert identifiers(linked, "DiagnosticReport") != identifiers(plain, "DiagnosticReport")
    assert build_bundle(CALLS, "p1", issued=ISSUED, report_url=URL) == linked


@pytest.mark.parametrize(
    "url", ["reports/NA12878.html", "ftp://x.org/r.html", "https://x.org/a b.html", "https://"]
)
def test_a_url_an_ehr_cannot_open_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="is not an absolute http"):
        build_bundle(CALLS, "p1", issued=ISSUED, report_url=url)
