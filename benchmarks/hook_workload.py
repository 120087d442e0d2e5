"""The benchmark's hook call in domain terms: order-sign, ten PGx results, three draft orders.

Every order gets a card from the bundled knowledge (checked before each run):

- clopidogrel (RxNorm 32968) with CYP2C19 ``*2/*2``, a poor metabolizer: CPIC, avoid;
- simvastatin (RxNorm 36567) with SLCO1B1 ``*5/*5``, poor function: CPIC, another statin;
- codeine (RxNorm 2670) with CYP2D6 ``*4/*4``, a poor metabolizer: CPIC, avoid. Codeine's rules
  also read the patient's age (the FDA's restriction in children) and the active medications
  (CYP2D6 inhibitors convert the phenotype), so this order exercises the optional prefetch too.

The other seven results are read (and interpreted where a rule asks) but change no card.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.builders import genotype_observation, hook_request, medication_request, searchset

__all__ = [
    "DRUGS",
    "GENOTYPES",
    "ID_PLACEHOLDER",
    "PATIENT",
    "genotype_observations",
    "order_sign_request",
]

PATIENT = "pgx-bench-1"
# Replaced by a fresh UUID per call by the load generators (closed-loop.lua, openloop).
ID_PLACEHOLDER = "[<id>]"

# gene -> (diplotype, genotype value text when the "GENE*a/*b" form does not parse)
GENOTYPES: dict[str, tuple[str, str | None]] = {
    "CYP2C19": ("*2/*2", None),
    "CYP2D6": ("*4/*4", None),
    "CYP2C9": ("*1/*3", None),
    "VKORC1": ("rs9923231 reference (C)/rs9923231 variant (T)", None),
    "SLCO1B1": ("*5/*5", None),
    "TPMT": ("*1/*3A", None),
    "NUDT15": ("*1/*1", None),
    "DPYD": ("Reference/c.1905+1G>A (*2A)", "Reference/c.1905+1G>A (*2A)"),
    "UGT1A1": ("*1/*28", None),
    "HLA-B": ("*44:02/*57:01", None),
}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# drug -> (RxNorm ingredient code, dose in mg)
DRUGS: dict[str, tuple[str, float]] = {
    "clopidogrel": ("32968", 75),
    "simvastatin": ("36567", 40),
    "codeine": ("2670", 30),
}


def genotype_observations(patient: str = PATIENT) -> list[dict[str, Any]]:
    """The ten genotype Observations (Genomics Reporting IG, LOINC 84413-4)."""
    return [
        genotype_observation(
            gene,
            diplotype,
            id=f"bench-{gene.lower()}",
            patient=patient,
            value_text=value_text,
        )
        for gene, (diplotype, value_text) in GENOTYPES.items()
    ]


def patient_resource(patient: str = PATIENT) -> dict[str, Any]:
    """An adult: the age is what codeine's FDA rule reads."""
    return {"resourceType": "Patient", "id": patient, "gender": "female", "birthDate": "1961-03-02"}


def _orders(patient: str) -> list[dict[str, Any]]:
    return [
        medication_request(
            {
                "coding": [{"system": RXNORM, "code": code, "display": drug}],
                "text": f"{drug} {dose:g} mg oral tablet",
            },
            id=f"rx-{drug}",
            patient=patient,
            dose_mg=dose,
        )
        for drug, (code, dose) in DRUGS.items()
    ]


def order_sign_request(
    *,
    prefetch: bool,
    fhir_server: str | None = None,
    patient: str = PATIENT,
    hook_instance: str = ID_PLACEHOLDER,
) -> dict[str, Any]:
    """The order-sign call; ``prefetch``: everything the discovery document asks for, else none.

    With prefetch the EHR sends the ten results, the Patient and (empty) factor and medication
    searches, as a well-configured EHR does; without it the service reads them from
    ``fhir_server``.
    """
    empty = searchset()
    body = hook_request(
        *_orders(patient),
        hook="order-sign",
        patient=patient,
        prefetch=(
            {
                "pgxResults": searchset(*genotype_observations(patient)),
                "patient": patient_resource(patient),
                "pgxFactors": copy.deepcopy(empty),
                "activeMedicationRequests": copy.deepcopy(empty),
                "activeMedicationStatements": copy.deepcopy(empty),
            }
            if prefetch
            else None
        ),
        fhir_server=fhir_server,
    )
    body["hookInstance"] = hook_instance
    return body
