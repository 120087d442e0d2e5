"""Reading genotypes from real-world VCF shapes, and refusing the unfit ones with a location."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysam
import pytest

from fhir_adapters.vcf.errors import VcfInputError
from fhir_adapters.vcf.reader import read_vcf
from knowledge.allele_definitions import GeneDefinition, load_allele_definitions
from knowledge.allele_matching import Genotype, match_gene

TRUTH = Path(__file__).resolve().parents[4] / "shared" / "pgx-data" / "truth"
EXAMPLE = TRUTH / "pharmcat_examples" / "pharmcat.example2.vcf"
# CYP2C19 on GRCh38: rs12248560 (*17) C>T, rs4244285 (*2) G>A, rs3758581 (*1 vs *38) A>G.
S17, S2, S1 = 94761900, 94781859, 94842866
HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID={chrom},length=133797422>\n"
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}\n"
)


@pytest.fixture(scope="module")
def definitions() -> dict[str, GeneDefinition]:
    return {g: d for g, d in load_allele_definitions().items() if g in {"CYP2C19", "CYP2C9"}}


def _vcf(tmp_path: Path, rows: list[str], *, chrom: str = "chr10", samples: str = "S1") -> Path:
    path = tmp_path / "in.vcf"
    body = "".join(row.replace("CHR", chrom) + "\n" for row in rows)
    path.write_text(HEADER.format(chrom=chrom, samples=samples) + body)
    return path


def _cyp2c19(tmp_path: Path, rows: list[str], **kwargs: str) -> dict[int, Genotype]:
    reading = read_vcf(_vcf(tmp_path, rows, **kwargs), load_allele_definitions())
    return reading.samples[0].genes.get("CYP2C19", {})


@pytest.mark.parametrize("chrom", ["chr10", "10"])
def test_both_chromosome_spellings_are_read(tmp_path: Path, chrom: str) -> None:
    genes = _cyp2c19(tmp_path, [f"CHR\t{S2}\t.\tG\tA\t.\tPASS\t.\tGT\t0/1"], chrom=chrom)
    assert genes[S2] == Genotype(("G", "A"))


def test_a_multiallelic_record_maps_each_index(tmp_path: Path) -> None:
    # TPMT rs1142345 is defined T>C,G; here written as one record with both alternates.
    path = _vcf(tmp_path, ["CHR\t18130687\t.\tT\tC,G\t.\tPASS\t.\tGT\t1/2"], chrom="chr6")
    tpmt = read_vcf(path, load_allele_definitions()).samples[0].genes["TPMT"]
    assert tpmt[18130687] == Genotype(("C", "G"))


def test_split_biallelic_records_of_one_site_are_merged(tmp_path: Path) -> None:
    rows = [
        "CHR\t18130687\t.\tT\tC\t.\tPASS\t.\tGT\t1/0",
        "CHR\t18130687\t.\tT\tG\t.\tPASS\t.\tGT\t0/1",
    ]
    path = _vcf(tmp_path, rows, chrom="chr6")
    tpmt = read_vcf(path, load_allele_definitions()).samples[0].genes["TPMT"]
    assert tpmt[18130687] == Genotype(("C", "G"))


def test_alleles_padded_by_a_neighbouring_deletion_are_trimmed(tmp_path: Path) -> None:
    # "GA>AA,G" at the *2 position is "G>A" plus a deletion; the SNV is what the definition has.
    genes = _cyp2c19(tmp_path, [f"CHR\t{S2}\t.\tGA\tAA,G\t.\tPASS\t.\tGT\t0/1"])
    assert genes[S2] == Genotype(("G", "A"))


def test_a_gvcf_reference_block_is_reference_at_snv_positions(tmp_path: Path) -> None:
    rows = [f"CHR\t{S17 - 5}\t.\tA\t<NON_REF>\t.\tPASS\tEND={S2 + 10}\tGT\t0/0"]
    genes = _cyp2c19(tmp_path, rows)
    assert genes[S17] == Genotype(("C", "C"))
    assert genes[S2] == Genotype(("G", "G"))
    assert S1 not in genes  # beyond the block: missing, never assumed


def test_an_explicit_record_wins_over_a_block(tmp_path: Path) -> None:
    rows = [
        f"CHR\t{S17 - 5}\t.\tA\t<NON_REF>\t.\tPASS\tEND={S2 + 10}\tGT\t0/0",
        f"CHR\t{S2}\t.\tG\tA,<NON_REF>\t.\tPASS\t.\tGT\t1/1",
    ]
    assert _cyp2c19(tmp_path, rows)[S2] == Genotype(("A", "A"))


def test_phased_calls_and_phase_sets_are_kept(tmp_path: Path) -> None:
    rows = [
        f"CHR\t{S17}\t.\tC\tT\t.\tPASS\t.\tGT:PS\t1|0:7",
        f"CHR\t{S2}\t.\tG\tA\t.\tPASS\t.\tGT:PS\t0|1:7",
    ]
    genes = _cyp2c19(tmp_path, rows)
    assert genes[S17] == Genotype(("T", "C"), phased=True, phase_set=7)
    assert genes[S2] == Genotype(("G", "A"), phased=True, phase_set=7)


def test_haploid_chrx_calls_give_one_allele(tmp_path: Path) -> None:
    g6pd = load_allele_definitions()["G6PD"]
    # A G6PD allele defined by one SNV, called hemizygous ("1") as in a male sample.
    index, named = next(
        (i, a)
        for a in g6pd.named_alleles
        if not a.reference and sum(x is not None for x in a.alleles) == 1
        for i, x in enumerate(a.alleles)
        if x is not None and g6pd.positions[i].is_snv
    )
    rows = []
    for i, p in enumerate(g6pd.positions):
        if p.is_snv:
            call = "1" if i == index else "0"
            alt = named.alleles[i] if i == index else p.alts[0]
            rows.append(f"CHR\t{p.position}\t.\t{p.ref}\t{alt}\t.\tPASS\t.\tGT\t{call}")
    path = _vcf(tmp_path, rows, chrom="chrX")
    genotypes = read_vcf(path, {"G6PD": g6pd}).samples[0].genes["G6PD"]
    match = match_gene(g6pd, genotypes)
    assert match.haploid
    assert named.name in match.diplotypes
    assert all("/" not in d or d.count("/") == named.name.count("/") for d in match.diplotypes)


def test_indexed_and_streamed_reads_agree(tmp_path: Path) -> None:
    definitions = load_allele_definitions()
    plain = tmp_path / "example.vcf"
    shutil.copy(EXAMPLE, plain)
    compressed = Path(pysam.tabix_index(str(plain), preset="vcf", keep_original=True, csi=True))
    streamed = read_vcf(plain, definitions)
    indexed = read_vcf(compressed, definitions)
    assert indexed.indexed
    assert not streamed.indexed
    assert indexed.samples[0].genes == streamed.samples[0].genes
    assert indexed.samples[0].extras == streamed.samples[0].extras


def test_a_multisample_vcf_reads_each_sample(tmp_path: Path, definitions: dict) -> None:
    rows = [f"CHR\t{S2}\t.\tG\tA\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0"]
    path = _vcf(tmp_path, rows, samples="A\tB\tC")
    reading = read_vcf(path, definitions)
    assert [s.sample for s in reading.samples] == ["A", "B", "C"]
    assert [s.genes["CYP2C19"][S2].alleles for s in reading.samples] == [
        ("G", "A"),
        ("A", "A"),
        ("G", "G"),
    ]
    only_b = read_vcf(path, definitions, samples=["B"])
    assert [s.sample for s in only_b.samples] == ["B"]
    assert only_b.samples[0].genes["CYP2C19"][S2].alleles == ("A", "A")


# --- refusals, each located -------------------------------------------------------------------


def test_not_a_vcf_is_refused_at_line_1(tmp_path: Path, definitions: dict) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Patient 12, CYP2C19 *2/*2\n")
    with pytest.raises(VcfInputError) as caught:
        read_vcf(path, definitions)
    assert str(caught.value).startswith("notes.txt:1: not a VCF")


def test_a_grch37_reference_line_is_refused(tmp_path: Path, definitions: dict) -> None:
    path = tmp_path / "b37.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##reference=file:///refs/human_g1k_v37.fasta\n"
        + HEADER.format(chrom="10", samples="S").split("\n", 1)[1]
    )
    with pytest.raises(VcfInputError) as caught:
        read_vcf(path, definitions)
    assert caught.value.line == 2
    assert "GRCh37" in str(caught.value)
    assert "GRCh38" in caught.value.fix


def test_a_grch37_contig_length_is_refused(tmp_path: Path, definitions: dict) -> None:
    path = _vcf(tmp_path, [])
    path.write_text(path.read_text().replace("length=133797422", "length=135534747"))
    with pytest.raises(VcfInputError) as caught:
        read_vcf(path, definitions)
    assert caught.value.line == 2
    assert "135534747" in str(caught.value)


def test_grch37_coordinates_are_caught_by_their_reference_bases(tmp_path: Path) -> None:
    definitions = load_allele_definitions()
    cyp2c9 = definitions["CYP2C9"]
    # Every CYP2C9 SNV position with a REF base that is not GRCh38's.
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    rows = [
        f"CHR\t{p.position}\t.\t{other[p.ref]}\tA\t.\tPASS\t.\tGT\t0/0"
        for p in cyp2c9.positions
        if p.is_snv and p.ref in other
    ]
    path = _vcf(tmp_path, rows, chrom="10")
    path.write_text(path.read_text().replace("##contig=<ID=10,length=133797422>\n", ""))
    with pytest.raises(VcfInputError, match="reference base other than GRCh38"):
        read_vcf(path, definitions)


def test_an_unknown_sample_is_refused_with_the_samples_there(
    tmp_path: Path, definitions: dict
) -> None:
    path = _vcf(tmp_path, [], samples="NA12878\tNA12891")
    with pytest.raises(VcfInputError) as caught:
        read_vcf(path, definitions, samples=["NA19240"])
    message = str(caught.value)
    assert "'NA19240' is not in the VCF" in message
    assert "NA12878, NA12891" in message
    assert caught.value.line == 6  # the #CHROM line


def test_a_vcf_without_samples_is_refused(tmp_path: Path, definitions: dict) -> None:
    path = tmp_path / "sites.vcf"
    path.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with pytest.raises(VcfInputError, match="no sample column"):
        read_vcf(path, definitions)


def test_a_missing_file_is_refused(tmp_path: Path, definitions: dict) -> None:
    with pytest.raises(VcfInputError, match="no such file"):
        read_vcf(tmp_path / "absent.vcf", definitions)


def test_binary_data_is_refused_without_echoing_it(tmp_path: Path, definitions: dict) -> None:
    path = tmp_path / "image.vcf"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(VcfInputError, match=r"image.vcf:1: not a VCF: the first line is '\(binary"):
        read_vcf(path, definitions)
