"""The feedback endpoint: ``POST /cds-services/{id}/feedback`` records what users did with cards."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import OperationalError

from cds_hooks.errors import BadHookRequest, ServiceUnavailable, UnknownService
from cds_hooks.feedback_store import FeedbackItem
from cds_hooks.metrics import record_feedback
from cds_hooks.services import SERVICES
from cds_hooks.state import service_state

__all__ = ["bp", "parse_feedback"]

log = logging.getLogger(__name__)

bp = Blueprint("feedback", __name__)

_ITEMS = TypeAdapter(list[FeedbackItem])

_SHAPE = 'Send {"feedback": [{"card": ..., "outcome": ..., "outcomeTimestamp": ...}, ...]}.'
# How to fix each field, keyed by the last name in the error location.
_HINTS = {
    "card": "Send the uuid of the card the feedback is about.",
    "outcome": "Use accepted or overridden.",
    "outcomeTimestamp": "Send an RFC 3339 date-time with an offset, e.g. 2021-12-11T10:05:31Z.",
    "acceptedSuggestions": 'List the accepted suggestions as [{"id": "<suggestion uuid>"}].',
    "id": 'List the accepted suggestions as [{"id": "<suggestion uuid>"}].',
    "overrideReason": 'Send {"reason": {"system": ..., "code": ...}, "userComment": ...}.',
    "reason": "Send a FHIR Coding with system and code.",
    "userComment": "Send the comment as a string.",
    "system": "Send the code system as a string.",
    "code": "Send the code as a string.",
    "display": "Send the display as a string.",
}


def _hint(loc: tuple[str | int, ...]) -> str:
    names = [part for part in loc if isinstance(part, str)]
    return _HINTS.get(names[-1], _SHAPE) if names else _SHAPE


def parse_feedback(body: Any) -> list[FeedbackItem]:
    """Check a whole feedback request body; raise ``BadHookRequest`` listing every problem."""
    if not isinstance(body, dict):
        raise BadHookRequest(
            "the request body must be a JSON object sent with Content-Type: application/json. "
            + _SHAPE
        )
    if "feedback" not in body:
        raise BadHookRequest(f"feedback is required. {_SHAPE}", "feedback")
    if not isinstance(body["feedback"], list):
        raise BadHookRequest(f"feedback must be an array. {_SHAPE}", "feedback")
    try:
        return _ITEMS.validate_python(body["feedback"])
    except ValidationError as exc:
        raise BadHookRequest.from_validation(exc, prefix=("feedback",), hint=_hint) from None


@bp.post("/cds-services/<service_id>/feedback")
def receive_feedback(service_id: str) -> tuple[Response, int]:
    """Store a batch of feedback items, all or none; answer how many were new."""
    if service_id not in SERVICES:
        raise UnknownService(f"no CDS service {service_id!r}", None)
    items = parse_feedback(request.get_json(silent=True))
    try:
        result = service_state().feedback.record(service_id, items)
    except OperationalError as exc:
        # Nothing was committed, so nothing acknowledged is lost: tell the client to retry.
        log.error("feedback store unavailable: %s", exc.__class__.__name__)
        raise ServiceUnavailable(
            "the feedback store is unavailable; send the feedback again"
        ) from exc
    repeats = service_state().repeats
    for item in items:
        if item.outcome == "overridden":
            # The same card stays quiet for this patient and drug for a while (repeat_guard).
            repeats.overridden(item.card)
    # Only what this call stored: a client resending a batch must not count twice.
    for item in result.new_items:
        coding = item.override_reason.reason if item.override_reason else None
        record_feedback(
            item.outcome, coding.system if coding else None, coding.code if coding else None
        )
    log.info(
        "feedback recorded",
        extra={
            "service_id": service_id,
            "feedback_items": len(items),
            "stored": result.stored,
            "duplicates": result.duplicates,
        },
    )
    return jsonify({"stored": result.stored, "duplicates": result.duplicates}), 200
