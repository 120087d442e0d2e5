"""A patient's pharmacogenomic result for one gene, as read from FHIR or typed by a user."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GeneResult"]


@dataclass(frozen=True, slots=True)
class GeneResult:
    """What a lab reported for one gene; the phenotype is recomputed from ``diplotype`` when known.

    ``carriers`` / ``non_carriers`` hold alleles of interest (``"*57:01"``) whose presence or
    absence a lab reported without a full diplotype: an HLA-B*15:02 [Presence] test, a genotype
    naming one allele, an ambiguous GL string all of whose readings agree. The other copy is never
    assumed, so an allele in neither set is simply not known.
    """

    gene: str
    diplotype: str | None = None
    reported_phenotype: str | None = None
    # e.g. "Observation/Pgx-geno-1001": lets a card say which result it used.
    source: str | None = None
    effective: str | None = None
    carriers: frozenset[str] = frozenset()
    non_carriers: frozenset[str] = frozenset()
    # FHIR Observation.status of the result used ("final", "amended" …), when read from FHIR.
    status: str | None = None
    # What the result was read from: "genotype", "haplotypes", "implication", "presence" …
    source_kind: str | None = None
