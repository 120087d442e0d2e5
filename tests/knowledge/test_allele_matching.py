"""The Named Allele Matcher, on PharmCAT's documented examples and the cases real VCFs bring."""

from __future__ import annotations

import pytest

from knowledge.allele_definitions import GeneDefinition, NamedAllele, Position, allele_matches
from knowledge.allele_matching import Genotype, match_gene


def _position(n: int, ref: str, *alts: str) -> Position:
    return Position("chr1", 100 * n, f"rs{n}", f"g.{100 * n}{ref}>{alts[0]}", ref, alts)


def _definition(
    rows: dict[str, str], *, gene: str = "TOY", priorities: tuple = ()
) -> GeneDefinition:
    """Rows as in NamedAlleleMatcher-101's tables: one letter per position, '.' for blank."""
    reference = next(iter(rows.values()))
    positions = tuple(
        _position(i + 1, base, *({b for r in rows.values() for b in r[i]} - {base, "."} or {"N"}))
        for i, base in enumerate(reference)
    )
    named = tuple(
        NamedAllele(name, tuple(None if b == "." else b for b in row), i == 0)
        for i, (name, row) in enumerate(rows.items())
    )
    return GeneDefinition(gene, "chr1", "test", positions, named, unphased_priorities=priorities)


def _unphased(*calls: str | None) -> dict[int, Genotype]:
    """'C/T' per position (None = missing) → genotypes keyed by position."""
    return {
        100 * (i + 1): Genotype(tuple(call.split("/")))
        for i, call in enumerate(calls)
        if call is not None
    }


# NamedAlleleMatcher-101 "Examples".
DOC = _definition({"*1": "CCTGA", "*2": "T..A.", "*3": "...A.", "*4": ".T...", "*5": "T...."})


def test_the_documented_example_calls_the_top_scoring_diplotype() -> None:
    match = match_gene(DOC, _unphased("C/T", "C/C", "T/T", "A/G", "A/A"))
    assert match.diplotypes == ("*1/*2",)
    assert match.score == 7  # 5 + 2, as the document's table says


def test_a_missing_position_lowers_the_score_but_not_the_call() -> None:
    match = match_gene(DOC, _unphased("C/T", "C/C", "T/T", "A/G", None))
    assert match.diplotypes == ("*1/*2",)
    assert match.score == 6
    assert [p.rsid for p in match.missing] == ["rs5"]


def test_a_missing_defining_position_keeps_every_equal_reading() -> None:
    match = match_gene(DOC, _unphased(None, "C/C", "T/T", "A/G", "A/A"))
    assert match.diplotypes == ("*1/*2", "*1/*3")
    assert match.ambiguous
    assert "*5" in match.uncallable  # its only defining position is missing
    assert any("fit equally" in note for note in match.notes)


def test_phased_data_fixes_which_copy_carries_what() -> None:
    toy = _definition({"*1": "CG", "*2": "T.", "*3": ".A", "*4": "TA"})
    unphased = match_gene(toy, _unphased("C/T", "G/A"))
    cis = {
        100: Genotype(("T", "C"), phased=True),
        200: Genotype(("A", "G"), phased=True),
    }
    trans = {
        100: Genotype(("T", "C"), phased=True),
        200: Genotype(("G", "A"), phased=True),
    }
    assert unphased.diplotypes == ("*1/*4",)  # unphased: *1/*4 (2 + 2) outscores *2/*3 (1 + 1)
    assert match_gene(toy, cis).diplotypes == ("*1/*4",)
    assert match_gene(toy, trans).diplotypes == ("*2/*3",)
    assert match_gene(toy, trans).phased


def test_different_phase_sets_are_joined_every_way() -> None:
    toy = _definition({"*1": "CG", "*2": "T.", "*3": ".A", "*4": "TA"})
    genotypes = {
        100: Genotype(("T", "C"), phased=True, phase_set=1),
        200: Genotype(("G", "A"), phased=True, phase_set=2),
    }
    match = match_gene(toy, genotypes)
    assert match.diplotypes == ("*1/*4",)  # top score among *2/*3 and *1/*4
    assert not match.phased


def test_iupac_codes_in_definitions_accept_either_base() -> None:
    assert allele_matches("R", "A")
    assert allele_matches("R", "G")
    assert not allele_matches("R", "C")
    assert not allele_matches("R", "AG")
    toy = _definition({"*1": "CG", "*2": "TR"})
    assert match_gene(toy, _unphased("C/T", "G/G")).diplotypes == ("*1/*2",)
    assert match_gene(toy, _unphased("C/T", "G/A")).diplotypes == ("*1/*2",)


def test_an_undocumented_allele_leaves_the_gene_uncalled() -> None:
    match = match_gene(DOC, _unphased("C/G", "C/C", "T/T", "G/G", "A/A"))
    assert match.diplotypes == ()
    assert any("allele G is in no TOY definition" in note for note in match.notes)


def test_an_undocumented_allele_is_reference_for_toxicity_genes() -> None:
    tpmt = _definition({"*1": "CG", "*3": "T."}, gene="TPMT")
    match = match_gene(tpmt, _unphased("C/A", "G/G"))
    assert match.diplotypes == ("*1/*1",)
    assert any("read as reference" in note for note in match.notes)


def test_a_partial_reference_genotype_is_missing_and_a_partial_alternate_blocks_the_call() -> None:
    ref_partial = {100: Genotype(("C", None)), 200: Genotype(("C", "C"))}
    alt_partial = {100: Genotype(("T", None)), 200: Genotype(("C", "C"))}
    toy = _definition({"*1": "CC", "*2": "T.", "*3": ".T"})
    assert [p.rsid for p in match_gene(toy, ref_partial).missing] == ["rs1"]
    blocked = match_gene(toy, alt_partial)
    assert blocked.diplotypes == ()
    assert any("partial genotype" in note for note in blocked.notes)


def test_haploid_calls_give_one_allele() -> None:
    g6pd = _definition({"B": "CG", "A-": "T."}, gene="G6PD")
    hemizygous = {100: Genotype(("T",)), 200: Genotype(("G",))}
    match = match_gene(g6pd, hemizygous)
    assert match.haploid
    assert match.diplotypes == ("A-",)


def test_no_position_in_the_vcf_says_so() -> None:
    match = match_gene(DOC, {})
    assert match.diplotypes == ()
    assert "none of the 5 TOY positions is in the VCF" in match.notes[0]


def test_nat2_priorities_pick_among_equal_unphased_readings() -> None:
    # *2 and *3 fully defined, so *1/*4 and *2/*3 score alike and the priority list decides.
    toy = GeneDefinition(
        "NAT2",
        "chr1",
        "test",
        _definition({"*1": "CG", "*4": "TA"}).positions,
        (
            NamedAllele("*1", ("C", "G"), True),
            NamedAllele("*2", ("T", "G"), False),
            NamedAllele("*3", ("C", "A"), False),
            NamedAllele("*4", ("T", "A"), False),
        ),
        unphased_priorities=((frozenset({"*1/*4", "*2/*3"}), "*2/*3"),),
    )
    match = match_gene(toy, _unphased("C/T", "G/A"))
    assert match.diplotypes == ("*2/*3",)
    assert any("PharmCAT NAT2 priorities" in note for note in match.notes)


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        (("C/C", "C/C", "T/T", "G/G", "A/A"), ("*1/*1",)),
        (("T/T", "C/C", "T/T", "A/A", "A/A"), ("*2/*2",)),
        (("C/T", "C/T", "T/T", "G/G", "A/A"), ("*4/*5",)),
    ],
)
def test_more_readings_of_the_documented_table(calls: tuple[str, ...], expected: tuple) -> None:
    assert match_gene(DOC, _unphased(*calls)).diplotypes == expected
