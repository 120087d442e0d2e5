"""``pgx-cds``: knowledge checks for pharmacists, and a refusal to serve a broken knowledge base."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cds_hooks.cli import main
from knowledge.loader import bundled_root


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(
        Path(str(bundled_root())), target, ignore=shutil.ignore_patterns("*.py", "curation")
    )
    return target


def _break_strength(folder: Path) -> None:
    guideline = folder / "guidelines" / "cpic-clopidogrel.yaml"
    guideline.write_text(
        guideline.read_text().replace("strength: strong", "strength: strongest", 1)
    )


def test_knowledge_check_passes_and_lists_every_case() -> None:
    result = CliRunner().invoke(main, ["knowledge", "check"])

    assert result.exit_code == 0, result.output
    assert "ok    cpic-clopidogrel::poor metabolizer is steered to an alternative" in result.output
    # The targeted drugs' biomarker cases run too (#8).
    assert "ok    oncology/osimertinib::no EGFR result on file - test required" in result.output
    assert re.search(
        r"76 guideline\(s\), 23 gene\(s\), 32 targeted drug\(s\), \d{3,} case\(s\), 0 failed$",
        result.output.rstrip(),
    )


def test_knowledge_check_refuses_a_bad_file_with_its_location(knowledge_copy: Path) -> None:
    _break_strength(knowledge_copy)

    result = CliRunner().invoke(main, ["knowledge", "check", "--dir", str(knowledge_copy)])

    assert result.exit_code == 1
    assert "cpic-clopidogrel.yaml:" in result.output
    assert "'strongest' is not one of strong, moderate, optional, no recommendation" in (
        result.output
    )


def test_knowledge_check_fails_when_a_case_fails(knowledge_copy: Path) -> None:
    guideline = knowledge_copy / "guidelines" / "cpic-clopidogrel.yaml"
    guideline.write_text(guideline.read_text().replace("CYP2C19: '*1/*1'", "CYP2C19: '*2/*2'"))

    result = CliRunner().invoke(main, ["knowledge", "check", "--dir", str(knowledge_copy)])

    assert result.exit_code == 1
    assert "FAIL  cpic-clopidogrel::normal metabolizer gets no card" in result.output
    assert "expected 0 card(s), got 1" in result.output


def test_serve_refuses_to_start_on_a_broken_knowledge_base(
    knowledge_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_strength(knowledge_copy)
    monkeypatch.setenv("PGX_CDS_KNOWLEDGE_DIR", str(knowledge_copy))
    monkeypatch.setenv("PGX_CDS_DATABASE_URL", f"sqlite:///{tmp_path}/f.sqlite3")

    result = CliRunner().invoke(main, ["serve", "--port", "1"])

    assert result.exit_code == 2
    assert "1 error in the knowledge base" in result.output
    assert "listening" not in result.output


def test_serve_refuses_bad_settings_naming_each_variable_and_no_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGX_CDS_AUTH", "maybe")
    monkeypatch.setenv("PGX_CDS_CARD_LOG_RETENTION_DAYS", "-1")
    monkeypatch.setenv("PGX_CDS_FHIR_READ_TIMEOUT", "soon")
    monkeypatch.setenv("PGX_CDS_DATABASE_URL", "postgresql://pgx:hunter2@db.example/pgx")

    result = CliRunner().invoke(main, ["serve", "--port", "1"])

    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines == [
        "PGX_CDS_AUTH: Input should be 'jwt' or 'off'. Fix or unset it (docs/configuration.md).",
        "PGX_CDS_FHIR_READ_TIMEOUT: Input should be a valid number, unable to parse string as a number."
        " Fix or unset it (docs/configuration.md).",
        "PGX_CDS_CARD_LOG_RETENTION_DAYS: Input should be greater than or equal to 0. Fix or unset"
        " it (docs/configuration.md).",
    ]
    assert "hunter2" not in result.output
    assert "maybe" not in result.output


@pytest.mark.slow  # a fresh interpreter in a subprocess
def test_the_wsgi_module_builds_the_app_for_other_servers(tmp_path: Path) -> None:
    env = {**os.environ, "PGX_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/f.sqlite3"}
    script = (
        "from cds_hooks.wsgi import app; print(sorted(r.rule for r in app.url_map.iter_rules()))"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )

    assert "/cds-services/<service_id>/feedback" in result.stdout
    assert '"logger": "cds_hooks.app"' in result.stderr  # JSON log lines from the start
