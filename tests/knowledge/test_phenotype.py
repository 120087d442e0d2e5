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
        ("  *17/*2 ", ("*17", "*2")),
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
def test_lookup_gives_the_table_spelling_and_entry(
    kb: KnowledgeBase, diplotype: str, expected: tuple[str, str] | None
) -> None:
    found = kb.diplotype_index["CYP2C19"].lookup(diplotype)
    got = None if found is None else (found[0], found[1].phenotype)
    assert got == expected


def test_every_source_diplotype_gives_the_source_phenotype_in_both_orders(
    kb: KnowledgeBase, shared: Path
) -> None:
    # One test over the whole table: it compares a generated table with the table it came from.
    source = json.loads((shared / "pgx-data/pharmcat/phenotype/CYP2C19.json").read_text())
    index = kb.diplotype_index["CYP2C19"]
    mismatches = []
    for row in source["diplotypes"]:
        first, second = row["diplotype"].split("/")
        for spelling in (f"{first}/{second}", f"{second}/{first}"):
            found = index.lookup(spelling)
            got = None if found is None else (found[1].phenotype, found[1].key)
            if got != (row["phenotype"], row["lookupkey"]):
                mismatches.append(f"{spelling}: expected {row['phenotype']}, got {got}")
    assert len(source["diplotypes"]) == len(kb.genes["CYP2C19"].diplotypes) > 600
    assert mismatches == []
