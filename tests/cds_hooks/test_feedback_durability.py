"""Feedback answered with 200 survives the server being SIGKILLed at once, and stays idempotent."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from cds_hooks.feedback_store import FeedbackStore
from cds_hooks.services import SERVICES
from tests.serving import kill_group, start_serve

pytestmark = pytest.mark.slow

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


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/fb.sqlite3"


@pytest.fixture
def serve(tmp_path: Path, url: str) -> Iterator[Server]:
    """Start ``pgx-cds serve`` on a free loopback port; every server started is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    env = {"PGX_CDS_DATABASE_URL": url, "PGX_CDS_AUTH": "off"}

    def start() -> tuple[subprocess.Popen[bytes], str]:
        log = tmp_path / f"server-{len(started)}.log"
        process, base = start_serve(tmp_path, env, workers=1, log=log)
        started.append(process)
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
