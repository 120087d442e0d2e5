"""The knowledge file formats as pydantic models: the one definition of genes, drugs and guidelines."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Action",
    "Alternative",
    "Citation",
    "DataSource",
    "DiplotypeEntry",
    "DoseAdjustment",
    "Drug",
    "DrugTable",
    "GeneTable",
    "Guideline",
    "GuidelineTest",
    "Population",
    "Recommendation",
    "Strength",
    "TestExpectation",
]

Strength = Literal["strong", "moderate", "optional", "no recommendation"]

# What the recommendation asks of the prescriber; decides whether a card is shown and how loudly
# (docs/cards.md has the table). ``standard`` and ``no-recommendation`` never raise a card.
Action = Literal[
    "standard",
    "no-recommendation",
    "alternative",
    "dose-adjustment",
    "caution",
    "contraindicated",
]

Indicator = Literal["info", "warning", "critical"]


class _Strict(BaseModel):
    # Unknown keys are refused so that a misspelt field is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSource(_Strict):
    """Where generated content came from, so every statement traces back to CPIC/PharmVar data."""

    name: str
    file: str
    version: str
    repository: str | None = None
    commit: str | None = None
    license: str | None = None


class Citation(_Strict):
    pmid: str
    title: str
    year: int | None = None


class AlleleFunction(_Strict):
    function: str
    activity_value: str | None = None


class DiplotypeEntry(_Strict):
    phenotype: str
    activity_score: str | None = None
    # What guideline recommendations are keyed on; the phenotype unless the gene is keyed on score.
    lookup_key: str | None = None

    @property
    def key(self) -> str:
        return self.lookup_key or self.phenotype


class GeneTable(_Strict):
    """One gene: allele function and the diplotype → phenotype table, as CPIC publishes it."""

    gene: str = Field(pattern=r"^[A-Z0-9-]+$")
    hgnc_id: str | None = Field(default=None, pattern=r"^HGNC:\d+$")
    lookup: Literal["phenotype", "activity_score", "allele_status"]
    source: DataSource
    hgnc_source: str | None = None
    alleles: dict[str, AlleleFunction]
    diplotypes: dict[str, DiplotypeEntry]


class Drug(_Strict):
    """A drug as the knowledge base names it, with the codes an order may carry."""

    rxnorm: str = Field(pattern=r"^\d+$")
    atc: list[str] = Field(default_factory=list)
    pharmgkb: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    source: str


class DrugTable(_Strict):
    source: DataSource
    drugs: dict[str, Drug]


class Population(_Strict):
    """A clinical population a recommendation applies to, e.g. CYP2C19/clopidogrel's 'ACS and/or PCI'."""

    label: str
    description: str | None = None


class Alternative(_Strict):
    drug: str


class DoseAdjustment(_Strict):
    """A structured dose change: the new dose as a percentage of the standard starting dose."""

    percent_of_standard: int = Field(gt=0, le=200)
    quote: str


class Recommendation(_Strict):
    id: str
    drug: str
    population: str | None = None
    lookup_key: dict[str, str] = Field(min_length=1)
    strength: Strength
    action: Action
    indicator: Indicator | None = None
    implications: dict[str, str] = Field(default_factory=dict)
    recommendation: str
    considerations: str | None = None
    alternatives: list[Alternative] = Field(default_factory=list)
    dose_adjustment: DoseAdjustment | None = None

    @model_validator(mode="after")
    def _action_carries_its_details(self) -> Recommendation:
        if self.alternatives and self.action not in ("alternative", "contraindicated"):
            raise ValueError(
                f"alternatives are given but action is {self.action!r}; "
                "use action 'alternative' (or 'contraindicated'), or remove the alternatives"
            )
        if self.dose_adjustment is not None and self.action != "dose-adjustment":
            raise ValueError(
                f"dose_adjustment is given but action is {self.action!r}; "
                "use action 'dose-adjustment', or remove dose_adjustment"
            )
        return self


class TestExpectation(_Strict):
    cards: int | None = Field(default=None, ge=0)
    indicator: Indicator | None = None
    suggests: list[str] | None = None


class GuidelineTest(_Strict):
    """A case a guideline carries about itself, run by pytest and by ``pgx-cds knowledge check``."""

    name: str
    given: dict[str, str]
    drug: str
    expect: TestExpectation
    todo: str | None = None


class Guideline(_Strict):
    """One published guideline: its drugs, genes, recommendations and the cases that test it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    source: Literal["CPIC", "DPWG"]
    status: Literal["active", "draft", "retired"]
    url: str
    annotation_url: str | None = None
    version: str
    data_version: str
    data: DataSource
    citations: list[Citation] = Field(default_factory=list)
    genes: list[str] = Field(min_length=1)
    drugs: list[str] = Field(min_length=1)
    populations: dict[str, Population] = Field(default_factory=dict)
    recommendations: list[Recommendation]
    tests: list[GuidelineTest] = Field(default_factory=list)
