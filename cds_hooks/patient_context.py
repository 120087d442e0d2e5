"""Who the patient is and what else they take, from prefetch or the EHR's FHIR server, on demand.

Unlike the genomic results these are optional: when neither prefetch nor the FHIR server gives
them, the rules that need them say so on the card (no 412, no guess). Each is read at most once
per call and only when an order's rules need it, so a call that needs none costs no FHIR search.
Every search draws on the hook call's time budget; one that finds it spent is noted like a failure.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any
from urllib.parse import quote

from cds_hooks.hook_request import HookRequest
from cds_hooks.patient_data import fhir_search
from cds_hooks.services import MEDICATION_KEYS, PATIENT_FACTOR_KEYS
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

__all__ = ["PatientContext"]

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
        self._comedications: dict[bool, list[Comedication]] = {}

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

    def read(self, keys: Mapping[str, str], what: str, *, fetch: bool = True) -> list[Any]:
        """Every prefetched key's resources; a key not prefetched is fetched when possible."""
        resources: list[Any] = []
        for key, template in keys.items():
            value = self._request.prefetch.get(key, _ABSENT)
            if value is not _ABSENT and not is_operation_outcome(value):
                resources.extend(iter_resources(value) if isinstance(value, Mapping) else ())
                continue
            if not fetch:
                continue
            if self._request.fhir_server is None:
                self._note(f"{what} not prefetched ({key}) and no fhirServer to read it from")
                continue
            query = template.replace(
                "{{context.patientId}}", quote(self._request.patient_id, safe="")
            )
            if query.startswith("Patient/"):
                # A read, as prefetch templates write it; fetched as a search for one Bundle.
                query = "Patient?_id=" + query.removeprefix("Patient/")
            try:
                bundles = fhir_search(self._request, self._state, self._budget, query)
            except FhirError as exc:
                self._note(f"{what} could not be read from fhirServer ({exc})")
                continue
            resources.extend(r for bundle in bundles for r in iter_resources(bundle))
        return resources

    def _note(self, text: str) -> None:
        if text not in self.unavailable:
            self.unavailable.append(text)
            log.info("patient context incomplete: %s", text)


_ABSENT = object()
