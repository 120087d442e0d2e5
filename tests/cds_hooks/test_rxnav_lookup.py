"""Product-coded orders through the service: RxNav settings, lookups, and what an EHR never sees."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from flask import Flask
from flask.testing import FlaskClient
from pydantic import ValidationError

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.state import EXTENSION_KEY
from fhir_adapters import RxNavClient
from knowledge import KnowledgeBase
from tests.builders import (
    RXNORM,
    genotype_observation,
    hook_request,
    medication_request,
    pgx_prefetch,
)
from tests.fhir_adapters.test_rxnav import CLOPIDOGREL, PLAVIX_75_TABLET, RXNAV, related

# The product code alone: no display or text that a drug name or brand synonym could match.
PLAVIX_ORDER = {"coding": [{"system": RXNORM, "code": PLAVIX_75_TABLET}]}
LOOKUP = f"{RXNAV}/rxcui/{PLAVIX_75_TABLET}/related.json"


@pytest.fixture
def rxnav_app(tmp_path: Path, kb: KnowledgeBase) -> Iterator[Flask]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", rxnav_url=RXNAV)
    app = create_app(settings, kb)
    yield app
    app.extensions[EXTENSION_KEY].feedback.close()


@pytest.fixture
def rxnav_client(rxnav_app: Flask) -> FlaskClient:
    return rxnav_app.test_client()


def poor_metabolizer_orders(concept: dict[str, Any]) -> dict[str, Any]:
    return hook_request(
        medication_request(concept, id="rx-plavix"),
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")),
    )


def cards(client: FlaskClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/cds-services/pgx-order-sign", json=body)
    assert response.status_code == 200, response.get_json()
    found: list[dict[str, Any]] = response.get_json()["cards"]
    return found


@responses.activate
def test_a_branded_product_code_gets_the_clopidogrel_card(rxnav_client: FlaskClient) -> None:
    responses.get(LOOKUP, json=related(CLOPIDOGREL))

    (card,) = cards(rxnav_client, poor_metabolizer_orders(PLAVIX_ORDER))

    assert card["indicator"] == "warning"
    assert "Clopidogrel" in card["summary"]
    (call,) = responses.calls
    assert call.request.url == f"{LOOKUP}?tty=IN"


@responses.activate
def test_rxnav_is_asked_once_per_product_across_calls(rxnav_client: FlaskClient) -> None:
    responses.get(LOOKUP, json=related(CLOPIDOGREL))

    for _ in range(3):
        cards(rxnav_client, poor_metabolizer_orders(PLAVIX_ORDER))

    assert len(responses.calls) == 1


@responses.activate
def test_rxnav_down_is_no_card_and_a_log_line_never_an_error(
    rxnav_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(LOOKUP, body=requests.ConnectTimeout("connect timed out"))
    caplog.set_level(logging.INFO)

    found = cards(rxnav_client, poor_metabolizer_orders(PLAVIX_ORDER))

    assert found == []
    (unidentified,) = [
        r for r in caplog.records if getattr(r, "event", None) == "drug_not_identified"
    ]
    assert unidentified.codes == [f"{RXNORM}|{PLAVIX_75_TABLET}"]  # type: ignore[attr-defined]
    assert [getattr(r, "event", None) for r in caplog.records].count("rxnav_lookup_failed") == 1


def test_an_unidentified_order_logs_its_codes_and_no_patient_data(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    concept = {
        "coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "00000000000"}],
        "text": "Homeopathic remedy for patient-secret-name",
    }
    body = hook_request(medication_request(concept, patient="patient-secret-id"), patient="p-9")
    caplog.set_level(logging.INFO)

    assert cards(client, body) == []

    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "drug_not_identified"]
    assert record.codes == ["http://hl7.org/fhir/sid/ndc|00000000000"]  # type: ignore[attr-defined]
    assert record.hook_instance == body["hookInstance"]  # type: ignore[attr-defined]
    logged = json.dumps(vars(record), default=str)
    for secret in ("patient-secret-name", "patient-secret-id", "p-9"):
        assert secret not in logged


def test_with_rxnav_off_a_product_code_alone_gets_no_card(client: FlaskClient) -> None:
    # The conftest turns RxNav off: nothing names the drug but the product code.
    assert cards(client, poor_metabolizer_orders(PLAVIX_ORDER)) == []


def test_settings_default_to_nlm_rxnav(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGX_CDS_RXNAV_URL")

    settings = Settings()

    assert settings.rxnav_url == "https://rxnav.nlm.nih.gov/REST"
    assert (settings.rxnav_timeout, settings.rxnav_cache_size) == (1.0, 10_000)
    assert settings.rxnav_cache_ttl == 86_400


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("off", None),
        ("OFF", None),
        ("", None),
        ("  ", None),
        ("http://rxnav.internal:4000/REST/", "http://rxnav.internal:4000/REST/"),
    ],
    ids=["off", "off-upper", "empty", "blank", "own-mirror"],
)
def test_rxnav_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None
) -> None:
    monkeypatch.setenv("PGX_CDS_RXNAV_URL", value)

    assert Settings().rxnav_url == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PGX_CDS_RXNAV_URL", "rxnav.nlm.nih.gov/REST"),
        ("PGX_CDS_RXNAV_URL", "ftp://rxnav.example"),
        ("PGX_CDS_RXNAV_TIMEOUT", "0"),
        ("PGX_CDS_RXNAV_CACHE_SIZE", "0"),
        ("PGX_CDS_RXNAV_CACHE_TTL", "-1"),
    ],
)
def test_bad_rxnav_settings_stop_start_up(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name.removeprefix("PGX_CDS_").lower()):
        Settings()


def test_the_app_builds_one_client_from_its_settings(rxnav_app: Flask, app: Flask) -> None:
    client = rxnav_app.extensions[EXTENSION_KEY].rxnav

    assert isinstance(client, RxNavClient)
    assert client.base_url == RXNAV
    assert rxnav_app.extensions[EXTENSION_KEY].rxnav is client
    assert app.extensions[EXTENSION_KEY].rxnav is None
