"""FHIR errors of our own, so no requests exception leaks past this package."""

from __future__ import annotations

from typing import Literal

__all__ = ["FhirError", "FhirErrorKind", "FhirResponseError", "FhirUnavailableError"]

# Why a callback failed, in a few fixed words: the metrics' label and the outcome card's reason.
FhirErrorKind = Literal["timeout", "unavailable", "refused", "garbage", "circuit_open", "budget"]

# What says the server is unwell (the circuit breaker counts these); a refusal (401, 403, 404)
# is a healthy server saying no, and an open circuit or a spent budget never reached it.
_SERVER_FAILURES: frozenset[FhirErrorKind] = frozenset({"timeout", "unavailable", "garbage"})


class FhirError(Exception):
    """A FHIR server could not give us what we asked for."""

    default_kind: FhirErrorKind = "unavailable"

    def __init__(self, message: str, *, kind: FhirErrorKind | None = None) -> None:
        super().__init__(message)
        self.kind: FhirErrorKind = kind or self.default_kind

    @property
    def server_failure(self) -> bool:
        """Whether this says the server is failing, rather than refusing or never asked."""
        return self.kind in _SERVER_FAILURES


class FhirUnavailableError(FhirError):
    """Connection refused or reset, timeout, a 5xx, an open circuit or no time left: try later."""

    default_kind: FhirErrorKind = "unavailable"


class FhirResponseError(FhirError):
    """The server answered, but with a refusal (4xx) or something that is not FHIR JSON."""

    default_kind: FhirErrorKind = "refused"
