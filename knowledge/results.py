"""A patient's pharmacogenomic result for one gene, as read from FHIR or typed by a user."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GeneResult"]


@dataclass(frozen=True, slots=True)
class GeneResult:
    """What a lab reported for one gene; the phenotype is recomputed from ``diplotype`` when known."""

    gene: str
    diplotype: str | None = None
    reported_phenotype: str | None = None
    # e.g. "Observation/Pgx-geno-1001": lets a card say which result it used.
    source: str | None = None
    effective: str | None = None
