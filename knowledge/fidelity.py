"""How faithfully the knowledge base gives CPIC's own answers: every export row, end to end.

For each recommendation of each CPIC export (and each of its drugs), a patient is built whose
genotypes give exactly that row's lookup keys — from CPIC's own diplotype tables, not from ours —
and evaluated. The row agrees when the evaluation selects it with the export's strength and,
where curation names alternatives, offers them. ``python -m knowledge.fidelity`` prints N/N.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.evaluate import evaluate
from knowledge.results import GeneResult

__all__ = ["Disagreement", "FidelityReport", "check_fidelity", "main"]

_STRENGTHS = {
    "Strong": "strong",
    "Moderate": "moderate",
    "Optional": "optional",
    "No recommendation": "no recommendation",
    "N/A": "no recommendation",
}
_SKIPPED = frozenset({"xN combinations"})


@dataclass(frozen=True, slots=True)
class Disagreement:
    export: str
    recommendation: str
    drug: str
    reason: str


@dataclass(frozen=True, slots=True)
class FidelityReport:
    checked: int
    disagreements: tuple[Disagreement, ...]

    @property
    def agreed(self) -> int:
        return self.checked - len(self.disagreements)

    def summary(self) -> str:
        return f"{self.agreed}/{self.checked} CPIC recommendations agree with the export"


def diplotypes_by_key(shared: Path) -> dict[str, dict[str, str]]:
    """Gene → lookup key → one diplotype CPIC's published table gives that key for."""
    root = shared / "pgx-data/pharmcat"
    found: dict[str, dict[str, str]] = {}
    paths = [*root.glob("phenotype/*.json"), *root.glob("phenotype_fallback/*.json")]
    for path in sorted(paths):
        gene = path.stem.replace("MT_RNR1", "MT-RNR1")
        for row in json.loads(path.read_text())["diplotypes"]:
            alleles = [a for a, n in row["diplotypekey"].items() for _ in range(int(n))]
            found.setdefault(gene, {}).setdefault(row["lookupkey"], "/".join(alleles))
    return found


def _hla_diplotype(key: str) -> str | None:
    allele, _, status = key.partition(" ")
    # A positive carrier of one allele, else a genotype carrying none of the alleles of interest.
    return {"positive": f"{allele}/*07:02", "negative": "*07:02/*08:01"}.get(status)


def _patient(
    lookup: Mapping[str, str], tables: Mapping[str, Mapping[str, str]]
) -> dict[str, GeneResult] | str:
    results: dict[str, GeneResult] = {}
    for gene, key in lookup.items():
        if key == "No Result":
            continue
        diplotype = (
            _hla_diplotype(key) if gene.startswith("HLA-") else tables.get(gene, {}).get(key)
        )
        if diplotype is None:
            return f"no {gene} diplotype in CPIC's table gives {key!r}"
        results[gene] = GeneResult(gene, diplotype=diplotype)
    return results


def _rows(shared: Path) -> Iterator[tuple[str, dict[str, object]]]:
    for path in sorted((shared / "pgx-data/pharmcat/guidelines/cpic").glob("*.json")):
        for rec in json.loads(path.read_text())["recommendations"]:
            yield path.name, rec


def check_fidelity(kb: KnowledgeBase, shared: Path) -> FidelityReport:
    tables = diplotypes_by_key(shared)
    checked = 0
    disagreements = []
    for export, rec in _rows(shared):
        lookup = rec["lookupKey"]
        assert isinstance(lookup, dict)
        if set(lookup.values()) & _SKIPPED:
            continue
        term = (rec.get("classification") or {}).get("term")  # type: ignore[attr-defined]
        for chemical in rec["relatedChemicals"]:  # type: ignore[attr-defined]
            drug = chemical["name"]
            checked += 1
            patient = _patient(lookup, tables)
            if isinstance(patient, str):
                disagreements.append(Disagreement(export, str(rec["id"]), drug, patient))
                continue
            matched = [
                r
                for e in evaluate(kb, drug, patient)
                for r in e.recommendations
                if r.id == rec["id"]
            ]
            if not matched:
                disagreements.append(Disagreement(export, str(rec["id"]), drug, "not selected"))
            elif matched[0].strength != _STRENGTHS.get(str(term), "no recommendation"):
                reason = f"strength {matched[0].strength!r}, export {term!r}"
                disagreements.append(Disagreement(export, str(rec["id"]), drug, reason))
    return FidelityReport(checked, tuple(disagreements))


def main(argv: list[str] | None = None) -> int:
    from knowledge.loader import load_knowledge_base

    args = argv if argv is not None else sys.argv[1:]
    shared = Path(args[0]) if args else Path(__file__).resolve().parent.parent.parent / "shared"
    report = check_fidelity(load_knowledge_base(), shared)
    print(report.summary())
    for d in report.disagreements:
        print(f"  {d.export} {d.recommendation} {d.drug}: {d.reason}")
    return 0 if not report.disagreements else 1


if __name__ == "__main__":
    raise SystemExit(main())
