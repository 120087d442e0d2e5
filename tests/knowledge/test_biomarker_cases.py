"""The test cases each targeted drug's rules carry: one pytest parameter per case (#8)."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge import load_knowledge_base
from knowledge.biomarker_cases import iter_biomarker_cases, run_biomarker_case
from knowledge.oncology_schema import BiomarkerCase, TargetedDrug

KB = load_knowledge_base()
assert KB.oncology is not None
ONCOLOGY = KB.oncology
# The drugs issue #8 names: each must have rules.
REQUIRED_DRUGS = [
    "osimertinib",
    "gefitinib",
    "erlotinib",
    "afatinib",
    "amivantamab",
    "dabrafenib",
    "vemurafenib",
    "encorafenib",
    "trametinib",
    "cobimetinib",
    "trastuzumab",
    "pertuzumab",
    "alectinib",
    "crizotinib",
    "lorlatinib",
    "entrectinib",
    "larotrectinib",
    "sotorasib",
    "adagrasib",
    "olaparib",
    "rucaparib",
    "niraparib",
    "talazoparib",
    "imatinib",
    "dasatinib",
    "nilotinib",
    "cetuximab",
    "panitumumab",
    "pembrolizumab",
    "ivosidenib",
    "midostaurin",
    "gilteritinib",
]


def case_param(rules: TargetedDrug, case: BiomarkerCase) -> Any:
    """A case as a pytest parameter; a ``todo`` case is a known gap, so a strict xfail."""
    marks = [] if case.todo is None else [pytest.mark.xfail(strict=True, reason=case.todo)]
    return pytest.param(rules, case, marks=marks, id=f"{rules.drug}::{case.name}")


@pytest.mark.parametrize(("rules", "case"), [case_param(d, c) for d, c in iter_biomarker_cases(KB)])
def test_biomarker_case(rules: TargetedDrug, case: BiomarkerCase) -> None:
    assert run_biomarker_case(KB, rules, case).failures == ()


@pytest.mark.parametrize("drug", REQUIRED_DRUGS)
def test_every_drug_the_issue_names_has_rules(drug: str) -> None:
    assert drug in ONCOLOGY.drugs, f"add knowledge/oncology/drugs/{drug}.yaml"


@pytest.mark.parametrize("rules", list(ONCOLOGY.drugs.values()), ids=lambda d: d.drug)
def test_every_drug_has_a_quiet_case_and_a_card_case(rules: TargetedDrug) -> None:
    outcomes = {case.expect.outcome for case in rules.tests if case.todo is None}
    assert outcomes & {"documented", "none"}, "add a case that raises no card"
    if _can_raise_a_card(rules):
        assert outcomes - {"documented", "none"}, "add a case that raises a card"


def _can_raise_a_card(rules: TargetedDrug) -> bool:
    """False for a drug whose every biomarker indication shares its tumours with a free one.

    Niraparib: first-line ovarian maintenance needs no biomarker, so no ovarian order can be
    told it lacks one (the prescriber may be using that indication).
    """
    free = {t for i in rules.indications if i.requires is None for t in i.tumour}
    return bool(rules.limitations) or any(
        i.resistance or (i.requires is not None and not set(i.tumour) <= free)
        for i in rules.indications
    )


@pytest.mark.parametrize("rules", list(ONCOLOGY.drugs.values()), ids=lambda d: d.drug)
def test_every_rule_quotes_an_fda_label(rules: TargetedDrug) -> None:
    assert rules.label.url.startswith("https://www.accessdata.fda.gov/")
    for indication in rules.indications:
        assert indication.quote.strip()
        if indication.requires is not None:
            assert indication.requires.quote.strip()


def test_a_failing_case_says_how_each_marker_was_called() -> None:
    rules = ONCOLOGY.drugs["osimertinib"]
    case = BiomarkerCase.model_validate(
        {"name": "wrong on purpose", "tumour": "nsclc", "expect": {"outcome": "documented"}}
    )
    failures = run_biomarker_case(KB, rules, case).failures
    assert failures[0] == "expected outcome documented, got test-required"
    assert any("egfr-l858r not-on-file" in f for f in failures)


def test_the_case_id_names_the_drug_and_the_case() -> None:
    rules, case = next((d, c) for d, c in iter_biomarker_cases(KB) if d.drug == "osimertinib")
    assert run_biomarker_case(KB, rules, case).id == f"oncology/osimertinib::{case.name}"
