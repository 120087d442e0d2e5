"""``knowledge.explain``: each step from a diplotype to the card, as the evaluator took it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge import GeneResult, KnowledgeBase, load_knowledge_base
from knowledge.explain import (
    Explanation,
    GuidelineExplanation,
    UnknownDrugError,
    explain,
    render_text,
    resolve_drug,
)
from tests.knowledge.small_knowledge import build_small_knowledge


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_knowledge_base(build_small_knowledge(tmp_path_factory.mktemp("kb") / "knowledge"))


def explained(kb: KnowledgeBase, drug: str, **given: str) -> Explanation:
    genes = {gene.replace("_", "-"): diplotype for gene, diplotype in given.items()}
    return explain(kb, drug, {g: GeneResult(g, diplotype=d) for g, d in genes.items()})


def only(explanation: Explanation) -> GuidelineExplanation:
    [part] = explanation.guidelines
    return part


def test_intermediate_metabolizer_reads_to_its_phenotype_and_key(small_kb: KnowledgeBase) -> None:
    part = only(explained(small_kb, "clopidogrel", CYP2C19="*2/*17"))

    [reading] = part.readings
    assert reading.given == "*2/*17"
    assert reading.call.phenotype == "Intermediate Metabolizer"
    assert reading.call.lookup_keys == {"Intermediate Metabolizer"}


def test_matched_recommendations_carry_population_strength_and_action(
    small_kb: KnowledgeBase,
) -> None:
    part = only(explained(small_kb, "clopidogrel", CYP2C19="*2/*17"))

    matched = {part.population(r): (r.strength, r.action) for r in part.matched}
    assert matched["ACS and/or PCI"] == ("strong", "alternative")
    assert all(r.lookup_key == {"CYP2C19": "Intermediate Metabolizer"} for r in part.matched)


def test_every_row_for_the_drug_is_matched_or_said_why_not(small_kb: KnowledgeBase) -> None:
    part = only(explained(small_kb, "clopidogrel", CYP2C19="*2/*17"))

    rows = [r for r in part.guideline.recommendations if r.drug == "clopidogrel"]
    assert len(part.matched) + len(part.overridden) + len(part.unmatched) == len(rows)
    assert "Poor Metabolizer" in part.unmatched_keys["CYP2C19"]
    assert "Intermediate Metabolizer" not in part.unmatched_keys["CYP2C19"]


def test_the_card_decision_is_the_evaluators(small_kb: KnowledgeBase) -> None:
    part = only(explained(small_kb, "clopidogrel", CYP2C19="*2/*17"))

    assert part.evaluation.indicator == "warning"
    assert {"prasugrel", "ticagrelor"} <= set(part.evaluation.alternatives)


def test_text_names_phenotype_strength_and_card(small_kb: KnowledgeBase) -> None:
    text = render_text(explained(small_kb, "clopidogrel", CYP2C19="*2/*17"))

    assert "phenotype: Intermediate Metabolizer" in text
    assert "(ACS and/or PCI): strong, alternative" in text
    assert "card: warning, led by" in text
    assert "alternative: prasugrel (ACS and/or PCI" in text


def test_activity_score_shows_each_allele_value_and_the_sum(small_kb: KnowledgeBase) -> None:
    part = only(explained(small_kb, "codeine", CYP2D6="*1/*4"))

    [reading] = part.readings
    assert reading.method.startswith("activity score")
    assert reading.steps == (
        "*1: activity value 1.0 (Normal function)",
        "*4: activity value 0.0 (No function)",
        "sum: 1.0",
    )
    assert reading.call.lookup_keys == {"1.0"}
    assert reading.call.phenotype == "Intermediate Metabolizer"


def test_a_duplicated_allele_counts_each_copy(small_kb: KnowledgeBase) -> None:
    [reading] = only(explained(small_kb, "codeine", CYP2D6="*1x3/*1")).readings

    assert reading.steps[-1] == "sum: ≥4.0"
    assert reading.call.phenotype == "Ultrarapid Metabolizer"


def test_allele_status_gives_each_allele_of_interest(small_kb: KnowledgeBase) -> None:
    part = only(explained(small_kb, "abacavir", HLA_B="*57:01/*08:01"))

    [reading] = part.readings
    assert reading.method.startswith("allele status")
    assert "*57:01: positive" in reading.steps
    assert "*58:01: negative" in reading.steps
    assert part.evaluation.indicator == "warning"


def test_a_row_keyed_on_the_exact_diplotype_sets_the_phenotype_row_aside(
    small_kb: KnowledgeBase,
) -> None:
    part = only(explained(small_kb, "irinotecan", UGT1A1="*28/*28"))

    assert [r.lookup_key for r in part.matched] == [{"UGT1A1": "*28/*28"}]
    assert [r.lookup_key for r in part.overridden] == [{"UGT1A1": "Poor Metabolizer"}]
    assert "set aside, as a row keyed on the exact diplotype wins" in render_text(
        Explanation("irinotecan", (part,))
    )


def test_an_unreadable_diplotype_is_noted_not_guessed(small_kb: KnowledgeBase) -> None:
    explanation = explained(small_kb, "clopidogrel", CYP2C19="*99/*1")
    part = only(explanation)

    [reading] = part.readings
    assert reading.call.phenotype is None
    assert reading.call.note is not None
    assert "CYP2C19 *99/*1 is not in the CPIC" in reading.call.note
    assert reading.method == f"not read: {reading.call.note}"
    assert part.matched == ()
    assert part.evaluation.indicator == "info"
    assert "card: info, CYP2C19 could not be interpreted" in render_text(explanation)


def test_a_missing_result_matches_no_row_and_raises_no_card(small_kb: KnowledgeBase) -> None:
    explanation = explained(small_kb, "clopidogrel")

    [reading] = only(explanation).readings
    assert reading.given == "no result"
    assert "not read: no CYP2C19 result on file" in render_text(explanation)
    assert "card: none, no recommendation matched" in render_text(explanation)


def test_standard_advice_raises_no_card(small_kb: KnowledgeBase) -> None:
    text = render_text(explained(small_kb, "clopidogrel", CYP2C19="*1/*1"))

    assert "phenotype: Normal Metabolizer" in text
    assert "card: none, nothing actionable" in text


def test_genes_no_guideline_for_the_drug_uses_are_noted(small_kb: KnowledgeBase) -> None:
    explanation = explained(small_kb, "clopidogrel", CYP2C19="*1/*1", CYP2D6="*1/*1", TPMT="*1/*1")

    assert explanation.notes == (
        "CYP2D6 was given but no guideline for clopidogrel uses it",
        "TPMT was given but no guideline for clopidogrel uses it"
        " (and the knowledge base has no TPMT table)",
    )


@pytest.mark.parametrize(
    ("asked", "drug"),
    [
        ("clopidogrel", "clopidogrel"),
        ("  Clopidogrel ", "clopidogrel"),
        ("clopidogrel 75 mg oral tablet", "clopidogrel"),
    ],
)
def test_resolve_drug_accepts_any_case_and_a_name_in_text(
    small_kb: KnowledgeBase, asked: str, drug: str
) -> None:
    assert resolve_drug(small_kb, asked) == drug


@pytest.mark.parametrize(
    ("asked", "suggestions", "message"),
    [
        (
            "clopidogrl",
            ("clopidogrel",),
            "'clopidogrl' is not a drug we know. Did you mean: clopidogrel?",
        ),
        ("codiene", ("codeine",), "Did you mean: codeine?"),
        ("prasugrel", (), "'prasugrel' has no guideline in this knowledge base. Run `pgx-cds"),
        ("zzz", (), "'zzz' is not a drug we know. Run `pgx-cds knowledge coverage`"),
    ],
)
def test_an_unknown_drug_names_the_closest_drugs_with_a_guideline(
    small_kb: KnowledgeBase, asked: str, suggestions: tuple[str, ...], message: str
) -> None:
    with pytest.raises(UnknownDrugError, match=re.escape(message)) as caught:
        explain(small_kb, asked, {})

    assert caught.value.suggestions == suggestions


def test_the_small_folder_is_a_valid_knowledge_base(tmp_path: Path) -> None:
    kb = load_knowledge_base(build_small_knowledge(tmp_path / "knowledge"))

    assert set(kb.guidelines_by_drug) == {"abacavir", "clopidogrel", "codeine", "irinotecan"}
