"""``pgx-cds vcf2fhir``: PharmCAT's example to a Bundle and report, batches, located errors."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from cds_hooks.cli import main
from fhir_adapters.genotype import read_genotypes
from knowledge import KnowledgeBase

TRUTH = Path(__file__).resolve().parents[3] / "shared" / "pgx-data" / "truth"
EXAMPLES = TRUTH / "pharmcat_examples"
EXAMPLE = EXAMPLES / "pharmcat.example.vcf"
OUTSIDE = EXAMPLES / "pharmcat.example.outsideCall.tsv"


def _official_calls(name: str) -> dict[str, set[str]]:
    """Gene → PharmCAT's published diplotypes for an example (allele order ignored)."""
    match = json.loads((EXAMPLES / f"{name}.match.json").read_text())
    return {
        r["gene"]: {"/".join(sorted(d["name"].split("/"))) for d in r["diplotypes"]}
        for r in match["results"]
    }


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["vcf2fhir", *args])
    return result.exit_code, result.stdout, result.stderr


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_pharmcat_example_gives_a_bundle_and_report_matching_pharmcat(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    bundle_path, report_path = tmp_path / "bundle.json", tmp_path / "report.html"
    code, _, err = _run(
        str(EXAMPLE),
        "--patient-id",
        "pgx-example-1",
        "--outside-calls",
        str(OUTSIDE),
        "-o",
        str(bundle_path),
        "--report",
        str(report_path),
    )
    assert code == 0, err
    bundle = json.loads(bundle_path.read_text())
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "transaction"
    resources = [entry["resource"] for entry in bundle["entry"]]
    readout = read_genotypes(resources, kb.genes_by_hgnc, kb=kb)
    official = _official_calls("pharmcat.example")
    for gene, diplotypes in official.items():
        if gene not in readout.results or gene in {"DPYD", "RYR1"}:
            continue
        result = readout.results[gene]
        assert result.diplotype is not None
        assert "/".join(sorted(result.diplotype.split("/"))) in diplotypes, gene
    # Genes read back from the Bundle cover the called genes the hooks use.
    assert {"CYP2C19", "CYP2C9", "SLCO1B1", "TPMT", "CYP2D6"} <= set(readout.results)
    assert readout.results["CYP2D6"].diplotype == "*1/*3"  # the outside call
    parser = _Text()
    parser.feed(report_path.read_text())
    text = " ".join(parser.text)
    assert "pgx-example-1" in text
    assert "*1/*3" in text  # CYP2D6 from the outside call
    assert "Intermediate Metabolizer" in text


def test_the_bundle_goes_to_stdout_without_o(kb: KnowledgeBase) -> None:
    code, out, _ = _run(str(EXAMPLE), "--patient-id", "p1", "--sample", "Sample_1")
    assert code == 0
    assert json.loads(out)["type"] == "transaction"


def _batch(tmp_path: Path, *options: str) -> tuple[int, str, str, Path]:
    """vcf2fhir on the two-sample example, each sample mapped to a patient; bundles to a folder."""
    patients = tmp_path / "patients.tsv"
    patients.write_text("Sample_1\tpatient-a\nSample_2\tpatient-b\n")
    out = tmp_path / "bundles"
    code, stdout, err = _run(
        str(EXAMPLES / "multisample.vcf"), "--patient-map", str(patients), "-o", str(out), *options
    )
    return code, stdout, err, out


def test_a_multisample_vcf_runs_as_a_batch_with_a_summary(tmp_path: Path) -> None:
    code, _, err, out = _batch(tmp_path, "--report", str(tmp_path / "reports"))
    assert code == 0, err
    written = sorted(p.name for p in out.iterdir())
    assert written == ["multisample.Sample_1.bundle.json", "multisample.Sample_2.bundle.json"]
    assert len(list((tmp_path / "reports").iterdir())) == 2
    # The summary table: a header, a rule, one row per sample.
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-4].split()[:3] == ["input", "sample", "patient"]
    assert lines[-2].startswith("multisample.vcf  Sample_1")
    assert "patient-b" in lines[-1]
    subjects = {
        json.loads(p.read_text())["entry"][0]["resource"]["subject"]["reference"]
        for p in out.iterdir()
    }
    assert subjects == {"Patient/patient-a", "Patient/patient-b"}


def test_a_batch_needs_a_patient_for_every_sample(tmp_path: Path) -> None:
    patients = tmp_path / "patients.tsv"
    patients.write_text("Sample_1\tpatient-a\n")
    code, _, err = _run(str(EXAMPLES / "multisample.vcf"), "--patient-map", str(patients))
    assert code == 2
    assert "no patient for sample(s) Sample_2" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("just text\n", "in.vcf:1: not a VCF"),
        (
            "##fileformat=VCFv4.2\n##reference=hg19\n"
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n",
            "in.vcf:2: the header names a GRCh37 reference",
        ),
    ],
)
def test_bad_inputs_get_located_errors(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "in.vcf"
    path.write_text(content)
    code, _, err = _run(str(path), "--patient-id", "p1")
    assert code == 2
    assert expected in err


def test_an_unknown_sample_is_a_located_error() -> None:
    code, _, err = _run(str(EXAMPLE), "--patient-id", "p1", "--sample", "NA00001")
    assert code == 2
    assert "pharmcat.example.vcf:" in err
    assert "'NA00001' is not in the VCF" in err


def test_an_outside_call_for_an_unknown_gene_is_located(tmp_path: Path) -> None:
    calls = tmp_path / "calls.tsv"
    calls.write_text("CYP2D6\t*1/*4\nCYP9Z9\t*1/*1\n")
    code, _, err = _run(str(EXAMPLE), "--patient-id", "p1", "--outside-calls", str(calls))
    assert code == 2
    assert "calls.tsv:2: unknown gene 'CYP9Z9'" in err


def test_inputs_that_would_overwrite_each_other_are_refused(tmp_path: Path) -> None:
    for folder in ("run1", "run2"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "multisample.vcf").write_bytes(
            (EXAMPLES / "multisample.vcf").read_bytes()
        )
    patients = tmp_path / "patients.tsv"
    patients.write_text("Sample_1\tpatient-a\nSample_2\tpatient-b\n")
    out = tmp_path / "bundles"
    code, _, err = _run(
        str(tmp_path / "run1" / "multisample.vcf"),
        str(tmp_path / "run2" / "multisample.vcf"),
        "--patient-map",
        str(patients),
        "-o",
        str(out),
    )
    assert code == 2
    assert "would write multisample.Sample_1.bundle.json" in err
    assert not out.exists()  # nothing written, nothing overwritten


def test_an_unwritable_output_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = _run(str(EXAMPLE), "--patient-id", "p1", "-o", str(blocker / "bundle.json"))
    assert code == 1
    assert err.startswith("error: writing")


# --- --report-url: the genomic report links where the HTML report is published ---------------


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


def test_a_batch_fills_in_each_sample_of_the_report_url(tmp_path: Path) -> None:
    code, _, err, out = _batch(
        tmp_path, "--report-url", "https://reports.example.org/pgx/{sample}.html"
    )

    assert code == 0, err
    urls = {
        _report(json.loads(path.read_text()))["presentedForm"][0]["url"] for path in out.iterdir()
    }
    assert urls == {
        "https://reports.example.org/pgx/Sample_1.html",
        "https://reports.example.org/pgx/Sample_2.html",
    }


def test_a_batch_report_url_without_the_placeholder_is_refused(tmp_path: Path) -> None:
    code, _, err, out = _batch(
        tmp_path, "--report-url", "https://reports.example.org/pgx/report.html"
    )

    assert code == 2
    assert "2 samples need a report URL each: put {sample} in --report-url" in err
    assert not out.exists()


def test_a_report_url_that_is_not_http_is_a_usage_error() -> None:
    code, _, err = _run(str(EXAMPLE), "--patient-id", "p1", "--report-url", "reports/p1.html")

    assert code == 2
    assert "'reports/p1.html' is not an absolute http(s) URL" in err
