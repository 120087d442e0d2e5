"""A circuit breaker per FHIR server: after repeated failures, stop asking it for a while.

Hand-written rather than pybreaker: pybreaker runs every call under one lock, which would make
concurrent hook calls to the same server wait on each other, and it reads the wall clock, which
tests cannot move.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

from fhir_adapters.errors import FhirUnavailableError

__all__ = ["CircuitBreaker", "CircuitBreakers"]

log = logging.getLogger(__name__)

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Closed, then open after ``failures`` server failures in a row; ``reset`` s later, one trial.

    While open every call fails at once, without touching the server. After ``reset`` seconds
    the next call is let through as a trial (others still fail at once): its success closes the
    circuit, its failure opens it again for another ``reset``. A trial that never reports (its
    caller crashed) is given up after ``reset`` seconds, so the circuit cannot stay stuck.
    """

    def __init__(
        self,
        host: str,
        *,
        failures: int,
        reset: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or reset <= 0:
            raise ValueError("failures must be at least 1 and reset more than 0 seconds")
        self.host = host
        self._threshold = failures
        self._reset = reset
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started: float | None = None

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    def allow(self) -> None:
        """Return if a call may go to the server now; else raise FhirUnavailableError at once."""
        with self._lock:
            if self._state == "closed":
                return
            now = self._clock()
            if self._state == "open" and now - self._opened_at >= self._reset:
                self._state = "half-open"
                self._trial_started = None
            if self._state == "half-open" and (
                self._trial_started is None or now - self._trial_started >= self._reset
            ):
                self._trial_started = now
                return
        raise FhirUnavailableError(
            f"FHIR server has been failing; not asked again for up to {self._reset:g} s "
            f"({self.host})",
            kind="circuit_open",
        )

    def succeeded(self) -> None:
        """The server answered (a refusal is an answer too)."""
        with self._lock:
            reopened = self._state != "closed"
            self._state = "closed"
            self._failures = 0
            self._trial_started = None
        if reopened:
            log.info("FHIR circuit closed: %s answers again", self.host)

    def failed(self) -> None:
        """The server failed: timeout, connection error, 5xx, 429 or an unreadable answer."""
        with self._lock:
            if self._state == "open":
                return  # a call that began before the circuit opened, ending late
            trial = self._state == "half-open"
            self._failures += 1
            if not trial and self._failures < self._threshold:
                return
            self._state = "open"
            self._opened_at = self._clock()
            self._trial_started = None
            failures = self._failures
        if trial:
            log.warning(
                "FHIR circuit opened again: trial call to %s failed; calls fail at once for %g s",
                self.host,
                self._reset,
            )
        else:
            log.warning(
                "FHIR circuit opened: %s failed %d times in a row; calls fail at once for %g s",
                self.host,
                failures,
                self._reset,
            )

    def abandoned(self) -> None:
        """A call ended with neither an answer nor a server failure: free its trial slot."""
        with self._lock:
            if self._state == "half-open":
                self._trial_started = None


class CircuitBreakers:
    """One breaker per server origin (scheme, host, port), shared by every call of the process.

    Bounded: ``fhirServer`` comes from the request, so the least recently used are forgotten
    beyond ``max_servers``.
    """

    def __init__(
        self,
        *,
        failures: int,
        reset: float,
        max_servers: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures = failures
        self._reset = reset
        self._max_servers = max_servers
        self._clock = clock
        self._lock = threading.Lock()
        self._breakers: OrderedDict[tuple[str, str], CircuitBreaker] = OrderedDict()

    def for_url(self, url: str) -> CircuitBreaker:
        """The breaker of the server ``url`` is on."""
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2].lower()
        key = (parts.scheme.lower(), netloc)
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                # Only scheme and host reach the breaker's log lines: never userinfo or a path.
                breaker = CircuitBreaker(
                    f"{key[0]}://{netloc}" if key[0] and netloc else "(no host in URL)",
                    failures=self._failures,
                    reset=self._reset,
                    clock=self._clock,
                )
                self._breakers[key] = breaker
                while len(self._breakers) > self._max_servers:
                    self._breakers.popitem(last=False)
            else:
                self._breakers.move_to_end(key)
            return breaker
