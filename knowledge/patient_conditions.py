"""Whether a patient condition (age, sex, weight, pregnancy, eGFR, ancestry) holds for a patient.

Three answers, never a guess: it holds, it does not, or it cannot be told because a factor it needs
is not on file — then the missing factors are named so the card can say what to check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from knowledge.patient import FACTOR_LABELS, PatientFactors
from knowledge.schema import PatientCondition

__all__ = ["Fit", "describe", "fits", "missing_labels"]

_NOTHING = PatientFactors()


@dataclass(frozen=True, slots=True)
class Fit:
    """``holds``: True or False when decided; None when ``missing`` factors would decide it."""

    holds: bool | None
    missing: tuple[str, ...] = ()


def fits(conditions: Iterable[PatientCondition], factors: PatientFactors | None) -> Fit:
    """Whether every condition holds. A bound the known factors break decides False at once."""
    patient = factors or _NOTHING
    missing: set[str] = set()
    for condition in conditions:
        for name, holds in _checks(condition, patient):
            if holds is False:
                return Fit(False)
            if holds is None:
                missing.add(name)
    if missing:
        return Fit(None, tuple(patient.missing(missing)))
    return Fit(True)


def _checks(c: PatientCondition, p: PatientFactors) -> list[tuple[str, bool | None]]:
    """(factor, verdict) for every bound the condition sets; None where the factor is missing."""
    found: list[tuple[str, bool | None]] = []

    def bound(name: str, value: float | None, low: float | None, high: float | None) -> None:
        if low is None and high is None:
            return
        if value is None:
            found.append((name, None))
            return
        found.append((name, (low is None or value >= low) and (high is None or value < high)))

    bound("age_years", p.age_years, c.age_at_least, c.age_below)
    bound("weight_kg", p.weight_kg, c.weight_at_least, c.weight_below)
    bound("egfr", p.egfr, c.egfr_at_least, c.egfr_below)
    if c.sex is not None:
        # "other"/"unknown" cannot tell which sex-specific advice applies.
        known = p.sex if p.sex in ("female", "male") else None
        found.append(("sex", None if known is None else known == c.sex))
    if c.pregnant is not None:
        found.append(("pregnant", None if p.pregnant is None else p.pregnant == c.pregnant))
    if c.ancestry or c.not_ancestry:
        if not p.ancestry:
            found.append(("ancestry", None))
        else:
            holds = (not c.ancestry or bool(p.ancestry & set(c.ancestry))) and not (
                p.ancestry & set(c.not_ancestry)
            )
            found.append(("ancestry", holds))
    return found


def describe(condition: PatientCondition) -> str:
    """The condition as a card says it: ``age under 12 years``, ``eGFR 30 or more``."""
    parts = []
    for label, low, high, unit in (
        ("age", condition.age_at_least, condition.age_below, " years"),
        ("weight", condition.weight_at_least, condition.weight_below, " kg"),
        ("eGFR", condition.egfr_at_least, condition.egfr_below, " mL/min/1.73 m²"),
    ):
        if low is not None and high is not None:
            parts.append(f"{label} {_n(low)} to under {_n(high)}{unit}")
        elif high is not None:
            parts.append(f"{label} under {_n(high)}{unit}")
        elif low is not None:
            parts.append(f"{label} {_n(low)}{unit} or more")
    if condition.sex is not None:
        parts.append(condition.sex)
    if condition.pregnant is not None:
        parts.append("pregnant" if condition.pregnant else "not pregnant")
    if condition.ancestry:
        parts.append("ancestry " + " or ".join(_ancestry(a) for a in condition.ancestry))
    if condition.not_ancestry:
        parts.append(
            "ancestry other than " + " or ".join(_ancestry(a) for a in condition.not_ancestry)
        )
    return ", ".join(parts)


def missing_labels(names: Iterable[str]) -> str:
    """``age and weight``: how a card names missing factors."""
    labels = [FACTOR_LABELS.get(n, n) for n in names]
    return (
        " and ".join(labels) if len(labels) < 3 else ", ".join(labels[:-1]) + f" and {labels[-1]}"
    )


def _ancestry(code: str) -> str:
    return code.replace("-", " ")


def _n(value: float) -> str:
    return f"{value:g}"
