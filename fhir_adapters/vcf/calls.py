"""What ``vcf2fhir`` found for one sample: per gene, the diplotypes, phenotypes and their caveats.

This is the hand-off between calling (``pipeline.py``) and its outputs (the FHIR Bundle and the
HTML report): both read only these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CallSource", "SampleCalls", "SampleGeneCall", "VariantGenotype"]

CallSource = Literal["vcf", "outside call"]


@dataclass(frozen=True, slots=True)
class SampleGeneCall:
    """One gene's call. Several ``diplotypes`` = equally likely readings, all reported.

    ``phenotypes`` and ``activity_scores`` line up with ``diplotypes``; a phenotype is ``None``
    where CPIC's tables cannot translate the diplotype. ``phenotype`` is set only when every
    reading agrees, since only then can a prescriber act on it without a confirmatory test.
    """

    gene: str
    hgnc_id: str | None
    source: CallSource
    diplotypes: tuple[str, ...] = ()
    phenotypes: tuple[str | None, ...] = ()
    activity_scores: tuple[str | None, ...] = ()
    phased: bool = False
    # Defining positions absent from the VCF (rsID or chr:pos), and the named alleles that could
    # therefore not be called at all.
    missing_positions: tuple[str, ...] = ()
    uncallable_alleles: tuple[str, ...] = ()
    positions_read: int = 0
    # DPYD and RYR1 on unphased data: each variant found (twice when homozygous); the phenotype
    # then comes from the two lowest-function ones, named in ``phenotype_basis``.
    variants: tuple[str, ...] = ()
    phenotype_basis: str | None = None
    notes: tuple[str, ...] = ()
    definition_version: str | None = None

    @property
    def called(self) -> bool:
        """A result exists: diplotypes, variants, or an outside call's phenotype or score alone."""
        return (
            bool(self.diplotypes)
            or bool(self.variants)
            or any(p is not None for p in self.phenotypes)
            or any(s is not None for s in self.activity_scores)
        )

    @property
    def diplotype(self) -> str | None:
        """The diplotype to act on: the only one, or ``None`` when ambiguous or not called."""
        return self.diplotypes[0] if len(self.diplotypes) == 1 else None

    @property
    def phenotype(self) -> str | None:
        """The phenotype every reading agrees on, else ``None``."""
        known = set(self.phenotypes)
        if len(known) == 1 and None not in known:
            return next(iter(known))
        return None

    @property
    def activity_score(self) -> str | None:
        known = set(self.activity_scores)
        return next(iter(known)) if len(known) == 1 else None


@dataclass(frozen=True, slots=True)
class VariantGenotype:
    """A genotype read at a single position outside any star-allele definition (rs12777823)."""

    rsid: str
    gene: str
    chromosome: str
    position: int
    ref: str
    alleles: tuple[str, ...]

    @property
    def genotype(self) -> str:
        """``"G/A"``: the two alleles as VCF bases, reference first."""
        return "/".join(sorted(self.alleles, key=lambda a: (a != self.ref, a)))


@dataclass(frozen=True, slots=True)
class SampleCalls:
    """Every gene's call for one sample of one VCF, with what the calls rest on."""

    sample: str
    input_name: str
    # SHA-256 of the input file: with the sample it makes the stable identifier of the results,
    # so posting the same VCF twice creates nothing new.
    input_sha256: str
    genes: tuple[SampleGeneCall, ...]
    variants: tuple[VariantGenotype, ...] = ()
    definitions_version: str = ""
    warnings: tuple[str, ...] = field(default=())

    def gene(self, symbol: str) -> SampleGeneCall | None:
        return next((call for call in self.genes if call.gene == symbol), None)
