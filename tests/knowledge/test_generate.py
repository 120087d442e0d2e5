"""The generator: committed knowledge files are exactly what the sources produce (drift check)."""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.generate import (
    GenerationError,
    generate,
    generate_guideline,
    split_recommendation_html,
)
from knowledge.loader import bundled_root

BUNDLED = Path(str(bundled_root()))
GENERATED = ["drugs.yaml", "genes/CYP2C19.yaml", "guidelines/cpic-clopidogrel.yaml"]
EXPORT = "pharmcat/guidelines/cpic/CPIC_clopidogrel_and_CYP2C19.json"
KNOWN_DRUGS = {"clopidogrel", "prasugrel", "ticagrelor"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    out = tmp_path_factory.mktemp("generated")
    written = generate(shared, out=out)
    assert sorted(str(p.relative_to(out)) for p in written) == sorted(GENERATED)
    return out


@pytest.fixture(scope="module")
def export(shared: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared / "pgx-data" / EXPORT).read_text())
    return data


@pytest.fixture
def curation() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((BUNDLED / "curation/cpic-clopidogrel.yaml").read_text())
    return data


@pytest.mark.parametrize("name", GENERATED)
def test_committed_file_is_what_the_generator_writes(generated: Path, name: str) -> None:
    assert (generated / name).read_bytes() == (BUNDLED / name).read_bytes(), (
        f"knowledge/{name} differs from its sources: run `python -m knowledge.generate` "
        "and review the diff"
    )


def test_every_export_recommendation_is_generated_once(
    generated: Path, export: dict[str, Any]
) -> None:
    guideline = yaml.safe_load((generated / "guidelines/cpic-clopidogrel.yaml").read_text())
    ours = sorted(r["id"] for r in guideline["recommendations"])
    theirs = sorted(r["id"] for r in export["recommendations"])
    assert (len(ours), ours) == (24, theirs)


def without_html(markup: str) -> str:
    """The export's HTML as plain text, independently of the generator's parser."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_recommendation_text_is_the_export_text_without_html(
    generated: Path, export: dict[str, Any]
) -> None:
    # One test over all 24: it compares a generated file with the file it came from.
    guideline = yaml.safe_load((generated / "guidelines/cpic-clopidogrel.yaml").read_text())
    source = {r["id"]: without_html(r["text"]["html"]) for r in export["recommendations"]}
    mismatches = []
    for rec in guideline["recommendations"]:
        text = rec["recommendation"]
        if "considerations" in rec:
            text += f" Other Considerations {rec['considerations']}"
        if text != source[rec["id"]]:
            mismatches.append(f"{rec['id']}: {text!r} != {source[rec['id']]!r}")
    assert mismatches == []


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        pytest.param("<p>No recommendation</p>\n", ("No recommendation", None), id="plain"),
        pytest.param(
            "<p>Use at standard dose</p>\n"
            '<h4 id="other-considerations">Other Considerations</h4>\n'
            "<p>For neurovascular indications.</p>\n<p>Second paragraph.</p>\n",
            ("Use at standard dose", "For neurovascular indications. Second paragraph."),
            id="other considerations",
        ),
        pytest.param(
            "<p>Avoid.</p><h4>Other Considerations</h4>",
            ("Avoid.", None),
            id="empty other considerations",
        ),
        pytest.param(
            "<p>The strength for &quot;likely&quot; phenotypes</p>",
            ('The strength for "likely" phenotypes', None),
            id="quote entities",
        ),
        pytest.param(
            "<p>If concentration is &lt;200 ng/mL, increase the dose.</p>",
            ("If concentration is <200 ng/mL, increase the dose.", None),
            id="escaped less-than in text",
        ),
        pytest.param(
            # Escaped markup is text, not markup: it is kept as the characters it stands for.
            "<p>dose &lt;b&gt; 5</p>",
            ("dose <b> 5", None),
            id="escaped markup is text",
        ),
        pytest.param(
            "<p>Consider:</p><ul><li>ticagrelor</li><li>ticlopidine</li></ul>",
            ("Consider: - ticagrelor - ticlopidine", None),
            id="list items",
        ),
        pytest.param("<p>Line one<br>line   two</p>", ("Line one line two", None), id="line break"),
    ],
)
def test_split_recommendation_html(markup: str, expected: tuple[str, str | None]) -> None:
    assert split_recommendation_html(markup) == expected


def alternatives_by_population(guideline: dict[str, Any]) -> dict[str, list[list[str]]]:
    """For each population, the alternatives of its 'alternative' recommendations, in id order."""
    found: dict[str, list[list[str]]] = {}
    for rec in guideline["recommendations"]:
        if rec["action"] == "alternative":
            drugs = [a["drug"] for a in rec.get("alternatives", [])]
            found.setdefault(rec["population"], []).append(drugs)
    return found


def test_curated_alternatives_are_attached_by_population(
    shared: Path, curation: dict[str, Any]
) -> None:
    guideline = generate_guideline(shared, "cpic-clopidogrel", curation, KNOWN_DRUGS)
    both = ["prasugrel", "ticagrelor"]
    assert alternatives_by_population(guideline) == {
        "CVI ACS PCI": [both] * 4,
        "CVI non-ACS non-PCI": [both] * 2,
        "NVI": [["ticagrelor"]] * 4,
    }


def test_curated_alternative_whose_quote_is_not_in_the_text_gives_none(
    shared: Path, curation: dict[str, Any]
) -> None:
    changed = copy.deepcopy(curation)
    [nvi] = [rule for rule in changed["alternatives"] if rule["population"] == "NVI"]
    nvi["quote"] = "Ticagrelor is the preferred alternative."

    guideline = generate_guideline(shared, "cpic-clopidogrel", changed, KNOWN_DRUGS)

    both = ["prasugrel", "ticagrelor"]
    assert alternatives_by_population(guideline) == {
        "CVI ACS PCI": [both] * 4,
        "CVI non-ACS non-PCI": [both] * 2,
        "NVI": [[]] * 4,
    }


def test_curated_alternative_not_in_drugs_is_refused(
    shared: Path, curation: dict[str, Any]
) -> None:
    with pytest.raises(GenerationError) as caught:
        generate_guideline(shared, "cpic-clopidogrel", curation, {"clopidogrel", "ticagrelor"})
    assert str(caught.value) == (
        "cpic-clopidogrel: alternatives ['prasugrel'] are not in drugs.yaml"
    )


def test_population_quote_not_in_the_text_is_refused(
    shared: Path, curation: dict[str, Any]
) -> None:
    changed = copy.deepcopy(curation)
    changed["populations"]["NVI"]["quote"] = "For stroke."
    with pytest.raises(GenerationError) as caught:
        generate_guideline(shared, "cpic-clopidogrel", changed, KNOWN_DRUGS)
    assert str(caught.value) == "cpic-clopidogrel: PA166297584: population quote not found"
