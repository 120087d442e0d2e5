"""Report links from DiagnosticReport.presentedForm: resolved, newest first, never raising."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_adapters.reports import ReportLink, report_links
from fhir_adapters.vcf.bundle import build_bundle
from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall
from tests.builders import searchset

SERVER = "https://ehr.example.org/fhir"
HTML = "text/html"
PDF = "application/pdf"


def form(url: str | None, content_type: str = HTML, **fields: Any) -> dict[str, Any]:
    """A presentedForm Attachment."""
    attachment: dict[str, Any] = {"contentType": content_type, **fields}
    if url is not None:
        attachment["url"] = url
    return attachment


def diagnostic_report(
    *forms: dict[str, Any],
    genomic: bool = True,
    date: str | None = "2026-10-02T09:00:00Z",
    status: str = "final",
    code_text: str = "Lipid panel",
) -> dict[str, Any]:
    """A DiagnosticReport: a genomic report (LOINC 51969-4) or another lab report."""
    code = (
        {"coding": [{"system": "http://loinc.org", "code": "51969-4"}]}
        if genomic
        else {"coding": [{"system": "http://loinc.org", "code": "57698-3"}], "text": code_text}
    )
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "code": code,
        "subject": {"reference": "Patient/p1"},
        "presentedForm": list(forms),
    }
    if date is not None:
        report["effectiveDateTime"] = date
    return report


def test_an_absolute_url_is_linked_as_is() -> None:
    report = diagnostic_report(form("https://reports.example.org/pgx/p1.html"))

    assert report_links([report], SERVER) == [
        ReportLink(
            "https://reports.example.org/pgx/p1.html", "Pharmacogenomic report", "2026-10-02"
        )
    ]


@pytest.mark.parametrize("server", [SERVER, f"{SERVER}/"])
def test_a_relative_url_is_resolved_against_the_fhir_server(server: str) -> None:
    (link,) = report_links([diagnostic_report(form("Binary/123", PDF))], server)

    assert link.url == "https://ehr.example.org/fhir/Binary/123"


@pytest.mark.parametrize(
    ("report", "server"),
    [
        pytest.param(diagnostic_report(form("Binary/123")), None, id="relative without a server"),
        pytest.param(
            diagnostic_report(form(None, data="PGh0bWw+PC9odG1sPg==")), SERVER, id="data only"
        ),
        pytest.param(
            diagnostic_report(form("urn:uuid:5f2b6c1e-0000-4000-8000-000000000001")),
            SERVER,
            id="urn",
        ),
        pytest.param(diagnostic_report(form("javascript:alert(1)")), SERVER, id="script"),
        pytest.param(diagnostic_report(form("https://")), SERVER, id="no host"),
        pytest.param(diagnostic_report(form("https://[::1/a")), SERVER, id="bad IPv6 host"),
        pytest.param(diagnostic_report(form("https://x.org/a b.html")), SERVER, id="space"),
        pytest.param(
            diagnostic_report(form("https://x.org/a.html"), status="entered-in-error"),
            SERVER,
            id="entered-in-error",
        ),
        pytest.param(
            diagnostic_report(form("https://x.org/a.html"), status="cancelled"),
            SERVER,
            id="cancelled",
        ),
        pytest.param(
            diagnostic_report(form("https://x.org/a.txt", "text/plain"), genomic=False),
            SERVER,
            id="another report, not printable",
        ),
        pytest.param(
            {"resourceType": "Observation", "presentedForm": [form("https://x.org/a.html")]},
            SERVER,
            id="not a DiagnosticReport",
        ),
    ],
)
def test_what_cannot_be_linked_is_skipped(report: dict[str, Any], server: str | None) -> None:
    assert report_links([report], server) == []


def test_another_reports_printable_form_is_linked_by_its_own_name() -> None:
    report = diagnostic_report(form("https://x.org/lipids.pdf", PDF), genomic=False)

    assert report_links([report], None) == [
        ReportLink("https://x.org/lipids.pdf", "Lipid panel", "2026-10-02")
    ]


def test_the_forms_title_names_the_link() -> None:
    report = diagnostic_report(form("https://x.org/a.html", title="PGx panel, full report"))

    assert [link.title for link in report_links([report], None)] == ["PGx panel, full report"]


def test_newest_first_from_bundles_and_resources() -> None:
    old = diagnostic_report(form("https://x.org/2024.html"), date="2024-01-05")
    new = diagnostic_report(form("https://x.org/2026.html"), date="2026-10-02T09:00:00Z")
    undated = diagnostic_report(form("https://x.org/undated.html"), date=None)
    issued = {**diagnostic_report(form("https://x.org/2025.html"), date=None), "issued": "2025-03"}

    links = report_links([searchset(old, undated), new, issued], SERVER)

    assert [(link.url, link.date) for link in links] == [
        ("https://x.org/2026.html", "2026-10-02"),
        ("https://x.org/2025.html", "2025-03"),
        ("https://x.org/2024.html", "2024-01-05"),
        ("https://x.org/undated.html", None),
    ]


def test_one_url_is_linked_once() -> None:
    report = diagnostic_report(form("https://x.org/a.html"), form("https://x.org/a.html"))

    assert len(report_links([report, report], None)) == 1


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(None, id="None"),
        pytest.param("Binary/1", id="a string"),
        pytest.param([None, 3, "x", []], id="junk items"),
        pytest.param(
            [{"resourceType": "DiagnosticReport", "presentedForm": "https://x.org/a.html"}],
            id="presentedForm not a list",
        ),
        pytest.param(
            [{"resourceType": "DiagnosticReport", "presentedForm": [1, None, {"url": 5}]}],
            id="forms not attachments",
        ),
        pytest.param(
            [
                {
                    "resourceType": "DiagnosticReport",
                    "status": 5,
                    "code": "51969-4",
                    "meta": {"profile": "x"},
                    "effectiveDateTime": 20261002,
                    "effectivePeriod": "2026",
                    "presentedForm": [{"url": "https://[::1", "contentType": 7}],
                }
            ],
            id="every field the wrong type",
        ),
        pytest.param({"resourceType": "Bundle", "entry": "x"}, id="a bundle, not a list"),
    ],
)
def test_malformed_input_is_never_raised_on(resources: Any) -> None:
    assert report_links(resources, SERVER) == []


def test_vcf2fhirs_report_url_is_found() -> None:
    calls = SampleCalls(
        sample="NA12878",
        input_name="NA12878.vcf",
        input_sha256="a" * 64,
        genes=(SampleGeneCall("CYP2C19", "HGNC:2621", "vcf", diplotypes=("*2/*2",)),),
        definitions_version="3.1.0",
    )
    bundle = build_bundle(
        calls,
        "p1",
        issued="2026-10-02T09:00:00Z",
        report_url="https://reports.example.org/pgx/NA12878.html",
    )

    assert report_links([bundle], SERVER) == [
        ReportLink(
            "https://reports.example.org/pgx/NA12878.html", "Pharmacogenomic report", "2026-10-02"
        )
    ]
