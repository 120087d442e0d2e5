"""The bundled allele definitions: verbatim copies of PharmCAT's, read with their exemptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.allele_definitions import ALLELE_DEFINITIONS, load_allele_definitions

SHARED = Path(__file__).resolve().parents[3] / "shared/pgx-data/pharmcat/definition/alleles"


@pytest.mark.parametrize("name", sorted(p.name for p in SHARED.glob("*.json")))
def test_each_file_is_a_verbatim_copy_of_pharmcats(name: str) -> None:
    assert (ALLELE_DEFINITIONS / name).read_bytes() == (SHARED / name).read_bytes()


def test_every_gene_loads_with_its_reference_allele_as_the_definitions_name_it() -> None:
    genes = load_allele_definitions()
    assert len(genes) == 20
    assert genes["CYP2C19"].reference.name == "*38"
    assert genes["DPYD"].reference.name == "Reference"
    assert all(all(p.chromosome.startswith("chr") for p in g.positions) for g in genes.values())


def test_exemptions_are_applied() -> None:
    genes = load_allele_definitions()
    g6pd = genes["G6PD"]
    assert "Mediterranean Haplotype" not in {a.name for a in g6pd.named_alleles}
    assert 154532439 not in {p.position for p in g6pd.positions}  # rs2230037, ignored
    assert [p.rsid for p in genes["CYP2C9"].extra_positions] == ["rs12777823"]
    assert len(genes["NAT2"].unphased_priorities) == 29
    # Sub-alleles are reported as their star allele.
    assert "*45" in {a.name for a in genes["SLCO1B1"].named_alleles}
    assert "*45.001" not in {a.name for a in genes["SLCO1B1"].named_alleles}
