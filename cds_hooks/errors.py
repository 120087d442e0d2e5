"""Errors a CDS client can act on, answered as JSON ``{"error", "expression"}`` with the right status."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

__all__ = [
    "BadHookRequest",
    "HookError",
    "PreconditionFailed",
    "UnknownService",
    "register_error_handlers",
]

log = logging.getLogger(__name__)


class HookError(Exception):
    """Base of the errors whose text is meant for the integrator calling the service."""

    status = 400

    def __init__(
        self, error: str, expression: str | None = None, details: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.expression = expression
        self.details = details or []

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error}
        if self.expression:
            body["expression"] = self.expression
        if len(self.details) > 1:
            body["details"] = self.details
        return body


class BadHookRequest(HookError):
    """The request is malformed: 400, saying what and where (a FHIRPath-like expression)."""

    status = 400


class UnknownService(HookError):
    status = 404


class PreconditionFailed(HookError):
    """Data the service needs was neither prefetched nor fetchable: 412, as CDS Hooks requires."""

    status = 412


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as JSON; only our own ``HookError`` texts reach the client."""

    @app.errorhandler(HookError)
    def _hook_error(exc: HookError) -> tuple[Response, int]:
        return jsonify(exc.to_json()), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify({"error": exc.description or exc.name}), exc.code or 500

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> tuple[Response, int]:
        # A bug: keep the trace in the log, tell the client nothing it could misuse.
        log.exception("unhandled error")
        return jsonify({"error": "internal error; the service log has the details"}), 500
