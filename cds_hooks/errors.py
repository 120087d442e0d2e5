"""Errors a CDS client can act on, answered as JSON ``{"error", "expression"}`` with the right status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from flask import Flask, Response, jsonify
from flask.json.provider import DefaultJSONProvider
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from knowledge.errors import dotted

__all__ = [
    "BadHookRequest",
    "HookError",
    "JsonProvider",
    "PreconditionFailed",
    "ServiceUnavailable",
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

    @classmethod
    def from_validation(
        cls,
        exc: ValidationError,
        *,
        prefix: tuple[str | int, ...] = (),
        hint: Callable[[tuple[str | int, ...]], str] | None = None,
    ) -> BadHookRequest:
        """Every problem pydantic found, each located; the first one leads the answer.

        Only pydantic's message is used, never the input: it may hold a token or PHI.
        """
        details = []
        for problem in exc.errors():
            loc = (*prefix, *problem["loc"])
            expression = dotted(loc)
            kind = problem["type"]
            if kind == "missing":
                message = f"{expression} is required"
            elif kind in ("string_too_short", "too_short"):
                message = f"{expression} must not be empty"
            elif kind in ("model_type", "dict_type"):
                # pydantic would name a Python class here; the integrator thinks in JSON.
                message = f"{expression} must be a JSON object"
            else:
                message = f"{expression}: {problem['msg']}"
            if hint is not None:
                message = f"{message}. {hint(loc)}"
            details.append({"error": message, "expression": expression})
        first = details[0]
        lead = first["error"]
        if len(details) > 1:
            lead += f" ({len(details) - 1} more problem(s) listed in details)"
        return cls(lead, first["expression"], details)


class UnknownService(HookError):
    status = 404


class ServiceUnavailable(HookError):
    """A dependency of ours (the feedback database) is down: 503, so the client retries."""

    status = 503


class PreconditionFailed(HookError):
    """Data the service needs was neither prefetched nor fetchable: 412, as CDS Hooks requires."""

    status = 412


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON through orjson (several times faster on a hook's 5-10 kB bodies); a body
    nested deeper than the parser goes is refused as a 400 that says so.

    Anything orjson cannot write (a Decimal, a 65-bit integer) goes through Flask's own encoder.
    """

    sort_keys = False  # keep the spec's field order

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        # Flask passes separators (compact) or indent (debug); orjson is compact unless told.
        option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if kwargs.get("indent") else 0)
        if kwargs.get("sort_keys"):
            option |= orjson.OPT_SORT_KEYS
        try:
            return orjson.dumps(obj, option=option).decode()
        except TypeError:
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            if str(exc).startswith("depth limit exceeded"):
                raise BadHookRequest(
                    "the request body nests JSON arrays and objects too deeply to be read"
                ) from None
            raise  # a ValueError: request.get_json(silent=True) answers None, "not valid JSON"


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as JSON; only our own ``HookError`` texts reach the client.

    Installs :class:`JsonProvider`, so that a request body too deep to parse is one of them.
    """
    app.json = JsonProvider(app)

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
