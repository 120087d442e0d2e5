"""A patient's tumour (and germline cancer-gene) results: variants, fusions, copy number, biomarkers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BiomarkerResult",
    "ChangeType",
    "Finding",
    "FindingKind",
    "LabImplication",
    "Origin",
    "ProteinChange",
    "Significance",
    "TumourProfile",
]

# Where an alteration arose (LOINC 48002-0: LA6684-0 somatic, LA6683-2 germline).
Origin = Literal["somatic", "germline", "unknown"]
FindingKind = Literal["variant", "fusion", "copy-number", "rearrangement"]
# The kind of protein change an HGVS p. expression describes.
ChangeType = Literal[
    "missense",
    "nonsense",
    "synonymous",
    "deletion",
    "insertion",
    "delins",
    "duplication",
    "frameshift",
    "extension",
    "other",
]
# The lab's classification (LOINC 53037-8), pathogenic and likely pathogenic kept apart.
Significance = Literal["pathogenic", "likely-pathogenic", "uncertain", "likely-benign", "benign"]


@dataclass(frozen=True, slots=True)
class ProteinChange:
    """One protein change in one-letter HGVS form: ``L858R``, ``E746_A750del``, ``G12C``.

    ``start``/``end`` are the first and last residues touched (equal for a substitution);
    ``ref`` is the one-letter residue at ``start``; ``alt`` the one-letter replacement of a
    missense change (``None`` otherwise).
    """

    text: str
    start: int
    end: int
    ref: str
    kind: ChangeType
    alt: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One alteration a lab reported (LOINC 69548-6 variant Observation), present or absent.

    ``label`` names it the way a card shows it (``EGFR L858R``, ``ALK fusion``). An absent
    result (LA9634-2) says the alteration was looked for and not found.
    """

    gene: str | None
    kind: FindingKind
    label: str
    present: bool = True
    origin: Origin = "unknown"
    protein: ProteinChange | None = None
    protein_hgvs: str | None = None
    coding_hgvs: str | None = None
    # Fusions: every gene named as a partner (BCR and ABL1 for BCR-ABL1); includes ``gene``.
    partners: frozenset[str] = frozenset()
    # Copy number: the copies reported, and gain/amplification/loss when the lab says so.
    copy_number: float | None = None
    copy_change: Literal["gain", "amplification", "loss"] | None = None
    iscn: str | None = None
    allele_frequency: float | None = None
    significance: Significance | None = None
    source: str | None = None
    effective: str | None = None
    # g.HGVS (LOINC 81290-9), for a variant a lab describes only on the genome.
    genomic_hgvs: str | None = None


@dataclass(frozen=True, slots=True)
class BiomarkerResult:
    """A non-variant molecular biomarker (TMB, MSI, PD-L1, HER2 …) as a lab reported it.

    ``answers`` holds the coded answers as ``system|code`` tokens and the answer texts in lower
    case (``http://loinc.org|LA26203-2``, ``msi-h``), so that knowledge can say which mean
    positive without this type knowing every lab's words.
    """

    kind: str
    text: str
    value: float | None = None
    unit: str | None = None
    answers: frozenset[str] = frozenset()
    gene: str | None = None
    code: str | None = None
    source: str | None = None
    effective: str | None = None


@dataclass(frozen=True, slots=True)
class LabImplication:
    """A lab's own therapeutic-implication statement (Responsive, Resistant …) about a drug."""

    implication: str
    drug: str | None = None
    drug_text: str | None = None
    evidence: str | None = None
    disease: str | None = None
    conclusion: str | None = None
    derived_from: tuple[str, ...] = ()
    source: str | None = None


@dataclass(frozen=True, slots=True)
class TumourProfile:
    """Everything read about the patient's tumour, plus germline findings in cancer genes.

    ``tested_genes`` are genes a lab says it looked at without a finding to show it (a
    region-studied listing, an absent result naming only the gene); the findings themselves
    show what else was tested, by their kind and origin (knowledge.marker_call). ``tumour_codes``
    are the disease codings (``system|code``) the lab results name (LOINC 81259-4), one way the
    tumour type becomes known.
    """

    findings: tuple[Finding, ...] = ()
    biomarkers: tuple[BiomarkerResult, ...] = ()
    implications: tuple[LabImplication, ...] = ()
    tested_genes: frozenset[str] = frozenset()
    tumour_codes: frozenset[str] = frozenset()
    # (source, reason) for each resource that looked like a tumour result but could not be read.
    unreadable: tuple[tuple[str | None, str], ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.findings or self.biomarkers or self.tested_genes)
