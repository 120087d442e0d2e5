"""The FHIR searches the service makes: PGx results, and the patient's factors and medications.

One query serves both as the discovery prefetch template and as the live search made when the
prefetch is missing, so the two always ask for the same data.
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_adapters.patient_factors import FACTOR_OBSERVATION_CODES

__all__ = [
    "PGX_OBSERVATION_CODES",
    "TUMOUR_OBSERVATION_CODES",
    "active_medication_queries",
    "condition_query",
    "factor_observation_query",
    "patient_query",
    "pgx_observation_query",
    "tumour_observation_query",
]

LOINC = "http://loinc.org"
GENOMICS_REPORTING_TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
SNOMED = "http://snomed.info/sct"

# (system, code) of every Observation kind that carries a PGx result or its interpretation.
PGX_OBSERVATION_CODES: tuple[tuple[str, str], ...] = (
    (LOINC, "84413-4"),  # Genotype display name (Genomics Reporting genotype)
    (LOINC, "84414-2"),  # Haplotype name: two of them make a diplotype
    (LOINC, "69548-6"),  # Genetic variant assessment: single variants (rs12777823, rs9923231)
    (GENOMICS_REPORTING_TBD, "therapeutic-implication"),  # STU2/STU3 implication
    (LOINC, "53040-2"),  # STU1: genetic variation's effect on drug metabolism
    (LOINC, "51961-1"),  # STU1: genetic variation's effect on drug efficacy
    (LOINC, "83009-1"),  # STU1: genetic variation's effect on high-risk allele (HLA)
    (LOINC, "79716-7"),  # R4 core legacy example: CYP2C9 metabolic activity interpretation
    (SNOMED, "363779003"),  # R4 core legacy genetics: genotype determination
)


# (system, code) of the Observations that carry tumour results besides the molecular biomarkers
# (whose codes are fhir_adapters.tumour.DEFAULT_BIOMARKER_CODES plus the site's).
TUMOUR_OBSERVATION_CODES: tuple[tuple[str, str], ...] = (
    (LOINC, "69548-6"),  # Genetic variant assessment: somatic and germline variants, fusions, CNVs
    (LOINC, "53041-0"),  # DNA region of interest panel: the genes a panel studied
    (GENOMICS_REPORTING_TBD, "therapeutic-implication"),  # the lab's own drug statements
    (GENOMICS_REPORTING_TBD, "diagnostic-implication"),  # STU2/3: a variant's pathogenicity
    (GENOMICS_REPORTING_TBD, "molecular-consequence"),  # STU3: a variant's protein change
)


def tumour_observation_query(
    patient: str, biomarker_codes: Iterable[str], *, count: int = 100
) -> str:
    """``Observation?patient=…&code=…`` for variants, regions studied, implications, biomarkers.

    ``biomarker_codes``: ``system|code`` tokens of the molecular biomarkers (TMB, MSI …) to read.
    """
    tokens = [f"{system}|{code}" for system, code in TUMOUR_OBSERVATION_CODES]
    tokens += [t for t in dict.fromkeys(biomarker_codes) if t not in tokens]
    return f"Observation?patient={patient}&code={','.join(tokens)}&_count={count}"


def condition_query(patient: str, *, count: int = 100) -> str:
    """The patient's current diagnoses, where the tumour type an order is for is read."""
    return f"Condition?patient={patient}&clinical-status=active,recurrence,relapse&_count={count}"


def pgx_observation_query(patient: str, *, count: int = 100) -> str:
    """``Observation?patient=…&code=…`` for ``patient`` (a value, or a prefetch token)."""
    codes = ",".join(f"{system}|{code}" for system, code in PGX_OBSERVATION_CODES)
    return f"Observation?patient={patient}&code={codes}&_count={count}"


def patient_query(patient: str) -> str:
    """``Patient/…``: the record age, sex and race are read from (a value, or a prefetch token)."""
    return f"Patient/{patient}"


def factor_observation_query(patient: str, *, count: int = 100) -> str:
    """The Observations ``read_patient_factors`` reads (weight, height, eGFR, pregnancy), newest first."""
    codes = ",".join(f"{LOINC}|{code}" for code in FACTOR_OBSERVATION_CODES)
    return f"Observation?patient={patient}&code={codes}&_sort=-date&_count={count}"


def active_medication_queries(patient: str, *, count: int = 100) -> tuple[str, str]:
    """The MedicationRequest and MedicationStatement searches ``active_comedications`` reads.

    Statements are asked for as ``active,intended``, the two statuses the reader counts.
    """
    return (
        f"MedicationRequest?patient={patient}&status=active&_count={count}",
        f"MedicationStatement?patient={patient}&status=active,intended&_count={count}",
    )
