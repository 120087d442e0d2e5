"""DPYD and RYR1: variants per copy, and the phenotype from the two lowest-function ones."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase
from knowledge.allele_definitions import GeneDefinition, load_allele_definitions
from knowledge.allele_matching import Genotype
from knowledge.lowest_function import lowest_function_pair
from knowledge.variant_listing import list_variants

# rsIDs of DPYD variants, from knowledge/alleles/DPYD_translation.json.
STAR_2A = "rs3918290"  # c.1905+1G>A (*2A), no function, G>A
C2846 = "rs67376798"  # c.2846A>T, decreased function, T>A on the plus strand
HAPB3_INTRON = "rs75017182"
HAPB3_EXON = "rs56038477"


@pytest.fixture(scope="module")
def dpyd() -> GeneDefinition:
    return load_allele_definitions()["DPYD"]


def _reference(definition: GeneDefinition) -> dict[int, Genotype]:
    return {p.position: Genotype((p.ref, p.ref)) for p in definition.positions}


def _with(
    definition: GeneDefinition, *, phased: bool = False, **calls: tuple[int, int]
) -> dict[int, Genotype]:
    """Reference everywhere, then ``rsID=(copy1 alt?, copy2 alt?)``."""
    genotypes = _reference(definition)
    for rsid, (first, second) in calls.items():
        position = next(p for p in definition.positions if p.rsid == rsid)
        alt = position.alts[0]
        alleles = (alt if first else position.ref, alt if second else position.ref)
        genotypes[position.position] = Genotype(alleles, phased=phased)
    return genotypes


def test_no_variant_is_reference_on_both_copies(dpyd: GeneDefinition) -> None:
    assert list_variants(dpyd, _reference(dpyd)).diplotypes == ("Reference/Reference",)


def test_one_heterozygous_variant_is_effectively_phased(dpyd: GeneDefinition) -> None:
    match = list_variants(dpyd, _with(dpyd, **{STAR_2A: (1, 0)}))
    assert match.diplotypes == ("Reference/c.1905+1G>A (*2A)",)
    assert match.phased


def test_two_unphased_heterozygous_variants_are_listed_not_called(dpyd: GeneDefinition) -> None:
    match = list_variants(dpyd, _with(dpyd, **{STAR_2A: (1, 0), C2846: (0, 1)}))
    assert match.diplotypes == ()
    assert sorted(match.variants) == ["c.1905+1G>A (*2A)", "c.2846A>T"]


def test_homozygous_plus_one_heterozygous_is_effectively_phased(dpyd: GeneDefinition) -> None:
    match = list_variants(dpyd, _with(dpyd, **{STAR_2A: (1, 1), C2846: (0, 1)}))
    assert match.diplotypes == ("c.1905+1G>A (*2A)/[c.1905+1G>A (*2A) + c.2846A>T]",)


def test_a_homozygous_variant_is_listed_twice(dpyd: GeneDefinition) -> None:
    genotypes = _with(dpyd, **{STAR_2A: (1, 1), C2846: (0, 1), HAPB3_INTRON: (1, 0)})
    assert sorted(list_variants(dpyd, genotypes).variants) == [
        "c.1129-5923C>G",
        "c.1905+1G>A (*2A)",
        "c.1905+1G>A (*2A)",
        "c.2846A>T",
    ]


def test_phased_variants_in_cis_share_a_copy(dpyd: GeneDefinition) -> None:
    match = list_variants(dpyd, _with(dpyd, phased=True, **{STAR_2A: (1, 0), C2846: (1, 0)}))
    assert match.diplotypes == ("Reference/[c.1905+1G>A (*2A) + c.2846A>T]",)
    assert match.strands == (("c.1905+1G>A (*2A)", "c.2846A>T"), ())


def test_hapb3_is_named_once_when_both_its_snps_are_present(dpyd: GeneDefinition) -> None:
    phased = _with(dpyd, phased=True, **{HAPB3_INTRON: (1, 0), HAPB3_EXON: (1, 0)})
    assert list_variants(dpyd, phased).diplotypes == (
        "Reference/c.1129-5923C>G, c.1236G>A (HapB3)",
    )
    unphased = _with(dpyd, **{HAPB3_INTRON: (1, 0), HAPB3_EXON: (1, 0)})
    assert list_variants(dpyd, unphased).variants == ("c.1129-5923C>G, c.1236G>A (HapB3)",)


def test_hapb3_from_its_exonic_snp_alone_says_the_intron_is_missing(dpyd: GeneDefinition) -> None:
    genotypes = _with(dpyd, **{HAPB3_EXON: (1, 0)})
    del genotypes[next(p.position for p in dpyd.positions if p.rsid == HAPB3_INTRON)]
    match = list_variants(dpyd, genotypes)
    assert match.diplotypes == ("Reference/c.1129-5923C>G, c.1236G>A (HapB3)",)
    assert any("intronic SNP rs75017182" in note for note in match.notes)


def test_the_two_lowest_function_variants_decide(kb: KnowledgeBase) -> None:
    index = kb.diplotype_index["DPYD"]
    # Unphased: *2A (0) and c.2846A>T (0.5) are the lowest two; c.85T>C (normal) is not used.
    pair = lowest_function_pair(index, variants=["c.85T>C (*9A)", "c.1905+1G>A (*2A)", "c.2846A>T"])
    assert pair == ("c.1905+1G>A (*2A)", "c.2846A>T")
    call = index.call("/".join(pair))
    assert call is not None
    assert (call.activity_score, call.phenotype) == ("0.5", "Poor Metabolizer")
    # Phased: the lowest of each copy, so two no-function variants in cis count once.
    pair = lowest_function_pair(
        index, strands=[["c.1905+1G>A (*2A)", "c.1679T>G (*13)"], ["c.85T>C (*9A)"]]
    )
    assert pair is not None
    assert "c.85T>C (*9A)" in pair
    # One variant, unphased: the other copy is Reference.
    assert lowest_function_pair(index, variants=["c.2846A>T"]) == ("c.2846A>T", "Reference")
    assert lowest_function_pair(index, variants=["c.9999X>Y"]) is None
