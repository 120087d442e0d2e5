"""The test cases each guideline carries about itself: one pytest parameter per case."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge import load_knowledge_base
from knowledge.cases import iter_cases, run_case
from knowledge.schema import Guideline, GuidelineTest
from knowledge.schema import TestExpectation as Expectation  # as "Test*", pytest would collect it

# Loaded at import: the cases are the parameters, so they must exist at collection time.
KB = load_knowledge_base()


def case_param(guideline: Guideline, case: GuidelineTest) -> Any:
    """A case as a pytest parameter; a ``todo`` case is a known gap, so a strict xfail."""
    marks = [] if case.todo is None else [pytest.mark.xfail(strict=True, reason=case.todo)]
    return pytest.param(guideline, case, marks=marks, id=f"{guideline.id}::{case.name}")


@pytest.mark.parametrize(("guideline", "case"), [case_param(g, c) for g, c in iter_cases(KB)])
def test_guideline_case(guideline: Guideline, case: GuidelineTest) -> None:
    assert run_case(KB, guideline, case).failures == ()


CLOPIDOGREL = KB.guidelines["cpic-clopidogrel"]


@pytest.mark.parametrize(
    "guideline", [g for g in KB.guidelines.values() if g.status == "active"], ids=lambda g: g.id
)
def test_guideline_has_positive_and_negative_cases(guideline: Guideline) -> None:
    cards = {case.expect.cards for case in guideline.tests}
    assert 0 in cards, "add a case whose expect is {cards: 0}"
    assert cards - {0, None}, "add a case that expects a card"


def test_case_id_names_the_guideline_and_the_case() -> None:
    guideline, case = next((g, c) for g, c in iter_cases(KB) if g.id == "cpic-clopidogrel")
    outcome = run_case(KB, guideline, case)
    assert outcome.id == "cpic-clopidogrel::poor metabolizer is steered to an alternative"


def test_todo_case_becomes_a_strict_xfail() -> None:
    case = GuidelineTest(
        name="a known gap",
        given={"CYP2C19": "*2/*2"},
        drug="clopidogrel",
        expect=Expectation(cards=2),
        todo="CPIC gives two populations; the card merges them",
    )
    param = case_param(CLOPIDOGREL, case)
    [mark] = param.marks
    assert (param.id, mark.name, mark.kwargs) == (
        "cpic-clopidogrel::a known gap",
        "xfail",
        {"strict": True, "reason": "CPIC gives two populations; the card merges them"},
    )


# The runner must be able to say no: wrong expectations produce these failures, word for word.
@pytest.mark.parametrize(
    ("diplotype", "expect", "failures"),
    [
        pytest.param(
            "*1/*1",
            Expectation(cards=1),
            ("expected 1 card(s), got 0",),
            id="card expected, none shown",
        ),
        pytest.param(
            "*2/*2",
            Expectation(cards=0),
            ("expected 0 card(s), got 1",),
            id="no card expected, one shown",
        ),
        pytest.param(
            "*2/*2",
            Expectation(indicator="critical"),
            ("expected indicator critical, got ['warning']",),
            id="wrong indicator",
        ),
        pytest.param(
            "*1/*1",
            Expectation(indicator="warning"),
            ("expected indicator warning, got no card",),
            id="indicator expected, no card",
        ),
        pytest.param(
            "*2/*2",
            Expectation(suggests=["ticlopidine", "prasugrel"]),
            ("expected suggestions ['ticlopidine'], got ['prasugrel', 'ticagrelor']",),
            id="missing suggestion",
        ),
        pytest.param(
            "*1/*99",
            Expectation(cards=0),
            (
                "expected 0 card(s), got 1",
                "CYP2C19 *1/*99 is not in the CPIC tables",
            ),
            id="diplotype not in the table",
        ),
        pytest.param(
            "*1/*99",
            Expectation(indicator="warning"),
            (
                "expected indicator warning, got ['info']",
                "CYP2C19 *1/*99 is not in the CPIC tables",
            ),
            id="unreadable diplotype explains a wrong indicator",
        ),
        pytest.param("*1/*99", Expectation(indicator="info"), (), id="unreadable met as info"),
    ],
)
def test_run_case_reports_each_unmet_expectation(
    diplotype: str, expect: Expectation, failures: tuple[str, ...]
) -> None:
    case = GuidelineTest(
        name="wrong", given={"CYP2C19": diplotype}, drug="clopidogrel", expect=expect
    )
    assert run_case(KB, CLOPIDOGREL, case).failures == failures
