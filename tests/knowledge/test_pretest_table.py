"""knowledge/pretest.yaml: valid, agreeing with drugs.yaml and the PyPGx table, every gene readable."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from knowledge.schema import PretestTable
from knowledge.validation import validate_document
from knowledge.yaml_source import load_plain, parse_yaml

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
PRETEST = KNOWLEDGE / "pretest.yaml"

# Table rows with "Testing required/recommended" that raise no pre-test alert, and why; the same
# reasons stand in the header of knowledge/pretest.yaml.
LEFT_OUT = {
    "azathioprine": "FDA label: TPMT/NUDT15 testing after severe myelosuppression, not before use",
    "mercaptopurine": "FDA label: TPMT/NUDT15 testing after severe myelosuppression, not before use",
    "thioguanine": "FDA label: TPMT/NUDT15 testing after severe myelosuppression, not before use",
    "valproic acid": "no POLG gene table",
    "divalproex sodium": "no POLG gene table",
    "velaglucerase alfa": "no GBA gene table",
    "carglumic acid": "no NAGS gene table",
}
# In pretest.yaml although the table says "Actionable PGx": the 2025 FDA labels ask for DPYD tests.
LABEL_NEWER_THAN_TABLE = {"capecitabine", "fluorouracil"}
TESTING_LEVELS = {
    "Testing required": "testing required",
    "Testing recommended": "testing recommended",
}


def _table() -> PretestTable:
    document, errors = parse_yaml(PRETEST.read_text(encoding="utf-8"), str(PRETEST))
    assert document is not None, [str(e) for e in errors]
    table, errors = validate_document(PretestTable, document)
    assert table is not None, [str(e) for e in errors]
    return table


TABLE = _table()
DRUGS = sorted(TABLE.drugs)


@pytest.fixture(scope="module")
def drugs_yaml() -> dict[str, dict[str, object]]:
    data = load_plain((KNOWLEDGE / "drugs.yaml").read_text(encoding="utf-8"))
    drugs: dict[str, dict[str, object]] = data["drugs"]
    return drugs


@pytest.fixture(scope="module")
def cpic_rows(shared: Path) -> list[dict[str, str]]:
    with (shared / "pgx-data/pypgx/cpic-table.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_pretest_table_validates() -> None:
    document, errors = parse_yaml(PRETEST.read_text(encoding="utf-8"), str(PRETEST))
    assert errors == []
    assert document is not None
    table, errors = validate_document(PretestTable, document)
    assert [str(e) for e in errors] == []
    assert table is not None
    assert table.source.file == "pypgx/cpic-table.csv"


@pytest.mark.parametrize("drug", DRUGS)
def test_every_drug_is_in_drugs_yaml_or_carries_rxnorm(
    drug: str, drugs_yaml: dict[str, dict[str, object]]
) -> None:
    assert drug in drugs_yaml or TABLE.drugs[drug].rxnorm is not None


@pytest.mark.parametrize("drug", DRUGS)
def test_rxnorm_agrees_with_drugs_yaml_and_the_pypgx_table(
    drug: str, drugs_yaml: dict[str, dict[str, object]], cpic_rows: list[dict[str, str]]
) -> None:
    entry = TABLE.drugs[drug]
    known = drugs_yaml.get(drug, {}).get("rxnorm")
    rxnorm = entry.rxnorm or known
    if entry.rxnorm is not None and known is not None:
        assert entry.rxnorm == known
    table_codes = {row["RxNorm"] for row in cpic_rows if row["Drug"] == drug}
    assert table_codes == {rxnorm}


@pytest.mark.parametrize("drug", DRUGS)
def test_every_gene_has_a_gene_table(drug: str) -> None:
    for gene in TABLE.drugs[drug].genes:
        assert (KNOWLEDGE / "genes" / f"{gene}.yaml").is_file(), f"{drug}: no table for {gene}"


@pytest.mark.parametrize("drug", DRUGS)
def test_level_and_genes_match_the_pypgx_table(drug: str, cpic_rows: list[dict[str, str]]) -> None:
    entry = TABLE.drugs[drug]
    rows = [row for row in cpic_rows if row["Drug"] == drug and row["Gene"] in entry.genes]
    assert {row["Gene"] for row in rows} == set(entry.genes)
    if drug in LABEL_NEWER_THAN_TABLE:
        assert {row["FDALabel"] for row in rows} == {"Actionable PGx"}
        assert entry.level == "testing recommended"
    else:
        assert {TESTING_LEVELS.get(row["FDALabel"]) for row in rows} == {entry.level}


@pytest.mark.parametrize("drug", DRUGS)
def test_every_entry_quotes_its_source(drug: str) -> None:
    entry = TABLE.drugs[drug]
    assert entry.quote
    assert entry.url.startswith(("https://", "http://"))
    assert entry.test


def test_every_testing_row_of_the_pypgx_table_is_covered_or_explained(
    cpic_rows: list[dict[str, str]],
) -> None:
    testing = {row["Drug"] for row in cpic_rows if row["FDALabel"] in TESTING_LEVELS}
    assert testing - set(TABLE.drugs) == set(LEFT_OUT)
    assert not set(LEFT_OUT) & set(TABLE.drugs)


@pytest.mark.parametrize("gene", ["POLG", "GBA", "NAGS"])
def test_genes_left_out_really_have_no_gene_table(gene: str) -> None:
    assert not (KNOWLEDGE / "genes" / f"{gene}.yaml").exists()
