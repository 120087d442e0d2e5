"""Loading knowledge/oncology/: tumour types, markers and drug rules, and every error they can hold."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge import KnowledgeLoadError, load_knowledge_base
from knowledge.oncology import icd10_covers, icd10_normal
from tests.knowledge.small_knowledge import build_small_knowledge

TUMOUR_TYPES = """\
tumour_types:
  solid-tumour:
    label: solid tumour
    icd10: [C00-C80]
    source: ICD-10-CM
  nsclc:
    label: non-small cell lung cancer
    icd10: [C34]
    snomed: ["254637007"]
    part_of: [solid-tumour]
    source: ICD-10-CM C34
  colorectal:
    label: colorectal cancer
    icd10: [C18, C19, C20]
    part_of: [solid-tumour]
    source: ICD-10-CM
  gist:
    label: GIST
    icd10: [C49.A]
    part_of: [solid-tumour]
    source: ICD-10-CM
"""
MARKERS = """\
hgnc_ids:
  EGFR: HGNC:3236
markers:
  egfr-l858r:
    label: EGFR L858R
    genes: [EGFR]
    variant: {protein: [p.Leu858Arg]}
    source: test
"""
DRUG = """\
drug: testinib
synonyms: [Testa]
label:
  title: TESTA (testinib) tablets
  url: https://www.accessdata.fda.gov/testinib.pdf
  revised: 2024-01
indications:
  - id: nsclc-egfr
    tumour: [nsclc]
    text: NSCLC with EGFR L858R
    quote: indicated for NSCLC whose tumors have EGFR L858R
    requires:
      any_of: [egfr-l858r]
      test: EGFR mutation test
      quote: whose tumors have EGFR L858R
tests:
  - name: documented
    tumour: nsclc
    findings: [{gene: EGFR, protein: L858R}]
    expect: {outcome: documented}
"""


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    root = build_small_knowledge(tmp_path / "knowledge")
    oncology = root / "oncology"
    (oncology / "markers").mkdir(parents=True)
    (oncology / "drugs").mkdir()
    (oncology / "tumour_types.yaml").write_text(TUMOUR_TYPES)
    (oncology / "markers" / "EGFR.yaml").write_text(MARKERS)
    (oncology / "drugs" / "testinib.yaml").write_text(DRUG)
    return root


Edit = Callable[[Path], None]


def replace(file: str, old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        path = root / "oncology" / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))

    return edit


def add(file: str, text: str) -> Edit:
    def edit(root: Path) -> None:
        (root / "oncology" / file).write_text(textwrap.dedent(text))

    return edit


def test_the_copy_loads_with_its_names_indexed(knowledge_copy: Path) -> None:
    kb = load_knowledge_base(knowledge_copy)
    assert kb.oncology is not None
    assert set(kb.oncology.drugs) == {"testinib"}
    assert kb.oncology.hgnc_symbols == {"HGNC:3236": "EGFR"}
    # A targeted drug is recognised in an order by its name or brand.
    assert kb.drug_named_in("Testa 40 mg tablet") == "testinib"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            replace("drugs/testinib.yaml", "tumour: [nsclc]", "tumour: [lung]"),
            "drugs/testinib.yaml:9:14: indications[0].tumour[0]: no tumour type 'lung'. "
            "Add it to oncology/tumour_types.yaml or use one of: colorectal, gist, nsclc, "
            "solid-tumour.",
        ),
        (
            replace("drugs/testinib.yaml", "any_of: [egfr-l858r]", "any_of: [egfr-l858q]"),
            "drugs/testinib.yaml:13:16: indications[0].requires.any_of[0]: no marker "
            "'egfr-l858q'. Define it in oncology/markers/ or use one of: egfr-l858r.",
        ),
        (
            replace("drugs/testinib.yaml", "drug: testinib", "drug: testanib"),
            "drugs/testinib.yaml:1:7: drug: 'testanib' differs from the file name 'testinib'. "
            "Rename the file to testanib.yaml.",
        ),
        (
            replace("markers/EGFR.yaml", "p.Leu858Arg", "Leucine858Arginine"),
            "markers/EGFR.yaml:7:25: markers.egfr-l858r.variant.protein[0]: "
            "'Leucine858Arginine' is not a protein change the service can read. "
            "Write it in HGVS form, e.g. L858R or p.Leu858Arg.",
        ),
        (
            replace("tumour_types.yaml", "part_of: [solid-tumour]", "part_of: [solid]"),
            "tumour_types.yaml:10:15: tumour_types.nsclc.part_of[0]: no tumour type 'solid'. "
            "Use one of: colorectal, gist, nsclc, solid-tumour.",
        ),
        (
            replace("tumour_types.yaml", "icd10: [C34]", "icd10: [lung]"),
            "tumour_types.yaml:8:12: tumour_types.nsclc.icd10: lung is not an ICD-10 code, "
            "category or range. Write e.g. C34, C34.9 or C00-C75.",
        ),
        (
            replace("drugs/testinib.yaml", "revised: 2024-01", "revised: January 2024"),
            "drugs/testinib.yaml:6:12: label.revised: String should match pattern",
        ),
        (
            replace("drugs/testinib.yaml", "protein: L858R", "protein: L858"),
            "drugs/testinib.yaml:19:38: tests[0].findings[0].protein: 'L858' is not a protein "
            "change the service can read.",
        ),
        (
            add(
                "markers/OTHER.yaml",
                """\
                markers:
                  egfr-l858r:
                    label: again
                    genes: [EGFR]
                    variant: {protein: [L858R]}
                    source: test
                """,
            ),
            "markers/OTHER.yaml:3:5: markers.egfr-l858r: marker 'egfr-l858r' is also defined in "
            "markers/EGFR.yaml. Keep one definition; rules refer to markers by id.",
        ),
        (
            replace(
                "drugs/testinib.yaml",
                "      quote: whose tumors have EGFR L858R\n",
                "      quote: whose tumors have EGFR L858R\n"
                "    resistance:\n"
                "      - any_of: [egfr-l858r]\n"
                "        says: stop\n"
                "        quote: stop\n"
                "        alternatives: [unobtainium]\n",
            ),
            "drugs/testinib.yaml:20:24: indications[0].resistance[0].alternatives[0]: "
            "'unobtainium' is not a drug the knowledge base knows.",
        ),
    ],
    ids=[
        "unknown tumour type",
        "unknown marker",
        "file name",
        "unreadable protein change",
        "unknown parent tumour type",
        "not an ICD-10 code",
        "label revision date",
        "test case protein",
        "marker defined twice",
        "unknown alternative",
    ],
)
def test_error_gallery(knowledge_copy: Path, edit: Edit, message: str) -> None:
    edit(knowledge_copy)
    with pytest.raises(KnowledgeLoadError) as raised:
        load_knowledge_base(knowledge_copy)
    shown = [str(e).removeprefix(f"{knowledge_copy}/oncology/") for e in raised.value.errors]
    assert any(line.startswith(message) for line in shown), shown


def test_a_refused_tumour_type_file_is_reported_once(knowledge_copy: Path) -> None:
    replace("tumour_types.yaml", "icd10: [C34]", "icd10: [lung]")(knowledge_copy)
    with pytest.raises(KnowledgeLoadError) as raised:
        load_knowledge_base(knowledge_copy)
    # The drug files naming its tumour types are not reported again as naming unknown ones.
    assert len(raised.value.errors) == 1


def test_a_knowledge_folder_without_oncology_loads_without_it(tmp_path: Path) -> None:
    root = build_small_knowledge(tmp_path / "knowledge")
    assert load_knowledge_base(root).oncology is None


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        ([("http://hl7.org/fhir/sid/icd-10-cm", "C34.90")], {"nsclc", "solid-tumour"}),
        ([("http://hl7.org/fhir/sid/icd-10-cm", "C3490")], {"nsclc", "solid-tumour"}),
        ([("http://hl7.org/fhir/sid/icd-10", "C20")], {"colorectal", "solid-tumour"}),
        ([("http://hl7.org/fhir/sid/icd-10-cm", "C49.A2")], {"gist", "solid-tumour"}),
        ([("http://hl7.org/fhir/sid/icd-10-cm", "C50.911")], {"solid-tumour"}),
        ([("http://hl7.org/fhir/sid/icd-10-cm", "C92.10")], set()),
        ([("http://snomed.info/sct", "254637007")], {"nsclc", "solid-tumour"}),
        ([("http://snomed.info/sct", "C34")], set()),
        ([("http://example.org/local", "C34")], set()),
        ([(None, None)], set()),
    ],
)
def test_diagnosis_codes_name_tumour_types(
    knowledge_copy: Path, codings: list[tuple[str | None, str | None]], expected: set[str]
) -> None:
    kb = load_knowledge_base(knowledge_copy)
    assert kb.oncology is not None
    assert kb.oncology.tumour_types_of(codings) == expected


@pytest.mark.parametrize(
    ("entry", "code", "covers"),
    [
        ("C34", "C34.9", True),
        ("C34", "C34", True),
        ("C34", "C340", False),  # not normalised: icd10_normal adds the dot first
        ("C34.1", "C34.11", True),
        ("C34.1", "C34.2", False),
        ("C00-C80", "C7A.0", True),
        ("C00-C80", "C81.1", False),
        ("C49.A", "C49.A0", True),
    ],
)
def test_icd10_entries_cover_their_subcodes(entry: str, code: str, covers: bool) -> None:
    assert icd10_covers(entry, code) is covers


def test_icd10_codes_are_read_with_or_without_the_dot() -> None:
    assert icd10_normal(" c3490 ") == "C34.90"
    assert icd10_normal("C34") == "C34"
