"""The oncology knowledge formats: tumour types, biomarker definitions and targeted-drug rules.

Files under ``knowledge/oncology/``: ``tumour_types.yaml`` (what a diagnosis code means),
``markers/<group>.yaml`` (what counts as an alteration, e.g. "EGFR exon 19 deletion"), and
``drugs/<drug>.yaml`` (one targeted drug: its label indications, the biomarkers each requires,
the ones that make it useless, sources and test cases). docs/oncology.md describes them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from knowledge.schema import Indicator
from knowledge.tumour import ChangeType, Origin, Significance

__all__ = [
    "BiomarkerCase",
    "BiomarkerExpectation",
    "BiomarkerMatch",
    "CaseBiomarker",
    "CaseFinding",
    "CopyNumberMatch",
    "FusionMatch",
    "Indication",
    "LabelSource",
    "Limitation",
    "Marker",
    "MarkerFile",
    "Outcome",
    "Requirement",
    "Resistance",
    "TargetedDrug",
    "TumourType",
    "TumourTypeTable",
    "VariantMatch",
    "Wanted",
]

# What a biomarker check concludes for one order (docs/oncology.md has the card for each).
Outcome = Literal["none", "documented", "test-required", "not-indicated", "resistance", "uncertain"]
# Which results count for a requirement: tumour (somatic) results, germline ones, or either.
# ``somatic`` also accepts a result whose origin the lab did not state (tumour sequencing).
Wanted = Literal["somatic", "germline", "any"]

_MARKER_ID = r"^[a-z0-9][a-z0-9-]*$"
_CIVIC_ID = re.compile(r"^(EID|AID)\d+$")
# ICD-10-CM codes are letter, digit, digit-or-letter, then up to four after the dot (C7A, C49.A0).
_ICD10 = re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?(-[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?)?$")


class _Strict(BaseModel):
    # Unknown keys are refused so that a misspelt field is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- tumour types ---


class TumourType(_Strict):
    """A tumour type as indications name it, and the diagnosis codes that mean it.

    ``icd10``: ICD-10-CM codes or categories, a category covering its subcodes (``C34`` covers
    ``C34.91``), or a range of categories (``C00-C75``). ``snomed``: SNOMED CT concept ids matched
    exactly (no terminology server: descendants must be listed).
    """

    label: str
    icd10: list[str] = Field(default_factory=list)
    snomed: list[str] = Field(default_factory=list)
    # Another tumour type this one is part of: a patient with NSCLC also has a solid tumour.
    part_of: list[str] = Field(default_factory=list)
    source: str
    note: str | None = None
    # What a card says about what the codes cannot tell (C34 is not NSCLC alone).
    caveat: str | None = None

    @field_validator("icd10")
    @classmethod
    def _icd10_codes(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not _ICD10.match(code)]
        if bad:
            raise ValueError(
                f"{', '.join(bad)} is not an ICD-10 code, category or range; "
                "write e.g. C34, C34.9 or C00-C75"
            )
        return value


class TumourTypeTable(_Strict):
    notes: list[str] = Field(default_factory=list)
    tumour_types: dict[str, TumourType]


# --- markers ---


class VariantMatch(_Strict):
    """Which sequence variants of the marker's genes count.

    Every criterion given must hold; ``protein`` alone names exact changes (one-letter or
    three-letter HGVS, ``L858R`` = ``p.Leu858Arg``).
    """

    protein: list[str] = Field(default_factory=list)
    # A change at one of these residues (RAS codons 12, 13, 59, 61, 117, 146).
    codons: list[int] = Field(default_factory=list)
    # A change lying wholly within [first, last] (exon-level: EGFR exon 19 is residues 729-761).
    codon_range: tuple[int, int] | None = None
    change_types: list[ChangeType] = Field(default_factory=list)
    # The lab must class it pathogenic or likely pathogenic ("deleterious or suspected
    # deleterious"); any variant of the gene counts otherwise.
    pathogenic: bool = False

    @model_validator(mode="after")
    def _range_is_ordered(self) -> VariantMatch:
        if self.codon_range is not None and self.codon_range[0] > self.codon_range[1]:
            raise ValueError("codon_range is [first, last]; the first is after the last")
        return self


class FusionMatch(_Strict):
    """A fusion of the marker's gene, with one of ``partners`` (any partner when empty)."""

    partners: list[str] = Field(default_factory=list)
    # ISCN translocations that mean this fusion, matched as written: ``t(9;22)``.
    iscn: list[str] = Field(default_factory=list)


class CopyNumberMatch(_Strict):
    change: Literal["amplification", "gain", "loss"]
    # Copies at or above which a gain counts as the marker when the lab gives only a number.
    min_copies: float | None = Field(default=None, gt=0)


class BiomarkerMatch(_Strict):
    """A molecular biomarker result (TMB, MSI, PD-L1, HER2 …) read by its answer or value.

    ``positive``/``negative``: coded answers (``http://loinc.org|LA26203-2``) or answer texts
    (lower case, ``msi-h``). ``at_least``: a value at or above it is positive, below negative.
    A result matching neither is uncertain, and the card says so.
    """

    kind: str = Field(pattern=r"^[a-z0-9-]+$")
    positive: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)
    at_least: float | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _says_what_is_positive(self) -> BiomarkerMatch:
        if not self.positive and self.at_least is None:
            raise ValueError("give the positive answers, at_least, or both")
        return self


class Marker(_Strict):
    """One biomarker as labels name it; any of its ways (variant, fusion …) makes it present."""

    label: str
    genes: list[str] = Field(default_factory=list)
    variant: VariantMatch | None = None
    fusion: FusionMatch | None = None
    copy_number: CopyNumberMatch | None = None
    biomarker: BiomarkerMatch | None = None
    # Where the definition comes from (the label's words for the exon, the codons …).
    source: str
    url: str | None = None
    quote: str | None = None

    @model_validator(mode="after")
    def _says_how(self) -> Marker:
        if not (self.variant or self.fusion or self.copy_number or self.biomarker):
            raise ValueError("give variant, fusion, copy_number or biomarker")
        if (self.variant or self.fusion or self.copy_number) and not self.genes:
            raise ValueError("a variant, fusion or copy-number marker needs its genes")
        return self


class MarkerFile(_Strict):
    notes: list[str] = Field(default_factory=list)
    # Gene symbol -> HGNC id ("EGFR": "HGNC:3236"), so a result coded only by id is read;
    # say where each was read in ``notes``.
    hgnc_ids: dict[str, str] = Field(default_factory=dict)
    markers: dict[str, Marker]

    @field_validator("hgnc_ids")
    @classmethod
    def _hgnc(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [v for v in value.values() if not re.match(r"^HGNC:\d+$", v)]
        if bad:
            raise ValueError(f"{bad} are not HGNC ids; write HGNC:3236")
        return value

    @field_validator("markers")
    @classmethod
    def _ids(cls, value: dict[str, Marker]) -> dict[str, Marker]:
        bad = [k for k in value if not re.match(_MARKER_ID, k)]
        if bad:
            raise ValueError(f"marker ids {bad} must be lower-case words joined by '-'")
        return value


# --- targeted drugs ---


class LabelSource(_Strict):
    """The US prescribing information a drug's rules come from."""

    title: str
    url: str
    # When the label was revised, as it prints it: "2024-09".
    revised: str = Field(pattern=r"^\d{4}-\d{2}$")
    # Where the label text was read when not from the label itself.
    read_from: str | None = None


class Requirement(_Strict):
    """The biomarkers an indication requires: any one of ``any_of`` present.

    ``wild_type``: the indication requires the markers' absence instead (RAS wild-type for the
    anti-EGFR antibodies): met when every one was tested and not found, not indicated when one
    is present, and a test is required while any is not on file.
    """

    any_of: list[str] = Field(min_length=1)
    wild_type: bool = False
    origin: Wanted = "somatic"
    # What to order, as the card and the ServiceRequest say it: "EGFR mutation test".
    test: str
    quote: str


class Resistance(_Strict):
    """A marker that makes the drug useless (or harmful) for the indication."""

    any_of: list[str] = Field(min_length=1)
    origin: Wanted = "somatic"
    # What the card says, one sentence: "Cetuximab is not indicated for RAS-mutant mCRC."
    says: str
    quote: str
    alternatives: list[str] = Field(default_factory=list)
    # The source of the alternatives or of the statement when it is not the label.
    source: str | None = None


class Limitation(_Strict):
    """A tumour type the label says the drug is not for (a "limitation of use")."""

    tumour: list[str] = Field(min_length=1)
    # What the card says, one sentence: "Dabrafenib is not indicated for colorectal cancer."
    says: str
    quote: str


class Indication(_Strict):
    """One labelled indication: where the drug is used and what the tumour must (not) carry.

    An indication with no ``requires`` is used without a biomarker: where it may apply, no
    test-required or not-indicated card is raised (the prescriber may be using it).
    """

    id: str = Field(pattern=_MARKER_ID)
    tumour: list[str] = Field(min_length=1)
    # As the card says it: "metastatic NSCLC with EGFR exon 19 deletion or exon 21 L858R".
    text: str
    quote: str
    requires: Requirement | None = None
    resistance: list[Resistance] = Field(default_factory=list)
    civic: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @field_validator("civic")
    @classmethod
    def _civic_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _CIVIC_ID.match(v)]
        if bad:
            raise ValueError(f"{bad} are not CIViC ids; write EID1234 or AID7")
        return value


class CaseFinding(_Strict):
    """An alteration in a test case, in the terms a lab reports it."""

    gene: str
    # p. HGVS or one-letter: "p.Leu858Arg", "L858R", "p.Glu746_Ala750del".
    protein: str | None = None
    fusion: bool = False
    partner: str | None = None
    copy_change: Literal["amplification", "gain", "loss"] | None = None
    copies: float | None = None
    iscn: str | None = None
    origin: Origin = "somatic"
    significance: Significance | None = None
    present: bool = True


class CaseBiomarker(_Strict):
    kind: str
    value: float | None = None
    # An answer code (system|code) or text, as the lab gives it.
    answer: str | None = None


class BiomarkerExpectation(_Strict):
    outcome: Outcome
    indicator: Indicator | None = None
    suggests: list[str] | None = None


class BiomarkerCase(_Strict):
    """A case a drug's rules carry about themselves, run by pytest and ``pgx-cds knowledge check``."""

    name: str
    # The tumour type the order is for; None: not known to the service.
    tumour: str | None = None
    findings: list[CaseFinding] = Field(default_factory=list)
    biomarkers: list[CaseBiomarker] = Field(default_factory=list)
    # Genes the lab tested with nothing reported: a marker in them is negative.
    tested: list[str] = Field(default_factory=list)
    expect: BiomarkerExpectation
    todo: str | None = None


class TargetedDrug(_Strict):
    """One targeted drug: its labelled indications with their biomarkers, and its test cases."""

    drug: str = Field(pattern=r"^[a-z][a-z0-9 -]*$")
    # For drugs not in drugs.yaml: the RxNorm ingredient code an order may carry.
    rxnorm: str | None = Field(default=None, pattern=r"^\d+$")
    # Where the RxNorm code was read (an RxNav page, a public RxNorm extract …).
    rxnorm_source: str | None = None
    # Brand names an order's text may carry.
    synonyms: list[str] = Field(default_factory=list)
    status: Literal["active", "draft", "retired"] = "active"
    label: LabelSource
    notes: list[str] = Field(default_factory=list)
    indications: list[Indication] = Field(min_length=1)
    # Tumour types the label excludes: an order known to be for one is not indicated.
    limitations: list[Limitation] = Field(default_factory=list)
    tests: list[BiomarkerCase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rxnorm_is_sourced(self) -> TargetedDrug:
        if self.rxnorm is not None and not self.rxnorm_source:
            raise ValueError("rxnorm is given without rxnorm_source; say where the code was read")
        return self
