"""Get the patient's genomic results: from prefetch when the client sent them, else from FHIR."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from cds_hooks.errors import BadHookRequest, PreconditionFailed
from cds_hooks.hook_request import HookRequest
from cds_hooks.metrics import FHIR_CALL_SECONDS, record_fhir_error
from cds_hooks.services import GENOMIC_RESULTS_KEY
from cds_hooks.state import ServiceState
from fhir_adapters import (
    FhirClient,
    FhirError,
    GenotypeReadout,
    is_operation_outcome,
    iter_resources,
    read_genotypes,
)
from fhir_adapters.budget import Budget
from knowledge import KnowledgeBase

__all__ = [
    "GenomicResultsUnavailable",
    "fhir_client",
    "fhir_search",
    "genomic_results",
    "required_resources",
]

log = logging.getLogger(__name__)


class GenomicResultsUnavailable(PreconditionFailed):
    """The fhirServer given could not give the genomic results; ``cause`` says how.

    A 412 unless the service is set to answer with an info card or no card instead
    (``fhir_failure_outcome``): the hook decides.
    """

    def __init__(self, error: str, expression: str, cause: FhirError) -> None:
        super().__init__(error, expression)
        self.cause = cause


def genomic_results(
    request: HookRequest, state: ServiceState, kb: KnowledgeBase, budget: Budget
) -> tuple[GenotypeReadout, str]:
    """The patient's genotypes and where they came from (``prefetch`` or ``fhir``).

    ``kb`` is the version the whole call uses; see ``required_resources`` for the rules.
    """
    template = request.service.prefetch[GENOMIC_RESULTS_KEY]
    resources, origin = required_resources(
        request, state, budget, GENOMIC_RESULTS_KEY, template, "genomic results"
    )
    return read_genotypes(resources, kb.genes_by_hgnc, kb=kb), origin


def required_resources(
    request: HookRequest,
    state: ServiceState,
    budget: Budget,
    key: str,
    template: str,
    what: str,
) -> tuple[list[Any], str]:
    """The resources of prefetch ``key`` the call cannot do without, and where they came from.

    Prefetch rules (CDS Hooks 2.0): a present key is used, ``null`` or an empty Bundle meaning
    nothing on file; an absent key or an OperationOutcome means fetch it ourselves (``template``);
    when that is impossible, the answer is 412, and when the fetch fails,
    GenomicResultsUnavailable. Every search draws on the call's ``budget``.
    """
    expression = f"prefetch.{key}"
    if key in request.prefetch:
        value = request.prefetch[key]
        if value is not None and not isinstance(value, Mapping):
            raise BadHookRequest(
                f"{expression} must be a FHIR Bundle, a resource or null", expression
            )
        if not is_operation_outcome(value):
            resources = list(iter_resources(value))
            resources.extend(_remaining_pages(value, request, state, budget))
            return resources, "prefetch"
        log.info("prefetch %s carried an OperationOutcome; fetching from FHIR", key)
    if request.fhir_server is None:
        raise PreconditionFailed(
            f"the patient's {what} were not prefetched ({expression}) and no fhirServer "
            "was given to fetch them",
            expression,
        )
    query = template.replace("{{context.patientId}}", quote(request.patient_id, safe=""))
    try:
        bundles = fhir_search(request, state, budget, query)
    except FhirError as exc:
        raise GenomicResultsUnavailable(
            f"the patient's {what} were not prefetched and could not be read from "
            f"fhirServer: {exc}",
            expression,
            exc,
        ) from exc
    return [r for bundle in bundles for r in iter_resources(bundle)], "fhir"


def _remaining_pages(
    value: Any, request: HookRequest, state: ServiceState, budget: Budget
) -> list[Any]:
    """A client MAY paginate prefetch; follow ``next`` when we can reach the server."""
    if not isinstance(value, Mapping) or request.fhir_server is None:
        return []
    links = value.get("link")
    next_url = (
        next(
            (
                link.get("url")
                for link in links
                if isinstance(link, Mapping) and link.get("relation") == "next"
            ),
            None,
        )
        if isinstance(links, list)
        else None
    )
    if not isinstance(next_url, str):
        return []
    try:
        bundles = fhir_search(request, state, budget, next_url)
    except FhirError as exc:
        # The first page is in hand; a missing tail is logged, not fatal.
        log.warning("could not follow prefetch pagination: %s", exc)
        return []
    return [r for bundle in bundles for r in iter_resources(bundle)]


def fhir_search(
    request: HookRequest, state: ServiceState, budget: Budget, query: str
) -> list[Mapping[str, Any]]:
    """``query`` searched on the call's fhirServer within ``budget``; timed and counted."""
    started = time.perf_counter()
    try:
        bundles = fhir_client(request, state, budget).search(query)
    except FhirError as exc:
        FHIR_CALL_SECONDS.labels(outcome="error").observe(time.perf_counter() - started)
        record_fhir_error(exc.kind)
        raise
    FHIR_CALL_SECONDS.labels(outcome="ok").observe(time.perf_counter() - started)
    return bundles


def fhir_client(request: HookRequest, state: ServiceState, budget: Budget) -> FhirClient:
    """A client for the EHR's FHIR server with the call's token, budget and the service's limits."""
    assert request.fhir_server is not None
    settings = state.settings
    return FhirClient(
        request.fhir_server,
        access_token=request.access_token.get_secret_value() if request.access_token else None,
        session=state.http,
        timeout=(settings.fhir_connect_timeout, settings.fhir_read_timeout),
        max_pages=settings.fhir_max_pages,
        deadline=settings.fhir_deadline,
        retries=settings.fhir_retries,
        budget=budget,
        breaker=state.fhir_breakers.for_url(request.fhir_server),
        max_response_bytes=settings.fhir_max_response_bytes,
    )
