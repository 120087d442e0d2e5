"""Read from the EHR's FHIR server with the bearer token the hook request handed us."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from fhir_adapters.bounded_http import Answer, ExchangeError, exchange
from fhir_adapters.breaker import CircuitBreaker
from fhir_adapters.budget import Budget
from fhir_adapters.errors import FhirError, FhirResponseError, FhirUnavailableError

__all__ = ["FhirClient"]

log = logging.getLogger(__name__)

# Statuses that say "try again shortly"; only these are retried, and only for GETs (all ours are).
_RETRYABLE = frozenset({429, 503})
DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024

T = TypeVar("T")


class FhirClient:
    """A FHIR search client bounded in time, size and pages; it never logs the token it carries.

    ``timeout`` bounds each socket operation (connect, read); ``deadline`` bounds the whole
    search, pages and retries included, and ``budget`` (the hook call's, shared by all its
    callbacks) shortens it to what the call has left: the EHR is waiting. The bound is hard: a
    server that stalls or drips its answer is abandoned at the deadline. A 429 or 503 is
    retried up to ``retries`` times with exponential backoff (``Retry-After`` honoured), never
    past the deadline. ``breaker``, when given, is asked before and told after each search.
    """

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None,
        session: requests.Session,
        timeout: tuple[float, float],
        max_pages: int,
        deadline: float = 5.0,
        retries: int = 1,
        backoff: float = 0.1,
        budget: Budget | None = None,
        breaker: CircuitBreaker | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._headers = {"Accept": "application/fhir+json, application/json"}
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        self._session = session
        self._timeout = timeout
        self._max_pages = max_pages
        self._deadline = deadline
        self._retries = retries
        self._backoff = backoff
        self._budget = budget
        self._breaker = breaker
        self._max_bytes = max_response_bytes
        self._sleep = sleep
        self._clock = clock
        self._ends_at = 0.0
        self._limit = deadline

    def search(self, query: str) -> list[Mapping[str, Any]]:
        """The searchset Bundles of ``query`` (relative, e.g. ``Observation?patient=1``), all pages.

        Raises FhirUnavailableError or FhirResponseError; never a requests exception.
        """
        url = urljoin(self.base_url, query)
        # The bearer token is for the EHR's server only: no request, first page or later, goes
        # to another origin (a prefetched Bundle's own next link could name any host).
        if _origin(url) != _origin(self.base_url):
            raise FhirResponseError(f"refused to send the token to another host ({_host(url)})")
        self._start(url)
        return self._guarded(lambda: list(self._pages(url)))

    def transaction(self, bundle: Mapping[str, Any]) -> Mapping[str, Any]:
        """POST a transaction Bundle to the base URL; the transaction-response Bundle.

        Not retried: a transaction whose answer was lost may have been applied, and only the
        server's conditional creates (``ifNoneExist``) make a second attempt harmless.
        """
        self._start(self.base_url)

        def post() -> Mapping[str, Any]:
            answer = self._send(self.base_url, body=bundle)
            return self._bundle(self.base_url, answer, action="transaction")

        return self._guarded(post)

    def _start(self, url: str) -> None:
        """Set this search's deadline: its own, or what the hook call has left if that is less."""
        limit = self._deadline
        if self._budget is not None:
            left = self._budget.remaining()
            if left <= 0:
                raise FhirUnavailableError(
                    f"no time left for the FHIR search in the hook's time budget ({_host(url)})",
                    kind="budget",
                )
            limit = min(limit, left)
        self._limit = limit
        self._ends_at = self._clock() + limit

    def _guarded(self, call: Callable[[], T]) -> T:
        """``call`` under the circuit breaker: refused at once while it is open, then reported."""
        breaker = self._breaker
        if breaker is None:
            return call()
        breaker.allow()
        try:
            result = call()
        except FhirError as exc:
            if exc.server_failure:
                breaker.failed()
            else:
                breaker.succeeded()
            raise
        except BaseException:
            breaker.abandoned()
            raise
        breaker.succeeded()
        return result

    def _pages(self, url: str) -> Iterator[Mapping[str, Any]]:
        for _ in range(self._max_pages):
            bundle = self._get(url)
            yield bundle
            next_url = _next_link(bundle)
            if next_url is None:
                return
            url = urljoin(self.base_url, next_url)
            if _origin(url) != _origin(self.base_url):
                log.warning("FHIR search stopped: next page is on another host (%s)", _host(url))
                return
        log.warning("FHIR search stopped after %d pages", self._max_pages)

    def _get(self, url: str) -> Mapping[str, Any]:
        attempt = 0
        while True:
            answer = self._send(url)
            if answer.status not in _RETRYABLE or attempt >= self._retries:
                return self._bundle(url, answer)
            wait = _retry_after(answer.headers) or self._backoff * 2**attempt
            if self._clock() + wait >= self._ends_at:
                # Waiting would overrun the hook's budget: better a prompt answer than a late one.
                return self._bundle(url, answer)
            log.info(
                "FHIR server answered %d; retrying in %.2f s (%s)",
                answer.status,
                wait,
                _host(url),
            )
            self._sleep(wait)
            attempt += 1

    def _send(self, url: str, *, body: Mapping[str, Any] | None = None) -> Answer:
        """GET ``url``, or POST ``body`` to it, answered in full within what is left of the deadline."""
        what = "search" if body is None else "request"
        left = self._ends_at - self._clock()
        if left <= 0:
            raise FhirUnavailableError(
                f"FHIR {what} took longer than {self._limit:.3g} s ({_host(url)})", kind="timeout"
            )
        headers = self._headers
        if body is not None:
            headers = {**headers, "Content-Type": "application/fhir+json"}
        try:
            return exchange(
                self._session,
                "GET" if body is None else "POST",
                url,
                headers=headers,
                json=body,
                timeout=self._timeout,
                limit=left,
                max_bytes=self._max_bytes,
                clock=self._clock,
            )
        except ExchangeError as exc:
            if exc.kind == "timeout":
                raise FhirUnavailableError(
                    f"FHIR server did not answer in time ({_host(url)})", kind="timeout"
                ) from exc
            if exc.kind == "oversize":
                raise FhirResponseError(
                    f"FHIR server answered with more than {self._max_bytes} bytes ({_host(url)})",
                    kind="garbage",
                ) from exc
            if exc.kind == "garbage":
                raise FhirResponseError(
                    f"FHIR server answered with a body that could not be decoded ({_host(url)})",
                    kind="garbage",
                ) from exc
            raise FhirUnavailableError(f"FHIR server unreachable ({_host(url)})") from exc

    @staticmethod
    def _bundle(url: str, answer: Answer, action: str = "search") -> Mapping[str, Any]:
        if answer.status >= 500 or answer.status == 429:
            raise FhirUnavailableError(f"FHIR server error {answer.status} ({_host(url)})")
        if answer.status >= 400:
            # The operator posting results needs the server's reason; a hook's search error may
            # reach logs and the EHR, so it carries no text of the server's.
            why = f" {_outcome_text(answer.body)}" if action == "transaction" else ""
            raise FhirResponseError(
                f"FHIR server refused the {action}: {answer.status}{why}".rstrip()
            )
        try:
            body = orjson.loads(answer.body)
        except ValueError as exc:  # orjson's JSONDecodeError (bad UTF-8 too) is a ValueError
            raise FhirResponseError(
                "FHIR server answered with something that is not JSON", kind="garbage"
            ) from exc
        if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            kind = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
            raise FhirResponseError(
                f"FHIR {action} answered with {kind!r}, not a Bundle", kind="garbage"
            )
        return body


def _outcome_text(body: bytes) -> str:
    """The first OperationOutcome diagnostics, cut short: why a server refused a write."""
    try:
        outcome = json.loads(body)
        issue = outcome.get("issue", [{}])[0]
        return str(issue.get("diagnostics") or issue.get("details", {}).get("text") or "")[:300]
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date); ``None`` if absent or unreadable."""
    value = headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def _host(url: str) -> str:
    # Only scheme and host reach messages: the query carries the patient id, userinfo a password.
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if parts.scheme and host else "(no host in URL)"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.rpartition("@")[2].lower()
