"""Try a patient: the console shows the service's own cards for typed-in results, without a trace."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, jsonify
from flask.testing import FlaskClient

from cds_hooks import hooks
from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.console.try_patient import render_markdown
from knowledge import KnowledgeBase
from tests.cds_hooks.test_auth import BASE, issuers_file

TRY = "/console/try"


def console_app(settings: Settings, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Flask:
    del monkeypatch
    return create_app(settings, kb)


@pytest.fixture
def app(tmp_path: Path, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", console=True, console_auth="off")
    app = console_app(settings, kb, monkeypatch)
    yield app
    app.extensions["pgx_cds"].feedback.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def tried(
    client: FlaskClient,
    drug: str,
    genotypes: str = "",
    *,
    fhir: str = "",
    hook: str = "order-select",
) -> tuple[int, str]:
    response = client.post(
        TRY, data={"genotypes": genotypes, "resources": fhir, "drug": drug, "hook": hook}
    )
    return response.status_code, response.get_data(as_text=True)


def cards(page: str) -> list[str]:
    """Each card's section, from its opening tag to the next card's."""
    return re.findall(r'<section class="card [^"]+".*?(?=<section class="card |\Z)', page, re.S)


def summaries(page: str) -> list[str]:
    return re.findall(r'<h3 data-field="summary">(.*?)</h3>', page, re.S)


def suggestion_labels(page: str) -> list[str]:
    return re.findall(
        r'<li data-suggestion[^>]*>\s*<strong data-field="label">(.*?)</strong>', page
    )


def errors(page: str) -> list[str]:
    return re.findall(r"<li data-error>(.*?)</li>", page, re.S)


def example_request(name: str) -> dict[str, Any]:
    text = resources.files("cds_hooks").joinpath("examples", name).read_text(encoding="utf-8")
    request: dict[str, Any] = json.loads(text)["request"]
    return request


def metric_lines(client: FlaskClient) -> list[str]:
    """The counters a hook call moves: cards returned and hook requests answered."""
    text = client.get("/metrics").get_data(as_text=True)
    return sorted(
        line
        for line in text.splitlines()
        if line.startswith("pgx_cds_cards_total")
        or (line.startswith("pgx_cds_requests_total") and 'endpoint="hook"' in line)
    )


def test_the_form_names_its_fields(client: FlaskClient) -> None:
    page = client.get(TRY).get_data(as_text=True)

    for name in ("genotypes", "resources", "vcf", "drug", "hook"):
        assert f'name="{name}"' in page


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_a_poor_metabolizer_gets_the_warning_card_with_alternatives(
    client: FlaskClient, hook: str
) -> None:
    status, page = tried(client, "clopidogrel", "CYP2C19 *2/*2", hook=hook)

    assert status == 200
    [card] = cards(page)
    assert card.startswith('<section class="card warning" data-indicator="warning"')
    [summary] = summaries(page)
    assert "clopidogrel" in summary.lower()
    labels = " ".join(suggestion_labels(page))
    assert "Replace clopidogrel with prasugrel" in labels
    assert "Replace clopidogrel with ticagrelor" in labels
    assert 'data-action="create" data-resource-type="MedicationRequest"' in card
    assert "<table>" in card  # the detail's markdown table, rendered


def test_a_normal_metabolizer_gets_no_card_and_the_reasoning(client: FlaskClient) -> None:
    status, page = tried(client, "Plavix", "CYP2C19 *1/*1")

    assert status == 200
    assert cards(page) == []
    assert "data-no-card" in page
    assert "phenotype: Normal Metabolizer" in page  # knowledge explain's reasoning path


def test_a_pasted_bundle_gives_what_the_genotypes_give(client: FlaskClient) -> None:
    bundle = example_request("01-poor-metabolizer-clopidogrel.json")["prefetch"]["pgxResults"]

    _, from_bundle = tried(client, "clopidogrel", fhir=json.dumps(bundle))
    _, from_lines = tried(client, "clopidogrel", "CYP2C19 *2/*2")

    assert summaries(from_bundle) == summaries(from_lines)
    assert suggestion_labels(from_bundle) == suggestion_labels(from_lines)


@pytest.mark.parametrize(
    ("genotypes", "drug", "fhir", "expected"),
    [
        pytest.param(
            "CYP2C19 *2/*2\nFOO *1/*1",
            "clopidogrel",
            "",
            "Genotypes: line 2: &#39;FOO *1/*1&#39;: FOO is not a gene of the knowledge base",
            id="unknown gene",
        ),
        pytest.param(
            "CYP2C19 banana",
            "clopidogrel",
            "",
            "Genotypes: line 1: &#39;CYP2C19 banana&#39;: CYP2C19 genotype value is not a diplotype",
            id="unreadable diplotype",
        ),
        pytest.param(
            "*2/*2",
            "clopidogrel",
            "",
            "Genotypes: line 1: &#39;*2/*2&#39;: not GENE DIPLOTYPE",
            id="no gene",
        ),
        pytest.param(
            "CYP2C19 *2/*2\nCYP2C19 *1/*1",
            "clopidogrel",
            "",
            "Genotypes: line 2: &#39;CYP2C19 *1/*1&#39;: CYP2C19 is given twice",
            id="gene twice",
        ),
        pytest.param(
            "CYP2C19 *2/*2",
            "aspirinx",
            "",
            "Drug: &#39;aspirinx&#39; is not a drug we know",
            id="unknown drug",
        ),
        pytest.param("", "clopidogrel", "{not json", "FHIR JSON: not valid JSON", id="bad json"),
        pytest.param(
            "", "clopidogrel", '{"a": 1}', "FHIR JSON: not a FHIR resource", id="not a resource"
        ),
        pytest.param("", "clopidogrel", "", "Give genotypes, FHIR JSON or a VCF", id="no results"),
    ],
)
def test_bad_input_is_listed_on_the_page(
    client: FlaskClient, genotypes: str, drug: str, fhir: str, expected: str
) -> None:
    status, page = tried(client, drug, genotypes, fhir=fhir)

    assert status == 422
    assert any(error.startswith(expected) for error in errors(page)), errors(page)
    assert cards(page) == []


def test_a_real_vcf_is_called_and_its_cards_shown(client: FlaskClient, shared: Path) -> None:
    # GeT-RM NA18526 (PharmCAT's preprocessed WGS VCF): CYP2C19 *1/*1 by GeT-RM consensus.
    vcf = shared / "pgx-data/truth/getrm_wgs_vcf/NA18526.preprocessed.vcf"
    response = client.post(
        TRY,
        data={"drug": "clopidogrel", "vcf": (BytesIO(vcf.read_bytes()), vcf.name)},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)

    assert response.status_code == 200, errors(page)
    assert cards(page) == []
    assert "data-no-card" in page
    assert "phenotype: Normal Metabolizer" in page


def test_a_file_that_is_no_vcf_is_an_error_not_a_500(client: FlaskClient) -> None:
    response = client.post(
        TRY,
        data={"drug": "clopidogrel", "vcf": (BytesIO(b"not a vcf\n"), "sample.vcf")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    [error] = errors(response.get_data(as_text=True))
    assert error.startswith("VCF sample.vcf: ")


def test_raw_html_in_a_card_detail_is_escaped() -> None:
    html = render_markdown("**dose** <script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |")

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>dose</strong>" in html
    assert "<td>1</td>" in html


def test_a_card_from_the_service_is_shown_escaped(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = {
        "uuid": "c1",
        "summary": "<b>bold</b> summary",
        "indicator": "critical",
        "detail": "<script>alert(1)</script>",
        "source": {"label": "Test"},
        "overrideReasons": [{"code": "other", "display": "Other reason"}],
    }

    def fake_call_service(service_id: str) -> Response:
        return jsonify({"cards": [card]})

    monkeypatch.setattr(hooks, "call_service", fake_call_service)
    _, page = tried(client, "clopidogrel", "CYP2C19 *2/*2")

    [shown] = cards(page)
    assert shown.startswith('<section class="card critical" data-indicator="critical"')
    assert "<script>" not in page
    assert "&lt;script&gt;" in shown
    assert "&lt;b&gt;bold&lt;/b&gt; summary" in shown
    assert 'data-override-reason="other">Other reason' in shown


def test_a_try_leaves_no_trace(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    logged: list[object] = []
    monkeypatch.setattr(hooks, "log_shown_cards", lambda *args: logged.append(args))
    before = metric_lines(client)

    with caplog.at_level(logging.INFO):
        status, page = tried(client, "clopidogrel", "CYP2C19 *2/*2")
        again, _ = tried(client, "clopidogrel", "CYP2C19 *2/*2")

    assert (status, again) == (200, 200)
    assert len(cards(page)) == 1
    assert metric_lines(client) == before
    assert logged == []
    assert not [r for r in caplog.records if r.getMessage() == "hook call"]


def test_the_console_needs_no_jwt_when_the_hooks_do(
    tmp_path: Path, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        auth="jwt",
        trusted_issuers=issuers_file(tmp_path),
        public_base_url=BASE,
        database_url=f"sqlite:///{tmp_path}/x.db",
        console=True,
        console_auth="off",
    )
    app = console_app(settings, kb, monkeypatch)
    client = app.test_client()
    try:
        refused = client.post("/cds-services/pgx-order-select", json={})
        status, page = tried(client, "clopidogrel", "CYP2C19 *2/*2")
    finally:
        app.extensions["pgx_cds"].feedback.close()

    assert refused.status_code == 401
    assert status == 200
    assert len(cards(page)) == 1
