"""Named allele matching: a sample's genotypes at a gene's defining positions → diplotypes.

The method is PharmCAT's Named Allele Matcher (``pharmcat/docs/NamedAlleleMatcher-101.md``):

- Only positions present in the sample count; a named allele's score is the number of those
  positions its definition names, so a definition left with none cannot be called.
- A blank cell in a definition is read as the reference allele's base.
- A diplotype is two named alleles that together explain the genotype at every position, with
  each phased block (a VCF phase set, or a lone unphased heterozygous position) read either way
  round. Every diplotype with the top score is kept: ambiguity is reported, not hidden.
- NAT2 picks among certain equally scored unphased diplotypes by population frequency
  (``exemptions.json``), and says so in a note.
- DPYD and RYR1 list variants per chromosome instead (``variant_listing.py``).

The result carries what the sample lacked, so a report can say which alleles could not be called.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from knowledge.allele_definitions import (
    UNDOCUMENTED_AS_REFERENCE,
    GeneDefinition,
    NamedAllele,
    Position,
    allele_matches,
)

__all__ = ["GeneMatch", "Genotype", "match_gene", "natural_key"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, str], ...]:
    """``*2`` before ``*17`` before ``*80+*28``, as PharmCAT and CPIC write diplotypes."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in _DIGITS.split(name))


@dataclass(frozen=True, slots=True)
class Genotype:
    """A sample's call at one position: one VCF allele per chromosome copy, ``None`` if unread.

    ``phased`` means ``alleles[0]`` lies on the same copy as ``alleles[0]`` of every other phased
    call with the same ``phase_set`` (VCF ``|`` and ``FORMAT/PS``; no PS = one phase set).
    """

    alleles: tuple[str | None, ...]
    phased: bool = False
    phase_set: int | str | None = None

    @property
    def heterozygous(self) -> bool:
        return len(self.alleles) == 2 and self.alleles[0] != self.alleles[1]


@dataclass(frozen=True, slots=True)
class GeneMatch:
    """What the matcher found for one gene in one sample."""

    gene: str
    # Top-scoring diplotypes ("*1/*17"), or one allele for a haploid call; () = not called.
    diplotypes: tuple[str, ...]
    score: int | None
    # Phased, or "effectively phased": at most one heterozygous block, so each copy is known.
    phased: bool
    haploid: bool
    positions_read: int
    missing: tuple[Position, ...]
    # Named alleles whose every defining position is missing: never called, so say so.
    uncallable: tuple[str, ...]
    notes: tuple[str, ...] = ()
    # DPYD and RYR1: the variants on each chromosome copy (phased), or each variant found, once
    # per copy that carries it (unphased, where the copies cannot be told apart).
    strands: tuple[tuple[str, ...], ...] = ()
    variants: tuple[str, ...] = ()
    definition_version: str = ""

    @property
    def ambiguous(self) -> bool:
        return len(self.diplotypes) > 1


@dataclass(slots=True)
class _Prepared:
    """A gene's definition cut down to the positions the sample has, with the sample's calls."""

    positions: list[Position]
    kept: list[int]  # index in the definition of each position in ``positions``
    calls: list[tuple[str, ...]]
    blocks: list[list[int]]  # indexes into positions, heterozygous only, one list per block
    alleles: list[NamedAllele]  # defined at the available positions; blanks filled
    scores: list[int]
    missing: list[Position] = field(default_factory=list)
    uncallable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: bool = False
    haploid: bool = False


def prepare(definition: GeneDefinition, genotypes: Mapping[int, Genotype]) -> _Prepared:
    """Keep the positions the sample has; read undocumented alleles as the gene's rule says."""
    reference = definition.reference
    keep: list[int] = []
    calls: list[tuple[str, ...]] = []
    phasing: list[tuple[bool, int | str | None]] = []
    missing: list[Position] = []
    notes: list[str] = []
    unreadable = False
    for index, position in enumerate(definition.positions):
        genotype = genotypes.get(position.position)
        if genotype is None or not genotype.alleles:
            missing.append(position)
            continue
        observed = genotype.alleles
        if None in observed:
            if all(a is None or a == position.ref for a in observed):
                # "0/." on a diploid chromosome says nothing: read as missing (PharmCAT does).
                missing.append(position)
                continue
            notes.append(
                f"{position.label}: partial genotype with an alternate allele; "
                "no diplotype can be called from it"
            )
            unreadable = True
            continue
        read: list[str] = []
        for allele in observed:
            assert allele is not None
            if position.knows(allele) or any(
                a.alleles[index] is not None and allele_matches(a.alleles[index] or "", allele)
                for a in definition.named_alleles
            ):
                read.append(allele)
            elif definition.gene in UNDOCUMENTED_AS_REFERENCE:
                notes.append(
                    f"{position.label}: allele {allele} is in no {definition.gene} definition; "
                    "read as reference, as PharmCAT does for this gene"
                )
                read.append(reference.alleles[index] or position.ref)
            else:
                notes.append(
                    f"{position.label}: allele {allele} is in no {definition.gene} definition, "
                    "so the gene cannot be called"
                )
                unreadable = True
                read.append(allele)
        keep.append(index)
        calls.append(tuple(read))
        phasing.append((genotype.phased, genotype.phase_set))
    haploid = bool(calls) and all(len(c) == 1 for c in calls)
    if not haploid and any(len(c) == 1 for c in calls):
        notes.append("haploid and diploid calls mixed in one gene; cannot call a diplotype")
        unreadable = True
    blocks: dict[object, list[int]] = {}
    for i, (call, (phased, phase_set)) in enumerate(zip(calls, phasing, strict=True)):
        if len(call) == 2 and call[0] != call[1]:
            key: object = ("set", phase_set) if phased else ("position", i)
            blocks.setdefault(key, []).append(i)
    alleles: list[NamedAllele] = []
    scores: list[int] = []
    uncallable: list[str] = []
    for named in definition.named_alleles:
        cut = tuple(named.alleles[i] for i in keep)
        score = sum(a is not None for a in cut)
        if score == 0 and not named.reference:
            uncallable.append(named.name)
            continue
        filled = tuple(
            a if a is not None else reference.alleles[keep[j]] for j, a in enumerate(cut)
        )
        alleles.append(NamedAllele(named.name, filled, named.reference))
        scores.append(score)
    return _Prepared(
        positions=[definition.positions[i] for i in keep],
        kept=keep,
        calls=calls,
        blocks=list(blocks.values()),
        alleles=alleles,
        scores=scores,
        missing=missing,
        uncallable=uncallable,
        notes=notes,
        unreadable=unreadable,
        haploid=haploid,
    )


def uncalled(definition: GeneDefinition, prepared: _Prepared) -> GeneMatch:
    """The result before any call: what was read and missing, with the preparation's notes
    (or, when the VCF has none of the gene's positions, that)."""
    return GeneMatch(
        gene=definition.gene,
        diplotypes=(),
        score=None,
        phased=len(prepared.blocks) <= 1,
        haploid=prepared.haploid,
        positions_read=len(prepared.positions),
        missing=tuple(prepared.missing),
        uncallable=tuple(prepared.uncallable),
        notes=tuple(prepared.notes)
        if prepared.positions
        else (
            f"none of the {len(definition.positions)} {definition.gene} positions is in the VCF",
        ),
        definition_version=definition.version,
    )


def _fits(defined: str | None, observed: str) -> bool:
    return defined is not None and allele_matches(defined, observed)


def _compatible(named: NamedAllele, calls: Sequence[tuple[str, ...]]) -> bool:
    """The allele could lie on one copy: each position offers one of its defined alleles."""
    return all(
        any(_fits(defined, observed) for observed in call)
        for defined, call in zip(named.alleles, calls, strict=True)
    )


def _pair_explains(first: NamedAllele, second: NamedAllele, prepared: _Prepared) -> bool:
    """The two alleles, one per copy, explain every heterozygous block read one way or the other."""
    for block in prepared.blocks:
        straight = all(
            _fits(first.alleles[i], prepared.calls[i][0])
            and _fits(second.alleles[i], prepared.calls[i][1])
            for i in block
        )
        if straight:
            continue
        crossed = all(
            _fits(first.alleles[i], prepared.calls[i][1])
            and _fits(second.alleles[i], prepared.calls[i][0])
            for i in block
        )
        if not crossed:
            return False
    # Homozygous positions are explained by both alleles being compatible.
    return True


def _diplotype(first: str, second: str) -> str:
    return "/".join(sorted((first, second), key=natural_key))


def match_gene(definition: GeneDefinition, genotypes: Mapping[int, Genotype]) -> GeneMatch:
    """The top-scoring diplotypes for one gene (see the module docstring for the method)."""
    prepared = prepare(definition, genotypes)
    base = uncalled(definition, prepared)
    if not prepared.positions:
        return base
    if prepared.unreadable:
        return base
    candidates = [
        (named, score)
        for named, score in zip(prepared.alleles, prepared.scores, strict=True)
        if _compatible(named, prepared.calls)
    ]
    found: dict[str, int] = {}
    if prepared.haploid:
        for named, score in candidates:
            found[named.name] = score
    else:
        for i, (first, first_score) in enumerate(candidates):
            for second, second_score in candidates[i:]:
                if _pair_explains(first, second, prepared):
                    name = _diplotype(first.name, second.name)
                    found[name] = max(found.get(name, 0), first_score + second_score)
    notes = list(prepared.notes)
    if not found:
        notes.append(
            "no pair of named alleles explains the genotypes "
            "(a novel allele, a combination, or a genotyping error)"
        )
        return replace(base, notes=tuple(notes))
    top = max(found.values())
    diplotypes = sorted((d for d, s in found.items() if s == top), key=natural_key)
    if len(diplotypes) > 1 and len(prepared.blocks) > 1:
        for choices, pick in definition.unphased_priorities:
            if choices <= set(diplotypes):
                notes.append(
                    f"{' or '.join(sorted(choices, key=natural_key))} fit the unphased data "
                    f"equally; {pick} is reported, the most frequent in populations studied "
                    "(PharmCAT NAT2 priorities)"
                )
                diplotypes = [pick]
                break
    if len(diplotypes) > 1:
        notes.append(f"{len(diplotypes)} diplotypes fit equally well: " + " | ".join(diplotypes))
    return replace(base, diplotypes=tuple(diplotypes), score=top, notes=tuple(notes))
