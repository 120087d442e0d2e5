"""Generated requests for every operation of /openapi.json, sent to the service on loopback.

A real HTTP server on 127.0.0.1 (werkzeug, in a thread) answers; schemathesis builds requests
from the document, valid and invalid, and checks each answer: never a 500, and status, content
type and body as documented. Bounded and derandomized, so CI sends the same requests every run.
The service's own outbound HTTP (FHIR callbacks to a generated fhirServer) is refused at once by
a transport mounted on its session: nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.openapi import openapi_document
from cds_hooks.services import SERVICES
from cds_hooks.state import EXTENSION_KEY, ServiceState
from knowledge import KnowledgeBase
from tests.builders import genotype_observation
from tests.fhir_adapters.test_parsing_properties import ANY_FHIR, JSON, bundles, observations

# A live server on a loopback socket, fuzzed for seconds: `make test`, not `make unit`.
pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation and phase; 15 operations. Enough to reach the parsers with odd bodies, and the
# whole file stays well under 20 s on a busy 2-core machine.
MAX_EXAMPLES = 20
SEED = 20240514


class _Offline(requests.adapters.BaseAdapter):
    """Refuses every outbound request at once, as an unreachable FHIR server would."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError(f"offline test transport: {request.url}")

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[str]:
    """The service on an ephemeral loopback port, for this module's requests."""
    database = Path(tmp_path_factory.mktemp("schemathesis")) / "fb.sqlite3"
    app = create_app(_settings(f"sqlite:///{database}"), kb)
    state = app.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    state.http.mount("http://", _Offline())
    state.http.mount("https://", _Offline())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="loopback-service", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        state.feedback.close()


def _settings(database_url: str = "sqlite://") -> Settings:
    # Explicit, not from the environment: conftest's env fixtures are per test, this is per module.
    return Settings(database_url=database_url, auth="off", rxnav_url="off")


# Built from the code, as the app builds it at start-up; the live document is compared with it
# below. (schemathesis.pytest.from_fixture would fetch it, but fails under pytest 9.)
DOCUMENT = openapi_document(_settings())
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"deterministic": True, "database": "none"},
            # Stateful runs chain operations through links; ours have none to follow. The
            # coverage phase's calls with other methods (405) are not part of the document.
            "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": []}},
            # An invalid id of an unknown service is a real one: not a 404, so positive only.
            "operations": [
                {
                    "include-path-regex": r"\{service_id\}",
                    "generation": {"mode": "positive"},
                }
            ],
        }
    ),
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_answers_as_documented(case: Any, live_url: str) -> None:
    case.call_and_validate(base_url=live_url, checks=CHECKS, timeout=10)


def test_the_live_document_is_the_one_tested(live_url: str) -> None:
    answer = requests.get(f"{live_url}/openapi.json", timeout=10)

    assert answer.status_code == 200
    assert answer.json() == DOCUMENT


# Hostile bodies schemathesis does not think of, sent over the same socket.
def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _in_prefetch(value: str) -> str:
    return (
        '{"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p", '
        '"draftOrders": {"resourceType": "Bundle", "entry": []}}, '
        f'"prefetch": {{"pgxResults": {value}}}}}'
    )


TOO_DEEP = "the request body nests JSON arrays and objects too deeply to be read"
HOSTILE = [
    pytest.param("/cds-services/pgx-order-sign", _deep(100_000), 400, TOO_DEEP, id="deep body"),
    pytest.param(
        "/cds-services/pgx-order-sign",
        _in_prefetch(_deep(5_000)),
        400,
        TOO_DEEP,
        id="deep prefetch",
    ),
    pytest.param(
        "/cds-services/pgx-order-sign/feedback",
        '{"feedback": ' + _deep(100_000) + "}",
        400,
        TOO_DEEP,
        id="deep feedback",
    ),
    pytest.param(
        "/cds-services/pgx-order-sign",
        _in_prefetch(_deep(300)),
        200,
        None,
        id="deep but readable prefetch",
    ),
    pytest.param(
        "/cds-services/pgx-order-sign",
        # Not JSON (RFC 8259 has no NaN), though Python's json module would read it.
        '{"hook": NaN}',
        400,
        "the request body is not valid JSON",
        id="NaN",
    ),
]


@pytest.mark.parametrize(("path", "body", "status", "error"), HOSTILE)
def test_hostile_bodies_are_answered_not_crashed_on(
    live_url: str, path: str, body: str, status: int, error: str | None
) -> None:
    answer = requests.post(
        f"{live_url}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )

    assert answer.status_code == status, answer.text
    if error is not None:
        assert answer.json()["error"].startswith(error)


# Near-valid genomic data where schemathesis only sends random JSON: every prefetch key holds
# genotype Observations, mutated IG examples or junk, for orders of drugs with guidelines.
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# clopidogrel, codeine, warfarin, abacavir, fluorouracil, simvastatin, azathioprine, irinotecan
DRUGS = ["32968", "2670", "11289", "190521", "4492", "36567", "1256", "51499"]
GENOTYPES = st.builds(
    genotype_observation,
    st.sampled_from(["CYP2C19", "CYP2D6", "CYP2C9", "TPMT", "DPYD", "UGT1A1", "HLA-B", "VKORC1"]),
    st.sampled_from(["*1/*1", "*2/*2", "*1/*17", "*4/*4", "*2A/*2A", "*57:01/*08:01", "C/T"]),
)
PREFETCH = st.none() | bundles(GENOTYPES | observations() | JSON) | ANY_FHIR
SERVICE_IDS = sorted(SERVICES)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    service_id=st.sampled_from(SERVICE_IDS),
    drugs=st.lists(st.sampled_from(DRUGS), min_size=1, max_size=3),
    prefetch=st.fixed_dictionaries({key: PREFETCH for key in SERVICES["pgx-order-sign"].prefetch}),
)
def test_near_valid_genomic_data_never_makes_a_500(
    live_url: str, service_id: str, drugs: list[str], prefetch: dict[str, Any]
) -> None:
    service = SERVICES[service_id]
    orders = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": f"rx-{i}",
                    "status": "draft",
                    "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code}]},
                }
            }
            for i, code in enumerate(drugs)
        ],
    }
    context: dict[str, Any] = {"patientId": "p1"}
    if service.orders_field is not None:
        context[service.orders_field] = orders
    body = {"hook": service.hook, "hookInstance": "h", "context": context, "prefetch": prefetch}

    answer = requests.post(
        f"{live_url}/cds-services/{service_id}",
        # NaN and Infinity included: not JSON, so the service must answer them with a 400.
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code in (200, 400, 412), answer.text
