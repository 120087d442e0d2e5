"""read_patient_factors: age, sex, race, weight, height, eGFR and pregnancy from FHIR."""

from __future__ import annotations

import copy
import datetime
import json
import random
from pathlib import Path
from typing import Any

import pytest

from fhir_adapters.patient_factors import (
    EGFR_CODES,
    FACTOR_OBSERVATION_CODES,
    HEIGHT_CODES,
    PREGNANCY_CODES,
    WEIGHT_CODES,
    read_patient_factors,
)
from fhir_adapters.queries import (
    active_medication_queries,
    factor_observation_query,
    patient_query,
)
from knowledge.patient import PatientFactors

TODAY = datetime.date(2026, 11, 1)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
CDC = "urn:oid:2.16.840.1.113883.6.238"
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "fhir-examples"


def patient(
    *, birth_date: Any = None, gender: Any = None, races: tuple[tuple[str, str], ...] = ()
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    if birth_date is not None:
        resource["birthDate"] = birth_date
    if gender is not None:
        resource["gender"] = gender
    if races:
        resource["extension"] = [
            {
                "url": RACE,
                "extension": [
                    {"url": "ombCategory", "valueCoding": {"system": system, "code": code}}
                    for system, code in races
                ]
                + [{"url": "text", "valueString": "as reported"}],
            }
        ]
    return resource


def measurement(
    code: str,
    value: Any,
    unit: str | None,
    *,
    id: str = "obs-1",
    effective: str | None = "2026-10-02",
    status: str = "final",
    system: str | None = UCUM,
    **extra: Any,
) -> dict[str, Any]:
    """A vital sign or lab Observation coded with one LOINC code and a Quantity value."""
    quantity: dict[str, Any] = {"value": value}
    if unit is not None:
        quantity.update({"unit": unit, "code": unit})
        if system is not None:
            quantity["system"] = system
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": quantity,
    }
    if effective is not None:
        resource["effectiveDateTime"] = effective
    resource.update(extra)
    return resource


def weight(value: Any, unit: str | None = "kg", **kwargs: Any) -> dict[str, Any]:
    return measurement("29463-7", value, unit, **kwargs)


def height(value: Any, unit: str | None = "cm", **kwargs: Any) -> dict[str, Any]:
    return measurement("8302-2", value, unit, **kwargs)


def egfr(value: Any, unit: str | None = "mL/min/{1.73_m2}", **kwargs: Any) -> dict[str, Any]:
    return measurement("98979-8", value, unit, **kwargs)


def pregnancy(
    answer: str | bool,
    *,
    code: str = "82810-3",
    system: str = LOINC,
    id: str = "preg-1",
    effective: str | None = "2026-10-20",
    status: str = "final",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": code}]},
    }
    if isinstance(answer, bool):
        resource["valueBoolean"] = answer
    else:
        resource["valueCodeableConcept"] = {"coding": [{"system": system, "code": answer}]}
    if effective is not None:
        resource["effectiveDateTime"] = effective
    return resource


def read(*resources: Any) -> PatientFactors:
    return read_patient_factors(list(resources), TODAY)


# --- Patient -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "age", "note"),
    [
        ("2016-11-01", 10.0, None),
        ("2016-11-02", 9 + 364 / 365, None),
        ("1951-01-20", 75 + 285 / 365, None),
        ("2026-11-01", 0.0, None),
        ("2008-02-29", 18 + 246 / 365, None),
        ("2015", None, "birthDate 2015 gives no exact age"),
        ("2015-06", None, "birthDate 2015-06 gives no exact age"),
        ("2027-01-01", None, "birthDate 2027-01-01 is in the future"),
        ("2015-02-30", None, "birthDate '2015-02-30' is not a calendar date"),
        ("01/02/2015", None, "birthDate '01/02/2015' is not a FHIR date"),
        (20150101, None, "birthDate is not a date string"),
    ],
)
def test_age(birth_date: Any, age: float | None, note: str | None) -> None:
    factors = read(patient(birth_date=birth_date))
    assert factors.age_years == (pytest.approx(age) if age is not None else None)
    assert factors.notes == ((f"Patient/p1: {note}",) if note else ())
    assert ("age_years" in factors.sources) is (age is not None)


def test_no_birth_date_is_not_a_note() -> None:
    assert read(patient()) == PatientFactors()


@pytest.mark.parametrize("gender", ["female", "male", "other", "unknown"])
def test_sex(gender: str) -> None:
    factors = read(patient(gender=gender))
    assert factors.sex == gender
    assert factors.sources == {"sex": "Patient/p1 (gender)"}


def test_unexpected_gender_is_a_note() -> None:
    factors = read(patient(gender="F"))
    assert factors.sex is None
    assert factors.notes == ("Patient/p1: gender 'F' is not one of female, male, other, unknown",)


@pytest.mark.parametrize(
    ("races", "ancestry", "notes"),
    [
        (((CDC, "1002-5"),), {"american-indian-or-alaska-native"}, ()),
        (((CDC, "2028-9"),), {"asian"}, ()),
        (((CDC, "2054-5"),), {"black-or-african-american"}, ()),
        (((CDC, "2076-8"),), {"native-hawaiian-or-other-pacific-islander"}, ()),
        (((CDC, "2106-3"),), {"white"}, ()),
        (((CDC, "2106-3"), (CDC, "2028-9")), {"white", "asian"}, ()),
        ((("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK"),), set(), ()),
        ((("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "ASKU"),), set(), ()),
        (
            ((CDC, "2131-1"),),
            set(),
            (
                "Patient/p1: race given only as urn:oid:2.16.840.1.113883.6.238|2131-1, "
                "not an OMB category",
            ),
        ),
        (
            ((CDC, "2106-3"), ("http://example.org", "x")),
            {"white"},
            ("Patient/p1: race codes not read: http://example.org|x",),
        ),
    ],
)
def test_ancestry(
    races: tuple[tuple[str, str], ...], ancestry: set[str], notes: tuple[str, ...]
) -> None:
    factors = read(patient(races=races))
    assert factors.ancestry == frozenset(ancestry)
    assert factors.notes == notes


def test_race_extension_without_category_is_not_read() -> None:
    resource = patient()
    resource["extension"] = [{"url": RACE, "extension": [{"url": "text", "valueString": "x"}]}]
    factors = read(resource)
    assert factors.ancestry is None
    assert factors.notes == (
        "Patient/p1: the race extension has no ombCategory; detailed codes and text are not read",
    )


def test_no_race_extension_is_none() -> None:
    assert read(patient(gender="male")).ancestry is None


def test_first_patient_is_read_and_others_noted() -> None:
    other = patient(gender="female") | {"id": "p2"}
    factors = read(patient(gender="male"), other)
    assert factors.sex == "male"
    assert factors.notes == ("several Patient resources; read Patient/p1 only",)


def test_deceased_patient_is_read() -> None:
    factors = read(patient(birth_date="1950-11-01") | {"deceasedBoolean": True})
    assert factors.age_years == pytest.approx(76.0)


# --- Measurements and units ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "field", "expected"),
    [
        (weight(70, "kg"), "weight_kg", 70.0),
        (weight(70500, "g"), "weight_kg", 70.5),
        (weight(154, "[lb_av]"), "weight_kg", 154 * 0.45359237),
        (weight(154, "lbs", system=None), "weight_kg", 154 * 0.45359237),
        (measurement("3141-9", 71, "kg"), "weight_kg", 71.0),
        (height(170, "cm"), "height_cm", 170.0),
        (height(1.7, "m"), "height_cm", 170.0),
        (height(67, "[in_i]"), "height_cm", 67 * 2.54),
        (measurement("8306-3", 52, "cm"), "height_cm", 52.0),
        (egfr(55, "mL/min/{1.73_m2}"), "egfr", 55.0),
        (egfr(55, "mL/min/1.73m2", system=None), "egfr", 55.0),
        (egfr(55, "mL/min/1.73 m2", system=None), "egfr", 55.0),
        (egfr(55, "ml/min/1.73m²", system=None), "egfr", 55.0),
        (egfr(55, "mL/min/1.73m^2", system=None), "egfr", 55.0),
        (measurement("33914-3", 48, "mL/min/{1.73_m2}"), "egfr", 48.0),
    ],
)
def test_units(resource: dict[str, Any], field: str, expected: float) -> None:
    factors = read(resource)
    assert getattr(factors, field) == pytest.approx(expected)
    assert factors.sources == {field: "Observation/obs-1 (2026-10-02)"}
    assert factors.notes == ()


def test_unit_text_used_when_code_is_not_ucum() -> None:
    resource = weight(70, "kg")
    resource["valueQuantity"] = {"value": 70, "unit": "kg", "system": "http://x", "code": "KGM"}
    assert read(resource).weight_kg == 70.0


@pytest.mark.parametrize(
    ("resource", "note"),
    [
        (weight(70, "[stone_av]"), "weight not used: unit '[stone_av]' cannot be converted to kg"),
        (height(5, "[ft_us]"), "height not used: unit '[ft_us]' cannot be converted to cm"),
        (egfr(55, "mL/min"), "eGFR not used: unit 'mL/min' is not mL/min/1.73 m2"),
        (egfr(55, None), "eGFR not used: the value has no unit"),
        (weight("70", "kg"), "weight not used: valueQuantity.value is not a number"),
        (weight(True, "kg"), "weight not used: valueQuantity.value is not a number"),
        (weight(0, "kg"), "weight not used: the value is not positive"),
        (
            egfr(60, valueQuantity={"value": 60, "comparator": ">", "code": "mL/min/{1.73_m2}"}),
            "eGFR not used: the value is a bound (>), not a measurement",
        ),
        (
            weight(70, valueQuantity=None, valueString="70 kg"),
            "weight not used: no valueQuantity",
        ),
        (
            weight(70, dataAbsentReason={"text": "refused"}),
            "weight not used: no value (dataAbsentReason)",
        ),
    ],
)
def test_unusable_values_are_noted_not_guessed(resource: dict[str, Any], note: str) -> None:
    factors = read(resource)
    assert (factors.weight_kg, factors.height_cm, factors.egfr) == (None, None, None)
    assert factors.notes == (f"Observation/obs-1 (2026-10-02): {note}",)


# --- Status, dates and the most recent result ------------------------------------------------


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_verified_statuses_are_used(status: str) -> None:
    assert read(weight(70, status=status)).weight_kg == 70.0


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_withdrawn_results_are_ignored_silently(status: str) -> None:
    assert read(weight(70, status=status)) == PatientFactors()


@pytest.mark.parametrize("status", ["preliminary", "registered", "unknown"])
def test_unverified_results_are_noted(status: str) -> None:
    factors = read(weight(70, status=status))
    assert factors.weight_kg is None
    assert factors.notes == (
        f"Observation/obs-1: status {status}; only final, amended or corrected results are used",
    )


def test_most_recent_wins_whatever_the_order() -> None:
    older = weight(80, id="wt-old", effective="2025-01-05")
    newer = weight(72, id="wt-new", effective="2026-10-02T08:30:00+02:00")
    for resources in ([older, newer], [newer, older]):
        factors = read(*resources)
        assert factors.weight_kg == 72.0
        assert factors.sources["weight_kg"] == "Observation/wt-new (2026-10-02)"


def test_time_zones_are_compared_as_instants() -> None:
    early = weight(70, id="a", effective="2026-10-02T09:00:00+02:00")  # 07:00 UTC
    late = weight(71, id="b", effective="2026-10-02T08:00:00Z")
    assert read(early, late).weight_kg == 71.0


@pytest.mark.parametrize(
    ("dates", "expected_value", "expected_source"),
    [
        (
            ({"effectivePeriod": {"start": "2026-01-01", "end": "2026-09-30"}}, {}),
            1.0,
            "Observation/a (2026-09-30)",
        ),
        (
            ({"effectivePeriod": {"start": "2026-09-01"}}, {"effectiveInstant": "2026-08-01"}),
            1.0,
            "Observation/a (2026-09-01)",
        ),
        (
            ({"issued": "2026-10-03T00:00:00Z"}, {"issued": "2026-10-05T00:00:00Z"}),
            2.0,
            "Observation/b (2026-10-02)",
        ),
    ],
)
def test_effective_then_issued(
    dates: tuple[dict[str, Any], dict[str, Any]], expected_value: float, expected_source: str
) -> None:
    first = measurement("29463-7", 1, "kg", id="a", **dates[0])
    second = measurement("29463-7", 2, "kg", id="b", effective="2026-10-02", **dates[1])
    if "effectivePeriod" in dates[0]:
        del first["effectiveDateTime"]
        second["effectiveDateTime"] = "2026-06-01"
    if "effectiveInstant" in dates[1]:
        del second["effectiveDateTime"]
    factors = read(first, second)
    assert factors.weight_kg == expected_value
    assert factors.sources["weight_kg"] == expected_source


def test_undated_measurement_is_used_when_alone_and_says_so() -> None:
    factors = read(weight(70, effective=None))
    assert factors.weight_kg == 70.0
    assert factors.sources["weight_kg"] == "Observation/obs-1 (undated)"


def test_dated_beats_undated() -> None:
    assert read(weight(80, id="a", effective=None), weight(70, id="b")).weight_kg == 70.0


def test_old_results_stand_with_their_date() -> None:
    factors = read(egfr(40, effective="2019-03-04"))
    assert factors.egfr == 40.0
    assert factors.sources["egfr"] == "Observation/obs-1 (2019-03-04)"


def test_newer_unusable_result_falls_back_to_older_usable_one() -> None:
    factors = read(egfr(40, id="old", effective="2026-01-01"), egfr(55, "mL/min", id="new"))
    assert factors.egfr == 40.0
    assert factors.notes == (
        "Observation/new (2026-10-02): eGFR not used: unit 'mL/min' is not mL/min/1.73 m2",
    )


def test_same_time_disagreement_is_not_resolved() -> None:
    factors = read(weight(70, id="a"), weight(75, id="b"))
    assert factors.weight_kg is None
    assert factors.notes == (
        "weight not used: results of the same time disagree "
        "(Observation/a (2026-10-02), Observation/b (2026-10-02))",
    )


def test_same_time_agreement_is_fine() -> None:
    assert read(weight(70, id="a"), weight(70000, "g", id="b")).weight_kg == 70.0


def test_race_free_egfr_preferred_over_race_specific_of_the_same_sample() -> None:
    general = measurement("33914-3", 50, "mL/min/{1.73_m2}", id="gen")
    black = measurement("48643-1", 61, "mL/min/{1.73_m2}", id="blk")
    non_black = measurement("48642-3", 50, "mL/min/{1.73_m2}", id="nb")
    assert read(black, non_black, general).egfr == 50.0
    factors = read(black, non_black)
    assert factors.egfr is None
    assert "results of the same time disagree" in factors.notes[0]


def test_vital_signs_panel_components() -> None:
    panel = {
        "resourceType": "Observation",
        "id": "vs-1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85353-1"}]},
        "effectiveDateTime": "2026-10-10",
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
                "valueQuantity": {"value": 68, "system": UCUM, "code": "kg"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8302-2"}]},
                "valueQuantity": {"value": 172, "system": UCUM, "code": "cm"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
                "valueQuantity": {"value": 60, "system": UCUM, "code": "/min"},
            },
        ],
    }
    factors = read(panel)
    assert (factors.weight_kg, factors.height_cm) == (68.0, 172.0)
    assert factors.sources["height_cm"] == "Observation/vs-1 (2026-10-10)"


def test_f205_style_egfr_with_race_components_reads_the_main_value() -> None:
    resource = measurement("33914-3", 60, "mL/min/{1.73_m2}", id="f205")
    resource["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": "48643-1"}]},
            "valueQuantity": {"value": 73, "system": UCUM, "code": "mL/min/{1.73_m2}"},
        }
    ]
    assert read(resource).egfr == 60.0


def test_other_codes_and_systems_are_not_read() -> None:
    other_system = weight(70)
    other_system["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "29463-7"}]}
    assert read(measurement("2160-0", 1.0, "mg/dL"), other_system) == PatientFactors()


# --- Pregnancy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        (pregnancy("LA15173-0"), True),
        (pregnancy("LA26683-5"), False),
        (pregnancy("77386006", code="11449-6", system="http://snomed.info/sct"), True),
        (pregnancy("60001007", code="11449-6", system="http://snomed.info/sct"), False),
        (pregnancy(True, code="11449-6"), True),
        (pregnancy(False, code="11449-6"), False),
    ],
)
def test_pregnancy_answers(observation: dict[str, Any], expected: bool) -> None:
    factors = read(observation)
    assert factors.pregnant is expected
    assert factors.sources == {"pregnant": "Observation/preg-1 (2026-10-20)"}


@pytest.mark.parametrize(
    ("observations", "note"),
    [
        (
            (pregnancy("LA4489-6"),),
            "Observation/preg-1 (2026-10-20): pregnancy status recorded as unknown",
        ),
        (
            (pregnancy("LA15173-0", id="old", effective="2026-01-01"), pregnancy("LA4489-6")),
            "Observation/preg-1 (2026-10-20): pregnancy status recorded as unknown",
        ),
        (
            (pregnancy("LA15173-0", effective="2025-12-01"),),
            "Observation/preg-1 (2025-12-01): pregnancy status not used: recorded too long ago",
        ),
        (
            (pregnancy("LA26683-5", effective="2026-09-01"),),
            "Observation/preg-1 (2026-09-01): pregnancy status not used: recorded too long ago",
        ),
        (
            (pregnancy("LA15173-0", effective=None),),
            "Observation/preg-1 (undated): pregnancy status not used: it has no date",
        ),
        (
            (pregnancy("X"),),
            "Observation/preg-1 (2026-10-20): pregnancy status not used: "
            "the answer is not one of Pregnant, Not pregnant, Unknown",
        ),
    ],
)
def test_pregnancy_not_known(observations: tuple[dict[str, Any], ...], note: str) -> None:
    factors = read(*observations)
    assert factors.pregnant is None
    assert note in factors.notes


def test_pregnant_within_42_weeks_is_used() -> None:
    assert read(pregnancy("LA15173-0", effective="2026-02-01")).pregnant is True


def test_newest_pregnancy_answer_wins() -> None:
    old = pregnancy("LA15173-0", id="old", effective="2026-05-01")
    new = pregnancy("LA26683-5", id="new", effective="2026-10-25")
    assert read(old, new).pregnant is False


# --- Containers, missing() and malformed input -----------------------------------------------


def test_bundles_and_single_resources_mix() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": weight(70)}, {"resource": height(170)}, {}],
    }
    factors = read(patient(birth_date="2000-11-01", gender="female"), bundle)
    assert (factors.age_years, factors.sex, factors.weight_kg, factors.height_cm) == (
        26.0,
        "female",
        70.0,
        170.0,
    )
    assert factors.missing({"egfr", "weight_kg", "pregnant"}) == ["pregnant", "egfr"]


@pytest.mark.parametrize(
    "resources",
    [
        None,
        42,
        "Patient",
        [None, 1, "x", [], {}],
        [{"resourceType": 7}],
        [{"resourceType": "Observation", "code": "29463-7", "status": ["final"]}],
        [
            {
                "resourceType": "Observation",
                "status": {},
                "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
            }
        ],
        [{"resourceType": "Patient", "birthDate": ["1990-01-01"], "gender": {}, "extension": {}}],
        [
            {
                "resourceType": "Patient",
                "extension": [
                    {
                        "url": RACE,
                        "extension": [
                            {
                                "url": "ombCategory",
                                "valueCoding": {"system": CDC, "code": ["2106-3"]},
                            }
                        ],
                    }
                ],
            }
        ],
        [weight(float("nan"))],
        [weight(float("inf"))],
        [
            pregnancy("LA15173-0")
            | {"valueCodeableConcept": {"coding": [{"system": [LOINC], "code": {}}]}}
        ],
    ],
    ids=lambda value: repr(value)[:40],
)
def test_malformed_input_never_raises(resources: Any) -> None:
    factors = read_patient_factors(resources, TODAY)
    assert (factors.weight_kg, factors.age_years) == (None, None)


@pytest.mark.parametrize(
    "effective",
    [
        {"effectiveDateTime": "2026-13-45T99:99:99+99:00"},
        {"effectiveDateTime": "02.10.2026"},
        {"effectivePeriod": {"start": 2026}},
        {"effectiveInstant": "2026-10-02T25:00:00Z"},
    ],
)
def test_unreadable_date_reads_as_undated(effective: dict[str, Any]) -> None:
    factors = read(weight(70, effective=None, issued=17, **effective))
    assert factors.weight_kg == 70.0
    assert factors.sources["weight_kg"] == "Observation/obs-1 (undated)"
    assert factors.notes == (
        "Observation/obs-1: effective[x] is not a FHIR date or period; read as undated",
    )


def _mutate(value: Any, rng: random.Random) -> Any:
    """``value`` with one randomly chosen node replaced by a value of the wrong type."""
    junk = [None, 0, -1, 1.5, True, "", "x", "2026", [], {}, [None], {"x": 1}, float("nan")]
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: _mutate(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        return [*value[:index], _mutate(value[index], rng), *value[index + 1 :]]
    return rng.choice(junk)


def test_random_mutations_never_raise() -> None:
    rng = random.Random(20261101)
    base = [
        patient(birth_date="1980-05-05", gender="female", races=((CDC, "2028-9"),)),
        weight(70),
        height(1.6, "m", id="h"),
        egfr(55, id="e", effectivePeriod={"start": "2026-01-01", "end": "2026-01-02"}),
        pregnancy("LA15173-0"),
    ]
    for _ in range(3000):
        resources = _mutate(copy.deepcopy(base), rng)
        for _ in range(rng.randrange(3)):
            resources = _mutate(resources, rng)
        read_patient_factors(resources, TODAY)


# --- Real examples and the query ---------------------------------------------------------------


def _example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.json") if '"Patient"' in p.read_text())


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_real_examples_read(path: Path) -> None:
    factors = read_patient_factors([json.loads(path.read_text())], TODAY)
    assert factors.notes == ()


def test_real_examples_values() -> None:
    stu3 = EXAMPLES / "hl7-genomics-reporting-stu3" / "Patient-CGPatientExample01.json"
    factors = read_patient_factors([json.loads(stu3.read_text())], TODAY)
    assert (int(factors.age_years or 0), factors.sex) == (75, "male")
    emerge = EXAMPLES / "emerge-fhir-spec" / "Standard" / "GenomicReportFHIRBundlePositive1.json"
    factors = read_patient_factors([json.loads(emerge.read_text())], TODAY)
    assert factors.ancestry == frozenset({"black-or-african-american"})


def test_code_lists_are_distinct_and_all_queried() -> None:
    assert len(set(FACTOR_OBSERVATION_CODES)) == len(FACTOR_OBSERVATION_CODES)
    assert set(FACTOR_OBSERVATION_CODES) == {
        *WEIGHT_CODES,
        *HEIGHT_CODES,
        *EGFR_CODES,
        *PREGNANCY_CODES,
    }
    query = factor_observation_query("{{context.patientId}}")
    assert query.startswith("Observation?patient={{context.patientId}}&code=http://loinc.org|")
    assert query.endswith("&_sort=-date&_count=100")
    assert query.count("http://loinc.org|") == len(FACTOR_OBSERVATION_CODES)


def test_patient_and_medication_queries() -> None:
    assert patient_query("{{context.patientId}}") == "Patient/{{context.patientId}}"
    assert active_medication_queries("{{context.patientId}}") == (
        "MedicationRequest?patient={{context.patientId}}&status=active&_count=100",
        "MedicationStatement?patient={{context.patientId}}&status=active,intended&_count=100",
    )
