"""Read age, sex, race, weight, height, eGFR and pregnancy status from Patient and Observations."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from fhir_adapters.resources import Resource, all_resources, codings, reference_of
from knowledge.patient import PatientFactors, Sex

__all__ = [
    "EGFR_CODES",
    "FACTOR_OBSERVATION_CODES",
    "HEIGHT_CODES",
    "PREGNANCY_CODES",
    "WEIGHT_CODES",
    "read_patient_factors",
]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"

# Body weight codes of FHIR's vital-signs body weight value set, less 8335-2 "Body weight
# Estimated": an estimate is not a measurement a dose can rest on.
# https://build.fhir.org/valueset-observation-vitalsign-bodyweight.html
WEIGHT_CODES: tuple[str, ...] = (
    "29463-7",  # Body weight
    "3141-9",  # Body weight Measured
    "3142-7",  # Body weight Stated
    "8350-1",  # Body weight Measured --with clothes
    "8351-9",  # Body weight Measured --without clothes
)
# Body height codes of FHIR's vital-sign measurement value set that measure stature; not
# 8301-4 (estimated), 8305-5 (post partum), 8307-1 (preoperative) or 92999-2 (sitting height).
# https://hl7.org/fhir/6.0.0-ballot3/valueset-observation-vitalsign-measurement.html
HEIGHT_CODES: tuple[str, ...] = (
    "8302-2",  # Body height
    "3137-7",  # Body height Measured
    "3138-5",  # Body height Stated
    "8306-3",  # Body height --lying (infants)
    "8308-9",  # Body height --standing
)
# eGFR normalised to 1.73 m2, each code confirmed against a published value set or example:
#   [cpg] https://hl7.org/fhir/uv/cpg/STU1/ValueSet-ckd-valueset-egfr.html (and its source,
#         cqframework/cpg-example-ckd input/fsh/terminology/valueset-egfr-lab-results.fsh)
#   [f205] https://hl7.org/fhir/r4/observation-example-f205-egfr.json.html
#   [ch-mdrd] https://build.fhir.org/ig/hl7ch/ch-lab-report/ValueSet-observation-code-mdrd-male-female.html
#   [ch-2021] https://build.fhir.org/ig/hl7ch/ch-lab-report/StructureDefinition-ch-lab-observation-egfr-cr-ckd-epi-2021.html
#   [ch-epi] https://build.fhir.org/ig/hl7ch/ch-lab-report/Observation-Observation-eGFR-CKD-EPI-male.html
#   [lt] https://build.fhir.org/ig/HL7LT/ig-lt-lab/en/ValueSet-egfr-method.xml.html
#   [dicom] bvdh/dicom-terminology-in-fhir input/fsh/ValueSet-dicom-cid-10046-GFRMeasurement.fsh
# Left out: 35591-7 (Cockcroft-Gault creatinine clearance, mL/min, not per 1.73 m2) and
# 88294-4, 50210-4, 50384-7, whose meaning no published source here confirmed.
EGFR_CODES: tuple[str, ...] = (
    "98979-8",  # CKD-EPI 2021, creatinine [ch-2021]
    "98980-6",  # CKD-EPI 2021, creatinine and cystatin C [ch-2021]
    "62238-1",  # CKD-EPI [lt, dicom]
    "33914-3",  # MDRD, serum or plasma [cpg, f205]
    "77147-7",  # MDRD, serum, plasma or blood [cpg, ch-mdrd]
    "76633-7",  # MDRD, blood [cpg]
    "69405-9",  # in the CPG eGFR value set [cpg]
    "50044-7",  # MDRD among females [ch-mdrd]
    "70969-1",  # MDRD among males [ch-mdrd]
    "48642-3",  # MDRD among non-blacks [dicom]
    "48643-1",  # MDRD among blacks [f205, dicom]
    "88293-6",  # CKD-EPI among blacks [ch-epi]
)
# Race-specific estimates: a lab reports two for one sample, so at equal dates a race-free
# result is preferred and two race-specific ones that disagree are not chosen between.
_RACE_SPECIFIC_EGFR = frozenset({"48642-3", "48643-1", "88293-6"})
# 82810-3 is the IPS pregnancy status code (answers below); 11449-6 "Pregnancy status" is the
# C-CDA code many EHRs still send, with SNOMED answers or valueBoolean.
# https://hl7.org/fhir/uv/ips/StructureDefinition-Observation-pregnancy-status-uv-ips-definitions.html
PREGNANCY_CODES: tuple[str, ...] = ("82810-3", "11449-6")
# Answers of the IPS pregnancy status value set and their SNOMED CT equivalents per IPS's map;
# LA4489-6 "Unknown" reads as not on file.
# https://hl7.org/fhir/uv/ips/ValueSet-pregnancy-status-uv-ips.html
_PREGNANCY_ANSWERS: Mapping[tuple[str, str], bool | None] = {
    (LOINC, "LA15173-0"): True,
    (LOINC, "LA26683-5"): False,
    (LOINC, "LA4489-6"): None,
    (SNOMED, "77386006"): True,
    (SNOMED, "60001007"): False,
}
# One list for the query (queries.factor_observation_query) and the reader.
FACTOR_OBSERVATION_CODES: tuple[str, ...] = (
    WEIGHT_CODES + HEIGHT_CODES + EGFR_CODES + PREGNANCY_CODES
)

# US Core race extension, its OMB categories (CDC Race & Ethnicity code system) and the two
# NullFlavors its value set adds ("unknown", "asked but unknown"), which read as an empty set.
# https://hl7.org/fhir/us/core/StructureDefinition-us-core-race.html
# https://hl7.org/fhir/us/core/STU5.0.1/ValueSet-omb-race-category.html
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
OMB_RACE: Mapping[str, str] = {
    "1002-5": "american-indian-or-alaska-native",
    "2028-9": "asian",
    "2054-5": "black-or-african-american",
    "2076-8": "native-hawaiian-or-other-pacific-islander",
    "2106-3": "white",
}
_DECLINED = frozenset({"UNK", "ASKU"})

# Only verified results: "preliminary" may still change, and a dose must not rest on it.
_USABLE_STATUSES = frozenset({"final", "amended", "corrected"})
_IGNORED_STATUSES = frozenset({"entered-in-error", "cancelled"})
# How long a pregnancy status holds: a pregnancy recorded more than 42 weeks ago has ended, and
# "not pregnant" says little after a month.
PREGNANT_VALID_FOR = datetime.timedelta(weeks=42)
NOT_PREGNANT_VALID_FOR = datetime.timedelta(days=30)

_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}
_CM = {"cm": 1.0, "m": 100.0, "mm": 0.1, "[in_i]": 2.54, "in": 2.54, "[ft_i]": 30.48}
_EGFR_UNIT = "ml/min/1.73m2"
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARTIAL_DATE = re.compile(r"\d{4}(-\d{2})?")
_DATE_TIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True, slots=True)
class _Reading:
    """One candidate value of a factor, from one Observation (or one of its components)."""

    value: float | bool | None
    refused: str | None
    when: datetime.datetime | None
    issued: datetime.datetime | None
    preferred: bool
    source: str

    @property
    def key(self) -> tuple[datetime.datetime, datetime.datetime, bool]:
        return (self.when or _EARLIEST, self.issued or _EARLIEST, self.preferred)


def read_patient_factors(
    resources: Iterable[Mapping[str, Any]], today: datetime.date
) -> PatientFactors:
    """The factors in ``resources`` (resources or Bundles); what cannot be used is in ``notes``.

    Never raises on malformed FHIR: anything of the wrong shape is skipped and said so.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []
    flat = all_resources(resources)
    patients = [r for r in flat if r.get("resourceType") == "Patient"]
    if patients:
        _read_patient(patients[0], today, values, sources, notes)
        others = {reference_of(p) for p in patients[1:]} - {reference_of(patients[0])}
        if others:
            notes.append(f"several Patient resources; read {_name(patients[0])} only")
    readings: dict[str, list[_Reading]] = {}
    for resource in flat:
        if resource.get("resourceType") == "Observation":
            for factor, reading in _observation_readings(resource, notes):
                readings.setdefault(factor, []).append(reading)
    for factor in ("weight_kg", "height_cm", "egfr"):
        _choose_measurement(factor, readings.get(factor, []), values, sources, notes)
    _choose_pregnancy(readings.get("pregnant", []), today, values, sources, notes)
    return PatientFactors(**values, sources=sources, notes=tuple(notes))


def _name(resource: Resource) -> str:
    return reference_of(resource) or f"{resource.get('resourceType')} (no id)"


# --- Patient -------------------------------------------------------------------------------


def _read_patient(
    patient: Resource,
    today: datetime.date,
    values: dict[str, Any],
    sources: dict[str, str],
    notes: list[str],
) -> None:
    source = _name(patient)
    age, note = _age(patient.get("birthDate"), today)
    if age is not None:
        values["age_years"] = age
        sources["age_years"] = f"{source} (birthDate)"
    if note:
        notes.append(f"{source}: {note}")
    gender = patient.get("gender")
    if gender in get_args(Sex):
        values["sex"] = gender
        sources["sex"] = f"{source} (gender)"
    elif gender is not None:
        notes.append(f"{source}: gender {gender!r} is not one of female, male, other, unknown")
    ancestry, note = _ancestry(patient.get("extension"))
    if ancestry is not None:
        values["ancestry"] = ancestry
        sources["ancestry"] = f"{source} (US Core race)"
    if note:
        notes.append(f"{source}: {note}")


def _age(birth_date: Any, today: datetime.date) -> tuple[float | None, str | None]:
    """Completed years plus the part of the current year, to the day; partial dates give none."""
    if birth_date is None:
        return None, None
    if not isinstance(birth_date, str):
        return None, "birthDate is not a date string"
    if _PARTIAL_DATE.fullmatch(birth_date):
        return None, f"birthDate {birth_date} gives no exact age"
    if not _FULL_DATE.fullmatch(birth_date):
        return None, f"birthDate {birth_date!r} is not a FHIR date"
    try:
        born = datetime.date.fromisoformat(birth_date)
    except ValueError:
        return None, f"birthDate {birth_date!r} is not a calendar date"
    if born > today:
        return None, f"birthDate {birth_date} is in the future"
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    last = _anniversary(born, born.year + years)
    following = _anniversary(born, born.year + years + 1)
    return years + (today - last).days / (following - last).days, None


def _anniversary(born: datetime.date, year: int) -> datetime.date:
    # Someone born on 29 February has their birthday on 28 February in common years.
    try:
        return born.replace(year=year)
    except ValueError:
        return born.replace(year=year, day=28)


def _ancestry(extensions: Any) -> tuple[frozenset[str] | None, str | None]:
    races = [
        e for e in _list(extensions) if isinstance(e, Mapping) and e.get("url") == US_CORE_RACE
    ]
    if not races:
        return None, None
    found: set[str] = set()
    declined = False
    unmapped: list[str] = []
    for race in races:
        for part in _list(race.get("extension")):
            if not isinstance(part, Mapping) or part.get("url") != "ombCategory":
                continue
            coding = part.get("valueCoding")
            if not isinstance(coding, Mapping):
                continue
            system, code = coding.get("system"), str(coding.get("code"))
            if system == CDC_RACE and code in OMB_RACE:
                found.add(OMB_RACE[code])
            elif system == NULL_FLAVOR and code in _DECLINED:
                declined = True
            else:
                unmapped.append(f"{system}|{code}")
    if found:
        note = f"race codes not read: {', '.join(unmapped)}" if unmapped else None
        return frozenset(found), note
    if declined:
        return frozenset(), None
    if unmapped:
        return frozenset(), f"race given only as {', '.join(unmapped)}, not an OMB category"
    return None, "the race extension has no ombCategory; detailed codes and text are not read"


# --- Observations ----------------------------------------------------------------------------


def _observation_readings(
    observation: Resource, notes: list[str]
) -> Iterator[tuple[str, _Reading]]:
    """(factor, reading) for the Observation's own code and for each component we know."""
    parts: list[tuple[Mapping[str, Any], bool]] = [(observation, True)]
    parts += [(c, False) for c in _list(observation.get("component")) if isinstance(c, Mapping)]
    matches = [(part, own, factor, code) for part, own in parts for factor, code in _factors(part)]
    if not matches:
        return
    status = str(observation.get("status"))
    source = _name(observation)
    if status in _IGNORED_STATUSES:
        return
    if status not in _USABLE_STATUSES:
        notes.append(
            f"{source}: status {status}; only final, amended or corrected results are used"
        )
        return
    when, when_text = _effective(observation)
    if when is None and any(k.startswith("effective") for k in observation):
        notes.append(f"{source}: effective[x] is not a FHIR date or period; read as undated")
    issued = _instant(observation.get("issued"))
    label = f"{source} ({when_text})" if when_text else f"{source} (undated)"
    for part, own, factor, code in matches:
        value, refused = _value(factor, part)
        preferred = own and code not in _RACE_SPECIFIC_EGFR
        yield factor, _Reading(value, refused, when, issued, preferred, label)


def _factors(part: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for coding in codings(part.get("code")):
        if coding.get("system") != LOINC:
            continue
        code = coding.get("code")
        for factor, codes in (
            ("weight_kg", WEIGHT_CODES),
            ("height_cm", HEIGHT_CODES),
            ("egfr", EGFR_CODES),
            ("pregnant", PREGNANCY_CODES),
        ):
            if code in codes:
                yield factor, code
                return


def _effective(observation: Resource) -> tuple[datetime.datetime | None, str | None]:
    """When the result applies: effectiveDateTime/Instant, else the period's end, else start."""
    candidates = [observation.get("effectiveDateTime"), observation.get("effectiveInstant")]
    period = observation.get("effectivePeriod")
    if isinstance(period, Mapping):
        candidates += [period.get("end"), period.get("start")]
    for text in candidates:
        when = _instant(text)
        if when is not None and isinstance(text, str):
            return when, text[:10]
    return None, None


def _instant(text: Any) -> datetime.datetime | None:
    """A FHIR date/dateTime/instant as an aware datetime (partial dates at their start)."""
    if not isinstance(text, str):
        return None
    match = _DATE_TIME.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        tz = datetime.UTC
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = datetime.timezone(sign * offset)
        return datetime.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except (ValueError, OverflowError):
        return None


def _value(factor: str, part: Mapping[str, Any]) -> tuple[float | bool | None, str | None]:
    """The value in our unit, or why there is none (the reason names no patient value)."""
    if part.get("dataAbsentReason") is not None:
        return None, "no value (dataAbsentReason)"
    if factor == "pregnant":
        return _pregnancy(part)
    quantity = part.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        return None, "no valueQuantity"
    number = quantity.get("value")
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        return None, "valueQuantity.value is not a number"
    if quantity.get("comparator") is not None:
        return None, f"the value is a bound ({quantity.get('comparator')}), not a measurement"
    if number <= 0:
        return None, "the value is not positive"
    unit = _unit(quantity)
    if unit is None:
        return None, "the value has no unit"
    if factor == "egfr":
        if _egfr_unit(unit) == _EGFR_UNIT:
            return float(number), None
        return None, f"unit {unit!r} is not mL/min/1.73 m2"
    table = _KG if factor == "weight_kg" else _CM
    if unit in table:
        return float(number) * table[unit], None
    return None, f"unit {unit!r} cannot be converted to {'kg' if factor == 'weight_kg' else 'cm'}"


def _unit(quantity: Mapping[str, Any]) -> str | None:
    """The UCUM code when the quantity is coded in UCUM (or uncoded), else its human unit."""
    code, unit = quantity.get("code"), quantity.get("unit")
    if isinstance(code, str) and code and quantity.get("system") in (UCUM, None):
        return code
    return unit.strip() if isinstance(unit, str) and unit.strip() else None


def _egfr_unit(unit: str) -> str:
    """``mL/min/{1.73_m2}``, ``mL/min/1.73m2``, ``mL/min/1.73 m²`` … all read the same."""
    folded = unit.lower().replace(" ", "").replace("²", "2").replace("^2", "2")
    return folded.replace("{1.73_m2}", "1.73m2").replace("1.73sqm", "1.73m2")


def _pregnancy(part: Mapping[str, Any]) -> tuple[bool | None, str | None]:
    if isinstance(part.get("valueBoolean"), bool):
        return bool(part["valueBoolean"]), None
    for coding in codings(part.get("valueCodeableConcept")):
        answer = (str(coding.get("system")), str(coding.get("code")))
        if answer in _PREGNANCY_ANSWERS:
            verdict = _PREGNANCY_ANSWERS[answer]
            return verdict, None if verdict is not None else "pregnancy status is unknown"
    return None, "the answer is not one of Pregnant, Not pregnant, Unknown"


def _ranked(readings: list[_Reading]) -> list[_Reading]:
    return sorted(readings, key=lambda r: r.key, reverse=True)


def _choose_measurement(
    factor: str,
    readings: list[_Reading],
    values: dict[str, Any],
    sources: dict[str, str],
    notes: list[str],
) -> None:
    """The most recent usable value; older values stand, since ``sources`` shows the date."""
    label = _LABELS[factor]
    for reading in readings:
        if reading.refused:
            notes.append(f"{reading.source}: {label} not used: {reading.refused}")
    usable = _ranked([r for r in readings if r.refused is None])
    if not usable:
        return
    best = [r for r in usable if r.key == usable[0].key]
    if len({round(float(r.value or 0), 2) for r in best}) > 1:
        where = ", ".join(sorted({r.source for r in best}))
        notes.append(f"{label} not used: results of the same time disagree ({where})")
        return
    values[factor] = float(best[0].value or 0)
    sources[factor] = best[0].source


def _choose_pregnancy(
    readings: list[_Reading],
    today: datetime.date,
    values: dict[str, Any],
    sources: dict[str, str],
    notes: list[str],
) -> None:
    """The most recent answer decides, even "unknown"; an old or undated answer says nothing."""
    for reading in readings:
        if reading.refused and reading.refused != "pregnancy status is unknown":
            notes.append(f"{reading.source}: pregnancy status not used: {reading.refused}")
    answers = _ranked(
        [r for r in readings if r.refused is None or r.refused == "pregnancy status is unknown"]
    )
    if not answers:
        return
    latest = answers[0]
    if latest.when is None:
        notes.append(f"{latest.source}: pregnancy status not used: it has no date")
        return
    if latest.value is None:
        notes.append(f"{latest.source}: pregnancy status recorded as unknown")
        return
    valid_for = PREGNANT_VALID_FOR if latest.value else NOT_PREGNANT_VALID_FOR
    if today - latest.when.date() > valid_for:
        notes.append(f"{latest.source}: pregnancy status not used: recorded too long ago")
        return
    values["pregnant"] = bool(latest.value)
    sources["pregnant"] = latest.source


_LABELS = {"weight_kg": "weight", "height_cm": "height", "egfr": "eGFR"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
