"""Malformed hook requests: 400 with a JSON body saying what is wrong and where."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch


def _valid() -> dict[str, Any]:
    return hook_request(
        medication_request(), prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*1/*1"))
    )


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def _set(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _auth_without_server(body: dict[str, Any]) -> None:
    body["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer"}


@pytest.mark.parametrize(
    ("edit", "expression", "message"),
    [
        (_drop("hook"), "hook", "hook is required"),
        (_drop("hookInstance"), "hookInstance", "hookInstance is required"),
        (_set("", "hookInstance"), "hookInstance", "hookInstance must not be empty"),
        (_drop("context"), "context", "context is required"),
        (_drop("context", "patientId"), "context.patientId", "context.patientId is required"),
        (_set(42, "context", "patientId"), "context.patientId", "valid string"),
        (
            _drop("context", "draftOrders"),
            "context.draftOrders",
            "context.draftOrders is required for the order-sign hook",
        ),
        (
            _set({"resourceType": "Patient"}, "context", "draftOrders"),
            "context.draftOrders",
            "must be a FHIR Bundle",
        ),
        (
            _set({"resourceType": "Bundle", "entry": {}}, "context", "draftOrders"),
            "context.draftOrders.entry",
            "must be a list",
        ),
        (_set("order-select", "hook"), "hook", "answers the 'order-sign' hook, not 'order-select'"),
        (_auth_without_server, "fhirServer", "fhirServer is required when fhirAuthorization"),
        (_set("not a url", "fhirServer"), "fhirServer", "fhirServer: Input should be a valid URL"),
        (
            _set([1, 2], "prefetch", "pgxResults"),
            "prefetch.pgxResults",
            "must be a FHIR Bundle, a resource or null",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_malformed_request_is_refused_with_its_location(
    client: FlaskClient, edit: Callable[[dict[str, Any]], None], expression: str, message: str
) -> None:
    body = copy.deepcopy(_valid())
    edit(body)

    response = client.post("/cds-services/pgx-order-sign", json=body)

    assert response.status_code == 400
    assert response.get_json()["expression"] == expression
    assert message in response.get_json()["error"]


@pytest.mark.parametrize(
    "raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2, 3]", b'"a string"'], ids=repr
)
def test_a_body_that_is_not_a_json_object_is_a_400(client: FlaskClient, raw: bytes) -> None:
    response = client.post(
        "/cds-services/pgx-order-sign", data=raw, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.is_json
    assert "JSON" in response.get_json()["error"]


def test_every_problem_is_listed_when_there_are_several(client: FlaskClient) -> None:
    body = _valid()
    del body["hookInstance"]
    del body["context"]["patientId"]

    details = client.post("/cds-services/pgx-order-sign", json=body).get_json()["details"]

    assert {d["expression"] for d in details} == {"hookInstance", "context.patientId"}


def test_unknown_service_is_a_404_in_json(client: FlaskClient) -> None:
    response = client.post("/cds-services/no-such-service", json=_valid())

    assert response.status_code == 404
    assert "no CDS service 'no-such-service'" in response.get_json()["error"]


def test_a_body_over_the_size_limit_is_a_413(client: FlaskClient) -> None:
    limit = client.application.config["MAX_CONTENT_LENGTH"]

    response = client.post(
        "/cds-services/pgx-order-sign", data=b" " * (limit + 1), content_type="application/json"
    )

    assert response.status_code == 413
    assert response.is_json


def test_token_type_other_than_bearer_is_refused(client: FlaskClient) -> None:
    body = hook_request(medication_request(), fhir_server="https://ehr.example/fhir", token="t")
    body["fhirAuthorization"]["token_type"] = "MAC"

    response = client.post("/cds-services/pgx-order-sign", json=body)

    assert response.status_code == 400
    assert response.get_json()["expression"] == "fhirAuthorization.token_type"
