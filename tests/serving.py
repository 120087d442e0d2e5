"""Run ``pgx-cds serve`` (gunicorn) on a free loopback port, for the tests that need real workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_serve(
    folder: Path, env: Mapping[str, str], *, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the service with ``env`` over this process's environment; wait until it is healthy.

    The server leads a session of its own, so :func:`kill_group` ends its workers too.
    """
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        **env,
    }
    command = [sys.executable, "-m", "cds_hooks.cli", "serve", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(workers)],
            env=environment,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, base, log)
    except BaseException:
        kill_group(process)
        raise
    return process, base


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
    # The whole session: gunicorn's master and its workers die together, with no chance to flush.
    # Only while our leader is unreaped: a reaped id could belong to someone else's process.
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
