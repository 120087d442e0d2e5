"""The pooled FHIR session reads the environment once, not on every request."""

from __future__ import annotations

import pytest

from cds_hooks.app import fhir_session

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY")


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_PROXY_VARIABLES, "ALL_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_proxy_env")
def test_without_a_proxy_the_session_reads_no_environment() -> None:
    session = fhir_session()

    assert (session.trust_env, session.verify) == (False, True)


@pytest.mark.usefixtures("no_proxy_env")
def test_a_site_ca_bundle_is_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/hospital-ca.pem")

    assert fhir_session().verify == "/etc/ssl/hospital-ca.pem"


@pytest.mark.usefixtures("no_proxy_env")
def test_with_a_proxy_requests_reads_the_environment_as_usual(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.hospital.example:3128")

    assert fhir_session().trust_env is True
