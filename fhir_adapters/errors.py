"""FHIR errors of our own, so no requests exception leaks past this package."""

from __future__ import annotations

__all__ = ["FhirError", "FhirResponseError", "FhirUnavailableError"]


class FhirError(Exception):
    """A FHIR server could not give us what we asked for."""


class FhirUnavailableError(FhirError):
    """Connection refused or reset, timeout, or a 5xx: the server may be back later."""


class FhirResponseError(FhirError):
    """The server answered, but with a refusal (4xx) or something that is not FHIR JSON."""
