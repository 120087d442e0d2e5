"""The generator: committed knowledge files are exactly what the sources produce (drift check)."""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from knowledge.generate import generate, guideline_sources
from knowledge.generation.common import GenerationError, read_json
from knowledge.generation.guidelines import GuidelineSource, generate_guideline, guideline_id
from knowledge.generation.hgnc import hgnc_ids
from knowledge.generation.text import split_recommendation_html
from knowledge.loader import bundled_root
from knowledge.yaml_source import load_plain

BUNDLED = Path(str(bundled_root()))
EXPORT = "pharmcat/guidelines/cpic/CPIC_clopidogrel_and_CYP2C19.json"
KNOWN_DRUGS = {"clopidogrel", "prasugrel", "ticagrelor"}
LABELS = load_plain((BUNDLED / "curation/populations.yaml").read_text())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(shared, out=out)
    return out


def generated_files() -> list[str]:
    return sorted(
        str(p.relative_to(BUNDLED))
        for p in [
            BUNDLED / "drugs.yaml",
            *BUNDLED.glob("genes/*.yaml"),
            *BUNDLED.glob("guidelines/*.yaml"),
        ]
    )


@pytest.fixture
def curation() -> dict[str, Any]:
    path = BUNDLED / "curation/guidelines/cpic-clopidogrel.yaml"
    data: dict[str, Any] = load_plain(path.read_text())
    return data


def test_generator_writes_exactly_the_committed_files(generated: Path) -> None:
    written = sorted(
        str(p.relative_to(generated)) for p in generated.rglob("*.yaml") if p.is_file()
    )
    assert written == generated_files()


@pytest.mark.parametrize("name", generated_files())
def test_committed_file_is_what_the_generator_writes(generated: Path, name: str) -> None:
    assert (generated / name).read_bytes() == (BUNDLED / name).read_bytes(), (
        f"knowledge/{name} differs from its sources: run `python -m knowledge.generate` "
        "and review the diff"
    )


def test_every_cpic_export_and_the_dpwg_ones_cpic_lacks_are_generated(shared: Path) -> None:
    sources = [s.relative for s in guideline_sources(shared)]
    cpic = sorted(p.name for p in (shared / "pgx-data/pharmcat/guidelines/cpic").glob("*.json"))
    ours = sorted(Path(s).name for s in sources if "/cpic/" in s)
    # Warfarin's export has no rows: CPIC gives a flowchart, generated apart.
    assert ours == [n for n in cpic if not n.startswith("CPIC_warfarin")]
    assert len(ours) == 55
    dpwg_drugs = {
        c["name"]
        for s in sources
        if "/dpwg/" in s
        for c in read_json(shared, s)["guideline"]["relatedChemicals"]
    }
    assert dpwg_drugs.isdisjoint(
        {
            c["name"]
            for s in sources
            if "/cpic/" in s
            for c in read_json(shared, s)["guideline"]["relatedChemicals"]
        }
    )
    assert {"metoprolol", "siponimod", "irinotecan"} <= dpwg_drugs


def without_html(markup: str) -> str:
    """The export's HTML as plain text, independently of the generator's parser."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_every_export_row_is_generated_once_per_drug_with_its_text(
    generated: Path, shared: Path
) -> None:
    missing, wrong_text = [], []
    total = 0
    for source in guideline_sources(shared):
        export = read_json(shared, source.relative)
        ours = load_plain(
            (generated / "guidelines" / f"{guideline_id(source.relative)}.yaml").read_text()
        )
        by_key = {(r["id"], r["drug"]): r for r in ours["recommendations"]}
        for rec in export["recommendations"]:
            keys = json.dumps(rec["lookupKey"])
            if "xN combinations" in keys:
                continue  # left out on purpose; each guideline's notes say so
            for drug in rec["relatedChemicals"]:
                total += 1
                mine = by_key.get((rec["id"], drug["name"]))
                if mine is None:
                    missing.append((source.relative, rec["id"], drug["name"]))
                    continue
                text = mine["recommendation"]
                if "considerations" in mine:
                    text += f" Other Considerations {mine['considerations']}"
                if "<li>" in rec["text"]["html"]:
                    text = " ".join(text.replace("- ", " ").split())  # our list-item markers
                if text != without_html(rec["text"]["html"]):
                    wrong_text.append((rec["id"], drug["name"]))
        assert len(ours["recommendations"]) == len(by_key)
    assert (missing, wrong_text) == ([], [])
    assert total > 2000


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
    guideline = clopidogrel(shared, curation)
    both = ["prasugrel", "ticagrelor"]
    assert alternatives_by_population(guideline) == {
        "CVI ACS PCI": [both] * 4,
        "CVI non-ACS non-PCI": [both] * 2,
        "NVI": [["ticagrelor"]] * 4,
    }


def clopidogrel(
    shared: Path, curation: dict[str, Any], known: set[str] = KNOWN_DRUGS
) -> dict[str, Any]:
    return generate_guideline(shared, GuidelineSource(EXPORT, curation), LABELS, known, {})


def test_curated_rule_whose_quote_is_in_no_recommendation_is_refused(
    shared: Path, curation: dict[str, Any]
) -> None:
    changed = copy.deepcopy(curation)
    [nvi] = [rule for rule in changed["alternatives"] if rule["population"] == "NVI"]
    nvi["quote"] = "Ticagrelor is the preferred alternative."
    with pytest.raises(GenerationError) as caught:
        clopidogrel(shared, changed)
    assert str(caught.value) == (
        "cpic-clopidogrel: curated rule(s) match no recommendation: "
        "['Ticagrelor is the preferred alternative.']"
    )


def test_curated_alternative_without_a_drug_entry_is_refused(
    shared: Path, curation: dict[str, Any]
) -> None:
    with pytest.raises(GenerationError) as caught:
        clopidogrel(shared, curation, {"clopidogrel", "ticagrelor"})
    assert str(caught.value) == "cpic-clopidogrel: alternatives ['prasugrel'] have no drug entry"


def test_population_quote_not_in_the_text_is_refused(
    shared: Path, curation: dict[str, Any]
) -> None:
    changed = copy.deepcopy(curation)
    changed["populations"]["NVI"]["quote"] = "For stroke."
    with pytest.raises(GenerationError) as caught:
        clopidogrel(shared, changed)
    assert str(caught.value) == "cpic-clopidogrel: population 'NVI' quote not found"


def test_curated_dose_adjustment_is_attached_where_its_quote_stands(shared: Path) -> None:
    relative = "pharmcat/guidelines/cpic/CPIC_capecitabine_and_DPYD.json"
    export = read_json(shared, relative)
    dosed = [r for r in export["recommendations"] if r["dosingInformation"]]
    quote = "Reduce starting dose by 50%"
    expected = sorted(r["id"] for r in dosed if quote in without_html(r["text"]["html"]))
    assert expected, "the export changed: pick another quote"
    rule = {"percent_of_standard": 50, "basis": "starting dose", "quote": quote}
    guideline = generate_guideline(
        shared, GuidelineSource(relative, {"dose_adjustments": [rule]}), LABELS, set(), {}
    )
    got = sorted(r["id"] for r in guideline["recommendations"] if "dose_adjustment" in r)
    assert got == expected
    [one] = [r for r in guideline["recommendations"] if r["id"] == expected[0]]
    assert one["dose_adjustment"] == rule


QUETIAPINE = "pharmcat/guidelines/dpwg/DPWG_quetiapine_and_CYP3A4.json"


def quetiapine_30_percent(shared: Path, applies_to: str) -> dict[str, Any]:
    """The quetiapine guideline generated with its 30% dose rule limited to ``applies_to``."""
    rule = {
        "percent_of_standard": 30,
        "basis": "normal dose",
        "quote": "OTHER INDICATIONS: Use 30% of the normal dose.",
        "applies_to": applies_to,
    }
    curation = {"dose_adjustments": [rule]}
    return generate_guideline(shared, GuidelineSource(QUETIAPINE, curation), LABELS, set(), {})


def test_a_limit_on_a_curated_rule_is_kept_when_the_text_says_it(shared: Path) -> None:
    guideline = quetiapine_30_percent(shared, "OTHER INDICATIONS")

    [dosed] = [r for r in guideline["recommendations"] if "dose_adjustment" in r]
    assert dosed["dose_adjustment"]["applies_to"] == "OTHER INDICATIONS"


def test_a_limit_the_text_does_not_say_is_refused(shared: Path) -> None:
    with pytest.raises(GenerationError, match="applies_to 'Indication SCHIZOPHRENIA' is not in"):
        quetiapine_30_percent(shared, "Indication SCHIZOPHRENIA")


def test_dpwg_keys_are_normalised(shared: Path) -> None:
    siponimod = generate_guideline(
        shared,
        GuidelineSource("pharmcat/guidelines/dpwg/DPWG_siponimod_and_CYP2C9.json"),
        LABELS,
        set(),
        {},
    )
    keys = {r["lookup_key"]["CYP2C9"] for r in siponimod["recommendations"]}
    assert {"*3/*3", "*1/*3", "*2/*3", "Poor Metabolizer"} <= keys
    assert siponimod["id"] == "dpwg-siponimod-cyp2c9"
    assert {r["strength"] for r in siponimod["recommendations"]} <= {
        "not graded",
        "no recommendation",
    }
    flucytosine = generate_guideline(
        shared,
        GuidelineSource("pharmcat/guidelines/dpwg/DPWG_flucytosine_and_DPYD.json"),
        LABELS,
        set(),
        {},
    )
    # "0.5 (Phenotyping)": DPWG's advice for that score is to measure DPD activity.
    assert {r["lookup_key"]["DPYD"] for r in flucytosine["recommendations"]} == {
        "0.0",
        "0.5",
        "1.0",
        "1.5",
        "2.0",
    }


def test_hgnc_ids_take_the_id_most_files_agree_on(tmp_path: Path) -> None:
    examples = tmp_path / "fhir-examples"
    examples.mkdir()
    coding = {"system": "http://www.genenames.org", "display": "CYP2C19"}
    for name, code in [("a", "HGNC:2621"), ("b", "HGNC:2621"), ("c", "HGNC:262")]:
        (examples / f"{name}.json").write_text(json.dumps({"coding": [coding | {"code": code}]}))
    (examples / "d.json").write_text(
        json.dumps(
            {
                "coding": [
                    {"system": "http://www.genenames.org", "code": "HGNC:1", "display": "ONCE"}
                ]
            }
        )
    )
    found = hgnc_ids(tmp_path, {})
    assert found["CYP2C19"][0] == "HGNC:2621"
    assert "ONCE" not in found  # seen in one file only: not trusted


def test_two_names_of_one_ingredient_become_one_drug_with_a_synonym(generated: Path) -> None:
    drugs = load_plain((generated / "drugs.yaml").read_text())["drugs"]
    codes = [d["rxnorm"] for d in drugs.values() if "rxnorm" in d]
    assert len(codes) == len(set(codes))
    assert "glyburide" in drugs["glibenclamide"]["synonyms"]


def test_every_implication_is_kept_under_the_genes_it_is_about(
    generated: Path, shared: Path
) -> None:
    """CPIC writes "GENE: text"; DPWG the text alone, which is about the row's gene(s)."""
    misplaced = []
    for source in guideline_sources(shared):
        export = read_json(shared, source.relative)
        ours = load_plain(
            (generated / "guidelines" / f"{guideline_id(source.relative)}.yaml").read_text()
        )
        by_id = {r["id"]: r for r in ours["recommendations"]}
        for rec in export["recommendations"]:
            mine = by_id.get(rec["id"])
            if mine is None:  # a row that recommends nothing, not generated (tested above)
                continue
            genes = set(rec["lookupKey"])
            kept = mine["implications"] or {}
            for line in rec["implications"]:
                gene, sep, says = line.partition(": ")
                about, text = (
                    (gene, says) if sep and gene in genes else (", ".join(sorted(genes)), line)
                )
                if text not in kept.get(about, ""):
                    misplaced.append((rec["id"], about, line[:60]))
    assert misplaced == []
