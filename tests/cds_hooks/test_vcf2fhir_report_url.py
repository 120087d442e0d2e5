"""``pgx-cds vcf2fhir --report-url``: the genomic report links where the HTML report is published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from cds_hooks.cli import main

EXAMPLES = (
    Path(__file__).resolve().parents[3] / "shared" / "pgx-data" / "truth" / "pharmcat_examples"
)
EXAMPLE = EXAMPLES / "pharmcat.example.vcf"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["vcf2fhir", *args])
    return result.exit_code, result.stdout, result.stderr


def _report(bundle: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    ]
    (report,) = found
    return report


def test_the_genomic_report_presents_the_report_url(tmp_path: Path) -> None:
    url = "https://reports.example.org/pgx/p1.html"
    code, out, err = _run(
        str(EXAMPLE),
        "--patient-id",
        "p1",
        "--report",
        str(tmp_path / "report.html"),
        "--report-url",
        url,
    )

    assert code == 0, err
    report = _report(json.loads(out))
    assert report["presentedForm"] == [
        {"contentType": "text/html", "url": url, "title": "Pharmacogenomic report"}
    ]
    DiagnosticReport.model_validate(report)


def test_a_batch_fills_in_each_sample(tmp_path: Path) -> None:
    patients = tmp_path / "patients.tsv"
    patients.write_text("Sample_1\tpatient-a\nSample_2\tpatient-b\n")
    out = tmp_path / "bundles"

    code, _, err = _run(
        str(EXAMPLES / "multisample.vcf"),
        "--patient-map",
        str(patients),
        "-o",
        str(out),
        "--report-url",
        "https://reports.example.org/pgx/{sample}.html",
    )

    assert code == 0, err
    urls = {
        _report(json.loads(path.read_text()))["presentedForm"][0]["url"] for path in out.iterdir()
    }
    assert urls == {
        "https://reports.example.org/pgx/Sample_1.html",
        "https://reports.example.org/pgx/Sample_2.html",
    }


def test_a_batch_without_the_placeholder_is_refused(tmp_path: Path) -> None:
    patients = tmp_path / "patients.tsv"
    patients.write_text("Sample_1\tpatient-a\nSample_2\tpatient-b\n")
    out = tmp_path / "bundles"

    code, _, err = _run(
        str(EXAMPLES / "multisample.vcf"),
        "--patient-map",
        str(patients),
        "-o",
        str(out),
        "--report-url",
        "https://reports.example.org/pgx/report.html",
    )

    assert code == 2
    assert "2 samples need a report URL each: put {sample} in --report-url" in err
    assert not out.exists()


def test_a_url_that_is_not_http_is_a_usage_error() -> None:
    code, _, err = _run(str(EXAMPLE), "--patient-id", "p1", "--report-url", "reports/p1.html")

    assert code == 2
    assert "'reports/p1.html' is not an absolute http(s) URL" in err
