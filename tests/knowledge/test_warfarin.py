"""Warfarin: CPIC's flowchart read from its diagram, encoded as rules, and evaluated per patient."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from knowledge import GeneResult, KnowledgeBase, KnowledgeLoadError, evaluate, load_knowledge_base
from knowledge.evaluate import Evaluation
from knowledge.generation.common import GenerationError
from knowledge.generation.warfarin import Diagram, generate_warfarin, read_diagram
from knowledge.loader import bundled_root
from knowledge.schema import Recommendation
from knowledge.yaml_source import load_plain

BUNDLED = Path(str(bundled_root()))
ADULT = "cpic-data/warfarin/warfarin_recommendation_diagram.graphml"
CHILD = "cpic-data/warfarin/warfarin_pediatric_recommendation_diagram.graphml"
VKORC1_GG = "rs9923231 reference (C)/rs9923231 reference (C)"
VKORC1_AG = "rs9923231 reference (C)/rs9923231 variant (T)"


@pytest.fixture(scope="module")
def adult(shared: Path) -> Diagram:
    return read_diagram(shared, ADULT)


@pytest.fixture
def curation() -> dict[str, Any]:
    data: dict[str, Any] = load_plain((BUNDLED / "curation/warfarin.yaml").read_text())
    return data


def rule(curation: dict[str, Any], ident: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in curation["rules"] if r["id"] == ident)
    return found


def warfarin(kb: KnowledgeBase, **genotypes: str) -> Evaluation:
    results = {gene: GeneResult(gene, diplotype=d) for gene, d in genotypes.items()}
    [evaluation] = evaluate(kb, "warfarin", results)
    return evaluation


def matched(evaluation: Evaluation) -> set[str]:
    return {r.id for r in evaluation.recommendations}


# --- the diagram ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("box", "strength"),
    [
        (
            "VKORC1-1639G>A and CYP2C9*2 and *3: Calculate dose based on validated published "
            "pharmacogenetic algorithms",
            "strong",
        ),
        ("Carriers of the CYP4F2 rs2108622 T allele: Increase dose by 5-10%", "optional"),
        ("2) Carriers of CYP2C9*5", "moderate"),
        ("rs12777823 A carriers: decrease dose by 10-25%", "moderate"),
        ("rs12777823 tested?", None),
        ("Dose clinically", None),
    ],
)
def test_strength_is_the_label_beside_the_box(adult: Diagram, box: str, strength: str) -> None:
    assert adult.strength_of(adult.find(box)) == strength


def test_legend_and_footnote_marks_are_read(adult: Diagram) -> None:
    assert sorted(adult.legend) == list("abcdefgh")
    assert adult.legend["g"] == (
        "Larger dose reduction might be needed in variant homozygotes (i.e. 20-40%)."
    )
    # The source writes this mark "<supf</sup>"; it is still footnote (f).
    [first, _] = adult.candidates("For loading dose")
    assert first.footnotes == ("f",)
    assert first.text == (
        "For loading dose, a pharmacogenetics-based warfarin initiation dose algorithm "
        "could be considered."
    )


def test_a_path_must_follow_the_diagram_edges(adult: Diagram) -> None:
    box = adult.check_path(["genotype available? [NO]", "Dose clinically"])
    assert box.text == "Dose clinically"
    with pytest.raises(GenerationError, match="no edge"):
        adult.check_path(["genotype available? [YES]", "Dose clinically"])
    with pytest.raises(GenerationError, match="no edge"):
        adult.check_path(["Self-identified ancestry", "rs12777823 tested?"])


def test_a_quote_naming_no_box_or_several_is_refused(adult: Diagram) -> None:
    with pytest.raises(GenerationError, match="no box"):
        adult.find("Increase dose by 50%")
    with pytest.raises(GenerationError, match="2 boxes"):
        adult.find("For loading dose")


# --- the generator ----------------------------------------------------------------------------


def test_curated_strength_must_agree_with_the_diagram(
    shared: Path, curation: dict[str, Any]
) -> None:
    rule(curation, "warfarin-adult-non-african-algorithm")["strength"] = "moderate"
    with pytest.raises(GenerationError, match="the diagram says 'strong'"):
        generate_warfarin(shared, curation)


def test_an_unlabelled_box_needs_a_curated_strength(shared: Path, curation: dict[str, Any]) -> None:
    del rule(curation, "warfarin-child-non-european")["strength"]
    with pytest.raises(GenerationError, match="no strength label"):
        generate_warfarin(shared, curation)


def test_a_dose_quote_must_be_in_the_box(shared: Path, curation: dict[str, Any]) -> None:
    rule(curation, "warfarin-adult-non-african-cyp4f2-rs2108622-t")["dose_adjustment"]["quote"] = (
        "Increase dose by 10-20%"
    )
    with pytest.raises(GenerationError, match="dose quote"):
        generate_warfarin(shared, curation)


def test_a_footnote_rule_inherits_the_strength_of_the_box_citing_it(
    shared: Path, curation: dict[str, Any]
) -> None:
    data = generate_warfarin(shared, copy.deepcopy(curation))
    by_id = {r["id"]: r for r in data["recommendations"]}
    assert by_id["warfarin-adult-non-african-cyp2c9-poor-metabolizer"]["strength"] == "strong"
    assert by_id["warfarin-adult-african-cyp2c9-poor-metabolizer"]["strength"] == "moderate"
    assert by_id["warfarin-adult-african-cyp2c9-poor-metabolizer"]["recommendation"].startswith(
        "Consider an alternative agent"
    )
    # A box that does not cite the footnote cannot lend it a strength.
    rule(curation, "warfarin-adult-african-cyp2c9-poor-metabolizer")["cited_by"] = {
        "adult": "rs12777823 A carriers"
    }
    with pytest.raises(GenerationError, match=r"does not cite \(e\)"):
        generate_warfarin(shared, curation)


def test_rs2108622_t_carriers_come_from_the_cyp4f2_definitions(
    shared: Path, curation: dict[str, Any]
) -> None:
    data = generate_warfarin(shared, curation)
    [row] = [r for r in data["recommendations"] if "CYP4F2" in r["when"]]
    assert row["when"]["CYP4F2"] == {"carries": ["*3", "*4", "*22"]}
    assert data["variants"]["rs12777823"] | {"source": ""} == {
        "gene": "CYP2C9",
        "chromosome": "chr10",
        "position": 94645745,
        "ref": "G",
        "alt": ["A"],
        "source": "",
    }


# --- evaluation -------------------------------------------------------------------------------


def test_both_genotypes_ask_for_a_dose_calculation(kb: KnowledgeBase) -> None:
    evaluation = warfarin(kb, CYP2C9="*1/*1", VKORC1=VKORC1_GG)
    assert evaluation.lead is not None
    assert evaluation.lead.id == "warfarin-adult-non-african-algorithm"
    assert evaluation.lead.dose_calculation == "warfarin-pharmacogenetic"
    assert evaluation.indicator == "info"
    assert matched(evaluation) == {
        "warfarin-adult-non-african-algorithm",
        "warfarin-adult-non-african-loading-dose",
        "warfarin-adult-african-algorithm",
        "warfarin-adult-african-cyp2c9-variants-not-tested",
        "warfarin-adult-african-loading-dose",
        "warfarin-child-european-algorithm",
        "warfarin-child-non-european",
    }


@pytest.mark.parametrize(
    "genotypes",
    [{"CYP2C9": "*3/*3"}, {"VKORC1": VKORC1_AG}, {}],
    ids=["CYP2C9 only", "VKORC1 only", "neither"],
)
def test_without_both_genotypes_dose_clinically(
    kb: KnowledgeBase, genotypes: dict[str, str]
) -> None:
    evaluation = warfarin(kb, **genotypes)
    assert matched(evaluation) <= {"warfarin-cyp2c9-not-tested", "warfarin-vkorc1-not-tested"}
    assert matched(evaluation)
    assert evaluation.indicator is None


def test_cyp2c9_poor_metabolizer_is_advised_an_alternative_agent(kb: KnowledgeBase) -> None:
    evaluation = warfarin(kb, CYP2C9="*2/*3", VKORC1=VKORC1_GG)
    assert evaluation.indicator == "warning"
    assert {r.id for r in evaluation.actionable if r.action == "alternative"} == {
        "warfarin-adult-non-african-cyp2c9-poor-metabolizer",
        "warfarin-adult-african-cyp2c9-poor-metabolizer",
    }
    # *2/*2 is an intermediate metabolizer (activity score 1.0): no such advice.
    assert not any(
        r.action == "alternative"
        for r in warfarin(kb, CYP2C9="*2/*2", VKORC1=VKORC1_GG).recommendations
    )


def test_cyp2c9_african_variant_carriers_are_tested_and_decrease_the_dose(
    kb: KnowledgeBase,
) -> None:
    evaluation = warfarin(kb, CYP2C9="*1/*11", VKORC1=VKORC1_AG)
    ids = matched(evaluation)
    assert "warfarin-adult-african-cyp2c9-variant-carriers" in ids
    assert "warfarin-adult-non-african-cyp2c9-variant-carriers" in ids
    # Carrying *11 shows it was tested: the "not tested, dose clinically" row does not apply.
    assert "warfarin-adult-african-cyp2c9-variants-not-tested" not in ids
    carriers = next(
        r for r in evaluation.actionable if r.id == "warfarin-adult-african-cyp2c9-variant-carriers"
    )
    assert carriers.dose_adjustment is not None
    assert (carriers.dose_adjustment.percent_of_standard, carriers.dose_adjustment.basis) == (
        70,
        "calculated dose",
    )


@pytest.mark.parametrize(
    ("cyp4f2", "applies"),
    [("*1/*3", True), ("*4/*4", True), ("*1/*22", True), ("*1/*2", False), ("*1/*1", False)],
)
def test_cyp4f2_rs2108622_t_carriers_increase_the_dose(
    kb: KnowledgeBase, cyp4f2: str, applies: bool
) -> None:
    evaluation = warfarin(kb, CYP2C9="*1/*1", VKORC1=VKORC1_GG, CYP4F2=cyp4f2)
    assert ("warfarin-adult-non-african-cyp4f2-rs2108622-t" in matched(evaluation)) is applies
    # CPIC assigns CYP4F2 no phenotype; its known alleles are still a readable result here.
    assert evaluation.uninterpretable == ()


def test_an_unknown_cyp4f2_allele_is_reported_not_guessed(kb: KnowledgeBase) -> None:
    evaluation = warfarin(kb, CYP2C9="*1/*1", VKORC1=VKORC1_GG, CYP4F2="*1/*99")
    assert "warfarin-adult-non-african-cyp4f2-rs2108622-t" not in matched(evaluation)
    assert [c.gene for c in evaluation.uninterpretable] == ["CYP4F2"]


@pytest.mark.parametrize(("genotype", "read_as"), [("G/A", "G/A"), ("A/G", "G/A"), ("A|A", "A/A")])
def test_rs12777823_a_carriers_decrease_the_dose(
    kb: KnowledgeBase, genotype: str, read_as: str
) -> None:
    evaluation = warfarin(kb, CYP2C9="*1/*1", VKORC1=VKORC1_GG, rs12777823=genotype)
    assert "warfarin-adult-african-american-rs12777823-a" in matched(evaluation)
    [call] = [c for c in evaluation.calls if c.gene == "rs12777823"]
    assert call.diplotype == read_as


def test_rs12777823_non_carriers_and_unreadable_genotypes_do_not(kb: KnowledgeBase) -> None:
    assert "warfarin-adult-african-american-rs12777823-a" not in matched(
        warfarin(kb, CYP2C9="*1/*1", VKORC1=VKORC1_GG, rs12777823="G/G")
    )
    unreadable = warfarin(kb, CYP2C9="*1/*1", VKORC1=VKORC1_GG, rs12777823="T/T")
    assert "warfarin-adult-african-american-rs12777823-a" not in matched(unreadable)
    [call] = unreadable.uninterpretable
    assert call.note == "rs12777823 genotype 'T/T' is not two of G, A"


def test_an_unreadable_cyp2c9_result_is_not_taken_as_tested(kb: KnowledgeBase) -> None:
    evaluation = warfarin(kb, CYP2C9="*1/*999", VKORC1=VKORC1_GG)
    assert matched(evaluation) == {"warfarin-cyp2c9-not-tested"}
    assert [c.gene for c in evaluation.uninterpretable] == ["CYP2C9"]
    assert evaluation.indicator == "info"


# --- the schema -------------------------------------------------------------------------------


def _row(**fields: Any) -> dict[str, Any]:
    return {
        "id": "r",
        "drug": "warfarin",
        "strength": "strong",
        "action": "dose-calculation",
        "recommendation": "x",
    } | fields


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "the row selects no patient"),
        (
            {"lookup_key": {"CYP2C9": "1.0"}, "when": {"CYP2C9": {"tested": True}}},
            "give one of lookup_key",
        ),
        ({"when": {"CYP2C9": {}}}, "the condition is empty"),
        (
            {"when": {"CYP2C9": {"tested": True}}, "dose_calculation": "iwpc-2009"},
            "dose_calculation 'iwpc-2009' is unknown",
        ),
    ],
)
def test_schema_refuses_malformed_rules(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Recommendation.model_validate(_row(**fields))


# --- the checks -------------------------------------------------------------------------------

WARFARIN_FILES = (
    "drugs.yaml",
    "genes/CYP2C9.yaml",
    "genes/CYP4F2.yaml",
    "genes/VKORC1.yaml",
    "guidelines/cpic-warfarin.yaml",
)


@pytest.fixture
def warfarin_copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    for name in WARFARIN_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes((BUNDLED / name).read_bytes())
    return root


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      - '*22'\n",
            "      - '*99'\n",
            "recommendations[5].when.CYP4F2: *99 is not a CYP4F2 allele. Use allele names",
        ),
        (
            "    rs12777823:\n      carries:",
            "    rs1234:\n      carries:",
            "recommendations[10].when.rs1234: 'rs1234' is neither one of the guideline's genes "
            "nor one of its variants. Add it to genes",
        ),
        (
            "      - Poor Metabolizer\n",
            "      - Slow Metabolizer\n",
            "recommendations[11].when.CYP2C9: 'Slow Metabolizer' is not a CYP2C9 phenotype",
        ),
        (
            "    rs12777823:\n      carries:\n      - A\n",
            "    rs12777823:\n      carries:\n      - A\n      phenotype: [A carrier]\n",
            "recommendations[10].when.rs12777823: rs12777823 has no phenotypes to match",
        ),
    ],
    ids=["unknown allele", "unknown locus", "unknown phenotype", "phenotype of a variant"],
)
def test_checks_refuse_rules_naming_unknown_things(
    warfarin_copy: Path, old: str, new: str, message: str
) -> None:
    path = warfarin_copy / "guidelines/cpic-warfarin.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeLoadError) as caught:
        load_knowledge_base(warfarin_copy)
    errors = [str(e) for e in caught.value.errors]
    assert any(message in e for e in errors), errors
    # Every error points at a line and column of the file.
    assert all(e.startswith(f"{path}:") for e in errors), errors


def test_the_warfarin_copy_loads_unedited(warfarin_copy: Path) -> None:
    assert "cpic-warfarin" in load_knowledge_base(warfarin_copy).guidelines
