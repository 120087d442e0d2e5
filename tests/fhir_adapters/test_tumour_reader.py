"""Tumour results read from FHIR: the IG STU3 examples, then cases built in domain terms."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapters.tumour import DEFAULT_BIOMARKER_CODES, is_tumour_result, read_tumour_profile
from knowledge.tumour import (
    BiomarkerResult,
    Finding,
    LabImplication,
    ProteinChange,
    TumourProfile,
)
from tests.builders import genotype_observation
from tests.conftest import SHARED
from tests.fhir_adapters.test_parsing_properties import JSON, PROPERTY, _places
from tests.tumour_builders import (
    ABSENT,
    HGNC,
    LOINC,
    PRESENT,
    TBD,
    biomarker_observation,
    bundle,
    component,
    concept,
    diagnostic_implication,
    implication_observation,
    region_studied,
    study_analysis,
    variant_observation,
)

ONCO = SHARED / "onco" / "fhir" / "examples"
EMERGE = SHARED / "fhir-examples" / "emerge-fhir-spec"
STU3 = SHARED / "fhir-examples" / "hl7-genomics-reporting-stu3"
SCT = "http://snomed.info/sct"
NSCLC = f"{SCT}|254637007"
L858R = ProteinChange("L858R", 858, 858, "L", "missense", "R")
# The drugs the knowledge would name; anything else (a clinical trial) is no drug.
DRUGS = {n.capitalize(): n for n in ("gefitinib", "erlotinib", "crizotinib", "pembrolizumab")}


def name_drug(concept: Any) -> str | None:
    return DRUGS.get(str(concept.get("text")))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_example(name: str) -> TumourProfile:
    return read_tumour_profile([load(ONCO / name)], identify_drug=name_drug)


def read(*resources: Any, **options: Any) -> TumourProfile:
    return read_tumour_profile(list(resources), **options)


# -- the IG STU3 examples, one file at a time ------------------------------------------------

EXAMPLES: dict[str, TumourProfile] = {
    "Observation-EGFR-L858R-var.json": TumourProfile(
        findings=(
            Finding(
                gene="EGFR",
                kind="variant",
                label="EGFR L858R",
                origin="somatic",
                protein=L858R,
                protein_hgvs="NP_005219.2:p.Leu858Arg",
                coding_hgvs="NM_005228.4:c.2573T>G",
                allele_frequency=0.066,
                source="Observation/EGFR-L858R-var",
                effective="2023-02-01",
                genomic_hgvs="NC_000007.13:g.55259515T>G",
            ),
        ),
        # A finding is not listed as tested: marker_call weighs it by kind and origin.
        tested_genes=frozenset(),
    ),
    "Observation-ROS1-Fusion-var.json": TumourProfile(
        findings=(
            Finding(
                gene="ROS1",
                kind="fusion",
                label="ROS1 fusion",
                origin="somatic",
                partners=frozenset({"ROS1"}),
                source="Observation/ROS1-Fusion-var",
                effective="2023-02-01",
            ),
        ),
        # A finding is not listed as tested: marker_call weighs it by kind and origin.
        tested_genes=frozenset(),
    ),
    # "q4" is no band of chromosome 22: read as written, not taken for BCR-ABL1's q11.
    "Observation-ISCN-CMLExample.json": TumourProfile(
        findings=(
            Finding(
                gene=None,
                kind="rearrangement",
                label="t(9;22)",
                iscn="46,XX,t(9;22)(q34;q4)",
                source="Observation/ISCN-CMLExample",
                effective="2019-04-01",
            ),
        ),
    ),
    "Observation-ExampleSomaticCNV.json": TumourProfile(
        findings=(
            Finding(
                gene=None,
                kind="copy-number",
                label="NC_000022.10 copy number 3",
                origin="somatic",
                copy_number=3.0,
                source="Observation/ExampleSomaticCNV",
                effective="2019-04-01",
            ),
        ),
    ),
    "Observation-Variant-Somatic-Clinical-Trial.json": TumourProfile(
        findings=(
            Finding(
                gene="FGFR2",
                kind="variant",
                label="FGFR2 NC_000010.11:g.121498525T>G",
                origin="somatic",
                source="Observation/Variant-Somatic-Clinical-Trial",
                effective="2019-04-01",
                genomic_hgvs="NC_000010.11:g.121498525T>G",
            ),
        ),
        # A finding is not listed as tested: marker_call weighs it by kind and origin.
        tested_genes=frozenset(),
    ),
    "Observation-TMBExample.json": TumourProfile(
        biomarkers=(
            BiomarkerResult(
                kind="tmb",
                text="29.8 mutations/Mb",
                value=29.8,
                code=f"{LOINC}|94076-7",
                source="Observation/TMBExample",
                effective="2023-02-01",
            ),
        ),
    ),
    "Observation-MSIExample.json": TumourProfile(
        biomarkers=(
            BiomarkerResult(
                kind="msi",
                text="MSI-H",
                answers=frozenset({f"{LOINC}|LA26203-2", "msi-h"}),
                code=f"{LOINC}|81695-9",
                source="Observation/MSIExample",
                effective="2023-02-01",
            ),
        ),
    ),
    "Observation-PDL1Example.json": TumourProfile(
        biomarkers=(
            BiomarkerResult(
                kind="pd-l1",
                text="PD-L1 22C3 IHC: Positive",
                answers=frozenset({f"{LOINC}|LA6576-8", "positive"}),
                gene="CD274",
                code=f"{LOINC}|85147-7",
                source="Observation/PDL1Example",
                effective="2023-02-01",
            ),
        ),
    ),
    "Observation-HER2byImmuneStainExample.json": TumourProfile(
        biomarkers=(
            BiomarkerResult(
                kind="her2",
                text="HER2 IHC: Present",
                answers=frozenset({f"{LOINC}|LA9633-4", "present"}),
                gene="ERBB2",
                code=f"{LOINC}|18474-7",
                source="Observation/HER2byImmuneStainExample",
                effective="2019-04-01",
            ),
        ),
    ),
    "Observation-HER2byImmunoassayExample.json": TumourProfile(
        biomarkers=(
            BiomarkerResult(
                kind="her2",
                text="HER2 immunoassay: 20 IU/mL",
                value=20.0,
                unit="IU/mL",
                gene="ERBB2",
                code=f"{LOINC}|72382-5",
                source="Observation/HER2byImmunoassayExample",
                effective="2019-04-01",
            ),
        ),
    ),
    "Observation-EGFR-L858R-therapuDrug1.json": TumourProfile(
        implications=(
            LabImplication(
                "Responsive",
                drug="gefitinib",
                drug_text="Gefitinib",
                evidence="Tier I - Level A",
                disease="Non-small cell lung cancer",
                conclusion=(
                    "Non-small cell lung cancer with EGFR L858R mutation is sensitive to gefitinib"
                ),
                derived_from=("Observation/EGFR-L858R-var",),
                source="Observation/EGFR-L858R-therapuDrug1",
            ),
        ),
        tumour_codes=frozenset({NSCLC}),
    ),
    "Observation-EGFR-L858R-therapuDrug2.json": TumourProfile(
        implications=(
            LabImplication(
                "Responsive",
                drug="erlotinib",
                drug_text="Erlotinib",
                evidence="Tier I - Level A",
                disease="Non-small cell lung cancer",
                conclusion=(
                    "Non-small cell lung cancer with EGFR L858R mutation is sensitive to erlotinib"
                ),
                derived_from=("Observation/EGFR-L858R-var",),
                source="Observation/EGFR-L858R-therapuDrug2",
            ),
        ),
        tumour_codes=frozenset({NSCLC}),
    ),
    "Observation-ROS1-Fusion-therapuDrug.json": TumourProfile(
        implications=(
            LabImplication(
                "Responsive",
                drug="crizotinib",
                drug_text="Crizotinib",
                evidence="Tier I - Level A",
                disease="Non-small cell lung cancer",
                conclusion=(
                    "Non-small cell lung cancer positive for ROS1 fusions are sensitive to "
                    "crizotinib"
                ),
                derived_from=("Observation/ROS1-Fusion-var",),
                source="Observation/ROS1-Fusion-therapuDrug",
            ),
        ),
        tumour_codes=frozenset({NSCLC}),
    ),
    "Observation-TMB-therapuDrug.json": TumourProfile(
        implications=(
            LabImplication(
                "Responsive",
                drug="pembrolizumab",
                drug_text="Pembrolizumab",
                disease="Non-small cell lung cancer",
                conclusion="Non-small cell lung cancer with high TMB is sensitive to pembrolizumab",
                derived_from=("Observation/TMBExample",),
                source="Observation/TMB-therapuDrug",
            ),
        ),
        tumour_codes=frozenset({NSCLC}),
    ),
    # A trial is no drug: identify_drug names nothing, the trial id is kept as the text.
    "Observation-Therapeutic-Implication-Clinical-Trial-Somatic.json": TumourProfile(
        implications=(
            LabImplication(
                "Patient eligible for clinical trial",
                drug=None,
                drug_text="NCT01234567",
                disease="Breast Cancer",
                derived_from=("Observation/Variant-Somatic-Clinical-Trial",),
                source="Observation/Therapeutic-Implication-Clinical-Trial-Somatic",
            ),
        ),
        tumour_codes=frozenset({f"{SCT}|254837009"}),
    ),
    # Derived from a variant that is not among the input: nothing to attach it to.
    "Observation-EGFR-L858R-significance.json": TumourProfile(),
    "Observation-EGFR-L858R-molc.json": TumourProfile(),
    "Observation-ISCN-CMLImplication.json": TumourProfile(),
    "DiagnosticReport-somaticReport.json": TumourProfile(),
    "Specimen-tumorSpecimen.json": TumourProfile(),
}


@pytest.mark.parametrize(("name", "expected"), EXAMPLES.items(), ids=list(EXAMPLES))
def test_each_ig_example_is_read_as_published(name: str, expected: TumourProfile) -> None:
    assert read_example(name) == expected


def test_every_ig_example_has_an_expectation() -> None:
    files = {p.name for p in ONCO.glob("*.json")} - {
        "Bundle-bundle-oncology-report-example.json",
        "Bundle-bundle-oncologyexamples-r4.json",
    }
    assert files == set(EXAMPLES)


def test_the_somatic_report_bundle_gives_every_variant_with_its_allele_frequency() -> None:
    profile = read_example("Bundle-bundle-oncology-report-example.json")

    assert [(f.label, f.origin, f.allele_frequency) for f in profile.findings] == [
        ("PIK3CA H1047R", "somatic", 0.2188),
        ("NRAS c.34G>T", "somatic", 0.1793),
        ("FBXW7 R465H", "somatic", 0.1053),
        ("KMT2D c.7900_7901delCA", "somatic", 0.188),
        ("PIK3CA c.333G>T", "somatic", 0.1471),
        ("IRS2 c.3960C>T", "somatic", 0.1343),
        ("CDKN2A A4_P11del", "somatic", 0.0536),
        ("RECQL4 R696C", "somatic", 0.2568),
        ("RYR1 R1655L", "somatic", 0.2151),
        ("SACS c.12118G>A", "somatic", 0.3333),
        ("SLIT2 c.1290C>A", "somatic", 0.2642),
        ("SMARCA4 A791V", "somatic", 0.1938),
    ]
    assert profile.unreadable == ()


def test_the_r4_examples_bundle_links_implications_to_variants_by_their_urn() -> None:
    profile = read_example("Bundle-bundle-oncologyexamples-r4.json")
    jak2 = profile.findings[0]

    assert [(f.label, f.origin) for f in profile.findings] == [
        ("JAK2 V617F", "germline"),
        ("KDR Q472H", "germline"),
        ("ERBB4 NC_000002.12:g.211713666_211713668del", "germline"),
    ]
    assert [b.text for b in profile.biomarkers] == ["25 mutations/Mb", "MSI: Stable"]
    assert [(i.drug_text, i.derived_from) for i in profile.implications] == [
        (drug, (jak2.source,)) for drug in ("Ruxolitinib", "AT9283", "SNX-5422", "TG02")
    ]
    # Entry 14 names a therapy but no implication.
    assert [source for source, _ in profile.unreadable] == [
        "Observation/Inline-Instance-for-oncologyexamples-r4-14"
    ]


def test_all_ig_examples_together_join_significance_and_disease_to_their_variants() -> None:
    profile = read_tumour_profile([load(p) for p in sorted(ONCO.glob("*.json"))])
    by_source = {f.source: f for f in profile.findings}

    assert by_source["Observation/EGFR-L858R-var"].significance == "pathogenic"
    # The CML diagnosis comes from the diagnostic implication of the ISCN result.
    assert profile.tumour_codes == {NSCLC, f"{SCT}|254837009", f"{SCT}|92818009"}


def test_emerge_germline_brca2_keeps_its_pathogenic_call_but_names_no_tumour() -> None:
    profile = read_tumour_profile(
        [load(EMERGE / "Custom" / "GenomicReportFHIRBundlePositive4.json")]
    )
    brca2 = next(f for f in profile.findings if f.gene == "BRCA2")

    assert (brca2.label, brca2.origin, brca2.significance, brca2.coding_hgvs) == (
        "BRCA2 A938fs",
        "germline",
        "pathogenic",
        "c.2808_2811delACAA",
    )
    # "Familial breast-ovarian cancer 2" is a predisposition, not the tumour's type.
    assert profile.tumour_codes == frozenset()


@pytest.mark.parametrize(
    "files",
    [
        ("Observation-TxImp01.json",),
        ("Observation-TxImp01.json", "Observation-Pgx-geno-1001.json"),
        ("Observation-TxImp06.json", "Observation-Pgx-geno-1002.json"),
        ("Observation-TherapeuticImplicationExample1.json",),
        ("Bundle-bundle-pgxexample.json",),
    ],
    ids=lambda files: "+".join(files),
)
def test_pgx_implications_are_not_tumour_results(files: tuple[str, ...]) -> None:
    profile = read_tumour_profile([load(STU3 / name) for name in files])

    assert (profile.implications, profile.unreadable) == ((), ())


# -- variants built in domain terms ----------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "expected"),
    [("somatic", "somatic"), ("germline", "germline"), (None, "unknown")],
)
def test_origin_is_the_genomic_source_class(origin: str | None, expected: str) -> None:
    profile = read(variant_observation("EGFR", protein="p.Leu858Arg", origin=origin))

    assert profile.findings[0].origin == expected


def test_origin_given_as_text_only_is_read() -> None:
    variant = variant_observation("EGFR", protein="p.Leu858Arg", origin=None)
    variant["component"].append(component("48002-0", concept(None, "Somatic")))

    assert read(variant).findings[0].origin == "somatic"


def test_an_absent_variant_is_a_negative_finding_in_a_tested_gene() -> None:
    profile = read(variant_observation("EGFR", protein="p.Thr790Met", present=False))

    assert (profile.findings[0].present, profile.findings[0].label) == (False, "EGFR T790M")
    # The absent finding itself shows EGFR was tested for T790M; tested_genes is for listings.
    assert profile.tested_genes == frozenset()


def test_no_variant_found_in_a_gene_makes_it_tested_without_a_finding() -> None:
    profile = read(variant_observation("BRCA1", origin="germline", present=False))

    assert (profile.findings, profile.tested_genes) == ((), frozenset({"BRCA1"}))


def test_germline_brca2_with_pathogenic_significance() -> None:
    variant = variant_observation(
        "BRCA2",
        protein="p.Ala938Profs*21",
        origin="germline",
        significance=("LA6668-3", "Pathogenic"),
    )

    finding = read(variant).findings[0]

    assert (finding.label, finding.origin, finding.significance) == (
        "BRCA2 A938fs",
        "germline",
        "pathogenic",
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (("LA6668-3", "Pathogenic"), "pathogenic"),
        (("LA26332-9", "Likely pathogenic"), "likely-pathogenic"),
        (("LA26333-7", "Uncertain significance"), "uncertain"),
        (("LA26334-5", "Likely benign"), "likely-benign"),
        (("LA6675-8", "Benign"), "benign"),
        ((None, "Likely pathogenic"), "likely-pathogenic"),
        ((None, "of interest"), None),
    ],
)
def test_significance_from_a_diagnostic_implication(
    answer: tuple[str | None, str], expected: str | None
) -> None:
    variant = variant_observation("BRCA2", protein="p.Ala938fs", origin="germline")

    profile = read(variant, diagnostic_implication("Observation/var-1", significance=answer))

    assert profile.findings[0].significance == expected


def test_significance_as_the_value_of_a_53037_8_observation_stu1_style() -> None:
    significance = {
        "resourceType": "Observation",
        "status": "final",
        "code": concept("53037-8"),
        "valueCodeableConcept": concept("LA6668-3", "Pathogenic"),
        "derivedFrom": [{"reference": "Observation/var-1"}],
    }

    profile = read(variant_observation("BRCA2", protein="p.Ala938fs"), significance)

    assert profile.findings[0].significance == "pathogenic"


@pytest.mark.parametrize(
    ("origin", "tumour_codes"),
    [("somatic", {f"{SCT}|92818009"}), (None, {f"{SCT}|92818009"}), ("germline", set())],
)
def test_a_diagnosis_names_the_tumour_unless_it_comes_from_a_germline_variant(
    origin: str | None, tumour_codes: set[str]
) -> None:
    variant = variant_observation("ABL1", variation="ABL1 T315I", origin=origin)
    diagnosis = diagnostic_implication(
        "Observation/var-1", significance=None, disease=("92818009", "Chronic myeloid leukemia")
    )

    assert read(variant, diagnosis).tumour_codes == tumour_codes


@pytest.mark.parametrize(
    "protein", ["p.Leu858Arg", "NP_005219.2:p.Leu858Arg", "p.(Leu858Arg)", "p.L858R", "L858R"]
)
def test_three_and_one_letter_protein_changes_read_alike(protein: str) -> None:
    finding = read(variant_observation("EGFR", protein=protein)).findings[0]

    assert (finding.protein, finding.label, finding.protein_hgvs) == (L858R, "EGFR L858R", protein)


def test_a_protein_change_that_cannot_be_read_is_kept_as_written() -> None:
    finding = read(variant_observation("EGFR", protein="p.Glu746_Ala750delinsXaa")).findings[0]

    assert (finding.protein, finding.protein_hgvs, finding.label) == (
        None,
        "p.Glu746_Ala750delinsXaa",
        "EGFR p.Glu746_Ala750delinsXaa",
    )


def test_a_gene_sent_by_hgnc_id_only_is_named_from_the_symbol_table() -> None:
    variant = variant_observation("EGFR", protein="p.Leu858Arg", hgnc_only=True)

    profile = read(variant, hgnc_symbols={"HGNC:3236": "EGFR"})

    assert profile.findings[0].label == "EGFR L858R"


@pytest.mark.parametrize(
    ("variation", "gene", "kind", "label", "partners"),
    [
        ("EGFR L858R", "EGFR", "variant", "EGFR L858R", set()),
        ("EGFR Exon 19 deletion", "EGFR", "variant", "EGFR Exon 19 deletion", set()),
        ("ROS1 Fusion", "ROS1", "fusion", "ROS1 fusion", {"ROS1"}),
        ("EML4-ALK", None, "fusion", "EML4-ALK fusion", {"EML4", "ALK"}),
        ("BCR::ABL1", None, "fusion", "BCR-ABL1 fusion", {"BCR", "ABL1"}),
        ("BCR-ABL1 fusion", None, "fusion", "BCR-ABL1 fusion", {"BCR", "ABL1"}),
        ("ERBB2 amplification", "ERBB2", "copy-number", "ERBB2 amplification", set()),
        # Not a fusion: HLA genes have a hyphen of their own.
        ("HLA-B L12R", "HLA-B", "variant", "HLA-B L12R", set()),
    ],
)
def test_the_variation_code_text_when_structured_components_are_missing(
    variation: str, gene: str | None, kind: str, label: str, partners: set[str]
) -> None:
    finding = read(variant_observation(variation=variation)).findings[0]

    assert (finding.gene, finding.kind, finding.label, finding.partners) == (
        gene,
        kind,
        label,
        frozenset(partners),
    )


def test_a_fusion_with_both_partners_as_gene_components() -> None:
    variant = variant_observation(
        "EML4", "ALK", variation="EML4-ALK fusion", change_type=("SO:0001565", "gene_fusion")
    )

    finding = read(variant).findings[0]

    assert (finding.gene, finding.kind, finding.partners, finding.label) == (
        "EML4",
        "fusion",
        frozenset({"EML4", "ALK"}),
        "EML4-ALK fusion",
    )
    assert read(variant).tested_genes == frozenset()


@pytest.mark.parametrize(
    ("iscn", "partners", "label"),
    [
        ("46,XY,t(9;22)(q34.1;q11.2)", {"BCR", "ABL1"}, "BCR-ABL1 t(9;22)"),
        ("46,XX,t(9;22)(q34;q11)", {"BCR", "ABL1"}, "BCR-ABL1 t(9;22)"),
        ("46,XX,t(9;22)(q34;q4)", set(), "t(9;22)"),
        ("46,XX,t(9;22)(q21;q11)", set(), "t(9;22)"),
        ("46,XX,t(15;17)(q24;q21)", set(), "t(15;17)"),
        ("47,XY,+8", set(), "47,XY,+8"),
    ],
)
def test_iscn_is_a_rearrangement_and_only_ph_breakpoints_name_bcr_abl1(
    iscn: str, partners: set[str], label: str
) -> None:
    finding = read(variant_observation(iscn=iscn, origin=None)).findings[0]

    assert (finding.kind, finding.iscn, finding.partners, finding.label) == (
        "rearrangement",
        iscn,
        frozenset(partners),
        label,
    )


@pytest.mark.parametrize(
    ("change_type", "copies", "copy_change", "label"),
    [
        (("SO:0001742", "copy_number_gain"), None, "gain", "ERBB2 gain"),
        (("SO:0001743", "copy_number_loss"), None, "loss", "ERBB2 loss"),
        (
            ("SO:0001880", "feature_amplification"),
            {"value": 12},
            "amplification",
            "ERBB2 amplification",
        ),
        (("SO:0001019", "copy_number_variation"), {"value": 8}, None, "ERBB2 copy number 8"),
        (
            None,
            {"value": 8, "system": "http://unitsofmeasure.org", "code": "1"},
            None,
            "ERBB2 copy number 8",
        ),
        # A bound is not a count.
        (
            ("SO:0001019", "copy_number_variation"),
            {"value": 8, "comparator": ">"},
            None,
            "ERBB2 copy number change",
        ),
    ],
)
def test_copy_number_results(
    change_type: tuple[str, str] | None,
    copies: dict[str, Any] | None,
    copy_change: str | None,
    label: str,
) -> None:
    variant = variant_observation("ERBB2", change_type=change_type, copy_number=copies)

    finding = read(variant).findings[0]

    expected_copies = float(copies["value"]) if copies and "comparator" not in copies else None
    assert (finding.kind, finding.copy_change, finding.copy_number, finding.label) == (
        "copy-number",
        copy_change,
        expected_copies,
        label,
    )


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ({"value": 0.066, "unit": "decimal"}, 0.066),
        ({"value": 6.6, "unit": "%"}, 0.066),
        ({"value": 66}, None),
        ({"value": "0.066"}, None),
        ({"value": True}, None),
    ],
)
def test_allele_frequency_is_a_fraction(quantity: dict[str, Any], expected: float | None) -> None:
    variant = variant_observation("EGFR", protein="p.Leu858Arg", allele_frequency=quantity)

    assert read(variant).findings[0].allele_frequency == pytest.approx(expected)


@pytest.mark.parametrize(
    ("status", "read_it"),
    [
        ("final", True),
        ("amended", True),
        ("corrected", True),
        ("preliminary", True),
        ("entered-in-error", False),
        ("cancelled", False),
        ("registered", False),
    ],
)
def test_statuses_are_read_as_the_germline_reader_reads_them(status: str, read_it: bool) -> None:
    profile = read(variant_observation("EGFR", protein="p.Leu858Arg", status=status))

    assert (len(profile.findings), profile.unreadable) == (int(read_it), ())


def test_a_variant_the_lab_did_not_call_is_no_result() -> None:
    variant = variant_observation("EGFR", protein="p.Leu858Arg", present=None)
    variant["dataAbsentReason"] = concept("not-performed")

    assert read(variant) == TumourProfile()


def test_a_wild_type_call_is_no_finding() -> None:
    variant = variant_observation(
        "CYP2C19", origin="germline", change_type=("SO:0002073", "wild type")
    )

    assert read(variant) == TumourProfile()


def test_a_germline_panels_positional_calls_are_left_to_the_germline_reader() -> None:
    call = variant_observation(origin=None)
    call["component"] += [component("69547-8", "A"), component("69551-0", "G")]

    assert read(call) == TumourProfile()


# -- regions studied -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(region_studied("EGFR", "KRAS", "ALK"), id="STU2 region-studied Observation"),
        pytest.param(study_analysis("EGFR", "KRAS", "ALK"), id="STU3 genomic-study-analysis"),
    ],
)
def test_regions_studied_make_genes_tested(resource: dict[str, Any]) -> None:
    assert read(resource).tested_genes == {"EGFR", "KRAS", "ALK"}


# -- biomarkers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "kind", "text"),
    [
        (biomarker_observation("81695-9", answer=("LA26203-2", "MSI-H")), "msi", "MSI-H"),
        (biomarker_observation("81695-9", answer=("LA14122-8", "Stable")), "msi", "MSI: Stable"),
        (biomarker_observation("94076-7", quantity={"value": 12}), "tmb", "12 mutations/Mb"),
        (
            biomarker_observation("94077-5", answer=(None, "TMB high")),
            "tmb",
            "TMB high",
        ),
        # "PR" is no word of "Present".
        (biomarker_observation("40557-1", answer=PRESENT), "pr", "PR IHC: Present"),
        (
            biomarker_observation("85147-7", answer=("LA6577-6", "Negative")),
            "pd-l1",
            "PD-L1 22C3 IHC: Negative",
        ),
        (
            biomarker_observation("18474-7", answer=ABSENT, gene_symbol="ERBB2"),
            "her2",
            "HER2 IHC: Absent",
        ),
        # Coded as the list says but without the IG profile: read all the same.
        (
            biomarker_observation("94076-7", quantity={"value": 3.5}, profile=False),
            "tmb",
            "3.5 mutations/Mb",
        ),
    ],
)
def test_biomarkers_are_read_by_their_code(resource: dict[str, Any], kind: str, text: str) -> None:
    result = read(resource).biomarkers[0]

    assert (result.kind, result.text) == (kind, text)


def test_interpretation_adds_to_the_answers() -> None:
    tmb = biomarker_observation("94076-7", quantity={"value": 12, "unit": "/Mb"})
    tmb["interpretation"] = [
        concept(
            "H", "High", system="http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
        )
    ]

    result = read(tmb).biomarkers[0]

    assert result.answers == {
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation|H",
        "high",
    }


SITE_PDL1 = "http://lab.example.org/codes|PDL1-SP263"


@pytest.mark.parametrize(
    ("site_codes", "resource", "kinds"),
    [
        pytest.param(
            {SITE_PDL1: "pd-l1"},
            biomarker_observation(
                "PDL1-SP263",
                system="http://lab.example.org/codes",
                answer=("POS", "Positive"),
                profile=False,
            ),
            ["pd-l1"],
            id="a site code is added",
        ),
        pytest.param(
            {},
            biomarker_observation(
                "PDL1-SP263",
                system="http://lab.example.org/codes",
                answer=("POS", "Positive"),
                profile=False,
            ),
            [],
            id="without it the result is not a biomarker",
        ),
        pytest.param(
            {f"{LOINC}|94076-7": "tmb-wes"},
            biomarker_observation("94076-7", quantity={"value": 12}),
            ["tmb-wes"],
            id="a default is overridden",
        ),
        pytest.param(
            {f"{LOINC}|81695-9": ""},
            biomarker_observation("81695-9", answer=("LA26203-2", "MSI-H"), profile=False),
            [],
            id="a default is removed",
        ),
    ],
)
def test_site_biomarker_codes(
    site_codes: dict[str, str], resource: dict[str, Any], kinds: list[str]
) -> None:
    profile = read(resource, biomarker_codes=site_codes)

    assert [b.kind for b in profile.biomarkers] == kinds


def test_the_default_biomarker_codes_are_the_igs() -> None:
    assert sorted(set(DEFAULT_BIOMARKER_CODES.values())) == [
        "er",
        "her2",
        "hrd",
        "mgmt-methylation",
        "msi",
        "pd-l1",
        "pr",
        "tmb",
    ]


def test_a_biomarker_coded_without_a_system_is_matched_on_its_code() -> None:
    tmb = biomarker_observation("94076-7", quantity={"value": 12})
    del tmb["code"]["coding"][0]["system"]

    assert [b.code for b in read(tmb).biomarkers] == [f"{LOINC}|94076-7"]


# -- implications ----------------------------------------------------------------------------


def test_an_implication_derived_from_a_somatic_variant_is_read() -> None:
    profile = read(
        variant_observation("EGFR", protein="p.Leu858Arg"),
        implication_observation("Observation/var-1", evidence="Tier I - Level A"),
        identify_drug=name_drug,
    )

    assert profile.implications == (
        LabImplication(
            "Responsive",
            drug="gefitinib",
            drug_text="Gefitinib",
            evidence="Tier I - Level A",
            disease="Non-small cell lung cancer (disorder)",
            derived_from=("Observation/var-1",),
            source="Observation/impl-1",
        ),
    )


def test_an_implication_about_two_drugs_is_one_statement_per_drug() -> None:
    implication = implication_observation("Observation/var-1", drugs=("Gefitinib", "Erlotinib"))

    profile = read(variant_observation("EGFR", protein="p.Leu858Arg"), implication)

    assert [i.drug_text for i in profile.implications] == ["Gefitinib", "Erlotinib"]


@pytest.mark.parametrize(
    ("resources", "kept"),
    [
        pytest.param(
            [
                genotype_observation("CYP2C19", "*2/*2", id="geno-1"),
                implication_observation(
                    "Observation/geno-1",
                    answer=("LA9657-3", "Poor metabolizer"),
                    drugs=("clopidogrel",),
                ),
            ],
            False,
            id="derived from a genotype",
        ),
        pytest.param(
            [
                implication_observation(
                    "Observation/geno-1", answer=("LA9657-3", "Poor metabolizer")
                )
            ],
            False,
            id="derived from what is not here, a PGx answer",
        ),
        pytest.param(
            [
                implication_observation(
                    "Observation/geno-1", answer=(None, "Intermediate metabolizer")
                )
            ],
            False,
            id="derived from what is not here, a PGx answer in words",
        ),
        pytest.param(
            [implication_observation("Observation/var-1")],
            True,
            id="derived from what is not here, a tumour answer",
        ),
        pytest.param(
            [
                variant_observation("DPYD", coding="c.1905+1G>A", origin="germline"),
                implication_observation(
                    "Observation/var-1",
                    answer=("LA9657-3", "Poor metabolizer"),
                    drugs=("capecitabine",),
                ),
            ],
            False,
            id="derived from a variant, a PGx answer",
        ),
        pytest.param(
            [
                biomarker_observation("94076-7", quantity={"value": 20}),
                implication_observation("Observation/marker-1", drugs=("Pembrolizumab",)),
            ],
            True,
            id="derived from a biomarker",
        ),
        pytest.param(
            [
                variant_observation("BRCA2", protein="p.Ala938fs", origin="germline"),
                implication_observation("Observation/var-1", drugs=("Olaparib",)),
            ],
            True,
            id="derived from a germline cancer-gene variant",
        ),
    ],
)
def test_only_implications_about_tumour_profile_results_are_read(
    resources: list[dict[str, Any]], kept: bool
) -> None:
    assert bool(read(*resources).implications) is kept


# -- what cannot be read ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (
            variant_observation("EGFR"),
            "EGFR variant does not say which change it is: give p.HGVS (48005-3), c.HGVS "
            "(48004-6), a variation code (81252-9), ISCN (81291-7) or a copy number (82155-3)",
        ),
        (
            variant_observation(),
            "variant does not say which change it is: give p.HGVS (48005-3), c.HGVS "
            "(48004-6), a variation code (81252-9), ISCN (81291-7) or a copy number (82155-3)",
        ),
        (
            variant_observation("EGFR", protein="p.Leu858Arg", present=None),
            "EGFR variant has no Present/Absent value (LOINC LA9633-4 / LA9634-2)",
        ),
        (
            variant_observation("EGFR", protein="p.Leu858Arg", present=None, origin=None),
            "EGFR variant has no Present/Absent value (LOINC LA9633-4 / LA9634-2)",
        ),
        (biomarker_observation("94076-7"), "TMB result has no value"),
        (
            biomarker_observation("99999-9"),
            "molecular biomarker (http://loinc.org|99999-9) is not in the biomarker code list: "
            "add its code to the site's biomarker codes to read it",
        ),
        (
            implication_observation("Observation/var-1", answer=None),
            "therapeutic implication without its implication: component therapeutic-implication "
            "carries Responsive, Resistant …",
        ),
    ],
)
def test_what_looks_like_a_tumour_result_but_cannot_be_read(
    resource: dict[str, Any], reason: str
) -> None:
    profile = read(resource)

    assert profile.unreadable == ((f"Observation/{resource['id']}", reason),)
    assert (profile.findings, profile.biomarkers, profile.implications) == ((), (), ())


@pytest.mark.parametrize(
    "value",
    [
        None,
        "Observation",
        42,
        [],
        [None, 1, "x"],
        {"resourceType": 5},
        {"resourceType": "Observation", "code": "69548-6"},
        {"resourceType": "Observation", "code": concept("69548-6"), "component": {"a": 1}},
        {
            "resourceType": "Observation",
            "code": concept("69548-6"),
            "component": [None, 5, {"code": []}],
        },
        {"resourceType": "Observation", "meta": {"profile": "variant"}, "derivedFrom": "x"},
        {
            "resourceType": "Observation",
            "code": concept("94076-7"),
            "valueQuantity": {"value": float("nan")},
        },
        {
            "resourceType": "Observation",
            "code": concept("94076-7"),
            "valueQuantity": {"value": 10**400},
        },
        {
            "resourceType": "Bundle",
            "entry": [
                {"resource": None},
                {"fullUrl": 3, "resource": {"resourceType": "Observation"}},
            ],
        },
        {
            "resourceType": "Procedure",
            "extension": [
                {
                    "url": "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genomic-study-analysis-regions",
                    "extension": "x",
                }
            ],
        },
    ],
)
def test_garbage_is_no_result_and_no_error(value: Any) -> None:
    for profile in (read(value), read_tumour_profile(value)):
        assert (profile.findings, profile.biomarkers, profile.implications) == ((), (), ())


def test_a_single_bundle_is_read_like_a_list_holding_it() -> None:
    variant = variant_observation("EGFR", protein="p.Leu858Arg")

    assert read_tumour_profile(bundle(variant)) == read(variant)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (variant_observation("EGFR", protein="p.Leu858Arg"), True),
        (variant_observation("BRCA2", protein="p.Ala938fs", origin="germline"), False),
        (variant_observation("EGFR", protein="p.Leu858Arg", origin=None), False),
        (biomarker_observation("94076-7", quantity={"value": 12}, profile=False), True),
        (biomarker_observation("99999-9", quantity={"value": 12}), True),
        (genotype_observation("CYP2C19", "*2/*2"), False),
        (implication_observation("Observation/var-1"), False),
        (
            {"resourceType": "Observation", "code": concept("therapeutic-implication", system=TBD)},
            False,
        ),
        ("Observation", False),
    ],
)
def test_is_tumour_result(resource: Any, expected: bool) -> None:
    assert is_tumour_result(resource) is expected


# -- properties ------------------------------------------------------------------------------

TUMOUR_CODES = [
    "69548-6",
    "48018-6",
    "48005-3",
    "48004-6",
    "81290-9",
    "81252-9",
    "81291-7",
    "48002-0",
    "81258-6",
    "53037-8",
    "48019-4",
    "82155-3",
    "48013-7",
    "93044-6",
    "51963-7",
    "81259-4",
    "53041-0",
    "94076-7",
    "81695-9",
    "85147-7",
    "18474-7",
    "72382-5",
    "LA6684-0",
    "LA6683-2",
    "LA9633-4",
    "LA9634-2",
    "LA6668-3",
    "SO:0001019",
    "SO:0001742",
    "SO:0001565",
    "SO:0002073",
    "therapeutic-implication",
    "associated-therapy",
    "conclusion-string",
    "diagnostic-implication",
    "molecular-consequence",
    "84413-4",
]
TUMOUR_TEXTS = [
    "EGFR L858R",
    "ROS1 Fusion",
    "EML4-ALK",
    "BCR::ABL1",
    "ERBB2 amplification",
    "NP_005219.2:p.Leu858Arg",
    "p.Glu746_Ala750del",
    "46,XX,t(9;22)(q34;q11)",
    "Responsive",
    "Poor metabolizer",
    "Somatic",
    "Pathogenic",
    "HGNC:3236",
    "Observation/var-1",
    "urn:uuid:1",
    "",
    "%",
]
TEXT = st.sampled_from(TUMOUR_TEXTS) | st.text(max_size=12)
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from([LOINC, HGNC, TBD, SCT]) | TEXT,
        "code": st.sampled_from(TUMOUR_CODES) | TEXT | JSON,
        "display": TEXT,
    },
)
CONCEPT = st.fixed_dictionaries(
    {}, optional={"coding": st.lists(CODING | JSON, max_size=3), "text": TEXT | JSON}
)
VALUES = st.fixed_dictionaries(
    {},
    optional={
        "valueCodeableConcept": CONCEPT | JSON,
        "valueString": TEXT | JSON,
        "valueQuantity": st.fixed_dictionaries(
            {}, optional={"value": JSON, "unit": TEXT, "comparator": st.sampled_from([">", "<"])}
        ),
    },
)


@st.composite
def tumour_observations(draw: st.DrawFn) -> dict[str, Any]:
    """An Observation with the codes the tumour reader branches on, the rest random."""
    resource = {
        "resourceType": draw(st.sampled_from(["Observation", "Observation", "Procedure"])),
        "id": draw(st.sampled_from(["var-1", "marker-1", "impl-1"]) | TEXT),
        "code": draw(CONCEPT),
        **draw(VALUES),
    }
    resource["component"] = draw(
        st.lists(
            st.fixed_dictionaries({"code": CONCEPT}).flatmap(
                lambda c: VALUES.map(lambda v: {**c, **v})
            )
            | JSON,
            max_size=5,
        )
    )
    resource.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "status": st.sampled_from(["final", "entered-in-error"]) | JSON,
                    "meta": st.fixed_dictionaries(
                        {
                            "profile": st.lists(
                                st.sampled_from(
                                    [
                                        "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant",
                                        "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/molecular-biomarker",
                                    ]
                                )
                                | JSON,
                                max_size=2,
                            )
                        }
                    )
                    | JSON,
                    "derivedFrom": st.lists(
                        st.fixed_dictionaries({"reference": TEXT | JSON}), max_size=2
                    )
                    | JSON,
                    "interpretation": st.lists(CONCEPT | JSON, max_size=2) | JSON,
                    "extension": JSON,
                    "dataAbsentReason": JSON,
                },
            )
        )
    )
    return resource


ONCO_EXAMPLES = [load(p) for p in sorted(ONCO.glob("*.json"))]


@st.composite
def mutated_onco_examples(draw: st.DrawFn) -> Any:
    """An IG oncology example with a few values replaced, dropped or swapped for a result."""
    document = copy.deepcopy(draw(st.sampled_from(ONCO_EXAMPLES)))
    places = list(_places(document))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "drop", "tumour"]))
        if action == "drop" and isinstance(container, dict):
            container.pop(key, None)
        elif key in container if isinstance(container, dict) else key < len(container):
            container[key] = draw(JSON if action == "replace" else tumour_observations())
    return document


ANY_TUMOUR_FHIR = (
    JSON
    | tumour_observations()
    | mutated_onco_examples()
    | st.lists(tumour_observations() | JSON, max_size=4).map(
        lambda entries: {
            "resourceType": "Bundle",
            "entry": [{"resource": e, "fullUrl": "urn:uuid:1"} for e in entries],
        }
    )
)


@PROPERTY
@given(values=st.lists(ANY_TUMOUR_FHIR, max_size=3))
def test_read_tumour_profile_never_raises(values: list[Any]) -> None:
    profile = read_tumour_profile(values, identify_drug=name_drug, biomarker_codes={"x|y": "z"})

    assert all(isinstance(gene, str) for gene in profile.tested_genes)
    assert all(isinstance(reason, str) for _, reason in profile.unreadable)


def test_no_patient_data_is_kept_after_a_read() -> None:
    from fhir_adapters import tumour

    read(variant_observation("EGFR", protein="p.Leu858Arg"))
    # The per-call component index is dropped when the read returns.
    assert getattr(tumour._LOCAL, "indexes", None) is None
