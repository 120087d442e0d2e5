"""FHIR in and out: genomic results and draft orders read into domain objects from ``knowledge``."""

from fhir_adapters.client import FhirClient
from fhir_adapters.errors import FhirError, FhirResponseError, FhirUnavailableError
from fhir_adapters.genotype import (
    Conflict,
    Discrepancy,
    GenotypeReadout,
    Unreadable,
    read_genotypes,
)
from fhir_adapters.medication import (
    DraftMedication,
    IngredientResolver,
    draft_medications,
    identify_drug,
)
from fhir_adapters.resources import is_operation_outcome, iter_resources, reference_of
from fhir_adapters.rxnav import RxNavClient

__all__ = [
    "Conflict",
    "Discrepancy",
    "DraftMedication",
    "FhirClient",
    "FhirError",
    "FhirResponseError",
    "FhirUnavailableError",
    "GenotypeReadout",
    "IngredientResolver",
    "RxNavClient",
    "Unreadable",
    "draft_medications",
    "identify_drug",
    "is_operation_outcome",
    "iter_resources",
    "read_genotypes",
    "reference_of",
]
