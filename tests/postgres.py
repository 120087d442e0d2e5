"""A fresh PostgreSQL database per test, on the server deploy/postgres/with-postgres.sh started."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def postgres_server_url() -> str:
    """The admin URL of the test server; skips (or fails under PGX_CDS_REQUIRE_POSTGRES=1)."""
    url = os.environ.get("PGX_CDS_TEST_POSTGRES_URL", "").strip()
    if not url:
        message = "PGX_CDS_TEST_POSTGRES_URL is not set (deploy/postgres/with-postgres.sh sets it)"
        if os.environ.get("PGX_CDS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message}, and PGX_CDS_REQUIRE_POSTGRES=1 requires a PostgreSQL server")
        pytest.skip(message)
    return url


def fresh_database() -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it afterwards (connections and all)."""
    server = make_url(postgres_server_url())
    name = f"pgx_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
