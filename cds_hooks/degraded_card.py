"""The one info card a hook answers when the genomic results could not be read from the EHR."""

from __future__ import annotations

import uuid
from typing import Any

from cds_hooks.cards import CARD_NAMESPACE, MAX_SUMMARY
from cds_hooks.services import ServiceDefinition
from fhir_adapters.errors import FhirErrorKind

__all__ = ["degraded_card"]

# Why, in words a clinician can read: no host, no patient data, no server text.
_WHY: dict[FhirErrorKind, str] = {
    "timeout": "the EHR's FHIR server did not answer in time",
    "unavailable": "the EHR's FHIR server could not be reached or answered with an error",
    "refused": "the EHR's FHIR server refused the request (for example, it did not accept the "
    "access it was given)",
    "garbage": "the EHR's FHIR server answered with something that is not a readable search result",
    "circuit_open": "the EHR's FHIR server has been failing, so it is not being asked for a while",
    "budget": "the time allowed for the check ran out before the results could be read",
}


ORDER_SUMMARY = "PGx check could not run: genomic results unavailable from the EHR"
SUMMARY_SUMMARY = "PGx summary unavailable: genomic results could not be read from the EHR"
if max(len(ORDER_SUMMARY), len(SUMMARY_SUMMARY)) > MAX_SUMMARY:
    raise ValueError("a degraded card's summary must stay under 140 characters")


def degraded_card(
    service: ServiceDefinition, kind: FhirErrorKind, hook_instance: str
) -> dict[str, Any]:
    """An info card saying the pharmacogenomic check could not run, and why."""
    if service.hook == "patient-view":
        summary = SUMMARY_SUMMARY
        consequence = "No pharmacogenomic summary is shown; results may be on file all the same."
    else:
        summary = ORDER_SUMMARY
        consequence = (
            "The order was **not** checked against pharmacogenomic guidance. Before prescribing "
            "a drug with pharmacogenomic guidance, look for the patient's results on file."
        )
    return {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}|pgx-check-not-run")),
        "summary": summary,
        "indicator": "info",
        "detail": (
            f"The pharmacogenomic service could not read the patient's genomic results: "
            f"{_WHY[kind]}. {consequence}"
        ),
        "source": {"label": service.title},
    }
