"""Under ``pgx-cds serve`` with two gunicorn workers, ``/metrics`` adds up what both counted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector

from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch
from tests.serving import kill_group, start_serve

pytestmark = pytest.mark.slow

WAIT_SECONDS = 30
HOOKS = 'pgx_cds_requests_total{endpoint="hook",service="pgx-order-sign",status="200"}'
CARDS = 'pgx_cds_cards_total{indicator="warning",topic="cpic-clopidogrel"}'


class Server:
    """A ``pgx-cds serve --workers 2`` on loopback, with its temporary folder under ``tmp``."""

    def __init__(self, process: subprocess.Popen[bytes], base: str, tmp: Path, log: Path) -> None:
        self.process = process
        self.base = base
        self.tmp = tmp
        self.log = log

    def metrics_folder(self) -> Path:
        folders = list(self.tmp.glob("pgx-cds-metrics-*"))
        assert len(folders) == 1, self.log.read_text()
        return folders[0]

    def counted_by_worker(self) -> dict[int, float]:
        """Hook calls counted by each process, read from its own file."""
        counted = {}
        for path in self.metrics_folder().glob("counter_*.db"):
            pid = int(path.stem.removeprefix("counter_"))
            samples = [
                s
                for metric in MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
                for s in metric.samples
                if s.name == "pgx_cds_requests_total"
                and s.labels == {"endpoint": "hook", "service": "pgx-order-sign", "status": "200"}
            ]
            counted[pid] = sum(s.value for s in samples)
        return counted

    def scrape(self, series: str) -> float:
        text = requests.get(f"{self.base}/metrics", timeout=10).text
        found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    log = tmp_path / "server.log"
    env = {
        "PGX_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/fb.sqlite3",
        "PGX_CDS_AUTH": "off",
        # Where `serve` makes its private metrics folder, so that this test can look inside.
        "TMPDIR": str(tmp),
    }
    # A folder set from outside would be used as it is; each test starts with none.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
        process, base = start_serve(tmp_path, env, workers=2, log=log)
    try:
        yield Server(process, base, tmp, log)
    finally:
        kill_group(process)


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {WAIT_SECONDS} s")
        time.sleep(0.1)


def call_hooks(base: str, count: int) -> None:
    """``count`` hook calls with a card, eight at a time so that both workers take some."""
    body = hook_request(
        medication_request(), prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2"))
    )

    def call(_: int) -> int:
        return requests.post(
            f"{base}/cds-services/pgx-order-sign", json=body, timeout=10
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(call, range(count))) == {200}


def test_metrics_add_up_across_workers_and_outlive_a_dead_one(server: Server) -> None:
    sent = 0

    def both_workers_counted() -> bool:
        nonlocal sent
        call_hooks(server.base, 40)
        sent += 40
        return len([n for n in server.counted_by_worker().values() if n > 0]) >= 2

    eventually(both_workers_counted, "hook calls served by both workers")
    by_worker = server.counted_by_worker()

    # Any worker answers the scrape with the sum of all: ask several times.
    assert {server.scrape(HOOKS) for _ in range(10)} == {float(sent)}
    assert sum(by_worker.values()) == sent
    assert server.scrape(CARDS) == sent

    # A worker killed: gunicorn starts another; what the dead one counted is still counted.
    victim = max(by_worker, key=lambda pid: by_worker[pid])
    os.kill(victim, signal.SIGKILL)
    eventually(
        lambda: "Booting worker" in server.log.read_text().split(str(victim))[-1], "new worker"
    )
    call_hooks(server.base, 10)
    assert {server.scrape(HOOKS) for _ in range(10)} == {float(sent + 10)}


def test_the_metrics_folder_is_private_and_removed_at_shutdown(server: Server) -> None:
    folder = server.metrics_folder()
    assert folder.stat().st_mode & 0o777 == 0o700

    os.kill(server.process.pid, signal.SIGTERM)
    server.process.wait(timeout=WAIT_SECONDS)

    assert not folder.exists()
