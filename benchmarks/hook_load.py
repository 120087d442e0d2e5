"""Load-test the order-sign hook under gunicorn on loopback; print figures against issue #7's targets.

    python -m benchmarks.hook_load                     # everything, with a 5-minute soak (make bench)
    python -m benchmarks.hook_load --quick             # a short smoke of every step
    deploy/hapi/with-hapi.sh python -m benchmarks.hook_load   # with the FHIR step (FHIR_BASE_URL)

The workload is benchmarks/hook_workload.py: order-sign, ten PGx results, three draft orders that
each get a card. Steps: worker-class sweep; maximum throughput (closed loop, wrk, several
connection counts); p50/p99 at a constant rate of half the maximum (open loop, benchmarks/load/
openloop: no coordinated omission); the same with INFO JSON logging; the call without prefetch, reading HAPI
FHIR, beside HAPI's own time for the same searches; the in-process cost of one evaluation and of a
whole call; a soak at half the maximum with every gunicorn process's RSS sampled. Generators and
server share the machine's cores: each step reports the CPU each of them used.

Figures go to docs/benchmarks.md and var/bench/hook_load-*.json; nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import requests

REPO = Path(__file__).resolve().parents[1]
if not __package__:  # run as a file, not with -m: make `benchmarks.*` importable
    sys.path.insert(0, str(REPO))

from benchmarks.hook_workload import (  # noqa: E402
    DRUGS,
    PATIENT,
    genotype_observations,
    order_sign_request,
    patient_resource,
)

LOAD = REPO / "benchmarks" / "load"
WRK_SCRIPT = LOAD / "closed-loop.lua"
OUT = REPO / "var" / "bench"
OPEN_LOOP = OUT / "openloop"  # built from benchmarks/load/openloop by benchmarks/load/install.sh
SERVICE_PATH = "/cds-services/pgx-order-sign"
TICK = os.sysconf("SC_CLK_TCK")

# Issue #7's targets.
TARGET_RPS = 1000.0
TARGET_P99_MS = 20.0
TARGET_BEYOND_FHIR_MS = 5.0
FLAT_MIB_PER_MIN = 1.0
# InProcessMemory's max_entries (cds_hooks/alert_memory.py), per worker.
ALERT_MEMORY_CAP = 20_000  # PGX_CDS_ALERT_MEMORY_MAX_ENTRIES' default


@dataclass(frozen=True)
class Durations:
    sweep: float
    closed: float
    fixed: float
    info: float
    fhir: float
    direct_calls: int
    direct_seconds: float
    inprocess_calls: int
    soak: float
    connections: tuple[int, ...]


FULL = Durations(10, 20, 60, 20, 20, 300, 5, 2000, 300, (1, 4, 16, 64))
QUICK = Durations(3, 4, 8, 4, 4, 40, 2, 300, 20, (4, 16))


@dataclass(frozen=True)
class ServerConfig:
    workers: int
    worker_class: str = "sync"
    threads: int = 1
    # PGX_CDS_* settings for this server on top of the benchmark's own (--server-env).
    env: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        if self.worker_class == "sync":
            return f"sync x{self.workers}"
        return f"{self.worker_class} x{self.workers} ({self.threads} threads)"

    def command(self, port: int) -> list[str]:
        if self.worker_class == "sync":
            # The real entry point, as an operator runs it.
            return [
                sys.executable,
                "-m",
                "cds_hooks.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
            ]
        return [
            sys.executable,
            "-m",
            "benchmarks.serve_gunicorn",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
        ]


# --- processes and CPU -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


class Server:
    """``pgx-cds serve`` (or the gthread launcher) on a free loopback port, stopped on exit."""

    def __init__(self, config: ServerConfig, scratch: Path, *, log_level: str, **env: str) -> None:
        self.config = config
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = OUT / f"server-{self.port}.log"
        self._env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PGX_CDS_AUTH": "off",
            "PGX_CDS_DATABASE_URL": f"sqlite:///{scratch}/feedback-{self.port}.sqlite3",
            "PGX_CDS_RXNAV_URL": "off",
            "PGX_CDS_LOG_LEVEL": log_level,
            "PGX_CDS_KNOWLEDGE_RELOAD_INTERVAL": "0",
            **dict(config.env),
            **env,
        }
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        OUT.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.config.command(self.port),
                env=self._env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped whole, by its id
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the server exited at start-up:\n{self._log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/readyz", timeout=2).ok and len(self.pids()) > 1:
                    return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the server was not ready after 90 s:\n{self._log_tail()}")

    def __exit__(self, *_: object) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # gunicorn: graceful stop of master and workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def pids(self) -> list[int]:
        """The gunicorn master, then its workers."""
        assert self._proc is not None
        return [self._proc.pid, *_children(self._proc.pid)]

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(pid) for pid in self.pids())

    def _log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


# --- load generators ----------------------------------------------------------------------------


def _run_generator(
    command: list[str], server: Server, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one generator to its end; its JSON plus the CPU it, the server and the machine used."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = server.cpu_seconds()
    busy_before, total_before = _machine_ticks()
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    wall = time.monotonic() - started
    busy_after, total_after = _machine_ticks()
    server_cpu = server.cpu_seconds() - server_before
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    generator_cpu = (after_children.ru_utime - before_children.ru_utime) + (
        after_children.ru_stime - before_children.ru_stime
    )
    result["cpu"] = {
        # In cores: 1.0 is one core busy for the whole run; the machine has os.cpu_count().
        "generator_cores": round(generator_cpu / wall, 3),
        "server_cores": round(server_cpu / wall, 3),
        "machine_busy_cores": round(
            (busy_after - busy_before) / max(1, total_after - total_before) * (os.cpu_count() or 1),
            3,
        ),
    }
    return result


def closed_loop(server: Server, body: Path, connections: int, seconds: float) -> dict[str, Any]:
    """wrk: ``connections`` clients, each sending its next call when the last is answered."""
    raw = _run_generator(
        [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds:g}s",
            "--timeout",
            "10s",
            "--script",
            str(WRK_SCRIPT),
            server.url + SERVICE_PATH,
        ],
        server,
        {"BODY_FILE": str(body)},
    )
    result = {
        "mode": "closed",
        "connections": connections,
        "seconds": raw["duration_s"],
        "completed": raw["completed"],
        "rps": round(raw["completed"] / raw["duration_s"], 1),
        "p50_ms": _round(raw["p50_ms"]),
        "p99_ms": _round(raw["p99_ms"]),
        "max_ms": _round(raw["max_ms"]),
        "non2xx": raw["non2xx"],
        "errors": raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        "cpu": raw["cpu"],
    }
    result["server_cpu_ms_per_call"] = _cpu_per_call(result)
    return result


def open_loop(server: Server, body: Path, rate: float, seconds: float) -> dict[str, Any]:
    """openloop: calls due at a constant rate, latency counted from the due time."""
    raw = _run_generator(
        [
            str(OPEN_LOOP),
            "-url",
            server.url + SERVICE_PATH,
            "-body",
            str(body),
            "-rate",
            f"{rate:.1f}",
            "-duration",
            f"{seconds:g}s",
        ],
        server,
        # One thread is plenty at these rates, and keeps the generator off the second core.
        {"GOMAXPROCS": "1"},
    )
    result = {
        "mode": "open",
        "rate": round(rate, 1),
        "seconds": raw["duration_s"],
        "completed": raw["completed"],
        "rps": round(raw["throughput"], 1),
        "p50_ms": _round(raw["latency_ms"]["p50"]),
        "p99_ms": _round(raw["latency_ms"]["p99"]),
        "p999_ms": _round(raw["latency_ms"]["p999"]),
        "max_ms": _round(raw["latency_ms"]["max"]),
        "non2xx": raw["non2xx"],
        "errors": raw["error_count"],
        "error_kinds": raw["errors"],
        "max_in_flight": raw["max_in_flight"],
        "cpu": raw["cpu"],
    }
    result["server_cpu_ms_per_call"] = _cpu_per_call(result)
    return result


def _cpu_per_call(result: dict[str, Any]) -> float | None:
    cores: float = result["cpu"]["server_cores"]
    rps: float = result["rps"]
    return round(cores / rps * 1000, 3) if rps else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- steps --------------------------------------------------------------------------------------


@dataclass
class Report:
    machine: dict[str, Any]
    settings: dict[str, Any]
    steps: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        print(text, flush=True)


def _write_body(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _check_cards(url: str, body: dict[str, Any], expected: int) -> list[str]:
    """One call: HTTP 200 and one card per order, or the benchmark measures the wrong thing."""
    text = json.dumps(body).replace("[<id>]", str(uuid.uuid4()))
    response = requests.post(
        url + SERVICE_PATH,
        data=text,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    cards = response.json().get("cards", []) if response.ok else []
    summaries = [card["summary"] for card in cards]
    if response.status_code != 200 or len(cards) != expected:
        raise RuntimeError(
            f"sanity call: HTTP {response.status_code}, {len(cards)} cards (want {expected}): "
            f"{response.text[:500]}"
        )
    return summaries


def _ms(value: float | None, width: int = 6) -> str:
    return f"{value:{width}.2f}" if value is not None else " " * (width - 1) + "-"


def _print_load(label: str, r: dict[str, Any]) -> None:
    cpu = r["cpu"]
    rate = f"rate {r['rate']:>6}" if r["mode"] == "open" else f"c={r['connections']:<3}"
    print(
        f"  {label:26} {rate}  {r['rps']:7.1f} req/s  p50 {_ms(r['p50_ms'])} ms  "
        f"p99 {_ms(r['p99_ms'], 7)} ms  non2xx {r['non2xx']}  errors {r['errors']}  "
        f"cpu: server {cpu['server_cores']:.2f} ({r['server_cpu_ms_per_call']} ms/call), "
        f"generator {cpu['generator_cores']:.2f}, machine {cpu['machine_busy_cores']:.2f} cores",
        flush=True,
    )


def _warm(server: Server, body: Path) -> None:
    closed_loop(server, body, 4, 3)


def step_sweep(
    report: Report, scratch: Path, body: Path, configs: list[ServerConfig], d: Durations
) -> None:
    report.note(f"\n[sweep] worker classes, closed loop c=16, {d.sweep:g} s each, WARNING logs")
    rows = []
    for config in configs:
        with Server(config, scratch, log_level="WARNING") as server:
            _warm(server, body)
            result = closed_loop(server, body, 16, d.sweep)
        _print_load(config.label, result)
        rows.append({"config": config.label, **result})
    report.steps["sweep"] = rows


def step_prefetch(
    report: Report,
    scratch: Path,
    body: Path,
    config: ServerConfig,
    d: Durations,
    log_level: str,
) -> float:
    """Max throughput, then constant rate at half of it (and at half the target, if lower)."""
    report.note(f"\n[prefetch] {config.label}, logs at {log_level}")
    with Server(config, scratch, log_level=log_level) as server:
        report.steps["cards"] = _check_cards(server.url, json.loads(body.read_text()), len(DRUGS))
        _warm(server, body)
        closed = []
        for connections in d.connections:
            result = closed_loop(server, body, connections, d.closed)
            _print_load("closed loop", result)
            closed.append(result)
        best: float = max(r["rps"] for r in closed)
        rates = sorted({round(best / 2, 1), TARGET_RPS / 2}, reverse=True)
        fixed = []
        for rate in rates:
            result = open_loop(server, body, rate, d.fixed)
            _print_load("constant rate", result)
            fixed.append(result)
    report.steps["prefetch"] = {
        "config": config.label,
        "log_level": log_level,
        "closed": closed,
        "max_rps": best,
        "fixed": fixed,
    }
    return best


def step_info_logging(
    report: Report, scratch: Path, body: Path, config: ServerConfig, d: Durations, rate: float
) -> None:
    """The production default: one INFO JSON line per call (to a file here, not a terminal)."""
    report.note(f"\n[info logging] {config.label}, PGX_CDS_LOG_LEVEL=INFO, log to a file")
    with Server(config, scratch, log_level="INFO") as server:
        _warm(server, body)
        closed = closed_loop(server, body, 16, d.info)
        _print_load("closed loop", closed)
        fixed = open_loop(server, body, rate, d.info)
        _print_load("constant rate", fixed)
    report.steps["info_logging"] = {"closed": closed, "fixed": fixed}


def _seed_fhir(base: str, patient: str) -> None:
    """The Patient and the same ten results, on the FHIR server (as tests/integration does)."""
    from tests.integration.fhir_loader import for_patient, post_transaction, transaction_of

    with requests.Session() as session:
        session.headers.update(
            {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
        )
        response = session.put(f"{base}/Patient/{patient}", json=patient_resource(patient))
        response.raise_for_status()
        transaction = for_patient(transaction_of(genotype_observations(patient)), patient)
        post_transaction(session, base, transaction)


def _searches_made(body: dict[str, Any], settings_env: dict[str, str]) -> list[str]:
    """The FHIR URLs one call reads, in order: the call run in-process with requests recorded."""
    from cds_hooks.app import create_app
    from cds_hooks.config import Settings

    urls: list[str] = []
    real_send = requests.Session.send

    def recording_send(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        urls.append(str(request.url))
        return real_send(self, request, **kwargs)

    overrides: dict[str, Any] = {
        name.removeprefix("PGX_CDS_").lower(): value for name, value in settings_env.items()
    }
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            database_url=f"sqlite:///{scratch}/f.sqlite3", auth="off", rxnav_url="off", **overrides
        )
        app = create_app(settings)
        with mock.patch.object(requests.Session, "send", recording_send):
            response = app.test_client().post(SERVICE_PATH, json=body)
        app.extensions["pgx_cds"].feedback.close()
    if response.status_code != 200 or len(response.get_json()["cards"]) != len(DRUGS):
        raise RuntimeError(f"in-process FHIR call: {response.status_code} {response.data[:500]!r}")
    return urls


def _wrk_fhir(urls: list[str], seconds: float) -> dict[str, Any]:
    """HAPI's own time per search: wrk (a C client, ~0.1 ms per call), one connection each."""
    searches = []
    for url in urls:
        done = subprocess.run(
            [
                "wrk",
                "-t1",
                "-c1",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                str(WRK_SCRIPT),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            env={k: v for k, v in os.environ.items() if k != "BODY_FILE"},
        )
        raw = json.loads(done.stdout.strip().splitlines()[-1])
        if raw["non2xx"] or not raw["completed"]:
            raise RuntimeError(f"HAPI direct: {url}: {raw}")
        searches.append(
            {
                "url": _short(url),
                "p50_ms": round(raw["p50_ms"], 2),
                "p99_ms": round(raw["p99_ms"], 2),
            }
        )
    return {
        "client": "wrk",
        "searches": searches,
        "p50_ms": round(sum(s["p50_ms"] for s in searches), 2),
    }


def _short(url: str) -> str:
    return url.split("?")[0].rsplit("/", 1)[-1] + "?" + url.partition("?")[2][:60]


def _direct_fhir(urls: list[str], calls: int) -> dict[str, Any]:
    """HAPI's own time: the same searches in the same order, one client, keep-alive."""
    per_search: list[list[float]] = [[] for _ in urls]
    totals = []
    with requests.Session() as session:
        session.headers["Accept"] = "application/fhir+json"
        for number in range(calls + 20):
            call_started = time.perf_counter()
            for index, url in enumerate(urls):
                started = time.perf_counter()
                session.get(url, timeout=30).raise_for_status()
                if number >= 20:  # the first 20 warm HAPI's caches and JIT
                    per_search[index].append((time.perf_counter() - started) * 1000)
            if number >= 20:
                totals.append((time.perf_counter() - call_started) * 1000)
    return {
        "calls": calls,
        "searches": [
            {"url": _short(url), "p50_ms": round(_pct(times, 0.5), 2)}
            for url, times in zip(urls, per_search, strict=True)
        ],
        "p50_ms": round(_pct(totals, 0.5), 2),
        "p99_ms": round(_pct(totals, 0.99), 2),
    }


def step_fhir(
    report: Report,
    scratch: Path,
    config: ServerConfig,
    d: Durations,
    base: str | None,
    prefetch_c1_p50: float | None,
) -> None:
    if not base:
        report.note(
            "\n[fhir] skipped: FHIR_BASE_URL is not set (make bench runs under with-hapi.sh)"
        )
        report.steps["fhir"] = {"skipped": "FHIR_BASE_URL not set"}
        return
    base = base.rstrip("/")
    patient = f"{PATIENT}-{uuid.uuid4().hex[:8]}"
    _seed_fhir(base, patient)
    # A loaded HAPI can take longer than the production budget (0.3 s) and read timeout (1.5 s);
    # a FHIR failure must show as an error, not as the 200 "could not check" card.
    env = {
        "PGX_CDS_HOOK_BUDGET": "10",
        "PGX_CDS_FHIR_CONNECT_TIMEOUT": "5",
        "PGX_CDS_FHIR_READ_TIMEOUT": "10",
        "PGX_CDS_FHIR_DEADLINE": "20",
        "PGX_CDS_FHIR_FAILURE_OUTCOME": "412",
    }
    request = order_sign_request(prefetch=False, fhir_server=base, patient=patient)
    urls = _searches_made({**request, "hookInstance": str(uuid.uuid4())}, env)
    report.note(f"\n[fhir] {base}, {len(urls)} searches per call; the hook, and HAPI direct")
    body = _write_body(scratch / "fhir-body.json", request)

    def direct_run(when: str) -> dict[str, Any]:
        # Two clients: wrk, whose own cost is ~0.1 ms a call (HAPI's time, nearly alone), and
        # Python requests in turn as the service does (so its client's cost counts as FHIR's).
        by_wrk = _wrk_fhir(urls, d.direct_seconds)
        by_requests = _direct_fhir(urls, d.direct_calls)
        print(
            f"  HAPI direct, {when:6}: sum of {len(urls)} searches' p50 {by_wrk['p50_ms']:.2f} ms "
            "with wrk ("
            + ", ".join(f"{s['url'].split('?')[0]} {s['p50_ms']}" for s in by_wrk["searches"])
            + f"); in turn with Python requests p50 {by_requests['p50_ms']:.2f} ms, "
            f"p99 {by_requests['p99_ms']:.2f} ms",
            flush=True,
        )
        return {"wrk": by_wrk, "requests": by_requests}

    with Server(config, scratch, log_level="WARNING", **env) as server:
        _check_cards(server.url, request, len(DRUGS))
        # HAPI's JIT and caches warm up over the first thousand searches or so.
        closed_loop(server, body, 4, max(5.0, d.fhir / 2))
        # HAPI alone just before and just after the one-client hook run: the same searches on
        # an otherwise idle HAPI.
        before = direct_run("before")
        single = closed_loop(server, body, 1, d.fhir)
        _print_load("closed loop (one client)", single)
        after = direct_run("after")
        closed = [single]
        for connections in (4, 16):
            result = closed_loop(server, body, connections, d.fhir)
            _print_load("closed loop", result)
            closed.append(result)
        best = max(r["rps"] for r in closed)
        fixed = open_loop(server, body, best / 2, d.fhir)
        _print_load("constant rate", fixed)
    direct = {
        "before": before,
        "after": after,
        # The faster of the two: HAPI still speeds up for a while after its start, and the lower
        # figure leaves more of the hook's time to the service (the conservative side).
        "p50_ms": min(before["wrk"]["p50_ms"], after["wrk"]["p50_ms"]),
        "requests_p50_ms": min(before["requests"]["p50_ms"], after["requests"]["p50_ms"]),
    }
    print(
        f"  beyond FHIR's own (hook p50, one client, minus HAPI's): "
        f"{single['p50_ms'] - direct['p50_ms']:.2f} ms against wrk's timing, "
        f"{single['p50_ms'] - direct['requests_p50_ms']:.2f} ms against Python requests'"
    )
    beyond = single["p50_ms"] - direct["p50_ms"]
    report.steps["fhir"] = {
        "base": base,
        "searches": len(urls),
        "direct": direct,
        "closed": closed,
        "max_rps": best,
        "fixed": fixed,
        "settings": env,
        "beyond_fhir_p50_ms": round(beyond, 2),
        "beyond_fhir_requests_client_p50_ms": round(
            single["p50_ms"] - direct["requests_p50_ms"], 2
        ),
        "prefetch_one_client_p50_ms": prefetch_c1_p50,
    }


def step_inprocess(report: Report, d: Durations) -> None:
    from cds_hooks.app import create_app
    from cds_hooks.config import Settings
    from fhir_adapters import read_genotypes
    from knowledge import evaluate, load_knowledge_base

    report.note("\n[in-process] one evaluation (timeit), and one whole call (Flask test client)")
    kb = load_knowledge_base()
    observations = genotype_observations()
    readout = read_genotypes(observations, kb.genes_by_hgnc, kb=kb)
    rows: dict[str, Any] = {}

    def best_us(call: Any) -> dict[str, float]:
        timer = timeit.Timer(call)
        number, _ = timer.autorange()
        runs = [t / number * 1e6 for t in timer.repeat(repeat=7, number=number)]
        return {"best_us": round(min(runs), 1), "median_us": round(statistics.median(runs), 1)}

    rows["read_genotypes (10 results)"] = best_us(
        lambda: read_genotypes(observations, kb.genes_by_hgnc, kb=kb)
    )
    for drug in DRUGS:
        rows[f"evaluate {drug}"] = best_us(lambda drug=drug: evaluate(kb, drug, readout.results))
    rows.update(_tumour_rows(kb, best_us))
    for name, row in rows.items():
        print(f"  {name:32} best {row['best_us']:8.1f} µs  median {row['median_us']:8.1f} µs")

    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(
            Settings(database_url=f"sqlite:///{scratch}/i.sqlite3", auth="off", rxnav_url="off"),
            kb,
        )
        client = app.test_client()
        template = json.dumps(order_sign_request(prefetch=True))
        bodies = [template.replace("[<id>]", str(uuid.uuid4())) for _ in range(d.inprocess_calls)]
        headers = {"Content-Type": "application/json"}
        for text in bodies[:50]:
            client.post(SERVICE_PATH, data=text, headers=headers)
        times = []
        for text in bodies:
            started = time.perf_counter()
            status = client.post(SERVICE_PATH, data=text, headers=headers).status_code
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200, status
        app.extensions["pgx_cds"].feedback.close()
    call = {
        "calls": len(times),
        "p50_ms": round(_pct(times, 0.5), 3),
        "p99_ms": round(_pct(times, 0.99), 3),
        "mean_ms": round(statistics.fmean(times), 3),
    }
    print(
        f"  {'whole call, test client':32} p50 {call['p50_ms']:.3f} ms  p99 {call['p99_ms']:.3f} ms"
        f"  mean {call['mean_ms']:.3f} ms  (n={call['calls']})"
    )
    report.steps["inprocess"] = {"timeit": rows, "hook_call": call}


def _tumour_rows(kb: Any, best_us: Any) -> dict[str, Any]:
    """Reading the IG STU3 oncology examples, and one biomarker check per targeted drug (#8)."""
    from fhir_adapters import iter_resources
    from fhir_adapters.tumour import read_tumour_profile
    from knowledge.biomarker_check import check_biomarkers

    examples = Path(__file__).resolve().parents[2] / "shared/onco/fhir/examples"
    if not examples.is_dir():
        return {}
    resources = [
        r
        for path in sorted(examples.glob("Observation-*.json"))
        for r in iter_resources(json.loads(path.read_text()))
    ]
    profile = read_tumour_profile(resources, hgnc_symbols=kb.oncology.hgnc_symbols)
    rows = {
        f"read_tumour_profile ({len(resources)} obs)": best_us(
            lambda: read_tumour_profile(resources, hgnc_symbols=kb.oncology.hgnc_symbols)
        )
    }
    for drug in ("osimertinib", "cetuximab", "pembrolizumab"):
        rows[f"check_biomarkers {drug}"] = best_us(
            lambda drug=drug: check_biomarkers(kb, drug, profile, None)
        )
    return rows


def _slope_mib_per_min(samples: list[tuple[float, float]]) -> float | None:
    if len(samples) < 3:
        return None
    xs = [t / 60 for t, _ in samples]
    ys = [v for _, v in samples]
    return statistics.linear_regression(xs, ys).slope


def step_soak(
    report: Report,
    scratch: Path,
    body: Path,
    config: ServerConfig,
    rate: float,
    seconds: float,
    log_level: str,
) -> None:
    interval = 5.0 if seconds >= 60 else 1.0  # a short (smoke) soak still gets a slope
    report.note(
        f"\n[soak] {seconds:g} s at {rate:.1f} req/s, RSS of every process every {interval:g} s"
    )
    with Server(config, scratch, log_level=log_level) as server:
        _warm(server, body)
        holder: dict[str, Any] = {}
        runner = threading.Thread(
            target=lambda: holder.update(result=open_loop(server, body, rate, seconds))
        )
        samples: list[dict[str, Any]] = []
        started = time.monotonic()
        runner.start()
        while runner.is_alive():
            rss = {pid: _rss_mib(pid) for pid in server.pids()}
            elapsed = time.monotonic() - started
            samples.append(
                {
                    "t": round(elapsed, 1),
                    "rss_mib": {str(pid): round(v, 1) for pid, v in rss.items() if v is not None},
                }
            )
            runner.join(timeout=interval)
    result: dict[str, Any] = holder["result"]
    _print_load("soak", result)
    totals = [(s["t"], sum(s["rss_mib"].values())) for s in samples if s["t"] <= seconds]
    half = [(t, v) for t, v in totals if t >= seconds / 2]
    last_third = [(t, v) for t, v in totals if t >= seconds * 2 / 3]
    # Each card shown is remembered for the override rule (cds_hooks/repeat_guard.py): one entry
    # of ~0.3 KB per card in each worker's in-process alert memory, up to ALERT_MEMORY_CAP; until
    # the cap the RSS grows by design.
    cap_seconds = ALERT_MEMORY_CAP * config.workers / (len(DRUGS) * rate)
    pids = sorted({pid for s in samples for pid in s["rss_mib"]}, key=int)
    per_process = {
        pid: {
            "first": next(s["rss_mib"][pid] for s in samples if pid in s["rss_mib"]),
            "last": next(s["rss_mib"][pid] for s in reversed(samples) if pid in s["rss_mib"]),
            "max": max(s["rss_mib"][pid] for s in samples if pid in s["rss_mib"]),
        }
        for pid in pids
    }
    memory = {
        "total_first_mib": round(totals[0][1], 1) if totals else None,
        "total_last_mib": round(totals[-1][1], 1) if totals else None,
        "total_max_mib": round(max(v for _, v in totals), 1) if totals else None,
        "slope_mib_per_min": _round(_slope_mib_per_min(totals)),
        "slope_second_half_mib_per_min": _round(_slope_mib_per_min(half)),
        "slope_last_third_mib_per_min": _round(_slope_mib_per_min(last_third)),
        "alert_memory_full_after_s": round(cap_seconds),
        "per_process": per_process,
        "processes_seen": len(pids),
    }
    print(
        f"  RSS total {memory['total_first_mib']} → {memory['total_last_mib']} MiB "
        f"(max {memory['total_max_mib']}), slope {memory['slope_mib_per_min']} MiB/min, "
        f"second half {memory['slope_second_half_mib_per_min']}, last third "
        f"{memory['slope_last_third_mib_per_min']} MiB/min; {len(pids)} processes seen; the "
        f"alert memory fills its {ALERT_MEMORY_CAP:,} entries per worker after ~{cap_seconds:.0f} s"
    )
    report.steps["soak"] = {"run": result, "memory": memory, "samples": samples}


# --- summary ------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def verdicts(report: Report) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/FAIL/—) rows."""
    rows: list[tuple[str, str, str]] = []
    steps = report.steps
    prefetch = steps.get("prefetch")
    if prefetch:
        best = prefetch["max_rps"]
        counts = ",".join(str(r["connections"]) for r in prefetch["closed"])
        rows.append(
            (
                f"≥ {TARGET_RPS:,.0f} calls/s with prefetch",
                f"{best:,.0f} calls/s (best of c={counts})",
                "PASS" if best >= TARGET_RPS else "FAIL",
            )
        )
        for fixed in prefetch["fixed"]:
            errors = fixed["non2xx"] + fixed["errors"]
            rows.append(
                (
                    f"p99 < {TARGET_P99_MS:g} ms at {fixed['rate']:g}/s",
                    f"p99 {fixed['p99_ms']} ms (p50 {fixed['p50_ms']}), {errors} errors",
                    "PASS"
                    if fixed["p99_ms"] is not None
                    and fixed["p99_ms"] < TARGET_P99_MS
                    and not errors
                    else "FAIL",
                )
            )
    fhir = steps.get("fhir")
    if fhir and "skipped" not in fhir:
        beyond = fhir["beyond_fhir_p50_ms"]
        rows.append(
            (
                f"service time beyond FHIR's < {TARGET_BEYOND_FHIR_MS:g} ms",
                f"{beyond} ms (hook p50 {fhir['closed'][0]['p50_ms']} minus HAPI's own "
                f"{fhir['direct']['p50_ms']} for its {fhir['searches']} searches, by wrk)",
                "PASS" if beyond < TARGET_BEYOND_FHIR_MS else "FAIL",
            )
        )
    elif fhir:
        rows.append((f"service time beyond FHIR's < {TARGET_BEYOND_FHIR_MS:g} ms", "not run", "-"))
    soak = steps.get("soak")
    if soak:
        run, memory = soak["run"], soak["memory"]
        errors = run["non2xx"] + run["errors"]
        slope = memory["slope_last_third_mib_per_min"]
        flat = slope is not None and abs(slope) <= FLAT_MIB_PER_MIN
        rows.append(
            (
                f"soak {run['seconds']:g} s at {run['rate']:g}/s: 0 errors, flat memory",
                f"{errors} errors; RSS {memory['total_first_mib']} → {memory['total_last_mib']} "
                f"MiB, {slope} MiB/min in the last third ({memory['slope_mib_per_min']} overall; "
                f"alert memory full after ~{memory['alert_memory_full_after_s']} s)",
                "PASS" if errors == 0 and flat else "FAIL",
            )
        )
    return rows


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    go = subprocess.run(["go", "version"], capture_output=True, text=True, check=False)
    from importlib.metadata import version

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
        "flask": version("flask"),
        "wrk": (wrk.stdout or wrk.stderr).split(" [")[0].strip(),
        "openloop_built_with": go.stdout.strip().removeprefix("go version "),
        "kernel": platform.release(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run of every step")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--log-level", default="WARNING", help="server log level (default WARNING)")
    parser.add_argument("--soak-seconds", type=float, help="soak length (300; --quick: 20)")
    parser.add_argument("--fhir-base", default=os.environ.get("FHIR_BASE_URL"))
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the servers, e.g. PGX_CDS_QUIET_AFTER_OVERRIDE_WINDOW=0; repeatable",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["sweep", "prefetch", "info", "fhir", "inprocess", "soak"],
        help="run only these steps (prefetch is run anyway when a later step needs its rate)",
    )
    parser.add_argument(
        "--output", type=Path, help="JSON file (default var/bench/hook_load-*.json)"
    )
    args = parser.parse_args()

    if shutil.which("wrk") is None or not OPEN_LOOP.exists():
        sys.exit(
            "the load generators are missing: run benchmarks/load/install.sh (make bench does)"
        )
    d = QUICK if args.quick else FULL
    soak_seconds = args.soak_seconds if args.soak_seconds is not None else d.soak
    server_env = tuple(
        (name, value)
        for name, equals, value in (item.partition("=") for item in args.server_env)
        if equals
    )
    config = ServerConfig(args.workers, args.worker_class, args.threads, server_env)
    steps = set(args.only or ["sweep", "prefetch", "info", "fhir", "inprocess", "soak"])
    report = Report(
        machine=machine(),
        settings={
            "quick": args.quick,
            "config": config.label,
            "server_env": dict(server_env),
            "log_level": args.log_level,
            "durations": d.__dict__,
            "soak_seconds": soak_seconds,
        },
    )
    OUT.mkdir(parents=True, exist_ok=True)
    m = report.machine
    print(
        f"machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, load average "
        f"{m['load_average_at_start'][0]:.2f}; Python {m['python']}, gunicorn {m['gunicorn']}, "
        f"{m['wrk']}, openloop ({m['openloop_built_with']})"
    )
    with tempfile.TemporaryDirectory(prefix="pgx-bench-") as folder:
        scratch = Path(folder)
        body = _write_body(scratch / "prefetch-body.json", order_sign_request(prefetch=True))
        print(f"workload: order-sign, 10 results, {len(DRUGS)} orders, {body.stat().st_size} bytes")
        if "sweep" in steps:
            step_sweep(
                report,
                scratch,
                body,
                [
                    ServerConfig(2, "sync"),
                    ServerConfig(3, "sync"),
                    ServerConfig(2, "gthread", 4),
                    ServerConfig(3, "gthread", 4),
                ],
                d,
            )
        best = None
        if steps & {"prefetch", "info", "soak"}:
            best = step_prefetch(report, scratch, body, config, d, args.log_level)
        if "info" in steps and best:
            step_info_logging(report, scratch, body, config, d, best / 2)
        if "fhir" in steps:
            single = next(
                (
                    r["p50_ms"]
                    for r in report.steps.get("prefetch", {}).get("closed", [])
                    if r["connections"] == 1
                ),
                None,
            )
            step_fhir(report, scratch, config, d, args.fhir_base, single)
        if "inprocess" in steps:
            step_inprocess(report, d)
        if "soak" in steps and best:
            step_soak(report, scratch, body, config, best / 2, soak_seconds, args.log_level)

    rows = verdicts(report)
    print(
        "\nAgainst issue #7's targets"
        + (" (QUICK smoke: durations too short)" if args.quick else "")
    )
    width = max((len(r[0]) for r in rows), default=10)
    for target, measured, verdict in rows:
        print(f"  {verdict:4}  {target:{width}}  {measured}")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output = args.output or OUT / f"hook_load-{stamp}.json"
    payload: dict[str, Any] = {
        "machine": report.machine,
        "settings": report.settings,
        "steps": report.steps,
    }
    payload["verdicts"] = [{"target": t, "measured": m_, "verdict": v} for t, m_, v in rows]
    output.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"\nwritten: {output.relative_to(REPO) if output.is_relative_to(REPO) else output}")


if __name__ == "__main__":
    main()
