"""HGVS protein changes as labs write them, read into one one-letter form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.protein_change import parse_protein_change
from knowledge.tumour import ProteinChange
from tests.properties import examples

PROPERTY = settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Substitutions, every way labs write them.
        ("NP_005219.2:p.Leu858Arg", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("p.Leu858Arg", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("p.(Leu858Arg)", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("(p.Leu858Arg)", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("NP_005219.2:p.(Leu858Arg)", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("p.L858R", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("L858R", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("  L858R ", ProteinChange("L858R", 858, 858, "L", "missense", "R")),
        ("p.Gly12Cys", ProteinChange("G12C", 12, 12, "G", "missense", "C")),
        ("p.Val600Glu", ProteinChange("V600E", 600, 600, "V", "missense", "E")),
        ("NP_006209.2:p.His1047Arg", ProteinChange("H1047R", 1047, 1047, "H", "missense", "R")),
        ("p.Sec49Cys", ProteinChange("U49C", 49, 49, "U", "missense", "C")),
        # Nonsense: Ter, * and the legacy X.
        ("p.Arg1443Ter", ProteinChange("R1443*", 1443, 1443, "R", "nonsense")),
        ("p.Arg1443*", ProteinChange("R1443*", 1443, 1443, "R", "nonsense")),
        ("R1443X", ProteinChange("R1443*", 1443, 1443, "R", "nonsense")),
        ("R1443*", ProteinChange("R1443*", 1443, 1443, "R", "nonsense")),
        ("p.Arg1443X", ProteinChange("R1443*", 1443, 1443, "R", "nonsense")),
        # Synonymous and unknown effect.
        ("p.Thr790=", ProteinChange("T790=", 790, 790, "T", "synonymous")),
        ("p.Leu858Leu", ProteinChange("L858=", 858, 858, "L", "synonymous")),
        ("T790=", ProteinChange("T790=", 790, 790, "T", "synonymous")),
        ("p.Met1?", ProteinChange("M1?", 1, 1, "M", "other")),
        ("p.Ter110Gln", ProteinChange("*110Q", 110, 110, "*", "other")),
        # Deletions, duplications, insertions, delins.
        ("p.Glu746_Ala750del", ProteinChange("E746_A750del", 746, 750, "E", "deletion")),
        ("E746_A750del", ProteinChange("E746_A750del", 746, 750, "E", "deletion")),
        ("p.Glu746del", ProteinChange("E746del", 746, 746, "E", "deletion")),
        ("NP_000068.1:p.Ala4_Pro11del", ProteinChange("A4_P11del", 4, 11, "A", "deletion")),
        ("p.Ala767_Val769dup", ProteinChange("A767_V769dup", 767, 769, "A", "duplication")),
        ("A767_V769dup", ProteinChange("A767_V769dup", 767, 769, "A", "duplication")),
        (
            "p.Asp770_Asn771insSerValAsp",
            ProteinChange("D770_N771insSVD", 770, 771, "D", "insertion"),
        ),
        ("D770_N771insSVD", ProteinChange("D770_N771insSVD", 770, 771, "D", "insertion")),
        (
            "p.Leu747_Pro753delinsSer",
            ProteinChange("L747_P753delinsS", 747, 753, "L", "delins"),
        ),
        ("L747_P753delinsS", ProteinChange("L747_P753delinsS", 747, 753, "L", "delins")),
        ("p.Cys28delinsTrpVal", ProteinChange("C28delinsWV", 28, 28, "C", "delins")),
        # Frameshifts, long and short forms, Ter and * (eMERGE's BRCA2).
        ("p.Gln61fs", ProteinChange("Q61fs", 61, 61, "Q", "frameshift")),
        ("p.Gln61ArgfsTer7", ProteinChange("Q61fs", 61, 61, "Q", "frameshift")),
        ("p.Ala938Profs*21", ProteinChange("A938fs", 938, 938, "A", "frameshift")),
        ("Q61Rfs*7", ProteinChange("Q61fs", 61, 61, "Q", "frameshift")),
        ("p.Gln61fsTer?", ProteinChange("Q61fs", 61, 61, "Q", "frameshift")),
        # Extensions at either end.
        ("p.Ter1211Glnext*?", ProteinChange("*1211Qext*?", 1211, 1211, "*", "extension")),
        ("p.*110GlnextTer17", ProteinChange("*110Qext*17", 110, 110, "*", "extension")),
        ("p.Met1ext-5", ProteinChange("M1ext-5", 1, 1, "M", "extension")),
    ],
)
def test_protein_changes_are_read_into_one_letter_form(text: str, expected: ProteinChange) -> None:
    assert parse_protein_change(text) == expected


@pytest.mark.parametrize(
    ("three_letter", "one_letter"),
    [
        ("p.Leu858Arg", "L858R"),
        ("NP_005219.2:p.Thr790Met", "p.T790M"),
        ("p.Glu746_Ala750del", "E746_A750del"),
        ("p.Asp770_Asn771insSerValAsp", "D770_N771insSVD"),
        ("p.Arg1443Ter", "R1443X"),
        ("p.Gln61ArgfsTer7", "Q61fs"),
    ],
)
def test_three_letter_and_one_letter_forms_are_the_same_change(
    three_letter: str, one_letter: str
) -> None:
    assert parse_protein_change(three_letter) == parse_protein_change(one_letter) is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "p.",
        "p.?",
        "p.0",
        "p.0?",
        "p.=",
        "L858",  # no replacement
        "858R",  # no reference residue
        "p.Leu858R",  # three- and one-letter mixed
        "p.l858r",  # one-letter residues are capitals
        "p.LEU858ARG",  # three-letter residues are capitalised
        "p.Xaa12Cys",  # unknown residue
        "p.Leu0Arg",  # residues count from 1
        "p.Leu0858Arg",
        "p.Leu1234567Arg",  # longer than any protein
        "p.[Leu858Arg;Thr790Met]",  # an allele of two changes
        "p.Leu858Arg;Thr790Met",
        "p.Ala2[10]",  # a repeat
        "p.Glu746_Ala750",  # a range without a change
        "p.Ala750_Glu746del",  # range backwards
        "p.Glu746_Glu746del",  # range of one
        "p.Asp770_Asn772insSer",  # insertion between residues that are not neighbours
        "p.Asp770insSer",  # insertion needs both neighbours
        "p.Glu746_Ala750delGluLeuArgGluAla",  # deleted residues listed
        "p.Leu747_Pro753delins",  # delins of nothing
        "c.2573T>G",
        "NM_005228.4:c.2573T>G",
        "NC_000007.13:g.55259515T>G",
        "EGFR L858R",  # a gene is not part of a protein change
        "EGFR",
        "exon 19 deletion",
        "p.L858R p.T790M",
        "p.٣12C",  # Arabic-Indic digit
        "\uff2c858R",  # full-width L
    ],
)
def test_what_is_not_one_protein_change_gives_none(text: str) -> None:
    assert parse_protein_change(text) is None


@PROPERTY
@given(text=st.text(max_size=40))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    change = parse_protein_change(text)

    assert change is None or isinstance(change, ProteinChange)


RESIDUES = st.sampled_from(["Leu", "Arg", "Gly", "Cys", "Glu", "Ala", "Ter", "*"])
POSITIONS = st.integers(min_value=1, max_value=40_000)


@PROPERTY
@given(
    ref=RESIDUES,
    start=POSITIONS,
    length=st.integers(min_value=0, max_value=5),
    alt=RESIDUES,
    form=st.sampled_from(
        [
            "{ref}{start}{alt}",
            "{span}del",
            "{span}dup",
            "{span}delins{alt}",
            "{ref}{start}fs",
            "{ref}{start}{alt}fs*?",
        ]
    ),
)
def test_the_normal_form_reads_back_as_itself(
    ref: str, start: int, length: int, alt: str, form: str
) -> None:
    end = start + length
    span = f"{ref}{start}" + (f"_Gly{end}" if length else "")
    change = parse_protein_change(
        "p." + form.format(ref=ref, start=start, alt=alt, span=span, length=length)
    )

    assert change is not None
    assert parse_protein_change(change.text) == change
