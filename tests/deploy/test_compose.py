"""deploy/docker-compose.yml: valid against the Compose Specification's JSON schema, and consistent.

The schema is the one check-jsonschema ships (``vendor.compose-spec``, the compose-spec project's
own file, refreshed with each release of the package): read from the installed package, offline.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cds_hooks.config import Settings
from tests.deploy.files import DEPLOY, NON_SETTINGS_ENV, ROOT, setting_env_names

COMPOSE = DEPLOY / "docker-compose.yml"
# ${NAME:-default}: Compose interpolation; the checks below see the default.
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+):-(?P<default>[^}]*)\}")


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


def _service_env(name: str) -> dict[str, str]:
    environment = _compose()["services"][name].get("environment", {})
    return {
        key: INTERPOLATION.sub(lambda m: m["default"], str(value))
        for key, value in environment.items()
    }


def _compose_validator() -> jsonschema.Draft202012Validator:
    try:
        schema_file = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    except ModuleNotFoundError:
        pytest.fail(
            "check-jsonschema is not installed; it ships the Compose Specification schema. "
            'Install the test extras: pip install -e ".[test]"',
            pytrace=False,
        )
    return jsonschema.Draft202012Validator(json.loads(schema_file.read_text(encoding="utf-8")))


def test_compose_file_matches_the_compose_specification() -> None:
    validator = _compose_validator()
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(_compose())
    ]
    assert not errors, "\n".join(errors)


def test_schema_catches_a_misspelt_key() -> None:
    """The check above is real: an unknown service key fails it."""
    validator = _compose_validator()
    broken = {"services": {"x": {"image": "busybox:1.37", "healthcheks": {}}}}
    assert not validator.is_valid(broken)


def test_stack_has_the_service_fhir_postgres_and_redis() -> None:
    assert set(_compose()["services"]) == {"pgx-cds", "hapi", "postgres", "redis"}


@pytest.mark.parametrize("service", ["hapi", "postgres", "redis"])
def test_images_are_pinned_by_version(service: str) -> None:
    image = _compose()["services"][service]["image"]
    _, _, tag = image.partition(":")
    assert tag, f"{image}: give a version tag"
    assert re.search(r"\d+\.\d+", tag), f"{image}: pin a version, not {tag!r}"


def test_service_is_built_from_the_dockerfile() -> None:
    build = _compose()["services"]["pgx-cds"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).is_file()


def test_dependencies_have_healthchecks() -> None:
    services = _compose()["services"]
    for name, dependency in services["pgx-cds"]["depends_on"].items():
        assert dependency["condition"] == "service_healthy", name
        assert "healthcheck" in services[name], f"{name} has no healthcheck to wait for"


def test_bind_mounts_exist() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source} is missing"


def test_ports_are_published_on_loopback_only() -> None:
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_every_variable_is_a_setting() -> None:
    unknown = set(_service_env("pgx-cds")) - setting_env_names() - NON_SETTINGS_ENV
    assert not unknown, f"not settings of the service (typo?): {sorted(unknown)}"


def test_settings_accept_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _service_env("pgx-cds").items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.auth == "jwt", "the stack starts with authentication on"
    assert settings.database_url.startswith("postgresql+psycopg://")
    # The trusted issuers file is mounted from the sandbox file at the path the setting names.
    volumes = _compose()["services"]["pgx-cds"]["volumes"]
    mounts = {target: source for source, target, *_ in (v.split(":") for v in volumes)}
    source = mounts[str(settings.trusted_issuers)]
    assert Path(COMPOSE.parent / source).resolve() == DEPLOY / "trusted-issuers" / "sandbox.yaml"


def test_database_url_matches_postgres_credentials() -> None:
    postgres = _compose()["services"]["postgres"]["environment"]
    url = _service_env("pgx-cds")["PGX_CDS_DATABASE_URL"]
    expected = (
        f"postgresql+psycopg://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert url == expected
