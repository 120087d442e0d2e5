"""The ``pgx-cds`` command: serve the hooks, run the demo, check the knowledge base."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from cds_hooks.config import Settings
from cds_hooks.request_log import configure_logging

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

    settings = Settings()
    configure_logging(settings)
    if settings.auth == "off":
        log.warning("EHR authentication is off: run only on a trusted network (JWT arrives in #7)")
    try:
        from cds_hooks.app import create_app

        # Load once here so a bad knowledge base stops start-up with its errors, not per worker.
        app = create_app(settings)
    except KnowledgeLoadError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    base = f"http://{host}:{port}"
    click.echo(
        f"pgx-cds-hooks listening on {base}\n"
        f"  discovery : curl {base}/cds-services\n"
        f"  a hook    : curl -X POST {base}/cds-services/pgx-order-select "
        "-H 'Content-Type: application/json' -d @request.json\n"
        f"  demo      : .venv/bin/pgx-cds demo --url {base}\n"
        f"  health    : curl {base}/readyz",
        err=True,
    )
    if dev:
        app.run(host=host, port=port)
        return
    # Each gunicorn worker builds its own app: no database connection is shared across fork.
    app.extensions["pgx_cds"].feedback.close()
    del app
    from cds_hooks.gunicorn_app import GunicornApp

    GunicornApp(settings, {"bind": f"{host}:{port}", "workers": workers}).run()


@main.command()
@click.option("--url", default=None, help="Base URL of a running service; in-process if omitted.")
def demo(url: str | None) -> None:
    """Send the bundled example hook requests and print the cards."""
    from cds_hooks.demo import run_demo

    sys.exit(run_demo(url, click.echo))


@main.group()
def knowledge() -> None:
    """Check the guideline knowledge base."""


@knowledge.command("check")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A knowledge folder to check instead of the bundled one.",
)
def knowledge_check(directory: Path | None) -> None:
    """Validate every gene, drug and guideline file and run the guidelines' own test cases."""
    from knowledge import KnowledgeLoadError, load_knowledge_base
    from knowledge.cases import iter_cases, run_case

    try:
        kb = load_knowledge_base(directory)
    except KnowledgeLoadError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    failed = 0
    outcomes: list[Any] = [run_case(kb, g, c) for g, c in iter_cases(kb)]
    for outcome in outcomes:
        if outcome.case.todo:
            status = "todo" if not outcome.passed else "FIXED (remove todo)"
            failed += outcome.passed
        else:
            status = "ok" if outcome.passed else "FAIL"
            failed += not outcome.passed
        click.echo(f"{status:5} {outcome.id}" + "".join(f"\n      {f}" for f in outcome.failures))
    click.echo(
        f"knowledge {kb.version}: {len(kb.guidelines)} guideline(s), {len(kb.genes)} gene(s),"
        f" {len(outcomes)} case(s), {failed} failed"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
