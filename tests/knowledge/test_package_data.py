"""Every knowledge data file ships in the wheel: the image installs the wheel, not the checkout."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
    "package-data"
]["knowledge"]
DATA = sorted(
    p.relative_to(ROOT / "knowledge").as_posix()
    for suffix in ("*.yaml", "*.json")
    for p in (ROOT / "knowledge").rglob(suffix)
)


@pytest.mark.parametrize("path", DATA)
def test_data_file_matches_a_package_data_pattern(path: str) -> None:
    # fnmatch's * also crosses '/', so compare folder by folder.
    assert any(
        fnmatch(path, pattern) and path.count("/") == pattern.count("/") for pattern in PATTERNS
    ), f"add a pattern for {path} to [tool.setuptools.package-data] knowledge"


def test_the_oncology_rules_are_among_them() -> None:
    assert any(p.startswith("oncology/drugs/") for p in DATA)
