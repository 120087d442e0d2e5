"""The service's Prometheus metrics: what health IT watches, with no patient, genotype or token.

Every label takes its values from a small fixed set of ours (endpoint kinds, service ids, guideline
ids, indicators, error kinds, override reason codes we declared), never from a request as sent, so
a label can carry no PHI and the number of series stays bounded.

Under gunicorn the workers share the figures through files in ``PROMETHEUS_MULTIPROC_DIR``, set by
``pgx-cds serve`` (:func:`use_multiprocess_dir`). prometheus_client decides once, when it is first
imported, whether values live in those files or in memory; ``cds_hooks`` is imported before
``serve`` runs (``pgx-cds`` is ``cds_hooks.cli:main``), so this module must not import it then:
each metric below is created, and prometheus_client imported, at its first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from cds_hooks.cards import NON_ADHERENCE, OVERRIDE_REASONS
from cds_hooks.services import SERVICES

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram
    from prometheus_client.metrics import MetricWrapperBase

__all__ = [
    "CARDS",
    "FEEDBACK",
    "FHIR_CALL_SECONDS",
    "FHIR_ERRORS",
    "HOOK_DEGRADED",
    "JWT_REJECTIONS",
    "MULTIPROC_ENV",
    "REQUESTS",
    "REQUEST_SECONDS",
    "endpoint_kind",
    "multiprocess_dir",
    "record_cards",
    "record_feedback",
    "record_fhir_error",
    "record_jwt_rejection",
    "record_request",
    "service_label",
    "use_multiprocess_dir",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Buckets from 1 ms: a prefetched hook answers in a few ms, a FHIR callback takes tens to hundreds.
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# Blueprint name -> endpoint kind; anything else (no route matched, a future blueprint) is "other".
_ENDPOINT_KINDS = {
    "discovery": "discovery",
    "hooks": "hook",
    "feedback": "feedback",
    "health": "health",
    "metrics": "metrics",
    "openapi": "openapi",
}
# The override reasons every card of ours offers: the only codes worth a series of their own.
_OVERRIDE_CODES = frozenset(code for code, _display in OVERRIDE_REASONS)

_M = TypeVar("_M", bound="MetricWrapperBase")
# One lock for all: two threads of a worker must not both register the same name.
_CREATE = threading.Lock()


class _Lazy(Generic[_M]):
    """A metric created at its first use, so that importing this module imports no prometheus_client."""

    def __init__(self, build: Callable[[], _M]) -> None:
        self._build = build
        self._metric: _M | None = None

    def get(self) -> _M:
        metric = self._metric
        if metric is None:
            with _CREATE:
                if self._metric is None:
                    self._metric = self._build()
                metric = self._metric
        return metric

    def labels(self, *values: str, **labels: str) -> _M:
        return self.get().labels(*values, **labels)


def _counter(name: str, documentation: str, labels: tuple[str, ...]) -> _Lazy[Counter]:
    def build() -> Counter:
        from prometheus_client import Counter

        return Counter(name, documentation, labels)

    return _Lazy(build)


def _histogram(name: str, documentation: str, labels: tuple[str, ...]) -> _Lazy[Histogram]:
    def build() -> Histogram:
        from prometheus_client import Histogram

        return Histogram(name, documentation, labels, buckets=_SECONDS)

    return _Lazy(build)


REQUESTS = _counter(
    "pgx_cds_requests_total",
    "HTTP requests answered, by endpoint kind (discovery, hook, feedback, health, metrics, "
    "openapi, other), CDS service id (unknown: not one of ours; none: not a service URL) and "
    "status code.",
    ("endpoint", "service", "status"),
)
REQUEST_SECONDS = _histogram(
    "pgx_cds_request_seconds",
    "Time to answer a request, by endpoint kind and CDS service id.",
    ("endpoint", "service"),
)
CARDS = _counter(
    "pgx_cds_cards_total",
    "Cards returned, by topic (guideline id, pretest:<drug>, conflict:<guideline id>, "
    "patient-summary, pgx-check-not-run) and indicator.",
    ("topic", "indicator"),
)
FHIR_ERRORS = _counter(
    "pgx_cds_fhir_errors_total",
    "FHIR callbacks that failed, by kind (timeout, unavailable, refused, garbage, circuit_open, "
    "budget).",
    ("kind",),
)
FHIR_CALL_SECONDS = _histogram(
    "pgx_cds_fhir_call_seconds",
    "Time of each FHIR callback (one search, all its pages), by outcome (ok or error).",
    ("outcome",),
)
HOOK_DEGRADED = _counter(
    "pgx_cds_hook_degraded_total",
    "Hook calls answered without the genomic results because the FHIR server failed, by outcome "
    "(info-card, no-card, 412).",
    ("outcome",),
)
JWT_REJECTIONS = _counter(
    "pgx_cds_jwt_rejections_total",
    "Requests refused with 401, by reason (missing, malformed, algorithm, issuer, jku, key, "
    "signature, audience, expired, not_yet_valid, issued_in_future, lifetime, replay, claims).",
    ("reason",),
)
FEEDBACK = _counter(
    "pgx_cds_feedback_total",
    "Feedback items stored, by outcome (accepted, overridden) and override reason code (one of "
    "the codes our cards offer; other: any other; none: no coded reason).",
    ("outcome", "reason"),
)

CARD_LOG = _counter(
    "pgx_cds_card_log_records_total",
    "Card log records (the console's analytics), by outcome: written; dropped (the queue was "
    "full); failed (the database refused the batch); pruned (deleted past the retention).",
    ("outcome",),
)


def endpoint_kind(blueprint: str | None) -> str:
    """The endpoint kind of a request routed to ``blueprint`` (None: no route matched)."""
    return _ENDPOINT_KINDS.get(blueprint or "", "other")


def service_label(service_id: object) -> str:
    """A service id of ours as it is; any other id "unknown"; no id at all "none"."""
    if service_id is None:
        return "none"
    return service_id if isinstance(service_id, str) and service_id in SERVICES else "unknown"


def record_request(endpoint: str, service: str, status: int, seconds: float) -> None:
    """Count one answered request and its time; labels from :func:`endpoint_kind` and friends."""
    REQUESTS.labels(endpoint=endpoint, service=service, status=str(status)).inc()
    REQUEST_SECONDS.labels(endpoint=endpoint, service=service).observe(seconds)


def record_cards(shown: Iterable[tuple[str, str]]) -> None:
    """Count returned cards, each given as (topic, indicator)."""
    for topic, indicator in shown:
        CARDS.labels(topic=topic, indicator=indicator).inc()


def record_feedback(outcome: str, system: str | None, code: str | None) -> None:
    """Count one stored feedback item; a reason code we did not offer is "other", none "none"."""
    if code is None:
        reason = "none"
    elif code in _OVERRIDE_CODES and system in (None, NON_ADHERENCE):
        reason = code
    else:
        reason = "other"
    FEEDBACK.labels(outcome=outcome, reason=reason).inc()


def record_card_log(outcome: str, count: int) -> None:
    """Count card log records by outcome (written, dropped, failed, pruned)."""
    if count:
        CARD_LOG.labels(outcome=outcome).inc(count)


def record_fhir_error(kind: str) -> None:
    FHIR_ERRORS.labels(kind=kind).inc()


def record_jwt_rejection(reason: str) -> None:
    JWT_REJECTIONS.labels(reason=reason).inc()


def multiprocess_dir() -> Path | None:
    """The folder the processes share their figures through; None in one-process mode."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def use_multiprocess_dir(directory: Path) -> None:
    """Share the figures of every process forked from now on through ``directory``, emptied here.

    Call it before anything records a metric: the choice is made when prometheus_client is first
    imported, and a figure recorded in memory would be invisible to the others.
    """
    import sys

    if "prometheus_client" in sys.modules and multiprocess_dir() != directory:
        # A bug, not a setting: someone imported prometheus_client early (this module must not).
        raise RuntimeError(
            "prometheus_client was imported before the multi-process folder was set; "
            "the workers' metrics would not add up"
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Figures of an earlier run would be added to this one's (a pid can be reused).
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
