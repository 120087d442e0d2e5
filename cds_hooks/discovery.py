"""``GET /cds-services``: the discovery document an EHR reads to register the services."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from cds_hooks.services import SERVICES, TUMOUR_RESULTS_KEY, tumour_results_template
from cds_hooks.state import service_state

__all__ = ["bp"]

bp = Blueprint("discovery", __name__)


@bp.get("/cds-services")
def discovery() -> Response:
    # The tumour search carries the site's own biomarker codes (site configuration).
    site = {
        TUMOUR_RESULTS_KEY: tumour_results_template(service_state().site.oncology.biomarker_codes)
    }
    return jsonify({"services": [service.to_json(site) for service in SERVICES.values()]})
