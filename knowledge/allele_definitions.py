"""Star-allele definitions on GRCh38, as PharmCAT publishes them (``knowledge/alleles/``).

Each gene's ``<GENE>_translation.json`` lists the positions that define its named alleles and,
for every named allele, the VCF allele it carries at each position (``null`` = not part of the
definition, read as the reference allele's base). ``exemptions.json`` adjusts the matcher per
gene: positions and alleles it ignores, extra positions it reads, and NAT2's priorities among
equally scored unphased diplotypes. Source: PharmGKB/PharmCAT 5431bf1, data 2025-11-05-00-25
(MPL-2.0); see ``knowledge/LICENSE-DATA.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "ALLELE_DEFINITIONS",
    "GeneDefinition",
    "NamedAllele",
    "Position",
    "load_allele_definitions",
]

ALLELE_DEFINITIONS = Path(__file__).parent / "alleles"

# IUPAC nucleotide codes that PharmVar uses where an allele tolerates either base.
_IUPAC: dict[str, frozenset[str]] = {
    "R": frozenset("AG"),
    "Y": frozenset("CT"),
    "S": frozenset("GC"),
    "W": frozenset("AT"),
    "K": frozenset("GT"),
    "M": frozenset("AC"),
    "B": frozenset("CGT"),
    "D": frozenset("AGT"),
    "H": frozenset("ACT"),
    "V": frozenset("ACG"),
    "N": frozenset("ACGT"),
}

# Genes whose defined variants affect toxicity: an undocumented allele at a defining position is
# read as the reference allele rather than leaving the gene uncalled (NamedAlleleMatcher-101,
# "Undocumented Variations").
UNDOCUMENTED_AS_REFERENCE = frozenset({"CACNA1S", "DPYD", "G6PD", "NUDT15", "RYR1", "TPMT"})
# Genes whose "alleles" are single variants listed per chromosome rather than star alleles
# (Gene-Definition-Exceptions, DPYD and RYR1).
VARIANT_LISTING_GENES = frozenset({"DPYD", "RYR1"})


def allele_matches(defined: str, observed: str) -> bool:
    """Whether a sample's VCF allele is the defined one; IUPAC codes accept any of their bases."""
    if defined == observed:
        return True
    bases = _IUPAC.get(defined)
    return bases is not None and observed in bases


@dataclass(frozen=True, slots=True)
class Position:
    """One defining position: where it is and which VCF alleles the definitions know there."""

    chromosome: str
    position: int
    rsid: str | None
    hgvs: str
    ref: str
    alts: tuple[str, ...]

    @property
    def label(self) -> str:
        """How a report names it: the rsID where there is one, else ``chr10:94761900``."""
        return self.rsid or f"{self.chromosome}:{self.position}"

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and all(len(alt) == 1 for alt in self.alts)

    def knows(self, allele: str) -> bool:
        return allele == self.ref or allele in self.alts


@dataclass(frozen=True, slots=True)
class NamedAllele:
    """A named allele: the VCF allele it needs at each position of its gene (``None``: any).

    ``alleles`` is aligned with the gene's positions. ``score`` is PharmCAT's: the number of
    positions the definition names, so the reference allele, defined everywhere, scores highest.
    """

    name: str
    alleles: tuple[str | None, ...]
    reference: bool

    @property
    def score(self) -> int:
        return sum(allele is not None for allele in self.alleles)


@dataclass(frozen=True, slots=True)
class GeneDefinition:
    """One gene's positions and named alleles, with its exemptions applied."""

    gene: str
    chromosome: str
    version: str
    positions: tuple[Position, ...]
    named_alleles: tuple[NamedAllele, ...]
    # NAT2: among these equally scored unphased diplotypes, report the one PharmCAT picks.
    unphased_priorities: tuple[tuple[frozenset[str], str], ...] = ()
    # Read for reporting only (CYP2C9: rs12777823 for warfarin), never part of a named allele.
    extra_positions: tuple[Position, ...] = ()

    @property
    def reference(self) -> NamedAllele:
        return next(allele for allele in self.named_alleles if allele.reference)


def _position(raw: dict[str, Any]) -> Position:
    return Position(
        chromosome=raw["chromosome"],
        position=int(raw["position"]),
        rsid=raw.get("rsid"),
        hgvs=raw["chromosomeHgvsName"],
        ref=raw["ref"],
        alts=tuple(raw["alts"]),
    )


def _gene(raw: dict[str, Any], exemption: dict[str, Any]) -> GeneDefinition:
    ignored_positions = {int(p["position"]) for p in exemption.get("ignoredPositions", [])}
    ignored_alleles = set(exemption.get("ignoredAlleles", []))
    keep = [i for i, p in enumerate(raw["variants"]) if int(p["position"]) not in ignored_positions]
    positions = tuple(_position(raw["variants"][i]) for i in keep)
    # Sub-alleles (SLCO1B1 *45.001, *45.002) are reported as their star allele, as CPIC does.
    suballeles: dict[str, str] = raw.get("suballelesMap") or {}
    named = []
    for allele in raw["namedAlleles"]:
        if allele["name"] in ignored_alleles:
            continue
        alleles = tuple(allele["alleles"][i] for i in keep)
        if not allele["reference"] and all(a is None for a in alleles):
            continue  # defined only at ignored positions
        name = suballeles.get(allele["name"], allele["name"])
        named.append(NamedAllele(name, alleles, bool(allele["reference"])))
    priorities = tuple(
        (frozenset(entry["list"]), entry["pick"])
        for entry in exemption.get("unphasedDiplotypePriorities", [])
    )
    return GeneDefinition(
        gene=raw["gene"],
        chromosome=raw["chromosome"],
        version=raw["version"],
        positions=positions,
        named_alleles=tuple(named),
        unphased_priorities=priorities,
        extra_positions=tuple(_position(p) for p in exemption.get("extraPositions", [])),
    )


@cache
def load_allele_definitions(folder: Path = ALLELE_DEFINITIONS) -> dict[str, GeneDefinition]:
    """Every gene's definition, by gene symbol; read once per process."""
    exemptions = json.loads((folder / "exemptions.json").read_text(encoding="utf-8"))
    genes = {}
    for path in sorted(folder.glob("*_translation.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        genes[raw["gene"]] = _gene(raw, exemptions.get(raw["gene"], {}))
    return genes
