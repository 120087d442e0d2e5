"""No log line and no metric carries an access token, a patient id or a genotype by default."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from cds_hooks.app import create_app
from cds_hooks.cards import NON_ADHERENCE
from cds_hooks.config import Settings
from cds_hooks.request_log import json_formatter, logging_config
from knowledge import KnowledgeBase
from tests.builders import (
    genotype_observation,
    hook_request,
    medication_request,
    pgx_prefetch,
    searchset,
)
from tests.serving import free_port

TOKEN = "tok-PHI-3c1e9a77d2b0-never-logged"
PATIENT = "pt-7Q9Z-phi-probe"
# The patient's results: star-allele diplotypes of several genes and one HGVS-described variant.
GENOTYPES = {"CYP2C19": "*2/*2", "CYP2C9": "*1/*3", "CYP2D6": "*1/*4", "TPMT": "*1/*3A"}
HGVS = "NM_000769.4:c.681G>A"
COMMENT = f"Patient {PATIENT} is *1/*17 per outside lab"
SECRETS = (TOKEN, PATIENT, HGVS, "*1/*17", *GENOTYPES.values())
# Shapes a genotype takes in text, whoever's: "*2/*17", "*1/*3A", "c.681G>A".
GENOTYPE_SHAPES = re.compile(r"\*\d+[A-Z]?\s*/\s*\*\d+|\b[cgmnp]\.\d+[ACGT]+>[ACGT]+")


def observations(patient: str = PATIENT) -> list[dict[str, Any]]:
    found = [
        genotype_observation(gene, diplotype, patient=patient)
        for gene, diplotype in GENOTYPES.items()
    ]
    # A result the service cannot read: its text must not reach the log either.
    found.append(genotype_observation("CYP2C19", "", patient=patient, value_text=HGVS))
    return found


class _FhirServer(BaseHTTPRequestHandler):
    """A FHIR server with this patient's genotypes; every other search finds nothing."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        bundle = searchset(*observations()) if path.endswith("/Observation") else searchset()
        body = json.dumps(bundle).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the server's own access lines are not the service's log


@pytest.fixture(scope="module")
def fhir_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FhirServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()
    server.server_close()


@pytest.fixture
def production_log_levels(tmp_path: Path) -> Iterator[None]:
    """The per-logger levels ``pgx-cds serve`` sets (its dictConfig), here under caplog."""
    levels = logging_config(Settings(database_url="sqlite://"))["loggers"]
    previous = {name: logging.getLogger(name).level for name in levels}
    for name, config in levels.items():
        if "level" in config:
            logging.getLogger(name).setLevel(config["level"])
    yield
    for name, level in previous.items():
        logging.getLogger(name).setLevel(level)


@dataclass
class Observed:
    """Everything the service wrote about the calls: log records as JSON lines, and /metrics."""

    lines: list[str]
    metrics: str

    def everything(self) -> str:
        return "\n".join([*self.lines, self.metrics])


Drive = Callable[[Settings], Observed]


@pytest.fixture
def drive(
    kb: KnowledgeBase,
    fhir_server: str,
    caplog: pytest.LogCaptureFixture,
    production_log_levels: None,
) -> Drive:
    """Send realistic calls carrying the token, the patient id and genotypes; collect the output."""

    def run(settings: Settings) -> Observed:
        caplog.set_level(logging.DEBUG)
        app = create_app(settings, kb)
        client = app.test_client()
        dead = f"http://127.0.0.1:{free_port()}/fhir"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        order = medication_request(patient=PATIENT)
        with_results = pgx_prefetch(*observations())
        try:
            calls = [
                # Prefetched results of several genes, a card.
                client.post(
                    "/cds-services/pgx-order-sign",
                    json=hook_request(
                        order,
                        patient=PATIENT,
                        prefetch=with_results,
                        fhir_server=fhir_server,
                        token=TOKEN,
                    ),
                    headers=auth,
                ),
                # Results read from a FHIR server with the token, a card.
                client.post(
                    "/cds-services/pgx-order-select",
                    json=hook_request(
                        order,
                        hook="order-select",
                        patient=PATIENT,
                        fhir_server=fhir_server,
                        token=TOKEN,
                    ),
                    headers=auth,
                ),
                # The FHIR server is down: the error paths log.
                client.post(
                    "/cds-services/pgx-order-sign",
                    json=hook_request(order, patient=PATIENT, fhir_server=dead, token=TOKEN),
                    headers=auth,
                ),
                # A prefetch page whose next page is on the dead server (the URL names the patient).
                client.post(
                    "/cds-services/pgx-order-sign",
                    json=hook_request(
                        order,
                        patient=PATIENT,
                        prefetch={
                            "pgxResults": searchset(
                                *observations(),
                                next_url=f"{dead}/Observation?patient={PATIENT}&_page=2",
                            )
                        },
                        fhir_server=dead,
                        token=TOKEN,
                    ),
                ),
                client.post(
                    "/cds-services/pgx-patient-view",
                    json=hook_request(
                        hook="patient-view",
                        patient=PATIENT,
                        prefetch=with_results,
                        fhir_server=fhir_server,
                        token=TOKEN,
                    ),
                ),
                # Malformed: orders that are no Bundle, and a body that is no JSON.
                client.post(
                    "/cds-services/pgx-order-sign",
                    json=hook_request(patient=PATIENT, prefetch=with_results, token=TOKEN)
                    | {"context": {"patientId": PATIENT, "draftOrders": f"{PATIENT} {HGVS}"}},
                ),
                client.post(
                    "/cds-services/pgx-order-sign",
                    data=f'{{"patientId": "{PATIENT}", "access_token": "{TOKEN}", "*2/*2"',
                    content_type="application/json",
                ),
                # 412: nothing prefetched, no fhirServer.
                client.post(
                    "/cds-services/pgx-order-sign",
                    json=hook_request(order, patient=PATIENT),
                ),
                client.post(
                    "/cds-services/pgx-order-sign/feedback",
                    json={
                        "feedback": [
                            {
                                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                                "outcome": "overridden",
                                "overrideReason": {
                                    "reason": {"system": NON_ADHERENCE, "code": PATIENT},
                                    "userComment": COMMENT,
                                },
                                "outcomeTimestamp": "2021-12-11T10:05:31Z",
                            }
                        ]
                    },
                ),
            ]
            metrics = client.get("/metrics").get_data(as_text=True)
        finally:
            app.extensions["pgx_cds"].feedback.close()
        statuses = [call.status_code for call in calls]
        # The calls went where meant: cards where results exist, each error path taken.
        assert statuses == [200, 200, 200, 200, 200, 400, 400, 412, 200], [c.json for c in calls]
        assert calls[0].json["cards"], calls[0].json
        assert calls[1].json["cards"], calls[1].json
        formatter = json_formatter()
        return Observed([formatter.format(record) for record in caplog.records], metrics)

    return run


def test_no_token_patient_or_genotype_in_logs_or_metrics(drive: Drive, tmp_path: Path) -> None:
    observed = drive(Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3"))

    assert any('"message": "hook call"' in line for line in observed.lines)
    assert "pgx_cds_requests_total" in observed.metrics
    leaks = [
        (secret, line)
        for line in [*observed.lines, observed.metrics]
        for secret in SECRETS
        if secret in line
    ]
    assert leaks == []
    shapes = [line for line in observed.lines if GENOTYPE_SHAPES.search(line)]
    assert shapes == []
    assert not GENOTYPE_SHAPES.search(observed.metrics)


def test_with_log_phi_on_the_patient_id_is_logged(drive: Drive, tmp_path: Path) -> None:
    # The control: the probe above would see the id if it were written.
    observed = drive(Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", log_phi=True))

    hook_lines = [line for line in observed.lines if '"message": "hook call"' in line]
    assert any(f'"patient_id": "{PATIENT}"' in line for line in hook_lines)
    assert any(GENOTYPES["CYP2C19"] in line for line in hook_lines)
    assert TOKEN not in observed.everything()
