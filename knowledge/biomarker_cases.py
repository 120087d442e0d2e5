"""Run the test cases a targeted drug's rules carry about themselves (pytest and the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from knowledge.base import KnowledgeBase
from knowledge.biomarker_check import DEFAULT_INDICATORS, check_biomarkers
from knowledge.oncology_schema import BiomarkerCase, CaseFinding, TargetedDrug
from knowledge.protein_change import parse_protein_change
from knowledge.tumour import BiomarkerResult, Finding, TumourProfile

__all__ = ["BiomarkerCaseOutcome", "iter_biomarker_cases", "profile_of", "run_biomarker_case"]


@dataclass(frozen=True, slots=True)
class BiomarkerCaseOutcome:
    drug: str
    case: BiomarkerCase
    failures: tuple[str, ...]

    @property
    def id(self) -> str:
        """``oncology/osimertinib::no EGFR result on file - test required``."""
        return f"oncology/{self.drug}::{self.case.name}"

    @property
    def passed(self) -> bool:
        return not self.failures


def iter_biomarker_cases(kb: KnowledgeBase) -> Iterator[tuple[TargetedDrug, BiomarkerCase]]:
    if kb.oncology is None:
        return
    for name in sorted(kb.oncology.drugs):
        rules = kb.oncology.drugs[name]
        for case in rules.tests:
            yield rules, case


def run_biomarker_case(
    kb: KnowledgeBase, rules: TargetedDrug, case: BiomarkerCase
) -> BiomarkerCaseOutcome:
    """Check the case's tumour results for the drug and compare with what it expects."""
    assert kb.oncology is not None
    tumour = None if case.tumour is None else kb.oncology.with_parents([case.tumour])
    check = check_biomarkers(kb, rules.drug, profile_of(case), tumour)
    outcome = check.outcome if check is not None else "none"
    failures = []
    expect = case.expect
    if outcome != expect.outcome:
        failures.append(f"expected outcome {expect.outcome}, got {outcome}")
    if expect.indicator is not None and DEFAULT_INDICATORS[outcome] != expect.indicator:
        failures.append(
            f"expected indicator {expect.indicator}, got {DEFAULT_INDICATORS[outcome] or 'no card'}"
        )
    if expect.suggests is not None and check is not None:
        suggested = {a for hit in check.resistance for a in hit.resistance.alternatives}
        missing = sorted(set(expect.suggests) - suggested)
        if missing:
            failures.append(f"expected suggestions {missing}, got {sorted(suggested)}")
    if failures and check is not None:
        # Say what the markers were called, so a pharmacist sees why.
        for call in check.candidates:
            for marker in call.required:
                failures.append(f"{call.indication.id}: {marker.marker_id} {marker.status}")
            for hit in call.resistance:
                failures.append(
                    f"{call.indication.id}: resistance {hit.call.marker_id} {hit.call.status}"
                )
    return BiomarkerCaseOutcome(rules.drug, case, tuple(failures))


def profile_of(case: BiomarkerCase) -> TumourProfile:
    """The tumour results a case describes, as the FHIR reader would give them."""
    findings = tuple(_finding(f) for f in case.findings)
    biomarkers = tuple(
        BiomarkerResult(
            kind=b.kind,
            text=b.answer or (f"{b.value:g}" if b.value is not None else b.kind),
            value=b.value,
            answers=frozenset({b.answer}) if b.answer else frozenset(),
        )
        for b in case.biomarkers
    )
    return TumourProfile(
        findings=findings, biomarkers=biomarkers, tested_genes=frozenset(case.tested)
    )


def _finding(given: CaseFinding) -> Finding:
    partners = frozenset({given.gene} | ({given.partner} if given.partner else set()))
    common = {"gene": given.gene, "present": given.present, "origin": given.origin}
    if given.iscn is not None:
        return Finding(
            kind="rearrangement",
            label=f"{given.gene} {given.iscn}",
            iscn=given.iscn,
            partners=partners,
            **common,  # type: ignore[arg-type]
        )
    if given.fusion or given.partner is not None:
        return Finding(kind="fusion", label=f"{given.gene} fusion", partners=partners, **common)  # type: ignore[arg-type]
    if given.copy_change is not None or given.copies is not None:
        return Finding(
            kind="copy-number",
            label=f"{given.gene} {given.copy_change or 'copy number'}",
            copy_change=given.copy_change,
            copy_number=given.copies,
            **common,  # type: ignore[arg-type]
        )
    change = parse_protein_change(given.protein) if given.protein else None
    return Finding(
        kind="variant",
        label=f"{given.gene} {change.text if change else given.protein or 'variant'}",
        protein=change,
        protein_hgvs=given.protein,
        significance=given.significance,
        **common,  # type: ignore[arg-type]
    )
