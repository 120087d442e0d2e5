"""``/healthz`` (the process answers) and ``/readyz`` (knowledge loaded, feedback store reachable)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from cds_hooks.knowledge_reload import KnowledgeStatus
from cds_hooks.state import service_state

__all__ = ["bp"]

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    state = service_state()
    knowledge = state.knowledge.status  # one snapshot: a reload may swap it meanwhile
    store_ok = state.feedback.ping()
    body = {
        "status": "ready" if store_ok else "not ready",
        "knowledge": _knowledge(knowledge),
        "feedbackStore": "ok" if store_ok else "unreachable",
    }
    return jsonify(body), 200 if store_ok else 503


def _knowledge(status: KnowledgeStatus) -> dict[str, Any]:
    """The version serving, since when, and a newer version of the folder that was refused."""
    body: dict[str, Any] = {
        **status.knowledge.summary,
        "loadedAt": status.loaded_at.isoformat(timespec="seconds"),
    }
    if status.refused is not None:
        body["lastRefusedReload"] = {
            "at": status.refused.at.isoformat(timespec="seconds"),
            "errorCount": len(status.refused.errors),
        }
    return body
