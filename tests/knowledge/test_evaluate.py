"""Matching a patient's CYP2C19 result against the clopidogrel guideline."""

from __future__ import annotations

import pytest

from knowledge import Evaluation, GeneResult, KnowledgeBase, evaluate, indicator_for
from knowledge.schema import Recommendation

ACS_PCI = "CVI ACS PCI"
NON_ACS = "CVI non-ACS non-PCI"
NVI = "NVI"


def clopidogrel(kb: KnowledgeBase, result: GeneResult | None) -> Evaluation:
    """The one clopidogrel evaluation for a patient with ``result`` (or no CYP2C19 result)."""
    [evaluation] = evaluate(kb, "clopidogrel", {} if result is None else {"CYP2C19": result})
    return evaluation


def genotype(diplotype: str) -> GeneResult:
    return GeneResult("CYP2C19", diplotype=diplotype)


def test_poor_metabolizer_is_read_from_the_diplotype(kb: KnowledgeBase) -> None:
    [call] = clopidogrel(kb, genotype("*2/*2")).calls
    assert (call.phenotype, call.lookup_key, call.note) == (
        "Poor Metabolizer",
        "Poor Metabolizer",
        None,
    )


@pytest.mark.parametrize(
    ("population", "alternatives"),
    [
        (ACS_PCI, ["prasugrel", "ticagrelor"]),
        (NON_ACS, ["prasugrel", "ticagrelor"]),
        # CPIC: "Prasugrel is contraindicated in patients with a history of stroke or TIA."
        (NVI, ["ticagrelor"]),
    ],
)
def test_poor_metabolizer_alternatives_by_population(
    kb: KnowledgeBase, population: str, alternatives: list[str]
) -> None:
    [rec] = [r for r in clopidogrel(kb, genotype("*2/*2")).actionable if r.population == population]
    assert (rec.action, [a.drug for a in rec.alternatives]) == ("alternative", alternatives)


def test_poor_metabolizer_alternatives_name_their_populations(kb: KnowledgeBase) -> None:
    assert clopidogrel(kb, genotype("*2/*2")).alternatives == {
        "prasugrel": {ACS_PCI, NON_ACS},
        "ticagrelor": {ACS_PCI, NON_ACS, NVI},
    }


def test_strongest_recommendation_leads(kb: KnowledgeBase) -> None:
    lead = clopidogrel(kb, genotype("*2/*2")).lead
    assert lead is not None
    assert (lead.id, lead.population, lead.strength) == ("PA166297572", ACS_PCI, "strong")


def test_normal_metabolizer_gets_nothing_actionable(kb: KnowledgeBase) -> None:
    evaluation = clopidogrel(kb, genotype("*1/*1"))
    assert [r.action for r in evaluation.recommendations] == ["standard"] * 3
    assert (evaluation.actionable, evaluation.lead) == ((), None)


@pytest.mark.parametrize(
    ("result", "note"),
    [
        pytest.param(genotype("*1/*99"), "CYP2C19 *1/*99 is not in the CPIC tables", id="unknown"),
        pytest.param(genotype("*2"), "CYP2C19 *2 is not in the CPIC tables", id="one"),
        pytest.param(
            genotype("*1/*2/*3"),
            "CYP2C19 *1/*2/*3 is not in the CPIC tables",
            id="three alleles",
        ),
        # An unreadable diplotype never falls back to the lab's phenotype: that would be a guess.
        pytest.param(
            GeneResult("CYP2C19", diplotype="*1/*99", reported_phenotype="Poor Metabolizer"),
            "CYP2C19 *1/*99 is not in the CPIC tables",
            id="unknown diplotype with a reported phenotype",
        ),
        pytest.param(
            GeneResult("CYP2C19", reported_phenotype="poor metabolizer"),
            "CYP2C19 result has neither a diplotype nor a CPIC phenotype",
            id="phenotype not spelt as a CPIC key",
        ),
        pytest.param(
            GeneResult("CYP2C19", reported_phenotype="PM"),
            "CYP2C19 result has neither a diplotype nor a CPIC phenotype",
            id="abbreviated phenotype",
        ),
        pytest.param(
            GeneResult("CYP2C19"),
            "CYP2C19 result has neither a diplotype nor a CPIC phenotype",
            id="empty result",
        ),
        pytest.param(None, "no CYP2C19 result on file", id="no result"),
    ],
)
def test_unusable_result_gives_a_note_and_no_recommendation(
    kb: KnowledgeBase, result: GeneResult | None, note: str
) -> None:
    evaluation = clopidogrel(kb, result)
    [call] = evaluation.calls
    assert (call.note, call.phenotype, call.lookup_key) == (note, None, None)
    assert evaluation.recommendations == ()


@pytest.mark.parametrize(
    ("phenotype", "actions"),
    [
        ("Poor Metabolizer", ["alternative"] * 3),
        ("Likely Intermediate Metabolizer", ["alternative", "no-recommendation", "alternative"]),
        ("Normal Metabolizer", ["standard"] * 3),
    ],
)
def test_reported_phenotype_without_diplotype_is_used_when_it_is_a_lookup_key(
    kb: KnowledgeBase, phenotype: str, actions: list[str]
) -> None:
    evaluation = clopidogrel(kb, GeneResult("CYP2C19", reported_phenotype=phenotype))
    [call] = evaluation.calls
    assert (call.lookup_key, call.note) == (phenotype, None)
    assert [r.action for r in evaluation.recommendations] == actions


def test_diplotype_is_shown_as_the_table_spells_it(kb: KnowledgeBase) -> None:
    [call] = clopidogrel(kb, genotype("*17 / *1")).calls
    assert (call.diplotype, call.phenotype) == ("*1/*17", "Rapid Metabolizer")


def recommendation(
    action: str, strength: str, indicator: str | None = None, id: str = "PA0"
) -> Recommendation:
    return Recommendation.model_validate(
        {
            "id": id,
            "drug": "clopidogrel",
            "lookup_key": {"CYP2C19": "Poor Metabolizer"},
            "strength": strength,
            "action": action,
            "indicator": indicator,
            "recommendation": "text",
        }
    )


@pytest.mark.parametrize(
    ("action", "strength", "override", "indicator"),
    [
        ("contraindicated", "strong", None, "critical"),
        ("contraindicated", "optional", None, "critical"),
        ("alternative", "strong", None, "warning"),
        ("alternative", "moderate", None, "warning"),
        ("alternative", "optional", None, "info"),
        ("alternative", "no recommendation", None, "info"),
        ("dose-adjustment", "strong", None, "warning"),
        ("dose-adjustment", "moderate", None, "warning"),
        ("dose-adjustment", "optional", None, "info"),
        ("caution", "strong", None, "info"),
        ("standard", "strong", None, "info"),
        ("no-recommendation", "no recommendation", None, "info"),
        # The YAML's indicator wins, up or down.
        ("alternative", "optional", "critical", "critical"),
        ("contraindicated", "strong", "info", "info"),
        ("caution", "moderate", "warning", "warning"),
    ],
)
def test_indicator_for(action: str, strength: str, override: str | None, indicator: str) -> None:
    assert indicator_for(recommendation(action, strength, override)) == indicator


@pytest.mark.parametrize(
    ("recommendations", "lead"),
    [
        pytest.param(
            [("alternative", "optional"), ("alternative", "moderate")],
            "PA1",
            id="warning before info",
        ),
        pytest.param(
            [("alternative", "moderate"), ("dose-adjustment", "strong")],
            "PA1",
            id="strong before moderate",
        ),
        pytest.param(
            [("alternative", "strong"), ("contraindicated", "optional")],
            "PA1",
            id="critical before strong warning",
        ),
        pytest.param(
            [("alternative", "strong"), ("alternative", "strong")], "PA0", id="first of equals"
        ),
        pytest.param(
            [("standard", "strong"), ("no-recommendation", "no recommendation")],
            None,
            id="nothing actionable",
        ),
    ],
)
def test_lead_is_the_most_urgent_then_strongest(
    kb: KnowledgeBase, recommendations: list[tuple[str, str]], lead: str | None
) -> None:
    evaluation = Evaluation(
        kb.guidelines["cpic-clopidogrel"],
        "clopidogrel",
        (),
        tuple(recommendation(a, s, id=f"PA{i}") for i, (a, s) in enumerate(recommendations)),
    )
    got = None if evaluation.lead is None else evaluation.lead.id
    assert got == lead


def test_a_partial_hla_reading_that_answers_nothing_here_is_flagged(kb: KnowledgeBase) -> None:
    # Only HLA-B*15:02 was tested: abacavir asks about *57:01, which the result cannot answer.
    only_1502 = GeneResult("HLA-B", carriers=frozenset({"*15:02"}))
    [abacavir] = evaluate(kb, "abacavir", {"HLA-B": only_1502})
    assert abacavir.recommendations == ()
    [call] = abacavir.uninterpretable
    assert call.note is not None
    assert "*57:01" in call.note
    # Carbamazepine asks about *15:02: the same result answers it.
    carbamazepine = evaluate(kb, "carbamazepine", {"HLA-B": only_1502})
    assert any(e.recommendations for e in carbamazepine)
    assert not any(e.uninterpretable for e in carbamazepine)
