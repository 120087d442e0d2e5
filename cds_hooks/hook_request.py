"""Validate a CDS Hooks service request and turn it into what the service works with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError

from cds_hooks.errors import BadHookRequest
from cds_hooks.services import ServiceDefinition

__all__ = ["HookRequest", "parse_hook_request", "request_json_schema"]


class _Lenient(BaseModel):
    # CDS clients add fields of their own (and the spec grows): tolerate them, check what we use.
    model_config = ConfigDict(extra="allow")


class _FhirAuthorization(_Lenient):
    access_token: SecretStr = Field(min_length=1)
    token_type: str = "Bearer"
    # Required by the spec but omitted by real clients (cds-hooks/sandbox#65): read leniently.
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


class _Context(_Lenient):
    patientId: str = Field(min_length=1)
    userId: str | None = None
    encounterId: str | None = None
    selections: list[str] | None = None
    draftOrders: dict[str, Any] | None = None
    medications: dict[str, Any] | None = None


class _Body(_Lenient):
    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)
    fhirServer: HttpUrl | None = None
    fhirAuthorization: _FhirAuthorization | None = None
    context: _Context
    prefetch: dict[str, Any] | None = None


def request_json_schema() -> dict[str, Any]:
    """The JSON Schema of the request body as validated here (before the per-service checks).

    Definitions are referenced as ``#/components/schemas/<name>``: the OpenAPI document's home.
    """
    return _Body.model_json_schema(ref_template="#/components/schemas/{model}")


@dataclass(frozen=True, slots=True)
class HookRequest:
    """A validated hook call. The access token stays a ``SecretStr`` so it never reaches a log."""

    service: ServiceDefinition
    hook_instance: str
    patient_id: str
    orders: Mapping[str, Any]
    # Ids like "MedicationRequest/103"; ``None`` when every draft order is to be checked.
    selections: tuple[str, ...] | None
    fhir_server: str | None
    access_token: SecretStr | None
    prefetch: Mapping[str, Any]


def parse_hook_request(payload: Any, service: ServiceDefinition) -> HookRequest:
    """Check ``payload`` against the spec and ``service``; raise ``BadHookRequest`` saying where."""
    if not isinstance(payload, dict):
        raise BadHookRequest("the request body must be a JSON object (a CDS Hooks request)")
    try:
        body = _Body.model_validate(payload)
    except ValidationError as exc:
        raise BadHookRequest.from_validation(exc) from None
    if body.hook != service.hook:
        raise BadHookRequest(
            f"service {service.id!r} answers the {service.hook!r} hook, not {body.hook!r}", "hook"
        )
    if body.fhirAuthorization is not None and body.fhirServer is None:
        raise BadHookRequest("fhirServer is required when fhirAuthorization is given", "fhirServer")
    if body.fhirAuthorization is not None and body.fhirAuthorization.token_type.lower() != "bearer":
        raise BadHookRequest(
            f"token_type must be 'Bearer', not {body.fhirAuthorization.token_type!r}",
            "fhirAuthorization.token_type",
        )
    if service.orders_field is None:
        orders: dict[str, Any] | None = {"resourceType": "Bundle", "entry": []}
    else:
        orders = getattr(body.context, service.orders_field)
    expression = f"context.{service.orders_field}"
    if orders is None:
        raise BadHookRequest(f"{expression} is required for the {service.hook} hook", expression)
    if orders.get("resourceType") != "Bundle":
        raise BadHookRequest(f"{expression} must be a FHIR Bundle of draft orders", expression)
    if not isinstance(orders.get("entry", []), list):
        raise BadHookRequest(f"{expression}.entry must be a list", f"{expression}.entry")
    selections = body.context.selections if service.hook == "order-select" else None
    return HookRequest(
        service=service,
        hook_instance=body.hookInstance,
        patient_id=body.context.patientId,
        orders=orders,
        # Absent: lenient, check every order. Present but empty: nothing was selected.
        selections=tuple(selections) if selections is not None else None,
        fhir_server=str(body.fhirServer).rstrip("/") if body.fhirServer else None,
        access_token=body.fhirAuthorization.access_token if body.fhirAuthorization else None,
        prefetch=body.prefetch or {},
    )
