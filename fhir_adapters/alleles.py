"""Genotype values as text: star-allele diplotypes, HLA alleles and GL Strings, SNP genotypes.

The reader only splits what the lab wrote into alleles; naming them the way the knowledge's gene
tables do (``name_alleles``) is a separate step that never invents an allele.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.schema import GeneTable

__all__ = [
    "ParsedGenotype",
    "carrier_status",
    "hla_allele",
    "name_alleles",
    "parse_genotype_text",
    "parse_gl_string",
]

_RSID = re.compile(r"(?i)\b(rs\d+)\b")
_NUCLEOTIDES = re.compile(r"^(?:[ACGT]+|-|del|ins)$", re.IGNORECASE)
_ALLELE = re.compile(r"^[\w.:+>()≥*-]+$")
# "*7.001": a PharmVar sub-allele of core allele *7 (three-digit suffix, PharmVar's convention).
_SUBALLELE = re.compile(r"^(?P<core>.+?)\.\d{3}$")
# Modern HLA nomenclature: "HLA-B*57:01:01G", "B*57:01", "*57:01".
_HLA = re.compile(r"^(?:HLA-)?(?:[A-Z]+\d*)?\*?(?P<fields>\d{2,3}(?::\d{2,3})*)(?P<suffix>[A-Z]?)$")
# Pre-2010 HLA nomenclature without colons: "B*5701", "B*570101" (two-digit fields).
_HLA_OLD = re.compile(r"^(?:HLA-)?[A-Z]+\d*\*(?P<digits>\d{4}|\d{6}|\d{8})(?P<suffix>[A-Z]?)$")
# GL String prefix "hla#3.23.0#": namespace and database version before the genotype.
_GL_PREFIX = re.compile(r"^[\w-]+#[\w.]+#")
_SNP_ALLELE = re.compile(r"^(?P<rsid>rs\d+) (?:reference|variant) \((?P<base>[ACGT]+)\)$")


@dataclass(frozen=True, slots=True)
class ParsedGenotype:
    """What a value says: one or more possible genotypes, each of one or two alleles.

    More than one candidate only comes from an ambiguous GL String; ``rsid`` is set for a SNP
    genotype such as ``"rs9923231 C/T"``.
    """

    candidates: tuple[tuple[str, ...], ...]
    rsid: str | None = None

    @property
    def unambiguous(self) -> tuple[str, ...] | None:
        return self.candidates[0] if len(self.candidates) == 1 else None


def parse_genotype_text(text: str, gene: str | None) -> ParsedGenotype | None:
    """``"CYP2C19 *1/*17"``, ``"CYP2D6*7.001 / CYP2D6*1.001"``, ``"VKORC1 rs9923231 C/T"`` …"""
    bare = text.strip()
    if gene:
        # "CYP2C19*2/*2", "CYP2D6_*1/*1" (PharmVar code form) and "HLA-B*15:02" all name the gene.
        bare = re.sub(rf"(?i)\b{re.escape(gene)}(?:\s+|_)?", "", bare).strip()
    rsids = set(m.lower() for m in _RSID.findall(bare))
    if len(rsids) > 1:
        return None
    rsid = rsids.pop() if rsids else None
    if rsid is not None:
        bare = _RSID.sub("", bare).strip()
    alleles = tuple(a.strip() for a in bare.split("/"))
    if not 1 <= len(alleles) <= 2 or not all(alleles):
        return None
    if any(not _ALLELE.match(a) or " " in a for a in alleles):
        return None
    if all(_NUCLEOTIDES.match(a) for a in alleles):
        return ParsedGenotype((tuple(a.upper() for a in alleles),), rsid)
    if rsid is not None:
        return None  # an rsID with star alleles is not a form any lab uses; never guessed at
    if len(alleles) == 2 and alleles[0].lower() == "n" and alleles[1].lower() == "a":
        return None  # "N/A" has a diplotype's shape but is no result
    return ParsedGenotype((alleles,))


def parse_gl_string(text: str, gene: str | None) -> ParsedGenotype | None:
    """A GL String (``HLA-B*15:02:01+HLA-B*44:02``): ``+`` joins the two copies, ``/`` lists
    ambiguous alleles, ``|`` ambiguous genotypes; ``^`` loci are narrowed to ``gene``."""
    body = _GL_PREFIX.sub("", text.strip())
    if "~" in body:
        return None  # phased haplotypes across loci: not a single-gene genotype
    loci = body.split("^")
    if gene is not None and len(loci) > 1:
        loci = [locus for locus in loci if locus.upper().startswith(gene.upper())]
    if len(loci) != 1:
        return None
    candidates: list[tuple[str, ...]] = []
    for genotype in loci[0].split("|"):
        copies = [copy.split("/") for copy in genotype.split("+")]
        if not 1 <= len(copies) <= 2 or any(not a.strip() for copy in copies for a in copy):
            return None
        candidates.extend(tuple(a.strip() for a in combo) for combo in itertools.product(*copies))
    # A "+" in prose or HGVS ("c.1905+1G>A (*2A)") is no GL String: every allele must look like one.
    if any(not _ALLELE.match(a) or " " in a for c in candidates for a in c):
        return None
    return ParsedGenotype(tuple(candidates)) if candidates else None


def hla_allele(text: str) -> str | None:
    """``"HLA-B*57:01:01"`` → ``"*57:01:01"``; old ``"B*5701"`` → ``"*57:01"``; else ``None``."""
    text = text.strip()
    old = _HLA_OLD.match(text)
    match = None if old else _HLA.match(text)
    # Without colons only one-field typing ("*57") is modern nomenclature.
    if match and (":" in match["fields"] or len(match["fields"]) == 2):
        return f"*{match['fields']}{match['suffix']}"
    if old:
        digits = old["digits"]
        fields = ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))
        return f"*{fields}{old['suffix']}"
    return None


def carrier_status(
    candidates: Sequence[Sequence[str]], alleles_of_interest: Sequence[str]
) -> tuple[frozenset[str], frozenset[str]] | None:
    """Alleles of interest carried in every reading, and absent from every two-copy reading.

    A reading with one copy rules nothing out: the other copy was not reported.
    ``None`` when an allele is not HLA nomenclature or is typed too coarsely to decide.
    """
    carried: set[str] | None = None
    absent: set[str] | None = None
    for candidate in candidates:
        named = [hla_allele(a) for a in candidate]
        if any(a is None for a in named):
            return None
        here = {
            wanted
            for wanted in alleles_of_interest
            for a in named
            if a is not None and _matches(a, wanted)
        }
        if any((a or "").count(":") == 0 for a in named) and len(here) < len(alleles_of_interest):
            return None  # one-field typing ("*57") cannot rule a two-field allele in or out
        not_here = set(alleles_of_interest) - here if len(named) == 2 else set()
        carried = here if carried is None else carried & here
        absent = not_here if absent is None else absent & not_here
    return frozenset(carried or ()), frozenset(absent or ())


def _matches(allele: str, wanted: str) -> bool:
    # Expression suffixes and G/P groups ("*57:01:01G") do not change which allele it is.
    core = re.sub(r"[A-Z]$", "", allele)
    return core == wanted or core.startswith(wanted + ":")


def name_alleles(
    alleles: Sequence[str], table: GeneTable, rsid: str | None
) -> tuple[tuple[str, ...] | None, str | None]:
    """The alleles in the gene table's own names, or ``(None, reason)`` when they cannot be named.

    - SNP genotypes (``C/T``) for genes whose table names one rsID's alleles (VKORC1, IFNL3):
      ``"rs9923231 reference (C)"`` …
    - PharmVar sub-alleles (``*7.001``) fall back to the core allele when the table lacks them.
    - A star name the table only has in parentheses (DPYD ``"c.1905+1G>A (*2A)"``) is used so.
    - A mitochondrial variant without its ``m.`` prefix gets it (MT-RNR1 ``1555A>G``).
    Anything else is passed on unchanged for the knowledge to judge.
    """
    if all(_NUCLEOTIDES.match(a) for a in alleles):
        return _name_snp(alleles, table, rsid)
    if table.lookup == "allele_status":
        named_hla = [hla_allele(a) for a in alleles]
        if any(a is None for a in named_hla):
            return None, "not HLA allele nomenclature"
        return tuple(a for a in named_hla if a is not None), None
    return tuple(_name_star(a, table) for a in alleles), None


def _name_snp(
    alleles: Sequence[str], table: GeneTable, rsid: str | None
) -> tuple[tuple[str, ...] | None, str | None]:
    by_base: dict[str, str] = {}
    rsids: set[str] = set()
    for name in table.alleles:
        match = _SNP_ALLELE.match(name)
        if match is None:
            return None, "a SNP genotype for a gene called by star alleles is not read"
        rsids.add(match["rsid"])
        by_base[match["base"]] = name
    if len(rsids) != 1 or (rsid is not None and rsid not in rsids):
        return None, f"SNP genotype is not for {', '.join(sorted(rsids)) or 'a known rsID'}"
    if any(a.upper() not in by_base for a in alleles):
        return None, f"{'/'.join(alleles)} are not alleles of {rsids.pop()}"
    return tuple(by_base[a.upper()] for a in alleles), None


def _name_star(allele: str, table: GeneTable) -> str:
    if allele in table.alleles:
        return allele
    sub = _SUBALLELE.match(allele)
    if sub and sub["core"] in table.alleles:
        return sub["core"]
    aliased = [name for name in table.alleles if name.endswith(f"({allele})")]
    if len(aliased) == 1:
        return aliased[0]
    # Mitochondrial variants written without their "m." prefix (PharmCAT's "1555A>G"), as
    # CPIC's MT-RNR1 table names them ("m.1555A>G").
    return f"m.{allele}" if f"m.{allele}" in table.alleles else allele
