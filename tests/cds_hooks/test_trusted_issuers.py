"""The trusted issuers file (every error located, with a fix) and the JWKS fetched by URL."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_hooks.trusted_issuers import (
    IssuerKeys,
    JwksFetchError,
    KeyRefused,
    RemoteJwks,
    TrustedIssuersError,
    load_trusted_issuers,
    verification_key,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "trusted-issuers"

EC_PUBLIC = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True)
EC_PRIVATE = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()), as_dict=True)
RSA_1024 = RSAAlgorithm.to_jwk(
    rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(), as_dict=True
)
RSA_2048 = RSAAlgorithm.to_jwk(
    rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), as_dict=True
)


def jwk(base: dict[str, Any], **members: Any) -> str:
    """One key as a flow mapping on one line (JSON is YAML)."""
    return json.dumps({**base, **members})


def one_key(line: str) -> str:
    return f"issuers:\n  https://a.org:\n    jwks:\n      keys:\n        - {line}\n"


A = "issuers:\n  https://a.org:\n"
FIX_URL = "Give the https:// address (plain http only for localhost, in development)."
ERRORS = [
    pytest.param(
        "issuers:\n  a: [\n",
        ":3:1: not valid YAML: expected the node content, but found '<stream end>'. "
        "Check indentation, colons and quotes around this point.",
        id="YAML syntax",
    ),
    pytest.param(
        A + "    jku: [https://a.org/k]\n" + A[9:] + "    jku: [https://a.org/k]\n",
        ":4:3: issuers.https://a.org: duplicate key 'https://a.org'. "
        "Keep one of the two entries and delete the other.",
        id="issuer listed twice",
    ),
    pytest.param("", ": issuers: missing. Add this field.", id="empty file"),
    pytest.param(
        "- https://a.org\n",
        ":1:1: the file is not a mapping. Start the file with 'issuers:' and list each issuer "
        "under it.",
        id="a list, not a mapping",
    ),
    pytest.param(
        "issuers: {}\n",
        ":1:10: issuers: no issuer is listed. Add the iss of each EHR trusted to call this "
        "service, or set PGX_CDS_AUTH=off to run without authentication on a trusted network.",
        id="no issuer",
    ),
    pytest.param(
        "issuers:\n  ' https://a.org':\n    jku: [https://a.org/k]\n",
        ":2:3: issuers: issuer ' https://a.org' is empty or has spaces around it. Write the iss "
        "value exactly as the client's tokens carry it.",
        id="issuer with a space",
    ),
    pytest.param(
        A + "    jwks_uri: https://a.org/k\n",
        ":3:5: issuers.https://a.org.jwks_uri: is not a known field. Remove it, or check its "
        "spelling against docs/authentication.md.",
        id="misspelt jwks_url",
    ),
    pytest.param(
        A + "    tenants: [x]\n",
        ":3:5: issuers.https://a.org: no keys for this issuer. Give jwks_url, an inline jwks, "
        "or the jku URLs its tokens name.",
        id="no keys",
    ),
    pytest.param(
        A + f"    jwks_url: https://a.org/k\n    jwks: {{keys: [{jwk(EC_PUBLIC, kid='a')}]}}\n",
        ":3:5: issuers.https://a.org: both jwks_url and jwks are given. Keep one: the URL the "
        "client publishes its keys at, or the keys themselves.",
        id="jwks_url and jwks",
    ),
    pytest.param(
        A + "    jwks_url: http://a.org/k\n",
        f":3:15: issuers.https://a.org.jwks_url: 'http://a.org/k' is not an https URL. {FIX_URL}",
        id="jwks_url over http",
    ),
    pytest.param(
        A + "    jku: [ftp://a.org/k]\n",
        f":3:11: issuers.https://a.org.jku[0]: 'ftp://a.org/k' is not an https URL. {FIX_URL}",
        id="jku not https",
    ),
    pytest.param(
        A + "    jku: [https://u:p@a.org/k]\n",
        ":3:11: issuers.https://a.org.jku[0]: 'https://u:p@a.org/k' has a password or "
        "#fragment. Give the plain https URL.",
        id="jku with a password",
    ),
    pytest.param(
        A + "    jku: [https://a.org/k]\n    tenants: []\n",
        ":4:14: issuers.https://a.org.tenants: List should have at least 1 item after "
        "validation, not 0. Add at least one entry.",
        id="empty tenants",
    ),
    pytest.param(
        A + "    jwks: {keys: []}\n",
        ":3:18: issuers.https://a.org.jwks.keys: List should have at least 1 item after "
        "validation, not 0. Add at least one entry.",
        id="empty key set",
    ),
    pytest.param(
        one_key("{kty: oct, kid: s, k: c2VjcmV0}"),
        ":5:11: issuers.https://a.org.jwks.keys[0]: a symmetric (oct) key. CDS Hooks forbids "
        "HMAC, give the client's public RSA or EC key.",
        id="symmetric key",
    ),
    pytest.param(
        one_key(jwk(EC_PRIVATE, kid="p")),
        ":5:11: issuers.https://a.org.jwks.keys[0]: the key holds private material (d). Give "
        "only the public part of the client's key, and treat this private key as leaked.",
        id="private key",
    ),
    pytest.param(
        one_key(jwk(EC_PUBLIC)),
        ":5:11: issuers.https://a.org.jwks.keys[0].kid: missing. Add this field.",
        id="no kid",
    ),
    pytest.param(
        one_key(jwk(EC_PUBLIC, kid="e", use="enc")),
        ":5:11: issuers.https://a.org.jwks.keys[0]: the key is for use 'enc'. Give a signing "
        "key (use: sig).",
        id="encryption key",
    ),
    pytest.param(
        one_key(jwk(RSA_1024, kid="s")),
        ":5:11: issuers.https://a.org.jwks.keys[0]: an RSA key of 1024 bits is too short. The "
        "client must use at least 2048-bit keys.",
        id="short RSA key",
    ),
    pytest.param(
        one_key("{kty: EC, crv: P-384, kid: b, x: AAAA, y: AAAA}"),
        ":5:11: issuers.https://a.org.jwks.keys[0]: not a valid EC public key "
        "(InvalidKeyError). Copy the key from the client's JWKS unchanged.",
        id="broken EC key",
    ),
    pytest.param(
        one_key("{kty: XYZ, kid: b}"),
        ":5:11: issuers.https://a.org.jwks.keys[0]: kty 'XYZ' is not a signing key type. Use "
        "RSA, EC or OKP.",
        id="unknown kty",
    ),
    pytest.param(
        A + f"    jwks:\n      keys:\n        - {jwk(EC_PUBLIC, kid='a')}\n"
        f"        - {jwk(RSA_2048, kid='a')}\n",
        ":5:9: issuers.https://a.org.jwks.keys: kid a is used by more than one key. A kid must "
        "name one key of the set (CDS Hooks), remove or rename the copy.",
        id="kid used twice",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_are_located_with_a_fix(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "issuers.yaml"
    path.write_text(text)
    with pytest.raises(TrustedIssuersError) as refused:
        load_trusted_issuers(path)
    assert [str(e) for e in refused.value.errors] == [str(path) + expected]
    assert str(refused.value).startswith("1 error in the trusted issuers file")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '{\n\t"issuers": {\n\t\t"a": \n\t}\n}\n',
            ":4:2: not valid JSON: Expecting value. Check commas, quotes and brackets here.",
            id="JSON syntax",
        ),
        pytest.param(
            '{"issuers": {}, "issuers": {}}',
            ": duplicate key 'issuers'. Keep one of the two entries and delete the other.",
            id="JSON duplicate key",
        ),
        pytest.param(
            '{\n  "issuers": {\n    "https://a.org": {"jwks_url": "http://a.org/k"}\n  }\n}\n',
            f":3:35: issuers.https://a.org.jwks_url: 'http://a.org/k' is not an https URL. "
            f"{FIX_URL}",
            id="JSON located like YAML",
        ),
    ],
)
def test_json_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(text)
    with pytest.raises(TrustedIssuersError) as refused:
        load_trusted_issuers(path)
    assert [str(e) for e in refused.value.errors] == [str(path) + expected]


def test_a_missing_file_says_which_setting_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(TrustedIssuersError) as refused:
        load_trusted_issuers(path)
    assert [str(e) for e in refused.value.errors] == [
        f"{path}: cannot be read (No such file or directory). Check PGX_CDS_TRUSTED_ISSUERS "
        "names an existing, readable YAML or JSON file (docs/authentication.md)."
    ]


def test_json_indented_with_tabs_is_read(tmp_path: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(
        '{\n\t"issuers": {\n\t\t"https://a.org": {"jku": ["https://a.org/k"]}\n\t}\n}\n'
    )
    assert load_trusted_issuers(path).issuers["https://a.org"].jku == ["https://a.org/k"]


def test_http_is_allowed_on_loopback_for_development(tmp_path: Path) -> None:
    path = tmp_path / "issuers.yaml"
    path.write_text(A + "    jwks_url: http://localhost:8000/jwks.json\n")
    assert load_trusted_issuers(path).issuers["https://a.org"].jwks_url is not None


def test_the_sandbox_file_trusts_only_the_sandbox_jku() -> None:
    issuers = load_trusted_issuers(DEPLOY / "sandbox.yaml").issuers
    assert list(issuers) == ["https://sandbox.cds-hooks.org"]
    sandbox = issuers["https://sandbox.cds-hooks.org"]
    assert sandbox.jku == ["https://sandbox.cds-hooks.org/.well-known/jwks.json"]
    assert (sandbox.jwks_url, sandbox.jwks) == (None, None)


def test_the_example_file_shows_both_forms() -> None:
    issuers = load_trusted_issuers(DEPLOY / "example.yaml").issuers
    assert [(i.jwks_url is not None, i.jwks is not None) for i in issuers.values()] == [
        (True, False),
        (False, True),
    ]


# --- JWKS by URL -----------------------------------------------------------------------------

URL = "https://keys.example.org/jwks.json"


def key_set(*kids: str) -> dict[str, Any]:
    return {"keys": [{**EC_PUBLIC, "kid": kid} for kid in kids]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake_http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def remote(clock: Clock) -> RemoteJwks:
    return RemoteJwks(refresh_after=300, retry_after=30, keep_stale=3600, clock=clock)


def test_a_key_set_is_fetched_once_with_a_short_timeout(
    remote: RemoteJwks, fake_http: responses.RequestsMock
) -> None:
    fake_http.get(URL, json=key_set("k1", "k2"))
    assert remote.key(URL, "k1") is not None
    assert remote.key(URL, "k2") is not None
    (call,) = fake_http.calls
    assert call.request.req_kwargs["timeout"] == 1.0  # type: ignore[attr-defined]


def test_an_unknown_kid_refetches_at_most_once_per_interval(
    remote: RemoteJwks, fake_http: responses.RequestsMock, clock: Clock
) -> None:
    fake_http.get(URL, json=key_set("old"))
    assert remote.key(URL, "old") is not None
    fake_http.replace(responses.GET, URL, json=key_set("old", "new"))
    clock.now += 1
    assert remote.key(URL, "made-up") is None  # within 30 s of the first fetch: not refetched
    assert len(fake_http.calls) == 1
    clock.now += 30
    assert remote.key(URL, "new") is not None  # rotation: the new kid is found
    assert remote.key(URL, "made-up") is None
    assert len(fake_http.calls) == 2


def test_keys_are_refreshed_and_kept_while_the_server_fails(
    remote: RemoteJwks,
    fake_http: responses.RequestsMock,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_http.get(URL, json=key_set("k1"))
    assert remote.key(URL, "k1") is not None
    fake_http.replace(responses.GET, URL, status=503)
    clock.now += 301
    assert remote.key(URL, "k1") is not None  # stale but kept: the EHR's key server blinked
    assert [r.getMessage() for r in caplog.records] == [f"JWKS {URL}: answered HTTP 503"]
    clock.now += 3600
    with pytest.raises(JwksFetchError, match="no keys fetched in the last 3600 s"):
        remote.key(URL, "k1")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param({"status": 404}, "answered HTTP 404", id="404"),
        pytest.param(
            {"body": requests.ConnectTimeout()}, r"fetch failed \(ConnectTimeout\)", id="timeout"
        ),
        pytest.param({"body": "<html>"}, "not JSON", id="HTML"),
        pytest.param({"json": {"kid": "x"}}, r"not a JWK Set \(no keys list\)", id="not a set"),
        pytest.param(
            {"json": {"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}},
            "no usable signing key among 1",
            id="only a symmetric key",
        ),
        pytest.param({"body": "x" * 300_000}, "larger than 262144 bytes", id="too large"),
        pytest.param(
            {"status": 302, "headers": {"Location": "https://evil.example.net/jwks.json"}},
            "redirected to another host; not followed",
            id="redirect elsewhere",
        ),
        pytest.param(
            {"status": 302, "headers": {"Location": "http://keys.example.org/jwks.json"}},
            "redirected to another host; not followed",
            id="redirect to http",
        ),
    ],
)
def test_a_failed_fetch_gives_no_keys_and_says_why(
    remote: RemoteJwks,
    fake_http: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    answer: dict[str, Any],
    expected: str,
) -> None:
    fake_http.get(URL, **answer)
    with pytest.raises(JwksFetchError):
        remote.key(URL, "k1")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"JWKS {URL}: ")
    assert re.search(expected, record.getMessage())
    assert len(fake_http.calls) == 1  # a redirect elsewhere is never followed


def test_a_redirect_within_the_same_host_is_followed(
    remote: RemoteJwks, fake_http: responses.RequestsMock
) -> None:
    fake_http.get(URL, status=301, headers={"Location": "/v2/jwks.json"})
    fake_http.get("https://keys.example.org/v2/jwks.json", json=key_set("k1"))
    assert remote.key(URL, "k1") is not None


def test_keys_that_cannot_verify_are_skipped_not_fatal(
    remote: RemoteJwks, fake_http: responses.RequestsMock
) -> None:
    keys = [
        {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
        {**EC_PUBLIC, "kid": "enc", "use": "enc"},
        "not a key",
        {**EC_PUBLIC, "kid": "sig"},
    ]
    fake_http.get(URL, json={"keys": keys})
    assert remote.key(URL, "sig") is not None
    assert remote.key(URL, "enc") is None


def test_a_jku_is_fetched_only_when_allowlisted(
    tmp_path: Path, fake_http: responses.RequestsMock, remote: RemoteJwks
) -> None:
    path = tmp_path / "issuers.yaml"
    path.write_text(A + f"    jku: [{URL}]\n")
    keys = IssuerKeys(load_trusted_issuers(path), remote)
    fake_http.get(URL, json=key_set("k1"))
    with pytest.raises(KeyRefused) as refused:
        keys.key("https://a.org", "k1", "https://keys.example.org/other.json")
    assert refused.value.reason == "jku"
    assert len(fake_http.calls) == 0
    assert keys.key("https://a.org", "k1", URL).kid == "k1"
    with pytest.raises(KeyRefused) as refused:
        keys.key("https://a.org", "k1", None)  # no jku, no jwks_url: no key out-of-band
    assert refused.value.reason == "key"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param({**EC_PUBLIC, "kid": "a", "alg": 384}, "alg is not text", id="alg number"),
        pytest.param({"kty": "RSA", "kid": "a"}, r"not a valid RSA public key", id="RSA without n"),
        pytest.param({**EC_PUBLIC}, "the key has no kid", id="no kid"),
    ],
)
def test_verification_key_refusals(key: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        verification_key(key)
