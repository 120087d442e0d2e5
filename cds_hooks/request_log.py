"""JSON log lines, one per hook call, and every request's metrics; no token, no PHI by default."""

from __future__ import annotations

import logging
import logging.config
import time
from typing import Any

from flask import Flask, Response, g, request

from cds_hooks.config import Settings
from cds_hooks.metrics import endpoint_kind, record_request, service_label

__all__ = ["configure_logging", "install_request_log", "json_formatter", "logging_config"]

log = logging.getLogger("cds_hooks.calls")

# Fields that identify a patient or describe their genome: logged only with PGX_CDS_LOG_PHI=true.
_PHI_FIELDS = ("patient_id", "genotypes")
# The one definition of a log line, for dictConfig and for tests that format records themselves.
_JSON_FORMATTER: dict[str, Any] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}


def logging_config(settings: Settings) -> dict[str, Any]:
    """One ``dictConfig``: JSON lines on stderr, gunicorn's own loggers routed through it too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": dict(_JSON_FORMATTER)},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": settings.log_level, "handlers": ["json"]},
        "loggers": {
            # gunicorn sets its own levels (access: INFO); ours win, so WARNING means no
            # access line per request.
            "gunicorn.error": {"handlers": [], "propagate": True, "level": settings.log_level},
            "gunicorn.access": {"handlers": [], "propagate": True, "level": settings.log_level},
            # urllib3 writes each URL it calls (DEBUG) or retries (WARNING); a FHIR search URL
            # names the patient, so it speaks only of errors unless PHI may be logged.
            **({} if settings.log_phi else {"urllib3": {"level": "ERROR"}}),
        },
    }


def configure_logging(settings: Settings) -> None:
    """JSON lines on stderr for the whole process."""
    logging.config.dictConfig(logging_config(settings))


def json_formatter() -> logging.Formatter:
    """The formatter of every log line, as ``logging_config`` sets it up."""
    configurator = logging.config.DictConfigurator({"version": 1})
    formatter: logging.Formatter = configurator.configure_formatter(dict(_JSON_FORMATTER))
    return formatter


def install_request_log(app: Flask, settings: Settings) -> None:
    """Time every request; count it in the metrics; log each hook call as one JSON line."""

    def _start() -> None:
        g.pgx_started = time.perf_counter()

    # Ahead of any before_request registered earlier too: one may end the request (authentication
    # refusing it), and a refused request is timed as well.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    def _count(status: int) -> None:
        if not settings.metrics or g.get("pgx_counted", False):
            return
        # Once: after_request runs again for the 500 answered when an after_request raised.
        g.pgx_counted = True
        started: float | None = g.get("pgx_started")
        record_request(
            endpoint_kind(request.blueprint),
            service_label((request.view_args or {}).get("service_id")),
            status,
            0.0 if started is None else time.perf_counter() - started,
        )

    @app.teardown_request
    def _unhandled(exc: BaseException | None) -> None:
        # No after_request when an exception escapes every handler (PROPAGATE_EXCEPTIONS): the
        # server answers 500.
        if exc is not None:
            _count(500)

    @app.after_request
    def _log(response: Response) -> Response:
        _count(response.status_code)
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
