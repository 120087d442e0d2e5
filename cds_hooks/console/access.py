"""Who may open the console: HTTP Basic against a users file, a proxy's user header, or anyone."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import time
from pathlib import Path

from flask import Flask, Response, g, request

from cds_hooks.config import Settings
from knowledge.yaml_source import parse_yaml

__all__ = ["ConsoleConfigError", "hash_password", "install_console_access", "load_users"]

log = logging.getLogger(__name__)

_ALGORITHM = "pbkdf2_sha256"
# OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
_ITERATIONS = 600_000
_REALM = 'Basic realm="pgx-cds console", charset="UTF-8"'
CONSOLE_AUTH_OFF_WARNING = (
    "the console is open to anyone who reaches it (PGX_CDS_CONSOLE_AUTH=off); use basic or "
    "header outside development (docs/console.md)"
)


class ConsoleConfigError(Exception):
    """The console cannot be served safely with these settings; says what to set."""


def hash_password(password: str, *, salt: str | None = None, iterations: int = _ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex digest>``, the form the users file holds."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"{_ALGORITHM}${iterations}${salt}${digest}"


def _verify(password: str, stored: str) -> bool:
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        rounds = int(iterations)
    except ValueError:
        return False
    if algorithm != _ALGORITHM or rounds < 1:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds).hex()
    return hmac.compare_digest(candidate, digest)


def load_users(path: Path) -> dict[str, str]:
    """The users file: ``users: {name: pbkdf2_sha256$...}``; refused whole when malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConsoleConfigError(f"{path}: cannot be read as YAML ({exc})") from None
    # The knowledge files' reader: located errors, and a user written twice is refused rather
    # than the second hash silently winning.
    document, errors = parse_yaml(text, str(path))
    if document is None:
        found = "; ".join(str(error) for error in errors)
        raise ConsoleConfigError(f"{path}: cannot be read as YAML ({found})")
    data = document.data
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not users:
        raise ConsoleConfigError(
            f"{path}: no users; write 'users: {{name: <hash>}}' with hashes from "
            "'pgx-cds console-user NAME'"
        )
    bad = [
        str(n) for n, h in users.items() if not (isinstance(h, str) and h.startswith(_ALGORITHM))
    ]
    if bad:
        raise ConsoleConfigError(
            f"{path}: {', '.join(bad)}: not a {_ALGORITHM} hash; make one with "
            "'pgx-cds console-user NAME' (passwords are never stored in clear)"
        )
    return {str(name): str(stored) for name, stored in users.items()}


def install_console_access(app: Flask, settings: Settings, prefix: str) -> None:
    """Check every /console request before its view, and harden its responses."""
    users: dict[str, str] = {}
    if settings.console_auth == "basic":
        if settings.console_users is None:
            raise ConsoleConfigError(
                "PGX_CDS_CONSOLE=on with PGX_CDS_CONSOLE_AUTH=basic needs PGX_CDS_CONSOLE_USERS "
                "(a users file; 'pgx-cds console-user NAME' makes an entry), or set "
                "PGX_CDS_CONSOLE_AUTH=header behind an authenticating proxy"
            )
        users = load_users(settings.console_users)
    elif settings.console_auth == "off":
        log.warning(CONSOLE_AUTH_OFF_WARNING)

    def _inside(path: str) -> bool:
        return path == prefix or path.startswith(prefix + "/")

    @app.before_request
    def _console_user() -> Response | None:
        if not _inside(request.path):
            return None
        user = _user(settings, users)
        if user is None:
            log.warning("console sign-in refused", extra={"event": "console_refused"})
            headers = {"WWW-Authenticate": _REALM} if settings.console_auth == "basic" else {}
            return Response("Sign-in required.\n", 401, headers, mimetype="text/plain")
        g.console_user = user
        return None

    @app.after_request
    def _harden(response: Response) -> Response:
        if _inside(request.path):
            # Pages show patient results typed in by the user: never cached, never framed.
            response.headers["Cache-Control"] = "no-store"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
            )
        return response


def _user(settings: Settings, users: dict[str, str]) -> str | None:
    if settings.console_auth == "off":
        return "anonymous"
    if settings.console_auth == "header":
        value = request.headers.get(settings.console_user_header, "").strip()
        return value or None
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    stored = users.get(name)
    if stored is None:
        return None
    # PBKDF2 at 600,000 rounds costs ~0.3 s of CPU: a browser sends the credentials with every
    # page and stylesheet, so a verified pair is remembered for a few minutes, keyed by an HMAC
    # under a per-process secret (the password itself is never kept).
    key = hmac.new(_PROCESS_KEY, f"{name}\0{password}\0{stored}".encode(), "sha256").digest()
    now = time.monotonic()
    if _VERIFIED.get(key, 0.0) > now:
        return name
    if not _verify(password, stored):
        return None
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = now + _VERIFIED_SECONDS
    return name


_PROCESS_KEY = secrets.token_bytes(32)
_VERIFIED: dict[bytes, float] = {}
_VERIFIED_MAX = 1_000
_VERIFIED_SECONDS = 300.0
