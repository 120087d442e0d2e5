"""What one running service holds: settings, knowledge, the feedback store and the FHIR HTTP session."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from flask import current_app

from cds_hooks.config import Settings
from cds_hooks.feedback_store import FeedbackStore
from knowledge import KnowledgeBase

__all__ = ["ServiceState", "service_state"]

EXTENSION_KEY = "pgx_cds"


@dataclass
class ServiceState:
    settings: Settings
    knowledge: KnowledgeBase
    feedback: FeedbackStore
    # One pooled session for FHIR callbacks; tokens are passed per request, never stored on it.
    http: requests.Session


def service_state() -> ServiceState:
    """The state of the app handling the current request."""
    state = current_app.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    return state
