"""``pgx-cds console-user NAME``: a hidden, confirmed password becomes a users-file line."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cds_hooks.app import create_app
from cds_hooks.cli import main
from cds_hooks.config import Settings
from knowledge import KnowledgeBase
from tests.console.test_access import STYLESHEET, get


def basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_the_line_printed_signs_the_user_in(tmp_path: Path, kb: KnowledgeBase) -> None:
    result = CliRunner().invoke(main, ["console-user", "alice"], input="s3cret pw\ns3cret pw\n")

    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.startswith("alice: pbkdf2_sha256$600000$")
    # The prompts went to stderr, and the password is nowhere in the output.
    assert "Password for alice" in result.stderr
    assert "s3cret" not in result.output
    users = tmp_path / "console-users.yaml"
    users.write_text(f"users:\n  {line}\n")
    settings = Settings(
        console=True,
        console_auth="basic",
        console_users=users,
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3",
    )
    app = create_app(settings, kb)
    client = app.test_client()
    assert get(client, STYLESHEET, headers=basic("alice", "s3cret pw")).status_code == 200
    assert get(client, STYLESHEET, headers=basic("alice", "s3cret")).status_code == 401
    app.extensions["pgx_cds"].feedback.close()


def test_two_different_passwords_are_refused() -> None:
    # Click asks again after a mismatch; with no more input it aborts.
    result = CliRunner().invoke(main, ["console-user", "alice"], input="one\ntwo\n")

    assert result.exit_code == 1
    assert "do not match" in result.stderr
    assert result.stdout == ""


def test_each_run_salts_afresh() -> None:
    runs = [
        CliRunner().invoke(main, ["console-user", "alice"], input="pw\npw\n").stdout
        for _ in range(2)
    ]
    assert runs[0] != runs[1]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("bob:admin", r"'bob:admin': use letters, digits", id="colon"),
        pytest.param("-bob", r"'-bob': use letters, digits", id="leading dash"),
        pytest.param("bob smith", r"'bob smith': use letters, digits", id="space"),
        pytest.param("{bob}", r"'\{bob\}': use letters, digits", id="yaml flow"),
    ],
)
def test_names_the_browser_or_yaml_cannot_carry_are_refused(name: str, message: str) -> None:
    result = CliRunner().invoke(main, ["console-user", "--", name], input="pw\npw\n")

    assert result.exit_code == 2
    assert re.search(message, result.stderr), result.stderr
