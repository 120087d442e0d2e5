"""The ``pgx-cds`` command: serve the hooks, run the demo, the knowledge tools, and vcf2fhir."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cds_hooks.config import SettingsError, settings_from_environment
from cds_hooks.request_log import configure_logging

if TYPE_CHECKING:
    from knowledge import KnowledgeBase

__all__ = ["main"]

log = logging.getLogger(__name__)


@click.group()
def main() -> None:
    """Pharmacogenomic CDS Hooks service."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes.",
)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
def serve(host: str, port: int, workers: int, dev: bool) -> None:
    """Run the service (gunicorn; Flask's dev server only with --dev)."""
    from knowledge import KnowledgeLoadError

    try:
        settings = settings_from_environment()
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    configure_logging(settings)
    try:
        from cds_hooks.app import create_app, start_knowledge_reload
        from cds_hooks.auth import AuthConfigError
        from cds_hooks.console.access import ConsoleConfigError

        # Load once here so a bad knowledge base or trusted issuers file stops start-up with its
        # errors, not per worker. create_app logs the warning when EHR authentication is off.
        app = create_app(settings)
    except (KnowledgeLoadError, AuthConfigError, ConsoleConfigError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    base = f"http://{host}:{port}"
    if settings.auth == "jwt" and workers > 1 and not settings.alert_memory_url:
        log.warning(
            "each of the %d workers remembers the JWT ids it saw on its own, so a token replayed "
            "to another worker is accepted: set PGX_CDS_ALERT_MEMORY_URL to a Redis server",
            workers,
        )
    bearer = "" if settings.auth == "off" else "-H 'Authorization: Bearer <JWT>' "
    click.echo(
        f"pgx-cds-hooks listening on {base}\n"
        f"  discovery : curl {base}/cds-services\n"
        f"  a hook    : curl -X POST {base}/cds-services/pgx-order-select {bearer}"
        "-H 'Content-Type: application/json' -d @request.json\n"
        f"  demo      : .venv/bin/pgx-cds demo --url {base}\n"
        f"  health    : curl {base}/readyz"
        + (f"\n  metrics   : curl {base}/metrics" if settings.metrics else ""),
        err=True,
    )
    if dev:
        start_knowledge_reload(app, sighup=True)
        app.run(host=host, port=port)
        return
    # Each gunicorn worker builds its own app: no database connection is shared across fork.
    # The knowledge is shared: workers inherit the master's last good version (gunicorn_app.py).
    # Metrics too: GunicornApp.run gives the workers one folder to add them up in, before forking.
    state = app.extensions["pgx_cds"]
    state.feedback.close()
    del app
    from cds_hooks.gunicorn_app import GunicornApp

    GunicornApp(settings, state.knowledge, {"bind": f"{host}:{port}", "workers": workers}).run()


@main.command()
@click.option("--url", default=None, help="Base URL of a running service; in-process if omitted.")
def demo(url: str | None) -> None:
    """Send the bundled example hook requests and print the cards."""
    from cds_hooks.demo import run_demo

    sys.exit(run_demo(url, click.echo))


@main.command("console-user")
@click.argument("name")
def console_user(name: str) -> None:
    """Print a users-file line for the console: NAME and a hash of a password asked for twice.

    Add the line under "users:" in the file PGX_CDS_CONSOLE_USERS names (docs/console.md).
    """
    from cds_hooks.console.access import hash_password

    # A name the browser can send (no colon in HTTP Basic) and YAML reads back as a plain key.
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]*", name):
        raise click.BadParameter(
            f"{name!r}: use letters, digits and . _ @ - (starting with a letter or digit).",
            param_hint="NAME",
        )
    # Prompts go to stderr, so `pgx-cds console-user NAME >> file` captures only the line.
    password = click.prompt(
        f"Password for {name}", hide_input=True, confirmation_prompt=True, err=True
    )
    click.echo(f"{name}: {hash_password(password)}")


@main.group()
def knowledge() -> None:
    """Check, survey and explain the guideline knowledge base."""


Command = TypeVar("Command", bound=Callable[..., Any])


def _knowledge_folder(command: Command) -> Command:
    """``[PATH]``, or ``--dir PATH`` as ``knowledge check`` always accepted: the folder to read."""
    folder = click.Path(file_okay=False, path_type=Path)
    command = click.option(
        "--dir",
        "directory",
        type=folder,
        default=None,
        help="Same as PATH (the older spelling).",
    )(command)
    return click.argument("path", type=folder, required=False)(command)


def _load(path: Path | None, directory: Path | None) -> KnowledgeBase:
    """The knowledge base in the folder given (bundled if none); exit 1 with its errors if refused."""
    from knowledge import KnowledgeLoadError, load_knowledge_base

    if path is not None and directory is not None and path != directory:
        raise click.UsageError("Give the knowledge folder once: as PATH or with --dir.")
    try:
        return load_knowledge_base(path or directory)
    except KnowledgeLoadError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@knowledge.command("check")
@_knowledge_folder
def knowledge_check(path: Path | None, directory: Path | None) -> None:
    """Validate every knowledge file and run the test cases guidelines and drug rules carry.

    PATH is a knowledge folder to check instead of the bundled one.
    """
    from knowledge.biomarker_cases import iter_biomarker_cases, run_biomarker_case
    from knowledge.cases import iter_cases, run_case

    kb = _load(path, directory)
    failed = 0
    outcomes: list[Any] = [run_case(kb, g, c) for g, c in iter_cases(kb)]
    outcomes += [run_biomarker_case(kb, d, c) for d, c in iter_biomarker_cases(kb)]
    for outcome in outcomes:
        if outcome.case.todo:
            status = "todo" if not outcome.passed else "FIXED (remove todo)"
            failed += outcome.passed
        else:
            status = "ok" if outcome.passed else "FAIL"
            failed += not outcome.passed
        click.echo(f"{status:5} {outcome.id}" + "".join(f"\n      {f}" for f in outcome.failures))
    targeted = len(kb.oncology.drugs) if kb.oncology is not None else 0
    click.echo(
        f"knowledge {kb.version}: {len(kb.guidelines)} guideline(s), {len(kb.genes)} gene(s),"
        f" {targeted} targeted drug(s), {len(outcomes)} case(s), {failed} failed"
    )
    sys.exit(1 if failed else 0)


@knowledge.command("coverage")
@_knowledge_folder
def knowledge_coverage(path: Path | None, directory: Path | None) -> None:
    """Print a markdown drugs-by-genes table: recommendations per pair, by source, then totals.

    PATH is a knowledge folder to survey instead of the bundled one.
    """
    from knowledge.coverage import coverage_of, render_markdown

    click.echo(render_markdown(coverage_of(_load(path, directory))), nl=False)


def _genotypes(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """``("CYP2C19=*2/*17", …)`` → ``{"CYP2C19": "*2/*17"}``; a usage error if malformed."""
    found: dict[str, str] = {}
    for value in values:
        gene, equals, diplotype = value.partition("=")
        gene, diplotype = gene.strip(), diplotype.strip()
        # Gene symbols are upper case; a variant keeps its rsID spelling (rs12777823).
        gene = gene.lower() if gene.lower().startswith("rs") else gene.upper()
        if not equals or not gene or not diplotype:
            raise click.BadParameter(
                f"{value!r} is not GENE=DIPLOTYPE; write it like CYP2C19='*2/*17'."
            )
        if gene in found:
            raise click.BadParameter(f"{gene} is given twice; give each gene once.")
        found[gene] = diplotype
    return found


@knowledge.command("explain")
@click.option("--drug", required=True, help="The drug ordered, e.g. clopidogrel.")
@click.option(
    "--genotype",
    "genotypes",
    multiple=True,
    metavar="GENE=DIPLOTYPE",
    callback=_genotypes,
    help="A result, e.g. CYP2C19='*2/*17'; repeat for each gene.",
)
@_knowledge_folder
def knowledge_explain(
    drug: str, genotypes: dict[str, str], path: Path | None, directory: Path | None
) -> None:
    """Show each step from the diplotypes to the card for one drug.

    How each diplotype was read (table, activity score, allele status), the phenotype and lookup
    key, which recommendations matched and why the others did not, and the card that makes.
    PATH is a knowledge folder to use instead of the bundled one.
    """
    from knowledge import GeneResult
    from knowledge.explain import UnknownDrugError, explain, render_text

    kb = _load(path, directory)
    results = {gene: GeneResult(gene, diplotype=value) for gene, value in genotypes.items()}
    try:
        explanation = explain(kb, drug, results)
    except UnknownDrugError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(render_text(explanation), nl=False)


def _register_vcf2fhir() -> None:
    from cds_hooks.vcf2fhir_command import vcf2fhir

    main.add_command(vcf2fhir)


_register_vcf2fhir()

if __name__ == "__main__":
    main()
