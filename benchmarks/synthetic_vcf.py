"""Write a seeded, whole-genome-sized, single-sample GRCh38 VCF for the VCF → star-allele benchmark.

    .venv/bin/python benchmarks/synthetic_vcf.py OUT.vcf.gz --records 5000000 --seed 1 [--index]

Random SNVs over chr1..chr22, chrX (about one per 600 bp at 5 M records) plus every PharmCAT
definition position of knowledge/alleles/*_translation.json at its coordinate with its real REF:
mostly 0/0, with one whole named allele planted per chosen gene so that calling has work to do.
Output is bgzipped (BGZF) so that it can be indexed; --index also writes OUT.vcf.gz.tbi.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from knowledge.allele_definitions import (
    ALLELE_DEFINITIONS,
    GeneDefinition,
    load_allele_definitions,
)

ALLELES = ALLELE_DEFINITIONS
SAMPLE = "SYNTHETIC"

# GRCh38 primary assembly (GCA_000001405.15) lengths, in file order.
CONTIGS: dict[str, int] = {
    "chr1": 248956422,
    "chr2": 242193529,
    "chr3": 198295559,
    "chr4": 190214555,
    "chr5": 181538259,
    "chr6": 170805979,
    "chr7": 159345973,
    "chr8": 145138636,
    "chr9": 138394717,
    "chr10": 133797422,
    "chr11": 135086622,
    "chr12": 133275309,
    "chr13": 114364328,
    "chr14": 107043718,
    "chr15": 101991189,
    "chr16": 90338345,
    "chr17": 83257441,
    "chr18": 80373285,
    "chr19": 58617616,
    "chr20": 64444167,
    "chr21": 46709983,
    "chr22": 50818468,
    "chrX": 156040895,
}

_BASES = np.array(list("ACGT"))
_GENOTYPES = np.array(["0/1", "1/1"])
_HOM_ALT_SHARE = 0.4  # het:hom-alt of about 1.5, as in real whole-genome calls
_PLANTED_GENE_SHARE = 0.5
_CHUNK = 250_000  # lines per write: big enough to amortise, small enough to stay lean


@dataclass(frozen=True)
class DefinitionPosition:
    """One position named by a PharmCAT allele definition, with every ALT any gene uses there."""

    chromosome: str
    position: int
    ref: str
    alts: tuple[str, ...]
    rsid: str | None


@dataclass(frozen=True)
class PlantedAllele:
    """A named allele written into the sample: its non-reference bases at their positions."""

    gene: str
    allele: str
    zygosity: str  # "het" or "hom"
    changes: tuple[tuple[str, int, str], ...]  # (chromosome, position, alt)


@dataclass(frozen=True)
class Summary:
    """What a run wrote, for the caller to print."""

    path: Path
    records: int
    definition_positions: int
    planted: tuple[PlantedAllele, ...]
    seconds: float
    index: Path | None


def definition_positions(folder: Path = ALLELES) -> list[DefinitionPosition]:
    """Every (chromosome, position) of the allele definitions, ALTs merged across genes, sorted."""
    merged: dict[tuple[str, int], tuple[str, set[str], str | None]] = {}
    for definition in load_allele_definitions(folder).values():
        for variant in (*definition.positions, *definition.extra_positions):
            key = (variant.chromosome, variant.position)
            ref, alts, _ = merged.setdefault(key, (variant.ref, set(), variant.rsid))
            if ref != variant.ref:
                raise ValueError(f"{key}: two genes disagree on REF ({ref}, {variant.ref})")
            alts.update(variant.alts)
    order = list(CONTIGS)
    return [
        DefinitionPosition(chrom, pos, ref, tuple(sorted(alts)), rsid)
        for (chrom, pos), (ref, alts, rsid) in sorted(
            merged.items(), key=lambda item: (order.index(item[0][0]), item[0][1])
        )
    ]


def _plantable(definition: GeneDefinition) -> list[tuple[str, tuple[tuple[str, int, str], ...]]]:
    """Named alleles whose every non-reference base is a plain VCF ALT (no IUPAC codes)."""
    out = []
    for named in definition.named_alleles:
        if named.reference:
            continue
        changes = []
        for variant, base in zip(definition.positions, named.alleles, strict=True):
            if base is None or base == variant.ref:
                continue
            if base not in variant.alts:
                break
            changes.append((variant.chromosome, variant.position, base))
        else:
            if 1 <= len(changes) <= 3:
                out.append((named.name, tuple(changes)))
    return out


def plant_alleles(rng: np.random.Generator, folder: Path = ALLELES) -> list[PlantedAllele]:
    """Choose about half the genes and, for each, one named allele, het or hom-alt."""
    planted: list[PlantedAllele] = []
    taken: set[tuple[str, int]] = set()
    for gene, definition in sorted(load_allele_definitions(folder).items()):
        candidates = _plantable(definition)
        if not candidates or rng.random() >= _PLANTED_GENE_SHARE:
            continue
        name, changes = candidates[int(rng.integers(len(candidates)))]
        if any((chrom, pos) in taken for chrom, pos, _ in changes):
            continue  # genes sharing a position: the first planted wins
        taken.update((chrom, pos) for chrom, pos, _ in changes)
        zygosity = "hom" if rng.random() < 0.3 else "het"
        planted.append(PlantedAllele(gene, name, zygosity, changes))
    return planted


def _header(contigs: Sequence[str]) -> str:
    lines = [
        "##fileformat=VCFv4.2",
        f"##fileDate={time.strftime('%Y%m%d', time.gmtime(0))}",  # fixed: output is seed-only
        "##source=pgx-cds benchmarks/synthetic_vcf.py",
        "##reference=GRCh38",
        *(f"##contig=<ID={c},length={CONTIGS[c]},assembly=GRCh38>" for c in contigs),
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", SAMPLE]
        ),
    ]
    return "\n".join(lines) + "\n"


def _split(total: int, weights: Sequence[int]) -> list[int]:
    """Split total in proportion to weights (largest remainder), so the parts sum exactly."""
    shares = np.array(weights, dtype=np.float64) / sum(weights) * total
    parts = np.floor(shares).astype(np.int64)
    for i in np.argsort(-(shares - parts), kind="stable")[: total - int(parts.sum())]:
        parts[i] += 1
    return [int(p) for p in parts]


def _random_positions(
    rng: np.random.Generator, count: int, length: int, blocked: np.ndarray
) -> np.ndarray:
    """count distinct sorted positions in 1..length, none inside a blocked (definition) span."""
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < count:
        drawn = rng.integers(1, length + 1, size=count - chosen.size, dtype=np.int64)
        chosen = np.union1d(chosen, drawn[~np.isin(drawn, blocked)])
    return chosen


def _definition_line(site: DefinitionPosition, genotype: str, dp: int, gq: int) -> tuple[int, str]:
    return site.position, (
        f"{site.chromosome}\t{site.position}\t{site.rsid or '.'}\t{site.ref}\t"
        f"{','.join(site.alts) or '.'}\t.\tPASS\t.\tGT:DP:GQ\t{genotype}:{dp}:{gq}\n"
    )


def _contig_lines(
    rng: np.random.Generator,
    chrom: str,
    count: int,
    sites: list[DefinitionPosition],
    genotypes: dict[tuple[str, int], str],
) -> Iterator[str]:
    """The body lines of one contig, in coordinate order, as chunks of text."""
    blocked = np.array(
        sorted({s.position + k for s in sites for k in range(len(s.ref))}), dtype=np.int64
    )
    positions = _random_positions(rng, count, CONTIGS[chrom], blocked)
    refs = rng.integers(0, 4, size=count)
    alts = (refs + rng.integers(1, 4, size=count)) % 4
    gts = (rng.random(count) < _HOM_ALT_SHARE).astype(np.int64)
    depths = rng.integers(8, 60, size=count)
    quals = rng.integers(20, 99, size=count)
    site_depths = rng.integers(20, 60, size=len(sites))

    extra = [
        _definition_line(s, genotypes.get((chrom, s.position), "0/0"), int(d), 99)
        for s, d in zip(sites, site_depths, strict=True)
    ]
    insert_at = np.searchsorted(positions, [p for p, _ in extra]).tolist() if extra else []
    pending = list(zip(insert_at, (line for _, line in extra), strict=True))
    for start in range(0, count + 1, _CHUNK):
        stop = min(start + _CHUNK, count)
        lines = [
            f"{chrom}\t{p}\t.\t{r}\t{a}\t{q}\tPASS\t.\tGT:DP:GQ\t{g}:{d}:{q}\n"
            for p, r, a, q, g, d in zip(
                positions[start:stop].tolist(),
                _BASES[refs[start:stop]].tolist(),
                _BASES[alts[start:stop]].tolist(),
                quals[start:stop].tolist(),
                _GENOTYPES[gts[start:stop]].tolist(),
                depths[start:stop].tolist(),
                strict=True,
            )
        ]
        last = stop == count
        here = [(at, line) for at, line in pending if start <= at < stop or (last and at == count)]
        for at, line in reversed(here):  # back to front, so earlier offsets stay valid
            lines.insert(at - start, line)
        yield "".join(lines)
        if last:
            break


def generate(
    out: Path, *, records: int, seed: int, index: bool = False, alleles: Path = ALLELES
) -> Summary:
    """Write the VCF (and, if asked, its .tbi); records counts every body line."""
    started = time.perf_counter()
    sites = definition_positions(alleles)
    if records < len(sites):
        raise ValueError(f"--records must be at least {len(sites)}, the definition positions")
    rng = np.random.default_rng(seed)
    planted = plant_alleles(rng, alleles)
    genotypes: dict[tuple[str, int], str] = {}
    for allele in planted:
        for chrom, pos, alt in allele.changes:
            site = next(s for s in sites if (s.chromosome, s.position) == (chrom, pos))
            number = site.alts.index(alt) + 1
            genotypes[(chrom, pos)] = (
                f"{number}/{number}" if allele.zygosity == "hom" else f"0/{number}"
            )

    by_contig: dict[str, list[DefinitionPosition]] = {c: [] for c in CONTIGS}
    for site in sites:
        by_contig[site.chromosome].append(site)
    random_counts = _split(records - len(sites), list(CONTIGS.values()))

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with pysam.BGZFile(str(partial), "wb", index=None) as handle:
        handle.write(_header(list(CONTIGS)).encode())
        for chrom, count in zip(CONTIGS, random_counts, strict=True):
            for text in _contig_lines(rng, chrom, count, by_contig[chrom], genotypes):
                handle.write(text.encode())
    for stale in (out.with_name(out.name + ".tbi"), out.with_name(out.name + ".csi")):
        stale.unlink(missing_ok=True)
    os.replace(partial, out)
    tbi = None
    if index:
        pysam.tabix_index(str(out), preset="vcf", force=True)
        tbi = out.with_name(out.name + ".tbi")
    return Summary(out, records, len(sites), tuple(planted), time.perf_counter() - started, tbi)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output path, ending .vcf.gz")
    parser.add_argument("--records", type=int, default=5_000_000, help="body lines in all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--index", action="store_true", help="also write OUT.tbi (tabix)")
    args = parser.parse_args(argv)
    summary = generate(args.out, records=args.records, seed=args.seed, index=args.index)
    size = summary.path.stat().st_size / 1e6
    print(
        f"{summary.path}: {summary.records:,} records ({summary.definition_positions} definition "
        f"positions), {size:.2f} MB, {summary.seconds:.1f} s"
        + (f", index {summary.index}" if summary.index else ""),
        file=sys.stderr,
    )
    for allele in summary.planted:
        where = ", ".join(f"{c}:{p}>{a}" for c, p, a in allele.changes)
        print(
            f"  planted {allele.gene} {allele.allele} ({allele.zygosity}): {where}", file=sys.stderr
        )


if __name__ == "__main__":
    main()
