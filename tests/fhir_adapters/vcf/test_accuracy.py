"""Agreement with PharmCAT and GeT-RM on every truth VCF (figures in docs/accuracy.md)."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.accuracy import EXPLAINED, Comparison, compare_all, markdown


@pytest.fixture(scope="module")
def comparisons() -> list[Comparison]:
    return compare_all()


def test_every_disagreement_is_explained(comparisons: list[Comparison]) -> None:
    unexplained = [c for c in comparisons if not c.agree and c.explanation is None]
    assert unexplained == []


def test_no_explanation_is_stale(comparisons: list[Comparison]) -> None:
    disagreeing = {(c.truth, c.case, c.gene) for c in comparisons if not c.agree}
    assert set(EXPLAINED) <= disagreeing


def test_the_agreement_figures(comparisons: list[Comparison]) -> None:
    cases = Counter(c.truth for c in comparisons)
    agree = Counter(c.truth for c in comparisons if c.agree)
    # Every VCF under truth/ and every gene PharmCAT called there.
    assert cases["oracle"] == 344
    assert agree["oracle"] == 343
    # PharmCAT's official example outputs: every diplotype and every phenotype.
    assert agree["official"] == cases["official"] == 76
    # GeT-RM: CYP2C9 and CYP2C19 agree for all three samples; CYP2C8 has no definitions.
    assert (agree["getrm"], cases["getrm"]) == (6, 9)


def test_the_documented_table_is_current(comparisons: list[Comparison]) -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "accuracy.md").read_text()
    assert markdown(comparisons) in doc, "regenerate: python benchmarks/accuracy.py"
