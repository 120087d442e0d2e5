"""What one running service holds: settings, knowledge, feedback store, FHIR and RxNav clients."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from flask import current_app

from cds_hooks.config import Settings
from cds_hooks.feedback_store import FeedbackStore
from cds_hooks.knowledge_reload import KnowledgeHolder
from fhir_adapters import IngredientResolver, RxNavClient

__all__ = ["ServiceState", "rxnav_client", "service_state"]

EXTENSION_KEY = "pgx_cds"


@dataclass
class ServiceState:
    settings: Settings
    # Read .current once per request: a reload may swap it in the meantime.
    knowledge: KnowledgeHolder
    feedback: FeedbackStore
    # One pooled session for FHIR callbacks; tokens are passed per request, never stored on it.
    http: requests.Session
    # Product code -> ingredients, built once from the settings; None when PGX_CDS_RXNAV_URL=off.
    rxnav: IngredientResolver | None = field(init=False)

    def __post_init__(self) -> None:
        self.rxnav = rxnav_client(self.settings)


def rxnav_client(settings: Settings) -> RxNavClient | None:
    """The RxNav client the settings ask for, with its own pooled session and cache."""
    if settings.rxnav_url is None:
        return None
    return RxNavClient(
        settings.rxnav_url,
        timeout=settings.rxnav_timeout,
        cache_size=settings.rxnav_cache_size,
        ttl=settings.rxnav_cache_ttl,
    )


def service_state() -> ServiceState:
    """The state of the app handling the current request."""
    state = current_app.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    return state
