"""The patient-view summary card: actionable results and the drugs they affect, reports linked."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cds_hooks.cards import KNOWLEDGE_VERSION, MAX_SUMMARY
from cds_hooks.patient_summary import drugs_affected, patient_summary_card
from fhir_adapters import GenotypeReadout, read_genotypes
from fhir_adapters.reports import ReportLink
from knowledge import GeneResult, KnowledgeBase
from tests.builders import genotype_observation

HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
PATIENT = "Patient/p1"
REPORT = ReportLink(
    "https://reports.example.org/pgx/p1.html", "Pharmacogenomic report", "2026-10-02"
)


def readout(kb: KnowledgeBase, *observations: dict[str, Any]) -> GenotypeReadout:
    return read_genotypes(observations, kb.genes_by_hgnc, kb=kb)


def card_for(
    kb: KnowledgeBase, *observations: dict[str, Any], reports: tuple[ReportLink, ...] = ()
) -> dict[str, Any]:
    card = patient_summary_card(readout(kb, *observations), kb, reports, HOOK_INSTANCE, PATIENT)
    assert card is not None
    return card


@pytest.fixture
def card(kb: KnowledgeBase) -> dict[str, Any]:
    """CYP2C19 poor metabolizer, normal CYP2D6, SLCO1B1 poor function; a report on file."""
    return card_for(
        kb,
        genotype_observation("CYP2C19", "*2/*2"),
        genotype_observation("CYP2D6", "*1/*1"),
        genotype_observation("SLCO1B1", "*5/*5"),
        reports=(REPORT,),
    )


def table_rows(detail: str) -> dict[str, list[str]]:
    """Gene → the cells of its row in the detail's table."""
    rows = [line for line in detail.splitlines() if line.startswith("| **")]
    cells = [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]
    return {c[0].strip("*"): c[1:] for c in cells}


def test_the_actionable_genes_are_tabled_with_their_drugs(card: dict[str, Any]) -> None:
    rows = table_rows(card["detail"])

    assert set(rows) == {"CYP2C19", "SLCO1B1"}
    result, phenotype, drugs = rows["CYP2C19"]
    assert (result, phenotype) == ("`*2/*2`", "Poor Metabolizer")
    assert "clopidogrel" in drugs
    assert rows["SLCO1B1"][1] == "Poor Function"
    assert "simvastatin" in rows["SLCO1B1"][2]
    assert card["detail"].startswith("| Gene | Result | Phenotype | Drugs affected |\n|---|")


def test_a_normal_result_is_on_file_but_not_actionable(card: dict[str, Any]) -> None:
    assert "CYP2D6" not in table_rows(card["detail"])
    assert (
        "Also on file, no change advised: CYP2D6 `*1/*1` (Normal Metabolizer)." in (card["detail"])
    )
    assert "CYP2D6" not in card["summary"]


def test_the_summary_counts_genes_and_drugs(card: dict[str, Any]) -> None:
    assert re.fullmatch(
        r"Pharmacogenomic results on file: 2 actionable \(CYP2C19, SLCO1B1\) affecting \d+ drugs",
        card["summary"],
    )
    drugs = int(card["summary"].split("affecting ")[1].split()[0])
    listed = {
        d.strip()
        for cells in table_rows(card["detail"]).values()
        for d in re.sub(r" and \d+ more$", "", cells[2]).split(",")
    }
    assert drugs >= len(listed) >= 10


def test_the_card_is_info_sourced_and_stable(card: dict[str, Any], kb: KnowledgeBase) -> None:
    assert card["indicator"] == "info"
    assert card["extension"] == {KNOWLEDGE_VERSION: kb.version}
    assert card["source"]["label"].startswith("Pharmacogenomic guidance: CPIC")
    assert f"(version {kb.version})" in card["detail"]
    again = card_for(
        kb,
        genotype_observation("CYP2C19", "*2/*2"),
        genotype_observation("CYP2D6", "*1/*1"),
        genotype_observation("SLCO1B1", "*5/*5"),
    )
    assert again["uuid"] == card["uuid"]
    other = patient_summary_card(
        readout(kb, genotype_observation("CYP2C19", "*2/*2")), kb, (), "another", PATIENT
    )
    assert other is not None
    assert other["uuid"] != card["uuid"]


def test_each_report_is_linked(card: dict[str, Any]) -> None:
    assert card["links"] == [
        {
            "label": "Pharmacogenomic report (2026-10-02)",
            "url": "https://reports.example.org/pgx/p1.html",
            "type": "absolute",
        }
    ]


def test_without_a_report_there_is_no_link(kb: KnowledgeBase) -> None:
    assert "links" not in card_for(kb, genotype_observation("CYP2C19", "*2/*2"))


def test_no_results_give_no_card(kb: KnowledgeBase) -> None:
    assert patient_summary_card(GenotypeReadout(), kb, (REPORT,), HOOK_INSTANCE, PATIENT) is None


def test_results_that_change_nothing_still_say_what_is_on_file(kb: KnowledgeBase) -> None:
    card = card_for(
        kb, genotype_observation("CYP2C19", "*1/*1"), genotype_observation("CYP2D6", "*1/*1")
    )

    assert card["summary"] == "Pharmacogenomic results on file (2 genes): no change to drug advice"
    assert "| Gene |" not in card["detail"]
    assert card["detail"].startswith(
        "On file, no change advised: CYP2C19 `*1/*1` (Normal Metabolizer); "
        "CYP2D6 `*1/*1` (Normal Metabolizer)."
    )


def test_conflicting_results_are_listed_for_confirmation(kb: KnowledgeBase) -> None:
    card = card_for(
        kb,
        genotype_observation("CYP2C19", "*1/*1", id="geno-a"),
        genotype_observation("CYP2C19", "*2/*2", id="geno-b"),
        genotype_observation("SLCO1B1", "*5/*5"),
    )

    assert "CYP2C19" not in table_rows(card["detail"])
    assert "**Needs confirmation** (results disagree, none of them is used):" in card["detail"]
    assert (
        "- **CYP2C19**: `*1/*1` (Observation/geno-a, 2024-05-14); "
        "`*2/*2` (Observation/geno-b, 2024-05-14). Confirm the CYP2C19 result."
    ) in card["detail"]
    assert card["summary"].endswith("; 1 to confirm (results disagree)")


def test_conflicts_alone_still_give_a_card(kb: KnowledgeBase) -> None:
    card = card_for(
        kb,
        genotype_observation("CYP2C19", "*1/*1", id="geno-a"),
        genotype_observation("CYP2C19", "*2/*2", id="geno-b"),
    )

    assert card["summary"] == (
        "Pharmacogenomic results on file (none usable): no change to drug advice; "
        "1 to confirm (results disagree)"
    )


def test_a_result_the_tables_cannot_read_is_not_guessed(kb: KnowledgeBase) -> None:
    card = card_for(kb, genotype_observation("CYP2C19", "*1/*99"))

    assert "| Gene |" not in card["detail"]
    assert "CYP2C19 `*1/*99` (not interpretable:" in card["detail"]


TEN_GENES = {
    "CYP2C19": "*2/*2",
    "CYP2D6": "*4/*4",
    "CYP2C9": "*1/*3",
    "SLCO1B1": "*5/*5",
    "TPMT": "*1/*3A",
    "NUDT15": "*1/*3",
    "CYP3A5": "*1/*1",
    "UGT1A1": "*28/*28",
    "CYP2B6": "*6/*6",
    "CYP4F2": "*3/*3",
}


def test_a_long_summary_drops_the_gene_names_to_stay_short(kb: KnowledgeBase) -> None:
    card = card_for(
        kb,
        *(genotype_observation(g, d) for g, d in TEN_GENES.items() if g != "CYP2C19"),
        genotype_observation("CYP2C19", "*1/*1", id="geno-a"),
        genotype_observation("CYP2C19", "*2/*2", id="geno-b"),
    )

    assert len(card["summary"]) <= MAX_SUMMARY
    assert re.fullmatch(
        r"Pharmacogenomic results on file: \d+ actionable genes affecting \d+ drugs"
        r"; 1 to confirm \(results disagree\)",
        card["summary"],
    )


def test_a_long_drug_list_is_cut_short(kb: KnowledgeBase) -> None:
    card = card_for(kb, genotype_observation("CYP2D6", "*4/*4"))

    drugs = table_rows(card["detail"])["CYP2D6"][2]
    named = drugs.split(" and ")[0].split(", ")
    assert re.search(r" and \d+ more$", drugs)
    assert named == sorted(named)
    assert len(named) == 11


# -- which genes a drug is attributed to ---------------------------------------------------------

VKORC1_GG = "rs9923231 reference (C)/rs9923231 reference (C)"
VKORC1_AG = "rs9923231 reference (C)/rs9923231 variant (T)"


@pytest.mark.parametrize(
    ("results", "drug", "genes"),
    [
        pytest.param(
            {"CYP2C19": "*2/*2", "CYP2D6": "*1/*1"},
            "amitriptyline",
            {"CYP2C19"},
            id="cpic-amitriptyline::CYP2C19 poor, CYP2D6 normal: CYP2C19 only",
        ),
        pytest.param(
            {"CYP2C19": "*1/*1", "CYP2D6": "*4/*4"},
            "amitriptyline",
            {"CYP2D6"},
            id="cpic-amitriptyline::CYP2D6 poor, CYP2C19 normal: CYP2D6 only",
        ),
        pytest.param(
            {"CYP2C19": "*2/*2", "CYP2D6": "*4/*4"},
            "amitriptyline",
            {"CYP2C19", "CYP2D6"},
            id="cpic-amitriptyline::both poor: both",
        ),
        pytest.param(
            {"CYP3A5": "*1/*1"},
            "tacrolimus",
            {"CYP3A5"},
            id="cpic-tacrolimus::CYP3A5 normal metabolizer is the actionable one",
        ),
        pytest.param(
            {"CYP3A5": "*3/*3"},
            "tacrolimus",
            set(),
            id="cpic-tacrolimus::CYP3A5 poor metabolizer gets the standard dose",
        ),
        pytest.param(
            {"CYP2D6": "*1/*1"},
            "tamoxifen",
            set(),
            id="cpic-tamoxifen::normal CYP2D6 is not a reason, though its row says caution",
        ),
        pytest.param(
            {"CYP2D6": "*1/*1"},
            "atomoxetine",
            set(),
            id="cpic-atomoxetine::normal CYP2D6 is not a reason, though its row is a dose",
        ),
        pytest.param(
            {"SLCO1B1": "*5/*5", "CYP2C9": "*1/*1"},
            "fluvastatin",
            {"SLCO1B1"},
            id="cpic-fluvastatin::SLCO1B1 poor, CYP2C9 normal: SLCO1B1 only",
        ),
        pytest.param(
            {"CYP2C9": "*3/*3", "VKORC1": VKORC1_GG},
            "warfarin",
            {"CYP2C9"},
            id="cpic-warfarin::a flowchart rule names the loci it reads, normal ones excepted",
        ),
        pytest.param(
            {"CYP2C9": "*1/*1", "VKORC1": VKORC1_AG},
            "warfarin",
            {"VKORC1"},
            id="cpic-warfarin::VKORC1 -1639 AG with a normal CYP2C9",
        ),
        pytest.param(
            {"CYP2C9": "*1/*1", "VKORC1": VKORC1_GG},
            "warfarin",
            set(),
            id="cpic-warfarin::normal results are not reasons",
        ),
    ],
)
def test_a_drug_is_attributed_to_the_genes_that_change_its_advice(
    kb: KnowledgeBase, results: dict[str, str], drug: str, genes: set[str]
) -> None:
    affected = drugs_affected(kb, {g: GeneResult(g, diplotype=d) for g, d in results.items()})

    assert {gene for gene, drugs in affected.items() if drug in drugs} == genes
