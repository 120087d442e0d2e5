"""Who may open /console: Basic, a proxy's header, or anyone; the EHR's JWT stays on the hooks."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.console.access import CONSOLE_AUTH_OFF_WARNING, ConsoleConfigError, hash_password
from knowledge import KnowledgeBase
from tests.cds_hooks.test_auth import issuers_file

# A console path behind the sign-in that does not depend on any page's template.
STYLESHEET = "/console/static/console.css"


def get(client: FlaskClient, path: str, **kwargs: Any) -> TestResponse:
    """GET ``path``, body read and file closed (the stylesheet is streamed from disk)."""
    response = client.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


HOOK = "/cds-services/pgx-order-select"
PASSWORD = "correct horse battery staple"
# Fewer rounds than the default keeps the tests fast; the users file records the count per hash.
ROUNDS = 1_000

ConsoleClient = Callable[..., FlaskClient]


def basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def users_file(folder: Path, text: str | None = None) -> Path:
    path = folder / "console-users.yaml"
    if text is None:
        text = f"users:\n  alice: {hash_password(PASSWORD, iterations=ROUNDS)}\n"
    path.write_text(text)
    return path


@pytest.fixture
def console_client(tmp_path: Path, kb: KnowledgeBase) -> Iterator[ConsoleClient]:
    """A test client of an app with the console on; ``settings`` overrides the defaults."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> FlaskClient:
        fields: dict[str, Any] = {
            "console": True,
            "console_auth": "basic",
            "database_url": f"sqlite:///{tmp_path}/fb.sqlite3",
            **overrides,
        }
        if "console_users" not in fields:
            fields["console_users"] = users_file(tmp_path)
        app = create_app(Settings(**fields), kb)
        apps.append(app)
        return app.test_client()

    yield build
    for app in apps:
        app.extensions["pgx_cds"].feedback.close()


def test_basic_with_the_right_password_is_let_in(console_client: ConsoleClient) -> None:
    response = get(console_client(), STYLESHEET, headers=basic("alice", PASSWORD))

    assert response.status_code == 200


def test_a_verified_password_is_not_hashed_again_for_every_request(
    console_client: ConsoleClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cds_hooks.console import access

    client = console_client()
    calls: list[str] = []
    real = access._verify

    def counting(password: str, stored: str) -> bool:
        calls.append(password)
        return real(password, stored)

    monkeypatch.setattr(access, "_verify", counting)
    monkeypatch.setattr(access, "_VERIFIED", {})
    for _ in range(3):
        assert get(client, STYLESHEET, headers=basic("alice", PASSWORD)).status_code == 200
    # A wrong password is never remembered, and is checked (and refused) every time.
    for _ in range(2):
        assert get(client, STYLESHEET, headers=basic("alice", "wrong")).status_code == 401
    assert calls == [PASSWORD, "wrong", "wrong"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no credentials"),
        pytest.param(basic("alice", "wrong"), id="wrong password"),
        pytest.param(basic("mallory", PASSWORD), id="unknown user"),
        pytest.param(basic("alice", ""), id="empty password"),
        pytest.param({"Authorization": "Basic"}, id="scheme only"),
        pytest.param({"Authorization": "Basic !!not-base64!!"}, id="not base64"),
        pytest.param(
            {"Authorization": "Basic " + base64.b64encode(b"alice").decode()}, id="no colon"
        ),
        pytest.param(
            {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
            id="not UTF-8",
        ),
        pytest.param({"Authorization": f"Bearer {PASSWORD}"}, id="another scheme"),
    ],
)
def test_basic_refuses_with_a_challenge(
    console_client: ConsoleClient, headers: dict[str, str]
) -> None:
    response = get(console_client(), STYLESHEET, headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="pgx-cds console"')
    assert response.text == "Sign-in required.\n"


def test_a_malformed_hash_signs_no_one_in(tmp_path: Path, console_client: ConsoleClient) -> None:
    users = users_file(tmp_path, "users:\n  alice: pbkdf2_sha256$not-a-number$salt$00\n")
    client = console_client(console_users=users)

    assert get(client, STYLESHEET, headers=basic("alice", PASSWORD)).status_code == 401


def test_header_mode_takes_the_proxys_user(console_client: ConsoleClient) -> None:
    client = console_client(console_auth="header", console_users=None)

    assert get(client, STYLESHEET, headers={"X-Forwarded-User": "alice"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no header"),
        pytest.param({"X-Forwarded-User": "   "}, id="blank header"),
        # The proxy authenticates; Basic credentials mean nothing in this mode.
        pytest.param(basic("alice", PASSWORD), id="basic instead"),
    ],
)
def test_header_mode_refuses_without_the_header(
    console_client: ConsoleClient, headers: dict[str, str]
) -> None:
    client = console_client(console_auth="header", console_users=None)
    response = get(client, STYLESHEET, headers=headers)

    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers


def test_header_mode_reads_the_header_configured(console_client: ConsoleClient) -> None:
    client = console_client(console_auth="header", console_user_header="X-Remote-User")

    assert get(client, STYLESHEET, headers={"X-Remote-User": "alice"}).status_code == 200
    assert get(client, STYLESHEET, headers={"X-Forwarded-User": "alice"}).status_code == 401


def test_off_lets_anyone_in_and_warns(
    console_client: ConsoleClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cds_hooks.console.access")
    client = console_client(console_auth="off", console_users=None)

    assert get(client, STYLESHEET).status_code == 200
    assert [r.getMessage() for r in caplog.records if r.name == "cds_hooks.console.access"] == [
        CONSOLE_AUTH_OFF_WARNING
    ]


@pytest.mark.parametrize("path", ["/console", "/console/", STYLESHEET])
def test_console_off_serves_nothing(console_client: ConsoleClient, path: str) -> None:
    client = console_client(console=False, console_auth="off", console_users=None)

    assert get(client, path).status_code == 404


def test_console_off_needs_no_users_file(console_client: ConsoleClient) -> None:
    # The default sign-in is basic, but nothing is checked while the console is off.
    client = console_client(console=False, console_users=None)

    assert get(client, "/healthz").status_code == 200


def test_console_is_exempt_from_the_ehr_jwt_but_hooks_are_not(
    tmp_path: Path, console_client: ConsoleClient
) -> None:
    client = console_client(
        auth="jwt", trusted_issuers=issuers_file(tmp_path), public_base_url="https://cds.example"
    )

    # A person with a password, no JWT: the console opens, the hook does not.
    assert get(client, STYLESHEET, headers=basic("alice", PASSWORD)).status_code == 200
    assert get(client, STYLESHEET).status_code == 401
    hook = client.post(HOOK, json={}, headers=basic("alice", PASSWORD))
    assert hook.status_code == 401
    assert "WWW-Authenticate" not in hook.headers or "Bearer" in hook.headers["WWW-Authenticate"]


def test_a_prefix_lookalike_is_not_the_console(
    tmp_path: Path, console_client: ConsoleClient
) -> None:
    client = console_client(
        auth="jwt", trusted_issuers=issuers_file(tmp_path), public_base_url="https://cds.example"
    )

    # /consoled is no console path: the JWT check applies, not the console's sign-in.
    response = get(client, "/consoled", headers=basic("alice", PASSWORD))
    assert response.status_code == 401
    assert "Basic" not in response.headers.get("WWW-Authenticate", "")


def test_basic_without_a_users_file_refuses_to_start(tmp_path: Path, kb: KnowledgeBase) -> None:
    settings = Settings(
        console=True, console_auth="basic", database_url=f"sqlite:///{tmp_path}/fb.sqlite3"
    )
    with pytest.raises(ConsoleConfigError, match=r"needs PGX_CDS_CONSOLE_USERS"):
        create_app(settings, kb)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "users:\n  bob: hunter2\n",
            r"bob: not a pbkdf2_sha256 hash; make one with 'pgx-cds console-user NAME'",
            id="clear password",
        ),
        pytest.param(
            "users:\n  bob: 12345\n",
            r"bob: not a pbkdf2_sha256 hash",
            id="number",
        ),
        pytest.param(
            f"users:\n  alice: {hash_password('x', iterations=ROUNDS)}\n  bob: md5$abc\n",
            r": bob: not a pbkdf2_sha256 hash",
            id="one bad among good",
        ),
        pytest.param("users: {}\n", r"no users; write 'users: \{name: <hash>\}'", id="empty"),
        pytest.param("alice: pbkdf2_sha256$1$s$00\n", r"no users", id="no users key"),
        pytest.param("users: [alice\n", r"cannot be read as YAML", id="bad YAML"),
        pytest.param(
            f"users:\n  alice: {hash_password('x', iterations=ROUNDS)}\n"
            f"  alice: {hash_password('y', iterations=ROUNDS)}\n",
            r"cannot be read as YAML \(.*:3:3: users\.alice: duplicate key 'alice'",
            id="a user written twice",
        ),
    ],
)
def test_a_bad_users_file_refuses_to_start(
    tmp_path: Path, kb: KnowledgeBase, text: str, message: str
) -> None:
    settings = Settings(
        console=True,
        console_users=users_file(tmp_path, text),
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3",
    )
    with pytest.raises(ConsoleConfigError, match=message):
        create_app(settings, kb)


def test_a_missing_users_file_refuses_to_start(tmp_path: Path, kb: KnowledgeBase) -> None:
    missing = tmp_path / "nowhere.yaml"
    settings = Settings(
        console=True, console_users=missing, database_url=f"sqlite:///{tmp_path}/fb.sqlite3"
    )
    with pytest.raises(ConsoleConfigError, match=rf"^{missing}: cannot be read as YAML"):
        create_app(settings, kb)


@pytest.mark.parametrize(
    "headers",
    [pytest.param(basic("alice", PASSWORD), id="signed in"), pytest.param({}, id="refused")],
)
def test_console_responses_are_hardened(
    console_client: ConsoleClient, headers: dict[str, str]
) -> None:
    response = get(console_client(), STYLESHEET, headers=headers)

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy


def test_the_hooks_keep_their_own_headers(console_client: ConsoleClient) -> None:
    response = get(console_client(), "/cds-services")

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response.headers
