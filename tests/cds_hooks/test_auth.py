"""The EHR's JWT: every way a token is refused (one case each), the ways it is accepted, and routes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from flask.testing import FlaskClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_hooks import auth
from cds_hooks.alert_memory import AlertMemoryUnavailable, InProcessMemory
from cds_hooks.app import create_app
from cds_hooks.auth import AuthConfigError, JwtVerifier
from cds_hooks.config import Settings
from cds_hooks.trusted_issuers import IssuerKeys, load_trusted_issuers
from knowledge import KnowledgeBase

EHR = "https://ehr.example.org"  # inline JWKS
URL_EHR = "https://url-ehr.example.org"  # jwks_url, plus one allowlisted jku
JKU_EHR = "https://jku-ehr.example.org"  # jku allowlist only (like the public sandbox)
TENANT_EHR = "https://tenant-ehr.example.org"  # inline JWKS, tenants allowlist
DOWN_EHR = "https://down-ehr.example.org"  # jwks_url whose server fails
UNKNOWN_EHR = "https://stranger.example.org"

JWKS_URL = "https://keys.example.org/jwks.json"
ROTATED_JKU = "https://keys.example.org/rotated.json"
JKU = "https://jku.example.org/jwks.json"
DOWN_URL = "https://down.example.org/jwks.json"
EVIL_JKU = "https://attacker.example.net/jwks.json"

BASE = "https://cds.example.org"
HOOK = "/cds-services/pgx-order-select"  # the service of example_request()
FEEDBACK = HOOK + "/feedback"
DISCOVERY = "/cds-services"

# Private keys made for these tests; the issuers file gets only their public halves.
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC384_KEY = ec.generate_private_key(ec.SECP384R1())
EC256_KEY = ec.generate_private_key(ec.SECP256R1())
URL_KEY = ec.generate_private_key(ec.SECP384R1())
JKU_KEY = ec.generate_private_key(ec.SECP384R1())
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SIGNERS: dict[str, Any] = {
    "rsa": RSA_KEY,
    "ec384": EC384_KEY,
    "ec256": EC256_KEY,
    "url": URL_KEY,
    "jku": JKU_KEY,
    "stranger": STRANGER_KEY,
}
KIDS = {"rsa": "rsa-1", "ec384": "ec384-1", "ec256": "ec256-1", "url": "url-1", "jku": "jku-1"}
DROP = object()  # a claim or header value meaning "leave it out"


def public_jwk(name: str) -> dict[str, Any]:
    public = SIGNERS[name].public_key()
    writer = RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm
    return {**writer.to_jwk(public, as_dict=True), "kid": KIDS[name], "use": "sig"}


def jwks(*names: str) -> dict[str, Any]:
    return {"keys": [public_jwk(name) for name in names]}


def issuers_file(tmp_path: Path) -> Path:
    document = {
        "issuers": {
            EHR: {"jwks": jwks("rsa", "ec384", "ec256")},
            URL_EHR: {"jwks_url": JWKS_URL, "jku": [ROTATED_JKU]},
            JKU_EHR: {"jku": [JKU]},
            TENANT_EHR: {"jwks": jwks("rsa"), "tenants": ["tenant-a"]},
            DOWN_EHR: {"jwks_url": DOWN_URL},
        }
    }
    path = tmp_path / "trusted-issuers.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class FromNow:
    """A time claim relative to when the token is made, not to when this module was imported
    (a whole run may pass between the two, far more than the leeway)."""

    seconds: int


def claims_for(path: str = HOOK, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": EHR,
        "aud": BASE + path,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return {
        k: now + v.seconds if isinstance(v, FromNow) else v
        for k, v in claims.items()
        if v is not DROP
    }


def sign(claims: dict[str, Any], *, alg: str = "RS384", signer: str = "rsa", **header: Any) -> str:
    headers: dict[str, Any] = {"kid": KIDS.get(signer, "stranger-1"), "typ": "JWT", **header}
    headers = {k: v for k, v in headers.items() if v is not DROP}
    if "typ" not in headers:
        headers["typ"] = None  # PyJWT leaves typ out when it is None
    return jwt.encode(claims, SIGNERS[signer], algorithm=alg, headers=headers)


def unsigned(claims: dict[str, Any], header: dict[str, Any], secret: bytes | None) -> str:
    """A token PyJWT refuses to make: alg none, or HMAC keyed with ``secret``."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"


RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@dataclass(frozen=True)
class Case:
    """One request and the reason it must be refused for."""

    reason: str
    claims: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    alg: str = "RS384"
    signer: str = "rsa"
    path: str = HOOK
    # The whole Authorization header instead of a signed token; DROP leaves it out.
    authorization: Any = None
    # Build the token by hand: "none" or "hmac-pem" (keyed with the RSA public key) or "hmac".
    forge: str | None = None
    # Change one character of the signed payload after signing.
    tamper: bool = False
    # Send the same token twice; the second answer is judged.
    twice: bool = False

    def token(self) -> str:
        claims = claims_for(self.path, **self.claims)
        if self.forge is not None:
            header = {"alg": "none" if self.forge == "none" else "HS256", "typ": "JWT"}
            header["kid"] = KIDS["rsa"]
            secret = {"none": None, "hmac-pem": RSA_PUBLIC_PEM, "hmac": b"shared-secret"}
            return unsigned(claims, header, secret[self.forge])
        token = sign(claims, alg=self.alg, signer=self.signer, **self.header)
        if self.tamper:
            head, payload, signature = token.split(".")
            forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
            forged["aud"] = [forged["aud"], "https://elsewhere.example.org"]
            token = f"{head}.{b64(json.dumps(forged).encode())}.{signature}"
        return token


NOW = int(time.time())
REFUSED = [
    # Authorization header
    pytest.param(Case("missing", authorization=DROP), id="missing::no Authorization header"),
    pytest.param(Case("missing", authorization="Basic dXNlcjpwYXNz"), id="missing::Basic scheme"),
    pytest.param(Case("missing", authorization="Bearer "), id="missing::Bearer without token"),
    pytest.param(Case("malformed", authorization="Bearer not-a-jwt"), id="malformed::not a JWT"),
    pytest.param(
        Case("malformed", authorization="Bearer a.b.c"), id="malformed::three parts, not JSON"
    ),
    pytest.param(
        Case("malformed", authorization="Bearer " + "a" * 20_000 + ".b.c"), id="malformed::huge"
    ),
    # Header
    pytest.param(Case("malformed", header={"kid": DROP}), id="malformed::no kid"),
    pytest.param(Case("malformed", header={"typ": "at+jwt"}), id="malformed::typ not JWT"),
    pytest.param(Case("malformed", header={"jku": 7}), id="malformed::jku not text"),
    pytest.param(
        Case("malformed", header={"crit": ["exp"], "exp": 1}), id="malformed::unknown crit"
    ),
    # Algorithm
    pytest.param(Case("algorithm", forge="none"), id="algorithm::alg none"),
    pytest.param(Case("algorithm", forge="hmac"), id="algorithm::HS256 shared secret"),
    pytest.param(
        Case("algorithm", forge="hmac-pem"),
        id="algorithm::HS256 keyed with the RSA public PEM (key confusion)",
    ),
    pytest.param(Case("algorithm", alg="PS256"), id="algorithm::PS256 not in jwt_algorithms"),
    pytest.param(
        Case("algorithm", alg="RS384", header={"kid": KIDS["ec384"]}),
        id="algorithm::RS384 naming an EC key",
    ),
    pytest.param(
        Case("algorithm", alg="ES256", signer="ec256", header={"kid": KIDS["ec384"]}),
        id="algorithm::ES256 naming a P-384 key",
    ),
    pytest.param(
        Case("algorithm", alg="ES384", signer="ec384", header={"kid": KIDS["ec256"]}),
        id="algorithm::ES384 naming a P-256 key",
    ),
    # Issuer and keys
    pytest.param(Case("issuer", claims={"iss": UNKNOWN_EHR}), id="issuer::not trusted"),
    pytest.param(Case("claims", claims={"iss": DROP}), id="claims::no iss"),
    pytest.param(
        Case("jku", claims={"iss": JKU_EHR}, alg="ES384", signer="jku", header={"jku": EVIL_JKU}),
        id="jku::not allowlisted (never fetched)",
    ),
    pytest.param(Case("jku", header={"jku": JKU}), id="jku::allowlisted for another issuer only"),
    pytest.param(Case("key", header={"kid": "rotated-away"}), id="key::unknown kid inline"),
    pytest.param(
        Case("key", claims={"iss": URL_EHR}, header={"kid": "rotated-away"}),
        id="key::unknown kid at jwks_url",
    ),
    pytest.param(Case("key", claims={"iss": DOWN_EHR}), id="key::JWKS server fails (HTTP 500)"),
    pytest.param(
        Case("key", claims={"iss": JKU_EHR}, alg="ES384", signer="jku"),
        id="key::jku-only issuer, token names no jku",
    ),
    # Signature
    pytest.param(
        Case("signature", signer="stranger", header={"kid": KIDS["rsa"]}),
        id="signature::another key under a known kid",
    ),
    pytest.param(Case("signature", tamper=True), id="signature::payload changed after signing"),
    # Audience
    pytest.param(
        Case("audience", claims={"aud": BASE + "/cds-services/pgx-order-sign"}),
        id="audience::another service",
    ),
    pytest.param(Case("audience", claims={"aud": BASE + DISCOVERY}), id="audience::discovery"),
    pytest.param(
        Case("audience", claims={"aud": BASE + HOOK}, path=FEEDBACK),
        id="audience::hook aud at feedback",
    ),
    pytest.param(
        Case("audience", claims={"aud": ["https://other.example.org" + HOOK]}),
        id="audience::list without ours",
    ),
    pytest.param(
        Case("audience", claims={"aud": "http://cds.example.org" + HOOK}),
        id="audience::http instead of https",
    ),
    pytest.param(Case("claims", claims={"aud": DROP}), id="claims::no aud"),
    pytest.param(Case("claims", claims={"aud": [1]}), id="claims::aud not text"),
    # Times
    pytest.param(
        Case("expired", claims={"iat": FromNow(-400), "exp": FromNow(-60)}),
        id="expired::beyond leeway",
    ),
    pytest.param(
        Case("not_yet_valid", claims={"nbf": FromNow(120)}), id="not_yet_valid::nbf beyond leeway"
    ),
    pytest.param(
        Case("issued_in_future", claims={"iat": FromNow(120), "exp": FromNow(400)}),
        id="issued_in_future::iat beyond leeway",
    ),
    pytest.param(
        Case("lifetime", claims={"iat": FromNow(0), "exp": FromNow(7200)}), id="lifetime::two hours"
    ),
    pytest.param(
        Case("lifetime", claims={"iat": FromNow(0), "exp": FromNow(0)}),
        id="lifetime::exp equals iat",
    ),
    pytest.param(Case("claims", claims={"exp": DROP}), id="claims::no exp"),
    pytest.param(Case("claims", claims={"iat": DROP}), id="claims::no iat"),
    pytest.param(Case("claims", claims={"exp": "tomorrow"}), id="claims::exp not a number"),
    pytest.param(Case("claims", claims={"nbf": True}), id="claims::nbf not a number"),
    # jti
    pytest.param(Case("claims", claims={"jti": DROP}), id="claims::no jti"),
    pytest.param(Case("claims", claims={"jti": ""}), id="claims::empty jti"),
    pytest.param(Case("replay", twice=True), id="replay::same token twice"),
    # Tenant
    pytest.param(
        Case("claims", claims={"iss": TENANT_EHR, "tenant": "tenant-b"}),
        id="claims::tenant not allowlisted",
    ),
    pytest.param(
        Case("claims", claims={"iss": TENANT_EHR}), id="claims::no tenant, tenants allowlisted"
    ),
]


@pytest.fixture
def fake_http() -> Iterator[responses.RequestsMock]:
    """The clients' key servers; any other URL fails, as no test may reach the network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(JWKS_URL, json=jwks("url"))
        rsps.get(ROTATED_JKU, json=jwks("url"))
        rsps.get(JKU, json=jwks("jku"))
        rsps.get(DOWN_URL, status=500)
        yield rsps


@pytest.fixture
def jwt_settings(tmp_path: Path) -> Settings:
    return Settings(
        auth="jwt",
        trusted_issuers=issuers_file(tmp_path),
        public_base_url=BASE,
        jwt_algorithms=["RS384", "ES384", "RS256", "ES256"],
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3",
    )


@pytest.fixture
def jwt_app(
    jwt_settings: Settings, kb: KnowledgeBase, fake_http: responses.RequestsMock
) -> Iterator[Flask]:
    app = create_app(jwt_settings, kb)
    yield app
    app.extensions["pgx_cds"].feedback.close()


@pytest.fixture
def jwt_client(jwt_app: Flask) -> FlaskClient:
    return jwt_app.test_client()


@pytest.fixture
def rejections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    recorded: list[str] = []
    monkeypatch.setattr(auth, "record_jwt_rejection", recorded.append)
    return recorded


def example_request() -> dict[str, Any]:
    text = resources.files("cds_hooks").joinpath("examples/02-normal-metabolizer-clopidogrel.json")
    request: dict[str, Any] = json.loads(text.read_text())["request"]
    return request


def call(client: FlaskClient, path: str, authorization: Any, query: str = "") -> Any:
    headers = {} if authorization is DROP else {"Authorization": authorization}
    if path.endswith("/feedback"):
        return client.post(path, json={"feedback": []}, headers=headers, query_string=query)
    if path == DISCOVERY:
        return client.get(path, headers=headers)
    return client.post(path, json=example_request(), headers=headers)


@pytest.mark.parametrize("case", REFUSED)
def test_refused(
    case: Case,
    jwt_client: FlaskClient,
    rejections: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "" if case.authorization is not None else case.token()
    authorization = case.authorization if case.authorization is not None else f"Bearer {token}"
    if case.twice:
        assert call(jwt_client, case.path, authorization).status_code == 200
        rejections.clear()
    response = call(jwt_client, case.path, authorization)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert rejections == [case.reason]
    refusals = [r for r in caplog.records if r.getMessage().startswith("request refused")]
    assert [r.getMessage() for r in refusals] == [f"request refused: JWT {case.reason}"]
    logged = json.dumps([vars(r) for r in caplog.records], default=str)
    for part in token.split(".") if token else []:
        assert not part or part not in logged


@dataclass(frozen=True)
class Accepted:
    claims: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    alg: str = "RS384"
    signer: str = "rsa"
    path: str = HOOK


ACCEPTED = [
    pytest.param(Accepted(), id="RS384 inline JWKS"),
    pytest.param(Accepted(alg="ES384", signer="ec384"), id="ES384 inline JWKS"),
    pytest.param(Accepted(alg="RS256"), id="RS256"),
    pytest.param(Accepted(alg="ES256", signer="ec256"), id="ES256"),
    pytest.param(
        Accepted(claims={"aud": ["https://other.example.org", BASE + HOOK]}), id="aud list"
    ),
    pytest.param(
        Accepted(
            claims={"sub": "cds-client", "nbf": FromNow(-5), "tenant": "any", "fhirUser": "x"},
            header={"x-vendor": "epic"},
        ),
        id="extra claims (sub, nbf, tenant) and header fields",
    ),
    pytest.param(Accepted(header={"typ": DROP}), id="typ absent"),
    pytest.param(Accepted(header={"typ": "jwt"}), id="typ in lower case"),
    pytest.param(
        Accepted(claims={"iat": FromNow(-320), "exp": FromNow(-10)}), id="expired within leeway"
    ),
    pytest.param(
        Accepted(claims={"iat": FromNow(10), "exp": FromNow(300)}), id="iat within leeway"
    ),
    pytest.param(
        Accepted(claims={"iss": URL_EHR}, alg="ES384", signer="url"), id="jwks_url fetched"
    ),
    pytest.param(
        Accepted(claims={"iss": JKU_EHR}, alg="ES384", signer="jku", header={"jku": JKU}),
        id="jku allowlisted",
    ),
    pytest.param(
        Accepted(claims={"iss": URL_EHR}, alg="ES384", signer="url", header={"jku": JWKS_URL}),
        id="jku equal to the issuer's jwks_url",
    ),
    pytest.param(
        Accepted(claims={"iss": TENANT_EHR, "tenant": "tenant-a"}), id="tenant allowlisted"
    ),
    pytest.param(Accepted(path=FEEDBACK), id="feedback endpoint"),
]


@pytest.mark.parametrize("case", ACCEPTED)
def test_accepted(case: Accepted, jwt_client: FlaskClient, rejections: list[str]) -> None:
    token = sign(
        claims_for(case.path, **case.claims), alg=case.alg, signer=case.signer, **case.header
    )
    response = call(jwt_client, case.path, f"Bearer {token}")
    assert response.status_code == 200, response.get_json()
    assert rejections == []


def test_the_aud_is_the_request_url_without_a_public_base_url(
    tmp_path: Path, kb: KnowledgeBase, fake_http: responses.RequestsMock
) -> None:
    settings = Settings(
        auth="jwt",
        trusted_issuers=issuers_file(tmp_path),
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3",
    )
    client = create_app(settings, kb).test_client()
    url = "http://localhost" + FEEDBACK
    token = sign(claims_for(FEEDBACK, aud=url))
    assert call(client, FEEDBACK, f"Bearer {token}", query="x=1").status_code == 200
    other = sign(claims_for(FEEDBACK))  # aud under https://cds.example.org
    assert call(client, FEEDBACK, f"Bearer {other}").status_code == 401


def test_a_token_shaped_like_the_public_sandbox_passes_with_the_shipped_file(
    tmp_path: Path, kb: KnowledgeBase, fake_http: responses.RequestsMock
) -> None:
    sandbox_jku = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
    key = {**public_jwk("ec256"), "kid": "d9cd3c4f-eb08-4304-b973-44f352fd2ca2", "alg": "ES256"}
    fake_http.get(sandbox_jku, json={"keys": [key]})
    settings = Settings(
        auth="jwt",
        trusted_issuers=Path(__file__).resolve().parents[2] / "deploy/trusted-issuers/sandbox.yaml",
        public_base_url=BASE,
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3",
    )
    client = create_app(settings, kb).test_client()
    # As src/retrieve-data-helpers/jwt-generator.js makes it: a sub, exp = iat + 300, and a jku.
    claims = claims_for(iss="https://sandbox.cds-hooks.org", sub="48163c5e-88b5-4cb3-92d3")
    token = sign(claims, alg="ES256", signer="ec256", kid=key["kid"], jku=sandbox_jku)
    assert call(client, HOOK, f"Bearer {token}").status_code == 200


def test_a_jku_not_allowlisted_is_never_fetched(
    jwt_client: FlaskClient, fake_http: responses.RequestsMock
) -> None:
    fake_http.get(EVIL_JKU, json=jwks("jku"))
    token = sign(claims_for(iss=JKU_EHR), alg="ES384", signer="jku", jku=EVIL_JKU)
    assert call(jwt_client, HOOK, f"Bearer {token}").status_code == 401
    assert [c.request.url for c in fake_http.calls] == []


def test_a_failing_jwks_server_is_logged_without_the_token(
    jwt_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = sign(claims_for(iss=DOWN_EHR))
    assert call(jwt_client, HOOK, f"Bearer {token}").status_code == 401
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"JWKS {DOWN_URL}: answered HTTP 500",
        "request refused: JWT key",
    ]


class DownMemory(InProcessMemory):
    def remember_once(self, key: str, value: str, ttl: float) -> bool:
        raise AlertMemoryUnavailable("Redis at test:6379/0 failed")


def test_replay_check_unavailable_is_503_never_acceptance(
    jwt_settings: Settings,
    kb: KnowledgeBase,
    rejections: list[str],
    fake_http: responses.RequestsMock,
) -> None:
    assert jwt_settings.trusted_issuers is not None
    keys = IssuerKeys(load_trusted_issuers(jwt_settings.trusted_issuers))
    verifier = JwtVerifier(jwt_settings, keys, DownMemory())
    app = create_app(jwt_settings.model_copy(update={"auth": "off"}), kb)
    auth.install_auth(app, jwt_settings, verifier=verifier)
    response = call(app.test_client(), HOOK, f"Bearer {sign(claims_for())}")
    assert response.status_code == 503
    assert "WWW-Authenticate" not in response.headers
    assert rejections == []


def test_the_replay_memory_keeps_a_hash_until_exp_and_leeway(jwt_settings: Settings) -> None:
    assert jwt_settings.trusted_issuers is not None
    keys = IssuerKeys(load_trusted_issuers(jwt_settings.trusted_issuers))
    seen: list[tuple[str, float]] = []

    class Recording(InProcessMemory):
        def remember_once(self, key: str, value: str, ttl: float) -> bool:
            seen.append((key, ttl))
            return True

    verifier = JwtVerifier(jwt_settings, keys, Recording(), clock=lambda: NOW)
    claims = claims_for(iat=NOW, exp=NOW + 300, jti="the-jti")
    verifier.verify(sign(claims), BASE + HOOK)
    ((key, ttl),) = seen
    assert "the-jti" not in key
    assert key == "jwt-jti:" + hashlib.sha256(f"{EHR}\0the-jti".encode()).hexdigest()
    assert ttl == 300 + jwt_settings.jwt_leeway


@pytest.mark.parametrize(
    ("method", "path", "auth_discovery", "protected"),
    [
        pytest.param("GET", "/healthz", True, False, id="healthz"),
        pytest.param("GET", "/readyz", True, False, id="readyz"),
        pytest.param("GET", "/metrics", True, False, id="metrics"),
        pytest.param("GET", "/openapi.json", True, False, id="openapi"),
        pytest.param("OPTIONS", HOOK, True, False, id="CORS preflight"),
        pytest.param("GET", DISCOVERY, False, False, id="discovery, auth_discovery off"),
        pytest.param("GET", DISCOVERY, True, True, id="discovery, auth_discovery on"),
        pytest.param("POST", HOOK, False, True, id="hook"),
        pytest.param("POST", FEEDBACK, False, True, id="feedback"),
        pytest.param("POST", "/cds-services/no-such-service", False, True, id="unknown service"),
    ],
)
def test_which_routes_need_a_token(
    jwt_settings: Settings,
    kb: KnowledgeBase,
    fake_http: responses.RequestsMock,
    method: str,
    path: str,
    auth_discovery: bool,
    protected: bool,
) -> None:
    settings = jwt_settings.model_copy(
        update={"auth_discovery": auth_discovery, "cors_origins": ["https://sandbox.cds-hooks.org"]}
    )
    client = create_app(settings, kb).test_client()
    headers = {
        "Origin": "https://sandbox.cds-hooks.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    response = client.open(path, method=method, headers=headers)
    assert (response.status_code == 401) is protected


def test_discovery_accepts_a_token_for_its_own_url(
    jwt_settings: Settings, kb: KnowledgeBase, fake_http: responses.RequestsMock
) -> None:
    client = create_app(jwt_settings.model_copy(update={"auth_discovery": True}), kb).test_client()
    token = sign(claims_for(DISCOVERY))
    response = client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_a_refusal_carries_cors_headers_for_the_browser_sandbox(
    jwt_settings: Settings, kb: KnowledgeBase, fake_http: responses.RequestsMock
) -> None:
    settings = jwt_settings.model_copy(update={"cors_origins": ["https://sandbox.cds-hooks.org"]})
    client = create_app(settings, kb).test_client()
    response = client.post(HOOK, json={}, headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://sandbox.cds-hooks.org"


def test_jwt_without_trusted_issuers_refuses_to_start(tmp_path: Path, kb: KnowledgeBase) -> None:
    settings = Settings(auth="jwt", database_url=f"sqlite:///{tmp_path}/fb.sqlite3")
    with pytest.raises(
        AuthConfigError, match=r"PGX_CDS_TRUSTED_ISSUERS is not set.*PGX_CDS_AUTH=off"
    ):
        create_app(settings, kb)


def test_an_unknown_algorithm_name_refuses_to_start(
    jwt_settings: Settings, kb: KnowledgeBase
) -> None:
    settings = jwt_settings.model_copy(update={"jwt_algorithms": ["RS384", "RS385"]})
    with pytest.raises(AuthConfigError, match=r"PGX_CDS_JWT_ALGORITHMS: RS385 not known"):
        create_app(settings, kb)


def test_a_bad_issuers_file_refuses_to_start(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "issuers.yaml"
    path.write_text(
        "issuers:\n  https://ehr.example.org:\n    jwks_url: http://ehr.example.org/k\n"
    )
    settings = Settings(
        auth="jwt", trusted_issuers=path, database_url=f"sqlite:///{tmp_path}/fb.sqlite3"
    )
    with pytest.raises(AuthConfigError, match=rf"{path}:3:15: .*jwks_url"):
        create_app(settings, kb)


def test_auth_off_warns_once_per_app(
    settings: Settings, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.auth == "off"
    create_app(settings, kb)
    warnings = [r for r in caplog.records if r.name == "cds_hooks.auth"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "EHR authentication is off" in warnings[0].getMessage()
