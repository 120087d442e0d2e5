"""Run the test cases a guideline carries about itself, without pytest (for ``pgx-cds knowledge check``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from knowledge.base import KnowledgeBase
from knowledge.evaluate import evaluate
from knowledge.patient import Comedication, PatientFactors
from knowledge.results import GeneResult
from knowledge.schema import Guideline, GuidelineTest

__all__ = ["CaseOutcome", "iter_cases", "run_case"]


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    guideline_id: str
    case: GuidelineTest
    failures: tuple[str, ...]

    @property
    def id(self) -> str:
        """``cpic-clopidogrel::poor metabolizer is steered to an alternative``."""
        return f"{self.guideline_id}::{self.case.name}"

    @property
    def passed(self) -> bool:
        return not self.failures


def iter_cases(kb: KnowledgeBase) -> Iterator[tuple[Guideline, GuidelineTest]]:
    for guideline_id in sorted(kb.guidelines):
        guideline = kb.guidelines[guideline_id]
        for case in guideline.tests:
            yield guideline, case


def run_case(kb: KnowledgeBase, guideline: Guideline, case: GuidelineTest) -> CaseOutcome:
    """Evaluate the case's genotypes for its drug and compare with what it expects."""
    results = {gene: GeneResult(gene, diplotype=value) for gene, value in case.given.items()}
    patient = None
    if case.patient is not None:
        given = case.patient.model_dump(exclude={"ancestry"})
        ancestry = case.patient.ancestry
        patient = PatientFactors(
            **given, ancestry=frozenset(ancestry) if ancestry is not None else None
        )
    taking = [Comedication(drug, "test case") for drug in case.taking]
    evaluations = [
        e
        for e in evaluate(kb, case.drug, results, patient=patient, comedications=taking)
        if e.guideline.id == guideline.id
    ]
    # The same rule as the service: a card for actionable advice or for a result it cannot read.
    shown = [e for e in evaluations if e.indicator is not None]
    failures = []
    expect = case.expect
    if expect.cards is not None and len(shown) != expect.cards:
        failures.append(f"expected {expect.cards} card(s), got {len(shown)}")
    if expect.indicator is not None:
        got = [e.indicator for e in shown]
        if got != [expect.indicator]:
            failures.append(f"expected indicator {expect.indicator}, got {got or 'no card'}")
    if expect.suggests is not None:
        suggested = {drug for e in shown for drug in e.alternatives}
        missing = sorted(set(expect.suggests) - suggested)
        if missing:
            failures.append(f"expected suggestions {missing}, got {sorted(suggested)}")
    if failures:
        # Say why, when a result the tables cannot read is behind the failure.
        for e in evaluations:
            failures.extend(c.note for c in e.uninterpretable if c.note)
    return CaseOutcome(guideline.id, case, tuple(failures))
