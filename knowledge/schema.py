"""The knowledge file formats as pydantic models: the one definition of genes, drugs and guidelines."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = [
    "DOSE_CALCULATIONS",
    "Action",
    "AlgorithmDrug",
    "AlgorithmSource",
    "Alternative",
    "CasePatient",
    "Citation",
    "DataSource",
    "DiplotypeEntry",
    "DoseAdjustment",
    "DoseAlgorithm",
    "Drug",
    "DrugInput",
    "DrugTable",
    "ExampleInputs",
    "GeneTable",
    "Guideline",
    "GuidelineTest",
    "Inhibitor",
    "InhibitorTable",
    "IwpcCyp2c9",
    "IwpcRace",
    "IwpcVkorc1",
    "LocusCondition",
    "PatientCondition",
    "PerUnit",
    "Phenoconversion",
    "Population",
    "PretestRequirement",
    "PretestTable",
    "PrimarySource",
    "Recommendation",
    "Strength",
    "TestExpectation",
    "Variant",
    "WorkedExample",
]

# CPIC grades its recommendations; DPWG recommendations carry no CPIC-style grade ("not graded").
Strength = Literal["strong", "moderate", "optional", "no recommendation", "not graded"]

# What the recommendation asks of the prescriber; decides whether a card is shown and how loudly
# (docs/cards.md has the table). ``standard`` and ``no-recommendation`` never raise a card.
Action = Literal[
    "standard",
    "no-recommendation",
    "alternative",
    "dose-adjustment",
    "caution",
    "contraindicated",
    # Warfarin: compute the dose with a validated pharmacogenetic algorithm (CPIC's flowchart).
    "dose-calculation",
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
    """One gene: allele function and how a diplotype becomes the key recommendations are looked up by.

    ``lookup`` says how: ``phenotype`` genes read the published diplotype table; ``activity_score``
    genes add the two alleles' activity values (CPIC's method) and map the score to a phenotype,
    with ``diplotypes`` holding only the table rows the sum does not reproduce; ``allele_status``
    genes (HLA) report each allele of interest as positive or negative. ``phenotype`` genes may
    state CPIC's rule from the two allele functions (``function_phenotypes``) instead of listing
    every pair.
    """

    gene: str = Field(pattern=r"^[A-Z0-9-]+$")
    hgnc_id: str | None = Field(default=None, pattern=r"^HGNC:\d+$")
    lookup: Literal["phenotype", "activity_score", "allele_status"]
    source: DataSource
    hgnc_source: str | None = None
    alleles: dict[str, AlleleFunction] = Field(default_factory=dict)
    diplotypes: dict[str, DiplotypeEntry] = Field(default_factory=dict)
    activity_score_phenotypes: dict[str, str] = Field(default_factory=dict)
    # CPIC assigns phenotypes from the pair of allele functions ("No function + Normal function");
    # ``diplotypes`` then keeps only the table rows this rule does not give.
    function_phenotypes: dict[str, DiplotypeEntry] = Field(default_factory=dict)
    alleles_of_interest: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lookup_has_its_data(self) -> GeneTable:
        if self.lookup == "activity_score" and not self.activity_score_phenotypes:
            raise ValueError(
                "lookup is 'activity_score' but activity_score_phenotypes is empty; "
                "map each activity score to its phenotype"
            )
        if self.lookup == "allele_status" and not self.alleles_of_interest:
            raise ValueError(
                "lookup is 'allele_status' but alleles_of_interest is empty; "
                "list the alleles reported as positive or negative, e.g. '*57:01'"
            )
        return self


class Drug(_Strict):
    """A drug as the knowledge base names it, with the codes an order may carry."""

    # None only where no source available to us gives one; such a drug is matched by name.
    rxnorm: str | None = Field(default=None, pattern=r"^\d+$")
    atc: list[str] = Field(default_factory=list)
    pharmgkb: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    source: str


class DrugTable(_Strict):
    source: DataSource
    drugs: dict[str, Drug]


# OMB race categories (US Core race extension, urn:oid:2.16.840.1.113883.6.238), the only
# structured ancestry EHRs send; the guideline decides what each means for its rows.
Ancestry = Literal[
    "american-indian-or-alaska-native",
    "asian",
    "black-or-african-american",
    "native-hawaiian-or-other-pacific-islander",
    "white",
]


class PatientCondition(_Strict):
    """Who a row or population applies to, by factors read from the patient's record.

    Every bound given must hold. A factor the record does not state is never assumed: a row that
    needs it is shown with the factor named as missing (docs/patient-factors.md).
    """

    age_below: float | None = Field(default=None, gt=0, description="years")
    age_at_least: float | None = Field(default=None, ge=0, description="years")
    sex: Literal["female", "male"] | None = None
    pregnant: bool | None = None
    weight_below: float | None = Field(default=None, gt=0, description="kg")
    weight_at_least: float | None = Field(default=None, gt=0, description="kg")
    egfr_below: float | None = Field(default=None, gt=0, description="mL/min/1.73 m2")
    egfr_at_least: float | None = Field(default=None, ge=0, description="mL/min/1.73 m2")
    # Self-reported ancestry, any of these (or none of ``not_ancestry``).
    ancestry: list[Ancestry] = Field(default_factory=list)
    not_ancestry: list[Ancestry] = Field(default_factory=list)
    # Where the bound comes from, quoted (e.g. the guideline's own definition of "children").
    source: str

    @model_validator(mode="after")
    def _says_something(self) -> PatientCondition:
        bounds = self.model_dump(exclude={"source"}, exclude_defaults=True)
        if not bounds:
            raise ValueError(
                "the patient condition is empty; give age_below, age_at_least, sex, pregnant, "
                "weight_below, weight_at_least, egfr_below, egfr_at_least, ancestry or not_ancestry"
            )
        for low, high in (
            ("age_at_least", "age_below"),
            ("weight_at_least", "weight_below"),
            ("egfr_at_least", "egfr_below"),
        ):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo >= hi:
                raise ValueError(f"{low} ({lo}) is not below {high} ({hi}); no patient fits")
        return self


class Population(_Strict):
    """A clinical population a recommendation applies to, e.g. CYP2C19/clopidogrel's 'ACS and/or PCI'."""

    label: str
    description: str | None = None
    # When the record can tell whether the patient belongs here (adults, children, ancestry).
    applies_to: PatientCondition | None = None


class Alternative(_Strict):
    drug: str
    # The guideline's words limiting the swap, e.g. an indication ("Indication DEPRESSION"),
    # quoted from the recommendation: the suggestion's label names them.
    applies_to: str | None = None


class DoseAdjustment(_Strict):
    """A structured dose change: the new dose as a percentage (or range) of a reference dose.

    ``quote`` is the guideline's own words the numbers come from; the generator refuses a quote
    the recommendation text does not contain.
    """

    percent_of_standard: int = Field(gt=0, le=400)
    percent_of_standard_max: int | None = Field(default=None, gt=0, le=400)
    basis: str = "standard starting dose"
    quote: str
    # The guideline's words limiting the change, e.g. an indication, quoted from the
    # recommendation: the suggestion's label names them (DPWG splits some advice by indication).
    applies_to: str | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> DoseAdjustment:
        high = self.percent_of_standard_max
        if high is not None and high < self.percent_of_standard:
            raise ValueError("percent_of_standard_max is below percent_of_standard; swap them")
        return self


# Dose calculations a recommendation may point to, by id, with what they compute.
DOSE_CALCULATIONS = {
    "warfarin-pharmacogenetic": (
        "warfarin maintenance dose from a validated published pharmacogenetic algorithm "
        "(CYP2C9, VKORC1 and clinical factors)"
    ),
}


class LocusCondition(_Strict):
    """What must hold for one gene (or single variant) for a flowchart rule to apply.

    Flowchart guidelines (warfarin) branch on whether a gene was tested and which alleles it
    carries rather than on one phenotype per gene; every condition given must hold.
    """

    # True: a readable result is on file; False: none is (not tested, or unreadable).
    tested: bool | None = None
    # At least one of these alleles is in the diplotype (or genotype, for a variant).
    carries: list[str] = Field(default_factory=list)
    # A readable result carrying none of these alleles.
    carries_none_of: list[str] = Field(default_factory=list)
    # The phenotype (or lookup key) is one of these.
    phenotype: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _says_something(self) -> LocusCondition:
        if self.tested is None and not (self.carries or self.carries_none_of or self.phenotype):
            raise ValueError(
                "the condition is empty; give tested, carries, carries_none_of or phenotype"
            )
        return self


class Variant(_Strict):
    """A single variant a guideline names by its rsID (warfarin's rs12777823), read as a genotype."""

    gene: str | None = None  # the gene it sits near or is reported with, for readers
    chromosome: str
    position: int = Field(gt=0)
    ref: str = Field(pattern=r"^[ACGT]+$")
    alt: list[str] = Field(min_length=1)
    assembly: str = "GRCh38"
    source: str


class Recommendation(_Strict):
    """One row of a guideline: which patients it applies to, and what it advises.

    Table guidelines select rows by ``lookup_key`` (one key per gene); flowchart guidelines by
    ``when`` (conditions per gene or variant). A row has one or the other.
    """

    id: str
    drug: str
    population: str | None = None
    lookup_key: dict[str, str] = Field(default_factory=dict)
    when: dict[str, LocusCondition] = Field(default_factory=dict)
    strength: Strength
    action: Action
    indicator: Indicator | None = None
    implications: dict[str, str] = Field(default_factory=dict)
    recommendation: str
    considerations: str | None = None
    alternatives: list[Alternative] = Field(default_factory=list)
    dose_adjustment: DoseAdjustment | None = None
    # The dose calculation the row points to (see DOSE_CALCULATIONS), for action dose-calculation.
    dose_calculation: str | None = None
    # Patient factors the row needs besides the genotype (or instead of it, for a label rule).
    patient: PatientCondition | None = None

    @model_validator(mode="after")
    def _action_carries_its_details(self) -> Recommendation:
        if self.lookup_key and self.when:
            raise ValueError(
                "give one of lookup_key (table rows) or when (flowchart rules), not both"
            )
        if not (self.lookup_key or self.when or self.patient):
            raise ValueError(
                "the row selects no patient; give lookup_key (table rows), when (flowchart "
                "rules) or patient (a rule on patient factors alone)"
            )
        if self.dose_calculation is not None and self.dose_calculation not in DOSE_CALCULATIONS:
            raise ValueError(
                f"dose_calculation {self.dose_calculation!r} is unknown; "
                f"use one of: {', '.join(sorted(DOSE_CALCULATIONS))}"
            )
        if self.alternatives and self.action not in ("alternative", "contraindicated"):
            raise ValueError(
                f"alternatives are given but action is {self.action!r}; "
                "use action 'alternative' (or 'contraindicated'), or remove the alternatives"
            )
        if self.dose_adjustment is not None and self.action not in (
            "dose-adjustment",
            "alternative",
        ):
            raise ValueError(
                f"dose_adjustment is given but action is {self.action!r}; "
                "use action 'dose-adjustment' (or 'alternative'), or remove dose_adjustment"
            )
        return self


class TestExpectation(_Strict):
    cards: int | None = Field(default=None, ge=0)
    indicator: Indicator | None = None
    suggests: list[str] | None = None


class CasePatient(_Strict):
    """The patient of a guideline test case, for rows that depend on patient factors."""

    age_years: float | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    pregnant: bool | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    egfr: float | None = None
    ancestry: list[Ancestry] | None = None


class GuidelineTest(_Strict):
    """A case a guideline carries about itself, run by pytest and by ``pgx-cds knowledge check``."""

    name: str
    given: dict[str, str]
    drug: str
    # Patient factors, and other drugs the patient takes (inhibitors convert the phenotype).
    patient: CasePatient | None = None
    taking: list[str] = Field(default_factory=list)
    expect: TestExpectation
    todo: str | None = None


class Guideline(_Strict):
    """One published guideline: its drugs, genes, recommendations and the cases that test it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    # FDA: a drug label (or FDA safety communication) rule, e.g. codeine in children under 12.
    source: Literal["CPIC", "DPWG", "FDA"]
    status: Literal["active", "draft", "retired"]
    url: str
    annotation_url: str | None = None
    version: str
    data_version: str
    data: DataSource
    # What a reader should know about this file: why it is here, what was left out and why.
    notes: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    genes: list[str] = Field(min_length=1)
    drugs: list[str] = Field(min_length=1)
    populations: dict[str, Population] = Field(default_factory=dict)
    # What the populations are, as the card's table heading says it (default "Indication").
    population_heading: str | None = None
    # Single variants the recommendations name besides the genes (keyed by rsID).
    variants: dict[str, Variant] = Field(default_factory=dict)
    recommendations: list[Recommendation]
    tests: list[GuidelineTest] = Field(default_factory=list)


class Phenoconversion(_Strict):
    """How a co-medication changes the phenotype a gene's result predicts, with its source.

    ``activity_score_factor`` (CYP2D6): the genotype's activity score is multiplied by the factor
    of the strongest inhibitor taken. ``phenotype_after`` (genes without an activity score): the
    phenotype each genotype-predicted phenotype becomes; a phenotype not listed is not changed.
    """

    activity_score_factor: dict[Literal["strong", "moderate"], float] = Field(default_factory=dict)
    phenotype_after: dict[Literal["strong", "moderate"], dict[str, str]] = Field(
        default_factory=dict
    )
    source: str
    quote: str
    # The drugs whose guideline states the rule; empty: every drug the gene's guidelines cover.
    drugs: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_method(self) -> Phenoconversion:
        if bool(self.activity_score_factor) == bool(self.phenotype_after):
            raise ValueError("give exactly one of activity_score_factor or phenotype_after")
        return self


class Inhibitor(_Strict):
    """A drug listed as a clinical inhibitor of an enzyme, with the codes an order may carry."""

    strength: Literal["strong", "moderate", "weak"]
    rxnorm: str | None = Field(default=None, pattern=r"^\d+$")
    synonyms: list[str] = Field(default_factory=list)
    note: str | None = None


class InhibitorTable(_Strict):
    """Clinical inhibitors of one enzyme (gene) and how they convert its phenotype."""

    gene: str = Field(pattern=r"^[A-Z0-9-]+$")
    source: DataSource
    url: str
    notes: list[str] = Field(default_factory=list)
    # None: the source lists the inhibitors but no sourced method converts the phenotype; the card
    # then names the inhibitor and says the phenotype may be lower than the genotype predicts.
    phenoconversion: Phenoconversion | None = None
    inhibitors: dict[str, Inhibitor]


class PretestRequirement(_Strict):
    """A drug whose label or guideline calls for a genetic test before it is started."""

    genes: list[str] = Field(min_length=1)
    # For drugs no guideline names (not in drugs.yaml): the ingredient code an order may carry.
    rxnorm: str | None = Field(default=None, pattern=r"^\d+$")
    synonyms: list[str] = Field(default_factory=list)
    # What the label says: PharmGKB's label-annotation levels.
    level: Literal["testing required", "testing recommended"]
    # What to test for, as the card says it: "HLA-B*57:01", "DPYD variants".
    test: str
    source: str
    url: str
    quote: str | None = None


class PretestTable(_Strict):
    source: DataSource
    drugs: dict[str, PretestRequirement]


# --- dose algorithms (IWPC warfarin) ---

# The IWPC's categories; the reference category of each (G/G, *1/*1, white) has coefficient 0.
IwpcVkorc1 = Literal["G/G", "A/G", "A/A", "unknown"]
IwpcCyp2c9 = Literal["*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3", "unknown"]
IwpcRace = Literal["white", "asian", "black-or-african-american", "missing-or-mixed"]


class AlgorithmSource(_Strict):
    """Where part of an algorithm was read: the page and a short quote from it."""

    what: str
    url: str
    quote: str


class PrimarySource(_Strict):
    citation: str
    pmid: str = Field(pattern=r"^\d+$")
    url: str
    quote: str


class PerUnit(_Strict):
    """Coefficients multiplied by a measurement."""

    age_decades: float
    height_cm: float
    weight_kg: float


class AlgorithmDrug(_Strict):
    """A drug an algorithm input counts, with the codes an order may carry."""

    # None only where no source available to us gives one; the drug is then matched by name.
    rxnorm: str | None = Field(default=None, pattern=r"^\d+$")
    synonyms: list[str] = Field(default_factory=list)
    source: str


class DrugInput(_Strict):
    """A yes/no input that is "yes" when the patient takes any of ``drugs``."""

    label: str
    coefficient: float
    drugs: dict[str, AlgorithmDrug] = Field(min_length=1)


class ExampleInputs(_Strict):
    """A worked example's inputs in the algorithm's own categories."""

    age_years: float | None = Field(default=None, gt=0)
    height_cm: float | None = Field(default=None, gt=0)
    weight_kg: float | None = Field(default=None, gt=0)
    cyp2c9: IwpcCyp2c9
    vkorc1: IwpcVkorc1
    race: IwpcRace | None = None
    enzyme_inducer: bool | None = None
    amiodarone: bool | None = None


class WorkedExample(_Strict):
    """A published example the algorithm must reproduce; ``todo`` records one still missing."""

    name: str
    given: ExampleInputs
    weekly_mg: float | None = Field(default=None, gt=0)
    # How many decimals the source printed; the result must agree to that precision.
    decimals: int = Field(default=1, ge=0, le=4)
    source: AlgorithmSource | None = None
    todo: str | None = None

    @model_validator(mode="after")
    def _published_or_todo(self) -> WorkedExample:
        if self.todo is not None:
            return self
        given = self.given
        absent = [
            name
            for name in ("age_years", "height_cm", "weight_kg", "race")
            if getattr(given, name) is None
        ] + [name for name in ("enzyme_inducer", "amiodarone") if getattr(given, name) is None]
        if self.weekly_mg is None or self.source is None or absent:
            missing = [
                n for n, v in (("weekly_mg", self.weekly_mg), ("source", self.source)) if v is None
            ]
            raise ValueError(
                f"the example lacks {', '.join(missing + [f'given.{n}' for n in absent])}; "
                "give every input, the published weekly_mg and its source, or mark it todo"
            )
        return self


class DoseAlgorithm(_Strict):
    """A published dose equation as data: square root of the weekly dose, linear in its inputs."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    drug: str
    dose_calculation: str
    # False until a pharmacist has checked every coefficient against the primary source.
    verified_against_primary: bool
    source: PrimarySource
    sources: list[AlgorithmSource] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)
    intercept: float
    # How age in years becomes the age term: whole decades (floor) or years / 10.
    age_in_decades: Literal["floor", "divide"]
    per_unit: PerUnit
    vkorc1: dict[IwpcVkorc1, float]
    cyp2c9: dict[IwpcCyp2c9, float]
    race: dict[IwpcRace, float]
    enzyme_inducer: DrugInput
    amiodarone: DrugInput
    examples: list[WorkedExample] = Field(default_factory=list)

    @field_validator("vkorc1", "cyp2c9", "race")
    @classmethod
    def _every_category_has_a_coefficient(
        cls, value: dict[str, float], info: ValidationInfo
    ) -> dict[str, float]:
        categories = {"vkorc1": IwpcVkorc1, "cyp2c9": IwpcCyp2c9, "race": IwpcRace}
        absent = [c for c in get_args(categories[str(info.field_name)]) if c not in value]
        if absent:
            raise ValueError(
                f"no coefficient for {', '.join(absent)}; "
                "give every category (0 for the reference category)"
            )
        return value

    @model_validator(mode="after")
    def _points_to_a_known_calculation(self) -> DoseAlgorithm:
        if self.dose_calculation not in DOSE_CALCULATIONS:
            raise ValueError(
                f"dose_calculation {self.dose_calculation!r} is unknown; "
                f"use one of: {', '.join(sorted(DOSE_CALCULATIONS))}"
            )
        return self
