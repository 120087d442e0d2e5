"""Which CDS clients are trusted: the issuers file (PGX_CDS_TRUSTED_ISSUERS) and their public keys."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from knowledge.errors import KnowledgeError, Location
from knowledge.validation import validate_document
from knowledge.yaml_source import YamlDocument, parse_yaml

__all__ = [
    "AuthConfigError",
    "Issuer",
    "IssuerKeys",
    "JwksFetchError",
    "KeyRefused",
    "PublicKey",
    "RemoteJwks",
    "TrustedIssuers",
    "TrustedIssuersError",
    "VerificationKey",
    "load_trusted_issuers",
    "verification_key",
]

log = logging.getLogger(__name__)

Clock = Callable[[], float]
PublicKey = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey

_DOC = "docs/authentication.md"
# RSA keys below this size are refused (NIST SP 800-131A); PyJWT would only warn.
MIN_RSA_BITS = 2048
# JWK members that only a private or symmetric key has: such a key must never be configured or used.
_SECRET_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class AuthConfigError(Exception):
    """EHR authentication cannot start as configured; the text says what to change."""


class TrustedIssuersError(AuthConfigError):
    """The trusted issuers file was refused; carries every problem found, each located."""

    def __init__(self, errors: list[KnowledgeError]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        lines = "\n".join(str(error) for error in self.errors)
        super().__init__(
            f"{count} error{'s' if count != 1 else ''} in the trusted issuers file "
            f"(PGX_CDS_TRUSTED_ISSUERS):\n{lines}"
        )


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public signing key of a CDS client, with the algorithm its JWK declares (if any)."""

    kid: str
    key: PublicKey
    alg: str | None = None


def verification_key(jwk: Mapping[str, Any]) -> VerificationKey:
    """The public key a JWK describes; ValueError ("what; how to fix") when it cannot sign JWTs."""
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError(
            "the key has no kid; give each key a kid, as the client's JWT header names it"
        )
    secret = [name for name in _SECRET_MEMBERS if name in jwk]
    kty = jwk.get("kty")
    if kty == "oct":
        raise ValueError(
            "a symmetric (oct) key; CDS Hooks forbids HMAC, give the client's public RSA or EC key"
        )
    if secret:
        raise ValueError(
            f"the key holds private material ({', '.join(secret)}); give only the public part "
            "of the client's key, and treat this private key as leaked"
        )
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise ValueError(f"the key is for use {use!r}; give a signing key (use: sig)")
    alg = jwk.get("alg")
    if alg is not None and not isinstance(alg, str):
        raise ValueError("alg is not text; write the algorithm name, such as RS384 or ES384")
    readers: dict[str, Callable[[Any], Any]] = {
        "RSA": RSAAlgorithm.from_jwk,
        "EC": ECAlgorithm.from_jwk,
        "OKP": OKPAlgorithm.from_jwk,
    }
    reader = readers.get(kty) if isinstance(kty, str) else None
    if reader is None:
        raise ValueError(f"kty {kty!r} is not a signing key type; use RSA, EC or OKP")
    try:
        key = reader(dict(jwk))
    except (InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        # PyJWT's text may quote the whole JWK; name only the kind of problem.
        raise ValueError(
            f"not a valid {kty} public key ({type(exc).__name__}); "
            "copy the key from the client's JWKS unchanged"
        ) from None
    if not isinstance(
        key, RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey
    ):
        raise ValueError("not a public key; give only the public part of the client's key")
    if isinstance(key, RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValueError(
            f"an RSA key of {key.key_size} bits is too short; "
            f"the client must use at least {MIN_RSA_BITS}-bit keys"
        )
    return VerificationKey(kid, key, alg)


def _url(value: str) -> str:
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or not parts.hostname:
        raise ValueError(
            f"{value!r} is not an https URL; give the https:// address "
            "(plain http only for localhost, in development)"
        )
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ValueError(f"{value!r} has a password or #fragment; give the plain https URL")
    return value


HttpsUrl = Annotated[str, AfterValidator(_url)]


class _Strict(BaseModel):
    # A misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Jwk(BaseModel):
    """One key of an inline JWKS: any JWK members, checked to be a public signing key."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kty: str
    kid: str = Field(min_length=1)

    @model_validator(mode="after")
    def _usable(self) -> Jwk:
        verification_key(self.model_dump())
        return self


class Jwks(_Strict):
    """A JSON Web Key Set written into the file (the client's keys communicated out-of-band)."""

    keys: list[Jwk] = Field(min_length=1)

    @field_validator("keys")
    @classmethod
    def _unique_kids(cls, keys: list[Jwk]) -> list[Jwk]:
        kids = [key.kid for key in keys]
        repeated = sorted({kid for kid in kids if kids.count(kid) > 1})
        if repeated:
            raise ValueError(
                f"kid {', '.join(repeated)} is used by more than one key; "
                "a kid must name one key of the set (CDS Hooks), remove or rename the copy"
            )
        return keys


class Issuer(_Strict):
    """One trusted CDS client: where its keys are, which jku it may name, which tenants it serves."""

    # The client's JWKS, fetched (and refetched as keys rotate) when a JWT has no jku.
    jwks_url: HttpsUrl | None = None
    # The client's keys written here instead, when they are exchanged out-of-band.
    jwks: Jwks | None = None
    # The exact jku header values honoured for this issuer; any other jku is refused unfetched.
    jku: list[HttpsUrl] = Field(default_factory=list)
    # When given, the JWT's tenant claim must be one of these.
    tenants: list[Annotated[str, Field(min_length=1)]] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _has_keys(self) -> Issuer:
        if self.jwks_url is not None and self.jwks is not None:
            raise ValueError(
                "both jwks_url and jwks are given; keep one: the URL the client publishes its "
                "keys at, or the keys themselves"
            )
        if self.jwks_url is None and self.jwks is None and not self.jku:
            raise ValueError(
                "no keys for this issuer; give jwks_url, an inline jwks, or the jku URLs its "
                "tokens name"
            )
        return self

    def allows_jku(self, jku: str) -> bool:
        """Whether a JWT of this issuer may name ``jku``: listed exactly, or its own ``jwks_url``."""
        return jku in self.jku or jku == self.jwks_url


class TrustedIssuers(_Strict):
    """The trusted issuers file: each ``iss`` value trusted, with its keys."""

    issuers: dict[str, Issuer]

    @field_validator("issuers")
    @classmethod
    def _issuer_names(cls, issuers: dict[str, Issuer]) -> dict[str, Issuer]:
        if not issuers:
            raise ValueError(
                "no issuer is listed; add the iss of each EHR trusted to call this service, or "
                "set PGX_CDS_AUTH=off to run without authentication on a trusted network"
            )
        for name in issuers:
            if not name or name != name.strip():
                raise ValueError(
                    f"issuer {name!r} is empty or has spaces around it; write the iss value "
                    "exactly as the client's tokens carry it"
                )
        return issuers


def load_trusted_issuers(path: Path) -> TrustedIssuers:
    """Read and check the issuers file (YAML, or JSON); every problem is reported, located."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise TrustedIssuersError(
            [
                KnowledgeError(
                    Location(name),
                    "",
                    f"cannot be read ({why})",
                    "Check PGX_CDS_TRUSTED_ISSUERS names an existing, readable YAML or JSON file "
                    f"({_DOC}).",
                )
            ]
        ) from None
    document = _parse(text, name, json_file=path.suffix.lower() == ".json")
    if document.data is None:
        document.data = {}  # an empty file: reported as "issuers: missing"
    issuers, errors = validate_document(TrustedIssuers, document)
    if issuers is None:
        raise TrustedIssuersError([_fix_points_here(error) for error in errors])
    return issuers


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse(text: str, name: str, *, json_file: bool) -> YamlDocument:
    if json_file:
        # JSON's own parser judges a .json file; the YAML one then only finds where values stand.
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            where = Location(name, exc.lineno, exc.colno)
            message, fix = f"not valid JSON: {exc.msg}", "Check commas, quotes and brackets here."
            raise TrustedIssuersError([KnowledgeError(where, "", message, fix)]) from None
        except _DuplicateKey as exc:
            message, fix = (
                f"duplicate key {str(exc)!r}",
                "Keep one of the two entries and delete the other.",
            )
            raise TrustedIssuersError([KnowledgeError(Location(name), "", message, fix)]) from None
    document, errors = parse_yaml(text, name)
    if document is not None:
        return document
    if not json_file:
        raise TrustedIssuersError(errors)
    # Valid JSON that YAML cannot read (tab indentation): errors will lack line and column.
    return YamlDocument(name, data)


def _fix_points_here(error: KnowledgeError) -> KnowledgeError:
    # knowledge.validation points at the knowledge format; this file is described elsewhere.
    fix = error.fix.replace("docs/knowledge-format.md", _DOC)
    message = error.message
    if message.startswith("Input should be a valid dictionary"):
        # pydantic names a Python class here; the operator wrote YAML.
        message = "is not a mapping" if error.field else "the file is not a mapping"
        if not error.field:
            fix = "Start the file with 'issuers:' and list each issuer under it."
    return KnowledgeError(error.location, error.field, message, fix)


class JwksFetchError(Exception):
    """A JWKS URL gave no usable keys; the text names the URL and what happened, never a token."""


@dataclass
class _Cached:
    keys: dict[str, VerificationKey] = field(default_factory=dict)
    fetched_at: float = -math.inf
    tried_at: float = -math.inf
    lock: threading.Lock = field(default_factory=threading.Lock)


class RemoteJwks:
    """The keys published at JWKS URLs: fetched once, refreshed, refetched when a new kid appears.

    A JWKS is refreshed when older than ``refresh_after`` seconds; an unknown kid triggers a
    refetch at most once per URL per ``retry_after`` seconds, so tokens with made-up kids cannot
    make us hammer the client's server (or make it hammer us). When a refresh fails, the keys
    already held keep serving for up to ``keep_stale`` seconds: the EHR's key server blinking
    should not stop decision support. Timeouts are short (the EHR is waiting), redirects are
    followed only within the same origin, and bodies over ``max_bytes`` are refused.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: float = 1.0,
        refresh_after: float = 300.0,
        retry_after: float = 30.0,
        keep_stale: float = 86_400.0,
        max_bytes: int = 256 * 1024,
        max_redirects: int = 3,
        clock: Clock = time.monotonic,
    ) -> None:
        self._session = session or requests.Session()
        self._timeout = timeout
        self._refresh_after = refresh_after
        self._retry_after = retry_after
        self._keep_stale = keep_stale
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}

    def key(self, url: str, kid: str) -> VerificationKey | None:
        """The key ``kid`` of the JWKS at ``url``, None if it has none; JwksFetchError if no keys."""
        with self._lock:
            cached = self._cache.setdefault(url, _Cached())
        # One fetch per URL at a time: the others wait for its answer instead of fetching too.
        with cached.lock:
            now = self._clock()
            age = now - cached.fetched_at
            if age < self._refresh_after and kid in cached.keys:
                return cached.keys[kid]
            if now - cached.tried_at >= self._retry_after:
                cached.tried_at = now
                try:
                    cached.keys = self._fetch(url)
                    cached.fetched_at = now
                    age = 0.0
                except JwksFetchError as exc:
                    log.warning("%s", exc)
            if age > self._keep_stale:
                raise JwksFetchError(
                    f"JWKS {url}: no keys fetched in the last {self._keep_stale:g} s"
                )
            return cached.keys.get(kid)

    def _fetch(self, url: str) -> dict[str, VerificationKey]:
        origin = _origin(url)
        current = url
        for _ in range(self._max_redirects + 1):
            try:
                response = self._session.get(
                    current,
                    timeout=self._timeout,
                    allow_redirects=False,
                    stream=True,
                    headers={"Accept": "application/json"},
                )
            except requests.RequestException as exc:
                raise JwksFetchError(f"JWKS {url}: fetch failed ({type(exc).__name__})") from None
            with response:
                if response.is_redirect:
                    current = urljoin(current, response.headers.get("Location", ""))
                    if _origin(current) != origin:
                        # A JWKS server is not a place to be sent elsewhere from: SSRF.
                        raise JwksFetchError(
                            f"JWKS {url}: redirected to another host; not followed"
                        )
                    continue
                if response.status_code != 200:
                    raise JwksFetchError(f"JWKS {url}: answered HTTP {response.status_code}")
                body = self._read(url, response)
            return self._keys(url, body)
        raise JwksFetchError(f"JWKS {url}: more than {self._max_redirects} redirects")

    def _read(self, url: str, response: requests.Response) -> bytes:
        body = b""
        try:
            for chunk in response.iter_content(chunk_size=16_384):
                body += chunk
                if len(body) > self._max_bytes:
                    raise JwksFetchError(f"JWKS {url}: larger than {self._max_bytes} bytes")
        except requests.RequestException as exc:
            raise JwksFetchError(f"JWKS {url}: fetch failed ({type(exc).__name__})") from None
        return body

    def _keys(self, url: str, body: bytes) -> dict[str, VerificationKey]:
        try:
            document = json.loads(body)
        except ValueError:
            raise JwksFetchError(f"JWKS {url}: not JSON") from None
        jwks = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(jwks, list):
            raise JwksFetchError(f"JWKS {url}: not a JWK Set (no keys list)")
        keys: dict[str, VerificationKey] = {}
        skipped = 0
        for jwk in jwks:
            try:
                key = verification_key(jwk if isinstance(jwk, dict) else {})
            except ValueError:
                # A set may hold encryption or unsupported keys next to the signing ones.
                skipped += 1
                continue
            keys.setdefault(key.kid, key)
        if not keys:
            raise JwksFetchError(f"JWKS {url}: no usable signing key among {len(jwks)}")
        if skipped:
            log.info("JWKS %s: %d key(s) skipped (not public signing keys)", url, skipped)
        return keys


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class KeyRefused(Exception):
    """No key may verify this token: a jku not allowed (``jku``) or no key with its kid (``key``)."""

    def __init__(self, reason: Literal["jku", "key"]) -> None:
        super().__init__(reason)
        self.reason: Literal["jku", "key"] = reason


class IssuerKeys:
    """Finds the key a trusted issuer's JWT names: inline, at its jwks_url, or at an allowed jku."""

    def __init__(self, issuers: TrustedIssuers, remote: RemoteJwks | None = None) -> None:
        self.issuers = issuers
        self._remote = remote or RemoteJwks()
        self._inline = {
            name: {key.kid: verification_key(key.model_dump()) for key in issuer.jwks.keys}
            for name, issuer in issuers.issuers.items()
            if issuer.jwks is not None
        }

    def key(self, iss: str, kid: str, jku: str | None) -> VerificationKey:
        """The key for ``kid``; KeyRefused when there is none, never fetching an unlisted jku."""
        issuer = self.issuers.issuers[iss]
        if jku is not None:
            if not issuer.allows_jku(jku):
                raise KeyRefused("jku")
            found = self._fetched(jku, kid)
        elif issuer.jwks is not None:
            found = self._inline[iss].get(kid)
        elif issuer.jwks_url is not None:
            found = self._fetched(issuer.jwks_url, kid)
        else:
            # Only jku URLs are configured, and the token names none: no key out-of-band.
            found = None
        if found is None:
            raise KeyRefused("key")
        return found

    def _fetched(self, url: str, kid: str) -> VerificationKey | None:
        try:
            return self._remote.key(url, kid)
        except JwksFetchError:
            return None
