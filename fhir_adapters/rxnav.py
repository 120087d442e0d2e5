"""Ask NLM's RxNav which ingredients an RxNorm product code holds: cached, bounded, never raising."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import requests

from fhir_adapters.bounded_http import ExchangeError, exchange
from fhir_adapters.budget import Budget

__all__ = ["BudgetedRxNav", "RxNavClient"]

log = logging.getLogger(__name__)

# RXCUIs are decimal integers; anything else is refused before it reaches a URL path.
_MAX_RXCUI_DIGITS = 12
_HEADERS = {"Accept": "application/json"}
# A getRelatedByType answer is a few kB; anything far larger is not one.
_MAX_ANSWER_BYTES = 1024 * 1024


class RxNavClient:
    """Maps an RxNorm concept (SCD, SBD, GPCK, BPCK, BN, SCDC, PIN, MIN …) to its ingredient RXCUIs.

    One call per code: ``GET {base_url}/rxcui/{rxcui}/related.json?tty=IN`` (RxNav's
    getRelatedByType). RxNav's default paths lead from every drug term type to the ingredients
    (IN), so a multiple-ingredient concept answers with each of its INs.

    Answers are kept in a bounded LRU cache: ingredients found for ``ttl`` seconds, an answer
    without ingredients for ``negative_ttl`` (shorter: RxNorm adds codes every week). A failure —
    timeout, connection error, an answer other than 200, a body that is not RxNav's JSON — is
    logged once with the code (never patient data), answers ``None`` ("unknown"), is never raised
    and is not retried for ``retry_after`` seconds. After a timeout, a refused connection, a 429 or
    a 5xx no code at all is looked up for ``retry_after`` seconds, so an outage costs one timeout,
    not one per order. Thread-safe: the cache is guarded by a lock and HTTP calls run outside it
    (two threads asking for the same uncached code at once may both call RxNav).

    In a hook call, use ``under(budget)``: a lookup then waits no longer than the call has left,
    and with nothing left answers from the cache or ``None`` at once (not remembered, no pause).
    The bound is hard, as for FHIR: an answer still dripping in at the deadline is abandoned.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 1.0,
        cache_size: int = 10_000,
        ttl: float = 86_400.0,
        negative_ttl: float = 600.0,
        retry_after: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._timeout = (timeout, timeout)
        self._cache_size = cache_size
        self._ttl = ttl
        self._negative_ttl = min(negative_ttl, ttl)
        self._retry_after = min(retry_after, self._negative_ttl)
        self._session = session if session is not None else requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, frozenset[str] | None]] = OrderedDict()
        self._paused_until = float("-inf")

    def __len__(self) -> int:
        """How many answers the cache holds, expired ones included until they are replaced."""
        with self._lock:
            return len(self._cache)

    def under(self, budget: Budget) -> BudgetedRxNav:
        """This client as an ingredient resolver whose lookups draw on ``budget``."""
        return BudgetedRxNav(self, budget)

    def ingredients(self, rxcui: str, *, budget: Budget | None = None) -> frozenset[str] | None:
        """The IN RXCUIs of ``rxcui`` (empty if RxNav knows none), or ``None`` if unknown now."""
        if not (rxcui.isascii() and rxcui.isdigit() and len(rxcui) <= _MAX_RXCUI_DIGITS):
            return None
        now = self._clock()
        with self._lock:
            cached = self._cache.get(rxcui)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(rxcui)
                return cached[1]
            if now < self._paused_until:
                return None
        limit = self._timeout[1]
        if budget is not None:
            limit = min(limit, budget.remaining())
            if limit <= 0:
                # The hook call's time is spent: not RxNav's fault, so nothing is remembered.
                log.info("RxNav lookup skipped: no time left", extra=_event(rxcui, "budget"))
                return None
        found = self._fetch(rxcui, limit)
        self._remember(rxcui, found)
        return found

    def _remember(self, rxcui: str, found: frozenset[str] | None) -> None:
        ttl = self._ttl if found else self._negative_ttl
        if found is None:
            ttl = self._retry_after
        with self._lock:
            self._cache[rxcui] = (self._clock() + ttl, found)
            self._cache.move_to_end(rxcui)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _pause(self) -> None:
        with self._lock:
            self._paused_until = self._clock() + self._retry_after

    def _fetch(self, rxcui: str, limit: float) -> frozenset[str] | None:
        url = f"{self.base_url}/rxcui/{rxcui}/related.json"
        try:
            answer = exchange(
                self._session,
                "GET",
                url,
                params={"tty": "IN"},
                headers=_HEADERS,
                timeout=self._timeout,
                limit=limit,
                max_bytes=_MAX_ANSWER_BYTES,
                clock=self._clock,
            )
        except ExchangeError as exc:
            if exc.kind in ("timeout", "unavailable"):
                self._pause()
            if exc.kind == "timeout":
                log.warning(
                    "RxNav lookup failed: no answer in time", extra=_event(rxcui, "timeout")
                )
            elif exc.kind == "unavailable":
                log.warning(
                    "RxNav lookup failed: %s",
                    exc.__cause__.__class__.__name__ if exc.__cause__ else "unreachable",
                    extra=_event(rxcui, "unreachable"),
                )
            else:
                log.warning("RxNav lookup failed: not RxNav's JSON", extra=_event(rxcui, "garbage"))
            return None
        if answer.status == 429 or answer.status >= 500:
            self._pause()
        if answer.status != 200:
            log.warning(
                "RxNav lookup failed: HTTP %d",
                answer.status,
                extra=_event(rxcui, "status"),
            )
            return None
        try:
            found = _ingredients(json.loads(answer.body))
        except ValueError:
            found = None
        if found is None:
            log.warning("RxNav lookup failed: not RxNav's JSON", extra=_event(rxcui, "garbage"))
        return found


class BudgetedRxNav:
    """An ``RxNavClient`` seen through one hook call's budget (an ``IngredientResolver``)."""

    def __init__(self, client: RxNavClient, budget: Budget) -> None:
        self._client = client
        self._budget = budget

    def ingredients(self, rxcui: str) -> frozenset[str] | None:
        return self._client.ingredients(rxcui, budget=self._budget)


def _event(rxcui: str, reason: str) -> dict[str, str]:
    return {"event": "rxnav_lookup_failed", "rxcui": rxcui, "reason": reason}


def _ingredients(body: Any) -> frozenset[str] | None:
    """The IN RXCUIs in a getRelatedByType answer; ``None`` if it is not shaped like one.

    RxNav leaves out, or sends ``null`` for, what would be empty: a group without
    ``conceptProperties`` has no concepts, an answer without ``conceptGroup`` has no groups.
    """
    group = body.get("relatedGroup") if isinstance(body, Mapping) else None
    if not isinstance(group, Mapping):
        return None
    concept_groups = group.get("conceptGroup")
    if concept_groups is None:
        concept_groups = []
    if not isinstance(concept_groups, list):
        return None
    found = set()
    for concept_group in concept_groups:
        if not isinstance(concept_group, Mapping):
            return None
        if concept_group.get("tty") != "IN":
            continue
        concepts = concept_group.get("conceptProperties")
        if concepts is None:
            concepts = []
        if not isinstance(concepts, list):
            return None
        for concept in concepts:
            code = concept.get("rxcui") if isinstance(concept, Mapping) else None
            if not (isinstance(code, str) and code.isascii() and code.isdigit()):
                return None
            found.add(code)
    return frozenset(found)
