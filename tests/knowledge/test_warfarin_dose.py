"""The IWPC warfarin dose: its YAML, the mapping of patient values to its inputs, and the arithmetic.

No dose is hard-coded here: expected doses come only from published examples in the YAML, and
each coefficient is checked by the change it makes to the square root of the dose.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from knowledge import GeneResult, KnowledgeBase, KnowledgeLoadError
from knowledge.evaluate import GeneCall, call_gene
from knowledge.patient import Comedication, PatientFactors
from knowledge.schema import DoseAlgorithm, ExampleInputs, WorkedExample
from knowledge.warfarin_dose import (
    WarfarinInputs,
    calculate,
    format_dose,
    load_iwpc,
    warfarin_inputs,
)

ALGORITHM = load_iwpc()
VKORC1_AG = "rs9923231 reference (C)/rs9923231 variant (T)"
ADULT = PatientFactors(age_years=55, height_cm=170, weight_kg=75, ancestry=frozenset({"white"}))


def root(inputs: WarfarinInputs) -> float:
    dose = calculate(ALGORITHM, inputs)
    assert dose.weekly_mg is not None
    return math.sqrt(dose.weekly_mg)


def reference(**changes: object) -> WarfarinInputs:
    """The algorithm's reference categories for an adult; ``changes`` sets one input."""
    base = WarfarinInputs(
        age_years=55, height_cm=170, weight_kg=75, cyp2c9="*1/*1", vkorc1="G/G", race="white"
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def from_example(given: ExampleInputs) -> WarfarinInputs:
    return WarfarinInputs(
        age_years=given.age_years,
        height_cm=given.height_cm,
        weight_kg=given.weight_kg,
        cyp2c9=given.cyp2c9,
        vkorc1=given.vkorc1,
        race=given.race or "missing-or-mixed",
        enzyme_inducers=("enzyme inducer",) if given.enzyme_inducer else (),
        amiodarone=("amiodarone",) if given.amiodarone else (),
    )


def gene(kb: KnowledgeBase, symbol: str, diplotype: str) -> GeneCall:
    return call_gene(kb, symbol, GeneResult(symbol, diplotype=diplotype))


# --- published worked examples ------------------------------------------------------------------


def _example_params() -> list[object]:
    return [
        pytest.param(
            example,
            id=f"{ALGORITHM.id}::{example.name}",
            marks=[pytest.mark.xfail(reason=example.todo, strict=True)] if example.todo else [],
        )
        for example in ALGORITHM.examples
    ]


@pytest.mark.parametrize("example", _example_params())
def test_published_example_reproduces(example: WorkedExample) -> None:
    assert example.weekly_mg is not None, "no published dose to compare with"
    dose = calculate(ALGORITHM, from_example(example.given))
    assert dose.weekly_mg is not None
    assert round(dose.weekly_mg, example.decimals) == pytest.approx(example.weekly_mg)


def test_the_mandatory_genotypes_have_an_example_case() -> None:
    cases = {(e.given.cyp2c9, e.given.vkorc1) for e in ALGORITHM.examples}
    assert ("*1/*3", "A/G") in cases


# --- every coefficient is applied -----------------------------------------------------------------


@pytest.mark.parametrize("category", sorted(ALGORITHM.cyp2c9))
def test_cyp2c9_coefficient_applied(category: str) -> None:
    change = root(reference(cyp2c9=category)) - root(reference())
    assert change == pytest.approx(ALGORITHM.cyp2c9[category])  # type: ignore[index]


@pytest.mark.parametrize("category", sorted(ALGORITHM.vkorc1))
def test_vkorc1_coefficient_applied(category: str) -> None:
    change = root(reference(vkorc1=category)) - root(reference())
    assert change == pytest.approx(ALGORITHM.vkorc1[category])  # type: ignore[index]


@pytest.mark.parametrize("category", sorted(ALGORITHM.race))
def test_race_coefficient_applied(category: str) -> None:
    change = root(reference(race=category)) - root(reference())
    assert change == pytest.approx(ALGORITHM.race[category])  # type: ignore[index]


@pytest.mark.parametrize(
    ("changes", "coefficient"),
    [
        ({"enzyme_inducers": ("phenytoin",)}, ALGORITHM.enzyme_inducer.coefficient),
        ({"amiodarone": ("amiodarone",)}, ALGORITHM.amiodarone.coefficient),
        ({"height_cm": 171}, ALGORITHM.per_unit.height_cm),
        ({"weight_kg": 76}, ALGORITHM.per_unit.weight_kg),
        ({"age_years": 65}, ALGORITHM.per_unit.age_decades),
    ],
    ids=["enzyme inducer", "amiodarone", "height +1 cm", "weight +1 kg", "age +1 decade"],
)
def test_input_coefficient_applied(changes: dict[str, object], coefficient: float) -> None:
    assert root(reference(**changes)) - root(reference()) == pytest.approx(coefficient)


def test_reference_patient_is_intercept_plus_measurements() -> None:
    unit = ALGORITHM.per_unit
    expected = (
        ALGORITHM.intercept + unit.age_decades * 5 + unit.height_cm * 170 + unit.weight_kg * 75
    )
    assert root(reference()) == pytest.approx(expected)


@pytest.mark.parametrize(("age", "decades"), [(50, 5), (59.9, 5), (67, 6)])
def test_age_counts_whole_decades(age: float, decades: float) -> None:
    assert root(reference(age_years=age)) - root(reference(age_years=50)) == pytest.approx(
        ALGORITHM.per_unit.age_decades * (decades - 5)
    )


# --- mapping the patient's record -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("diplotype", "category"),
    [("*1/*1", "*1/*1"), ("*3/*1", "*1/*3"), ("*2/*3", "*2/*3"), ("*1/*8", "*1/*1")],
)
def test_cyp2c9_is_placed(kb: KnowledgeBase, diplotype: str, category: str) -> None:
    inputs = warfarin_inputs(ALGORITHM, ADULT, [], gene(kb, "CYP2C9", diplotype), None)
    assert inputs.cyp2c9 == category


def test_cyp2c9_star8_is_read_as_star1_with_a_note(kb: KnowledgeBase) -> None:
    inputs = warfarin_inputs(ALGORITHM, ADULT, [], gene(kb, "CYP2C9", "*3/*8"), None)
    assert inputs.cyp2c9 == "*1/*3"
    assert ("CYP2C9", "*3/*8 (read as *1/*3)") in inputs.shown
    assert any("*8" in n and "read as *1" in n and "15-30%" in n for n in inputs.notes)


def test_an_allele_the_iwpc_cannot_place_uses_its_unknown_category(kb: KnowledgeBase) -> None:
    inputs = warfarin_inputs(ALGORITHM, ADULT, [], gene(kb, "CYP2C9", "*1/*13"), None)
    assert inputs.cyp2c9 == "unknown"
    assert any("*13 cannot be placed" in n for n in inputs.notes)


@pytest.mark.parametrize(
    ("diplotype", "category"),
    [
        ("rs9923231 reference (C)/rs9923231 reference (C)", "G/G"),
        (VKORC1_AG, "A/G"),
        ("rs9923231 variant (T)/rs9923231 variant (T)", "A/A"),
    ],
)
def test_vkorc1_is_placed(kb: KnowledgeBase, diplotype: str, category: str) -> None:
    inputs = warfarin_inputs(ALGORITHM, ADULT, [], None, gene(kb, "VKORC1", diplotype))
    assert inputs.vkorc1 == category


@pytest.mark.parametrize(
    ("ancestry", "category"),
    [
        (frozenset({"white"}), "white"),
        (frozenset({"asian"}), "asian"),
        (frozenset({"black-or-african-american"}), "black-or-african-american"),
        (frozenset({"asian", "white"}), "missing-or-mixed"),
        (frozenset(), "missing-or-mixed"),
        (None, "missing-or-mixed"),
        (frozenset({"native-hawaiian-or-other-pacific-islander"}), "missing-or-mixed"),
    ],
)
def test_race_is_placed(ancestry: frozenset[str] | None, category: str) -> None:
    factors = dataclasses.replace(ADULT, ancestry=ancestry)
    assert warfarin_inputs(ALGORITHM, factors, [], None, None).race == category


@pytest.mark.parametrize(
    ("drug", "inducers", "amiodarone"),
    [
        ("carbamazepine", ("carbamazepine",), ()),
        ("Rifampicin", ("rifampin",), ()),
        ("amiodarone", (), ("amiodarone",)),
        ("simvastatin", (), ()),
    ],
)
def test_comedications_set_the_drug_inputs(
    drug: str, inducers: tuple[str, ...], amiodarone: tuple[str, ...]
) -> None:
    taken = [Comedication(drug, "MedicationRequest/1 (active)")]
    inputs = warfarin_inputs(ALGORITHM, ADULT, taken, None, None)
    assert (inputs.enzyme_inducers, inputs.amiodarone) == (inducers, amiodarone)


def test_card_values_name_every_input(kb: KnowledgeBase) -> None:
    inputs = warfarin_inputs(
        ALGORITHM, ADULT, [], gene(kb, "CYP2C9", "*1/*3"), gene(kb, "VKORC1", VKORC1_AG)
    )
    used = dict(calculate(ALGORITHM, inputs).inputs_used)
    assert used["CYP2C9"] == "*1/*3"
    assert used["VKORC1 -1639"] == "A/G"
    assert used["amiodarone"] == "no"
    assert used["age"] == "55 years (5 decades)"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"age_years": None}, ("age",)),
        ({"height_cm": None, "weight_kg": None}, ("weight", "height")),
    ],
)
def test_missing_inputs_are_named_and_no_dose_given(
    missing: dict[str, None], named: tuple[str, ...]
) -> None:
    dose = calculate(ALGORITHM, reference(**missing))
    assert dose.weekly_mg is None
    assert dose.missing == named
    assert format_dose(dose) == f"not calculated: {', '.join(named)} not on file"


def test_display_rounds_only_for_display() -> None:
    dose = calculate(ALGORITHM, reference())
    assert dose.weekly_mg is not None
    assert format_dose(dose) == f"{dose.weekly_mg:.1f} mg/week ({dose.weekly_mg / 7:.1f} mg/day)"


# --- the YAML --------------------------------------------------------------------------------------


def test_bundled_algorithm_is_for_the_cpic_rows() -> None:
    assert isinstance(ALGORITHM, DoseAlgorithm)
    assert ALGORITHM.dose_calculation == "warfarin-pharmacogenetic"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  A/A: -1.6974\n",
            "  A/A: -1.6974\n  colour: 1\n",
            r"iwpc\.yaml:\d+:\d+: vkorc1\.colour\.\[key\]: 'colour' is not one of .*Use one of",
        ),
        (
            "intercept: 5.6044\n",
            "intercep: 5.6044\n",
            r"iwpc\.yaml:\d+:\d+: intercep: is not a known field",
        ),
        (
            "  '*3/*3': -2.3312\n",
            "",
            r"iwpc\.yaml:\d+:\d+: cyp2c9: .*no coefficient for \*3/\*3",
        ),
    ],
    ids=["unknown category", "misspelt field", "category without coefficient"],
)
def test_a_wrong_field_is_located(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (Path(__file__).parents[2] / "knowledge/dose_algorithms/iwpc-warfarin.yaml").read_text()
    assert old in text
    bad = tmp_path / "iwpc.yaml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeLoadError, match=message):
        load_iwpc(bad)
