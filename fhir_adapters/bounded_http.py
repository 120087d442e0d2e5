"""One HTTP exchange that ends by its deadline whatever the server does: stall, drip or flood.

requests bounds each socket operation, not the exchange: a server that sends a byte every
100 ms is never cut off by a read timeout, and name resolution ignores timeouts altogether. So
the exchange runs in a small shared thread pool and the caller waits on it only for the time
left; inside, the body is streamed in small reads, with the deadline and the size limit checked
between them, so an abandoned exchange also ends soon after its deadline and closes its socket.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Literal

import requests
import urllib3.exceptions

__all__ = ["Answer", "ExchangeError", "exchange"]

# Exchanges in flight at once, per process; each ends by its deadline (a fraction of a second in
# the hook path), so a hung server ties up a worker only briefly. Beyond this they queue, and a
# queued one that cannot start in time fails as a timeout.
POOL_SIZE = 32
# One read takes at most this much: small enough to check the deadline often on a fast stream.
_READ_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete answer: status, headers (case-insensitive) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class ExchangeError(Exception):
    """The exchange failed; ``kind`` says how (the message names only the exception class)."""

    def __init__(
        self, kind: Literal["timeout", "unavailable", "oversize", "garbage"], cause: str = ""
    ) -> None:
        super().__init__(f"{kind}{f' ({cause})' if cause else ''}")
        self.kind = kind


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: tuple[float, float],
    limit: float,
    max_bytes: int,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Answer:
    """Send the request and read the whole answer within ``limit`` seconds from now.

    ``timeout`` (connect, read) still bounds each socket operation, never beyond the limit.
    Raises ExchangeError only, never a requests or urllib3 exception.
    """
    if limit <= 0:
        raise ExchangeError("timeout", "no time left")
    ends_at = clock() + limit
    connect, read = timeout
    per_socket = (min(connect, limit), min(read, limit))
    future: Future[Answer] = _executor().submit(
        _transfer,
        session,
        method,
        url,
        dict(headers),
        json,
        params,
        per_socket,
        ends_at,
        max_bytes,
        clock,
    )
    try:
        return future.result(timeout=limit)
    except FutureTimeout:
        # Not yet started: never start. Started: it stops at its next read, by its own deadline.
        future.cancel()
        raise ExchangeError("timeout", "no complete answer by the deadline") from None


def _transfer(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str],
    json: Any,
    params: Mapping[str, str] | None,
    timeout: tuple[float, float],
    ends_at: float,
    max_bytes: int,
    clock: Callable[[], float],
) -> Answer:
    if clock() >= ends_at:
        # Waited in the queue past the deadline: the caller has gone.
        raise ExchangeError("timeout", "queued past the deadline")
    try:
        response = session.request(
            method, url, headers=headers, json=json, params=params, timeout=timeout, stream=True
        )
    except requests.Timeout as exc:
        raise ExchangeError("timeout", type(exc).__name__) from exc
    except requests.RequestException as exc:
        raise ExchangeError("unavailable", type(exc).__name__) from exc
    with response:  # closed whatever happens: an unread body must not go back to the pool
        body = _read_body(response, ends_at, max_bytes, clock)
        return Answer(response.status_code, response.headers, body)


def _read_body(
    response: requests.Response, ends_at: float, max_bytes: int, clock: Callable[[], float]
) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise ExchangeError("oversize", f"Content-Length {int(declared)}")
    chunks: list[bytes] = []
    size = 0
    while True:
        if clock() >= ends_at:
            raise ExchangeError("timeout", "body still arriving at the deadline")
        try:
            # read1: whatever has arrived (at least a byte), not "wait until 64 KiB are here".
            chunk = response.raw.read1(_READ_SIZE, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise ExchangeError("timeout", type(exc).__name__) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise ExchangeError("garbage", type(exc).__name__) from exc
        except TimeoutError as exc:
            raise ExchangeError("timeout", type(exc).__name__) from exc
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise ExchangeError("unavailable", type(exc).__name__) from exc
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise ExchangeError("oversize", f"more than {max_bytes} bytes")
        chunks.append(chunk)


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="pgx-callback")
        return _pool


def _forget_pool_after_fork() -> None:
    # A forked worker (gunicorn) inherits the pool object but not its threads: work handed to it
    # would never run. Each process starts its own.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
