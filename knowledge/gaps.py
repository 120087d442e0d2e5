"""Known gaps: CPIC data changes dated after the data our knowledge was generated from.

``python -m knowledge.gaps [--shared PATH] > docs/knowledge-gaps.md`` regenerates the document;
:func:`render` gives the same text to the knowledge generator. Everything here is read from
``pgx-data/``: the CPIC changelog, the versions of the recommendation exports and gene tables, and
PharmCAT's report messages. Nothing clinical is written here that the data does not say.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Baseline",
    "ChangelogEntry",
    "Gap",
    "GapsError",
    "GuidelineExport",
    "KnowledgeGaps",
    "changelog_gaps",
    "knowledge_gaps",
    "main",
    "read_changelog",
    "render",
    "render_markdown",
]

CHANGELOG = "cpic-data/data_changelog.tsv"
EXPORTS = "pharmcat/guidelines/cpic"
DPWG_EXPORTS = "pharmcat/guidelines/dpwg"
GENE_TABLES = ("pharmcat/phenotype", "pharmcat/phenotype_fallback")
MESSAGES = "pharmcat/reporter/messages.json"
_HEADER = ["Date of Change", "Type of Data", "Subject", "Note of Change"]

# The rule, by the changelog's "Type of Data". Anything not named here is kept as general.
DRUG_KINDS = ("RECOMMENDATION", "TEST_ALERT")
GENE_KINDS = ("ALLELE_DEFINITION", "ALLELE_FUNCTION_REFERENCE", "GENE_CDS")
PAIR_KIND = "PAIR"
IGNORED_KINDS = ("FREQUENCY",)

Section = Literal["drug", "gene", "general"]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_GENE = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*"
# cpic-data names a pair as "[drug-GENE] ..." or "... GENE-drug pair ..."
_PAIR_PATTERNS = (
    (re.compile(rf"\[([a-z][a-z /-]*?)-({_GENE})\]"), 1, 2),
    (re.compile(rf"(?<![\w-])({_GENE})-([a-z][a-z]+) pairs?\b"), 2, 1),
)


class GapsError(Exception):
    """The reference data cannot be read as expected; the message says where."""


@dataclass(frozen=True, slots=True)
class ChangelogEntry:
    """One dated line of cpic-data's changelog (``line`` is 1-based in the TSV)."""

    line: int
    day: date
    kind: str
    subject: str
    note: str


@dataclass(frozen=True, slots=True)
class Baseline:
    """A data file part of our knowledge rests on, and the day its data stops."""

    file: str
    version: str
    day: date
    dated_by: str = ""  # empty when ``version`` is itself a date

    @property
    def path(self) -> str:
        return f"pgx-data/{self.file}"

    @property
    def described(self) -> str:
        text = f"`{self.path}`, version `{self.version}`"
        return f"{text} ({self.dated_by})" if self.dated_by else text


@dataclass(frozen=True, slots=True)
class GuidelineExport:
    """One CPIC recommendation export as PharmCAT shipped it."""

    baseline: Baseline
    drugs: tuple[str, ...]
    genes: tuple[str, ...]
    recommendations: int


@dataclass(frozen=True, slots=True)
class Gap:
    """A changelog entry our knowledge predates: where it belongs and what it is compared with."""

    entry: ChangelogEntry
    section: Section
    subject: str
    baseline: Baseline

    @property
    def same_day(self) -> bool:
        return self.entry.day == self.baseline.day


@dataclass(frozen=True, slots=True)
class KnowledgeGaps:
    """The gaps and the data they were measured against."""

    gaps: tuple[Gap, ...]
    exports: tuple[GuidelineExport, ...]
    dpwg_exports: tuple[GuidelineExport, ...]
    gene_tables: dict[str, Baseline]
    snapshot: Baseline
    pair_genes: dict[str, tuple[str, ...]]
    drug_notes: dict[str, tuple[str, ...]]
    drug_folders: dict[str, str]
    first_day: date
    last_day: date


def read_changelog(path: Path) -> list[ChangelogEntry]:
    """The changelog's entries; a line without tabs continues the previous entry's note."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != _HEADER:
        raise GapsError(f"{path}:1: expected the header {' | '.join(_HEADER)}")
    entries: list[ChangelogEntry] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == len(_HEADER) and _DAY.fullmatch(fields[0]):
            try:
                day = date.fromisoformat(fields[0])
            except ValueError:
                raise GapsError(f"{path}:{number}: {fields[0]!r} is not a date") from None
            entries.append(
                ChangelogEntry(number, day, fields[1].strip(), fields[2].strip(), fields[3].strip())
            )
        elif len(fields) == 1 and entries:
            # cpic-data writes a multi-line note unquoted, one line per row
            entries[-1] = replace(entries[-1], note=f"{entries[-1].note}\n{line.strip()}")
        else:
            raise GapsError(
                f"{path}:{number}: expected date, type, subject and note separated by tabs, "
                f"or a continuation of the previous note without tabs"
            )
    return entries


def knowledge_gaps(shared: Path) -> KnowledgeGaps:
    """Read ``shared/pgx-data`` and select the changelog entries our data predates."""
    data = shared / "pgx-data"
    entries = read_changelog(data / CHANGELOG)
    if not entries:
        raise GapsError(f"{data / CHANGELOG}: no entries")
    exports = _read_exports(data, EXPORTS)
    if not exports:
        raise GapsError(f"{data / EXPORTS}: no CPIC recommendation exports (*.json)")
    earliest = min(exports, key=lambda e: e.baseline.day).baseline
    snapshot = Baseline(f"{EXPORTS}/*.json", earliest.version, earliest.day, earliest.dated_by)
    gene_tables = _read_gene_tables(data)
    by_drug = {drug.casefold(): export for export in exports for drug in export.drugs}
    pair_genes: dict[str, list[str]] = {}
    for entry in entries:
        if entry.kind == PAIR_KIND:
            for drug, gene in _pairs(entry.note):
                genes = pair_genes.setdefault(drug, [])
                if gene not in genes:
                    genes.append(gene)
    gaps = [
        gap
        for entry in entries
        if (gap := _classify(entry, by_drug, gene_tables, snapshot)) is not None
    ]
    gaps.sort(
        key=lambda g: (g.section, g.subject.casefold(), -g.entry.day.toordinal(), g.entry.line)
    )
    empty = [e for e in exports if e.recommendations == 0]
    return KnowledgeGaps(
        gaps=tuple(gaps),
        exports=tuple(exports),
        dpwg_exports=tuple(_read_exports(data, DPWG_EXPORTS)),
        gene_tables=gene_tables,
        snapshot=snapshot,
        pair_genes={drug: tuple(genes) for drug, genes in sorted(pair_genes.items())},
        drug_notes=_report_notes(data, {d for e in empty for d in e.drugs}),
        drug_folders={
            drug: f"cpic-data/{drug}"
            for e in empty
            for drug in e.drugs
            if (data / "cpic-data" / drug).is_dir()
        },
        first_day=min(e.day for e in entries),
        last_day=max(e.day for e in entries),
    )


def changelog_gaps(shared: Path) -> list[Gap]:
    """The changelog entries newer than the data they would change, grouped and ordered."""
    return list(knowledge_gaps(shared).gaps)


def render(shared: Path) -> str:
    """The text of docs/knowledge-gaps.md for the data in ``shared``."""
    return render_markdown(knowledge_gaps(shared))


def _classify(
    entry: ChangelogEntry,
    by_drug: dict[str, GuidelineExport],
    gene_tables: dict[str, Baseline],
    snapshot: Baseline,
) -> Gap | None:
    section: Section
    if entry.kind in IGNORED_KINDS:
        return None
    if entry.kind in DRUG_KINDS and entry.subject:
        section, subject = "drug", entry.subject
    elif entry.kind in GENE_KINDS and entry.subject:
        section, subject = "gene", entry.subject
    elif entry.kind == PAIR_KIND and len(drugs := {d for d, _ in _pairs(entry.note)}) == 1:
        section, subject = "drug", drugs.pop()
    else:
        section, subject = "general", entry.subject
    if section == "drug":
        export = by_drug.get(subject.casefold())
        baseline = export.baseline if export else snapshot
    elif section == "gene":
        baseline = gene_tables.get(subject, snapshot)
    else:
        baseline = snapshot
    if entry.day < baseline.day:
        return None
    return Gap(entry, section, subject, baseline)


def _pairs(note: str) -> list[tuple[str, str]]:
    found = []
    for pattern, drug, gene in _PAIR_PATTERNS:
        found += [(m.group(drug).strip(), m.group(gene)) for m in pattern.finditer(note)]
    return found


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GapsError(f"{path}: {exc}") from None


def _read_exports(data: Path, folder: str) -> list[GuidelineExport]:
    exports = []
    for path in sorted((data / folder).glob("*.json")):
        export = _read_json(path)
        relative = path.relative_to(data).as_posix()
        try:
            guideline = export["guideline"]
            exports.append(
                GuidelineExport(
                    baseline=_baseline(data, relative, str(export["version"])),
                    drugs=tuple(c["name"] for c in guideline["relatedChemicals"]),
                    genes=tuple(g["symbol"] for g in guideline["relatedGenes"]),
                    recommendations=len(export["recommendations"]),
                )
            )
        except (KeyError, TypeError) as exc:
            raise GapsError(f"{path}: not a PharmCAT guideline export ({exc!r} missing)") from None
    return exports


def _read_gene_tables(data: Path) -> dict[str, Baseline]:
    """Each gene's phenotype table; ``phenotype/`` wins over the older ``phenotype_fallback/``."""
    tables: dict[str, Baseline] = {}
    for folder in GENE_TABLES:
        for path in sorted((data / folder).glob("*.json")):
            table = _read_json(path)
            if not isinstance(table, dict) or "gene" not in table or "version" not in table:
                raise GapsError(f"{path}: expected a phenotype table with 'gene' and 'version'")
            relative = path.relative_to(data).as_posix()
            tables.setdefault(table["gene"], _baseline(data, relative, str(table["version"])))
    return dict(sorted(tables.items()))


def _baseline(data: Path, relative: str, version: str) -> Baseline:
    if _DAY.match(version):
        try:
            return Baseline(relative, version, date.fromisoformat(version[:10]))
        except ValueError:
            raise GapsError(f"{data / relative}: version {version!r} is not a real date") from None
    found = _manifest_date(data / "MANIFEST.md", relative)
    if found is None:
        raise GapsError(
            f"{data / relative}: version {version!r} is not a date and MANIFEST.md gives no "
            f"dated source for this file; add the source's commit date to MANIFEST.md"
        )
    key, day = found
    return Baseline(relative, version, day, f"dated {day} by its source {key} in MANIFEST.md")


def _manifest_date(manifest: Path, relative: str) -> tuple[str, date] | None:
    """The commit date MANIFEST.md gives for the source a file was taken from."""
    if not manifest.is_file():
        return None
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in manifest.read_text(encoding="utf-8").splitlines()
        if line.startswith("|")
    ]
    key = next((row[1] for row in rows if len(row) > 1 and row[0] == f"`{relative}`"), None)
    if key is None:
        return None
    for row in rows:
        if len(row) > 2 and row[0] == key and (day := _DAY.search(row[2])):
            return key, date.fromisoformat(day.group())
    return None


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _report_notes(data: Path, drugs: set[str]) -> dict[str, tuple[str, ...]]:
    """PharmCAT's report notes (``exception_type: note``) for the given drugs, as plain text."""
    path = data / MESSAGES
    if not path.is_file():
        return {}
    notes: dict[str, list[str]] = {}
    for message in _read_json(path):
        if message.get("exception_type") != "note":
            continue
        for drug in message.get("matches", {}).get("drugs") or []:
            if drug in drugs:
                parser = _Text()
                parser.feed(message.get("message", ""))
                notes.setdefault(drug, []).append(" ".join("".join(parser.parts).split()))
    return {drug: tuple(texts) for drug, texts in sorted(notes.items())}


# --- Markdown -------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"([\\`*_\[\]<>|~#])")
_SAME_DAY = " *(same day as the data: may already be in it)*"


def _md(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)


def _quote(note: str) -> str:
    """The changelog's wording, escaped for Markdown; a multi-line note keeps its line breaks."""
    return "“" + "\\\n  ".join(_md(line) for line in note.splitlines()) + "”"


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _latest(gaps: Sequence[Gap]) -> Gap:
    return max(gaps, key=lambda g: (g.entry.day, -g.entry.line))


def _cited(gap: Gap) -> str:
    return f"{gap.entry.day} {gap.entry.kind} {_quote(gap.entry.note)}"


@dataclass(frozen=True, slots=True)
class _View:
    """The report grouped the way the document reads it."""

    report: KnowledgeGaps
    by_drug: dict[str, list[Gap]]
    by_gene: dict[str, list[Gap]]
    general: list[Gap]
    exports: dict[str, GuidelineExport]
    dpwg: dict[str, list[GuidelineExport]]

    @classmethod
    def of(cls, report: KnowledgeGaps) -> _View:
        by_drug: dict[str, list[Gap]] = {}
        by_gene: dict[str, list[Gap]] = {}
        general: list[Gap] = []
        for gap in report.gaps:
            if gap.section == "drug":
                by_drug.setdefault(gap.subject, []).append(gap)
            elif gap.section == "gene":
                by_gene.setdefault(gap.subject, []).append(gap)
            else:
                general.append(gap)
        exports = {drug.casefold(): e for e in report.exports for drug in e.drugs}
        dpwg: dict[str, list[GuidelineExport]] = {}
        for export in report.dpwg_exports:
            for drug in export.drugs:
                dpwg.setdefault(drug.casefold(), []).append(export)
        return cls(report, by_drug, by_gene, general, exports, dpwg)

    def dpwg_line(self, drug: str) -> str | None:
        """Where a drug CPIC gives us nothing for may still get a card: DPWG's exports."""
        exports = self.dpwg.get(drug.casefold())
        if not exports:
            return None
        files = ", ".join(
            f"`{e.baseline.path}` ({_count(e.recommendations, 'recommendation', 'recommendations')})"
            for e in exports
        )
        return (
            f"  DPWG's exports naming {_md(drug)}: {files}; a {_md(drug)} card from these "
            f"carries DPWG's advice, not CPIC's."
        )

    def by_latest(self, drugs: Iterable[str]) -> list[str]:
        return sorted(drugs, key=lambda d: (-_latest(self.by_drug[d]).entry.day.toordinal(), d))


def _entry_lines(gaps: Sequence[Gap], show_subject: bool = False) -> list[str]:
    """One bullet per distinct entry; identical entries on one day are counted, not repeated."""
    counted: dict[tuple[date, str, str, str], list[Gap]] = {}
    for gap in gaps:
        e = gap.entry
        counted.setdefault((e.day, e.kind, e.subject, e.note), []).append(gap)
    lines = []
    for (day, kind, subject, note), same in counted.items():
        where = f" {_md(subject)}" if show_subject and subject else ""
        times = f" ({len(same)} identical entries)" if len(same) > 1 else ""
        flag = _SAME_DAY if same[0].same_day else ""
        lines.append(f"- {day} {kind}{where}: {_quote(note)}{times}{flag}")
    return lines


def _introduction(view: _View) -> list[str]:
    report, snap = view.report, view.report.snapshot
    general = "[Not tied to one drug or gene](#not-tied-to-one-drug-or-gene)"
    return [
        "# Known gaps: CPIC changes newer than our data",
        "",
        "<!-- Generated by `python -m knowledge.gaps --shared ../shared > docs/knowledge-gaps.md`. "
        "Do not edit by hand. -->",
        "",
        f"CPIC keeps changing its data after the snapshots this service is generated from. This "
        f"page lists the changes in CPIC's own changelog (`pgx-data/{CHANGELOG}`, entries "
        f"{report.first_day} to {report.last_day}) dated on or after the data they would change, "
        f"so a reader knows where a card may be out of date or missing. "
        f"`tests/knowledge/test_gaps.py` fails when this page differs from what the data gives: "
        f"after a data update, regenerate it.",
        "",
        "## The rule",
        "",
        "| Changelog type | Listed under | Listed when dated on or after |",
        "|---|---|---|",
        f"| {', '.join(DRUG_KINDS)} | the drug (Subject) | the version of the CPIC recommendation "
        f"export naming the drug (`pgx-data/{EXPORTS}/`); for a drug no export names, the export "
        f"snapshot ({snap.day}) |",
        f"| {', '.join(GENE_KINDS)} | the gene (Subject) | the version of the gene's phenotype "
        f"table (`pgx-data/{GENE_TABLES[0]}/`, else `pgx-data/{GENE_TABLES[1]}/`); for a gene with "
        f"no table, the export snapshot |",
        f"| {PAIR_KIND} | the drug its note names (`[drug-GENE]` or `GENE-drug pair`), else "
        f"{general} | as for that drug, else the export snapshot |",
        f"| GUIDELINE, and any type not named in this table | {general} | the export snapshot |",
        f"| {', '.join(IGNORED_KINDS)} | left out: allele frequencies change no allele function, "
        f"phenotype or recommendation | — |",
        "",
        "- *On or after*: the changelog gives a day, our data versions a day and a time. An entry "
        "dated the day of the data may or may not be in it, so it is listed and marked.",
        "- A version that is not a date (G6PD's `v1.30.0`) is dated by the commit date MANIFEST.md "
        "gives for the file's source. That commit is no earlier than the data, so a change made "
        "shortly before it may be missing from our data without being listed here.",
        "- Quoted text is the changelog's own wording; identical entries on one day appear once with "
        "a count. *For a prescriber* lines say only what follows for this service's cards (text "
        "that predates a change, or no card); they add no clinical advice. The current guideline "
        "text is at [cpicpgx.org](https://cpicpgx.org).",
        "",
    ]


def _changed_recommendations(view: _View) -> list[str]:
    """Drugs we hold an export for whose recommendation or alert changed after it."""
    lines = ["### Recommendations CPIC changed after our export", ""]
    drugs = [
        drug
        for drug, gaps in view.by_drug.items()
        if drug.casefold() in view.exports and any(g.entry.kind in DRUG_KINDS for g in gaps)
    ]
    for drug in view.by_latest(drugs):
        export = view.exports[drug.casefold()]
        own = [g for g in view.by_drug[drug] if g.entry.kind in DRUG_KINDS]
        lines.append(
            f"- **{_md(drug)}** ({', '.join(export.genes)}; {export.baseline.described}): "
            f"{_count(len(own), 'change', 'changes')} since the export, latest "
            f"{_cited(_latest(own))}."
        )
        tables = [
            f"{gene} ({_count(len(gaps), 'entry', 'entries')} since "
            f"{gaps[0].baseline.day}, latest {_latest(gaps).entry.day})"
            for gene in export.genes
            if (gaps := view.by_gene.get(gene))
        ]
        if tables:
            lines.append(f"  Its genes' tables changed after ours too: {', '.join(tables)}.")
        lines.append(
            f"  *For a prescriber:* any {_md(drug)} card from this service rests on CPIC's "
            f"recommendation as exported on {export.baseline.day}; CPIC has changed it since. "
            f"Check the current guideline before relying on the card."
        )
    return [*lines, *([] if drugs else ["None."]), ""]


def _drugs_without_export(view: _View) -> list[str]:
    """Drugs the changelog touched after the snapshot that no export of ours names."""
    report = view.report
    lines = ["### Drugs CPIC changed after our export that no CPIC export covers", ""]
    drugs = [drug for drug in view.by_drug if drug.casefold() not in view.exports]
    for drug in view.by_latest(drugs):
        own = view.by_drug[drug]
        linked = report.pair_genes.get(drug, ())
        described = [
            f"{gene} (phenotype table {report.gene_tables[gene].described})"
            if gene in report.gene_tables
            else f"{gene} (no phenotype table in our data)"
            for gene in linked
        ]
        paired = f" Genes the changelog pairs it with: {', '.join(described)}." if described else ""
        lines.append(
            f"- **{_md(drug)}**: {_count(len(own), 'change', 'changes')} since "
            f"{report.snapshot.day}, latest {_cited(_latest(own))}.{paired}"
        )
        with_table = [gene for gene in linked if gene in report.gene_tables]
        has = "has" if len(with_table) == 1 else "have"
        but = f" {' and '.join(with_table)} {has} a phenotype table, but" if with_table else ""
        dpwg = view.dpwg_line(drug)
        consequence = (
            "so no card carries CPIC's advice for it"
            if dpwg
            else f"nor a DPWG one, so this service gives no {_md(drug)} card"
        )
        lines.append(
            f"  *For a prescriber:*{but} there is no CPIC recommendation export for {_md(drug)} "
            f"in our data, {consequence}."
        )
        if dpwg:
            lines.append(dpwg)
    return [*lines, *([] if drugs else ["None."]), ""]


def _empty_exports(view: _View) -> list[str]:
    """Exports that name drugs and genes but carry no recommendation to look up."""
    report = view.report
    lines = ["### Guidelines whose export carries no recommendations", ""]
    empty = [e for e in report.exports if e.recommendations == 0]
    for export in empty:
        drugs = ", ".join(_md(d) for d in export.drugs)
        lines.append(
            f"- **{drugs}** ({', '.join(export.genes)}): `{export.baseline.path}` has 0 "
            f"recommendations."
        )
        for drug in export.drugs:
            lines += [
                f"  PharmCAT's report note for {_md(drug)}: {_quote(note)}"
                for note in report.drug_notes.get(drug, ())
            ]
            if drug in report.drug_folders:
                lines.append(
                    f"  CPIC's files for {_md(drug)}: `pgx-data/{report.drug_folders[drug]}/`."
                )
        if any(drug in report.drug_folders for drug in export.drugs):
            # Warfarin: CPIC's own files hold the advice as a flowchart, which is encoded instead.
            lines.append(
                f"  *For a prescriber:* the export has no table, so {drugs} cards come from "
                "CPIC's flowchart in those files, encoded rule by rule (knowledge/curation/"
                "warfarin.yaml, checked against the diagram by the generator)."
            )
        else:
            lines.append(
                f"  *For a prescriber:* there is no recommendation table to give a card from, "
                f"so this service gives no card for {drugs} from this export."
            )
        lines += [line for drug in export.drugs if (line := view.dpwg_line(drug))]
    return [*lines, *([] if empty else ["None."]), ""]


def _by_drug(view: _View) -> list[str]:
    lines = ["## By drug", ""]
    for drug in sorted(view.by_drug, key=str.casefold):
        export = view.exports.get(drug.casefold())
        compared = (
            f"Compared with {export.baseline.described} (genes {', '.join(export.genes)})."
            if export
            else f"No export names this drug; compared with the export snapshot "
            f"({view.report.snapshot.day})."
        )
        lines += [f"### {_md(drug)}", "", compared, "", *_entry_lines(view.by_drug[drug]), ""]
    return lines if view.by_drug else [*lines, "No entries.", ""]


def _by_gene(view: _View) -> list[str]:
    report, snap = view.report, view.report.snapshot
    lines = [
        "## By gene",
        "",
        "| Gene | Phenotype table | Version | Compared from | Entries listed |",
        "|---|---|---|---|---|",
    ]
    for gene, table in report.gene_tables.items():
        dated = "\\*" if table.dated_by else ""
        count = len(view.by_gene.get(gene, ()))
        lines.append(
            f"| {gene} | `{table.path}` | `{table.version}` | {table.day}{dated} | {count} |"
        )
    lines += [
        f"| {gene} | none | — | {snap.day} (export snapshot) | {len(view.by_gene[gene])} |"
        for gene in sorted(view.by_gene)
        if gene not in report.gene_tables
    ]
    lines.append("")
    if any(table.dated_by for table in report.gene_tables.values()):
        lines += ["\\* dated by MANIFEST.md: the version is not a date.", ""]
    for gene in sorted(view.by_gene):
        own_table = report.gene_tables.get(gene)
        compared = (
            f"Compared with {own_table.described}."
            if own_table
            else f"No phenotype table for this gene; compared with the export snapshot ({snap.day})."
        )
        lines += [f"### {gene}", "", compared, "", *_entry_lines(view.by_gene[gene]), ""]
    return lines


def _not_tied(view: _View) -> list[str]:
    return [
        "## Not tied to one drug or gene",
        "",
        f"Compared with the export snapshot ({view.report.snapshot.day}).",
        "",
        *(_entry_lines(view.general, show_subject=True) or ["No entries."]),
        "",
    ]


def render_markdown(report: KnowledgeGaps) -> str:
    """docs/knowledge-gaps.md: the rule, the highlights, then every gap by drug, gene and neither."""
    view = _View.of(report)
    lines = [
        *_introduction(view),
        "## Highlights",
        "",
        *_changed_recommendations(view),
        *_drugs_without_export(view),
        *_empty_exports(view),
        *_by_drug(view),
        *_by_gene(view),
        *_not_tied(view),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.gaps", description=__doc__)
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared",
        help="the shared/ folder holding pgx-data (default: ../shared beside the checkout)",
    )
    args = parser.parse_args(argv)
    try:
        text = render(args.shared)
    except GapsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
