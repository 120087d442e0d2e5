"""Build FHIR inputs in domain terms: ``genotype_observation("CYP2C19", "*2/*2")``, not typed JSON."""

from __future__ import annotations

import uuid
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HGNC = {"CYP2C19": "HGNC:2621", "CYP2C9": "HGNC:2623"}
CLOPIDOGREL = {
    "coding": [{"system": RXNORM, "code": "32968", "display": "clopidogrel"}],
    "text": "clopidogrel 75 mg oral tablet",
}


def genotype_observation(
    gene: str,
    diplotype: str,
    *,
    id: str | None = None,
    patient: str = "p1",
    status: str = "final",
    effective: str = "2024-05-14",
    value_text: str | None = None,
) -> dict[str, Any]:
    """A Genomics Reporting IG genotype Observation (LOINC 84413-4, gene in 48018-6)."""
    return {
        "resourceType": "Observation",
        "id": id or f"geno-{gene.lower()}-{uuid.uuid4().hex[:8]}",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "84413-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": effective,
        "valueCodeableConcept": {"text": value_text or f"{gene}{diplotype}"},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "48018-6"}]},
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.genenames.org",
                            "code": HGNC.get(gene, gene),
                            "display": gene,
                        }
                    ]
                },
            }
        ],
    }


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def medication_request(
    concept: dict[str, Any] | None = None,
    *,
    id: str | None = "rx-1",
    patient: str = "p1",
    dose_mg: float | None = 75,
    resource_type: str = "MedicationRequest",
) -> dict[str, Any]:
    """A draft order, by default clopidogrel 75 mg once daily coded with its RxNorm ingredient."""
    resource: dict[str, Any] = {
        "resourceType": resource_type,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept if concept is not None else CLOPIDOGREL,
        "subject": {"reference": f"Patient/{patient}"},
    }
    if id is not None:
        resource["id"] = id
    if dose_mg is not None:
        resource["dosageInstruction"] = [
            {
                "text": f"{dose_mg:g} mg once daily",
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose_mg,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ],
            }
        ]
    return resource


def hook_request(
    *orders: dict[str, Any],
    hook: str = "order-sign",
    patient: str = "p1",
    prefetch: dict[str, Any] | None = None,
    fhir_server: str | None = None,
    token: str | None = None,
    selections: list[str] | None = None,
) -> dict[str, Any]:
    """A CDS Hooks request; ``prefetch=None`` leaves the prefetch object out entirely."""
    field = "medications" if hook == "medication-prescribe" else "draftOrders"
    context: dict[str, Any] = {
        "userId": "Practitioner/example",
        "patientId": patient,
        field: {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": o} for o in orders],
        },
    }
    if selections is not None:
        context["selections"] = selections
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if token is not None:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Observation.read",
            "subject": "pgx-cds",
        }
    return body


def pgx_prefetch(*observations: dict[str, Any]) -> dict[str, Any]:
    return {"pgxResults": searchset(*observations)}


def condition(
    code: str, *, system: str = "http://hl7.org/fhir/sid/icd-10-cm", id: str = "dx-1"
) -> dict[str, Any]:
    """An active Condition coded ``code`` (ICD-10-CM by default)."""
    return {
        "resourceType": "Condition",
        "id": id,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
    }
