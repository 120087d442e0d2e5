"""The synthetic whole-genome VCF generator writes a valid, sorted, seeded, indexable VCF."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from cyvcf2 import VCF

from benchmarks.synthetic_vcf import CONTIGS, SAMPLE, definition_positions, generate

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "synthetic_vcf.py"
RECORDS = 2000


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic VCF with its .tbi, written through the command line as `make` would."""
    out = tmp_path_factory.mktemp("synthetic") / "small.vcf.gz"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(out),
            "--records",
            str(RECORDS),
            "--seed",
            "1",
            "--index",
        ],
        check=True,
        capture_output=True,
    )
    return out


def _body(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


def test_cyvcf2_reads_every_record_with_the_header_contigs(indexed: Path) -> None:
    vcf = VCF(str(indexed))
    assert vcf.samples == [SAMPLE]
    assert list(vcf.seqnames) == list(CONTIGS)
    assert sum(1 for _ in vcf) == RECORDS


def test_records_are_in_coordinate_order_without_duplicates(indexed: Path) -> None:
    order = {name: i for i, name in enumerate(CONTIGS)}
    keys = [(order[v.CHROM], v.POS) for v in VCF(str(indexed))]
    assert keys == sorted(set(keys))


def test_every_definition_position_is_present_with_its_ref(indexed: Path) -> None:
    written = {(v.CHROM, v.POS): v.REF for v in VCF(str(indexed))}
    expected = {(s.chromosome, s.position): s.ref for s in definition_positions()}
    assert {key: written.get(key) for key in expected} == expected


def test_some_definition_positions_carry_planted_alt_calls(indexed: Path) -> None:
    sites = {(s.chromosome, s.position) for s in definition_positions()}
    called = [
        v.genotypes[0][:2]
        for v in VCF(str(indexed))
        if (v.CHROM, v.POS) in sites and v.genotypes[0][:2] != [0, 0]
    ]
    assert 0 < len(called) < len(sites) // 10


def test_same_seed_gives_the_same_records(indexed: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again.vcf.gz", records=RECORDS, seed=1).path
    assert _body(again) == _body(indexed)


def test_another_seed_gives_other_records(indexed: Path, tmp_path: Path) -> None:
    other = generate(tmp_path / "other.vcf.gz", records=RECORDS, seed=2).path
    assert _body(other) != _body(indexed)


def test_the_index_answers_a_region_query(indexed: Path) -> None:
    site = next(s for s in definition_positions() if s.chromosome == "chr10")
    hits = list(VCF(str(indexed))(f"chr10:{site.position}-{site.position}"))
    assert [(v.CHROM, v.POS, v.REF) for v in hits] == [("chr10", site.position, site.ref)]


def test_no_index_unless_asked(tmp_path: Path) -> None:
    summary = generate(tmp_path / "plain.vcf.gz", records=RECORDS, seed=1)
    assert summary.index is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.vcf.gz"]


def test_fewer_records_than_definition_positions_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--records must be at least"):
        generate(tmp_path / "tiny.vcf.gz", records=10, seed=1)
