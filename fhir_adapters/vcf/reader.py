"""Read a sample's genotypes at the allele-defining positions of a VCF (cyvcf2).

Only definition positions are read: by region query when the file has a tabix/CSI index, else in
one streaming pass that skips everything else. What real lab files hold is accepted: ``chr10`` or
``10``; multi-allelic records, and the biallelic records ``bcftools norm -m-`` splits them into;
alleles padded differently from the definitions (``CA>TA,C`` against ``C>T``); gVCF reference
blocks; phased calls with or without ``FORMAT/PS``; haploid calls (chrX in males). A position the
file does not hold is missing, never assumed reference (PharmCAT's VCF requirement #2).
"""

from __future__ import annotations

import bisect
import gzip
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_adapters.vcf.build import check_header_build, check_reference_agreement
from fhir_adapters.vcf.errors import VcfInputError
from knowledge.allele_definitions import GeneDefinition, Position
from knowledge.allele_matching import Genotype

__all__ = ["SampleGenotypes", "VcfReading", "read_vcf"]

_SYMBOLIC = frozenset({"<NON_REF>", "<*>", ".", "*"})


@dataclass(frozen=True, slots=True)
class _Target:
    gene: str
    position: Position
    extra: bool  # read for reporting only (rs12777823), not part of any named allele


@dataclass(slots=True)
class SampleGenotypes:
    """One sample's calls: per gene, position → genotype; plus the extra positions read."""

    sample: str
    genes: dict[str, dict[int, Genotype]] = field(default_factory=dict)
    extras: dict[tuple[str, int], Genotype] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class VcfReading:
    """What one pass over a VCF gave, for every sample asked for."""

    source: str
    samples: list[SampleGenotypes]
    indexed: bool
    records_read: int


def _normal(chromosome: str) -> str:
    name = chromosome.removeprefix("chr").removeprefix("CHR")
    return "M" if name == "MT" else name


class _Targets:
    """Definition positions by chromosome, for the per-record lookups of a streaming pass."""

    def __init__(self, definitions: Iterable[GeneDefinition]) -> None:
        self.by_chromosome: dict[str, dict[int, list[_Target]]] = {}
        self.spans: dict[str, list[tuple[int, int]]] = {}
        for definition in definitions:
            chromosome = _normal(definition.chromosome)
            found = self.by_chromosome.setdefault(chromosome, {})
            wanted = [(p, False) for p in definition.positions]
            wanted += [(p, True) for p in definition.extra_positions]
            for position, extra in wanted:
                found.setdefault(position.position, []).append(
                    _Target(definition.gene, position, extra)
                )
            if wanted:
                start = min(p.position for p, _ in wanted)
                end = max(p.position + len(p.ref) for p, _ in wanted)
                self.spans.setdefault(chromosome, []).append((start, end))
        self.sorted_positions = {c: sorted(found) for c, found in self.by_chromosome.items()}
        every = [
            t for found in self.by_chromosome.values() for group in found.values() for t in group
        ]
        # (gene, position) → what is there, for gathering each sample's calls at the end.
        self.by_key = {(t.gene, t.position.position): t for t in every}

    def regions(self, style: str) -> Iterator[str]:
        """``chr10:94038000-94950000``: each chromosome's gene spans, overlaps merged."""
        for chromosome, spans in self.spans.items():
            merged: list[list[int]] = []
            for start, end in sorted(spans):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            name = f"chr{chromosome}" if style == "chr" else chromosome
            for start, end in merged:
                yield f"{name}:{start}-{end}"


def _open_text(path: Path) -> Iterator[str]:
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            yield from handle
    else:
        with path.open(encoding="utf-8", errors="replace") as handle:
            yield from handle


def _header_lines(path: Path) -> list[str]:
    """The file's own header lines, up to ``#CHROM``: htslib's copy adds lines, moving numbers."""
    lines = []
    for line in _open_text(path):
        lines.append(line.rstrip("\r\n"))
        if not line.startswith("##"):
            break
    return lines


def _first_line(path: Path) -> str:
    try:
        return next(_open_text(path), "")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise VcfInputError(
            path.name, f"cannot read the file ({exc})", "Give a VCF, plain or bgzipped", line=1
        ) from exc


def record_line(path: Path, chromosome: str, position: int) -> int | None:
    """The line number of the record at ``chromosome:position``, for an error message."""
    prefix = f"{chromosome}\t{position}\t"
    for number, line in enumerate(_open_text(path), start=1):
        if line.startswith(prefix):
            return number
    return None


def _has_index(path: Path) -> bool:
    return any(Path(f"{path}{suffix}").exists() for suffix in (".csi", ".tbi"))


class _SampleState:
    """Calls gathered for one sample; records at the same position are merged at the end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: dict[tuple[str, int], list[Genotype]] = {}
        self.blocks: dict[tuple[str, int], Genotype] = {}
        self.notes: dict[str, list[str]] = {}


def _convert(position: Position, ref: str, alts: Sequence[str]) -> list[str] | None:
    """The record's alleles in the definition's representation; ``None`` if REF disagrees."""
    alleles = [ref, *alts]
    if ref == position.ref:
        return alleles
    if not any(a not in _SYMBOLIC for a in alts) and ref[:1] == position.ref[:1]:
        # A reference-only record with a one-base REF where the definition has an indel:
        # "no variant here", written short (VCF-Requirements, deletions).
        return [position.ref, *alts]
    if len(ref) > len(position.ref) and ref.startswith(position.ref):
        suffix = ref[len(position.ref) :]
        return [
            a[: -len(suffix)] if a.endswith(suffix) and len(a) > len(suffix) else a for a in alleles
        ]
    if len(ref) < len(position.ref) and position.ref.startswith(ref):
        suffix = position.ref[len(ref) :]
        return [a if a in _SYMBOLIC else a + suffix for a in alleles]
    return None


class _Pass:
    """One pass over the records; ``handle`` is called for each record near a target."""

    def __init__(self, targets: _Targets, states: list[_SampleState]) -> None:
        self.targets = targets
        self.states = states
        self.mismatches: list[tuple[str, int, str, str]] = []
        self.compared = 0
        self.records = 0
        self._seen: set[tuple[str, int, str, tuple[str, ...]]] = set()

    def handle(self, record: Any) -> None:
        self.records += 1
        chromosome = _normal(record.CHROM)
        by_position = self.targets.by_chromosome.get(chromosome)
        if by_position is None:
            return
        position = record.POS
        found = by_position.get(position)
        if found is None:
            self._maybe_block(record, chromosome, position)
            return
        key = (chromosome, position, record.REF, tuple(record.ALT))
        if key in self._seen:  # overlapping region queries return a record twice
            return
        self._seen.add(key)
        alts = list(record.ALT)
        if all(a in _SYMBOLIC for a in alts) and record.end > position:
            self._maybe_block(record, chromosome, position)
        genotypes = record.genotypes
        phase_sets = _phase_sets(record)
        for target in found:
            alleles = _convert(target.position, record.REF, alts)
            self.compared += 1
            if alleles is None:
                self.mismatches.append((record.CHROM, position, record.REF, target.position.ref))
                for state in self.states:
                    state.notes.setdefault(target.gene, []).append(
                        f"{target.position.label}: the VCF's REF {record.REF} is not GRCh38's "
                        f"{target.position.ref}; position not used"
                    )
                continue
            for state, call, phase_set in zip(self.states, genotypes, phase_sets, strict=True):
                if any(index >= len(alleles) for index in call[:-1]):
                    state.notes.setdefault(target.gene, []).append(
                        f"{target.position.label}: GT names allele {max(call[:-1])} but the "
                        f"record has {len(alleles) - 1} ALT allele(s); position not used"
                    )
                    continue
                genotype = _genotype(call, alleles, phase_set)
                state.records.setdefault((target.gene, position), []).append(genotype)

    def _maybe_block(self, record: Any, chromosome: str, position: int) -> None:
        """A gVCF reference block covering SNV definition positions: reference there."""
        positions = self.targets.sorted_positions[chromosome]
        end = record.end  # htslib reads INFO/END for symbolic records
        first = bisect.bisect_left(positions, position)
        if first == len(positions) or positions[first] > end:
            return
        if not all(a in _SYMBOLIC for a in record.ALT):
            return
        by_position = self.targets.by_chromosome[chromosome]
        genotypes = record.genotypes
        for covered in positions[first : bisect.bisect_right(positions, end)]:
            for target in by_position[covered]:
                for state, call in zip(self.states, genotypes, strict=True):
                    indexes = call[:-1]
                    if any(i != 0 for i in indexes):
                        continue  # a no-call block stays missing
                    if target.position.is_snv:
                        calls = tuple(target.position.ref for _ in indexes)
                        state.blocks[(target.gene, covered)] = Genotype(calls)
                    elif covered != position:
                        state.notes.setdefault(target.gene, []).append(
                            f"{target.position.label}: only a gVCF reference block covers this "
                            "indel position, which does not rule the indel out; read as missing"
                        )


def _phase_sets(record: Any) -> list[int | str | None]:
    """Each sample's ``FORMAT/PS``; some callers (weCall) declare it a String."""
    try:
        values = record.format("PS")
    except KeyError:
        values = None
    if values is None:
        return [None] * len(record.genotypes)
    found: list[int | str | None] = []
    for row in values:
        value = row if isinstance(row, str) else row[0]
        if isinstance(value, bytes | str):
            text = value.decode() if isinstance(value, bytes) else value
            found.append(None if text in {"", "."} else text)
        else:
            # htslib's "missing" integer sentinels are large negatives.
            found.append(int(value) if int(value) >= 0 else None)
    return found


def _genotype(call: Sequence[Any], alleles: Sequence[str], phase_set: int | str | None) -> Genotype:
    *indexes, phased = call
    read: list[str | None] = []
    for index in indexes:
        read.append(alleles[index] if 0 <= index < len(alleles) else None)
    if len(read) > 2:
        read = read[:2]  # PharmCAT: only the first two alleles of a polyploid call are used
    return Genotype(tuple(read), phased=bool(phased) and len(read) == 2, phase_set=phase_set)


def _merge(calls: list[Genotype], ref: str) -> tuple[Genotype | None, str | None]:
    """One genotype from the records at one position; a note when they contradict each other."""
    if len(calls) == 1:
        return calls[0], None
    present = [c for c in calls if c.alleles and any(a is not None for a in c.alleles)]
    if not present:
        return None, None
    size = max(len(c.alleles) for c in present)
    merged: list[str | None] = [ref] * size
    owner: list[bool] = [False] * size
    for call in present:
        for copy, allele in enumerate(call.alleles):
            if allele is None or allele == ref:
                continue
            slot = copy
            if owner[slot] and merged[slot] != allele:
                # Split records of an unphased site may number the copies either way.
                free = [i for i in range(size) if not owner[i]]
                if call.phased or not free:
                    return None, "records at this position contradict each other"
                slot = free[0]
            merged[slot] = allele
            owner[slot] = True
    phased = all(c.phased for c in present)
    return Genotype(tuple(merged), phased=phased, phase_set=present[0].phase_set), None


def read_vcf(
    path: Path,
    definitions: Mapping[str, GeneDefinition],
    *,
    samples: Sequence[str] | None = None,
) -> VcfReading:
    """Every asked-for sample's genotypes at the definition positions; located errors if unfit."""
    import cyvcf2

    source = path.name
    if not path.is_file():
        raise VcfInputError(source, "no such file", "Check the path")
    first = _first_line(path)
    if not first.startswith("##fileformat=VCF"):
        shown = first.strip()[:60] or "(empty)"
        if not shown.isprintable():
            shown = "(binary data)"
        raise VcfInputError(
            source,
            f"not a VCF: the first line is {shown!r}, not '##fileformat=VCFv4.x'",
            "Give a VCF file, plain or bgzipped",
            line=1,
        )
    try:
        vcf = cyvcf2.VCF(str(path), lazy=True)
    except Exception as exc:  # cyvcf2 raises bare Exception (or OSError) on htslib failures
        raise VcfInputError(
            source, f"htslib cannot parse the header ({exc})", "Check the VCF header", line=1
        ) from exc
    header = _header_lines(path)
    check_header_build(source, "\n".join(header))
    chrom_line = len(header)
    names = list(vcf.samples)
    if not names:
        raise VcfInputError(
            source,
            "the VCF has no sample column",
            "Give a VCF with genotypes (FORMAT/GT)",
            line=chrom_line,
        )
    wanted = list(samples) if samples else names
    for name in wanted:
        if name not in names:
            listed = ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
            raise VcfInputError(
                source,
                f"sample {name!r} is not in the VCF (its samples: {listed})",
                "Pass one of them with --sample",
                line=chrom_line,
            )
    if wanted != names:
        vcf.set_samples(wanted)
    states = [_SampleState(name) for name in wanted]
    targets = _Targets(definitions.values())
    scan = _Pass(targets, states)
    indexed = _has_index(path)
    try:
        if indexed:
            style = "chr" if any(n.startswith("chr") for n in vcf.seqnames) else "plain"
            for region in targets.regions(style):
                for record in vcf(region):
                    scan.handle(record)
        else:
            for record in vcf:
                scan.handle(record)
    except VcfInputError:
        raise
    except Exception as exc:  # htslib errors surface as bare Exceptions from cyvcf2
        raise VcfInputError(
            source, f"htslib cannot read a record ({exc})", "Check the VCF with bcftools view"
        ) from exc
    finally:
        vcf.close()
    check_reference_agreement(source, scan.mismatches, scan.compared)
    return VcfReading(
        source=source,
        samples=[_collect(state, targets) for state in states],
        indexed=indexed,
        records_read=scan.records,
    )


def _collect(state: _SampleState, targets: _Targets) -> SampleGenotypes:
    result = SampleGenotypes(sample=state.name, notes=state.notes)
    for key in set(state.records) | set(state.blocks):
        gene, position = key
        target = targets.by_key[key]
        calls = state.records.get(key)
        if calls:
            genotype, problem = _merge(calls, target.position.ref)
            if problem:
                state.notes.setdefault(gene, []).append(f"{target.position.label}: {problem}")
        else:
            genotype = state.blocks[key]
        if genotype is None:
            continue
        if target.extra:
            result.extras[key] = genotype
        else:
            result.genes.setdefault(gene, {})[position] = genotype
    return result
