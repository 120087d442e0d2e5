"""Who the patient is and what else they take, from prefetch or the EHR's FHIR server, on demand.

Unlike the genomic results these are optional: when neither prefetch nor the FHIR server gives
them, the rules that need them say so on the card (no 412, no guess). Each is read at most once
per call and only when an order's rules need it, so a call that needs none costs no FHIR search.
Every search draws on the hook call's time budget; one that finds it spent is noted like a failure.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote

from cds_hooks.hook_request import HookRequest
from cds_hooks.patient_data import fhir_search
from cds_hooks.services import CONDITION_KEYS, MEDICATION_KEYS, PATIENT_FACTOR_KEYS
from cds_hooks.state import ServiceState
from fhir_adapters import (
    DraftMedication,
    FhirError,
    IngredientResolver,
    identify_drug,
    is_operation_outcome,
    iter_resources,
)
from fhir_adapters.budget import Budget
from fhir_adapters.comedication import active_comedications
from fhir_adapters.patient_factors import read_patient_factors
from knowledge import KnowledgeBase
from knowledge.patient import Comedication, PatientFactors

__all__ = ["PatientContext", "run_beside"]

log = logging.getLogger(__name__)


class PatientContext:
    """Patient factors and co-medications for one hook call, read lazily and at most once."""

    def __init__(
        self,
        request: HookRequest,
        state: ServiceState,
        kb: KnowledgeBase,
        drafts: Sequence[DraftMedication],
        *,
        budget: Budget,
        resolver: IngredientResolver | None = None,
        today: datetime.date | None = None,
    ) -> None:
        self._request = request
        self._state = state
        self._kb = kb
        self._drafts = drafts
        self._budget = budget
        self._resolver = resolver
        self._today = today or datetime.datetime.now(datetime.UTC).date()
        # Where each part came from, or why it is missing: for logs and the cards' notes.
        self.unavailable: list[str] = []
        self._lock = threading.Lock()
        self._comedications: dict[bool, list[Comedication]] = {}
        # Searches started early (start), by prefetch key, until read takes them.
        self._pending: dict[str, Future[list[Any]]] = {}

    @cached_property
    def factors(self) -> PatientFactors:
        resources = self.read(PATIENT_FACTOR_KEYS, "patient details")
        return read_patient_factors(resources, self._today)

    def comedications(self, *, fetch: bool) -> list[Comedication]:
        """Active medications on file, then the other drafts of this call (ordered together).

        ``fetch``: read the list from the FHIR server when it was not prefetched; worth a search
        only when a rule converts the phenotype or a dose algorithm reads the drugs.
        """
        if fetch not in self._comedications:
            self._comedications[fetch] = self._read_comedications(fetch)
        return self._comedications[fetch]

    def _read_comedications(self, fetch: bool) -> list[Comedication]:
        resources = self.read(MEDICATION_KEYS, "medication list", fetch=fetch)

        def identify(concept: Any) -> str | None:
            return identify_drug(concept, self._kb, self._resolver, substances=True)

        found = active_comedications(resources, identify, today=self._today)
        known = {c.drug for c in found}
        for draft in self._drafts:
            if draft.drug is not None and draft.drug not in known:
                found.append(
                    Comedication(draft.drug, f"{draft.reference or 'draft order'} (draft)")
                )
                known.add(draft.drug)
        return found

    def start(self, *, factors: bool, medications: bool, diagnoses: bool = False) -> None:
        """Begin the searches the orders' rules will need, so they run beside the genomic one.

        Only what ``read`` would search anyway, later: keys not prefetched, when a fhirServer
        was given. Each search stays within the call's budget.
        """
        if self._request.fhir_server is None:
            return
        groups = [(PATIENT_FACTOR_KEYS, "patient details")] if factors else []
        if medications:
            groups.append((MEDICATION_KEYS, "medication list"))
        if diagnoses:
            groups.append((CONDITION_KEYS, "diagnoses"))
        for keys, what in groups:
            for key, template in keys.items():
                if not self._prefetched(key) and key not in self._pending:
                    self._pending[key] = _SEARCHES.submit(self._fetch, key, template, what)

    def read(self, keys: Mapping[str, str], what: str, *, fetch: bool = True) -> list[Any]:
        """Every prefetched key's resources; a key not prefetched is fetched when possible.

        The keys to fetch are searched at once, each in its own thread (or were started early).
        """
        resources: list[Any] = []
        searches: list[Future[list[Any]]] = []
        for key, template in keys.items():
            if self._prefetched(key):
                value = self._request.prefetch[key]
                resources.extend(iter_resources(value) if isinstance(value, Mapping) else ())
                continue
            if not fetch:
                continue
            if self._request.fhir_server is None:
                self._note(f"{what} not prefetched ({key}) and no fhirServer to read it from")
                continue
            started = self._pending.pop(key, None)
            searches.append(started or _SEARCHES.submit(self._fetch, key, template, what))
        for search in searches:
            try:
                # Each search ends within the budget (the client's bound is hard); the margin
                # only guards against a bug, so that a hook call can never hang here.
                resources.extend(search.result(timeout=self._budget.remaining() + 1.0))
            except FutureTimeout:
                self._note(f"{what} could not be read from fhirServer in time")
        return resources

    def _prefetched(self, key: str) -> bool:
        value = self._request.prefetch.get(key, _ABSENT)
        return value is not _ABSENT and not is_operation_outcome(value)

    def _fetch(self, key: str, template: str, what: str) -> list[Any]:
        """The resources one prefetch template names, searched on the fhirServer; [] on failure."""
        query = template.replace("{{context.patientId}}", quote(self._request.patient_id, safe=""))
        if query.startswith("Patient/"):
            # A read, as prefetch templates write it; fetched as a search for one Bundle.
            query = "Patient?_id=" + query.removeprefix("Patient/")
        try:
            bundles = fhir_search(self._request, self._state, self._budget, query)
        except FhirError as exc:
            self._note(f"{what} could not be read from fhirServer ({exc})")
            return []
        return [r for bundle in bundles for r in iter_resources(bundle)]

    def _note(self, text: str) -> None:
        with self._lock:
            if text in self.unavailable:
                return
            self.unavailable.append(text)
        log.info("patient context incomplete: %s", text)


# Searches of the patient's context run here, beside the hook's own thread (which reads the
# genomic results meanwhile). Each waits on FHIR, not the CPU, and ends within the hook's budget.
_SEARCHES = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pgx-context-search")
_ABSENT = object()

Result = TypeVar("Result")


def run_beside(function: Callable[..., Result], *args: Any) -> Future[Result]:
    """``function(*args)`` in the context-search pool, beside the hook's thread.

    For a search the call cannot do without (tumour results) that should not wait for another
    (genomic results); its exceptions come out of ``Future.result``.
    """
    return _SEARCHES.submit(function, *args)
