"""What the knowledge base covers: drugs-by-genes, with how many recommendations each pair has."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.base import KnowledgeBase
from knowledge.schema import Guideline

__all__ = ["Coverage", "coverage_of", "render_markdown"]


@dataclass(frozen=True, slots=True)
class Coverage:
    """The drugs-by-genes matrix of the guidelines in use (retired ones are left out)."""

    drugs: tuple[str, ...]
    genes: tuple[str, ...]
    # (drug, gene) → {source: recommendations for that drug keyed on that gene}
    cells: Mapping[tuple[str, str], Mapping[str, int]]
    guidelines_by_source: Mapping[str, int]
    recommendations_by_source: Mapping[str, int]
    drafts: tuple[Guideline, ...]
    retired: tuple[Guideline, ...]

    def cell(self, drug: str, gene: str) -> str:
        """``"24 CPIC"``, ``"7 CPIC, 18 DPWG"``, or ``""`` when no recommendation links them."""
        counts = self.cells.get((drug, gene), {})
        return ", ".join(f"{counts[source]} {source}" for source in sorted(counts))


def coverage_of(kb: KnowledgeBase) -> Coverage:
    """Count each guideline's recommendations per drug and per gene they are selected by."""
    in_use = [g for _, g in sorted(kb.guidelines.items()) if g.status != "retired"]
    cells: dict[tuple[str, str], Counter[str]] = {}
    recommendations: Counter[str] = Counter()
    for guideline in in_use:
        recommendations[guideline.source] += len(guideline.recommendations)
        for rec in guideline.recommendations:
            # A recommendation keyed on two genes (phenytoin: CYP2C9 and HLA-B) counts for both.
            for gene in {*rec.lookup_key, *rec.when} & set(guideline.genes):
                cells.setdefault((rec.drug, gene), Counter())[guideline.source] += 1
    return Coverage(
        drugs=tuple(sorted({drug for g in in_use for drug in g.drugs})),
        genes=tuple(sorted({gene for g in in_use for gene in g.genes})),
        cells={pair: dict(counts) for pair, counts in cells.items()},
        guidelines_by_source=dict(sorted(Counter(g.source for g in in_use).items())),
        recommendations_by_source=dict(sorted(recommendations.items())),
        drafts=tuple(g for g in in_use if g.status == "draft"),
        retired=tuple(g for _, g in sorted(kb.guidelines.items()) if g.status == "retired"),
    )


def render_markdown(coverage: Coverage) -> str:
    """The matrix as a markdown table, then the totals and one line per draft guideline."""
    header = ["drug", *coverage.genes]
    lines = [_row(header), _row(["---"] * len(header))]
    for drug in coverage.drugs:
        lines.append(_row([drug, *(coverage.cell(drug, gene) for gene in coverage.genes)]))
    lines += [
        "",
        f"- guidelines: {_total(coverage.guidelines_by_source)}",
        f"- drugs: {len(coverage.drugs)}",
        f"- genes: {len(coverage.genes)}",
        f"- recommendations: {_total(coverage.recommendations_by_source)}",
    ]
    if coverage.drafts:
        lines += ["", "Draft guidelines:", ""]
        lines += [_guideline_line(g) for g in coverage.drafts]
    if coverage.retired:
        lines += ["", "Retired guidelines (not evaluated, not counted above):", ""]
        lines += [_guideline_line(g) for g in coverage.retired]
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _total(by_source: Mapping[str, int]) -> str:
    """``"74 (55 CPIC, 19 DPWG)"``."""
    parts = ", ".join(f"{count} {source}" for source, count in by_source.items())
    return f"{sum(by_source.values())}" + (f" ({parts})" if parts else "")


def _guideline_line(guideline: Guideline) -> str:
    drugs = ", ".join(guideline.drugs)
    genes = ", ".join(guideline.genes)
    count = len(guideline.recommendations)
    line = f"- {guideline.id}: {drugs} ({genes}), {count} recommendation(s)"
    # The generator's first note says why the guideline is not active.
    return line + (f". {guideline.notes[0]}" if guideline.notes else "")
