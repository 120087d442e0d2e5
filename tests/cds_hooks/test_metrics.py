"""Each metric moves for real calls, with bounded labels; ``GET /metrics`` exposes them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from cds_hooks.app import create_app
from cds_hooks.cards import NON_ADHERENCE
from cds_hooks.config import Settings
from cds_hooks.knowledge_reload import KnowledgeHolder, ReloadOutcome
from cds_hooks.metrics import MULTIPROC_ENV, use_multiprocess_dir
from knowledge import KnowledgeBase
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch
from tests.serving import free_port

REPO = Path(__file__).resolve().parents[2]
WHEN = "2021-12-11T10:05:31Z"


def sample(name: str, **labels: str) -> float:
    """A sample's value now; 0 before its series exists (metrics are process-global)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests_counted(endpoint: str, service: str, status: str) -> float:
    return sample("pgx_cds_requests_total", endpoint=endpoint, service=service, status=status)


def clopidogrel_call(diplotype: str) -> dict[str, Any]:
    return hook_request(
        medication_request(),
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", diplotype)),
    )


def test_a_hook_call_with_a_card_counts_the_card_by_guideline_and_indicator(
    client: FlaskClient,
) -> None:
    cards = {"topic": "cpic-clopidogrel", "indicator": "warning"}
    before = sample("pgx_cds_cards_total", **cards)

    response = client.post("/cds-services/pgx-order-sign", json=clopidogrel_call("*2/*2"))

    assert [card["indicator"] for card in response.json["cards"]] == ["warning"]
    assert sample("pgx_cds_cards_total", **cards) == before + 1


def test_a_hook_call_without_a_card_counts_none(client: FlaskClient) -> None:
    cards = {"topic": "cpic-clopidogrel", "indicator": "warning"}
    before = sample("pgx_cds_cards_total", **cards)

    response = client.post("/cds-services/pgx-order-sign", json=clopidogrel_call("*1/*1"))

    assert response.json["cards"] == []
    assert sample("pgx_cds_cards_total", **cards) == before


def test_a_hook_call_is_counted_and_timed_under_its_service(client: FlaskClient) -> None:
    labels = {"endpoint": "hook", "service": "pgx-order-select"}
    count = sample("pgx_cds_requests_total", **labels, status="200")
    timed = sample("pgx_cds_request_seconds_count", **labels)
    slowest = sample("pgx_cds_request_seconds_bucket", **labels, le="+Inf")

    response = client.post(
        "/cds-services/pgx-order-select", json=clopidogrel_call("*2/*2") | {"hook": "order-select"}
    )

    assert response.status_code == 200
    assert sample("pgx_cds_requests_total", **labels, status="200") == count + 1
    assert sample("pgx_cds_request_seconds_count", **labels) == timed + 1
    assert sample("pgx_cds_request_seconds_bucket", **labels, le="+Inf") == slowest + 1
    assert sample("pgx_cds_request_seconds_sum", **labels) > 0


def test_a_fhir_server_that_is_down_counts_an_error_and_a_degraded_answer(
    client: FlaskClient,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/fhir"
    errors = sample("pgx_cds_fhir_errors_total", kind="unavailable")
    failed_calls = sample("pgx_cds_fhir_call_seconds_count", outcome="error")
    degraded = sample("pgx_cds_hook_degraded_total", outcome="info-card")
    info_cards = sample("pgx_cds_cards_total", topic="pgx-check-not-run", indicator="info")

    response = client.post(
        "/cds-services/pgx-order-sign",
        json=hook_request(medication_request(), fhir_server=dead, token="t"),
    )

    assert response.status_code == 200
    assert sample("pgx_cds_fhir_errors_total", kind="unavailable") == errors + 1
    assert sample("pgx_cds_fhir_call_seconds_count", outcome="error") == failed_calls + 1
    assert sample("pgx_cds_hook_degraded_total", outcome="info-card") == degraded + 1
    assert (
        sample("pgx_cds_cards_total", topic="pgx-check-not-run", indicator="info") == info_cards + 1
    )


@pytest.fixture
def jwt_client(tmp_path: Path, kb: KnowledgeBase) -> Iterator[FlaskClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/jwt.sqlite3",
        auth="jwt",
        trusted_issuers=REPO / "deploy" / "trusted-issuers" / "sandbox.yaml",
    )
    app = create_app(settings, kb)
    yield app.test_client()
    app.extensions["pgx_cds"].feedback.close()


def test_a_refused_token_is_counted_by_reason_and_as_a_401(jwt_client: FlaskClient) -> None:
    rejected = sample("pgx_cds_jwt_rejections_total", reason="missing")
    refused = requests_counted("hook", "pgx-order-sign", "401")

    response = jwt_client.post("/cds-services/pgx-order-sign", json=clopidogrel_call("*2/*2"))

    assert response.status_code == 401
    assert sample("pgx_cds_jwt_rejections_total", reason="missing") == rejected + 1
    assert requests_counted("hook", "pgx-order-sign", "401") == refused + 1
    assert jwt_client.get("/metrics").status_code == 200  # no token needed


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/cds-services", None, ("discovery", "none", "200")),
        ("GET", "/healthz", None, ("health", "none", "200")),
        ("GET", "/readyz", None, ("health", "none", "200")),
        ("GET", "/metrics", None, ("metrics", "none", "200")),
        ("GET", "/openapi.json", None, ("openapi", "none", "200")),
        ("POST", "/cds-services/pgx-order-sign", b"{not json", ("hook", "pgx-order-sign", "400")),
        ("POST", "/cds-services/pgx-order-sign", {}, ("hook", "pgx-order-sign", "400")),
        ("POST", "/cds-services/no-such-service", {}, ("hook", "unknown", "404")),
        ("POST", "/cds-services/..%2Fetc%2Fpasswd", {}, ("other", "none", "404")),
        (
            "POST",
            "/cds-services/pgx-order-sign/feedback",
            [],
            ("feedback", "pgx-order-sign", "400"),
        ),
        ("POST", "/cds-services/fuzz-1234/feedback", {}, ("feedback", "unknown", "404")),
        ("GET", "/cds-services/pgx-order-sign", None, ("other", "none", "405")),
        ("GET", "/no/such/path", None, ("other", "none", "404")),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_every_request_is_counted_with_bounded_labels(
    client: FlaskClient,
    method: str,
    path: str,
    body: object,
    expected: tuple[str, str, str],
) -> None:
    before = requests_counted(*expected)

    if isinstance(body, bytes):
        response = client.open(path, method=method, data=body, content_type="application/json")
    else:
        response = client.open(path, method=method, json=body)

    assert str(response.status_code) == expected[2]
    assert requests_counted(*expected) == before + 1


def test_a_fuzzed_service_id_creates_no_series_of_its_own(client: FlaskClient) -> None:
    client.post("/cds-services/fuzz-x7q-unique-id", json={})

    exposed = client.get("/metrics").get_data(as_text=True)

    assert "fuzz-x7q-unique-id" not in exposed
    assert 'service="unknown"' in exposed


def test_a_bug_is_counted_as_a_500(app: Flask, client: FlaskClient) -> None:
    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/broken", view_func=broken)
    before = requests_counted("other", "none", "500")

    response = client.get("/broken")

    assert response.status_code == 500
    assert requests_counted("other", "none", "500") == before + 1


def test_an_exception_escaping_every_handler_is_counted_once_as_a_500(
    app: Flask, client: FlaskClient
) -> None:
    # An after_request that raises, in testing mode: Flask propagates it and skips the others;
    # only teardown sees the request end.
    app.testing = True

    @app.after_request
    def _broken(response: Any) -> Any:
        raise RuntimeError("a bug after the view")

    before = requests_counted("health", "none", "500")

    with pytest.raises(RuntimeError, match="a bug after the view"):
        client.get("/healthz")

    assert requests_counted("health", "none", "500") == before + 1


def _feedback(outcome: str, reason: dict[str, str] | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "card": os.urandom(8).hex(),
        "outcome": outcome,
        "outcomeTimestamp": WHEN,
    }
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": "suggestion-1"}]
    if reason is not None:
        item["overrideReason"] = {"reason": reason, "userComment": "free text, never a label"}
    return {"feedback": [item]}


@pytest.mark.parametrize(
    ("outcome", "reason", "label"),
    [
        ("accepted", None, "none"),
        ("overridden", None, "none"),
        (
            "overridden",
            {"system": NON_ADHERENCE, "code": "patient-contraindication"},
            "patient-contraindication",
        ),
        ("overridden", {"code": "risk-benefit-ratio"}, "risk-benefit-ratio"),
        ("overridden", {"system": "https://example.org/r", "code": "d7ecf885"}, "other"),
        ("overridden", {"system": "https://example.org/r", "code": "risk-benefit-ratio"}, "other"),
    ],
)
def test_feedback_is_counted_by_outcome_and_declared_reason(
    client: FlaskClient, outcome: str, reason: dict[str, str] | None, label: str
) -> None:
    before = sample("pgx_cds_feedback_total", outcome=outcome, reason=label)

    response = client.post("/cds-services/pgx-order-sign/feedback", json=_feedback(outcome, reason))

    assert response.status_code == 200
    assert sample("pgx_cds_feedback_total", outcome=outcome, reason=label) == before + 1


def test_feedback_sent_again_is_not_counted_again(client: FlaskClient) -> None:
    body = _feedback("overridden", {"system": NON_ADHERENCE, "code": "cds-not-applicable"})
    labels = {"outcome": "overridden", "reason": "cds-not-applicable"}
    before = sample("pgx_cds_feedback_total", **labels)

    first = client.post("/cds-services/pgx-order-sign/feedback", json=body)
    again = client.post("/cds-services/pgx-order-sign/feedback", json=body)

    assert (first.json, again.json) == (
        {"stored": 1, "duplicates": 0},
        {"stored": 0, "duplicates": 1},
    )
    assert sample("pgx_cds_feedback_total", **labels) == before + 1


def test_new_items_of_a_batch_holding_a_resent_one_are_counted(client: FlaskClient) -> None:
    old = _feedback("overridden", {"system": NON_ADHERENCE, "code": "cds-not-applicable"})
    new = _feedback("overridden", {"system": NON_ADHERENCE, "code": "cds-not-applicable"})
    labels = {"outcome": "overridden", "reason": "cds-not-applicable"}
    client.post("/cds-services/pgx-order-sign/feedback", json=old)
    before = sample("pgx_cds_feedback_total", **labels)

    mixed = client.post(
        "/cds-services/pgx-order-sign/feedback",
        json={"feedback": old["feedback"] + new["feedback"]},
    )

    assert mixed.json == {"stored": 1, "duplicates": 1}
    assert sample("pgx_cds_feedback_total", **labels) == before + 1


def test_metrics_are_exposed_as_prometheus_text(client: FlaskClient, kb: KnowledgeBase) -> None:
    client.post("/cds-services/pgx-order-sign", json=clopidogrel_call("*2/*2"))

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "# TYPE pgx_cds_requests_total counter" in text
    assert "# TYPE pgx_cds_request_seconds histogram" in text
    assert 'pgx_cds_cards_total{indicator="warning",topic="cpic-clopidogrel"}' in text
    assert f'pgx_cds_knowledge_info{{version="{kb.version}"}} 1.0' in text
    assert f"pgx_cds_knowledge_guidelines {float(len(kb.guidelines))}" in text
    assert "pgx_cds_knowledge_reload_refused 0.0" in text


def test_openmetrics_is_served_when_asked_for(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})

    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).endswith("# EOF\n")


def test_a_refused_reload_shows_in_the_metrics(
    settings: Settings, kb: KnowledgeBase, tmp_path: Path
) -> None:
    # An empty folder: drugs.yaml missing, so the reload is refused and kb keeps serving.
    holder = KnowledgeHolder(kb, tmp_path / "knowledge")
    (tmp_path / "knowledge").mkdir()
    assert holder.reload() is ReloadOutcome.REFUSED
    app = create_app(settings, holder)
    try:
        text = app.test_client().get("/metrics").get_data(as_text=True)
    finally:
        app.extensions["pgx_cds"].feedback.close()

    assert "pgx_cds_knowledge_reload_refused 1.0" in text
    assert "pgx_cds_knowledge_reload_refused_errors 1.0" in text
    assert f'pgx_cds_knowledge_info{{version="{kb.version}"}} 1.0' in text


@pytest.fixture
def no_metrics_client(tmp_path: Path, kb: KnowledgeBase) -> Iterator[FlaskClient]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/off.sqlite3", metrics=False), kb)
    yield app.test_client()
    app.extensions["pgx_cds"].feedback.close()


def test_metrics_off_means_no_endpoint_and_no_counting(no_metrics_client: FlaskClient) -> None:
    before = requests_counted("health", "none", "200")

    assert no_metrics_client.get("/healthz").status_code == 200
    assert no_metrics_client.get("/metrics").status_code == 404
    assert requests_counted("health", "none", "200") == before


@pytest.mark.slow  # a fresh interpreter in a subprocess
def test_building_the_app_does_not_import_prometheus_client(tmp_path: Path) -> None:
    # `pgx-cds serve` sets the multi-process folder after the package is imported and the app
    # built; prometheus_client picks in-memory or shared values at its import, so not before.
    script = (
        "import sys\n"
        "import cds_hooks.cli, cds_hooks.gunicorn_app, cds_hooks.wsgi\n"
        "print('prometheus_client' in sys.modules)\n"
    )
    env = {
        **os.environ,
        "PGX_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/f.sqlite3",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop(MULTIPROC_ENV, None)

    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_the_multiprocess_folder_refuses_to_be_set_too_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This test process imported prometheus_client above, with values kept in memory.
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)

    with pytest.raises(RuntimeError, match="imported before the multi-process folder was set"):
        use_multiprocess_dir(tmp_path)

    assert MULTIPROC_ENV not in os.environ
