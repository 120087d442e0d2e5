"""``pgx-cds vcf2fhir``: germline VCFs → Genomics Reporting Bundles, reports, and a FHIR server.

One sample: ``pgx-cds vcf2fhir IN.vcf --patient-id P [-o bundle.json] [--report r.html]``.
Many (several files, or a multi-sample VCF): ``--patient-map`` says which patient each sample is,
``-o`` and ``--report`` name folders, a progress bar runs, and a summary table ends the run.
``--report-url`` says where the report will be published (``{sample}`` for each sample's).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click

if TYPE_CHECKING:
    from fhir_adapters.vcf.calls import SampleCalls
    from knowledge import KnowledgeBase

__all__ = ["vcf2fhir"]

# The bearer token for --post comes from the environment, never the command line (shell history).
TOKEN_VARIABLE = "PGX_CDS_FHIR_TOKEN"
# Replaced by each sample's name (URL-encoded) in --report-url.
SAMPLE_PLACEHOLDER = "{sample}"
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


@dataclass(slots=True)
class _Outcome:
    input_name: str
    sample: str
    patient_id: str = ""
    called: int = 0
    ambiguous: int = 0
    not_called: int = 0
    bundle: str = ""
    report: str = ""
    posted: str = ""
    error: str = ""


def _read_patient_map(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise click.BadParameter(
                    f"{path.name}:{number}: expected 'SAMPLE<TAB>PATIENT_ID'. "
                    "Write one sample and its FHIR Patient id per line.",
                    param_hint="--patient-map",
                )
            found[row[0].strip()] = row[1].strip()
    return found


def _check_report_url(_ctx: click.Context, _param: click.Parameter, url: str | None) -> str | None:
    if url is not None and not _HTTP_URL.match(url.replace(SAMPLE_PLACEHOLDER, "sample")):
        raise click.BadParameter(
            f"{url!r} is not an absolute http(s) URL. Give the address the report is published "
            "at, e.g. https://reports.example.org/pgx/{sample}.html"
        )
    return url


def _report_url(template: str | None, sample: str) -> str | None:
    """The report's URL for ``sample``: the placeholder filled in, URL-encoded."""
    if template is None:
        return None
    return template.replace(SAMPLE_PLACEHOLDER, quote(sample, safe=""))


def _post(base: str, bundle: dict[str, Any]) -> str:
    import requests

    from fhir_adapters.client import FhirClient

    with requests.Session() as session:
        client = FhirClient(
            base,
            access_token=os.environ.get(TOKEN_VARIABLE) or None,
            session=session,
            timeout=(5.0, 120.0),
            max_pages=1,
            deadline=120.0,
        )
        response = client.transaction(bundle)
    statuses = [
        str(entry.get("response", {}).get("status", ""))
        for entry in response.get("entry", [])
        if isinstance(entry, dict)
    ]
    created = sum(status.startswith("201") for status in statuses)
    return f"{created} created, {len(statuses) - created} already there"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _handle(
    calls: SampleCalls,
    patient_id: str,
    kb: KnowledgeBase,
    *,
    bundle_path: Path | None,
    report_path: Path | None,
    report_url: str | None,
    post: str | None,
    issued: str,
) -> _Outcome:
    from fhir_adapters.vcf.bundle import build_bundle
    from fhir_adapters.vcf.report import render_report

    outcome = _Outcome(calls.input_name, calls.sample, patient_id)
    outcome.called = sum(1 for g in calls.genes if g.called and len(g.diplotypes) <= 1)
    outcome.ambiguous = sum(1 for g in calls.genes if len(g.diplotypes) > 1)
    outcome.not_called = sum(1 for g in calls.genes if not g.called)
    bundle = build_bundle(calls, patient_id, issued=issued, report_url=report_url)
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if bundle_path is None:
        click.echo(text, nl=False)
        outcome.bundle = "(stdout)"
    else:
        _write(bundle_path, text)
        outcome.bundle = str(bundle_path)
    if report_path is not None:
        _write(report_path, render_report(calls, patient_id, kb, generated=issued))
        outcome.report = str(report_path)
    if post:
        outcome.posted = _post(post, bundle)
    return outcome


def _summary(outcomes: list[_Outcome]) -> str:
    header = ("input", "sample", "patient", "called", "ambiguous", "not called", "bundle", "posted")
    rows = [
        (
            o.input_name,
            o.sample,
            o.patient_id,
            str(o.called),
            str(o.ambiguous),
            str(o.not_called),
            o.bundle or "-",
            o.error or o.posted or "-",
        )
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    rule = "  ".join("-" * w for w in widths)
    title = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join([title, rule, *lines])


@click.command("vcf2fhir")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--patient-id", help="FHIR Patient id the results are about (one sample).")
@click.option(
    "--patient-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Tab-separated SAMPLE, PATIENT_ID lines (several samples).",
)
@click.option("--sample", help="Only this sample of the VCF.")
@click.option(
    "--outside-calls",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PharmCAT outside-call file (CYP2D6, HLA-A, HLA-B, MT-RNR1 calls of other tools).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Bundle JSON file (one sample; stdout if omitted) or folder (several samples).",
)
@click.option(
    "--post", metavar="FHIR_BASE", help=f"POST each Bundle there (token: ${TOKEN_VARIABLE})."
)
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    help="Printable HTML report file (one sample) or folder (several samples).",
)
@click.option(
    "--report-url",
    metavar="URL",
    callback=_check_report_url,
    help=(
        "Where the --report HTML will be published; the genomic report links it "
        "(presentedForm). With several samples include {sample}."
    ),
)
def vcf2fhir(
    inputs: tuple[Path, ...],
    patient_id: str | None,
    patient_map: Path | None,
    sample: str | None,
    outside_calls: Path | None,
    output: Path | None,
    post: str | None,
    report: Path | None,
    report_url: str | None,
) -> None:
    """Call star alleles in germline VCFs and write FHIR Genomics Reporting results.

    Errors name the file and line: not a VCF, GRCh37 coordinates, an unknown sample.
    """
    from fhir_adapters.errors import FhirResponseError, FhirUnavailableError
    from fhir_adapters.vcf.errors import VcfInputError
    from fhir_adapters.vcf.pipeline import call_vcf
    from knowledge import load_knowledge_base

    kb = load_knowledge_base()
    patients = _read_patient_map(patient_map) if patient_map else {}
    issued = datetime.now(UTC).replace(microsecond=0).isoformat()
    samples: list[SampleCalls] = []
    try:
        for path in inputs:
            samples.extend(call_vcf(path, sample=sample, outside_calls=outside_calls, kb=kb))
    except VcfInputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    batch = len(samples) > 1
    if not batch:
        if not patient_id and samples and samples[0].sample not in patients:
            raise click.UsageError("Give --patient-id (or --patient-map) for the sample's patient.")
        calls = samples[0]
        try:
            outcome = _handle(
                calls,
                patient_id or patients[calls.sample],
                kb,
                bundle_path=output,
                report_path=report,
                report_url=_report_url(report_url, calls.sample),
                post=post,
                issued=issued,
            )
        except (FhirResponseError, FhirUnavailableError) as exc:
            click.echo(f"error: posting to {post}: {exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(f"error: writing {exc.filename}: {exc.strerror}", err=True)
            sys.exit(1)
        for warning in calls.warnings:
            click.echo(f"note: {warning}", err=True)
        click.echo(_summary([outcome]), err=True)
        return
    if patient_id:
        raise click.UsageError(
            f"{len(samples)} samples: --patient-id names one patient; use --patient-map."
        )
    missing = [c.sample for c in samples if c.sample not in patients]
    if missing:
        raise click.UsageError(
            f"no patient for sample(s) {', '.join(missing[:5])}: add them to --patient-map."
        )
    # One URL for two samples would link a patient's results to another patient's report.
    if report_url is not None and SAMPLE_PLACEHOLDER not in report_url:
        raise click.UsageError(
            f"{len(samples)} samples need a report URL each: put {SAMPLE_PLACEHOLDER} in "
            "--report-url, e.g. https://reports.example.org/pgx/{sample}.html"
        )
    repeated = sorted(
        {c.sample for c in samples if [s.sample for s in samples].count(c.sample) > 1}
    )
    if report_url is not None and repeated:
        raise click.UsageError(
            f"sample {repeated[0]} is in several inputs, so --report-url would give them one "
            "report URL: run those inputs separately."
        )
    stems = [f"{Path(c.input_name).name.split('.')[0]}.{c.sample}" for c in samples]
    clashing = sorted({stem for stem in stems if stems.count(stem) > 1})
    if clashing:
        # Two inputs named alike in different folders would overwrite each other's results.
        raise click.UsageError(
            f"several inputs would write {clashing[0]}.bundle.json: "
            "run files with the same name and sample separately."
        )
    outcomes: list[_Outcome] = []
    with click.progressbar(
        list(zip(samples, stems, strict=True)), label="samples", file=sys.stderr
    ) as bar:
        for calls, stem in bar:
            try:
                outcomes.append(
                    _handle(
                        calls,
                        patients[calls.sample],
                        kb,
                        bundle_path=(output or Path(".")) / f"{stem}.bundle.json",
                        report_path=report / f"{stem}.report.html" if report else None,
                        report_url=_report_url(report_url, calls.sample),
                        post=post,
                        issued=issued,
                    )
                )
            except (FhirResponseError, FhirUnavailableError, OSError) as exc:
                failed = _Outcome(calls.input_name, calls.sample, patients[calls.sample])
                failed.error = (
                    f"write failed: {exc.strerror}"
                    if isinstance(exc, OSError)
                    else f"post failed: {exc}"
                )
                outcomes.append(failed)
    click.echo(_summary(outcomes), err=True)
    sys.exit(1 if any(o.error for o in outcomes) else 0)
