"""Feedback answered with 200 survives the server being SIGKILLed at once, and stays idempotent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from cds_hooks.feedback_store import FeedbackStore
from cds_hooks.services import SERVICES

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
FEEDBACK = {
    "feedback": [
        {
            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
            "outcome": "overridden",
            "overrideReason": {
                "reason": {"code": "d7ecf885", "system": "https://example.com/override-reason"}
            },
            "outcomeTimestamp": "2020-12-11T00:00:00Z",
        }
    ]
}

Server = Callable[[], tuple[subprocess.Popen[bytes], str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server not healthy after {STARTUP_SECONDS} s:\n{log.read_text()}")


def kill_group(process: subprocess.Popen[bytes]) -> None:
    # The whole session: gunicorn's master and its worker die together, with no chance to flush.
    # Only while our leader is unreaped: a reaped id could belong to someone else's process.
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/fb.sqlite3"


@pytest.fixture
def serve(tmp_path: Path, url: str) -> Iterator[Server]:
    """Start ``pgx-cds serve`` on a free loopback port; every server started is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "PGX_CDS_DATABASE_URL": url,
        "PGX_CDS_AUTH": "off",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }

    def start() -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        log = tmp_path / f"server-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cds_hooks.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                ],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(process, base, log)
        return process, base

    yield start
    for process in started:
        kill_group(process)


def test_feedback_survives_sigkill_right_after_200(serve: Server, url: str) -> None:
    service_id = next(iter(SERVICES))
    process, base = serve()

    response = requests.post(
        f"{base}/cds-services/{service_id}/feedback", json=FEEDBACK, timeout=10
    )
    assert (response.status_code, response.json()) == (200, {"stored": 1, "duplicates": 0})
    kill_group(process)

    store = FeedbackStore(url)
    try:
        assert [entry.card_uuid for entry in store.entries()] == [FEEDBACK["feedback"][0]["card"]]
    finally:
        store.close()

    _, base = serve()
    again = requests.post(f"{base}/cds-services/{service_id}/feedback", json=FEEDBACK, timeout=10)
    assert (again.status_code, again.json()) == (200, {"stored": 0, "duplicates": 1})
