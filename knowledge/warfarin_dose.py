"""The IWPC pharmacogenetic warfarin dose: patient values mapped to the algorithm's inputs, then computed."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from knowledge.errors import KnowledgeError, KnowledgeLoadError, Location
from knowledge.gene_call import GeneCall
from knowledge.patient import FACTOR_LABELS, Comedication, PatientFactors
from knowledge.schema import DoseAlgorithm, DrugInput, IwpcCyp2c9, IwpcRace, IwpcVkorc1
from knowledge.validation import validate_document
from knowledge.yaml_source import parse_yaml

__all__ = [
    "WarfarinDose",
    "WarfarinInputs",
    "calculate",
    "format_dose",
    "load_iwpc",
    "warfarin_inputs",
]

_BUNDLED = "dose_algorithms/iwpc-warfarin.yaml"
# The alleles the IWPC genotyped; any other must be placed by a rule below or is unknown.
_IWPC_ALLELES = frozenset({"*1", "*2", "*3"})
# CPIC's flowchart: calculate with *2/*3, then decrease the calculated dose for these carriers
# (rows in cpic-warfarin.yaml), so the calculation itself reads them as *1.
_READ_AS_NORMAL = frozenset({"*5", "*6", "*8", "*11"})
_VKORC1_BY_PHENOTYPE: dict[str, IwpcVkorc1] = {
    "-1639 GG": "G/G",
    "-1639 AG": "A/G",
    "-1639 AA": "A/A",
}
_VKORC1_VARIANT = "rs9923231 variant (T)"
_VKORC1_REFERENCE = "rs9923231 reference (C)"
_VKORC1_BY_VARIANT_COUNT: dict[int, IwpcVkorc1] = {0: "G/G", 1: "A/G", 2: "A/A"}
_RACE_LABELS: dict[IwpcRace, str] = {
    "white": "White",
    "asian": "Asian",
    "black-or-african-american": "Black or African American",
    "missing-or-mixed": "missing or mixed race",
}
_COPY_SUFFIX = re.compile("\\s*[xX\u00d7]\\s*≥?\\d+$")


@dataclass(frozen=True, slots=True)
class WarfarinInputs:
    """The algorithm's inputs for one patient, in its own categories.

    ``None`` for a measurement means not on file; the dose is then not calculated. ``shown``
    holds how the card names each categorical input (the result as read, and how it was placed).
    """

    age_years: float | None
    height_cm: float | None
    weight_kg: float | None
    cyp2c9: IwpcCyp2c9
    vkorc1: IwpcVkorc1
    race: IwpcRace
    # The co-medications that make the input "yes", as their knowledge-base names.
    enzyme_inducers: tuple[str, ...] = ()
    amiodarone: tuple[str, ...] = ()
    shown: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WarfarinDose:
    """A calculated weekly maintenance dose (unrounded), or none with the missing inputs named."""

    weekly_mg: float | None
    inputs_used: tuple[tuple[str, str], ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...]
    source: str


def load_iwpc(path: Path | str | None = None) -> DoseAlgorithm:
    """Read the IWPC algorithm (default: the bundled file); errors are located as file:line:col."""
    file: Traversable | Path
    if path is None:
        file, shown = resources.files("knowledge") / _BUNDLED, f"knowledge/{_BUNDLED}"
    else:
        file, shown = Path(path), str(path)
    document, errors = parse_yaml(file.read_text(encoding="utf-8"), shown)
    algorithm = None
    if document is not None:
        if isinstance(document.data, dict):
            algorithm, errors = validate_document(DoseAlgorithm, document)
        else:
            errors = [
                KnowledgeError(
                    Location(shown, 1, 1),
                    "",
                    "the file is not a YAML mapping",
                    "Start the file with 'key: value' lines.",
                )
            ]
    if algorithm is None:
        raise KnowledgeLoadError(errors)
    return algorithm


def warfarin_inputs(
    algorithm: DoseAlgorithm,
    factors: PatientFactors,
    comedications: Sequence[Comedication],
    cyp2c9: GeneCall | None,
    vkorc1: GeneCall | None,
) -> WarfarinInputs:
    """Map the patient's record to the algorithm's categories, saying how each was placed."""
    notes: list[str] = []
    cyp_category, cyp_shown = _cyp2c9_category(cyp2c9, notes)
    vkor_category, vkor_shown = _vkorc1_category(vkorc1, notes)
    race = _race_category(factors.ancestry, notes)
    inducers = _taken(algorithm.enzyme_inducer, comedications)
    amiodarone = _taken(algorithm.amiodarone, comedications)
    shown = (
        ("CYP2C9", cyp_shown),
        ("VKORC1 -1639", vkor_shown),
        ("race", _RACE_LABELS[race]),
        ("enzyme inducer", ", ".join(inducers) if inducers else "no"),
        ("amiodarone", "yes" if amiodarone else "no"),
    )
    return WarfarinInputs(
        age_years=factors.age_years,
        height_cm=factors.height_cm,
        weight_kg=factors.weight_kg,
        cyp2c9=cyp_category,
        vkorc1=vkor_category,
        race=race,
        enzyme_inducers=inducers,
        amiodarone=amiodarone,
        shown=shown,
        notes=tuple(notes),
    )


def calculate(algorithm: DoseAlgorithm, inputs: WarfarinInputs) -> WarfarinDose:
    """The weekly dose the algorithm gives; none when age, height or weight is not on file."""
    source = algorithm.source.citation
    measured = {
        "age_years": inputs.age_years,
        "height_cm": inputs.height_cm,
        "weight_kg": inputs.weight_kg,
    }
    missing = tuple(
        label
        for name, label in FACTOR_LABELS.items()
        if name in measured and measured[name] is None
    )
    notes = list(inputs.notes)
    if not algorithm.verified_against_primary:
        notes.append(
            "The coefficients have not yet been checked against the primary publication; "
            "verify before clinical use."
        )
    if inputs.age_years is None or inputs.height_cm is None or inputs.weight_kg is None:
        return WarfarinDose(None, inputs.shown, missing, tuple(notes), source)
    decades = _decades(inputs.age_years, algorithm.age_in_decades)
    root = (
        algorithm.intercept
        + algorithm.per_unit.age_decades * decades
        + algorithm.per_unit.height_cm * inputs.height_cm
        + algorithm.per_unit.weight_kg * inputs.weight_kg
        + algorithm.vkorc1[inputs.vkorc1]
        + algorithm.cyp2c9[inputs.cyp2c9]
        + algorithm.race[inputs.race]
        + (algorithm.enzyme_inducer.coefficient if inputs.enzyme_inducers else 0.0)
        + (algorithm.amiodarone.coefficient if inputs.amiodarone else 0.0)
    )
    used = (
        ("age", f"{math.floor(inputs.age_years)} years ({decades:g} decades)"),
        ("height", f"{_number(inputs.height_cm)} cm"),
        ("weight", f"{_number(inputs.weight_kg)} kg"),
        *inputs.shown,
    )
    if root <= 0:
        # Squaring would turn a meaningless negative root into a plausible-looking dose.
        notes.append("These inputs lie outside the range the equation was fitted on; no dose.")
        return WarfarinDose(None, used, missing, tuple(notes), source)
    return WarfarinDose(root * root, used, missing, tuple(notes), source)


def format_dose(dose: WarfarinDose) -> str:
    """The dose as a card shows it, e.g. ``33.6 mg/week (4.8 mg/day)``; rounding is for display only."""
    if dose.weekly_mg is None:
        if dose.missing:
            return f"not calculated: {', '.join(dose.missing)} not on file"
        return "not calculated"
    return f"{dose.weekly_mg:.1f} mg/week ({dose.weekly_mg / 7:.1f} mg/day)"


def _decades(age_years: float, rule: str) -> float:
    return float(math.floor(age_years / 10)) if rule == "floor" else age_years / 10


def _number(value: float) -> str:
    return f"{value:g}"


def _taken(drug_input: DrugInput, comedications: Sequence[Comedication]) -> tuple[str, ...]:
    names: dict[str, str] = {}
    for name, drug in drug_input.drugs.items():
        for alias in (name, *drug.synonyms):
            names[alias.casefold()] = name
    found = {names[c.drug.casefold()] for c in comedications if c.drug.casefold() in names}
    return tuple(sorted(found))


def _alleles(call: GeneCall) -> tuple[str, ...]:
    if call.alleles:
        alleles = call.alleles
    elif call.diplotype:
        alleles = tuple(a.strip() for a in call.diplotype.split("/"))
    else:
        return ()
    # "*1x2" is *1 for the algorithm: copy number is not one of its inputs.
    return tuple(_COPY_SUFFIX.sub("", allele) for allele in alleles)


def _cyp2c9_category(call: GeneCall | None, notes: list[str]) -> tuple[IwpcCyp2c9, str]:
    alleles = _alleles(call) if call is not None else ()
    if len(alleles) != 2:
        reason = "not on file" if call is None or call.result is None else "could not be read"
        notes.append(
            f"CYP2C9 result {reason}: the calculation uses the IWPC 'CYP2C9 genotype unknown' "
            "category."
        )
        return "unknown", f"{reason} (IWPC 'unknown')"
    shown = "/".join(alleles)
    placed: list[str] = []
    for allele in alleles:
        if allele in _IWPC_ALLELES:
            placed.append(allele)
        elif allele in _READ_AS_NORMAL:
            placed.append("*1")
            notes.append(
                f"CYP2C9 {allele} is not in the IWPC algorithm (it models *1, *2 and *3); it is "
                "read as *1 for the calculation, and CPIC advises decreasing the calculated dose "
                "by 15-30% for carriers of *5, *6, *8 or *11."
            )
        else:
            # The IWPC's "unknown" category is its input for a genotype that is not available;
            # an allele it cannot place leaves the genotype unavailable to it. Never guessed.
            notes.append(
                f"CYP2C9 {allele} cannot be placed in the IWPC algorithm (it models *1, *2 and "
                "*3); the calculation uses the IWPC 'CYP2C9 genotype unknown' category."
            )
            return "unknown", f"{shown} (IWPC 'unknown')"
    category = "/".join(sorted(placed, key=lambda a: int(a[1:])))
    label = shown if category == shown else f"{shown} (read as {category})"
    return _as_cyp2c9(category), label


def _as_cyp2c9(category: str) -> IwpcCyp2c9:
    known: dict[str, IwpcCyp2c9] = {
        "*1/*1": "*1/*1",
        "*1/*2": "*1/*2",
        "*1/*3": "*1/*3",
        "*2/*2": "*2/*2",
        "*2/*3": "*2/*3",
        "*3/*3": "*3/*3",
    }
    return known[category]


def _vkorc1_category(call: GeneCall | None, notes: list[str]) -> tuple[IwpcVkorc1, str]:
    if call is not None:
        for key in (call.phenotype, *call.lookup_keys):
            if key in _VKORC1_BY_PHENOTYPE:
                category = _VKORC1_BY_PHENOTYPE[key]
                return category, category
        alleles = _alleles(call)
        if len(alleles) == 2 and set(alleles) <= {_VKORC1_VARIANT, _VKORC1_REFERENCE}:
            category = _VKORC1_BY_VARIANT_COUNT[alleles.count(_VKORC1_VARIANT)]
            return category, category
    reason = "not on file" if call is None or call.result is None else "could not be read"
    notes.append(
        f"VKORC1 -1639G>A result {reason}: the calculation uses the IWPC 'VKORC1 genotype "
        "unknown' category."
    )
    return "unknown", f"{reason} (IWPC 'unknown')"


def _race_category(ancestry: frozenset[str] | None, notes: list[str]) -> IwpcRace:
    if not ancestry:
        notes.append("Race is not on file: the IWPC 'missing or mixed race' category is used.")
        return "missing-or-mixed"
    if len(ancestry) > 1:
        notes.append(
            "More than one race is on file: the IWPC 'missing or mixed race' category is used."
        )
        return "missing-or-mixed"
    [only] = ancestry
    placed: dict[str, IwpcRace] = {
        "white": "white",
        "asian": "asian",
        "black-or-african-american": "black-or-african-american",
    }
    if only in placed:
        return placed[only]
    # The IWPC reported only White, Asian and Black or African American; another single category
    # has no coefficient, so the algorithm sees the race as not available to it.
    notes.append(
        f"Race '{only}' has no IWPC category: the IWPC 'missing or mixed race' category is used."
    )
    return "missing-or-mixed"
