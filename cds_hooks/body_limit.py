"""Refuse a request body over ``max_request_bytes`` with 413, also when it is sent chunked."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

__all__ = ["install_body_limit"]


def install_body_limit(app: Flask, limit: int) -> None:
    """A declared Content-Length over ``limit`` is refused by werkzeug (MAX_CONTENT_LENGTH,
    which must equal ``limit``).

    A chunked body has no Content-Length: werkzeug then stops reading at the limit without a
    word, handing the view a truncated body. Read it here instead (at most ``limit`` bytes, kept
    for the view) and refuse it when it reaches the limit: 413, in JSON like every error.
    """

    @app.before_request
    def _refuse_oversized_chunked_body() -> None:
        if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
            return
        if len(request.get_data(cache=True)) >= limit:
            raise RequestEntityTooLarge(
                f"the request body is larger than the {limit} bytes accepted"
            )
