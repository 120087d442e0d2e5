"""Service health: knowledge, feedback store and the metrics /metrics exposes, as a page."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.console.health_page import quantile
from cds_hooks.knowledge_reload import KnowledgeHolder, ReloadOutcome
from cds_hooks.state import EXTENSION_KEY
from knowledge import KnowledgeBase
from knowledge.loader import bundled_root
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch
from tests.serving import free_port

REPO = Path(__file__).resolve().parents[2]

MakeConsole = Callable[..., FlaskClient]


@pytest.fixture
def make_console(tmp_path: Path, kb: KnowledgeBase) -> Iterator[MakeConsole]:
    apps = []

    def make(**settings: Any) -> FlaskClient:
        app = create_app(
            Settings(
                database_url=f"sqlite:///{tmp_path}/x{len(apps)}.db",
                console=True,
                console_auth="off",
                **settings,
            ),
            kb,
        )
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["pgx_cds"].feedback.close()


def health(console: FlaskClient) -> str:
    response = console.get("/console/health")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def metric(html: str, name: str, label: str = "total") -> float:
    """The figure a ``data-metric``/``data-label`` cell shows; 0 when the page has no such cell."""
    match = re.search(rf'data-metric="{name}" data-label="{re.escape(label)}"[^>]*>([^<]*)<', html)
    return float(match.group(1)) if match else 0.0


def test_the_page_shows_the_knowledge_serving(make_console: MakeConsole, kb: KnowledgeBase) -> None:
    html = health(make_console())

    assert f'<td data-knowledge="version"><code>{kb.version}</code></td>' in html
    assert 'data-result="ok"' in html
    assert "not reloadable" in html
    assert 'data-feedback-store="ok"' in html
    assert 'data-metrics="on"' in html


def test_a_refused_reload_is_shown_with_its_errors(tmp_path: Path) -> None:
    bundled = Path(str(bundled_root()))
    folder = tmp_path / "knowledge"
    for name in ("drugs.yaml", "genes/CYP2C19.yaml", "guidelines/cpic-clopidogrel.yaml"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bundled / name, folder / name)
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path}/x.db",
            console=True,
            console_auth="off",
            knowledge_dir=folder,
            knowledge_reload_interval=0,
        )
    )
    holder = app.extensions[EXTENSION_KEY].knowledge
    assert isinstance(holder, KnowledgeHolder)
    guideline = folder / "guidelines" / "cpic-clopidogrel.yaml"
    guideline.write_text(
        guideline.read_text(encoding="utf-8").replace("strength: strong", "strength: strongest", 1),
        encoding="utf-8",
    )

    assert holder.reload() is ReloadOutcome.REFUSED
    html = health(app.test_client())
    app.extensions[EXTENSION_KEY].feedback.close()

    assert 'data-result="refused"' in html
    assert "strongest" in html
    assert f"from <code>{folder}</code>" in html


def test_a_failing_fhir_server_moves_the_error_latency_and_degraded_figures(
    make_console: MakeConsole,
) -> None:
    console = make_console()
    before = health(console)
    dead = f"http://127.0.0.1:{free_port()}/fhir"

    response = console.post(
        "/cds-services/pgx-order-sign",
        json=hook_request(medication_request(), fhir_server=dead, token="t"),
    )

    assert response.status_code == 200
    after = health(console)
    for name, label in [
        ("fhir_errors_total", "unavailable"),
        ("fhir_errors_total", "total"),
        ("fhir_call_seconds", "error"),
        ("hook_degraded_total", "info-card"),
        ("cards_total", "info"),
    ]:
        assert metric(after, name, label) == metric(before, name, label) + 1, (name, label)
    row = re.search(r'<tr data-outcome="error">(.*?)</tr>', after, re.S)
    assert row is not None
    p95 = re.search(r'data-stat="p95">([\d.]+)<', row.group(1))
    assert p95 is not None
    assert float(p95.group(1)) > 0


def test_a_card_is_counted_under_its_indicator(make_console: MakeConsole) -> None:
    console = make_console()
    before = metric(health(console), "cards_total", "warning")

    console.post(
        "/cds-services/pgx-order-sign",
        json=hook_request(
            medication_request(), prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2"))
        ),
    )

    assert metric(health(console), "cards_total", "warning") == before + 1


def test_a_refused_token_is_counted_by_reason(make_console: MakeConsole) -> None:
    console = make_console(
        auth="jwt", trusted_issuers=REPO / "deploy" / "trusted-issuers" / "sandbox.yaml"
    )
    before = health(console)

    response = console.post("/cds-services/pgx-order-sign", json=hook_request(medication_request()))

    assert response.status_code == 401
    after = health(console)
    assert metric(after, "jwt_rejections_total", "missing") == (
        metric(before, "jwt_rejections_total", "missing") + 1
    )
    assert metric(after, "jwt_rejections_total") == metric(before, "jwt_rejections_total") + 1


def test_with_metrics_off_the_page_says_so(make_console: MakeConsole) -> None:
    html = health(make_console(metrics=False))

    assert 'data-metrics="off"' in html
    assert "data-metric=" not in html


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(0.1, 0.0), (1.0, 10.0), (float("inf"), 10.0)], 0.55),
        (0.5, [(0.1, 10.0), (1.0, 10.0), (float("inf"), 10.0)], 0.05),
        (0.95, [(0.1, 0.0), (1.0, 0.0), (float("inf"), 4.0)], 1.0),
        (0.5, [(0.1, 0.0), (float("inf"), 0.0)], None),
        (0.5, [], None),
    ],
)
def test_quantiles_are_estimated_as_prometheus_does(
    q: float, buckets: list[tuple[float, float]], expected: float | None
) -> None:
    assert quantile(q, buckets) == (pytest.approx(expected) if expected is not None else None)
