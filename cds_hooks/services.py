"""The CDS services this server offers, as announced by discovery and looked up by hook calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from fhir_adapters.queries import pgx_observation_query

__all__ = ["GENOMIC_RESULTS_KEY", "SERVICES", "ServiceDefinition"]

# The one prefetch key the service cannot work without: the patient's PGx Observations.
GENOMIC_RESULTS_KEY = "pgxResults"
GENOMIC_RESULTS_QUERY = pgx_observation_query("{{context.patientId}}")

_USAGE = (
    "Needs the patient's pharmacogenomic Observations (genotype LOINC 84413-4, haplotypes, "
    "variants and therapeutic implications; docs/fhir-input.md), either prefetched under "
    "'pgxResults' or readable on the EHR's FHIR server with the access token sent in "
    "fhirAuthorization (scope patient/Observation.read). Without either the service answers 412. "
    "Draft MedicationRequests should carry an RxNorm code or a drug name."
)


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    # Hook context field that holds the orders: draftOrders, or medications on the legacy hook.
    orders_field: str
    prefetch: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
            "usageRequirements": _USAGE,
        }


_PREFETCH = MappingProxyType({GENOMIC_RESULTS_KEY: GENOMIC_RESULTS_QUERY})

SERVICES: Mapping[str, ServiceDefinition] = MappingProxyType(
    {
        service.id: service
        for service in (
            ServiceDefinition(
                id="pgx-order-select",
                hook="order-select",
                title="Pharmacogenomic check of selected drugs",
                description=(
                    "When a drug is selected, checks the patient's pharmacogenomic results against "
                    "CPIC guidelines and advises a different drug or dose where the guideline does."
                ),
                orders_field="draftOrders",
                prefetch=_PREFETCH,
            ),
            ServiceDefinition(
                id="pgx-order-sign",
                hook="order-sign",
                title="Pharmacogenomic check before signing",
                description=(
                    "Before orders are signed, checks every draft medication order against the "
                    "patient's pharmacogenomic results and the CPIC guidelines."
                ),
                orders_field="draftOrders",
                prefetch=_PREFETCH,
            ),
            ServiceDefinition(
                id="pgx-medication-prescribe",
                hook="medication-prescribe",
                title="Pharmacogenomic check of prescriptions (legacy hook)",
                description=(
                    "The same check for EHRs that still send the deprecated medication-prescribe "
                    "hook; prefer pgx-order-select or pgx-order-sign."
                ),
                orders_field="medications",
                prefetch=_PREFETCH,
            ),
        )
    }
)
