"""Health checks, JSON call logs without tokens or PHI, CORS by configuration."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from knowledge import KnowledgeBase
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch


def test_healthz_answers(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_the_knowledge_version(client: FlaskClient, kb: KnowledgeBase) -> None:
    body = client.get("/readyz").get_json()

    assert body["status"] == "ready"
    assert body["knowledge"]["version"] == kb.version
    assert body["knowledge"]["guidelines"] == sorted(kb.guidelines)
    assert "cpic-clopidogrel" in body["knowledge"]["guidelines"]


def test_readyz_is_503_when_the_feedback_store_is_unreachable(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = client.application.extensions["pgx_cds"].feedback
    monkeypatch.setattr(store, "ping", lambda: False)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["feedbackStore"] == "unreachable"


def _call_log(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    (record,) = [r for r in caplog.records if r.name == "cds_hooks.calls"]
    return record


def _pm_request() -> dict[str, object]:
    return hook_request(
        medication_request(),
        patient="patient-secret-id",
        fhir_server="https://ehr.example/fhir",
        token="token-never-logged",
        prefetch=pgx_prefetch(
            genotype_observation("CYP2C19", "*2/*2", patient="patient-secret-id")
        ),
    )


def test_each_call_logs_instance_service_latency_and_card_count(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = _pm_request()
    caplog.set_level(logging.INFO)

    client.post("/cds-services/pgx-order-sign", json=body)

    record = _call_log(caplog)
    assert record.hook_instance == body["hookInstance"]  # type: ignore[attr-defined]
    assert record.service_id == "pgx-order-sign"  # type: ignore[attr-defined]
    assert record.cards == 1  # type: ignore[attr-defined]
    assert record.latency_ms > 0  # type: ignore[attr-defined]


def test_logs_carry_no_token_patient_id_or_genotype_by_default(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    client.post("/cds-services/pgx-order-sign", json=_pm_request())

    logged = json.dumps([vars(r) for r in caplog.records], default=str)
    for secret in ("token-never-logged", "patient-secret-id", "*2/*2"):
        assert secret not in logged


def test_patient_id_and_genotypes_are_logged_when_explicitly_enabled(
    tmp_path: Path, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/f.sqlite3", log_phi=True)
    client = create_app(settings, kb).test_client()
    caplog.set_level(logging.INFO)

    client.post("/cds-services/pgx-order-sign", json=_pm_request())

    record = _call_log(caplog)
    assert record.patient_id == "patient-secret-id"  # type: ignore[attr-defined]
    assert record.genotypes == {"CYP2C19": "*2/*2"}  # type: ignore[attr-defined]
    assert "token-never-logged" not in json.dumps(vars(record), default=str)


def test_errors_are_logged_with_their_status(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    client.post("/cds-services/pgx-order-sign", json=hook_request(medication_request()))

    record = _call_log(caplog)
    assert record.status == 412  # type: ignore[attr-defined]


def test_no_cors_headers_unless_origins_are_configured(client: FlaskClient) -> None:
    response = client.get("/cds-services", headers={"Origin": "https://sandbox.cds-hooks.org"})

    assert "Access-Control-Allow-Origin" not in response.headers


def test_configured_origin_gets_a_preflight_answer(tmp_path: Path, kb: KnowledgeBase) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/f.sqlite3",
        cors_origins=["https://sandbox.cds-hooks.org"],
    )
    client = create_app(settings, kb).test_client()

    response = client.options(
        "/cds-services/pgx-order-sign",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )

    assert response.headers["Access-Control-Allow-Origin"] == "https://sandbox.cds-hooks.org"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    other = client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_cors_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGX_CDS_CORS_ORIGINS", "https://a.example, https://b.example")

    assert Settings().cors_origins == ["https://a.example", "https://b.example"]


def test_a_bug_is_a_json_500_that_reveals_nothing(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("cds_hooks.hooks.draft_medications", explode)

    response = client.post("/cds-services/pgx-order-sign", json=_pm_request())

    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error; the service log has the details"}


def test_unknown_path_and_wrong_method_answer_in_json(client: FlaskClient) -> None:
    assert client.get("/nowhere").get_json()["error"]
    assert client.get("/cds-services/pgx-order-sign").status_code == 405
    assert client.get("/cds-services/pgx-order-sign").is_json
