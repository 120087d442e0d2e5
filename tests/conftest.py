"""Fixtures that build on each other: knowledge → settings → app → client."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis.configuration import set_hypothesis_home_dir

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from knowledge import KnowledgeBase, load_knowledge_base

SHARED = Path(__file__).resolve().parents[2] / "shared"

# Hypothesis keeps caches (Unicode tables, constants) under its home, .hypothesis/ in the current
# folder by default; the property tests use no example database, so a temporary folder will do.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "pgx-cds-hooks-hypothesis")
DATA = Path(__file__).resolve().parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing",
    )


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only reference material beside the checkout (../shared)."""
    if not (SHARED / "pgx-data").is_dir():
        pytest.fail(f"../shared not found at {SHARED}: tests read the reference data from there")
    return SHARED


@pytest.fixture(autouse=True)
def _no_rxnav(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches NLM's RxNav: settings read from the environment have lookups off.

    Tests of the lookup inject a client whose HTTP is faked with ``responses``.
    """
    monkeypatch.setenv("PGX_CDS_RXNAV_URL", "off")


@pytest.fixture(autouse=True)
def _auth_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests call the service without a JWT unless they test authentication.

    Those build their settings with ``auth="jwt"`` and sign their own tokens.
    """
    monkeypatch.setenv("PGX_CDS_AUTH", "off")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3")


@pytest.fixture
def app(settings: Settings, kb: KnowledgeBase) -> Iterator[Flask]:
    app = create_app(settings, kb)
    yield app
    app.extensions["pgx_cds"].feedback.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
