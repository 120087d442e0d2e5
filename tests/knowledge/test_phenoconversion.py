"""Phenoconversion: the inhibitor tables as shipped, and the phenotype a co-medication leaves."""

from __future__ import annotations

from importlib.resources import files

import pytest

from knowledge import GeneResult, KnowledgeBase, evaluate, load_knowledge_base
from knowledge.evaluate import GeneCall, call_gene
from knowledge.patient import Comedication
from knowledge.phenoconversion import InhibitorTaken, inhibitors_taken, phenoconvert
from knowledge.schema import Inhibitor, InhibitorTable, Phenoconversion
from knowledge.validation import validate_document
from knowledge.yaml_source import parse_yaml

GENES = ("CYP2C19", "CYP2D6")
ORDER = "MedicationRequest/7 (active)"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def read_table(gene: str) -> InhibitorTable:
    """The shipped ``knowledge/interactions/<gene>.yaml``, through the pharmacist-facing checks."""
    path = f"knowledge/interactions/{gene}.yaml"
    text = files("knowledge").joinpath("interactions", f"{gene}.yaml").read_text("utf-8")
    document, errors = parse_yaml(text, path)
    assert document is not None, errors
    table, errors = validate_document(InhibitorTable, document)
    assert table is not None, [str(e) for e in errors]
    return table


@pytest.fixture(scope="module")
def tables() -> dict[str, InhibitorTable]:
    return {gene: read_table(gene) for gene in GENES}


def genotype(kb: KnowledgeBase, gene: str, diplotype: str) -> GeneCall:
    return call_gene(kb, gene, GeneResult(gene, diplotype=diplotype))


def taking(*drugs: str) -> list[Comedication]:
    return [Comedication(drug, ORDER) for drug in drugs]


def converted(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable], gene: str, diplotype: str, *drugs: str
) -> GeneCall:
    call = genotype(kb, gene, diplotype)
    return phenoconvert(call, tables[gene], kb.genes[gene], taking(*drugs))


# --- the tables as shipped ---------------------------------------------------------------------


@pytest.mark.parametrize("gene", GENES)
def test_table_is_for_its_gene(tables: dict[str, InhibitorTable], gene: str) -> None:
    assert tables[gene].gene == gene


def test_cyp2d6_rule_is_cpic_factor_with_its_quote(tables: dict[str, InhibitorTable]) -> None:
    rule = tables["CYP2D6"].phenoconversion
    assert rule is not None
    assert rule.activity_score_factor == {"strong": 0.0, "moderate": 0.5}
    assert "multiplied by 0.5" in rule.quote
    assert "PMID 33387367" in rule.source


def test_cyp2c19_has_no_rule(tables: dict[str, InhibitorTable]) -> None:
    assert tables["CYP2C19"].phenoconversion is None


def shipped_codes() -> list[tuple[str, str, str]]:
    return [
        (gene, name, inhibitor.rxnorm)
        for gene in GENES
        for name, inhibitor in read_table(gene).inhibitors.items()
        if inhibitor.rxnorm is not None
    ]


@pytest.mark.parametrize(
    ("gene", "drug", "rxnorm"), shipped_codes(), ids=[f"{g}::{d}" for g, d, _ in shipped_codes()]
)
def test_rxnorm_agrees_with_drugs_yaml(
    kb: KnowledgeBase, gene: str, drug: str, rxnorm: str
) -> None:
    known = kb.drugs.get(drug)
    if known is None:
        pytest.skip(f"{drug} is not in knowledge/drugs.yaml")
    assert known.rxnorm == rxnorm, f"{gene} {drug}: drugs.yaml has {known.rxnorm}"


def test_every_coded_inhibitor_is_in_drugs_yaml(kb: KnowledgeBase) -> None:
    missing = [drug for _, drug, _ in shipped_codes() if drug not in kb.drugs]
    assert missing == []


# --- CYP2D6: CPIC's activity score rule --------------------------------------------------------


def test_strong_inhibitor_makes_a_normal_metabolizer_poor(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable]
) -> None:
    before = genotype(kb, "CYP2D6", "*1/*1")
    assert (before.activity_score, before.phenotype) == ("2.0", "Normal Metabolizer")
    call = phenoconvert(before, tables["CYP2D6"], kb.genes["CYP2D6"], taking("paroxetine"))
    assert (call.activity_score, call.phenotype, call.lookup_keys) == (
        "0.0",
        "Poor Metabolizer",
        frozenset({"0.0"}),
    )
    assert call.conversion is not None
    assert call.conversion.applied
    assert (call.conversion.genotype_phenotype, call.conversion.genotype_activity_score) == (
        "Normal Metabolizer",
        "2.0",
    )
    assert call.conversion.inhibitors == (("paroxetine", "strong", ORDER),)
    assert "adjusted to 0" in call.conversion.basis
    assert (call.diplotype, call.result) == (before.diplotype, before.result)


@pytest.mark.parametrize(
    ("diplotype", "drugs", "score", "phenotype"),
    [
        ("*1/*1", ("duloxetine",), "1.0", "Intermediate Metabolizer"),
        ("*1/*2x2", ("duloxetine",), "1.5", "Normal Metabolizer"),
        ("*1/*2x2", ("paroxetine",), "0.0", "Poor Metabolizer"),
        ("*1/*1", ("duloxetine", "bupropion"), "0.0", "Poor Metabolizer"),
        ("*1/*1", ("Paroxetine",), "0.0", "Poor Metabolizer"),
        ("*1/*1x3", ("fluoxetine",), "0.0", "Poor Metabolizer"),
        ("*4/*4", ("paroxetine",), "0.0", "Poor Metabolizer"),
    ],
    ids=[
        "normal + moderate -> intermediate",
        "ultrarapid 3.0 + moderate -> normal",
        "ultrarapid + strong -> poor",
        "strong wins over moderate",
        "name case ignored",
        "at-least score x 0 is 0",
        "poor stays poor",
    ],
)
def test_activity_score_conversion(
    kb: KnowledgeBase,
    tables: dict[str, InhibitorTable],
    diplotype: str,
    drugs: tuple[str, ...],
    score: str,
    phenotype: str,
) -> None:
    call = converted(kb, tables, "CYP2D6", diplotype, *drugs)
    assert (call.activity_score, call.phenotype, call.lookup_keys) == (
        score,
        phenotype,
        frozenset({score}),
    )
    assert call.conversion is not None
    assert call.conversion.applied


def test_ultrarapid_genotype_is_recorded(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable]
) -> None:
    call = converted(kb, tables, "CYP2D6", "*1/*2x2", "duloxetine")
    assert call.conversion is not None
    assert (call.conversion.genotype_phenotype, call.conversion.genotype_activity_score) == (
        "Ultrarapid Metabolizer",
        "3.0",
    )


def test_strongest_inhibitor_is_named_first(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable]
) -> None:
    call = converted(kb, tables, "CYP2D6", "*1/*1", "duloxetine", "sertraline", "bupropion")
    assert call.conversion is not None
    assert call.conversion.inhibitors == (
        ("bupropion", "strong", ORDER),
        ("duloxetine", "moderate", ORDER),
    )


@pytest.mark.parametrize(
    "drugs",
    [(), ("sertraline",), ("escitalopram", "celecoxib"), ("acetaminophen",)],
    ids=["nothing taken", "weak", "two weak", "not an inhibitor"],
)
def test_no_strong_or_moderate_inhibitor_leaves_the_call_itself(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable], drugs: tuple[str, ...]
) -> None:
    call = genotype(kb, "CYP2D6", "*1/*1")
    assert phenoconvert(call, tables["CYP2D6"], kb.genes["CYP2D6"], taking(*drugs)) is call


@pytest.mark.parametrize(
    ("diplotype", "why"),
    [
        ("*4/*10", "not a score"),  # 0.25 x 0.5 = 0.125: between poor (0.0) and intermediate
        ("*1/*1x3", "not a score"),  # ≥4.0 x 0.5 = ≥2.0: normal or ultrarapid
        ("*1/*22", "no activity score"),  # uncertain function: Indeterminate, "n/a"
    ],
    ids=["between phenotypes", "lower bound only", "indeterminate"],
)
def test_score_the_rule_cannot_place_is_left_unconverted(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable], diplotype: str, why: str
) -> None:
    before = genotype(kb, "CYP2D6", diplotype)
    call = phenoconvert(before, tables["CYP2D6"], kb.genes["CYP2D6"], taking("duloxetine"))
    assert call.conversion is not None
    assert not call.conversion.applied
    assert why in call.conversion.basis
    assert (call.phenotype, call.activity_score, call.lookup_keys) == (
        before.phenotype,
        before.activity_score,
        before.lookup_keys,
    )
    assert call.conversion.inhibitors == (("duloxetine", "moderate", ORDER),)


@pytest.mark.parametrize(
    "call",
    [
        GeneCall("CYP2D6", None, note="no CYP2D6 result on file"),
        GeneCall("CYP2D6", GeneResult("CYP2D6", diplotype="*1/*999"), note="not in the tables"),
    ],
    ids=["no result", "unreadable result"],
)
def test_nothing_to_convert_still_names_the_inhibitor(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable], call: GeneCall
) -> None:
    out = phenoconvert(call, tables["CYP2D6"], kb.genes["CYP2D6"], taking("paroxetine"))
    assert out.conversion is not None
    assert not out.conversion.applied
    assert out.conversion.inhibitors == (("paroxetine", "strong", ORDER),)
    assert (out.phenotype, out.lookup_keys, out.note) == (None, frozenset(), call.note)


def test_converted_call_selects_cpic_codeine_poor_metabolizer_row(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable]
) -> None:
    call = converted(kb, tables, "CYP2D6", "*1/*1", "paroxetine")
    guideline = kb.guidelines["cpic-codeine"]
    rows = [
        r
        for r in guideline.recommendations
        if r.drug == "codeine" and r.lookup_key.get("CYP2D6") in call.match_keys
    ]
    assert [(r.lookup_key["CYP2D6"], r.action, r.strength) for r in rows] == [
        ("0.0", "alternative", "strong")
    ]
    assert kb.genes["CYP2D6"].activity_score_phenotypes["0.0"] == "Poor Metabolizer"


def test_a_gene_is_not_converted_by_another_genes_table(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable]
) -> None:
    call = genotype(kb, "CYP2D6", "*1/*1")
    with pytest.raises(ValueError, match="CYP2C19/CYP2D6 given for a CYP2D6 call"):
        phenoconvert(call, tables["CYP2C19"], kb.genes["CYP2D6"], taking("paroxetine"))


# --- CYP2C19: no sourced rule ------------------------------------------------------------------


def test_cyp2c19_inhibitor_is_named_but_does_not_convert(
    kb: KnowledgeBase, tables: dict[str, InhibitorTable]
) -> None:
    before = genotype(kb, "CYP2C19", "*1/*1")
    call = phenoconvert(before, tables["CYP2C19"], kb.genes["CYP2C19"], taking("fluvoxamine"))
    assert (call.phenotype, call.lookup_keys) == ("Normal Metabolizer", before.lookup_keys)
    assert call.conversion is not None
    assert not call.conversion.applied
    assert call.conversion.inhibitors == (("fluvoxamine", "strong", ORDER),)
    assert "may be lower than the genotype predicts" in call.conversion.basis


# --- the phenotype_after method, on a made-up table (no such rule is published) ---------------


@pytest.fixture
def made_up() -> InhibitorTable:
    return InhibitorTable(
        gene="CYP2C19",
        source=read_table("CYP2C19").source,
        url="https://example.org/test-only",
        phenoconversion=Phenoconversion(
            phenotype_after={"strong": {"Normal Metabolizer": "Poor Metabolizer"}},
            source="test only",
            quote="test only",
        ),
        inhibitors={
            "inhibitor-s": Inhibitor(strength="strong", synonyms=["S-BRAND"]),
            "inhibitor-m": Inhibitor(strength="moderate"),
        },
    )


def test_phenotype_after_maps_the_phenotype(kb: KnowledgeBase, made_up: InhibitorTable) -> None:
    before = genotype(kb, "CYP2C19", "*1/*1")
    call = phenoconvert(before, made_up, kb.genes["CYP2C19"], taking("s-brand"))
    assert (call.phenotype, call.lookup_keys) == (
        "Poor Metabolizer",
        frozenset({"Poor Metabolizer"}),
    )
    assert call.conversion is not None
    assert call.conversion.applied
    assert call.conversion.genotype_phenotype == "Normal Metabolizer"


@pytest.mark.parametrize(
    ("diplotype", "drug"),
    [("*2/*2", "inhibitor-s"), ("*1/*1", "inhibitor-m")],
    ids=["phenotype not listed", "no mapping for moderate"],
)
def test_phenotype_after_leaves_unlisted_phenotypes(
    kb: KnowledgeBase, made_up: InhibitorTable, diplotype: str, drug: str
) -> None:
    before = genotype(kb, "CYP2C19", diplotype)
    call = phenoconvert(before, made_up, kb.genes["CYP2C19"], taking(drug))
    assert call.phenotype == before.phenotype
    assert call.conversion is not None
    assert not call.conversion.applied


def test_inhibitors_taken_lists_each_drug_once(made_up: InhibitorTable) -> None:
    taken = [
        Comedication("inhibitor-m", "MedicationStatement/1"),
        Comedication("S-BRAND", "MedicationRequest/2"),
        Comedication("inhibitor-s", "MedicationRequest/3"),
    ]
    assert inhibitors_taken(made_up, taken) == [
        InhibitorTaken("inhibitor-s", "strong", "MedicationRequest/2"),
        InhibitorTaken("inhibitor-m", "moderate", "MedicationStatement/1"),
    ]


def test_the_cyp2d6_rule_is_applied_only_to_the_drugs_its_source_states_it_for() -> None:
    kb = load_knowledge_base()
    results = {"CYP2D6": GeneResult("CYP2D6", diplotype="*1/*1")}
    taking = [Comedication("paroxetine", "MedicationStatement/ms-1 (active)")]

    (codeine,) = [
        e
        for e in evaluate(kb, "codeine", results, comedications=taking)
        if e.guideline.id == "cpic-codeine"
    ]
    (amitriptyline,) = evaluate(kb, "amitriptyline", results, comedications=taking)

    converted = next(c for c in codeine.calls if c.gene == "CYP2D6")
    kept = next(c for c in amitriptyline.calls if c.gene == "CYP2D6")
    assert converted.phenotype == "Poor Metabolizer"
    assert kept.phenotype == "Normal Metabolizer"
    assert kept.conversion is not None
    assert not kept.conversion.applied
    assert "paroxetine" in kept.conversion.inhibitors[0]
