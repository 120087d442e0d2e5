"""What one running service holds: settings, knowledge, feedback store, FHIR and RxNav clients."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from flask import current_app

from cds_hooks.alert_memory import open_alert_memory
from cds_hooks.card_log import CardLog
from cds_hooks.config import Settings
from cds_hooks.feedback_store import FeedbackStore
from cds_hooks.knowledge_reload import KnowledgeHolder
from cds_hooks.repeat_guard import RepeatGuard
from cds_hooks.site_config import (
    SiteConfig,
    check_against,
    check_oncology_against,
    load_site_config,
)
from fhir_adapters import IngredientResolver, RxNavClient
from fhir_adapters.breaker import CircuitBreakers

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
    # Pre-test alert levels and orderable codes (PGX_CDS_SITE_CONFIG), checked at start-up.
    site: SiteConfig = field(init=False)
    # What was shown and overridden, so that unchanged cards are not repeated.
    repeats: RepeatGuard = field(init=False)
    # A circuit breaker per FHIR server origin, shared by every hook call of this process.
    fhir_breakers: CircuitBreakers = field(init=False)
    # The cards shown (topic, drug, indicator; no patient), written in batches off the hot path.
    card_log: CardLog = field(init=False)

    def __post_init__(self) -> None:
        self.rxnav = rxnav_client(self.settings)
        self.card_log = CardLog(self.feedback, retention=self.settings.card_log_retention)
        self.fhir_breakers = CircuitBreakers(
            failures=self.settings.fhir_breaker_failures, reset=self.settings.fhir_breaker_reset
        )
        self.site = load_site_config(self.settings.site_config)
        pretest = self.knowledge.current.pretest
        if pretest is not None:
            check_against(self.site, pretest)
        oncology = self.knowledge.current.oncology
        if oncology is not None:
            check_oncology_against(self.site, oncology.drugs)
        self.repeats = RepeatGuard(
            open_alert_memory(
                self.settings.alert_memory_url,
                max_entries=self.settings.alert_memory_max_entries,
            ),
            secret=self.settings.alert_memory_secret.get_secret_value().encode(),
            select_window=self.settings.repeat_after_select_window,
            override_window=self.settings.quiet_after_override_window,
        )


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
