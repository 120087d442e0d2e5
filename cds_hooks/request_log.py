"""One JSON log line per hook call, with no token and, unless enabled, no patient data."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from flask import Flask, Response, g
from pythonjsonlogger.json import JsonFormatter

from cds_hooks.config import Settings

__all__ = ["configure_logging", "install_request_log"]

log = logging.getLogger("cds_hooks.calls")

# Fields that identify a patient or describe their genome: logged only with PGX_CDS_LOG_PHI=true.
_PHI_FIELDS = ("patient_id", "genotypes")


def configure_logging(settings: Settings) -> None:
    """JSON lines on stderr for the whole process (service and gunicorn alike)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


def install_request_log(app: Flask, settings: Settings) -> None:
    @app.before_request
    def _start() -> None:
        g.pgx_started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        call: dict[str, Any] | None = g.get("pgx_call")
        if call is None:
            return response
        started = g.get("pgx_started", time.perf_counter())
        fields = {
            "service_id": call.get("service_id"),
            "hook_instance": call.get("hook_instance"),
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "orders": call.get("orders"),
            "cards": call.get("cards"),
            "data_source": call.get("data_source"),
        }
        if settings.log_phi:
            fields.update({key: call.get(key) for key in _PHI_FIELDS})
        if response.status_code >= 400 and response.is_json:
            body = response.get_json(silent=True)
            if isinstance(body, dict):
                fields["error"] = body.get("error")
        log.info("hook call", extra={k: v for k, v in fields.items() if v is not None})
        return response
