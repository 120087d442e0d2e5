"""GET /openapi.json: a valid OpenAPI 3.1 document that agrees with the service's own checks."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from schemathesis.specs.openapi.definitions import OPENAPI_31

from cds_hooks.config import Settings
from cds_hooks.hook_request import request_json_schema
from cds_hooks.openapi import openapi_document
from cds_hooks.services import SERVICES

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "cds_hooks" / "examples").glob("*.json"))
GOLDEN = sorted((Path(__file__).resolve().parents[1] / "golden").glob("*.json"))
DOCUMENT = openapi_document(Settings(auth="off", rxnav_url="off"))


def _errors(
    schema: dict[str, Any], instance: Any, document: dict[str, Any] = DOCUMENT
) -> list[str]:
    """What is wrong with ``instance`` by ``schema``, whose ``$ref`` point into ``document``."""
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def _request_schema(service_id: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"][f"/cds-services/{service_id}"]["post"]
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_the_document_is_valid_openapi_3_1() -> None:
    jsonschema.Draft202012Validator(OPENAPI_31).validate(DOCUMENT)
    for schema in DOCUMENT["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_served_at_openapi_json_with_the_package_version(client: FlaskClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == DOCUMENT
    assert DOCUMENT["info"]["version"] == metadata.version("pgx-cds-hooks")


def test_built_once_per_app_at_its_first_request(client: FlaskClient) -> None:
    extensions = client.application.extensions
    assert "pgx_cds_openapi" not in extensions  # starting the app does not pay for it

    first = client.get("/openapi.json").get_data()
    built = extensions["pgx_cds_openapi"]

    assert client.get("/openapi.json").get_data() == first
    assert extensions["pgx_cds_openapi"] is built


def test_every_service_has_its_hook_call_and_its_feedback() -> None:
    for service in SERVICES.values():
        call = DOCUMENT["paths"][f"/cds-services/{service.id}"]["post"]
        feedback = DOCUMENT["paths"][f"/cds-services/{service.id}/feedback"]["post"]

        assert _request_schema(service.id)["properties"]["hook"] == {"const": service.hook}
        assert set(call["responses"]) == {"200", "400", "412", "413"}
        assert set(feedback["responses"]) == {"200", "400", "413", "503"}


def test_operational_paths_are_declared() -> None:
    assert {"/cds-services", "/healthz", "/readyz", "/metrics", "/openapi.json"} <= set(
        DOCUMENT["paths"]
    )
    assert set(DOCUMENT["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {
        "text/plain",
        "application/openmetrics-text",
    }
    assert set(DOCUMENT["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}


def test_the_request_schema_is_the_validating_models_own() -> None:
    model = request_json_schema()

    assert set(DOCUMENT["components"]["schemas"]["HookRequest"]["properties"]) == set(
        model["properties"]
    )
    assert DOCUMENT["components"]["schemas"]["HookContext"]["required"] == ["patientId"]
    assert DOCUMENT["components"]["schemas"]["FhirAuthorization"]["required"] == ["access_token"]


def test_with_jwt_auth_hooks_and_feedback_need_a_bearer_token() -> None:
    document = openapi_document(Settings(auth="jwt", rxnav_url="off"))
    paths = document["paths"]

    assert document["components"]["securitySchemes"]["cdsHooksJwt"]["scheme"] == "bearer"
    for service in SERVICES.values():
        for path in (f"/cds-services/{service.id}", f"/cds-services/{service.id}/feedback"):
            operation = paths[path]["post"]
            assert operation["security"] == [{"cdsHooksJwt": []}]
            assert {"401", "503"} <= set(operation["responses"])
    assert paths["/cds-services"]["get"]["security"] == []
    assert "security" not in document  # probes, metrics and this document stay open
    assert "security" not in paths["/healthz"]["get"]


def test_discovery_needs_the_token_only_when_the_service_says_so() -> None:
    document = openapi_document(Settings(auth="jwt", auth_discovery=True, rxnav_url="off"))
    discovery = document["paths"]["/cds-services"]["get"]

    assert discovery["security"] == [{"cdsHooksJwt": []}]
    assert "401" in discovery["responses"]


def test_without_auth_or_metrics_neither_is_declared() -> None:
    document = openapi_document(Settings(auth="off", metrics=False, rxnav_url="off"))

    assert "/metrics" not in document["paths"]
    assert "securitySchemes" not in document["components"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_bundled_example_requests_fit_the_document(example: Path) -> None:
    given = json.loads(example.read_text())

    assert _errors(_request_schema(given["service"]), given["request"]) == []


@pytest.mark.parametrize("golden", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_the_golden_cards_fit_the_document(golden: Path) -> None:
    assert _errors(_ref("Cards"), json.loads(golden.read_text())) == []


# Requests the service refuses with 400 are also outside the documented schema.
REFUSED = [
    pytest.param({"hook": "order-sign", "hookInstance": "x"}, "context", id="no context"),
    pytest.param(
        {"hook": "order-sign", "hookInstance": "x", "context": {"patientId": ""}},
        "context.patientId",
        id="empty patientId",
    ),
    pytest.param(
        {"hook": "order-select", "hookInstance": "x", "context": {"patientId": "p"}},
        "hook",
        id="another service's hook",
    ),
    pytest.param(
        {
            "hook": "order-sign",
            "hookInstance": "x",
            "context": {"patientId": "p", "draftOrders": {"resourceType": "Bundle"}},
            "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
        },
        "fhirServer",
        id="token without fhirServer",
    ),
    pytest.param(
        {
            "hook": "order-sign",
            "hookInstance": "x",
            "context": {"patientId": "p", "draftOrders": {"resourceType": "Patient"}},
        },
        "context.draftOrders",
        id="draftOrders not a Bundle",
    ),
]


@pytest.mark.parametrize(("body", "expression"), REFUSED)
def test_refused_requests_are_outside_the_schema(
    client: FlaskClient, body: dict[str, Any], expression: str
) -> None:
    response = client.post("/cds-services/pgx-order-sign", json=body)

    assert response.status_code == 400
    assert response.get_json()["expression"] == expression
    assert _errors(_ref("Error"), response.get_json()) == []
    assert _errors(_request_schema("pgx-order-sign"), body) != []


def test_an_unknown_service_is_a_documented_404(client: FlaskClient) -> None:
    response = client.post("/cds-services/no-such-service", json={})
    operation = DOCUMENT["paths"]["/cds-services/{service_id}"]["post"]

    assert response.status_code == 404
    assert "404" in operation["responses"]
    assert _errors(_ref("Error"), response.get_json()) == []
    assert _errors(operation["parameters"][0]["schema"], "pgx-order-sign") != []
