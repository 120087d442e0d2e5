"""From VCF and outside calls to each gene's call and CPIC phenotype."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_adapters.vcf.errors import VcfInputError
from fhir_adapters.vcf.outside_calls import read_outside_calls
from fhir_adapters.vcf.pipeline import call_vcf
from knowledge import KnowledgeBase

EXAMPLES = Path(__file__).resolve().parents[4] / "shared/pgx-data/truth/pharmcat_examples"
EXAMPLE2 = EXAMPLES / "pharmcat.example2.vcf"  # CYP2C19 *2/*2, CYP2B6 *1/*6


def _outside(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "outside.tsv"
    path.write_text(text)
    return path


def test_vcf_genes_get_cpic_phenotypes_and_activity_scores(kb: KnowledgeBase) -> None:
    [calls] = call_vcf(EXAMPLE2, kb=kb)
    cyp2c19 = calls.gene("CYP2C19")
    assert cyp2c19 is not None
    assert (cyp2c19.diplotype, cyp2c19.phenotype) == ("*2/*2", "Poor Metabolizer")
    cyp2c9 = calls.gene("CYP2C9")
    assert cyp2c9 is not None
    assert (cyp2c9.phenotype, cyp2c9.activity_score) == ("Normal Metabolizer", "2.0")
    dpyd = calls.gene("DPYD")
    assert dpyd is not None
    assert (dpyd.phenotype, dpyd.phenotype_basis) == ("Normal Metabolizer", "Reference/Reference")
    assert [(v.rsid, v.genotype) for v in calls.variants] == [("rs12777823", "G/G")]
    # Genes only outside calls give are named as not assessed, never called from the VCF.
    assert calls.gene("CYP2D6") is None
    assert any("CYP2D6, HLA-A, HLA-B, MT-RNR1 not assessed" in w for w in calls.warnings)


def test_outside_calls_replace_and_add_genes(tmp_path: Path, kb: KnowledgeBase) -> None:
    outside = _outside(
        tmp_path,
        "# from Cyrius\nCYP2D6\tCYP2D6*1/CYP2D6*4.001\nCYP2C19\t*1/*1\n"
        "HLA-B\tHLA-B*57:01:01/*44:02\nMT-RNR1\t1555A>G\n",
    )
    [calls] = call_vcf(EXAMPLE2, outside_calls=outside, kb=kb)
    genes = {g.gene: g for g in calls.genes}
    assert (genes["CYP2D6"].diplotype, genes["CYP2D6"].phenotype) == (
        "*1/*4",
        "Intermediate Metabolizer",
    )
    assert genes["CYP2D6"].source == "outside call"
    # The outside call wins over the VCF's *2/*2.
    assert (genes["CYP2C19"].diplotype, genes["CYP2C19"].source) == ("*1/*1", "outside call")
    assert genes["HLA-B"].diplotype == "*57:01/*44:02"
    assert "*57:01 positive" in (genes["HLA-B"].phenotype or "")
    # CPIC's table names the allele "m.1555A>G"; recommendations are looked up by that name.
    assert genes["MT-RNR1"].diplotype == "m.1555A>G"
    assert genes["MT-RNR1"].phenotype is not None


def test_an_activity_score_decides_for_activity_score_genes(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    outside = _outside(tmp_path, "CYP2D6\t*1/*4\tNormal Metabolizer\t1.0\n")
    [calls] = call_vcf(EXAMPLE2, outside_calls=outside, kb=kb)
    cyp2d6 = calls.gene("CYP2D6")
    assert cyp2d6 is not None
    assert (cyp2d6.phenotype, cyp2d6.activity_score) == ("Intermediate Metabolizer", "1.0")
    assert any("differs from CPIC's" in note for note in cyp2d6.notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CYP2D6\t*1/*4\nCYP9Z9\t*1/*1\n", "outside.tsv:2: unknown gene 'CYP9Z9'"),
        ("CYP2D6\n", "outside.tsv:1: CYP2D6 has no call"),
        ("CYP2D6\t*1/*4\n\nCYP2D6\t*4/*4\n", "outside.tsv:3: CYP2D6 is called twice"),
        ("CYP2D6 *1/*4\n", "outside.tsv:1: unknown gene 'CYP2D6 *1/*4'"),
    ],
)
def test_bad_outside_call_files_get_located_errors(
    tmp_path: Path, kb: KnowledgeBase, text: str, expected: str
) -> None:
    with pytest.raises(VcfInputError) as caught:
        read_outside_calls(_outside(tmp_path, text), set(kb.genes))
    assert str(caught.value).startswith(expected)


def test_a_vcf_with_no_definition_position_is_refused(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "elsewhere.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
        "chr3\t1000\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n"
    )
    with pytest.raises(VcfInputError, match="no usable genotype at any allele-defining position"):
        call_vcf(path, kb=kb)
