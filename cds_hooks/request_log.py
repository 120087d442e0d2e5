"""One JSON log line per hook call, with no token and, unless enabled, no patient data."""

from __future__ import annotations

import logging
import logging.config
import time
from typing import Any

from flask import Flask, Response, g

from cds_hooks.config import Settings

__all__ = ["configure_logging", "install_request_log", "logging_config"]

log = logging.getLogger("cds_hooks.calls")

# Fields that identify a patient or describe their genome: logged only with PGX_CDS_LOG_PHI=true.
_PHI_FIELDS = ("patient_id", "genotypes")


def logging_config(settings: Settings) -> dict[str, Any]:
    """One ``dictConfig``: JSON lines on stderr, gunicorn's own loggers routed through it too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": settings.log_level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"handlers": [], "propagate": True},
            "gunicorn.access": {"handlers": [], "propagate": True},
        },
    }


def configure_logging(settings: Settings) -> None:
    """JSON lines on stderr for the whole process."""
    logging.config.dictConfig(logging_config(settings))


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
