"""PharmCAT's outside-call file: calls made by other tools (CYP2D6, HLA, MT-RNR1).

Tab-separated, ``#`` comments; per line: gene, diplotype or single allele, phenotype, activity
score (``pharmcat/docs/Outside-Call-Format.md``). Gene prefixes (``CYP2D6*1``) are stripped, HLA
alleles cut to two fields and CYP2D6 sub-alleles (``*4.024``) to their star allele.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fhir_adapters.vcf.errors import VcfInputError

__all__ = ["OutsideCall", "read_outside_calls"]

_SUBALLELE = re.compile(r"^(\*\d+)\.\d+$")
_HLA_FIELDS = re.compile(r"^(\*\d+:\d+)(?::\d+)*[A-Z]?$")


@dataclass(frozen=True, slots=True)
class OutsideCall:
    gene: str
    diplotype: str | None
    phenotype: str | None
    activity_score: str | None
    line: int


def _allele(gene: str, text: str) -> str:
    allele = text.strip()
    for prefix in (f"{gene}*", f"{gene} *"):
        if allele.startswith(prefix):
            allele = "*" + allele[len(prefix) :]
    if gene.startswith("HLA-"):
        match = _HLA_FIELDS.match(allele)
        return match[1] if match else allele
    match = _SUBALLELE.match(allele)
    return match[1] if match else allele


def _diplotype(gene: str, text: str) -> str:
    return "/".join(_allele(gene, part) for part in text.split("/"))


def read_outside_calls(path: Path, known_genes: set[str]) -> list[OutsideCall]:
    """Every call in the file; a located error for an unknown gene, an empty or repeated line."""
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VcfInputError(
            source, f"cannot read the outside-call file ({exc})", "Give a UTF-8 tab-separated file"
        ) from exc
    calls: list[OutsideCall] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in raw.split("\t")]
        fields += [""] * (4 - len(fields))
        gene, diplotype, phenotype, score = fields[:4]
        if gene not in known_genes:
            raise VcfInputError(
                source,
                f"unknown gene {gene!r}",
                "The first column must be an HGNC symbol the knowledge base has, e.g. CYP2D6; "
                "columns are separated by tabs",
                line=number,
            )
        if not (diplotype or phenotype or score):
            raise VcfInputError(
                source,
                f"{gene} has no call",
                "Give a diplotype, a phenotype or an activity score (tab-separated columns 2-4)",
                line=number,
            )
        if gene in seen:
            raise VcfInputError(
                source,
                f"{gene} is called twice (first on line {seen[gene]})",
                "Keep one call per gene",
                line=number,
            )
        seen[gene] = number
        calls.append(
            OutsideCall(
                gene=gene,
                diplotype=_diplotype(gene, diplotype) if diplotype else None,
                phenotype=phenotype or None,
                activity_score=score or None,
                line=number,
            )
        )
    return calls
