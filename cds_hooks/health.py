"""``/healthz`` (the process answers) and ``/readyz`` (knowledge loaded, feedback store reachable)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from cds_hooks.state import service_state

__all__ = ["bp"]

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    state = service_state()
    store_ok = state.feedback.ping()
    body = {
        "status": "ready" if store_ok else "not ready",
        "knowledge": state.knowledge.summary,
        "feedbackStore": "ok" if store_ok else "unreachable",
    }
    return jsonify(body), 200 if store_ok else 503
