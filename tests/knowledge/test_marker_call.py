"""Calling one biomarker for a tumour profile: present, negative, uncertain or not on file."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.marker_call import call_marker
from knowledge.oncology_schema import Marker, Wanted
from knowledge.protein_change import parse_protein_change
from knowledge.tumour import BiomarkerResult, Finding, TumourProfile

LOINC = "http://loinc.org"


def marker(**given: Any) -> Marker:
    return Marker.model_validate({"label": "test marker", "source": "test", **given})


def variant(gene: str, protein: str | None, **given: Any) -> Finding:
    change = parse_protein_change(protein) if protein else None
    return Finding(gene=gene, kind="variant", label=f"{gene} {protein}", protein=change, **given)


def profile(*findings: Finding, tested: tuple[str, ...] = (), **given: Any) -> TumourProfile:
    return TumourProfile(findings=findings, tested_genes=frozenset(tested), **given)


L858R = marker(genes=["EGFR"], variant={"protein": ["L858R"]})
EXON19 = marker(
    genes=["EGFR"], variant={"codon_range": [729, 761], "change_types": ["deletion", "delins"]}
)
RAS = marker(genes=["KRAS", "NRAS"], variant={"codons": [12, 13, 59, 61, 117, 146]})
BRCA = marker(genes=["BRCA1", "BRCA2"], variant={"pathogenic": True})
ALK = marker(genes=["ALK"], fusion={})
BCR_ABL1 = marker(genes=["ABL1"], fusion={"partners": ["BCR"], "iscn": ["t(9;22)"]})
ERBB2 = marker(
    genes=["ERBB2"],
    copy_number={"change": "amplification"},
    biomarker={"kind": "her2", "positive": ["3+"], "negative": ["0", "1+"]},
)
TMB = marker(biomarker={"kind": "tmb", "at_least": 10, "unit": "mut/Mb"})
MSI = marker(biomarker={"kind": "msi", "positive": [f"{LOINC}|LA26203-2"]})


@pytest.mark.parametrize(
    ("rule", "tumour", "origin", "status"),
    [
        (L858R, profile(variant("EGFR", "p.Leu858Arg", origin="somatic")), "somatic", "present"),
        (L858R, profile(variant("EGFR", "L858R")), "somatic", "present"),
        (L858R, profile(variant("EGFR", "p.Thr790Met")), "somatic", "negative"),
        (L858R, profile(variant("EGFR", "L858R", present=False)), "somatic", "negative"),
        (L858R, profile(tested=("EGFR",)), "somatic", "negative"),
        (L858R, profile(), "somatic", "not-on-file"),
        (L858R, profile(variant("KRAS", "G12D")), "somatic", "not-on-file"),
        (L858R, profile(variant("EGFR", None)), "somatic", "uncertain"),
        (L858R, profile(variant("EGFR", "L858R", origin="germline")), "somatic", "not-on-file"),
        (EXON19, profile(variant("EGFR", "p.Glu746_Ala750del")), "somatic", "present"),
        (EXON19, profile(variant("EGFR", "p.Leu747_Pro753delinsSer")), "somatic", "present"),
        (EXON19, profile(variant("EGFR", "p.Asp770_Asn771insSerValAsp")), "somatic", "negative"),
        (EXON19, profile(variant("EGFR", "p.Leu858Arg")), "somatic", "negative"),
        (RAS, profile(variant("KRAS", "p.Gly12Asp")), "somatic", "present"),
        (RAS, profile(variant("NRAS", "Q61K")), "somatic", "present"),
        (RAS, profile(variant("KRAS", "A146T")), "somatic", "present"),
        (RAS, profile(variant("KRAS", "K117N")), "somatic", "present"),
        # Every gene of a marker must be tested for it to be negative (RAS wild-type is both).
        (RAS, profile(variant("KRAS", "L19F")), "somatic", "not-on-file"),
        (RAS, profile(variant("KRAS", "L19F"), tested=("NRAS",)), "somatic", "negative"),
        # A germline result says nothing of the tumour, and a sequence variant nothing of a fusion.
        (
            RAS,
            profile(variant("KRAS", "L19F", origin="germline"), tested=("NRAS",)),
            "somatic",
            "not-on-file",
        ),
        (ALK, profile(variant("ALK", "F1174L")), "somatic", "not-on-file"),
        (
            BRCA,
            profile(variant("BRCA2", "p.Glu1234Ter", origin="germline", significance="pathogenic")),
            "germline",
            "present",
        ),
        (
            BRCA,
            profile(variant("BRCA2", "p.Glu1234Ter", origin="somatic", significance="pathogenic")),
            "germline",
            "not-on-file",
        ),
        (
            BRCA,
            profile(variant("BRCA2", "p.Glu1234Ter", origin="somatic", significance="pathogenic")),
            "any",
            "present",
        ),
        (
            BRCA,
            profile(variant("BRCA1", "p.Glu23fs", significance="pathogenic")),
            "germline",
            "uncertain",
        ),
        (BRCA, profile(variant("BRCA1", "p.Glu23fs", origin="germline")), "germline", "uncertain"),
        (
            BRCA,
            profile(variant("BRCA1", "p.Pro871Leu", origin="germline", significance="benign")),
            "germline",
            "not-on-file",
        ),
        (
            BRCA,
            profile(
                variant("BRCA1", "p.Pro871Leu", origin="germline", significance="benign"),
                variant("BRCA2", "p.Asn372His", origin="germline", significance="benign"),
            ),
            "germline",
            "negative",
        ),
        (
            BRCA,
            profile(
                variant("BRCA1", "p.Pro871Leu", origin="germline", significance="benign"),
                variant("BRCA2", "p.Asn372His", origin="germline", significance="benign"),
            ),
            "any",
            "not-on-file",
        ),
        (
            ALK,
            profile(
                Finding(
                    gene="ALK", kind="fusion", label="EML4-ALK", partners=frozenset({"EML4", "ALK"})
                )
            ),
            "somatic",
            "present",
        ),
        (
            BCR_ABL1,
            profile(
                Finding(
                    gene=None, kind="rearrangement", label="t(9;22)", iscn="46,XX,t(9;22)(q34;q11)"
                )
            ),
            "somatic",
            "present",
        ),
        (
            BCR_ABL1,
            profile(
                Finding(
                    gene="ABL1", kind="fusion", label="ABL1 fusion", partners=frozenset({"ABL1"})
                )
            ),
            "somatic",
            "uncertain",
        ),
        (
            ERBB2,
            profile(
                Finding(
                    gene="ERBB2", kind="copy-number", label="ERBB2 amp", copy_change="amplification"
                )
            ),
            "somatic",
            "present",
        ),
        (
            ERBB2,
            profile(biomarkers=(BiomarkerResult("her2", "IHC 3+", answers=frozenset({"3+"})),)),
            "somatic",
            "present",
        ),
        (
            ERBB2,
            profile(biomarkers=(BiomarkerResult("her2", "IHC 1+", answers=frozenset({"1+"})),)),
            "somatic",
            "negative",
        ),
        (
            ERBB2,
            profile(biomarkers=(BiomarkerResult("her2", "IHC 2+", answers=frozenset({"2+"})),)),
            "somatic",
            "uncertain",
        ),
        (
            TMB,
            profile(biomarkers=(BiomarkerResult("tmb", "29.8", value=29.8, unit="mut/Mb"),)),
            "somatic",
            "present",
        ),
        (
            TMB,
            profile(biomarkers=(BiomarkerResult("tmb", "10", value=10.0),)),
            "somatic",
            "present",
        ),
        (
            TMB,
            profile(biomarkers=(BiomarkerResult("tmb", "9.9", value=9.9),)),
            "somatic",
            "negative",
        ),
        (
            TMB,
            profile(biomarkers=(BiomarkerResult("tmb", "12 %", value=12.0, unit="%"),)),
            "somatic",
            "uncertain",
        ),
        (TMB, profile(), "somatic", "not-on-file"),
        (
            MSI,
            profile(
                biomarkers=(
                    BiomarkerResult("msi", "MSI-H", answers=frozenset({f"{LOINC}|LA26203-2"})),
                )
            ),
            "somatic",
            "present",
        ),
        (
            MSI,
            profile(biomarkers=(BiomarkerResult("msi", "MSS", answers=frozenset({"mss"})),)),
            "somatic",
            "uncertain",
        ),
    ],
)
def test_call(rule: Marker, tumour: TumourProfile, origin: Wanted, status: str) -> None:
    assert call_marker("m", rule, tumour, origin).status == status


def test_uncertain_says_why() -> None:
    tumour = profile(variant("BRCA1", "p.Glu23fs", origin="germline"))
    call = call_marker("brca", BRCA, tumour, "germline")
    assert call.note == "BRCA1 p.Glu23fs: no pathogenicity call from the lab"


def test_present_names_the_result_that_decided() -> None:
    finding = variant("EGFR", "L858R", source="Observation/var-1")
    call = call_marker("l858r", L858R, profile(finding, variant("EGFR", "T790M")), "somatic")
    assert call.evidence == (finding,)
