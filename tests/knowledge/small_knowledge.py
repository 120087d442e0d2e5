"""A small knowledge folder copied from the bundled files: stable while the rest is regenerated."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from knowledge.loader import bundled_root
from knowledge.yaml_source import load_plain

# One gene of each kind (function pairs or table, activity score, allele status, DPWG diplotype
# rows) and a guideline that uses it.
GENES = ("CYP2C19", "CYP2D6", "HLA-B", "UGT1A1")
GUIDELINES = ("cpic-clopidogrel", "cpic-codeine", "cpic-abacavir", "dpwg-irinotecan-ugt1a1")


def copy_knowledge(target: Path, names: tuple[str, ...]) -> Path:
    """Copy the bundled files ``names`` (paths like ``genes/CYP2C19.yaml``) into ``target``."""
    source = Path(str(bundled_root()))
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name)
    return target


def build_small_knowledge(target: Path) -> Path:
    """Copy the genes and guidelines above into ``target``, with only the drugs they name."""
    source = Path(str(bundled_root()))
    (target / "genes").mkdir(parents=True)
    (target / "guidelines").mkdir()
    for gene in GENES:
        shutil.copy(source / "genes" / f"{gene}.yaml", target / "genes")
    names: set[str] = set()
    for guideline_id in GUIDELINES:
        path = source / "guidelines" / f"{guideline_id}.yaml"
        shutil.copy(path, target / "guidelines")
        guideline = load_plain(path.read_text(encoding="utf-8"))
        names.update(guideline["drugs"])
        names.update(
            alternative["drug"]
            for rec in guideline["recommendations"]
            for alternative in rec.get("alternatives", [])
        )
    table = load_plain((source / "drugs.yaml").read_text(encoding="utf-8"))
    # prasugrel is named only as an alternative: a drug known without a guideline of its own.
    table["drugs"] = {name: drug for name, drug in table["drugs"].items() if name in names}
    (target / "drugs.yaml").write_text(yaml.safe_dump(table, sort_keys=False), encoding="utf-8")
    return target
