"""``GET /openapi.json``: an OpenAPI 3.1 description of the service, built from the code it describes.

The request schemas come from the pydantic models that validate the requests (hook calls,
feedback), the paths from ``SERVICES``, so the document cannot drift from what is checked. It is
built once per app, at its first request, for the settings of that app (auth, metrics): not at
start-up, where it would cost every worker and every test app ~20 ms for a page few callers read.
"""

from __future__ import annotations

import copy
import functools
from importlib import metadata
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from cds_hooks.config import Settings
from cds_hooks.feedback_store import FeedbackItem
from cds_hooks.hook_request import request_json_schema
from cds_hooks.services import SERVICES, ServiceDefinition
from cds_hooks.state import EXTENSION_KEY, ServiceState

__all__ = ["PATH", "bp", "openapi_document"]

PATH = "/openapi.json"
_DOCUMENT_KEY = "pgx_cds_openapi"
_PACKAGE = "pgx-cds-hooks"
_JWT = "cdsHooksJwt"
_SCHEMAS = "#/components/schemas/"
# The pydantic models' private class names, as the document names them.
_MODEL_NAMES = {"_Context": "HookContext", "_FhirAuthorization": "FhirAuthorization"}
_SPEC = "https://cds-hooks.hl7.org/2.0/"

bp = Blueprint("openapi", __name__)


@bp.get(PATH)
def openapi_json() -> Response:
    return jsonify(_document(current_app))


def _document(app: Flask) -> dict[str, Any]:
    document = app.extensions.get(_DOCUMENT_KEY)
    if document is None:
        # Two first requests at once may both build it: the same document, so either may stay.
        service_state = app.extensions[EXTENSION_KEY]
        assert isinstance(service_state, ServiceState)
        document = openapi_document(service_state.settings)
        app.extensions[_DOCUMENT_KEY] = document
    assert isinstance(document, dict)
    return document


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a service run with ``settings``."""
    jwt = settings.auth == "jwt"
    paths: dict[str, Any] = {
        "/cds-services": {"get": _discovery(jwt and settings.auth_discovery)},
    }
    for service in SERVICES.values():
        paths[f"/cds-services/{service.id}"] = {"post": _hook_call(service, jwt)}
    for service in SERVICES.values():
        paths[f"/cds-services/{service.id}/feedback"] = {"post": _feedback(service, jwt)}
    paths["/cds-services/{service_id}"] = {"post": _unknown_service("call", jwt)}
    paths["/cds-services/{service_id}/feedback"] = {"post": _unknown_service("feedback", jwt)}
    paths["/healthz"] = {"get": _healthz()}
    paths["/readyz"] = {"get": _readyz()}
    if settings.metrics:
        paths["/metrics"] = {"get": _metrics()}
    paths[PATH] = {"get": _self()}
    components: dict[str, Any] = {"schemas": _schemas(), "responses": _responses()}
    if jwt:
        components["securitySchemes"] = {
            _JWT: {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": (
                    "The CDS client's signed JWT (CDS Hooks 2.0, Trusting CDS Clients): iss on the "
                    "service's trusted list, aud the URL called, a fresh jti. docs/authentication.md."
                ),
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pharmacogenomic CDS Hooks service",
            "version": _version(),
            "description": (
                "CDS Hooks 2.0 services that check draft medication orders against a patient's "
                "pharmacogenomic results and the CPIC guidelines. Errors are JSON "
                '{"error", "expression"}: a FHIRPath-like location of the problem. '
                "docs/hooks.md, docs/openapi.md."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "externalDocs": {"description": "CDS Hooks 2.0", "url": _SPEC},
        "paths": paths,
        "components": components,
    }


def _version() -> str:
    try:
        return metadata.version(_PACKAGE)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


# -- operations ------------------------------------------------------------------------------


def _discovery(secured: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": "discovery",
        "summary": "The CDS services offered (CDS Hooks discovery)",
        "tags": ["CDS Hooks"],
        "responses": {"200": _json("The services", _ref("Discovery"))},
    }
    _secure(operation, secured)
    return operation


def _hook_call(service: ServiceDefinition, jwt: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"call-{service.id}",
        "summary": service.title,
        "description": f"{service.description}\n\nHook: `{service.hook}`.",
        "tags": ["CDS Hooks"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _hook_request(service)}},
        },
        "responses": {
            "200": _json("Cards (an empty list when there is nothing to say)", _ref("Cards")),
            "400": {"$ref": "#/components/responses/BadRequest"},
            "412": {"$ref": "#/components/responses/PreconditionFailed"},
            "413": {"$ref": "#/components/responses/TooLarge"},
        },
    }
    _secure(operation, jwt)
    return operation


def _feedback(service: ServiceDefinition, jwt: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"feedback-{service.id}",
        "summary": f"What users did with the cards of {service.id}",
        "description": (
            "Idempotent: an item sent again is counted under duplicates, not stored twice. "
            "All items of a request are stored, or none."
        ),
        "tags": ["CDS Hooks"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("FeedbackRequest")}},
        },
        "responses": {
            "200": _json("The items stored and those already stored", _ref("FeedbackResult")),
            "400": {"$ref": "#/components/responses/BadRequest"},
            "413": {"$ref": "#/components/responses/TooLarge"},
            "503": _json("The feedback store is down: send the feedback again", _ref("Error")),
        },
    }
    _secure(operation, jwt)
    return operation


def _unknown_service(kind: str, jwt: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{kind}-unknown-service",
        "summary": "A service id that is not offered",
        "tags": ["CDS Hooks"],
        "parameters": [
            {
                "name": "service_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "not": {"enum": sorted(SERVICES)}},
            }
        ],
        "requestBody": {"content": {"application/json": {"schema": {}}}},
        "responses": {"404": _json("No such service; GET /cds-services lists them", _ref("Error"))},
    }
    _secure(operation, jwt)
    return operation


def _healthz() -> dict[str, Any]:
    return {
        "operationId": "healthz",
        "summary": "Liveness: the process answers",
        "tags": ["Operations"],
        "responses": {
            "200": _json(
                "Alive",
                {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"const": "ok"}},
                },
            )
        },
    }


def _readyz() -> dict[str, Any]:
    return {
        "operationId": "readyz",
        "summary": "Readiness: knowledge loaded and the feedback store reachable",
        "tags": ["Operations"],
        "responses": {
            "200": _json("Ready", _ref("Readiness")),
            "503": _json("Not ready: the feedback store is unreachable", _ref("Readiness")),
        },
    }


def _metrics() -> dict[str, Any]:
    text = {"schema": {"type": "string"}}
    return {
        "operationId": "metrics",
        "summary": "Prometheus metrics (no patient data, no tokens)",
        "tags": ["Operations"],
        "responses": {
            "200": {
                "description": "Prometheus text format, or OpenMetrics when the Accept header asks",
                "content": {"text/plain": text, "application/openmetrics-text": text},
            }
        },
    }


def _self() -> dict[str, Any]:
    return {
        "operationId": "openapi",
        "summary": "This document",
        "tags": ["Operations"],
        "responses": {"200": _json("OpenAPI 3.1", {"type": "object"})},
    }


def _secure(operation: dict[str, Any], secured: bool) -> None:
    if secured:
        operation["security"] = [{_JWT: []}]
        operation["responses"]["401"] = {"$ref": "#/components/responses/Unauthorized"}
        # The replay check's store (alert memory) is down: retry, never an unchecked token.
        operation["responses"].setdefault(
            "503", _json("The service cannot check the token now", _ref("Error"))
        )
    else:
        operation["security"] = []


# -- schemas ---------------------------------------------------------------------------------


def _hook_request(service: ServiceDefinition) -> dict[str, Any]:
    """The request schema with what ``parse_hook_request`` checks for this service on top.

    Written out per service rather than combined with ``allOf``: generators (schemathesis)
    handle a plain schema far faster.
    """
    schemas = _request_schemas()
    schema: dict[str, Any] = schemas["HookRequest"]
    schema["properties"]["hook"] = {"const": service.hook}
    # CDS Hooks: "If fhirAuthorization is provided, this field [fhirServer] is REQUIRED."
    schema["dependentRequired"] = {"fhirAuthorization": ["fhirServer"]}
    if service.orders_field is not None:
        context = schemas["HookContext"]
        context["properties"][service.orders_field] = _ref("DraftOrders")
        context["required"] = [*context["required"], service.orders_field]
        schema["properties"]["context"] = context
    return schema


def _request_schemas() -> dict[str, Any]:
    """The hook request's schema and its parts, as the pydantic models give them (a copy to edit)."""
    return copy.deepcopy(_generated_request_schemas())


@functools.cache
def _generated_request_schemas() -> dict[str, Any]:
    # pydantic's schema generation is most of a document's cost, and the models do not change.
    request: dict[str, Any] = _renamed(request_json_schema())
    schemas: dict[str, Any] = dict(request.pop("$defs", {}))
    fhir_server = request["properties"]["fhirServer"]["anyOf"][0]
    fhir_server["pattern"] = "^[Hh][Tt][Tt][Pp][Ss]?://"  # pydantic's HttpUrl
    token_type = schemas["FhirAuthorization"]["properties"]["token_type"]
    token_type["pattern"] = "^[Bb][Ee][Aa][Rr][Ee][Rr]$"  # checked without regard to case
    schemas["HookRequest"] = request
    return schemas


def _schemas() -> dict[str, Any]:
    schemas = _request_schemas()
    feedback = FeedbackItem.model_json_schema(ref_template=_SCHEMAS + "{model}")
    schemas.update(feedback.pop("$defs", {}))
    schemas["FeedbackItem"] = feedback
    schemas.update(
        {
            "DraftOrders": {
                "type": "object",
                "description": "A FHIR Bundle of the draft orders (MedicationRequest, ...).",
                "required": ["resourceType"],
                "properties": {
                    "resourceType": {"const": "Bundle"},
                    "entry": {"type": "array"},
                },
            },
            "FeedbackRequest": {
                "type": "object",
                "required": ["feedback"],
                "properties": {"feedback": {"type": "array", "items": _ref("FeedbackItem")}},
            },
            "FeedbackResult": {
                "type": "object",
                "required": ["stored", "duplicates"],
                "properties": {
                    "stored": {"type": "integer", "minimum": 0},
                    "duplicates": {"type": "integer", "minimum": 0},
                },
            },
            "Error": _ERROR,
            "Discovery": _DISCOVERY,
            "Readiness": _READINESS,
            **_CARD_SCHEMAS,
        }
    )
    return copy.deepcopy(schemas)


def _responses() -> dict[str, Any]:
    return {
        "BadRequest": _json(
            "The request is malformed; expression locates the (first) problem", _ref("Error")
        ),
        "PreconditionFailed": _json(
            "The genomic results were neither prefetched nor readable from fhirServer",
            _ref("Error"),
        ),
        "TooLarge": _json("The body is larger than PGX_CDS_MAX_REQUEST_BYTES", _ref("Error")),
        "Unauthorized": {
            "description": "No valid JWT; the reason is in the service log, never in the answer",
            "headers": {"WWW-Authenticate": {"schema": {"const": "Bearer"}}},
            "content": {"application/json": {"schema": _ref("Error")}},
        },
    }


def _renamed(schema: Any) -> Any:
    """``schema`` with the models' private names replaced by the document's names."""
    if isinstance(schema, dict):
        renamed = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                name = value.removeprefix(_SCHEMAS)
                value = _SCHEMAS + _MODEL_NAMES.get(name, name)
            elif key == "$defs" and isinstance(value, dict):
                value = {_MODEL_NAMES.get(k, k): v for k, v in value.items()}
            renamed[key] = _renamed(value)
        return renamed
    if isinstance(schema, list):
        return [_renamed(item) for item in schema]
    return schema


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _SCHEMAS + name}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_STRING = {"type": "string", "minLength": 1}

_ERROR = {
    "type": "object",
    "description": "An error the caller can act on. Nothing of the request is echoed.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "expression": {
            "type": "string",
            "description": "Where the problem is, FHIRPath-like: context.draftOrders.entry[0]",
        },
        "details": {
            "type": "array",
            "description": "Every problem found, when there is more than one",
            "items": {
                "type": "object",
                "required": ["error", "expression"],
                "properties": {"error": {"type": "string"}, "expression": {"type": "string"}},
            },
        },
    },
}

_DISCOVERY = {
    "type": "object",
    "required": ["services"],
    "properties": {
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hook", "id", "description"],
                "properties": {
                    "hook": _STRING,
                    "id": _STRING,
                    "title": _STRING,
                    "description": _STRING,
                    "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                    "usageRequirements": _STRING,
                },
            },
        }
    },
}

_READINESS = {
    "type": "object",
    "required": ["status", "knowledge", "feedbackStore"],
    "properties": {
        "status": {"enum": ["ready", "not ready"]},
        "feedbackStore": {"enum": ["ok", "unreachable"]},
        "knowledge": {
            "type": "object",
            "required": ["version", "loadedAt"],
            "properties": {
                "version": {"type": "string"},
                "genes": {"type": "array", "items": {"type": "string"}},
                "guidelines": {"type": "array", "items": {"type": "string"}},
                "drugs": {"type": "integer"},
                "loadedAt": {"type": "string"},
                "lastRefusedReload": {
                    "type": "object",
                    "properties": {"at": {"type": "string"}, "errorCount": {"type": "integer"}},
                },
            },
        },
    },
}

# CDS Hooks 2.0 response objects (https://cds-hooks.hl7.org/2.0/#cds-service-response).
_CODING = {
    "type": "object",
    "required": ["code", "system"],
    "properties": {"code": _STRING, "system": _STRING, "display": _STRING},
}
_CARD_SCHEMAS: dict[str, Any] = {
    "Cards": {
        "type": "object",
        "required": ["cards"],
        "properties": {
            "cards": {"type": "array", "items": _ref("Card")},
            "systemActions": {"type": "array", "items": _ref("Action")},
        },
    },
    "Card": {
        "type": "object",
        "required": ["summary", "indicator", "source"],
        "properties": {
            "uuid": _STRING,
            "summary": {"type": "string", "minLength": 1, "maxLength": 139},
            "detail": {"type": "string", "description": "GitHub Flavored Markdown"},
            "indicator": {"enum": ["info", "warning", "critical"]},
            "source": {
                "type": "object",
                "required": ["label"],
                "properties": {
                    "label": _STRING,
                    "url": {"type": "string", "format": "uri"},
                    "icon": {"type": "string", "format": "uri"},
                    "topic": _ref("CardCoding"),
                },
            },
            "suggestions": {"type": "array", "items": _ref("Suggestion")},
            "selectionBehavior": {"enum": ["at-most-one", "any"]},
            "overrideReasons": {"type": "array", "items": _ref("CardCoding")},
            "links": {"type": "array", "items": _ref("Link")},
            "extension": {"type": "object"},
        },
        # CDS Hooks: "If suggestions are present, selectionBehavior MUST also be provided."
        "dependentRequired": {"suggestions": ["selectionBehavior"]},
    },
    "CardCoding": _CODING,
    "Suggestion": {
        "type": "object",
        "required": ["label"],
        "properties": {
            "label": _STRING,
            "uuid": _STRING,
            "isRecommended": {"type": "boolean"},
            "actions": {"type": "array", "items": _ref("Action")},
        },
    },
    "Action": {
        "type": "object",
        "required": ["type", "description"],
        "properties": {
            "type": {"enum": ["create", "update", "delete"]},
            "description": _STRING,
            "resource": {"type": "object"},
            "resourceId": _STRING,
        },
    },
    "Link": {
        "type": "object",
        "required": ["label", "url", "type"],
        "properties": {
            "label": _STRING,
            "url": {"type": "string", "format": "uri"},
            "type": {"enum": ["absolute", "smart"]},
            "appContext": {"type": "string"},
            "autolaunchable": {"type": "boolean"},
        },
    },
}
