"""The reader's rules one by one: statuses, conflicts, discrepancies, terms, HLA, SNPs, copies."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_adapters import Discrepancy, GenotypeReadout, read_genotypes
from fhir_adapters.alleles import hla_allele, parse_gl_string
from fhir_adapters.phenotypes import cpic_phenotype
from knowledge import GeneResult, KnowledgeBase
from knowledge.evaluate import call_gene
from tests.builders import genotype_observation


def read(kb: KnowledgeBase, *resources: Any) -> GenotypeReadout:
    return read_genotypes(resources, kb.genes_by_hgnc, kb=kb)


def implication(genotype_id: str, phenotype_text: str, *, id: str = "imp1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"code": "therapeutic-implication"}]},
        "derivedFrom": [{"reference": f"Observation/{genotype_id}"}],
        "component": [
            {
                "code": {"coding": [{"code": "therapeutic-implication"}]},
                "valueCodeableConcept": {"text": phenotype_text},
            }
        ],
    }


def with_identifier(observation: dict[str, Any], value: str) -> dict[str, Any]:
    return {**observation, "identifier": [{"system": "urn:lab", "value": value}]}


@pytest.mark.parametrize("correction", ["amended", "corrected"])
def test_correction_supersedes_same_identity_even_if_older(
    kb: KnowledgeBase, correction: str
) -> None:
    final = with_identifier(
        genotype_observation("CYP2C19", "*1/*2", id="a", effective="2024-02-01"), "R1"
    )
    fixed = with_identifier(
        genotype_observation("CYP2C19", "*1/*1", id="b", effective="2024-01-01", status=correction),
        "R1",
    )

    readout = read(kb, final, fixed)

    assert (readout.results["CYP2C19"].diplotype, readout.conflicts) == ("*1/*1", [])


def test_disagreeing_results_of_one_date_are_a_conflict(kb: KnowledgeBase) -> None:
    one = genotype_observation("CYP2C19", "*1/*2", id="a")
    other = genotype_observation("CYP2C19", "*2/*2", id="b")

    readout = read(kb, one, other)

    assert "CYP2C19" not in readout.results
    assert [[r.source for r in c.results] for c in readout.conflicts] == [
        ["Observation/a", "Observation/b"]
    ]


def test_same_result_twice_is_no_conflict(kb: KnowledgeBase) -> None:
    one = genotype_observation("CYP2C19", "*1/*2", id="a")
    again = genotype_observation("CYP2C19", "", id="b", value_text="CYP2C19 *2/*1")

    readout = read(kb, one, again)

    assert (readout.results["CYP2C19"].diplotype, readout.conflicts) == ("*1/*2", [])


def test_implication_gives_reported_phenotype_and_discrepancy(kb: KnowledgeBase) -> None:
    genotype = genotype_observation("CYP2C19", "*2/*2", id="g")

    readout = read(kb, genotype, implication("g", "Normal metabolizer"))

    result = readout.results["CYP2C19"]
    assert (result.diplotype, result.reported_phenotype) == ("*2/*2", "Normal Metabolizer")
    assert readout.discrepancies == [
        Discrepancy("CYP2C19", "*2/*2", "Normal Metabolizer", "Poor Metabolizer", "Observation/g")
    ]
    # The diplotype, not the lab's phenotype, decides.
    assert call_gene(kb, "CYP2C19", result).phenotype == "Poor Metabolizer"


def test_agreeing_implication_is_no_discrepancy(kb: KnowledgeBase) -> None:
    genotype = genotype_observation("CYP2C19", "*2/*2", id="g")

    readout = read(kb, genotype, implication("g", "CYP2C19 Poor Metabolizer"))

    assert (readout.results["CYP2C19"].reported_phenotype, readout.discrepancies) == (
        "Poor Metabolizer",
        [],
    )


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Extensive metabolizer", "Normal Metabolizer"),
        ("Rapid metabolizer", "Rapid Metabolizer"),
        ("ultra-rapid metabolizer", "Ultrarapid Metabolizer"),
        ("CYP2C19 Poor Metabolizer", "Poor Metabolizer"),
        # Not mapped: the CPIC term depends on gene and guideline version.
        ("High activity", "High activity"),
    ],
)
def test_phenotype_terms(term: str, expected: str) -> None:
    assert cpic_phenotype({"text": term}, "CYP2C19") == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("LA9657-3", "Poor Metabolizer"), ("LA10315-2", "Ultrarapid Metabolizer")],
)
def test_loinc_phenotype_code(code: str, expected: str) -> None:
    # The display is ignored: the LOINC answer code decides.
    assert cpic_phenotype({"coding": [{"code": code, "display": "x"}]}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B*5701", "*57:01"),
        ("HLA-B*570101", "*57:01:01"),
        ("HLA-B*57:01:01G", "*57:01:01G"),
        ("*15:02", "*15:02"),
        ("B*571", None),
        ("positive", None),
    ],
)
def test_hla_allele_names(text: str, expected: str | None) -> None:
    assert hla_allele(text) == expected


def test_gl_string_ambiguity_expands() -> None:
    parsed = parse_gl_string(
        "hla#3.33.0#HLA-A*02:69+HLA-A*23:30|HLA-A*02:302+HLA-A*23:26/HLA-A*23:39", "HLA-A"
    )

    assert parsed is not None
    assert parsed.candidates == (
        ("HLA-A*02:69", "HLA-A*23:30"),
        ("HLA-A*02:302", "HLA-A*23:26"),
        ("HLA-A*02:302", "HLA-A*23:39"),
    )


def hla_genotype(value: dict[str, Any], id: str = "h") -> dict[str, Any]:
    observation = genotype_observation("HLA-B", "", id=id)
    observation["component"][0]["valueCodeableConcept"]["coding"][0]["code"] = "HGNC:4932"
    observation["valueCodeableConcept"] = value
    return observation


def test_gl_string_two_copies_is_a_diplotype(kb: KnowledgeBase) -> None:
    readout = read(
        kb,
        hla_genotype(
            {"coding": [{"system": "http://glstring.org", "code": "HLA-B*15:02:01+HLA-B*44:02"}]}
        ),
    )

    assert readout.results["HLA-B"].diplotype == "*15:02:01/*44:02"


def test_one_hla_allele_is_carrier_status_not_a_diplotype(kb: KnowledgeBase) -> None:
    readout = read(kb, hla_genotype({"text": "HLA-B*57:01"}))

    result = readout.results["HLA-B"]
    assert (result.diplotype, result.carriers, result.non_carriers) == (
        None,
        frozenset({"*57:01"}),
        frozenset(),
    )
    call = call_gene(kb, "HLA-B", result)
    # The other copy is unknown: *15:02 and *58:01 are neither positive nor negative.
    assert call.lookup_keys == frozenset({"*57:01 positive"})
    assert call.note == "HLA-B *15:02, *58:01 status not reported"


def test_old_hla_notation_in_a_genotype(kb: KnowledgeBase) -> None:
    readout = read(kb, hla_genotype({"text": "B*5701/B*4402"}))

    assert readout.results["HLA-B"].diplotype == "*57:01/*44:02"


def test_presence_absent_gives_non_carrier(kb: KnowledgeBase) -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "haplotypes",
                "part": [
                    {"name": "haplotypeItem", "valueString": "HLA-B*57:01"},
                    {"name": "presence", "valueBoolean": False},
                ],
            }
        ],
    }

    readout = read(kb, parameters)

    assert readout.results["HLA-B"].non_carriers == frozenset({"*57:01"})
    assert call_gene(kb, "HLA-B", readout.results["HLA-B"]).lookup_keys == frozenset(
        {"*57:01 negative"}
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("CYP2D6 *1x2/*4", "*1x2/*4"),
        ("CYP2D6*7.001 / CYP2D6*1.001", "*7/*1"),
        ("CYP2D6_*1/*1", "*1/*1"),
    ],
)
def test_cyp2d6_forms(kb: KnowledgeBase, value: str, expected: str) -> None:
    observation = genotype_observation("CYP2D6", "", value_text=value)
    observation["component"][0]["valueCodeableConcept"]["coding"][0]["code"] = "HGNC:2625"

    readout = read(kb, observation)

    assert readout.results["CYP2D6"].diplotype == expected


def test_copy_number_is_scored_by_the_knowledge(kb: KnowledgeBase) -> None:
    result = GeneResult("CYP2D6", diplotype="*1x2/*4")

    assert call_gene(kb, "CYP2D6", result).activity_score == "2.0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("VKORC1 rs9923231 C/T", "rs9923231 reference (C)/rs9923231 variant (T)"),
        ("C/T", "rs9923231 reference (C)/rs9923231 variant (T)"),
        ("T/T", "rs9923231 variant (T)/rs9923231 variant (T)"),
    ],
)
def test_vkorc1_snp(kb: KnowledgeBase, value: str, expected: str) -> None:
    observation = genotype_observation("VKORC1", "", value_text=value)
    observation["component"][0]["valueCodeableConcept"]["coding"][0]["code"] = "HGNC:23663"

    readout = read(kb, observation)

    assert readout.results["VKORC1"].diplotype == expected


def test_vkorc1_wrong_rsid_unreadable(kb: KnowledgeBase) -> None:
    observation = genotype_observation("VKORC1", "", id="v", value_text="VKORC1 rs7294 C/T")
    observation["component"][0]["valueCodeableConcept"]["coding"][0]["code"] = "HGNC:23663"

    readout = read(kb, observation)

    assert readout.results == {}
    assert [u.source for u in readout.unreadable] == ["Observation/v"]


def test_rs12777823_keyed_by_rsid(kb: KnowledgeBase) -> None:
    observation = genotype_observation("CYP2C9", "", value_text="rs12777823 G/A")

    readout = read(kb, observation)

    assert readout.results["rs12777823"].diplotype == "G/A"


def test_star_gene_snp_genotype_unreadable(kb: KnowledgeBase) -> None:
    # SLCO1B1 is called by star alleles; "T/C" at some position is not one of them.
    observation = genotype_observation("SLCO1B1", "", id="s", value_text="T/C")
    observation["component"][0]["valueCodeableConcept"]["coding"][0]["code"] = "HGNC:10959"

    readout = read(kb, observation)

    assert (readout.results, [u.source for u in readout.unreadable]) == ({}, ["Observation/s"])


def test_two_haplotypes_make_a_diplotype(kb: KnowledgeBase) -> None:
    def haplotype(id: str, allele: str) -> dict[str, Any]:
        observation = genotype_observation("CYP2C19", "", id=id, value_text=f"CYP2C19{allele}")
        observation["code"] = {"coding": [{"system": "http://loinc.org", "code": "84414-2"}]}
        return observation

    readout = read(kb, haplotype("h1", "*17"), haplotype("h2", "*1"))

    assert readout.results["CYP2C19"].diplotype == "*17/*1"


def test_bundle_with_urn_references(kb: KnowledgeBase) -> None:
    genotype = genotype_observation("CYP2C19", "*1/*17")
    del genotype["id"]
    imp = implication("x", "Rapid metabolizer")
    imp["derivedFrom"] = [{"reference": "urn:uuid:g"}]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:g", "resource": genotype},
            {"fullUrl": "urn:uuid:i", "resource": imp},
        ],
    }

    readout = read(kb, bundle)

    result = readout.results["CYP2C19"]
    assert (result.source, result.reported_phenotype) == ("urn:uuid:g", "Rapid Metabolizer")
