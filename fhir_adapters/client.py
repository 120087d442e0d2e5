"""Read from the EHR's FHIR server with the bearer token the hook request handed us."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from fhir_adapters.errors import FhirResponseError, FhirUnavailableError

__all__ = ["FhirClient"]

log = logging.getLogger(__name__)

# Statuses that say "try again shortly"; only these are retried, and only for GETs (all ours are).
_RETRYABLE = frozenset({429, 503})


class FhirClient:
    """A FHIR search client bounded in time and pages; it never logs the token it carries.

    ``timeout`` bounds each request (connect, read); ``deadline`` bounds the whole search, pages
    and retries included, because the EHR is waiting on the hook. A 429 or 503 is retried up to
    ``retries`` times with exponential backoff (``Retry-After`` honoured), never past the deadline.
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
        self._sleep = sleep
        self._clock = clock
        self._ends_at = 0.0

    def search(self, query: str) -> list[Mapping[str, Any]]:
        """The searchset Bundles of ``query`` (relative, e.g. ``Observation?patient=1``), all pages.

        Raises FhirUnavailableError or FhirResponseError; never a requests exception.
        """
        self._ends_at = self._clock() + self._deadline
        return list(self._pages(urljoin(self.base_url, query)))

    def transaction(self, bundle: Mapping[str, Any]) -> Mapping[str, Any]:
        """POST a transaction Bundle to the base URL; the transaction-response Bundle.

        Not retried: a transaction whose answer was lost may have been applied, and only the
        server's conditional creates (``ifNoneExist``) make a second attempt harmless.
        """
        self._ends_at = self._clock() + self._deadline
        response = self._send(self.base_url, body=bundle)
        return self._bundle(self.base_url, response, action="transaction")

    def _pages(self, url: str) -> Iterator[Mapping[str, Any]]:
        # The bearer token is for the EHR's server only: no request, first page or later, goes
        # to another origin (a prefetched Bundle's own next link could name any host).
        if _origin(url) != _origin(self.base_url):
            raise FhirResponseError(f"refused to send the token to another host ({_host(url)})")
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
            response = self._send(url)
            if response.status_code not in _RETRYABLE or attempt >= self._retries:
                return self._bundle(url, response)
            wait = _retry_after(response) or self._backoff * 2**attempt
            if self._clock() + wait >= self._ends_at:
                # Waiting would overrun the hook's budget: better a prompt answer than a late one.
                return self._bundle(url, response)
            log.info(
                "FHIR server answered %d; retrying in %.2f s (%s)",
                response.status_code,
                wait,
                _host(url),
            )
            self._sleep(wait)
            attempt += 1

    def _send(self, url: str, *, body: Mapping[str, Any] | None = None) -> requests.Response:
        """GET ``url``, or POST ``body`` to it, within what is left of the deadline."""
        remaining = self._ends_at - self._clock()
        if remaining <= 0:
            raise FhirUnavailableError(
                f"FHIR {'search' if body is None else 'request'} took longer than "
                f"{self._deadline:g} s ({_host(url)})"
            )
        connect, read = self._timeout
        timeout = (min(connect, remaining), min(read, remaining))
        try:
            if body is None:
                return self._session.get(url, headers=self._headers, timeout=timeout)
            headers = {**self._headers, "Content-Type": "application/fhir+json"}
            return self._session.post(url, json=body, headers=headers, timeout=timeout)
        except requests.Timeout as exc:
            raise FhirUnavailableError(
                f"FHIR server did not answer in time ({_host(url)})"
            ) from exc
        except requests.RequestException as exc:
            raise FhirUnavailableError(f"FHIR server unreachable ({_host(url)})") from exc

    @staticmethod
    def _bundle(url: str, response: requests.Response, action: str = "search") -> Mapping[str, Any]:
        if response.status_code >= 500 or response.status_code == 429:
            raise FhirUnavailableError(f"FHIR server error {response.status_code} ({_host(url)})")
        if response.status_code >= 400:
            # The operator posting results needs the server's reason; a hook's search error may
            # reach logs and the EHR, so it carries no text of the server's.
            why = f" {_outcome_text(response)}" if action == "transaction" else ""
            raise FhirResponseError(
                f"FHIR server refused the {action}: {response.status_code}{why}".rstrip()
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise FhirResponseError("FHIR server answered with something that is not JSON") from exc
        if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            kind = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
            raise FhirResponseError(f"FHIR {action} answered with {kind!r}, not a Bundle")
        return body


def _outcome_text(response: requests.Response) -> str:
    """The first OperationOutcome diagnostics, cut short: why a server refused a write."""
    try:
        body = response.json()
        issue = body.get("issue", [{}])[0]
        return str(issue.get("diagnostics") or issue.get("details", {}).get("text") or "")[:300]
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


def _retry_after(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date); ``None`` if absent or unreadable."""
    value = response.headers.get("Retry-After")
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
