"""What a drug's rules read beyond genotypes, so that a hook call fetches only that."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase
from knowledge.evaluate import DrugNeeds, drug_needs


@pytest.mark.parametrize(
    ("drug", "expected"),
    [
        # IWPC dose: age, height, weight, race; amiodarone and enzyme inducers from the med list.
        pytest.param("warfarin", DrugNeeds(factors=True, medications=True), id="warfarin"),
        # FDA: not under 12; CPIC: CYP2D6 inhibitors convert the phenotype for the opioids.
        pytest.param("codeine", DrugNeeds(factors=True, medications=True), id="codeine"),
        # CPIC 2022 CYP2C19: no rule on age or the like, no consensus phenoconversion method.
        pytest.param("clopidogrel", DrugNeeds(factors=False, medications=False), id="clopidogrel"),
        pytest.param("no-such-drug", DrugNeeds(factors=False, medications=False), id="unknown"),
    ],
)
def test_drug_needs(kb: KnowledgeBase, drug: str, expected: DrugNeeds) -> None:
    assert drug_needs(kb, drug) == expected


def test_drug_needs_are_worked_out_once_per_knowledge_base(kb: KnowledgeBase) -> None:
    first = drug_needs(kb, "codeine")

    assert drug_needs(kb, "codeine") is first
