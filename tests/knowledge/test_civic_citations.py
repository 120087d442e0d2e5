"""Every CIViC id a drug rule cites exists in the CIViC 01-Aug-2021 release and says what we say."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from knowledge import load_knowledge_base
from knowledge.oncology_schema import Indication

KB = load_knowledge_base()
assert KB.oncology is not None
ONCOLOGY = KB.oncology
CITED = [
    (rules.drug, indication, civic_id)
    for rules in ONCOLOGY.drugs.values()
    for indication in rules.indications
    for civic_id in indication.civic
]


def _rows(path: Path, id_column: str) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row[id_column]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="module")
def civic(shared: Path) -> dict[str, dict[str, str]]:
    root = shared / "onco/civic-01-Aug-2021"
    evidence = _rows(root / "01-Aug-2021-ClinicalEvidenceSummaries.tsv", "evidence_id")
    assertions = _rows(root / "01-Aug-2021-AssertionSummaries.tsv", "assertion_id")
    return {f"EID{k}": v for k, v in evidence.items()} | {
        f"AID{k}": v for k, v in assertions.items()
    }


def _genes(indication: Indication) -> set[str]:
    ids = list(indication.requires.any_of) if indication.requires else []
    ids += [m for r in indication.resistance for m in r.any_of]
    return {gene for m in ids for gene in ONCOLOGY.markers[m].genes}


@pytest.mark.parametrize(
    ("drug", "indication", "civic_id"),
    CITED,
    ids=[f"{drug}:{indication.id}:{civic_id}" for drug, indication, civic_id in CITED],
)
def test_cited_civic_item_exists_and_names_the_drug_and_gene(
    civic: dict[str, dict[str, str]], drug: str, indication: Indication, civic_id: str
) -> None:
    row = civic.get(civic_id)
    assert row is not None, f"{civic_id} is not in the CIViC 01-Aug-2021 release"
    assert drug in row["drugs"].lower(), f"{civic_id} is about {row['drugs']!r}"
    genes = _genes(indication)
    # Marker-free rows (TMB, MSI) name no gene in our rules; CIViC files them under a gene.
    if genes:
        assert row["gene"] in genes, f"{civic_id} is about {row['gene']}, the rule reads {genes}"
    if civic_id.startswith("EID"):
        assert row["evidence_status"] == "accepted"
        assert row["evidence_type"] == "Predictive"


def test_some_rules_cite_civic() -> None:
    assert len(CITED) >= 20
