"""``GET /metrics``: the Prometheus figures of every gunicorn worker (or of this one process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from flask import Blueprint, Response, request

from cds_hooks.knowledge_reload import KnowledgeHolder
from cds_hooks.metrics import multiprocess_dir
from cds_hooks.state import service_state

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Metric

__all__ = ["KnowledgeCollector", "bp", "metrics_registry"]

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    from prometheus_client.exposition import choose_encoder

    registry = metrics_registry(service_state().knowledge)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type)


def metrics_registry(holder: KnowledgeHolder) -> CollectorRegistry:
    """Every figure ``/metrics`` exposes: all gunicorn workers' (or this process's), and knowledge."""
    # Imported here, not at the top: see cds_hooks.metrics on why nothing imports it early.
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    directory = multiprocess_dir()
    if directory is None:
        registry.register(REGISTRY)
    else:
        # Every worker's files, live or dead: counters keep what a restarted worker had counted.
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    registry.register(KnowledgeCollector(holder))
    return registry


class KnowledgeCollector:
    """The knowledge version serving and the last reload refused, read at scrape time.

    Under gunicorn this is the answering worker's view; workers poll the same folder, so they
    agree within one reload interval.
    """

    def __init__(self, holder: KnowledgeHolder) -> None:
        self._holder = holder

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

        status = self._holder.status  # one snapshot: a reload may swap it meanwhile
        knowledge = status.knowledge
        yield InfoMetricFamily(
            "pgx_cds_knowledge",
            "The knowledge base serving: its content version.",
            value={"version": knowledge.version},
        )
        for what, count in (
            ("guidelines", len(knowledge.guidelines)),
            ("genes", len(knowledge.genes)),
            ("drugs", len(knowledge.drugs)),
        ):
            yield GaugeMetricFamily(
                f"pgx_cds_knowledge_{what}", f"The {what} in the knowledge base serving.", count
            )
        yield GaugeMetricFamily(
            "pgx_cds_knowledge_loaded_timestamp_seconds",
            "When the knowledge base serving was loaded (Unix time).",
            status.loaded_at.timestamp(),
        )
        refused = status.refused
        yield GaugeMetricFamily(
            "pgx_cds_knowledge_reload_refused",
            "1 while the knowledge folder holds a version that failed its checks (the last good "
            "one keeps serving), else 0.",
            0 if refused is None else 1,
        )
        yield GaugeMetricFamily(
            "pgx_cds_knowledge_reload_refused_errors",
            "Errors found in the refused version of the knowledge folder (0 when none is refused).",
            0 if refused is None else len(refused.errors),
        )
