"""Fidelity to CPIC, measured: every export row, evaluated end to end, gives the export's answer."""

from __future__ import annotations

import shutil
from pathlib import Path

from knowledge import KnowledgeBase, load_knowledge_base
from knowledge.fidelity import check_fidelity
from knowledge.loader import bundled_root


def test_every_cpic_recommendation_agrees_with_the_export(kb: KnowledgeBase, shared: Path) -> None:
    report = check_fidelity(kb, shared)
    # 2,054 rows less the 58 "xN combinations" messages; multi-drug rows count once per drug.
    assert report.checked >= 1996
    assert report.disagreements == ()


def test_a_changed_strength_is_reported(tmp_path: Path, shared: Path) -> None:
    root = tmp_path / "knowledge"
    shutil.copytree(Path(str(bundled_root())), root, ignore=shutil.ignore_patterns("*.py"))
    path = root / "guidelines/cpic-codeine.yaml"
    text = path.read_text()
    assert "strength: strong" in text
    path.write_text(text.replace("strength: strong", "strength: optional", 1))

    report = check_fidelity(load_knowledge_base(root), shared)

    assert len(report.disagreements) == 1
    [found] = report.disagreements
    assert (found.export, found.drug) == ("CPIC_codeine_and_CYP2D6.json", "codeine")
    assert "strength 'optional'" in found.reason
