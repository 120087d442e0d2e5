"""Verifying the CDS client's JWT on every EHR call (CDS Hooks "Trusting CDS Clients")."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256K1,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    EllipticCurve,
    EllipticCurvePublicKey,
)
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from flask import Flask, Response, g, jsonify, request

from cds_hooks.alert_memory import AlertMemory, AlertMemoryUnavailable, open_alert_memory
from cds_hooks.config import Settings
from cds_hooks.errors import ServiceUnavailable
from cds_hooks.metrics import record_jwt_rejection
from cds_hooks.trusted_issuers import (
    AuthConfigError,
    IssuerKeys,
    KeyRefused,
    PublicKey,
    TrustedIssuers,
    load_trusted_issuers,
)

__all__ = [
    "PUBLIC_PATHS",
    "AuthConfigError",
    "JwtRefused",
    "JwtVerifier",
    "Reason",
    "VerifiedClient",
    "install_auth",
]

log = logging.getLogger(__name__)

Reason = Literal[
    "missing",
    "malformed",
    "algorithm",
    "issuer",
    "jku",
    "key",
    "signature",
    "audience",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "lifetime",
    "replay",
    "claims",
]

# Paths that never need a token: probes, metrics and the API description. Every other path does
# (discovery only when PGX_CDS_AUTH_DISCOVERY): a route added later is protected by default.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
DISCOVERY_PATH = "/cds-services"

AUTH_OFF_WARNING = (
    "EHR authentication is off (PGX_CDS_AUTH=off): any caller can invoke the hooks and post "
    "feedback; run like this only on a trusted network or for development (docs/authentication.md)"
)

# A compact JWS: three base64url parts. Anything longer than this is not a CDS client's token.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_MAX_TOKEN_CHARS = 16_384
# The curve each ECDSA algorithm is defined on (RFC 7518 §3.4; RFC 8812 for ES256K).
_CURVES: dict[str, type[EllipticCurve]] = {
    "ES256": SECP256R1,
    "ES384": SECP384R1,
    "ES512": SECP521R1,
    "ES256K": SECP256K1,
}
_UNAUTHORIZED = {"error": "unauthorized"}


class JwtRefused(Exception):
    """The token does not prove a trusted client; ``reason`` is for the log and metrics only."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedClient:
    """Who called, once their JWT is verified: put on ``flask.g.pgx_client`` for the request."""

    issuer: str
    tenant: str | None


class JwtVerifier:
    """Checks one bearer token against the trusted issuers, for one endpoint URL (the ``aud``)."""

    def __init__(
        self,
        settings: Settings,
        keys: IssuerKeys,
        memory: AlertMemory,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._algorithms = frozenset(name for name in settings.jwt_algorithms if _asymmetric(name))
        self._leeway = settings.jwt_leeway
        self._max_lifetime = settings.jwt_max_lifetime
        self._keys = keys
        self._memory = memory
        self._clock = clock

    @property
    def issuers(self) -> TrustedIssuers:
        return self._keys.issuers

    def verify(self, token: str, audience: str) -> VerifiedClient:
        """The verified caller; JwtRefused with the reason, AlertMemoryUnavailable if replay is unknowable.

        Order: header, issuer, key, signature, then claims (so every claim judged is authentic),
        and the jti last, so that a token refused for another reason does not use up its jti.
        """
        if len(token) > _MAX_TOKEN_CHARS or not _COMPACT_JWS.fullmatch(token):
            raise JwtRefused("malformed")
        header = _header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms or not _asymmetric(alg):
            raise JwtRefused("algorithm")
        typ = header.get("typ")
        # CDS Hooks fixes typ to JWT; a token typed otherwise (at+jwt, a JWE...) was made for
        # something else. A missing typ is tolerated: it adds nothing that alg, kid and aud lack.
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise JwtRefused("malformed")
        kid = header.get("kid")
        jku = header.get("jku")
        if not isinstance(kid, str) or not kid or (jku is not None and not isinstance(jku, str)):
            raise JwtRefused("malformed")
        iss = _unverified_claims(token).get("iss")
        if not isinstance(iss, str):
            raise JwtRefused("claims")
        issuer = self.issuers.issuers.get(iss)
        if issuer is None:
            raise JwtRefused("issuer")
        try:
            found = self._keys.key(iss, kid, jku)
        except KeyRefused as refused:
            raise JwtRefused(refused.reason) from None
        if (found.alg is not None and found.alg != alg) or not _fits(alg, found.key):
            # The classic confusion: a key used with an algorithm of another family.
            raise JwtRefused("algorithm")
        claims = self._signed_claims(token, found.key, alg)
        self._check_claims(claims, audience)
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise JwtRefused("claims")
        if issuer.tenants is not None and tenant not in issuer.tenants:
            raise JwtRefused("claims")
        self._refuse_replay(iss, claims)
        return VerifiedClient(iss, tenant)

    def _signed_claims(self, token: str, key: PublicKey, alg: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                # Claims are checked below, each with its own reason.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                    "require": [],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.InvalidSignatureError:
            raise JwtRefused("signature") from None
        except (jwt.InvalidKeyError, TypeError):
            raise JwtRefused("key") from None
        except jwt.InvalidAlgorithmError:
            raise JwtRefused("algorithm") from None
        except jwt.InvalidTokenError:
            raise JwtRefused("malformed") from None
        return claims

    def _check_claims(self, claims: Mapping[str, Any], audience: str) -> None:
        exp, iat = _time(claims, "exp"), _time(claims, "iat")
        nbf = _time(claims, "nbf") if "nbf" in claims else -math.inf
        jti, aud = claims.get("jti"), claims.get("aud")
        if not isinstance(jti, str) or not jti:
            raise JwtRefused("claims")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise JwtRefused("claims")
        if audience not in audiences:
            raise JwtRefused("audience")
        now = self._clock()
        if now > exp + self._leeway:
            raise JwtRefused("expired")
        if now + self._leeway < nbf:
            raise JwtRefused("not_yet_valid")
        if now + self._leeway < iat:
            raise JwtRefused("issued_in_future")
        if not 0 < exp - iat <= self._max_lifetime:
            raise JwtRefused("lifetime")

    def _refuse_replay(self, iss: str, claims: Mapping[str, Any]) -> None:
        # A hash: the memory (maybe a shared Redis) never holds an issuer's jti as such.
        key = "jwt-jti:" + hashlib.sha256(f"{iss}\0{claims['jti']}".encode()).hexdigest()
        # Kept until the token could no longer pass the exp check anyway.
        ttl = max(1.0, claims["exp"] + self._leeway - self._clock())
        if not self._memory.remember_once(key, "1", ttl):
            raise JwtRefused("replay")


def install_auth(app: Flask, settings: Settings, *, verifier: JwtVerifier | None = None) -> None:
    """Refuse EHR calls without a valid JWT (``settings.auth == "jwt"``), or warn that none is asked.

    Raises AuthConfigError when JWT is asked for but cannot be checked (no or a bad issuers file,
    an unknown algorithm), so the service does not start open or refusing everyone.
    """
    if settings.auth == "off":
        log.warning(AUTH_OFF_WARNING)
        return
    verifier = verifier or _verifier(settings)

    @app.before_request
    def _authenticate() -> Response | tuple[Response, int, dict[str, str]] | None:
        if not _protected(settings):
            return None
        try:
            g.pgx_client = verifier.verify(_bearer(), _audience(settings))
        except JwtRefused as refused:
            # The reason only: the token and its claims are credentials and may identify people.
            log.warning(
                "request refused: JWT %s",
                refused.reason,
                extra={"reason": refused.reason, "path": request.path},
            )
            record_jwt_rejection(refused.reason)
            return jsonify(_UNAUTHORIZED), 401, {"WWW-Authenticate": "Bearer"}
        except AlertMemoryUnavailable:
            # Our store failed, not the client: 503 so it retries; never accept an unchecked jti.
            log.warning("request refused: JWT replay check unavailable (alert memory down)")
            raise ServiceUnavailable(
                "the service cannot check this token right now; try again shortly"
            ) from None
        return None


def _verifier(settings: Settings) -> JwtVerifier:
    if settings.trusted_issuers is None:
        raise AuthConfigError(
            "PGX_CDS_AUTH is jwt (the default) but PGX_CDS_TRUSTED_ISSUERS is not set: set it to "
            "the file listing the EHRs trusted to call this service (docs/authentication.md; "
            "deploy/trusted-issuers/sandbox.yaml for the public CDS Hooks sandbox), or set "
            "PGX_CDS_AUTH=off to run without authentication on a trusted network."
        )
    unknown = [
        name
        for name in settings.jwt_algorithms
        if name not in jwt.algorithms.get_default_algorithms()
    ]
    if unknown:
        raise AuthConfigError(
            f"PGX_CDS_JWT_ALGORITHMS: {', '.join(unknown)} not known; "
            "list algorithms such as RS384,ES384,RS256,ES256"
        )
    keys = IssuerKeys(load_trusted_issuers(settings.trusted_issuers))
    memory = open_alert_memory(
        settings.alert_memory_url, strict=True, max_entries=settings.alert_memory_max_entries
    )
    log.info(
        "EHR authentication: JWT from %d trusted issuer(s)",
        len(keys.issuers.issuers),
        extra={"trusted_issuers": str(settings.trusted_issuers)},
    )
    return JwtVerifier(settings, keys, memory)


def _protected(settings: Settings) -> bool:
    # A CORS preflight carries no credentials by design; flask-cors answers it.
    if request.method == "OPTIONS" or request.path in PUBLIC_PATHS:
        return False
    # People sign in to the console its own way (cds_hooks/console/access.py), not with a JWT.
    if settings.console and (request.path == "/console" or request.path.startswith("/console/")):
        return False
    return settings.auth_discovery or request.path != DISCOVERY_PATH


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise JwtRefused("missing")
    return token


def _audience(settings: Settings) -> str:
    """The URL the EHR called: the public base URL and the path, else the request's own URL."""
    if settings.public_base_url is not None:
        return settings.public_base_url + request.path
    return request.base_url


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise JwtRefused("malformed") from None


def _unverified_claims(token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise JwtRefused("malformed") from None
    return claims


def _asymmetric(alg: str) -> bool:
    # CDS Hooks: never none, never a symmetric algorithm; settings refuse them too, this is a guard.
    return alg.lower() != "none" and not alg.upper().startswith("HS")


def _fits(alg: str, key: PublicKey) -> bool:
    """Whether ``alg`` is an algorithm of the key's type (and, for ECDSA, of its curve)."""
    if alg.startswith(("RS", "PS")):
        return isinstance(key, RSAPublicKey)
    if alg in _CURVES:
        return isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, _CURVES[alg])
    if alg == "EdDSA":
        return isinstance(key, Ed25519PublicKey | Ed448PublicKey)
    return False


def _time(claims: Mapping[str, Any], name: str) -> float:
    """A NumericDate claim (seconds since the epoch); JwtRefused("claims") if missing or not one."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise JwtRefused("claims")
    return float(value)
