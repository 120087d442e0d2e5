"""``GET /cds-services``: the discovery document an EHR reads to register the services."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from cds_hooks.services import SERVICES

__all__ = ["bp"]

bp = Blueprint("discovery", __name__)


@bp.get("/cds-services")
def discovery() -> Response:
    return jsonify({"services": [service.to_json() for service in SERVICES.values()]})
