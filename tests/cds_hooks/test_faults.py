"""Hook calls against a real FHIR server that misbehaves: the configured answer, on time, never a 500.

Every fault here would hold a naive call for 30 s or more (a drip, a hang); the hook must answer
within its budget (0.3 s by default) plus scheduling slack for a busy test machine.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.degraded_card import ORDER_SUMMARY, SUMMARY_SUMMARY
from knowledge import KnowledgeBase
from tests.builders import genotype_observation, hook_request, medication_request, searchset
from tests.fault_server import FaultServer, Mode

# Real sockets that hang and drip against real time budgets: `make test`, not `make unit`.
pytestmark = pytest.mark.slow

BUDGET = 0.3
SLACK = 0.5
ORDER_SIGN = "/cds-services/pgx-order-sign"
PATIENT = "patient-4711-secret"
TOKEN = "token-never-shown"

MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def make_client(tmp_path: Path, kb: KnowledgeBase) -> Iterator[MakeClient]:
    """A test client of a service built with these settings (each app its own breakers)."""
    apps: list[Flask] = []

    def make(**settings: Any) -> FlaskClient:
        app = create_app(
            Settings(database_url=f"sqlite:///{tmp_path}/fb{len(apps)}.sqlite3", **settings), kb
        )
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["pgx_cds"].feedback.close()


def call(
    client: FlaskClient, server: FaultServer, service: str = ORDER_SIGN
) -> tuple[TestResponse, float]:
    hook = "patient-view" if service.endswith("patient-view") else "order-sign"
    orders = [] if hook == "patient-view" else [medication_request(patient=PATIENT)]
    body = hook_request(*orders, hook=hook, patient=PATIENT, fhir_server=server.url, token=TOKEN)
    started = time.monotonic()
    response = client.post(service, json=body)
    return response, time.monotonic() - started


def degraded_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.reason for r in caplog.records if getattr(r, "event", None) == "hook_degraded"]  # type: ignore[attr-defined]


# Each fault, and the reason the degraded answer gives for it.
FAULTS: list[tuple[Mode, str]] = [
    ("hang", "timeout"),
    ("reset", "unavailable"),
    ("500", "unavailable"),
    ("503", "unavailable"),
    ("not-json", "garbage"),
    ("not-bundle", "garbage"),
    ("truncated", "garbage"),
    ("drip", "timeout"),
    ("drip-headers", "timeout"),
    ("oversize", "garbage"),
    ("oversize-chunked", "garbage"),
    ("401", "refused"),
]


@pytest.mark.parametrize(("mode", "reason"), FAULTS)
def test_each_fault_gives_one_info_card_within_the_budget(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, mode: Mode, reason: str
) -> None:
    client = make_client(fhir_max_response_bytes=4096)
    with FaultServer(mode) as server, caplog.at_level(logging.INFO):
        response, elapsed = call(client, server)

    (card,) = response.get_json()["cards"]
    assert (response.status_code, card["indicator"], card["summary"]) == (
        200,
        "info",
        ORDER_SUMMARY,
    )
    assert "**not** checked against pharmacogenomic guidance" in card["detail"]
    assert card["source"]["label"] == "Pharmacogenomic check before signing"
    assert degraded_reasons(caplog) == [reason]
    assert elapsed < BUDGET + SLACK


@pytest.mark.parametrize("mode", ["hang", "drip", "500"])
def test_no_card_when_so_set(make_client: MakeClient, mode: Mode) -> None:
    client = make_client(fhir_failure_outcome="no-card")
    with FaultServer(mode) as server:
        response, elapsed = call(client, server)

    assert (response.status_code, response.get_json()) == (200, {"cards": []})
    assert elapsed < BUDGET + SLACK


@pytest.mark.parametrize("mode", ["hang", "drip", "500"])
def test_412_when_so_set(make_client: MakeClient, mode: Mode) -> None:
    client = make_client(fhir_failure_outcome="412")
    with FaultServer(mode) as server:
        response, elapsed = call(client, server)

    assert response.status_code == 412
    assert response.get_json()["expression"] == "prefetch.pgxResults"
    assert elapsed < BUDGET + SLACK


@pytest.mark.parametrize("outcome", ["info-card", "no-card", "412"])
def test_no_prefetch_and_no_fhir_server_is_a_412_whatever_the_outcome_setting(
    make_client: MakeClient, outcome: str
) -> None:
    client = make_client(fhir_failure_outcome=outcome)

    response = client.post(ORDER_SIGN, json=hook_request(medication_request()))

    assert response.status_code == 412


@pytest.mark.parametrize("mode", ["hang", "drip"])
def test_patient_view_says_its_summary_is_unavailable(make_client: MakeClient, mode: Mode) -> None:
    client = make_client()
    with FaultServer(mode) as server:
        response, elapsed = call(client, server, "/cds-services/pgx-patient-view")

    (card,) = response.get_json()["cards"]
    assert (response.status_code, card["summary"]) == (200, SUMMARY_SUMMARY)
    assert elapsed < BUDGET + SLACK


def test_the_degraded_answer_carries_no_token_patient_or_server_text(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    with FaultServer("500") as server, caplog.at_level(logging.DEBUG):
        response, _ = call(client, server)

    ours = [r for r in caplog.records if r.name.startswith(("cds_hooks", "fhir_adapters"))]
    shown = response.get_data(as_text=True) + "\n".join(r.getMessage() for r in ours)
    assert [
        s
        for s in (TOKEN, PATIENT, "OperationOutcome", "127.0.0.1")
        if s in response.get_data(as_text=True)
    ] == []
    assert [s for s in (TOKEN, PATIENT) if s in shown] == []


def test_a_larger_budget_waits_longer(make_client: MakeClient) -> None:
    client = make_client(hook_budget=1.0)
    with FaultServer("hang") as server:
        response, elapsed = call(client, server)

    assert response.status_code == 200
    assert 1.0 <= elapsed < 1.0 + SLACK


# --- the circuit breaker ------------------------------------------------------------------------


def test_the_breaker_opens_and_then_fails_fast_without_touching_the_server(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(fhir_breaker_failures=3)
    with FaultServer("500") as server, caplog.at_level(logging.INFO):
        for _ in range(3):
            call(client, server)
        assert server.requests == 3

        response, elapsed = call(client, server)

    assert server.requests == 3
    assert degraded_reasons(caplog)[-1] == "circuit_open"
    assert "has been failing" in response.get_json()["cards"][0]["detail"]
    assert elapsed < 0.1 + SLACK
    (opened,) = [r for r in caplog.records if r.getMessage().startswith("FHIR circuit opened")]
    assert opened.levelno == logging.WARNING
    assert f"127.0.0.1:{server.port} failed 3 times" in opened.getMessage()
    assert PATIENT not in opened.getMessage()


def test_the_breaker_lets_a_trial_through_after_its_reset_and_closes(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(fhir_breaker_failures=2, fhir_breaker_reset=0.2)
    results = searchset(genotype_observation("CYP2C19", "*2/*2", patient=PATIENT))
    with (
        FaultServer("hang", bodies={"Observation": results}) as server,
        caplog.at_level(logging.INFO),
    ):
        call(client, server)
        call(client, server)
        server.mode = "ok"
        _, fast = call(client, server)  # still open: the server is not asked
        assert server.requests == 2
        time.sleep(0.25)

        response, _ = call(client, server)

    (card,) = response.get_json()["cards"]
    assert (card["indicator"], server.requests) == ("warning", 3)
    assert fast < 0.1 + SLACK
    closed = [r for r in caplog.records if r.getMessage().startswith("FHIR circuit closed")]
    assert [r.levelno for r in closed] == [logging.INFO]


def test_refusals_do_not_open_the_breaker(make_client: MakeClient) -> None:
    client = make_client(fhir_breaker_failures=2)
    with FaultServer("401") as server:
        for _ in range(4):
            call(client, server)

        assert server.requests == 4


def test_one_failing_server_does_not_open_the_breaker_of_another(make_client: MakeClient) -> None:
    client = make_client(fhir_breaker_failures=1)
    with FaultServer("500") as failing, FaultServer("ok") as healthy:
        call(client, failing)
        response, _ = call(client, healthy)

    assert (response.get_json(), healthy.requests) == ({"cards": []}, 1)


# --- request bodies -----------------------------------------------------------------------------


def _oversized_hook_body() -> bytes:
    body = hook_request(medication_request(), prefetch={"pgxResults": None})
    body["context"]["padding"] = "x" * 4096
    return str(body).replace("'", '"').replace("None", "null").encode()


@pytest.mark.parametrize("path", [ORDER_SIGN, "/cds-services/pgx-order-sign/feedback"])
def test_an_oversized_body_is_a_413_in_json(make_client: MakeClient, path: str) -> None:
    client = make_client(max_request_bytes=1024)

    response = client.post(path, data=_oversized_hook_body(), content_type="application/json")

    assert response.status_code == 413
    assert "error" in response.get_json()


@pytest.mark.parametrize(("size", "status"), [(900, 200), (4096, 413), (1_000_000, 413)])
def test_a_chunked_body_without_content_length_is_bounded_too(
    tmp_path: Path, kb: KnowledgeBase, size: int, status: int
) -> None:
    # A real server: only a WSGI server marks a chunked body's end (wsgi.input_terminated).
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", max_request_bytes=1024), kb
    )
    body = json.dumps(hook_request(medication_request(), prefetch={"pgxResults": None}))
    body = body[:-1] + ', "padding": "' + "x" * max(0, size - len(body) - 16) + '"}'
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        chunks = (body[i : i + 512].encode() for i in range(0, len(body), 512))
        connection.request(
            "POST",
            ORDER_SIGN,
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
        server.shutdown()
        server.server_close()
        thread.join()
        app.extensions["pgx_cds"].feedback.close()

    assert response.status == status, answer
    assert ("error" in answer) is (status == 413)


def test_a_body_within_the_limit_is_answered(make_client: MakeClient) -> None:
    client = make_client(max_request_bytes=64 * 1024)

    response = client.post(ORDER_SIGN, data=_oversized_hook_body(), content_type="application/json")

    assert response.status_code == 200
