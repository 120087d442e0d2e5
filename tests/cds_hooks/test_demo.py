"""``pgx-cds demo`` sends every bundled example and prints the cards readably."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from cds_hooks.cli import main
from cds_hooks.demo import demo_cases, render_response, run_demo


def test_bundled_examples_cover_several_patients_and_all_three_services() -> None:
    cases = demo_cases()

    assert len({c.request["context"]["patientId"] for c in cases}) >= 5
    assert {c.service for c in cases} == {
        "pgx-order-select",
        "pgx-order-sign",
        "pgx-medication-prescribe",
    }


def test_demo_in_process_prints_the_warning_and_its_swaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the in-process demo must not write into the working folder

    result = CliRunner().invoke(main, ["demo"])

    assert result.exit_code == 0, result.output
    assert "[WARNING] Clopidogrel: CYP2C19 Poor Metabolizer (*2/*2)" in result.output
    assert "• Replace clopidogrel with ticagrelor  [delete, create]" in result.output
    assert "6 example requests sent to an in-process service, 6 answered with HTTP 200" in (
        result.output
    )
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def running_service(app: Flask) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_demo_against_a_running_service_by_url(running_service: str) -> None:
    lines: list[str] = []

    status = run_demo(running_service, lines.append)

    assert status == 0
    assert sum("[WARNING]" in line for line in lines) == 3


def test_demo_reports_an_unreachable_service_and_fails() -> None:
    lines: list[str] = []

    status = run_demo("http://127.0.0.1:9", lines.append)

    assert status == 1
    assert "could not reach http://127.0.0.1:9" in "\n".join(lines)


def test_an_error_answer_is_printed_with_its_status() -> None:
    lines = list(render_response(412, {"error": "not prefetched"}))

    assert lines == ['  HTTP 412: {"error": "not prefetched"}']
