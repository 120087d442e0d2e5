"""Service health: knowledge reloads, FHIR callbacks, JWT rejections, cards, the feedback store."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask import render_template

from cds_hooks.console.pages import bp
from cds_hooks.metrics_endpoint import metrics_registry
from cds_hooks.state import service_state

__all__ = ["Figures", "Latency", "figures_of", "quantile"]

# (sample name, labels) -> value, every sample of every metric the registry collects.
Samples = Mapping[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass(frozen=True, slots=True)
class Latency:
    """FHIR callback times of one outcome, from the histogram's count, sum and buckets."""

    outcome: str
    count: float
    mean: float | None
    p50: float | None
    p95: float | None


@dataclass(frozen=True, slots=True)
class Figures:
    """What the health page shows of the Prometheus metrics."""

    fhir_errors: dict[str, float]
    fhir_latency: tuple[Latency, ...]
    jwt_rejections: dict[str, float]
    degraded: dict[str, float]
    cards: dict[str, float]


def quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """Estimate the ``q`` quantile from cumulative ``(upper bound, count)`` buckets.

    As Prometheus's ``histogram_quantile`` does: linear within the bucket the rank falls in; in the
    ``+Inf`` bucket, the largest finite bound. None when nothing was observed.
    """
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def _by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    """Values of one counter's samples summed per value of ``label``, in label order."""
    found: dict[str, float] = {}
    for (sample, labels), value in samples.items():
        if sample == name:
            key = dict(labels).get(label, "")
            found[key] = found.get(key, 0.0) + value
    return dict(sorted(found.items()))


def _latency(samples: Samples, name: str) -> tuple[Latency, ...]:
    counts = _by_label(samples, f"{name}_count", "outcome")
    sums = _by_label(samples, f"{name}_sum", "outcome")
    rows = []
    for outcome, count in counts.items():
        buckets = [
            (float(dict(labels)["le"]), value)
            for (sample, labels), value in samples.items()
            if sample == f"{name}_bucket" and dict(labels).get("outcome") == outcome
        ]
        rows.append(
            Latency(
                outcome,
                count,
                sums.get(outcome, 0.0) / count if count else None,
                quantile(0.5, buckets),
                quantile(0.95, buckets),
            )
        )
    return tuple(rows)


def figures_of(samples: Samples) -> Figures:
    """The figures of the page from the samples of the metrics registry."""
    return Figures(
        fhir_errors=_by_label(samples, "pgx_cds_fhir_errors_total", "kind"),
        fhir_latency=_latency(samples, "pgx_cds_fhir_call_seconds"),
        jwt_rejections=_by_label(samples, "pgx_cds_jwt_rejections_total", "reason"),
        degraded=_by_label(samples, "pgx_cds_hook_degraded_total", "outcome"),
        cards=_by_label(samples, "pgx_cds_cards_total", "indicator"),
    )


def _samples() -> Samples:
    registry = metrics_registry(service_state().knowledge)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


@bp.get("/health")
def health() -> str:
    state = service_state()
    status = state.knowledge.status  # one snapshot: a reload may swap it meanwhile
    figures = figures_of(_samples()) if state.settings.metrics else None
    return render_template(
        "console/health.html",
        status=status,
        directory=state.knowledge.directory,
        figures=figures,
        store_ok=state.feedback.ping(),
        store_backend=state.feedback.engine.dialect.name,
    )
