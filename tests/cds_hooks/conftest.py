"""Fixtures shared by the feedback store's and the card log's tests: one store per database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_hooks.feedback_store import FeedbackStore
from tests.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL: SQLite, and PostgreSQL when deploy/postgres/with-postgres.sh runs."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fb.sqlite3"
    else:
        yield from fresh_database()


@pytest.fixture
def store(url: str) -> Iterator[FeedbackStore]:
    feedback_store = FeedbackStore(url)
    yield feedback_store
    feedback_store.close()
