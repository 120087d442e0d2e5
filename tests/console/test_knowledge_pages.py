"""The knowledge browser: every guideline with its tests, search by drug or gene, detail pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.console import knowledge_pages
from cds_hooks.console.knowledge_pages import case_checks, case_status
from knowledge import KnowledgeBase
from knowledge.cases import CaseOutcome


@pytest.fixture
def console_app(tmp_path: Path, kb: KnowledgeBase) -> Iterator[Flask]:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/x.db", console=True, console_auth="off"), kb
    )
    yield app
    app.extensions["pgx_cds"].feedback.close()


@pytest.fixture
def console(console_app: Flask) -> FlaskClient:
    return console_app.test_client()


def element(html: str, attribute: str, value: str) -> str:
    """The inner HTML of the first element carrying ``attribute="value"``; fails when none does."""
    match = re.search(
        rf'<(\w+)[^>]*\b{re.escape(attribute)}="{re.escape(value)}"[^>]*>(.*?)</\1>', html, re.S
    )
    assert match is not None, f'no element with {attribute}="{value}"'
    return match.group(2)


def text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def values(html: str, attribute: str) -> list[str]:
    return re.findall(rf'\b{re.escape(attribute)}="([^"]*)"', html)


def page(console: FlaskClient, url: str) -> str:
    response = console.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_every_guideline_is_listed_with_its_link(console: FlaskClient, kb: KnowledgeBase) -> None:
    html = page(console, "/console/knowledge")

    assert values(html, "data-guideline") == sorted(kb.guidelines)
    row = element(html, "data-guideline", "cpic-clopidogrel")
    assert 'href="/console/knowledge/guidelines/cpic-clopidogrel"' in row
    assert 'href="https://cpicpgx.org/guidelines/guideline-for-clopidogrel-and-cyp2c19/"' in row
    assert "CYP2C19" in text(row)
    assert "CPIC" in text(row)


def test_the_guideline_row_counts_its_tests_and_how_many_pass(
    console: FlaskClient, kb: KnowledgeBase
) -> None:
    guideline = kb.guidelines["cpic-clopidogrel"]
    html = page(console, "/console/knowledge")

    row = element(html, "data-guideline", "cpic-clopidogrel")
    total = len(guideline.tests)
    assert f'data-tests="{total}" data-passed="{total}"' in row
    assert f"{total} / {total}" in text(row)
    assert text(row).count("strong") == 1


def test_gene_tables_targeted_drugs_and_the_matrix_are_listed(
    console: FlaskClient, kb: KnowledgeBase
) -> None:
    assert kb.oncology is not None
    html = page(console, "/console/knowledge")

    assert values(html, "data-gene")[: len(kb.genes)] == sorted(kb.genes)
    cyp2c19 = element(html, "data-gene", "CYP2C19")
    assert str(len(kb.genes["CYP2C19"].alleles)) in text(cyp2c19)
    assert values(html, "data-targeted") == sorted(kb.oncology.drugs)
    assert "osimertinib" in kb.oncology.drugs
    assert "EGFR" in text(element(html, "data-targeted", "osimertinib"))
    clopidogrel = element(html, "data-coverage-drug", "clopidogrel")
    assert "CPIC" in text(element(clopidogrel, "data-gene", "CYP2C19"))


@pytest.mark.parametrize("query", ["clopidogrel", "CLOPIDOGREL", " Clopidogrel "])
def test_searching_a_drug_finds_its_guideline_whatever_the_case(
    console: FlaskClient, query: str
) -> None:
    html = page(console, f"/console/knowledge?q={query}")

    assert "cpic-clopidogrel" in values(html, "data-guideline")
    assert "cpic-warfarin" not in values(html, "data-guideline")
    assert values(html, "data-coverage-drug") == ["clopidogrel"]
    assert 'href="/console/knowledge/guidelines/cpic-clopidogrel"' in html


def test_searching_a_gene_keeps_its_guidelines_and_its_table(
    console: FlaskClient, kb: KnowledgeBase
) -> None:
    html = page(console, "/console/knowledge?q=cyp2c19")

    expected = sorted(i for i, g in kb.guidelines.items() if "CYP2C19" in g.genes)
    assert values(html, "data-guideline") == expected
    assert "cpic-clopidogrel" in expected
    assert values(html, "data-gene")[0] == "CYP2C19"


def test_a_search_matching_nothing_says_so(console: FlaskClient) -> None:
    html = page(console, "/console/knowledge?q=no-such-drug")

    assert values(html, "data-guideline") == []
    assert "no-such-drug" in text(element(html, "data-search-result", "none"))


def test_the_query_is_escaped(console: FlaskClient) -> None:
    html = page(console, "/console/knowledge?q=<script>alert(1)</script>")

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_the_guideline_page_shows_recommendations_and_test_status(
    console: FlaskClient, kb: KnowledgeBase
) -> None:
    guideline = kb.guidelines["cpic-clopidogrel"]
    html = page(console, "/console/knowledge/guidelines/cpic-clopidogrel")

    assert values(html, "data-recommendation") == [r.id for r in guideline.recommendations]
    poor = next(
        r
        for r in guideline.recommendations
        if r.lookup_key.get("CYP2C19") == "Poor Metabolizer" and r.alternatives
    )
    row = text(element(html, "data-recommendation", poor.id))
    assert "CYP2C19: Poor Metabolizer" in row
    assert poor.strength in row
    assert poor.alternatives[0].drug in row
    assert values(html, "data-case") == [c.name for c in guideline.tests]
    assert set(values(html, "data-case-status")) == {"ok"}
    assert f"PMID {guideline.citations[0].pmid}" in html


@pytest.mark.parametrize(
    ("todo", "failures", "expected"),
    [
        (None, (), "ok"),
        (None, ("expected 1 card(s), got 0",), "FAIL"),
        ("not encoded yet", ("expected 1 card(s), got 0",), "todo"),
        ("not encoded yet", (), "FIXED"),
    ],
)
def test_a_case_status_reads_as_the_cli_says_it(
    kb: KnowledgeBase, todo: str | None, failures: tuple[str, ...], expected: str
) -> None:
    case = kb.guidelines["cpic-clopidogrel"].tests[0].model_copy(update={"todo": todo})

    assert case_status(CaseOutcome("cpic-clopidogrel", case, failures)) == expected


def test_the_gene_and_targeted_drug_pages(console: FlaskClient, kb: KnowledgeBase) -> None:
    gene = page(console, "/console/knowledge/genes/CYP2C19")
    targeted = page(console, "/console/knowledge/targeted/osimertinib")

    assert values(gene, "data-allele") == list(kb.genes["CYP2C19"].alleles)
    assert 'href="/console/knowledge/guidelines/cpic-clopidogrel"' in gene
    assert kb.oncology is not None
    rules = kb.oncology.drugs["osimertinib"]
    assert values(targeted, "data-indication") == [i.id for i in rules.indications]
    assert values(targeted, "data-case") == [c.name for c in rules.tests]
    assert rules.label.url in targeted


@pytest.mark.parametrize(
    "url",
    [
        "/console/knowledge/guidelines/cpic-nothing",
        "/console/knowledge/genes/NOGENE",
        "/console/knowledge/targeted/nothing",
    ],
)
def test_an_unknown_id_is_a_404_page(console: FlaskClient, url: str) -> None:
    response = console.get(url)

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "knowledge" in text(
        element(response.get_data(as_text=True), "data-not-found", "knowledge")
    )


def test_the_cases_run_once_per_knowledge_version(kb: KnowledgeBase) -> None:
    assert case_checks(kb) is case_checks(kb)


def test_the_known_gaps_are_listed_from_the_shared_data(console: FlaskClient, shared: Path) -> None:
    html = page(console, "/console/knowledge")

    assert values(html, "data-gap-section")
    assert 'data-gaps="unavailable"' not in html


def test_without_the_shared_data_the_page_says_the_gaps_are_unavailable(
    console: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knowledge_pages, "GAPS_SHARED", tmp_path / "missing")

    html = page(console, "/console/knowledge")

    assert str(tmp_path / "missing") in text(element(html, "data-gaps", "unavailable"))
    assert 'data-guideline="cpic-clopidogrel"' in html
