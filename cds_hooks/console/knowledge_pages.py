"""The knowledge browser: guidelines, gene tables, targeted drugs, coverage and known gaps."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import render_template, request

import knowledge.gaps as gaps_module
from cds_hooks.console.pages import bp
from cds_hooks.state import service_state
from knowledge import KnowledgeBase
from knowledge.biomarker_cases import (
    BiomarkerCaseOutcome,
    iter_biomarker_cases,
    run_biomarker_case,
)
from knowledge.cases import CaseOutcome, iter_cases, run_case
from knowledge.coverage import Coverage, coverage_of
from knowledge.gaps import Gap, GapsError, knowledge_gaps
from knowledge.oncology_schema import TargetedDrug
from knowledge.schema import Guideline, LocusCondition

__all__ = ["CaseChecks", "case_checks", "case_status"]

# Where ``python -m knowledge.gaps`` looks by default: ../shared beside the checkout.
GAPS_SHARED = Path(gaps_module.__file__).resolve().parents[2] / "shared"


@dataclass(frozen=True, slots=True)
class CaseChecks:
    """The outcome of every test case a knowledge version carries, by guideline and by drug."""

    guidelines: Mapping[str, tuple[CaseOutcome, ...]]
    targeted: Mapping[str, tuple[BiomarkerCaseOutcome, ...]]


@dataclass(frozen=True, slots=True)
class GapsView:
    """The known gaps, or why they could not be read."""

    gaps: tuple[Gap, ...]
    error: str | None


_LOCK = threading.Lock()
# Running every case takes about a second: once per knowledge version (a reload brings a new one).
_CHECKS: dict[str, CaseChecks] = {}
_GAPS: dict[Path, GapsView] = {}


def case_checks(kb: KnowledgeBase) -> CaseChecks:
    """Run the cases of ``kb`` once per version; later calls get the same outcomes."""
    with _LOCK:
        cached = _CHECKS.get(kb.version)
        if cached is not None:
            return cached
        guidelines: dict[str, list[CaseOutcome]] = {}
        for guideline, case in iter_cases(kb):
            guidelines.setdefault(guideline.id, []).append(run_case(kb, guideline, case))
        targeted: dict[str, list[BiomarkerCaseOutcome]] = {}
        for rules, biomarker_case in iter_biomarker_cases(kb):
            targeted.setdefault(rules.drug, []).append(
                run_biomarker_case(kb, rules, biomarker_case)
            )
        checks = CaseChecks(
            {k: tuple(v) for k, v in guidelines.items()},
            {k: tuple(v) for k, v in targeted.items()},
        )
        # Only the version serving is worth keeping.
        _CHECKS.clear()
        _CHECKS[kb.version] = checks
        return checks


def case_status(outcome: CaseOutcome | BiomarkerCaseOutcome) -> str:
    """As ``pgx-cds knowledge check`` says it: ok, FAIL, todo, or FIXED (a todo that passes)."""
    if outcome.case.todo:
        return "todo" if not outcome.passed else "FIXED"
    return "ok" if outcome.passed else "FAIL"


def _gaps(shared: Path) -> GapsView:
    with _LOCK:
        view = _GAPS.get(shared)
        if view is None:
            try:
                view = GapsView(knowledge_gaps(shared).gaps, None)
            except (GapsError, OSError) as exc:
                view = GapsView((), str(exc))
            _GAPS[shared] = view
        return view


def _matches(query: str, names: Iterable[str]) -> bool:
    return any(query in name.casefold() for name in names)


def _biomarker_genes(kb: KnowledgeBase, rules: TargetedDrug) -> list[str]:
    """The genes of the markers the drug's indications require or are resisted by."""
    assert kb.oncology is not None
    genes: list[str] = []
    for marker_id in _marker_ids(rules):
        marker = kb.oncology.markers.get(marker_id)
        for gene in marker.genes if marker is not None else ():
            if gene not in genes:
                genes.append(gene)
    return genes


def _marker_ids(rules: TargetedDrug) -> list[str]:
    found: list[str] = []
    for indication in rules.indications:
        ids = list(indication.requires.any_of) if indication.requires else []
        ids += [m for r in indication.resistance for m in r.any_of]
        found += [m for m in ids if m not in found]
    return found


def _marker_labels(kb: KnowledgeBase, rules: TargetedDrug) -> list[str]:
    assert kb.oncology is not None
    return [
        kb.oncology.markers[m].label if m in kb.oncology.markers else m for m in _marker_ids(rules)
    ]


def _strengths(guideline: Guideline) -> list[str]:
    return sorted({rec.strength for rec in guideline.recommendations})


def _coverage_view(coverage: Coverage, query: str) -> tuple[list[str], list[str]]:
    """The drugs (rows) and genes (columns) of the matrix to show for ``query``."""
    if not query:
        return list(coverage.drugs), list(coverage.genes)
    drugs = [
        d
        for d in coverage.drugs
        if query in d.casefold()
        or any(query in g.casefold() and coverage.cell(d, g) for g in coverage.genes)
    ]
    genes = [g for g in coverage.genes if any(coverage.cell(d, g) for d in drugs)]
    return drugs, genes


@bp.get("/knowledge")
def knowledge() -> str:
    kb = service_state().knowledge.current
    query = request.args.get("q", "").strip()
    needle = query.casefold()
    checks = case_checks(kb)
    guidelines = [
        g
        for _, g in sorted(kb.guidelines.items())
        if not needle or _matches(needle, [*g.drugs, *g.genes])
    ]
    genes = [t for _, t in sorted(kb.genes.items()) if not needle or needle in t.gene.casefold()]
    targeted = sorted(kb.oncology.drugs.values(), key=lambda d: d.drug) if kb.oncology else []
    targeted = [
        d for d in targeted if not needle or _matches(needle, [d.drug, *_biomarker_genes(kb, d)])
    ]
    coverage = coverage_of(kb)
    matrix_drugs, matrix_genes = _coverage_view(coverage, needle)
    gaps = _gaps(GAPS_SHARED)
    shown_gaps = [g for g in gaps.gaps if not needle or needle in g.subject.casefold()]
    found = len(guidelines) + len(genes) + len(targeted) + len(matrix_drugs)
    return render_template(
        "console/knowledge.html",
        kb=kb,
        query=query,
        found=found,
        guidelines=guidelines,
        checks=checks,
        status=case_status,
        strengths=_strengths,
        genes=genes,
        targeted=targeted,
        biomarkers=lambda d: _marker_labels(kb, d),
        coverage=coverage,
        matrix_drugs=matrix_drugs,
        matrix_genes=matrix_genes,
        gaps=shown_gaps,
        gaps_error=gaps.error,
        gaps_total=len(gaps.gaps),
        gaps_shared=GAPS_SHARED,
    )


@bp.get("/knowledge/guidelines/<guideline_id>")
def knowledge_guideline(guideline_id: str) -> str | tuple[str, int]:
    kb = service_state().knowledge.current
    guideline = kb.guidelines.get(guideline_id)
    if guideline is None:
        return _not_found(f"No guideline {guideline_id!r} in knowledge {kb.version}.")
    return render_template(
        "console/knowledge_guideline.html",
        kb=kb,
        guideline=guideline,
        outcomes=case_checks(kb).guidelines.get(guideline.id, ()),
        status=case_status,
        condition=_condition,
    )


@bp.get("/knowledge/genes/<gene>")
def knowledge_gene(gene: str) -> str | tuple[str, int]:
    kb = service_state().knowledge.current
    table = kb.genes.get(gene) or kb.genes.get(gene.upper())
    if table is None:
        return _not_found(f"No gene table {gene!r} in knowledge {kb.version}.")
    guidelines = [g for _, g in sorted(kb.guidelines.items()) if table.gene in g.genes]
    return render_template("console/knowledge_gene.html", kb=kb, table=table, guidelines=guidelines)


@bp.get("/knowledge/targeted/<drug>")
def knowledge_targeted(drug: str) -> str | tuple[str, int]:
    kb = service_state().knowledge.current
    rules = kb.oncology.drugs.get(drug) if kb.oncology is not None else None
    if rules is None:
        return _not_found(f"No targeted drug {drug!r} in knowledge {kb.version}.")
    assert kb.oncology is not None
    return render_template(
        "console/knowledge_targeted.html",
        kb=kb,
        rules=rules,
        markers=kb.oncology.markers,
        outcomes=case_checks(kb).targeted.get(rules.drug, ()),
        status=case_status,
    )


def _not_found(description: str) -> tuple[str, int]:
    # Rendered here rather than by an errorhandler: the blueprint is shared by every page module.
    return render_template("console/knowledge_404.html", description=description), 404


def _condition(condition: LocusCondition) -> str:
    """``tested; carries *2, *3`` as a flowchart rule reads."""
    parts = []
    if condition.tested is not None:
        parts.append("tested" if condition.tested else "not tested")
    if condition.carries:
        parts.append(f"carries {', '.join(condition.carries)}")
    if condition.carries_none_of:
        parts.append(f"carries none of {', '.join(condition.carries_none_of)}")
    if condition.phenotype:
        parts.append(f"phenotype {' or '.join(condition.phenotype)}")
    return "; ".join(parts)
