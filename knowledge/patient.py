"""Who the patient is and what else they take: the non-genetic inputs some rules need.

Read from FHIR by ``fhir_adapters`` (Patient, Observations, MedicationRequest/Statement); here they
are plain values so that rules and calculations never see FHIR. ``None`` always means "not on
file", never a default: a rule that needs a missing factor says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = ["FACTOR_LABELS", "Comedication", "PatientFactors"]

Sex = Literal["female", "male", "other", "unknown"]

# How a card names each factor ("age is not on file").
FACTOR_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "age_years": "age",
        "sex": "sex",
        "pregnant": "pregnancy status",
        "weight_kg": "weight",
        "height_cm": "height",
        "egfr": "eGFR",
        "ancestry": "self-reported race/ancestry",
    }
)


@dataclass(frozen=True, slots=True)
class PatientFactors:
    """Factors from the record. ``sources`` says where each present one was read from."""

    age_years: float | None = None
    sex: Sex | None = None
    pregnant: bool | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    # mL/min/1.73 m2, the most recent eGFR Observation.
    egfr: float | None = None
    # OMB race categories the patient reported (knowledge.schema.Ancestry values); an empty set
    # means the record says "unknown"/"asked but declined", which is as good as missing.
    ancestry: frozenset[str] | None = None
    # Factor name -> e.g. "Observation/wt-1 (2026-10-02)".
    sources: Mapping[str, str] = field(default_factory=dict)
    # What the reader could not use and why ("birthDate 2015 gives no exact age").
    notes: tuple[str, ...] = ()

    def missing(self, names: set[str] | frozenset[str]) -> list[str]:
        """Of ``names`` (field names), those not on file, in FACTOR_LABELS order."""
        return [
            name
            for name in FACTOR_LABELS
            if name in names
            and (getattr(self, name) is None or (name == "ancestry" and not self.ancestry))
        ]


@dataclass(frozen=True, slots=True)
class Comedication:
    """A drug the patient takes (or is about to be ordered) that some rule reads.

    ``drug`` is the knowledge base's name (an inhibitor, or a drug a dose algorithm names);
    ``source`` says where it was read ("MedicationRequest/7 (active)", "draft order").
    """

    drug: str
    source: str
