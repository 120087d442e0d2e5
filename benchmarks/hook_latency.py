"""Print hook-call latency figures: in-process (the service's own cost) or over HTTP to a running one.

    .venv/bin/python benchmarks/hook_latency.py [--requests 2000] [--url http://127.0.0.1:8080]

Figures go to docs/benchmarks.md; nothing here asserts a time (timed tests flake).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from importlib import resources
from typing import Any

import requests


def _examples() -> dict[str, tuple[str, dict[str, Any]]]:
    folder = resources.files("cds_hooks").joinpath("examples")
    chosen = {
        "poor metabolizer, 1 card": "01-poor-metabolizer-clopidogrel.json",
        "normal metabolizer, no card": "02-normal-metabolizer-clopidogrel.json",
        "two orders, 1 card": "03-intermediate-metabolizer-two-orders.json",
    }
    out = {}
    for label, name in chosen.items():
        data = json.loads(folder.joinpath(name).read_text())
        out[label] = (data["service"], data["request"])
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _measure(send: Callable[[str, dict[str, Any]], int], count: int) -> None:
    for label, (service, body) in _examples().items():
        for _ in range(min(50, count)):  # warm-up
            send(service, body)
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            status = send(service, body)
            timings.append((time.perf_counter() - started) * 1000)
            assert status == 200, status
        p50, p95, p99 = (_percentile(timings, q) for q in (0.50, 0.95, 0.99))
        print(
            f"{label:30} n={count}  p50={p50:.2f} ms  p95={p95:.2f} ms  "
            f"p99={p99:.2f} ms  mean={statistics.fmean(timings):.2f} ms  "
            f"~{1000 / statistics.fmean(timings):.0f} req/s (one client)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--url", help="base URL of a running service (loopback only)")
    args = parser.parse_args()

    if args.url:
        session = requests.Session()
        base = args.url.rstrip("/")
        print(f"over HTTP to {base}")
        _measure(
            lambda s, b: session.post(f"{base}/cds-services/{s}", json=b, timeout=10).status_code,
            args.requests,
        )
        return

    from cds_hooks.app import create_app
    from cds_hooks.config import Settings
    from knowledge import load_knowledge_base

    tracemalloc.start()
    started = time.perf_counter()
    kb = load_knowledge_base()
    load_ms = (time.perf_counter() - started) * 1000
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"knowledge load: {load_ms:.0f} ms, peak allocation {peak / 2**20:.1f} MiB, {kb.version}")
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(Settings(database_url=f"sqlite:///{scratch}/b.sqlite3"), kb)
        client = app.test_client()
        print("in-process (Flask test client, no network)")
        _measure(lambda s, b: client.post(f"/cds-services/{s}", json=b).status_code, args.requests)


if __name__ == "__main__":
    main()
