"""Known gaps: changelog entries newer than our data are listed, older ones are not, the doc is current."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from knowledge.gaps import (
    Gap,
    GapsError,
    KnowledgeGaps,
    changelog_gaps,
    knowledge_gaps,
    main,
    read_changelog,
    render,
    render_markdown,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "knowledge-gaps.md"
THIOPURINE_UPDATE = "Updated for the guideline update 2025-2026"


@pytest.fixture(scope="module")
def report(shared: Path) -> KnowledgeGaps:
    return knowledge_gaps(shared)


def _find(gaps: tuple[Gap, ...] | list[Gap], day: str, kind: str, subject: str) -> list[Gap]:
    return [
        g
        for g in gaps
        if g.entry.day == date.fromisoformat(day)
        and g.entry.kind == kind
        and g.entry.subject == subject
    ]


# --- the real data ----------------------------------------------------------------------------------


def test_committed_doc_is_what_the_data_gives(shared: Path) -> None:
    assert DOC.read_text(encoding="utf-8") == render(shared), (
        "docs/knowledge-gaps.md is stale: run "
        "`python -m knowledge.gaps --shared ../shared > docs/knowledge-gaps.md` and review the diff"
    )


def test_main_prints_the_doc(shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--shared", str(shared)]) == 0
    assert capsys.readouterr().out == render(shared)


@pytest.mark.parametrize("drug", ["azathioprine", "mercaptopurine", "thioguanine"])
def test_thiopurine_update_is_listed_under_the_drug(report: KnowledgeGaps, drug: str) -> None:
    listed = [
        g
        for g in report.gaps
        if g.section == "drug" and g.subject == drug and g.entry.note == THIOPURINE_UPDATE
    ]
    assert listed
    assert all(g.entry.day >= date(2026, 2, 3) for g in listed)
    assert f"- **{drug}** (NUDT15, TPMT;" in render_markdown(report)


@pytest.mark.parametrize("gene", ["NUDT15", "TPMT"])
def test_thiopurine_gene_tables_are_listed_as_stale(report: KnowledgeGaps, gene: str) -> None:
    assert _find(report.gaps, "2026-02-03", "GENE_CDS", gene)[0].section == "gene"


@pytest.mark.parametrize(
    ("day", "kind", "subject"),
    [
        ("2024-03-20", "RECOMMENDATION", "azathioprine"),  # days before the 2024-03-25 export
        ("2024-03-20", "TEST_ALERT", "thioguanine"),
        ("2023-10-20", "RECOMMENDATION", "clopidogrel"),
        ("2023-12-05", "RECOMMENDATION", "desflurane"),
        ("2025-11-03", "ALLELE_DEFINITION", "NUDT15"),  # before the 2025-11-05 gene table
        ("2025-05-13", "GENE_CDS", "NAT2"),
        ("2025-10-27", "FREQUENCY", "MT-RNR1"),  # frequencies are never listed
    ],
)
def test_entries_older_than_the_data_are_absent(
    shared: Path, report: KnowledgeGaps, day: str, kind: str, subject: str
) -> None:
    entries = read_changelog(shared / "pgx-data/cpic-data/data_changelog.tsv")
    assert [e for e in entries if (str(e.day), e.kind, e.subject) == (day, kind, subject)]
    assert _find(report.gaps, day, kind, subject) == []


def test_no_gap_predates_the_data_it_is_compared_with(report: KnowledgeGaps) -> None:
    assert [g for g in report.gaps if g.entry.day < g.baseline.day] == []


def test_same_day_entries_are_listed_and_marked(report: KnowledgeGaps) -> None:
    ryr1 = _find(report.gaps, "2023-12-05", "ALLELE_DEFINITION", "RYR1")
    assert [g.same_day for g in ryr1] == [True]


def test_hydralazine_gets_no_card_though_nat2_has_a_table(report: KnowledgeGaps) -> None:
    assert "hydralazine" not in {d for e in report.exports for d in e.drugs}
    assert report.pair_genes["hydralazine"] == ("NAT2",)
    assert "NAT2" in report.gene_tables
    assert (
        "*For a prescriber:* NAT2 has a phenotype table, but there is no CPIC recommendation "
        "export for hydralazine in our data, nor a DPWG one, so this service gives no hydralazine "
        "card."
    ) in render_markdown(report)


def test_metoprolol_without_cpic_export_points_to_dpwg(report: KnowledgeGaps) -> None:
    assert (
        "DPWG's exports naming metoprolol: "
        "`pgx-data/pharmcat/guidelines/dpwg/DPWG_metoprolol_and_CYP2D6.json`"
    ) in render_markdown(report)


def test_exports_without_recommendations_are_warfarin_and_ifnl3(report: KnowledgeGaps) -> None:
    empty = {e.genes for e in report.exports if e.recommendations == 0}
    assert empty == {("CYP2C9", "CYP4F2", "VKORC1"), ("IFNL3",)}
    assert report.drug_folders == {"warfarin": "cpic-data/warfarin"}
    assert any("flow chart" in note for note in report.drug_notes["warfarin"])


@pytest.mark.parametrize(
    ("gene", "file", "day"),
    [
        ("CYP2C19", "pharmcat/phenotype/CYP2C19.json", date(2025, 11, 5)),
        ("CYP2D6", "pharmcat/phenotype_fallback/CYP2D6.json", date(2024, 8, 27)),
        ("RYR1", "pharmcat/phenotype_fallback/RYR1.json", date(2023, 12, 5)),
        ("G6PD", "pharmcat/phenotype_fallback/G6PD.json", date(2023, 8, 8)),  # from MANIFEST.md
    ],
)
def test_gene_table_dates_come_from_the_files(
    report: KnowledgeGaps, gene: str, file: str, day: date
) -> None:
    table = report.gene_tables[gene]
    assert (table.file, table.day) == (file, day)


def test_changelog_gaps_is_the_report_list(shared: Path, report: KnowledgeGaps) -> None:
    assert changelog_gaps(shared) == list(report.gaps)


# --- a small synthetic changelog --------------------------------------------------------------------

CHANGELOG = """\
Date of Change\tType of Data\tSubject\tNote of Change
2026-01-01\tRECOMMENDATION\tdrugone\trecommendation after the export
2024-03-25\tTEST_ALERT\tdrugone\talert on the export's day
2024-03-24\tRECOMMENDATION\tdrugone\trecommendation before the export
2025-01-01\tRECOMMENDATION\tdrugnew\tcreated for a drug no export names
2025-12-02\tALLELE_DEFINITION\tGENEA\tmulti-line note
\u2022 its second line
2025-12-01\tALLELE_FUNCTION_REFERENCE\tGENEA\tfunction after the gene table
2025-11-04\tALLELE_DEFINITION\tGENEA\tdefinition before the gene table
2023-09-01\tGENE_CDS\tGENEC\tafter the MANIFEST date of a non-date version
2023-08-01\tALLELE_DEFINITION\tGENEC\tbefore the MANIFEST date of a non-date version
2024-06-01\tALLELE_DEFINITION\tGENEX\tgene without a table, after the snapshot
2024-01-01\tALLELE_DEFINITION\tGENEX\tgene without a table, before the snapshot
2026-01-02\tFREQUENCY\tGENEA\tfrequencies are never listed
2025-02-01\tPAIR\t\tupdated GENEB-drugpair pair for guideline release
2025-02-02\tPAIR\t\t[drugone-GENEA] CA Level: 3 >> 2
2025-02-03\tPAIR\t\tupdated several pairs
2025-02-04\tGUIDELINE\t\tlinks removed
2025-02-05\tSOMETHING_NEW\tthing\ta type the rule does not name
2024-01-02\tGUIDELINE\t\tguideline change before the snapshot
"""

MANIFEST = """\
| key | source | commit / version | license / terms |
|---|---|---|---|
| SRC-C | somewhere | `abc` (2023-08-08) | CC0 |

| path | from | src path | notes |
|---|---|---|---|
| `pharmcat/phenotype_fallback/GENEC.json` | SRC-C | `x` | old |
"""


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _export(drugs: list[str], genes: list[str], recommendations: int) -> dict[str, object]:
    return {
        "guideline": {
            "relatedChemicals": [{"name": d} for d in drugs],
            "relatedGenes": [{"symbol": g} for g in genes],
        },
        "recommendations": [{} for _ in range(recommendations)],
        "version": "2024-03-25-16-13",
    }


@pytest.fixture
def small(tmp_path: Path) -> Path:
    data = tmp_path / "pgx-data"
    (data / "cpic-data").mkdir(parents=True)
    (data / "cpic-data/data_changelog.tsv").write_text(CHANGELOG, encoding="utf-8")
    (data / "MANIFEST.md").write_text(MANIFEST, encoding="utf-8")
    cpic = data / "pharmcat/guidelines/cpic"
    _write_json(cpic / "CPIC_drugone_and_GENEA.json", _export(["drugone"], ["GENEA"], 2))
    _write_json(cpic / "CPIC_drugempty_and_GENEB.json", _export(["drugempty"], ["GENEB"], 0))
    dpwg = data / "pharmcat/guidelines/dpwg"
    _write_json(dpwg / "DPWG_drugpair_and_GENEB.json", _export(["drugpair"], ["GENEB"], 3))
    _write_json(
        data / "pharmcat/phenotype/GENEA.json", {"gene": "GENEA", "version": "2025-11-05-00-25"}
    )
    _write_json(
        data / "pharmcat/phenotype_fallback/GENEA.json",
        {"gene": "GENEA", "version": "2020-01-01-00-00"},
    )
    _write_json(
        data / "pharmcat/phenotype_fallback/GENEC.json", {"gene": "GENEC", "version": "v9.9.9"}
    )
    return tmp_path


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("recommendation after the export", ("drug", "drugone", False)),
        ("alert on the export's day", ("drug", "drugone", True)),
        ("recommendation before the export", None),
        ("created for a drug no export names", ("drug", "drugnew", False)),
        ("multi-line note\n\u2022 its second line", ("gene", "GENEA", False)),
        ("function after the gene table", ("gene", "GENEA", False)),
        ("definition before the gene table", None),
        ("after the MANIFEST date of a non-date version", ("gene", "GENEC", False)),
        ("before the MANIFEST date of a non-date version", None),
        ("gene without a table, after the snapshot", ("gene", "GENEX", False)),
        ("gene without a table, before the snapshot", None),
        ("frequencies are never listed", None),
        ("updated GENEB-drugpair pair for guideline release", ("drug", "drugpair", False)),
        ("[drugone-GENEA] CA Level: 3 >> 2", ("drug", "drugone", False)),
        ("updated several pairs", ("general", "", False)),
        ("links removed", ("general", "", False)),
        ("a type the rule does not name", ("general", "thing", False)),
        ("guideline change before the snapshot", None),
    ],
)
def test_small_changelog_is_classified_as_documented(
    small: Path, note: str, expected: tuple[str, str, bool] | None
) -> None:
    found = [
        (g.section, g.subject, g.same_day) for g in changelog_gaps(small) if g.entry.note == note
    ]
    assert found == ([expected] if expected else [])


def test_small_changelog_renders_highlights(small: Path) -> None:
    text = render(small)
    assert (
        "- **drugone** (GENEA; `pgx-data/pharmcat/guidelines/cpic/CPIC_drugone_and_GENEA.json`"
        in (text)
    )
    assert "nor a DPWG one, so this service gives no drugnew card." in text
    assert "no CPIC recommendation export for drugpair in our data, so no card carries" in text
    assert "(3 recommendations); a drugpair card from these carries DPWG's advice" in text
    assert "GENEB (no phenotype table in our data)" in text
    assert "- **drugempty** (GENEB): " in text
    assert "dated 2023-08-08 by its source SRC-C in MANIFEST.md" in text
    assert "“multi-line note\\\n  • its second line”" in text


def test_phenotype_folder_wins_over_the_fallback(small: Path) -> None:
    assert knowledge_gaps(small).gene_tables["GENEA"].file == "pharmcat/phenotype/GENEA.json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Date\tType\n", r"data_changelog\.tsv:1: expected the header"),
        (
            CHANGELOG.splitlines()[0] + "\n2025-01-01\tPAIR\tonly three\n",
            r":2: expected date, type",
        ),
        (CHANGELOG.splitlines()[0] + "\na continuation with nothing before\n", r":2: expected"),
        (
            CHANGELOG.splitlines()[0] + "\n2025-13-01\tPAIR\t\tnote\n",
            r":2: '2025-13-01' is not a date",
        ),
    ],
)
def test_malformed_changelog_is_refused_with_its_line(small: Path, text: str, message: str) -> None:
    (small / "pgx-data/cpic-data/data_changelog.tsv").write_text(text, encoding="utf-8")
    with pytest.raises(GapsError, match=message):
        knowledge_gaps(small)


def test_undatable_version_is_refused(small: Path) -> None:
    (small / "pgx-data/MANIFEST.md").unlink()
    with pytest.raises(GapsError, match=r"GENEC\.json: version 'v9\.9\.9' is not a date"):
        knowledge_gaps(small)


def test_main_reports_bad_data_on_stderr(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (small / "pgx-data/MANIFEST.md").unlink()
    assert main(["--shared", str(small)]) == 1
    assert capsys.readouterr().err.startswith("error: ")
