"""``pgx-cds knowledge check|coverage|explain``: the folder as PATH or --dir, and what each prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cds_hooks.cli import main
from tests.knowledge.small_knowledge import build_small_knowledge


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_knowledge(tmp_path_factory.mktemp("cli") / "knowledge")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["knowledge", *args])


@pytest.mark.parametrize("spelling", ["path", "--dir"])
def test_check_takes_the_folder_as_path_or_with_dir(folder: Path, spelling: str) -> None:
    where = [str(folder)] if spelling == "path" else ["--dir", str(folder)]

    result = run("check", *where)

    # 1 only if a copied case fails while the bundled guidelines are regenerated; never 2.
    assert result.exit_code in (0, 1), result.output
    assert "cpic-clopidogrel::" in result.output
    assert "4 guideline(s), 4 gene(s)" in result.output


def test_check_refuses_two_different_folders(folder: Path, tmp_path: Path) -> None:
    result = run("check", str(folder), "--dir", str(tmp_path))

    assert result.exit_code == 2
    assert "Give the knowledge folder once: as PATH or with --dir." in result.output


def test_check_reports_a_broken_folder_with_exit_1(tmp_path: Path) -> None:
    result = run("check", str(tmp_path))

    assert result.exit_code == 1
    assert "drugs.yaml: file is missing" in result.output


def test_coverage_prints_the_matrix_and_totals(folder: Path) -> None:
    result = run("coverage", str(folder))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "| drug | CYP2C19 | CYP2D6 | HLA-B | UGT1A1 |"
    [clopidogrel] = [line for line in lines if line.startswith("| clopidogrel |")]
    cells = [cell.strip() for cell in clopidogrel.strip("|").split("|")]
    assert cells[1].endswith(" CPIC")
    assert cells[2:] == ["", "", ""]
    assert "- guidelines: 4 (3 CPIC, 1 DPWG)" in lines


def test_explain_names_the_phenotype_and_the_matched_strength(folder: Path) -> None:
    result = run("explain", "--drug", "clopidogrel", "--genotype", "CYP2C19=*2/*17", str(folder))

    assert result.exit_code == 0, result.output
    assert "  CYP2C19 *2/*17\n" in result.output
    assert "phenotype: Intermediate Metabolizer" in result.output
    assert "lookup key: Intermediate Metabolizer" in result.output
    assert "(ACS and/or PCI): strong, alternative" in result.output
    assert "card: warning" in result.output


def test_explain_takes_several_genes_and_notes_the_unused_one(folder: Path) -> None:
    result = run(
        "explain",
        "--drug",
        "codeine",
        "--genotype",
        "cyp2d6=*1/*4",
        "--genotype",
        "CYP2C19=*1/*1",
        "--dir",
        str(folder),
    )

    assert result.exit_code == 0, result.output
    assert "*4: activity value 0.0 (No function)" in result.output
    assert "sum: 1.0" in result.output
    assert "CYP2C19 was given but no guideline for codeine uses it" in result.output


def test_explain_an_unknown_drug_exits_2_with_close_names(folder: Path) -> None:
    result = run("explain", "--drug", "clopidogrl", "--genotype", "CYP2C19=*2/*17", str(folder))

    assert result.exit_code == 2
    assert "'clopidogrl' is not a drug we know. Did you mean: clopidogrel?" in result.output


@pytest.mark.parametrize(
    ("genotype", "message"),
    [
        ("CYP2C19*2/*17", "'CYP2C19*2/*17' is not GENE=DIPLOTYPE; write it like CYP2C19='*2/*17'."),
        ("CYP2C19=", "'CYP2C19=' is not GENE=DIPLOTYPE"),
        ("=*2/*17", "'=*2/*17' is not GENE=DIPLOTYPE"),
    ],
)
def test_explain_a_malformed_genotype_is_a_usage_error(
    folder: Path, genotype: str, message: str
) -> None:
    result = run("explain", "--drug", "clopidogrel", "--genotype", genotype, str(folder))

    assert result.exit_code == 2
    assert "Invalid value for '--genotype'" in result.output
    assert message in result.output


def test_explain_a_gene_given_twice_is_a_usage_error(folder: Path) -> None:
    result = run(
        "explain",
        "--drug",
        "clopidogrel",
        "--genotype",
        "CYP2C19=*1/*1",
        "--genotype",
        "cyp2c19=*2/*2",
        str(folder),
    )

    assert result.exit_code == 2
    assert "CYP2C19 is given twice; give each gene once." in result.output


def test_explain_reads_a_variant_by_its_rsid_and_says_which_conditions_failed() -> None:
    result = run(
        "explain",
        "--drug",
        "warfarin",
        "--genotype",
        "CYP2C9=*1/*1",
        "--genotype",
        "VKORC1=rs9923231 reference (C)/rs9923231 reference (C)",
        "--genotype",
        "RS12777823=A/G",
    )

    assert result.exit_code == 0, result.output
    assert "  rs12777823 A/G\n    read as: G/A\n" in result.output
    assert "genotype of a single variant" in result.output
    assert "warfarin-adult-african-american-rs12777823-a (adults, African American" in result.output
    assert "    CYP4F2: carries *3, *4 or *22\n" in result.output
    assert "notes:" not in result.output
