"""The service's Prometheus metrics: what health IT watches, with no patient, genotype or token.

Every label takes its values from a small fixed set of ours (service ids, guideline ids,
indicators, error kinds, override reason codes we declared), never from a request, so a label can
carry no PHI and the number of series stays bounded. Under gunicorn the workers share the figures
through ``PROMETHEUS_MULTIPROC_DIR`` (set by ``pgx-cds serve``).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

__all__ = [
    "CARDS",
    "FEEDBACK",
    "FHIR_CALL_SECONDS",
    "FHIR_ERRORS",
    "HOOK_DEGRADED",
    "JWT_REJECTIONS",
    "REQUESTS",
    "REQUEST_SECONDS",
    "record_cards",
    "record_fhir_error",
    "record_jwt_rejection",
]

# Buckets from 1 ms: a prefetched hook answers in a few ms, a FHIR callback takes tens to hundreds.
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUESTS = Counter(
    "pgx_cds_requests_total",
    "HTTP requests answered, by endpoint kind, CDS service id and status code.",
    ["endpoint", "service", "status"],
)
REQUEST_SECONDS = Histogram(
    "pgx_cds_request_seconds",
    "Time to answer a request, by endpoint kind and CDS service id.",
    ["endpoint", "service"],
    buckets=_SECONDS,
)
CARDS = Counter(
    "pgx_cds_cards_total",
    "Cards returned, by topic (guideline id, pretest:<drug>, conflict:<guideline id>, ...) "
    "and indicator.",
    ["topic", "indicator"],
)
FHIR_ERRORS = Counter(
    "pgx_cds_fhir_errors_total",
    "FHIR callbacks that failed, by kind (timeout, unavailable, refused, garbage, circuit_open, "
    "budget).",
    ["kind"],
)
FHIR_CALL_SECONDS = Histogram(
    "pgx_cds_fhir_call_seconds",
    "Time of each FHIR callback (one search, all its pages), by outcome (ok or error).",
    ["outcome"],
    buckets=_SECONDS,
)
HOOK_DEGRADED = Counter(
    "pgx_cds_hook_degraded_total",
    "Hook calls answered without the genomic results because the FHIR server failed, by outcome "
    "(info-card, no-card, 412).",
    ["outcome"],
)
JWT_REJECTIONS = Counter(
    "pgx_cds_jwt_rejections_total",
    "Requests refused with 401, by reason (missing, malformed, algorithm, issuer, key, signature, "
    "audience, expired, lifetime, replay, ...).",
    ["reason"],
)
FEEDBACK = Counter(
    "pgx_cds_feedback_total",
    "Feedback items recorded, by outcome (accepted, overridden) and override reason code "
    "(none when no reason was given).",
    ["outcome", "reason"],
)


def record_cards(shown: Iterable[tuple[str, str]]) -> None:
    """Count returned cards, each given as (topic, indicator)."""
    for topic, indicator in shown:
        CARDS.labels(topic=topic, indicator=indicator).inc()


def record_fhir_error(kind: str) -> None:
    FHIR_ERRORS.labels(kind=kind).inc()


def record_jwt_rejection(reason: str) -> None:
    JWT_REJECTIONS.labels(reason=reason).inc()
