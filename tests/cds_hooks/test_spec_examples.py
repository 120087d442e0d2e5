"""The CDS Hooks specification's own request examples are accepted (tests/data/cds-hooks-spec)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.builders import genotype_observation, pgx_prefetch

SPEC = Path(__file__).resolve().parents[1] / "data" / "cds-hooks-spec"
SERVICE_FOR_HOOK = {
    "order-select": "pgx-order-select",
    "order-sign": "pgx-order-sign",
    "medication-prescribe": "pgx-medication-prescribe",
}
# (file, hook): the hook-library examples carry only "context"; we add what the request needs.
EXAMPLES = [
    ("order-select-request.json", "order-select"),
    ("order-select-request-stu3.json", "order-select"),
    ("order-select-request-dstu2.json", "order-select"),
    ("order-sign-request.json", "order-sign"),
    ("order-sign-request-stu3.json", "order-sign"),
    ("order-sign-request-dstu2.json", "order-sign"),
    ("medication-prescribe-request.json", "medication-prescribe"),
    ("medication-prescribe-request-dstu2.json", "medication-prescribe"),
    ("order-sign-request-prefetch-pagination.json", "order-sign"),
]


def _spec_request(name: str, hook: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SPEC / name).read_text())
    body.setdefault("hook", hook)
    body.setdefault("hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea")
    return body


@pytest.mark.parametrize(("name", "hook"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_spec_example_is_accepted(client: FlaskClient, name: str, hook: str) -> None:
    body = _spec_request(name, hook)
    body["prefetch"] = pgx_prefetch(genotype_observation("CYP2C19", "*2/*2"))

    response = client.post(f"/cds-services/{SERVICE_FOR_HOOK[body['hook']]}", json=body)

    assert response.status_code == 200, response.get_json()
    assert isinstance(response.get_json()["cards"], list)


def test_spec_patient_view_example_is_refused_by_an_order_service(client: FlaskClient) -> None:
    body = json.loads((SPEC / "service-request-example.json").read_text())

    response = client.post("/cds-services/pgx-order-sign", json=body)

    assert body["hook"] == "patient-view"
    assert response.status_code == 400
    assert response.get_json()["expression"] == "hook"
