"""build_bundle: a sample's calls as a Genomics Reporting transaction that our own reader reads back."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest

# fhir.resources has no R4 (4.0.1) models any more; R4B (4.3) is the closest set and differs from
# R4 in nothing these resources use.
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation

from fhir_adapters import GenotypeReadout, read_genotypes
from fhir_adapters.vcf.bundle import IDENTIFIER_SYSTEM, build_bundle
from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall, VariantGenotype
from knowledge import KnowledgeBase

ISSUED = "2025-01-31T09:00:00Z"
PATIENT = "p1"
DEFINITIONS = "3.1.0"
# Real HGNC ids, as knowledge/genes/*.yaml gives them; UGT1A1 and G6PD have none there.
HGNC = {
    "CYP2C19": "HGNC:2621",
    "CYP2C9": "HGNC:2623",
    "CYP2D6": "HGNC:2625",
    "DPYD": "HGNC:3012",
    "VKORC1": "HGNC:23663",
    "TPMT": "HGNC:12014",
    "SLCO1B1": "HGNC:10959",
}
RS12777823 = VariantGenotype("rs12777823", "CYP2C9", "chr10", 94645745, "G", ("G", "A"))


def gene_call(
    gene: str, *diplotypes: str, phenotypes: tuple[str | None, ...] = (), **fields: Any
) -> SampleGeneCall:
    return SampleGeneCall(
        gene,
        HGNC.get(gene),
        "vcf",
        diplotypes=diplotypes,
        phenotypes=phenotypes,
        definition_version=DEFINITIONS,
        **fields,
    )


def sample_calls(
    *genes: SampleGeneCall,
    variants: tuple[VariantGenotype, ...] = (),
    sample: str = "NA12878",
    sha256: str = "a" * 64,
) -> SampleCalls:
    return SampleCalls(
        sample=sample,
        input_name="NA12878.pgx.vcf.gz",
        input_sha256=sha256,
        genes=genes,
        variants=variants,
        definitions_version=DEFINITIONS,
    )


CYP2C19_RM = gene_call("CYP2C19", "*1/*17", phenotypes=("Rapid Metabolizer",))
CYP2C9_IM = gene_call("CYP2C9", "*1/*3", phenotypes=("Intermediate Metabolizer",))
DPYD_UNPHASED = gene_call(
    "DPYD",
    phenotypes=("Intermediate Metabolizer",),
    variants=("c.1905+1G>A (*2A)",),
    phenotype_basis="c.1905+1G>A (*2A) + Reference",
)
SAME_PHENOTYPE = gene_call(
    "CYP2C19",
    "*2/*17",
    "*1/*2",
    phenotypes=("Intermediate Metabolizer", "Intermediate Metabolizer"),
)
DIFFERENT_PHENOTYPES = gene_call(
    "CYP2C19",
    "*1/*17",
    "*17/*17",
    phenotypes=("Rapid Metabolizer", "Ultrarapid Metabolizer"),
)
NOT_CALLED = gene_call(
    "CYP2D6",
    positions_read=12,
    missing_positions=("rs1065852", "rs3892097"),
    uncallable_alleles=("*4", "*10"),
    notes=("no combination of defined alleles matches the sample",),
)
EVERYTHING = sample_calls(
    CYP2C19_RM,
    CYP2C9_IM,
    DPYD_UNPHASED,
    gene_call(
        "TPMT",
        "*1/*3A",
        "*3B/*3C",
        phenotypes=("Intermediate Metabolizer", "Poor Metabolizer"),
    ),
    NOT_CALLED,
    replace(gene_call("SLCO1B1", phenotypes=("Decreased Function",)), source="outside call"),
    variants=(RS12777823,),
)


def read(kb: KnowledgeBase, bundle: dict[str, Any]) -> GenotypeReadout:
    return read_genotypes([bundle], kb.genes_by_hgnc, kb=kb)


def resources(bundle: dict[str, Any], code: str | None = None) -> list[dict[str, Any]]:
    found = [entry["resource"] for entry in bundle["entry"]]
    if code is None:
        return found
    return [r for r in found if any(c["code"] == code for c in r["code"]["coding"])]


def notes(resource: dict[str, Any]) -> list[str]:
    return [note["text"] for note in resource.get("note", [])]


# -- valid FHIR ----------------------------------------------------------------------------------


def test_the_bundle_is_valid_fhir() -> None:
    bundle = build_bundle(EVERYTHING, PATIENT, issued=ISSUED)

    Bundle.model_validate(bundle)


@pytest.mark.parametrize("index", range(16))
def test_every_resource_is_valid_fhir(index: int) -> None:
    entries = build_bundle(EVERYTHING, PATIENT, issued=ISSUED)["entry"]
    assert len(entries) == 16  # keeps the parameter range honest
    resource = entries[index]["resource"]
    model = {"Observation": Observation, "DiagnosticReport": DiagnosticReport}
    model[resource["resourceType"]].model_validate(resource)


def test_issued_must_be_an_instant() -> None:
    with pytest.raises(ValueError, match="not a FHIR instant"):
        build_bundle(EVERYTHING, PATIENT, issued="2025-01-31")


# -- our reader reads back what was called ---------------------------------------------------------


@pytest.mark.parametrize(
    ("calls", "locus", "expected"),
    [
        pytest.param(
            sample_calls(CYP2C19_RM), "CYP2C19", ("*1/*17", "Rapid Metabolizer"), id="cyp2c19"
        ),
        pytest.param(
            sample_calls(CYP2C9_IM), "CYP2C9", ("*1/*3", "Intermediate Metabolizer"), id="cyp2c9"
        ),
        pytest.param(
            sample_calls(DPYD_UNPHASED),
            "DPYD",
            (None, "Intermediate Metabolizer"),
            id="dpyd-unphased",
        ),
        pytest.param(
            sample_calls(
                gene_call(
                    "DPYD",
                    "Reference/c.1905+1G>A (*2A)",
                    phenotypes=("Intermediate Metabolizer",),
                )
            ),
            "DPYD",
            ("Reference/c.1905+1G>A (*2A)", "Intermediate Metabolizer"),
            id="dpyd-phased-star-alias",
        ),
        pytest.param(
            sample_calls(
                gene_call(
                    "VKORC1",
                    "rs9923231 reference (C)/rs9923231 variant (T)",
                    phenotypes=("-1639 AG",),
                )
            ),
            "VKORC1",
            ("rs9923231 reference (C)/rs9923231 variant (T)", "-1639 AG"),
            id="vkorc1-snp",
        ),
        pytest.param(
            sample_calls(
                replace(
                    gene_call("CYP2D6", phenotypes=("Poor Metabolizer",)),
                    source="outside call",
                    activity_scores=("0.0",),
                )
            ),
            "CYP2D6",
            (None, "Poor Metabolizer"),
            id="outside-call-phenotype-only",
        ),
        pytest.param(
            sample_calls(SAME_PHENOTYPE),
            "CYP2C19",
            ("*2/*17", "Intermediate Metabolizer"),
            id="ambiguous-same-phenotype",
        ),
        pytest.param(
            sample_calls(variants=(RS12777823,)), "rs12777823", ("G/A", None), id="rs12777823"
        ),
        pytest.param(
            sample_calls(
                gene_call("UGT1A1", "*1/*80+*28", phenotypes=("Intermediate Metabolizer",))
            ),
            "UGT1A1",
            ("*1/*80+*28", "Intermediate Metabolizer"),
            id="ugt1a1-combination-allele",
        ),
        pytest.param(
            sample_calls(gene_call("G6PD", "B (reference)/B (reference)", phenotypes=("Normal",))),
            "G6PD",
            ("B (reference)/B (reference)", "Normal"),
            id="g6pd-names-with-spaces",
        ),
    ],
)
def test_reader_reads_back_the_call(
    kb: KnowledgeBase, calls: SampleCalls, locus: str, expected: tuple[str | None, str | None]
) -> None:
    readout = read(kb, build_bundle(calls, PATIENT, issued=ISSUED))

    result = readout.results[locus]
    assert (result.diplotype, result.reported_phenotype) == expected
    assert (readout.conflicts, readout.discrepancies) == ([], [])


def test_readings_with_different_phenotypes_are_a_conflict(kb: KnowledgeBase) -> None:
    bundle = build_bundle(sample_calls(DIFFERENT_PHENOTYPES), PATIENT, issued=ISSUED)

    readout = read(kb, bundle)

    assert "CYP2C19" not in readout.results
    [conflict] = readout.conflicts
    assert sorted(r.diplotype or "" for r in conflict.results) == ["*1/*17", "*17/*17"]
    genotypes = resources(bundle, "84413-4")
    assert len({g["identifier"][0]["value"] for g in genotypes}) == 2
    assert all("confirm with another test" in notes(g)[0] for g in genotypes)


def test_readings_with_one_phenotype_are_one_genotype_listing_all(kb: KnowledgeBase) -> None:
    bundle = build_bundle(sample_calls(SAME_PHENOTYPE), PATIENT, issued=ISSUED)

    [genotype] = resources(bundle, "84413-4")

    assert genotype["valueCodeableConcept"]["text"] == "CYP2C19 *2/*17"
    assert notes(genotype) == [
        "2 diplotypes are equally likely: *2/*17, *1/*2; all give the phenotype "
        "Intermediate Metabolizer."
    ]


def test_a_gene_not_called_gives_no_result_and_says_why(kb: KnowledgeBase) -> None:
    bundle = build_bundle(sample_calls(NOT_CALLED), PATIENT, issued=ISSUED)

    readout = read(kb, bundle)

    assert readout.results == {}
    # A dataAbsentReason is the lab saying "no result": neither a result nor unreadable.
    assert readout.unreadable == []
    [observation] = resources(bundle, "84413-4")
    assert observation["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert "valueCodeableConcept" not in observation
    assert notes(observation) == [
        "CYP2D6 was not called.",
        "Not assessed (missing from the VCF): rs1065852, rs3892097; "
        "alleles that could not be called: *4, *10.",
        "no combination of defined alleles matches the sample",
    ]


def test_a_gene_absent_from_the_vcf_was_not_performed() -> None:
    bundle = build_bundle(
        sample_calls(replace(NOT_CALLED, positions_read=0)), PATIENT, issued=ISSUED
    )

    [observation] = resources(bundle, "84413-4")

    assert observation["dataAbsentReason"]["coding"][0]["code"] == "not-performed"


def test_long_lists_of_missing_positions_are_cut_short() -> None:
    missing = tuple(f"rs{n}" for n in range(1, 16))
    call = replace(CYP2C19_RM, missing_positions=missing)

    [genotype] = resources(build_bundle(sample_calls(call), PATIENT, issued=ISSUED), "84413-4")

    assert notes(genotype)[0].endswith("rs9, rs10 and 5 more.")


def test_the_unphased_phenotype_says_what_it_rests_on() -> None:
    bundle = build_bundle(sample_calls(DPYD_UNPHASED), PATIENT, issued=ISSUED)

    [genotype] = resources(bundle, "84413-4")
    [implication] = resources(bundle, "therapeutic-implication")

    assert genotype["valueCodeableConcept"] == {
        "text": "DPYD variants found (unphased, no diplotype): *2A"
    }
    assert notes(genotype) == ["PharmCAT names the variants c.1905+1G>A (*2A)."]
    assert notes(implication) == [
        "Phenotype from the two lowest-function variants: c.1905+1G>A (*2A) + Reference."
    ]


# -- shape -----------------------------------------------------------------------------------------


def test_the_genotype_is_coded_the_igs_way() -> None:
    bundle = build_bundle(sample_calls(CYP2C19_RM), PATIENT, issued=ISSUED)

    [genotype] = resources(bundle, "84413-4")

    assert genotype["meta"]["profile"] == [
        "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genotype"
    ]
    assert genotype["valueCodeableConcept"] == {
        "coding": [
            {
                "system": "http://www.pharmvar.org",
                "code": "CYP2C19_*1/*17",
                "display": "CYP2C19 *1/*17",
            }
        ],
        "text": "CYP2C19 *1/*17",
    }
    assert genotype["component"][0]["valueCodeableConcept"] == {
        "coding": [
            {"system": "http://www.genenames.org", "code": "HGNC:2621", "display": "CYP2C19"}
        ]
    }
    assert [c["coding"][0]["code"] for c in genotype["category"]] == ["laboratory", "GE"]
    assert genotype["method"]["text"] == (
        "pgx-cds-hooks vcf2fhir, allele definitions PharmCAT 3.1.0 (CPIC/PharmVar)"
    )


def test_the_phenotype_is_a_therapeutic_implication_derived_from_the_genotype() -> None:
    bundle = build_bundle(sample_calls(CYP2C19_RM), PATIENT, issued=ISSUED)

    [genotype_entry] = [e for e in bundle["entry"] if e["resource"] in resources(bundle, "84413-4")]
    [implication] = resources(bundle, "therapeutic-implication")

    assert implication["derivedFrom"] == [{"reference": genotype_entry["fullUrl"]}]
    assert "valueCodeableConcept" not in implication  # the profile forbids a value
    assert implication["component"][0]["valueCodeableConcept"] == {
        "coding": [
            {"system": "http://loinc.org", "code": "LA25390-8", "display": "Rapid metabolizer"}
        ],
        "text": "Rapid Metabolizer",
    }


def test_a_phenotype_without_a_loinc_answer_is_text() -> None:
    call = gene_call("CYP2C19", "*1/*1", phenotypes=("Likely Poor Metabolizer",))

    [implication] = resources(
        build_bundle(sample_calls(call), PATIENT, issued=ISSUED), "therapeutic-implication"
    )

    assert implication["component"][0]["valueCodeableConcept"] == {
        "text": "Likely Poor Metabolizer"
    }


def test_the_variant_is_a_variant_observation_with_its_dbsnp_id() -> None:
    bundle = build_bundle(sample_calls(variants=(RS12777823,)), PATIENT, issued=ISSUED)

    [variant] = resources(bundle, "69548-6")
    components = {c["code"]["coding"][0]["code"]: c for c in variant["component"]}

    assert variant["valueCodeableConcept"]["coding"][0]["code"] == "LA9633-4"  # present
    assert components["81252-9"]["valueCodeableConcept"]["coding"][0]["code"] == "rs12777823"
    assert components["48013-7"]["valueCodeableConcept"]["coding"][0]["code"] == "NC_000010.11"
    assert components["81254-5"]["valueRange"] == {"low": {"value": 94645745}}
    assert (components["69547-8"]["valueString"], components["69551-0"]["valueString"]) == (
        "G",
        "A",
    )
    assert components["53034-5"]["valueCodeableConcept"]["coding"][0]["code"] == "LA6706-1"


def test_the_report_refers_to_every_observation() -> None:
    bundle = build_bundle(EVERYTHING, PATIENT, issued=ISSUED)

    *observations, report_entry = bundle["entry"]
    report = report_entry["resource"]

    assert report["resourceType"] == "DiagnosticReport"
    assert report["result"] == [{"reference": e["fullUrl"]} for e in observations]
    assert (report["status"], report["subject"], report["effectiveDateTime"], report["issued"]) == (
        "final",
        {"reference": "Patient/p1"},
        ISSUED,
        ISSUED,
    )
    assert report["code"]["coding"][0]["code"] == "51969-4"
    assert report["conclusion"].splitlines() == [
        "Sample NA12878 of NA12878.pgx.vcf.gz (SHA-256 aaaaaaaaaaaa…): pgx-cds-hooks vcf2fhir, "
        "allele definitions PharmCAT 3.1.0 (CPIC/PharmVar).",
        "CYP2C19: *1/*17 (Rapid Metabolizer)",
        "CYP2C9: *1/*3 (Intermediate Metabolizer)",
        "DPYD: c.1905+1G>A (*2A), unphased (Intermediate Metabolizer)",
        "TPMT: ambiguous, *1/*3A (Intermediate Metabolizer) or *3B/*3C (Poor Metabolizer); "
        "needs confirmation",
        "CYP2D6: not called (no combination of defined alleles matches the sample)",
        "SLCO1B1: no diplotype (phenotype Decreased Function)",
        "rs12777823 (CYP2C9): G/A",
    ]


def test_references_point_inside_the_bundle() -> None:
    bundle = build_bundle(EVERYTHING, PATIENT, issued=ISSUED)
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}

    references = [
        ref
        for entry in bundle["entry"]
        for ref in json.dumps(entry["resource"]).split('"reference": "')[1:]
    ]

    assert {ref.split('"')[0] for ref in references} - full_urls == {"Patient/p1"}


# -- conditional creates and determinism ----------------------------------------------------------


def test_every_entry_is_a_conditional_create_on_its_identifier() -> None:
    for entry in build_bundle(EVERYTHING, PATIENT, issued=ISSUED)["entry"]:
        [identifier] = entry["resource"]["identifier"]
        assert identifier["system"] == IDENTIFIER_SYSTEM
        token = f"{IDENTIFIER_SYSTEM}|{identifier['value']}"
        assert entry["request"] == {
            "method": "POST",
            "url": entry["resource"]["resourceType"],
            "ifNoneExist": f"identifier={token}",
        }
        assert entry["fullUrl"] == f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, token)}"


def test_the_same_calls_give_the_same_bundle() -> None:
    first = build_bundle(EVERYTHING, PATIENT, issued=ISSUED)
    second = build_bundle(EVERYTHING, PATIENT, issued=ISSUED)

    assert json.dumps(first) == json.dumps(second)


def test_a_later_build_differs_only_in_its_dates() -> None:
    first = build_bundle(EVERYTHING, PATIENT, issued=ISSUED)
    later = build_bundle(EVERYTHING, PATIENT, issued="2026-02-01T10:00:00+01:00")

    dates = json.dumps(later).replace("2026-02-01T10:00:00+01:00", ISSUED)

    assert dates == json.dumps(first)


def identifiers(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["identifier"][0]["value"] for e in bundle["entry"]}


@pytest.mark.parametrize(
    ("calls", "patient"),
    [
        pytest.param(sample_calls(CYP2C19_RM, sample="NA19238"), PATIENT, id="sample"),
        pytest.param(sample_calls(CYP2C19_RM, sha256="b" * 64), PATIENT, id="input"),
        pytest.param(sample_calls(CYP2C19_RM), "p2", id="patient"),
        pytest.param(
            sample_calls(gene_call("CYP2C19", "*1/*1", phenotypes=("Normal Metabolizer",))),
            PATIENT,
            id="result",
        ),
    ],
)
def test_identifiers_differ_for_another(calls: SampleCalls, patient: str) -> None:
    ours = identifiers(build_bundle(sample_calls(CYP2C19_RM), PATIENT, issued=ISSUED))

    assert ours.isdisjoint(identifiers(build_bundle(calls, patient, issued=ISSUED)))
