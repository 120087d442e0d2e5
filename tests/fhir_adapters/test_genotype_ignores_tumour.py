"""The germline reader leaves tumour results alone: no somatic EGFR "genotype" from a gefitinib note."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fhir_adapters import read_genotypes
from knowledge import KnowledgeBase
from tests.builders import genotype_observation
from tests.conftest import SHARED
from tests.tumour_builders import (
    biomarker_observation,
    implication_observation,
    variant_observation,
)

ONCO = SHARED / "onco" / "fhir" / "examples"
POOR_METABOLIZER = ("LA9657-3", "Poor metabolizer")


def load(name: str) -> Any:
    return json.loads((ONCO / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "files",
    [
        ("Observation-EGFR-L858R-var.json", "Observation-EGFR-L858R-therapuDrug1.json"),
        ("Observation-EGFR-L858R-var.json", "Observation-EGFR-L858R-therapuDrug2.json"),
        ("Observation-ROS1-Fusion-var.json", "Observation-ROS1-Fusion-therapuDrug.json"),
        ("Observation-TMBExample.json", "Observation-TMB-therapuDrug.json"),
        (
            "Observation-Variant-Somatic-Clinical-Trial.json",
            "Observation-Therapeutic-Implication-Clinical-Trial-Somatic.json",
        ),
        ("Observation-MSIExample.json", "Observation-PDL1Example.json"),
        ("Observation-HER2byImmuneStainExample.json", "Observation-ExampleSomaticCNV.json"),
    ],
    ids=lambda files: "+".join(f.removeprefix("Observation-").removesuffix(".json") for f in files),
)
def test_ig_tumour_results_and_their_implications_are_skipped(
    kb: KnowledgeBase, files: tuple[str, ...]
) -> None:
    readout = read_genotypes([load(f) for f in files], kb.genes_by_hgnc, kb=kb)

    assert (readout.results, readout.unreadable) == ({}, [])


def test_no_ig_oncology_example_becomes_a_germline_result(kb: KnowledgeBase) -> None:
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(ONCO.glob("*.json"))]

    readout = read_genotypes(documents, kb.genes_by_hgnc, kb=kb)

    assert readout.results == {}


@pytest.mark.parametrize(
    "tumour",
    [
        pytest.param(
            [
                variant_observation("EGFR", protein="p.Leu858Arg", id="var-1"),
                implication_observation("Observation/var-1", id="impl-egfr"),
            ],
            id="somatic variant",
        ),
        pytest.param(
            [
                biomarker_observation("94076-7", quantity={"value": 20}, id="tmb-1"),
                implication_observation(
                    "Observation/tmb-1", id="impl-tmb", drugs=("Pembrolizumab",)
                ),
            ],
            id="molecular biomarker",
        ),
        pytest.param(
            [
                biomarker_observation("94076-7", quantity={"value": 20}, id="tmb-1", profile=False),
                implication_observation(
                    "Observation/tmb-1", id="impl-tmb", drugs=("Pembrolizumab",)
                ),
            ],
            id="biomarker known by its code only",
        ),
    ],
)
def test_beside_a_genotype_only_the_genotype_is_read(
    kb: KnowledgeBase, tumour: list[dict[str, Any]]
) -> None:
    pgx = [
        genotype_observation("CYP2C19", "*2/*2", id="geno-1"),
        implication_observation(
            "Observation/geno-1", id="impl-pgx", answer=POOR_METABOLIZER, drugs=("clopidogrel",)
        ),
    ]

    readout = read_genotypes([*pgx, *tumour], kb.genes_by_hgnc, kb=kb)

    assert {g: (r.diplotype, r.reported_phenotype) for g, r in readout.results.items()} == {
        "CYP2C19": ("*2/*2", "Poor Metabolizer")
    }
    assert readout.unreadable == []


def test_an_implication_derived_from_a_genotype_and_a_tumour_result_stays_germline(
    kb: KnowledgeBase,
) -> None:
    both = implication_observation(
        "Observation/geno-1", "Observation/var-1", answer=POOR_METABOLIZER, drugs=("clopidogrel",)
    )
    resources = [
        genotype_observation("CYP2C19", "*2/*2", id="geno-1"),
        variant_observation("EGFR", protein="p.Leu858Arg", id="var-1"),
        both,
    ]

    readout = read_genotypes(resources, kb.genes_by_hgnc, kb=kb)

    assert readout.results["CYP2C19"].reported_phenotype == "Poor Metabolizer"
