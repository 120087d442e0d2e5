"""The CDS services this server offers, as announced by discovery and looked up by hook calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from fhir_adapters.queries import (
    active_medication_queries,
    condition_query,
    factor_observation_query,
    patient_query,
    pgx_observation_query,
    tumour_observation_query,
)
from fhir_adapters.tumour import DEFAULT_BIOMARKER_CODES

__all__ = [
    "CONDITION_KEYS",
    "GENOMIC_RESULTS_KEY",
    "MEDICATION_KEYS",
    "PATIENT_FACTOR_KEYS",
    "REPORT_KEYS",
    "SERVICES",
    "TUMOUR_RESULTS_KEY",
    "ServiceDefinition",
    "tumour_results_template",
]

_PATIENT = "{{context.patientId}}"
# The one prefetch key the service cannot work without: the patient's PGx Observations.
GENOMIC_RESULTS_KEY = "pgxResults"
GENOMIC_RESULTS_QUERY = pgx_observation_query(_PATIENT)
# Optional: read only when an order's rules need them (age, weight, eGFR …; inhibitors taken).
PATIENT_FACTOR_KEYS: Mapping[str, str] = MappingProxyType(
    {"patient": patient_query(_PATIENT), "pgxFactors": factor_observation_query(_PATIENT)}
)
# patient-view links the printable report (vcf2fhir --report-url) of the genomic report.
REPORT_KEYS: Mapping[str, str] = MappingProxyType(
    {"pgxReports": f"DiagnosticReport?patient={_PATIENT}&code=http://loinc.org|51969-4"}
)
# Targeted drugs: the tumour's variants, fusions, copy number and biomarkers (required, like
# pgxResults, when such a drug is ordered), and the diagnoses that say which tumour it is.
TUMOUR_RESULTS_KEY = "tumorResults"
CONDITION_KEYS: Mapping[str, str] = MappingProxyType({"conditions": condition_query(_PATIENT)})


def tumour_results_template(site_codes: Mapping[str, Sequence[str]] | None = None) -> str:
    """The tumorResults prefetch template: the IG's biomarker codes plus the site's (``kind: [..]``)."""
    extra = [token for tokens in (site_codes or {}).values() for token in tokens]
    return tumour_observation_query(_PATIENT, [*DEFAULT_BIOMARKER_CODES, *extra])


_REQUESTS, _STATEMENTS = active_medication_queries(_PATIENT)
MEDICATION_KEYS: Mapping[str, str] = MappingProxyType(
    {"activeMedicationRequests": _REQUESTS, "activeMedicationStatements": _STATEMENTS}
)

_USAGE = (
    "Needs the patient's pharmacogenomic Observations (genotype LOINC 84413-4, haplotypes, "
    "variants and therapeutic implications; docs/fhir-input.md), either prefetched under "
    "'pgxResults' or readable on the EHR's FHIR server with the access token sent in "
    "fhirAuthorization (scope patient/Observation.read). Without either the service answers 412. "
    "Draft MedicationRequests should carry an RxNorm code or a drug name. Optional prefetch: "
    "the Patient (age, sex, race), weight/height/eGFR/pregnancy Observations (pgxFactors) and "
    "active medications (inhibitors that change the phenotype); fetched when needed otherwise. "
    "Targeted cancer drugs also need the tumour's results (variants, fusions, copy number, "
    "TMB/MSI/PD-L1/HER2; docs/oncology.md) under 'tumorResults' or on the FHIR server, and "
    "read the patient's active Conditions ('conditions') for the tumour type."
)


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    # Hook context field that holds the orders: draftOrders, or medications on the legacy hook;
    # None for patient-view, which has none.
    orders_field: str | None
    prefetch: Mapping[str, str]

    def to_json(self, prefetch: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The discovery entry; ``prefetch`` replaces templates the site changes (tumorResults)."""
        templates = dict(self.prefetch)
        templates.update({k: v for k, v in (prefetch or {}).items() if k in templates})
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": templates,
            "usageRequirements": _USAGE,
        }


_PREFETCH = MappingProxyType(
    {
        GENOMIC_RESULTS_KEY: GENOMIC_RESULTS_QUERY,
        **PATIENT_FACTOR_KEYS,
        **MEDICATION_KEYS,
        TUMOUR_RESULTS_KEY: tumour_results_template(),
        **CONDITION_KEYS,
    }
)

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
            ServiceDefinition(
                id="pgx-patient-view",
                hook="patient-view",
                title="Pharmacogenomic results summary",
                description=(
                    "When a patient's chart is opened, summarizes the pharmacogenomic results on "
                    "file that change drug therapy (gene, result, phenotype, drugs affected), with "
                    "a link to the printable report where one exists."
                ),
                orders_field=None,
                prefetch=MappingProxyType(
                    {GENOMIC_RESULTS_KEY: GENOMIC_RESULTS_QUERY, **REPORT_KEYS}
                ),
            ),
        )
    }
)
