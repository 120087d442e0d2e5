"""Fixtures for the deploy/ checks: the files as parsed documents, the app's routes, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.routing import Map

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from tests.deploy.files import load_documents, manifest_files


@pytest.fixture(scope="session")
def k8s_objects() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> object, for every document of every manifest."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in manifest_files():
        for doc in load_documents(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"{path.name}: {key} is defined twice"
            found[key] = doc
    return found


@pytest.fixture(scope="session")
def url_map(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Map]:
    """The routes of the real app, as the image serves it (metrics on)."""
    scratch = tmp_path_factory.mktemp("deploy-app")
    settings = Settings(
        auth="off",
        database_url=f"sqlite:///{scratch}/feedback.sqlite3",
        rxnav_url=None,
        metrics=True,
    )
    app = create_app(settings)
    yield app.url_map
    app.extensions["pgx_cds"].feedback.close()
