"""Diplotype → phenotype: allele order ignored, and the table agrees with its PharmCAT source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.phenotype import normalize_diplotype


@pytest.mark.parametrize(
    ("diplotype", "expected"),
    [
        ("*1/*2", ("*1", "*2")),
        ("*2/*1", ("*1", "*2")),
        ("*1 / *2", ("*1", "*2")),
        ("  *17/*2 ", ("*2", "*17")),  # natural order, as CPIC writes it
        ("*2/*2", ("*2", "*2")),
        ("*1", None),
        ("", None),
        ("*1/", None),
        ("/*2", None),
        ("*1/*2/*3", None),
    ],
)
def test_normalize_diplotype(diplotype: str, expected: tuple[str, ...] | None) -> None:
    assert normalize_diplotype(diplotype) == expected


@pytest.mark.parametrize(
    ("diplotype", "expected"),
    [
        ("*1/*2", ("*1/*2", "Intermediate Metabolizer")),
        ("*2/*1", ("*1/*2", "Intermediate Metabolizer")),
        ("*17 / *1", ("*1/*17", "Rapid Metabolizer")),
        ("*1/*99", None),
        ("*2", None),
    ],
)
def test_call_gives_a_sorted_spelling_and_the_phenotype(
    kb: KnowledgeBase, diplotype: str, expected: tuple[str, str] | None
) -> None:
    found = kb.diplotype_index["CYP2C19"].call(diplotype)
    got = None if found is None else (found.diplotype, found.phenotype)
    assert got == expected


def source_tables(shared: Path) -> list[tuple[str, Path]]:
    root = shared / "pgx-data/pharmcat"
    found = [(p.stem.replace("MT_RNR1", "MT-RNR1"), p) for p in root.glob("phenotype/*.json")]
    found += [(p.stem, p) for p in root.glob("phenotype_fallback/*.json")]
    return sorted(found)


def test_every_source_diplotype_of_every_gene_gives_the_source_phenotype_and_key(
    kb: KnowledgeBase, shared: Path
) -> None:
    """CPIC's own tables, 20 genes and ~31,000 rows, reproduced by our rules in both orders.

    The gene files keep only allele functions and the function-pair (or activity-score) rule,
    so this is the proof that nothing was lost in the compression.
    """
    mismatches = []
    rows = 0
    for gene, path in source_tables(shared):
        index = kb.diplotype_index[gene]
        for row in json.loads(path.read_text())["diplotypes"]:
            rows += 1
            alleles = [a for a, n in row["diplotypekey"].items() for _ in range(int(n))]
            phenotype = row.get("phenotype") or row["generesult"]
            for spelling in {"/".join(alleles), "/".join(reversed(alleles))}:
                found = index.call(spelling)
                got = None if found is None else (found.phenotype, set(found.lookup_keys))
                if got != (phenotype, {row["lookupkey"]}):
                    mismatches.append(f"{gene} {spelling}: expected {phenotype}, got {got}")
    assert mismatches[:20] == []
    assert rows > 30_000


@pytest.mark.parametrize(
    ("gene", "diplotype", "phenotype", "score"),
    [
        ("CYP2D6", "*1/*4", "Intermediate Metabolizer", "1.0"),
        ("CYP2D6", "*4/*4", "Poor Metabolizer", "0.0"),
        ("CYP2D6", "*1/*1x2", "Ultrarapid Metabolizer", "3.0"),
        # Copy numbers the table names "x≥3" are read from "*1x3" too.
        ("CYP2D6", "*1/*1x3", "Ultrarapid Metabolizer", "≥4.0"),
        # A duplication the table does not list: CPIC counts each copy.
        ("CYP2D6", "*10/*10x2", "Intermediate Metabolizer", "0.75"),
        ("CYP2C9", "*1/*3", "Intermediate Metabolizer", "1.0"),
        ("DPYD", "Reference/c.1905+1G>A (*2A)", "Intermediate Metabolizer", "1.0"),
    ],
)
def test_activity_score_is_the_sum_of_allele_values(
    kb: KnowledgeBase, gene: str, diplotype: str, phenotype: str, score: str
) -> None:
    found = kb.diplotype_index[gene].call(diplotype)
    assert found is not None
    assert (found.phenotype, found.activity_score, found.lookup_keys) == (
        phenotype,
        score,
        frozenset({score}),
    )


@pytest.mark.parametrize(
    ("diplotype", "keys"),
    [
        ("*57:01/*08:01", {"*57:01 positive", "*58:01 negative", "*15:02 negative"}),
        ("HLA-B*57:01:01/HLA-B*44:02", {"*57:01 positive", "*58:01 negative", "*15:02 negative"}),
        ("*58:01/*15:02", {"*57:01 negative", "*58:01 positive", "*15:02 positive"}),
        ("*57/*08", None),  # one-field typing cannot rule a two-field allele in or out
        ("*57:01/not-an-allele", None),
    ],
)
def test_hla_allele_status(kb: KnowledgeBase, diplotype: str, keys: set[str] | None) -> None:
    found = kb.diplotype_index["HLA-B"].call(diplotype)
    got = None if found is None else set(found.lookup_keys)
    if keys is None:
        assert got is None
    else:
        assert got is not None
        assert keys <= got


@pytest.mark.parametrize("diplotype", ["*1/*1x0", "*1/*1x1", "*1/*999x2"])
def test_a_copy_number_that_is_not_a_duplication_is_not_read(
    kb: KnowledgeBase, diplotype: str
) -> None:
    assert kb.diplotype_index["CYP2D6"].call(diplotype) is None


def test_allele_names_holding_a_slash_are_split_where_both_sides_are_alleles(
    kb: KnowledgeBase,
) -> None:
    index = kb.diplotype_index["G6PD"]
    assert index.split("Telti/Kobe/B (reference)") == ("B (reference)", "Telti/Kobe")
    found = index.call("B (reference)/Telti/Kobe")
    assert found is not None
    assert found.phenotype == "Variable"
    male = index.call("A- 202A_376G")
    assert male is not None
    assert male.phenotype == "Deficient"
