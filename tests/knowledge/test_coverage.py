"""``knowledge.coverage``: the drugs-by-genes matrix of recommendations, with totals and drafts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowledge import KnowledgeBase, load_knowledge_base
from knowledge.coverage import coverage_of, render_markdown
from knowledge.schema import Guideline
from tests.knowledge.small_knowledge import build_small_knowledge


def rec(drug: str, **lookup_key: str) -> dict[str, Any]:
    return {
        "id": f"R-{drug}-{'-'.join(lookup_key.values())}",
        "drug": drug,
        "lookup_key": lookup_key,
        "strength": "strong",
        "action": "standard",
        "recommendation": "Use the label dose.",
    }


def guideline(
    id: str, source: str, drugs: list[str], genes: list[str], *recs: dict[str, Any], **extra: Any
) -> Guideline:
    return Guideline.model_validate(
        {
            "id": id,
            "name": id,
            "source": source,
            "status": "active",
            "url": "https://example.org",
            "version": "1",
            "data_version": "1",
            "data": {"name": "test", "file": "test.json", "version": "1"},
            "genes": genes,
            "drugs": drugs,
            "recommendations": list(recs),
            **extra,
        }
    )


def knowledge_base(*guidelines: Guideline) -> KnowledgeBase:
    return KnowledgeBase(
        genes={}, drugs={}, guidelines={g.id: g for g in guidelines}, version="test"
    )


@pytest.fixture
def kb() -> KnowledgeBase:
    return knowledge_base(
        guideline(
            "cpic-a",
            "CPIC",
            ["alpha", "beta"],
            ["G1", "G2"],
            rec("alpha", G1="PM"),
            rec("alpha", G1="IM"),
            rec("alpha", G1="PM", G2="positive"),
            rec("beta", G2="positive"),
        ),
        guideline("dpwg-a", "DPWG", ["alpha"], ["G1"], rec("alpha", G1="PM")),
        guideline(
            "cpic-c",
            "CPIC",
            ["gamma"],
            ["G3"],
            status="draft",
            notes=["The export carries no recommendations for this guideline."],
        ),
        guideline("cpic-old", "CPIC", ["delta"], ["G4"], rec("delta", G4="PM"), status="retired"),
    )


def test_a_cell_counts_the_drugs_recommendations_keyed_on_the_gene_by_source(
    kb: KnowledgeBase,
) -> None:
    coverage = coverage_of(kb)

    assert coverage.cell("alpha", "G1") == "3 CPIC, 1 DPWG"
    # A recommendation keyed on two genes counts for each of them.
    assert coverage.cell("alpha", "G2") == "1 CPIC"
    assert coverage.cell("beta", "G2") == "1 CPIC"
    assert coverage.cell("beta", "G1") == ""


def test_rows_are_drugs_with_a_guideline_and_columns_the_genes_guidelines_use(
    kb: KnowledgeBase,
) -> None:
    coverage = coverage_of(kb)

    assert coverage.drugs == ("alpha", "beta", "gamma")
    assert coverage.genes == ("G1", "G2", "G3")


def test_totals_count_each_recommendation_once_by_source(kb: KnowledgeBase) -> None:
    coverage = coverage_of(kb)

    assert coverage.guidelines_by_source == {"CPIC": 2, "DPWG": 1}
    assert coverage.recommendations_by_source == {"CPIC": 4, "DPWG": 1}


def test_markdown_has_the_matrix_the_totals_and_a_line_per_draft(kb: KnowledgeBase) -> None:
    lines = render_markdown(coverage_of(kb)).splitlines()

    assert lines[:5] == [
        "| drug | G1 | G2 | G3 |",
        "| --- | --- | --- | --- |",
        "| alpha | 3 CPIC, 1 DPWG | 1 CPIC |  |",
        "| beta |  | 1 CPIC |  |",
        "| gamma |  |  |  |",
    ]
    assert "- guidelines: 3 (2 CPIC, 1 DPWG)" in lines
    assert "- drugs: 3" in lines
    assert "- genes: 3" in lines
    assert "- recommendations: 5 (4 CPIC, 1 DPWG)" in lines
    assert (
        "- cpic-c: gamma (G3), 0 recommendation(s). "
        "The export carries no recommendations for this guideline."
    ) in lines
    assert "- cpic-old: delta (G4), 1 recommendation(s)" in lines


def test_clopidogrel_is_covered_by_cpic_on_cyp2c19(tmp_path: Path) -> None:
    kb = load_knowledge_base(build_small_knowledge(tmp_path / "knowledge"))
    coverage = coverage_of(kb)
    expected = sum(
        r.drug == "clopidogrel" for r in kb.guidelines["cpic-clopidogrel"].recommendations
    )

    assert coverage.cell("clopidogrel", "CYP2C19") == f"{expected} CPIC"
    assert coverage.cell("irinotecan", "UGT1A1").endswith(" DPWG")
    assert coverage.cell("clopidogrel", "CYP2D6") == ""
