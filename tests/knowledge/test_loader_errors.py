"""The error gallery: one broken copy of the bundled knowledge per case, with its exact messages."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge import KnowledgeError, KnowledgeLoadError, load_knowledge_base
from knowledge.loader import bundled_root
from tests.knowledge.small_knowledge import copy_knowledge

BUNDLED = Path(str(bundled_root()))
GUIDELINE = "guidelines/cpic-clopidogrel.yaml"
GENE = "genes/CYP2C19.yaml"
# Messages show the copy's root as the loader is given it; the gallery shows it as "knowledge".
SHOWN = "knowledge"


Edit = Callable[[Path], None]


def replace(file: str, old: str, new: str, *, after: str = "") -> Edit:
    """Replace the first ``old`` that follows ``after`` in ``file``."""

    def edit(root: Path) -> None:
        path = root / file
        text = path.read_text()
        # .index, not .find: if the bundled file changes, the case fails loudly instead of passing.
        at = text.index(old, text.index(after))
        path.write_text(text[:at] + new + text[at + len(old) :])

    return edit


def in_recommendation(rec_id: str, old: str, new: str) -> Edit:
    return replace(GUIDELINE, old, new, after=f"- id: {rec_id}\n")


def drop_recommendations_for(phenotype: str) -> Edit:
    """Delete every recommendation keyed on ``phenotype``, in all populations."""

    def edit(root: Path) -> None:
        path = root / GUIDELINE
        text = path.read_text()
        pruned = re.sub(
            r"^- id: PA\d+\n(?:  .*\n)*",
            lambda m: "" if f"    CYP2C19: {phenotype}\n" in m[0] else m[0],
            text,
            flags=re.MULTILINE,
        )
        assert pruned != text
        path.write_text(pruned)

    return edit


def rename(file: str, new_name: str) -> Edit:
    def edit(root: Path) -> None:
        (root / file).rename((root / file).with_name(new_name))

    return edit


def delete(file: str) -> Edit:
    def edit(root: Path) -> None:
        (root / file).unlink()

    return edit


def write(file: str, data: bytes) -> Edit:
    def edit(root: Path) -> None:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_bytes(data)

    return edit


def replace_bytes(file: str, old: bytes, new: bytes) -> Edit:
    def edit(root: Path) -> None:
        path = root / file
        raw = path.read_bytes()
        assert old in raw
        path.write_bytes(raw.replace(old, new, 1))

    return edit


# The gallery edits one guideline and the files it rests on; a small copy keeps the expected
# messages about those edits alone (the whole base is checked by test_guideline_cases).
SUBSET = ("drugs.yaml", "genes/CYP2C19.yaml", "guidelines/cpic-clopidogrel.yaml")


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    return copy_knowledge(tmp_path / "knowledge", SUBSET)


def line_of(file: str, text: str) -> int:
    """The line of ``text`` in a bundled file, so that regenerating it does not break a test."""
    lines = (BUNDLED / file).read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def load_errors(root: Path) -> list[str]:
    """Every message the loader gives for ``root``, with the root shown as ``knowledge``."""
    with pytest.raises(KnowledgeLoadError) as caught:
        load_knowledge_base(root)
    return [str(error).replace(str(root), SHOWN) for error in caught.value.errors]


G = f"{SHOWN}/{GUIDELINE}"
ADD_OR_DRAFT = (
    "Add a recommendation for each (action: no-recommendation if CPIC gives none), "
    "or set status: draft."
)

GALLERY = [
    pytest.param(
        in_recommendation("PA166297566", "strength: strong", "strength: [strong"),
        [
            f"{G}:70:9: not valid YAML: expected ',' or ']', but got ':'. "
            "Check indentation, colons and quotes around this point."
        ],
        id="invalid YAML syntax",
    ),
    pytest.param(
        in_recommendation("PA166297566", "  strength: strong\n", "\tstrength: strong\n"),
        [
            f"{G}:69:1: not valid YAML: found character '\\t' that cannot start any token. "
            "Check indentation, colons and quotes around this point."
        ],
        id="tab indentation",
    ),
    pytest.param(
        write(GUIDELINE, b""),
        [f"{G}:1:1: the file is not a YAML mapping. Start the file with 'key: value' lines."],
        id="empty file",
    ),
    pytest.param(
        replace_bytes(GUIDELINE, b"Metabolizer", b"Metaboliz\xe9r"),
        [f"{G}:54:34: not UTF-8 text (invalid continuation byte). Save the file as UTF-8."],
        id="not UTF-8",
    ),
    pytest.param(
        in_recommendation(
            "PA166297566", "  strength: strong\n", "  strength: strong\n  strength: moderate\n"
        ),
        [
            f"{G}:70:3: recommendations[1].strength: duplicate key 'strength'. "
            "Keep one of the two entries and delete the other."
        ],
        id="duplicate key",
    ),
    pytest.param(
        in_recommendation("PA166297566", "strength: strong", "strength: strongest"),
        [
            f"{G}:69:13: recommendations[1].strength: 'strongest' is not one of strong, moderate, "
            "optional, no recommendation, not graded. Use one of those words."
        ],
        id="unknown strength word",
    ),
    pytest.param(
        in_recommendation(
            "PA166297566",
            "    CYP2C19: Normal or increased",
            "    Normal or increased clopidogrel formation: ''\n    CYP2C19: Normal or increased",
        ),
        [
            f"{G}:72:5: recommendations[1].implications: an implication is keyed 'Normal or "
            "increased clopidogrel forma...', which is not a gene of the guideline. Key each "
            "implication by the gene it is about; several: 'CACNA1S, RYR1'."
        ],
        id="implication keyed by its text",
    ),
    pytest.param(
        in_recommendation("PA166297566", "  strength: strong\n", ""),
        [f"{G}:64:3: recommendations[1].strength: missing. Add this field."],
        id="missing required field",
    ),
    pytest.param(
        in_recommendation("PA166297566", "strength: strong", "strenght: strong"),
        [
            f"{G}:64:3: recommendations[1].strength: missing. Add this field.",
            f"{G}:69:3: recommendations[1].strenght: is not a known field. "
            "Remove it, or check its spelling against docs/knowledge-format.md.",
        ],
        id="misspelt field",
    ),
    pytest.param(
        replace(GUIDELINE, "id: cpic-clopidogrel", "id: cpic-clopidogrel-2022"),
        [
            f"{G}:5:5: id: 'cpic-clopidogrel-2022' differs from the file name 'cpic-clopidogrel'. "
            "Rename the file to cpic-clopidogrel-2022.yaml or set id: cpic-clopidogrel."
        ],
        id="id differs from file name",
    ),
    pytest.param(
        in_recommendation("PA166297587", "drug: ticagrelor", "drug: ticlopidine"),
        [
            f"{G}:367:11: recommendations[19].alternatives[0].drug: 'ticlopidine' is not in "
            "knowledge/drugs.yaml. Add it with its RxNorm ingredient code, or fix the name."
        ],
        id="alternative drug not in drugs.yaml",
    ),
    pytest.param(
        in_recommendation("PA166297572", "CYP2C19: Poor Metabolizer", "CYP2C19: Slow Metabolizer"),
        [
            f"{G}:154:14: recommendations[6].lookup_key.CYP2C19: 'Slow Metabolizer' is not a "
            "CYP2C19 lookup key. Use one of: Indeterminate, Intermediate Metabolizer, "
            "Likely Intermediate Metabolizer, Likely Poor Metabolizer, Normal Metabolizer, "
            "Poor Metabolizer, Rapid Metabolizer, Ultrarapid Metabolizer.",
            # True, not noise: the renamed recommendation was the only one for this phenotype.
            f"{G}:50:1: recommendations: clopidogrel (CVI ACS PCI) has no recommendation for "
            f"CYP2C19 Poor Metabolizer. {ADD_OR_DRAFT}",
        ],
        id="lookup key not a CYP2C19 phenotype",
    ),
    pytest.param(
        in_recommendation("PA166297590", "population: NVI", "population: stroke"),
        [
            f"{G}:415:15: recommendations[22].population: 'stroke' is not a declared population. "
            "Declare it under populations or fix the name.",
            f"{G}:50:1: recommendations: clopidogrel (NVI) has no recommendation for "
            f"CYP2C19 Poor Metabolizer. {ADD_OR_DRAFT}",
        ],
        id="population not declared",
    ),
    pytest.param(
        drop_recommendations_for("Rapid Metabolizer"),
        [
            f"{G}:50:1: recommendations: clopidogrel (CVI ACS PCI) has no recommendation for "
            f"CYP2C19 Rapid Metabolizer. {ADD_OR_DRAFT}",
            f"{G}:50:1: recommendations: clopidogrel (CVI non-ACS non-PCI) has no recommendation "
            f"for CYP2C19 Rapid Metabolizer. {ADD_OR_DRAFT}",
            f"{G}:50:1: recommendations: clopidogrel (NVI) has no recommendation for "
            f"CYP2C19 Rapid Metabolizer. {ADD_OR_DRAFT}",
        ],
        id="active guideline lacks a phenotype",
    ),
    pytest.param(
        in_recommendation(
            "PA166297566",
            "  recommendation: If considering",
            "  alternatives:\n  - drug: prasugrel\n  recommendation: If considering",
        ),
        [
            f"{G}:64:3: recommendations[1]: alternatives are given but action is 'standard'. "
            "Use action 'alternative' (or 'contraindicated'), or remove the alternatives."
        ],
        id="alternatives with action standard",
    ),
    pytest.param(
        rename(GENE, "CYP2C9.yaml"),
        [
            f"{SHOWN}/genes/CYP2C9.yaml:5:7: gene: 'CYP2C19' differs from the file name 'CYP2C9'. "
            "Rename the file to CYP2C19.yaml."
        ],
        id="gene table file name differs from gene",
    ),
    pytest.param(
        replace(GENE, "lookup: phenotype", "lookup: phenotypes"),
        [
            f"{SHOWN}/{GENE}:7:9: lookup: 'phenotypes' is not one of phenotype, activity_score, "
            "allele_status. Use one of those words."
        ],
        id="gene table with a bad value",
    ),
    pytest.param(
        write(
            "interactions/CYP2C9.yaml",
            (BUNDLED / "interactions/CYP2C19.yaml").read_bytes(),
        ),
        [
            f"{SHOWN}/interactions/CYP2C9.yaml:{line_of('interactions/CYP2C19.yaml', 'gene: ')}:7: "
            "gene: 'CYP2C19' differs from the file name 'CYP2C9'. Rename the file to CYP2C19.yaml."
        ],
        id="inhibitor table file name differs from gene",
    ),
    pytest.param(
        write(
            "interactions/CYP2D6.yaml",
            (BUNDLED / "interactions/CYP2D6.yaml").read_bytes(),
        ),
        [
            f"{SHOWN}/interactions/CYP2D6.yaml:{line_of('interactions/CYP2D6.yaml', 'gene: ')}:7: "
            "gene: no gene table for 'CYP2D6'. "
            "Add knowledge/genes/CYP2D6.yaml or remove this inhibitor table."
        ],
        id="inhibitor table for a gene without a table",
    ),
    pytest.param(
        write(
            "pretest.yaml",
            b"source: {name: s, file: f, version: v}\n"
            b"drugs:\n"
            b"  clopidogrel:\n"
            b"    genes: [CYP2C9]\n"
            b"    level: testing required\n"
            b"    test: CYP2C9\n"
            b"    source: s\n"
            b"    url: u\n",
        ),
        [
            f"{SHOWN}/pretest.yaml:4:13: drugs.clopidogrel.genes[0]: no gene table for 'CYP2C9'. "
            "Add the gene table or remove the gene: a test the service cannot read the result "
            "of would alert forever."
        ],
        id="pre-test gene without a table",
    ),
    pytest.param(
        write(
            "dose_algorithms/iwpc-warfarin.yaml",
            (BUNDLED / "dose_algorithms/iwpc-warfarin.yaml")
            .read_bytes()
            .replace(b"age_in_decades: floor", b"age_in_decades: round"),
        ),
        [
            f"{SHOWN}/dose_algorithms/iwpc-warfarin.yaml:"
            f"{line_of('dose_algorithms/iwpc-warfarin.yaml', 'age_in_decades:')}:17: "
            "age_in_decades: 'round' is not one of floor, divide. Use one of those words."
        ],
        id="dose algorithm with a bad value",
    ),
    pytest.param(
        delete("drugs.yaml"),
        [f"{SHOWN}/drugs.yaml: file is missing. Restore drugs.yaml (run the generator)."],
        id="drugs.yaml missing",
    ),
    pytest.param(
        replace("drugs.yaml", "rxnorm: '32968'", "rxnorm: 'C32968'"),
        [
            f"{SHOWN}/drugs.yaml:{line_of('drugs.yaml', chr(39) + '32968' + chr(39))}:13: "
            "drugs.clopidogrel.rxnorm: String should match pattern "
            "'^\\d+$'. Write it in the form shown."
        ],
        id="drugs.yaml with a bad value",
    ),
]


def test_unedited_copy_loads(knowledge_copy: Path) -> None:
    assert sorted(load_knowledge_base(knowledge_copy).guidelines) == ["cpic-clopidogrel"]


@pytest.mark.parametrize(("edit", "messages"), GALLERY)
def test_error_gallery(knowledge_copy: Path, edit: Edit, messages: list[str]) -> None:
    edit(knowledge_copy)
    assert load_errors(knowledge_copy) == messages


def test_errors_in_several_files_are_all_reported_at_once(knowledge_copy: Path) -> None:
    rename(GENE, "CYP2C9.yaml")(knowledge_copy)
    in_recommendation("PA166297566", "strength: strong", "strength: strongest")(knowledge_copy)
    write("guidelines/cpic-warfarin.yaml", b"id: cpic-warfarin\nname: [unclosed\n")(knowledge_copy)

    with pytest.raises(KnowledgeLoadError) as caught:
        load_knowledge_base(knowledge_copy)

    # Every file is parsed before any is validated, so the syntax error comes before the value.
    assert str(caught.value).replace(str(knowledge_copy), SHOWN) == (
        "3 errors in the knowledge base:\n"
        f"{SHOWN}/genes/CYP2C9.yaml:5:7: gene: 'CYP2C19' differs from the file name 'CYP2C9'. "
        "Rename the file to CYP2C19.yaml.\n"
        f"{SHOWN}/guidelines/cpic-warfarin.yaml:3:1: not valid YAML: expected ',' or ']', "
        "but got '<stream end>'. Check indentation, colons and quotes around this point.\n"
        f"{G}:69:13: recommendations[1].strength: 'strongest' is not one of strong, moderate, "
        "optional, no recommendation, not graded. Use one of those words."
    )


@pytest.fixture(scope="module")
def three_bad_values(tmp_path_factory: pytest.TempPathFactory) -> list[KnowledgeError]:
    """One copy with three bad values, loaded once for the location tests."""
    root = copy_knowledge(tmp_path_factory.mktemp("three") / "knowledge", SUBSET)
    # A file that fails the schema gets no cross-file checks: the schema error goes in a second file.
    second = "guidelines/second.yaml"
    shutil.copy(root / GUIDELINE, root / second)
    replace(second, "id: cpic-clopidogrel", "id: second")(root)
    replace(second, "strength: strong", "strength: strongest", after="- id: PA166297566")(root)
    in_recommendation("PA166297572", "CYP2C19: Poor Metabolizer", "CYP2C19: Slow Metabolizer")(root)
    in_recommendation("PA166297587", "drug: ticagrelor", "drug: ticlopidine")(root)
    with pytest.raises(KnowledgeLoadError) as caught:
        load_knowledge_base(root)
    return list(caught.value.errors)


@pytest.mark.parametrize("word", ["strongest", "Slow Metabolizer", "ticlopidine"])
def test_location_points_at_the_offending_value(
    three_bad_values: list[KnowledgeError], word: str
) -> None:
    [error] = [e for e in three_bad_values if f"'{word}'" in e.message]
    where = error.location
    assert where.line is not None
    assert where.column is not None
    line = Path(where.path).read_text().splitlines()[where.line - 1]
    assert line[where.column - 1 :].startswith(word), line
