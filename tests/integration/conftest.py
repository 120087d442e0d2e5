"""Fixtures for tests against a real FHIR server named by ``FHIR_BASE_URL``.

``make test`` runs pytest under deploy/hapi/with-hapi.sh, which starts HAPI FHIR and sets the
variable; any other R4 server works too (``FHIR_BASE_URL=... pytest tests/integration``). Without
it these tests skip, unless ``PGX_CDS_REQUIRE_FHIR=1`` (set by ``make test``), when they fail: in CI
a missing server must not pass silently as a row of skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cds_hooks.config import Settings
from tests.integration.fhir_loader import put_patient


@pytest.fixture(scope="session")
def fhir_base() -> str:
    """The FHIR server's base URL, without a trailing slash."""
    base = os.environ.get("FHIR_BASE_URL", "").strip().rstrip("/")
    if not base:
        message = "FHIR_BASE_URL is not set (deploy/hapi/with-hapi.sh sets it)"
        if os.environ.get("PGX_CDS_REQUIRE_FHIR") == "1":
            pytest.fail(f"{message}, and PGX_CDS_REQUIRE_FHIR=1 requires a FHIR server")
        pytest.skip(message)
    return base


@pytest.fixture(scope="session")
def fhir(fhir_base: str) -> Iterator[requests.Session]:
    """A session for writing test data straight to the server (not the service's own client)."""
    with requests.Session() as session:
        session.headers.update(
            {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
        )
        yield session


@pytest.fixture
def patient_id(fhir: requests.Session, fhir_base: str) -> str:
    """A Patient of this test's own, so no test sees another test's Observations."""
    patient = f"pgx-it-{uuid.uuid4()}"
    put_patient(fhir, fhir_base, patient)
    return patient


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A real server's first searches (cold JIT, H2 warming up) can take seconds; the production
    # limits (0.3 s per hook call, 1.5 s read timeout) guard the EHR's wait, not what these tests
    # check. tests/cds_hooks/test_faults.py checks those limits against a misbehaving server.
    return Settings(
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3",
        fhir_connect_timeout=5.0,
        fhir_read_timeout=60.0,
        fhir_deadline=60.0,
        hook_budget=30.0,
    )
