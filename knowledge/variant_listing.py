"""DPYD and RYR1: variants listed per chromosome copy, not star alleles.

Their "named alleles" are single variants (HapB3 is two), and a copy may carry several. PharmCAT's
rule (``pharmcat/docs/Gene-Definition-Exceptions.md``):

- Phased data, or unphased data that is homozygous everywhere or heterozygous at one position
  ("effectively phased"): each copy gets every variant it carries, written ``[a + b]``, or
  ``Reference`` when it carries none. Several phase sets: every way of joining them is kept.
- Otherwise no diplotype is called; each variant found is listed once per copy that carries it.

The phenotype is then taken from the two lowest-function variants (``pipeline.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from knowledge.allele_definitions import GeneDefinition, Position, allele_matches
from knowledge.allele_matching import GeneMatch, Genotype, natural_key, prepare, uncalled
from knowledge.lowest_function import REFERENCE

__all__ = ["list_variants"]

# More phase sets than this would mean 2^n readings of one gene: report the variants instead.
_MAX_PHASE_SETS = 8


@dataclass(frozen=True, slots=True)
class _Variant:
    name: str
    order: int
    defined: dict[int, str]  # index into the prepared positions → allele
    full_size: int  # positions in the complete definition, for the HapB3 tie-break


def _variants(definition: GeneDefinition, kept_indexes: list[int]) -> list[_Variant]:
    found = []
    for order, named in enumerate(definition.named_alleles):
        if named.reference:
            continue
        defined = {
            j: allele
            for j, i in enumerate(kept_indexes)
            if (allele := named.alleles[i]) is not None
        }
        if defined:
            full = sum(a is not None for a in named.alleles)
            found.append(_Variant(named.name, order, defined, full))
    return found


def _drop_contained(present: list[_Variant]) -> list[_Variant]:
    """HapB3 found → its intronic SNP alone is not listed again; equal ones keep the fuller."""
    kept = []
    for variant in present:
        covered = False
        for other in present:
            if other is variant:
                continue
            inside = all(other.defined.get(i) == a for i, a in variant.defined.items())
            if not inside:
                continue
            bigger = len(other.defined) > len(variant.defined)
            same = len(other.defined) == len(variant.defined)
            if bigger or (same and other.full_size > variant.full_size):
                covered = True
                break
        if not covered:
            kept.append(variant)
    return kept


def _on_copy(variants: list[_Variant], copy: tuple[str | None, ...]) -> list[_Variant]:
    present = [
        v
        for v in variants
        if all(
            copy[i] is not None and allele_matches(a, copy[i] or "") for i, a in v.defined.items()
        )
    ]
    return sorted(_drop_contained(present), key=lambda v: v.order)


def _name(copy: list[_Variant]) -> str:
    if not copy:
        return REFERENCE
    if len(copy) == 1:
        return copy[0].name
    return "[" + " + ".join(v.name for v in copy) + "]"


def list_variants(definition: GeneDefinition, genotypes: Mapping[int, Genotype]) -> GeneMatch:
    """Variants per copy (phased) or as a list (unphased), as the module docstring says."""
    prepared = prepare(definition, genotypes)
    base = uncalled(definition, prepared)
    if not prepared.positions:
        return base
    notes = list(prepared.notes)
    variants = _variants(definition, prepared.kept)
    hapb3 = _hapb3_note(definition, prepared.missing)
    if hapb3:
        notes.append(hapb3)
    if prepared.unreadable:
        return replace(base, phased=False, notes=tuple(notes))
    calls = prepared.calls
    copies = 1 if prepared.haploid else 2
    unphased_blocks = [b for b in prepared.blocks if len(b) == 1]
    phased_data = all(genotypes[prepared.positions[b[0]].position].phased for b in prepared.blocks)
    if len(prepared.blocks) <= 1 or (phased_data and len(prepared.blocks) <= _MAX_PHASE_SETS):
        readings: set[str] = set()
        strands: tuple[tuple[str, ...], ...] = ()
        blocks = prepared.blocks
        flips = itertools.product((False, True), repeat=max(len(blocks) - 1, 0))
        for flip in flips:
            orientation = {i: False for i in blocks[0]} if blocks else {}
            for block, flipped in zip(blocks[1:], flip, strict=True):
                orientation.update({i: flipped for i in block})
            per_copy = []
            for k in range(copies):
                copy = tuple(
                    call[(1 - k) if orientation.get(i) else k] if len(call) > 1 else call[0]
                    for i, call in enumerate(calls)
                )
                per_copy.append(_on_copy(variants, copy))
            names = sorted((_name(c) for c in per_copy), key=_reference_first)
            readings.add("/".join(names))
            strands = tuple(tuple(v.name for v in c) for c in per_copy)
        diplotypes = tuple(sorted(readings, key=natural_key))
        if len(diplotypes) > 1:
            notes.append(
                f"{len(diplotypes)} readings fit the phase sets equally: " + " | ".join(diplotypes)
            )
            strands = ()
        return replace(
            base, diplotypes=diplotypes, phased=True, strands=strands, notes=tuple(notes)
        )
    listed: list[str] = []
    for variant in _drop_contained([v for v in variants if _copies_carrying(v, calls) > 0]):
        listed.extend([variant.name] * _copies_carrying(variant, calls))
    notes.append(
        f"unphased data with {len(unphased_blocks)} heterozygous positions: the copies cannot be "
        "told apart, so variants are listed and no diplotype is called"
    )
    return replace(base, phased=False, variants=tuple(listed), notes=tuple(notes))


def _reference_first(name: str) -> tuple[int, tuple[tuple[int, str], ...]]:
    """``Reference``, then single variants, then copies with several: how PharmCAT writes them."""
    kind = 0 if name == REFERENCE else 2 if name.startswith("[") else 1
    return (kind, natural_key(name))


def _copies_carrying(variant: _Variant, calls: list[tuple[str, ...]]) -> int:
    return min(
        sum(allele_matches(allele, observed) for observed in calls[i])
        for i, allele in variant.defined.items()
    )


def _hapb3_note(definition: GeneDefinition, missing: Sequence[Position]) -> str:
    if definition.gene != "DPYD":
        return ""
    labels = {p.rsid for p in missing}
    if "rs75017182" in labels and "rs56038477" not in labels:
        return (
            "HapB3 can only be read from its exonic SNP rs56038477: the intronic SNP rs75017182, "
            "which causes the decreased function, is missing; genotype it to confirm HapB3"
        )
    if "rs56038477" in labels and "rs75017182" not in labels:
        return (
            "HapB3 read from the intronic SNP rs75017182 alone (the exonic rs56038477 is missing)"
        )
    return ""
