"""read_genotypes: Genomics Reporting IG genotype Observations into one result per gene."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fhir_adapters import GenotypeReadout, Unreadable, read_genotypes
from knowledge import GeneResult, KnowledgeBase
from tests.builders import genotype_observation, medication_request

IG_EXAMPLES = "fhir-examples/hl7-genomics-reporting-stu3"


def read(kb: KnowledgeBase, *resources: Any) -> GenotypeReadout:
    return read_genotypes(resources, kb.genes_by_hgnc)


def diplotypes(readout: GenotypeReadout) -> dict[str, str | None]:
    return {gene: result.diplotype for gene, result in readout.results.items()}


def gene_component(coding: dict[str, Any] | None = None, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if coding is not None:
        concept["coding"] = [coding]
    if text is not None:
        concept["text"] = text
    return {
        "code": {"coding": [{"system": "http://loinc.org", "code": "48018-6"}]},
        "valueCodeableConcept": concept,
    }


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        (
            "Observation-Pgx-geno-1001.json",
            GeneResult(
                "CYP2C19",
                diplotype="*2/*2",
                source="Observation/Pgx-geno-1001",
                effective="2019-04-01",
                status="final",
                source_kind="genotype",
            ),
        ),
        (
            # No CYP2C9 gene table yet: the gene comes from the coding's display.
            "Observation-Pgx-geno-1002.json",
            GeneResult(
                "CYP2C9",
                diplotype="*1/*1",
                source="Observation/Pgx-geno-1002",
                effective="2019-04-01",
                status="final",
                source_kind="genotype",
            ),
        ),
    ],
)
def test_ig_example(kb: KnowledgeBase, shared: Path, example: str, expected: GeneResult) -> None:
    observation = json.loads((shared / IG_EXAMPLES / example).read_text(encoding="utf-8"))

    readout = read(kb, observation)

    assert (readout.results, readout.unreadable) == ({expected.gene: expected}, [])


@pytest.mark.parametrize(
    ("value_text", "expected"),
    [
        ("CYP2C19*2/*2", "*2/*2"),
        ("CYP2C19 *1/*17", "*1/*17"),
        ("cyp2c19*1/*17", "*1/*17"),
        ("*1/*2", "*1/*2"),
        (" *2 / *3 ", "*2/*3"),
        ("CYP2C19*2/CYP2C19*3", "*2/*3"),
        ("*4.001/*1", "*4.001/*1"),
    ],
)
def test_diplotype_spellings(kb: KnowledgeBase, value_text: str, expected: str) -> None:
    readout = read(kb, genotype_observation("CYP2C19", "", value_text=value_text))

    assert diplotypes(readout) == {"CYP2C19": expected}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueString": "CYP2C19*1/*2"}, "*1/*2"),
        ({"valueCodeableConcept": {"coding": [{"display": "CYP2C19 *17/*17"}]}}, "*17/*17"),
        ({"valueCodeableConcept": {"text": "CYP2C19*2/*2"}}, "*2/*2"),
        (
            # The text is tried first; a coding display that reads is used when it does not.
            {"valueCodeableConcept": {"text": "poor", "coding": [{"display": "*2/*3"}]}},
            "*2/*3",
        ),
    ],
    ids=["valueString", "coding-display", "text", "text-unreadable-display-readable"],
)
def test_value_forms(kb: KnowledgeBase, value: dict[str, Any], expected: str) -> None:
    observation = genotype_observation("CYP2C19", "*1/*1")
    del observation["valueCodeableConcept"]

    readout = read(kb, {**observation, **value})

    assert diplotypes(readout) == {"CYP2C19": expected}


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        (gene_component({"system": "http://www.genenames.org", "code": "HGNC:2621"}), "CYP2C19"),
        (gene_component({"system": "http://www.genenames.org", "code": "2621"}), "CYP2C19"),
        (gene_component({"system": "http://www.genenames.org", "code": "hgnc:2621"}), "CYP2C19"),
        # The knowledge base's symbol wins over what the display says.
        (gene_component({"code": "HGNC:2621", "display": "cyp2c19 gene"}), "CYP2C19"),
        (gene_component({"code": "HGNC:2623", "display": "CYP2C9"}), "CYP2C9"),
        (gene_component({"code": "HGNC:2623", "display": " cyp2c9 "}), "CYP2C9"),
        (gene_component(text="CYP2C9"), "CYP2C9"),
    ],
    ids=[
        "hgnc-prefixed",
        "hgnc-bare-number",
        "hgnc-lowercase-prefix",
        "known-code-over-display",
        "display",
        "display-trimmed-uppercased",
        "text",
    ],
)
def test_gene_from_component(kb: KnowledgeBase, component: dict[str, Any], expected: str) -> None:
    observation = genotype_observation("CYP2C19", "", value_text="*1/*2")
    observation["component"] = [component]

    readout = read(kb, observation)

    assert diplotypes(readout) == {expected: "*1/*2"}


@pytest.mark.parametrize("component", [None, [gene_component()]], ids=["absent", "empty"])
def test_gene_from_value_text(kb: KnowledgeBase, component: Any) -> None:
    observation = genotype_observation("CYP2C19", "", value_text="CYP2C19 *1/*17")
    observation["component"] = component

    readout = read(kb, observation)

    assert diplotypes(readout) == {"CYP2C19": "*1/*17"}


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_withdrawn_result_ignored(kb: KnowledgeBase, status: str) -> None:
    kept = genotype_observation("CYP2C19", "*1/*1", effective="2020-01-01")
    withdrawn = genotype_observation("CYP2C19", "*2/*2", effective="2024-01-01", status=status)

    readout = read(kb, kept, withdrawn)

    assert (diplotypes(readout), readout.unreadable) == ({"CYP2C19": "*1/*1"}, [])


@pytest.mark.parametrize("status", ["final", "amended", "corrected", "preliminary"])
def test_reported_result_read(kb: KnowledgeBase, status: str) -> None:
    readout = read(kb, genotype_observation("CYP2C19", "*1/*2", status=status))

    assert diplotypes(readout) == {"CYP2C19": "*1/*2"}


@pytest.mark.parametrize(
    ("effective", "expected"),
    [
        (["2019-04-01", "2023-09-30", "2021-06-15"], "2023-09-30"),
        (["2023-09-30", "2021-06-15", "2019-04-01"], "2023-09-30"),
        (["2019-04-01", "2021-06-15", "2023-09-30"], "2023-09-30"),
        (["2024-05-14T08:00:00Z", "2024-05-14T17:30:00Z"], "2024-05-14T17:30:00Z"),
    ],
    ids=["middle", "first", "last", "same-day"],
)
def test_latest_effective_wins(kb: KnowledgeBase, effective: list[str], expected: str) -> None:
    observations = [
        genotype_observation("CYP2C19", "", effective=when, value_text=f"*1/*{i + 2}")
        for i, when in enumerate(effective)
    ]

    readout = read(kb, *observations)

    assert readout.results["CYP2C19"].effective == expected


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ({"issued": "2022-02-02T10:00:00Z"}, "2022-02-02T10:00:00Z"),
        ({"effectivePeriod": {"start": "2021-01-01", "end": "2021-01-02"}}, "2021-01-01"),
        ({"effectiveDateTime": "2020-01-01", "issued": "2020-01-09"}, "2020-01-01"),
        ({}, None),
    ],
    ids=["issued", "period-start", "effective-before-issued", "none"],
)
def test_effective_date(kb: KnowledgeBase, dates: dict[str, Any], expected: str | None) -> None:
    observation = genotype_observation("CYP2C19", "*1/*2")
    del observation["effectiveDateTime"]

    readout = read(kb, {**observation, **dates})

    assert readout.results["CYP2C19"].effective == expected


def test_dated_result_beats_undated(kb: KnowledgeBase) -> None:
    undated = genotype_observation("CYP2C19", "*2/*2")
    del undated["effectiveDateTime"]
    dated = genotype_observation("CYP2C19", "*1/*1", effective="2019-04-01")

    readout = read(kb, undated, dated)

    assert diplotypes(readout) == {"CYP2C19": "*1/*1"}


def test_one_result_per_gene(kb: KnowledgeBase) -> None:
    readout = read(
        kb,
        genotype_observation("CYP2C19", "*1/*17"),
        genotype_observation("CYP2C9", "*1/*3"),
    )

    assert diplotypes(readout) == {"CYP2C19": "*1/*17", "CYP2C9": "*1/*3"}


@pytest.mark.parametrize(
    "value_text",
    [
        "positive",
        "CYP2C19 poor metabolizer",
        "*2",
        "*1/*2/*3",
        "*1 or *2",
        "N/A",
    ],
)
def test_value_not_a_diplotype_is_unreadable(kb: KnowledgeBase, value_text: str) -> None:
    observation = genotype_observation("CYP2C19", "", id="g1", value_text=value_text)

    readout = read(kb, observation)

    assert (readout.results, readout.unreadable) == (
        {},
        [Unreadable("Observation/g1", "CYP2C19 genotype value is not a diplotype")],
    )


@pytest.mark.parametrize(
    "component",
    [
        None,
        [],
        "CYP2C19",
        [{"code": {"coding": [{"system": "http://loinc.org", "code": "48013-7"}]}}],
        [gene_component()],
        [gene_component({"system": "http://www.genenames.org", "code": "HGNC:99999"})],
        [gene_component(text="   ")],
    ],
    ids=[
        "absent",
        "empty",
        "not-a-list",
        "other-component",
        "empty-concept",
        "unknown-code-no-display",
        "blank-text",
    ],
)
def test_missing_gene_is_unreadable(kb: KnowledgeBase, component: Any) -> None:
    # The value names no gene either ("CYP2C19*2/*2" would: see test_gene_from_value_text).
    observation = genotype_observation("CYP2C19", "", id="g1", value_text="*2/*2")
    observation["component"] = component

    readout = read(kb, observation)

    assert (readout.results, readout.unreadable) == (
        {},
        [Unreadable("Observation/g1", "no gene (component 48018-6) found")],
    )


def test_unreadable_without_id_has_no_source(kb: KnowledgeBase) -> None:
    observation = genotype_observation("CYP2C19", "", value_text="positive")
    del observation["id"]

    readout = read(kb, observation)

    assert readout.unreadable == [
        Unreadable(None, "CYP2C19 genotype value is not a diplotype"),
    ]


def test_unreadable_does_not_hide_a_readable_result(kb: KnowledgeBase) -> None:
    readout = read(
        kb,
        genotype_observation("CYP2C19", "*1/*2", id="good"),
        genotype_observation("CYP2C19", "", id="bad", value_text="positive"),
    )

    assert (diplotypes(readout), [u.source for u in readout.unreadable]) == (
        {"CYP2C19": "*1/*2"},
        ["Observation/bad"],
    )


def test_unreadable_logged(kb: KnowledgeBase, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fhir_adapters"):
        read(kb, genotype_observation("CYP2C19", "", id="g1", value_text="positive"))

    assert [r.getMessage() for r in caplog.records] == [
        "unreadable genotype result Observation/g1: CYP2C19 genotype value is not a diplotype"
    ]


def _with_code(code: str) -> dict[str, Any]:
    observation = genotype_observation("CYP2C19", "*2/*2")
    observation["code"] = {"coding": [{"system": "http://loinc.org", "code": code}]}
    return observation


@pytest.mark.parametrize(
    "resource",
    [
        _with_code("69548-6"),
        {**genotype_observation("CYP2C19", "*2/*2"), "code": {"text": "genotype"}},
        {**genotype_observation("CYP2C19", "*2/*2"), "code": None},
        {**genotype_observation("CYP2C19", "*2/*2"), "resourceType": "DiagnosticReport"},
        medication_request(),
        {"resourceType": "Patient", "id": "p1"},
    ],
    ids=[
        "variant-observation",
        "code-without-coding",
        "code-null",
        "diagnostic-report",
        "medication-request",
        "patient",
    ],
)
def test_not_a_genotype_observation_skipped(kb: KnowledgeBase, resource: dict[str, Any]) -> None:
    readout = read(kb, resource)

    assert (readout.results, readout.unreadable) == ({}, [])


def test_single_haplotype_is_unreadable(kb: KnowledgeBase) -> None:
    # A haplotype is one copy; without its partner there is no diplotype to call.
    haplotype = _with_code("84414-2")
    haplotype["id"] = "h1"
    haplotype["valueCodeableConcept"] = {"text": "CYP2C19*2"}

    readout = read(kb, haplotype)

    assert (readout.results, readout.unreadable) == (
        {},
        [Unreadable("Observation/h1", "1 CYP2C19 haplotype(s): a diplotype needs two")],
    )


def test_nothing_to_read(kb: KnowledgeBase) -> None:
    readout = read(kb)

    assert (readout.results, readout.unreadable) == ({}, [])


def test_a_plus_in_prose_or_hgvs_is_not_read_as_a_gl_string() -> None:
    from fhir_adapters.alleles import parse_gl_string

    assert parse_gl_string("DPYD variants found: c.1905+1G>A (*2A)", "DPYD") is None
    found = parse_gl_string("HLA-B*15:02:01+HLA-B*44:02", "HLA-B")
    assert found is not None
    assert found.candidates == (("HLA-B*15:02:01", "HLA-B*44:02"),)


def test_a_mitochondrial_variant_without_its_prefix_is_named_as_cpic_names_it(
    kb: KnowledgeBase,
) -> None:
    from fhir_adapters.alleles import name_alleles

    named, reason = name_alleles(("1555A>G",), kb.genes["MT-RNR1"], None)
    assert (named, reason) == (("m.1555A>G",), None)


def test_every_loinc_answer_vcf2fhir_writes_is_read_back_as_its_cpic_term() -> None:
    from fhir_adapters.phenotypes import LOINC_PHENOTYPE_ANSWERS, cpic_phenotype

    for code, (term, _) in LOINC_PHENOTYPE_ANSWERS.items():
        concept = {"coding": [{"system": "http://loinc.org", "code": code}]}
        assert cpic_phenotype(concept) == term
    assert cpic_phenotype({"coding": [{"code": "LA25394-0"}]}) == "Poor Function"
