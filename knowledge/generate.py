"""Regenerate the knowledge YAML from the CPIC/DPWG/PharmCAT data in ``../shared/pgx-data``.

Run ``python -m knowledge.generate [--shared PATH]``. Generated files are committed, so a data update
is this one command and a reviewable diff. Hand-curated facts live apart, in ``knowledge/curation/``,
each with its source; the generator merges them and refuses a curated quote the data does not contain.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

import yaml

from knowledge.brand_names import read_brand_names
from knowledge.generation.common import HEADER, GenerationError, dump, read_json
from knowledge.generation.drugs import generate_drugs
from knowledge.generation.genes import (
    allele_status_gene,
    definition_only_gene,
    gene_sources,
    phenotype_gene,
)
from knowledge.generation.guidelines import GuidelineSource, generate_guideline, guideline_id
from knowledge.generation.hgnc import hgnc_ids
from knowledge.generation.warfarin import generate_warfarin

__all__ = ["GenerationError", "generate", "guideline_sources", "main"]

KNOWLEDGE = Path(__file__).resolve().parent
CURATION = KNOWLEDGE / "curation"
# Genes with no phenotype table: HLA genes are read as allele status; CYP4F2 has definitions only.
_ALLELE_STATUS_GENES = ("HLA-A", "HLA-B")
_DEFINITION_ONLY_GENES = ("CYP4F2",)
# CPIC's warfarin advice is a flowchart, generated from curation/warfarin.yaml, not from the export.
_WARFARIN_EXPORT = "CPIC_warfarin_and_CYP2C9_CYP4F2_VKORC1.json"
_DPWG_NOTE = (
    "DPWG recommendation, included because the CPIC export (2024-03) has no guideline for "
    "{drugs}; docs/knowledge-gaps.md lists newer CPIC work. DPWG does not grade recommendations "
    "the CPIC way (strength 'not graded')."
)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def guideline_sources(shared: Path) -> list[GuidelineSource]:
    """Every CPIC export, and every DPWG export whose drugs CPIC does not cover."""
    root = shared / "pgx-data"
    cpic = sorted((root / "pharmcat/guidelines/cpic").glob("*.json"))
    dpwg = sorted((root / "pharmcat/guidelines/dpwg").glob("*.json"))
    covered: set[str] = set()
    sources = []
    for path in cpic:
        relative = str(path.relative_to(root))
        covered |= {c["name"] for c in read_json(shared, relative)["guideline"]["relatedChemicals"]}
        sources.append(relative)
    chosen: list[tuple[str, str | None]] = [
        (relative, None) for relative in sources if not relative.endswith(_WARFARIN_EXPORT)
    ]
    for path in dpwg:
        relative = str(path.relative_to(root))
        drugs = [c["name"] for c in read_json(shared, relative)["guideline"]["relatedChemicals"]]
        if not set(drugs) & covered:
            chosen.append((relative, _DPWG_NOTE.format(drugs=", ".join(drugs))))
    found = []
    for relative, note in chosen:
        ident = guideline_id(relative)
        curation = _load(CURATION / "guidelines" / f"{ident}.yaml") or {}
        found.append(GuidelineSource(relative, curation, note))
    return found


def _guideline_urls(shared: Path) -> dict[str, str]:
    with (shared / "pgx-data/pypgx/cpic-table.csv").open(newline="") as handle:
        return {row["Drug"]: row["Guideline"] for row in csv.DictReader(handle) if row["Guideline"]}


def generate(shared: Path, out: Path = KNOWLEDGE) -> list[Path]:
    """Write every generated file under ``out``; returns the paths written."""
    gene_curation = _load(CURATION / "genes.yaml") or {}
    drug_curation = _load(CURATION / "drugs.yaml") or {}
    population_labels = _load(CURATION / "populations.yaml") or {}
    sources = guideline_sources(shared)
    hgnc = hgnc_ids(shared, gene_curation)

    outputs: dict[Path, str] = {}
    names: set[str] = set(drug_curation)
    genes: set[str] = set()
    for source in sources:
        export = read_json(shared, source.relative)["guideline"]
        names.update(c["name"] for c in export["relatedChemicals"])
        genes.update(g["symbol"] for g in export["relatedGenes"])
        for rule in source.curation.get("alternatives", []):
            names.update(rule["drugs"])
    drug_table = generate_drugs(shared, names, drug_curation, read_brand_names(shared))
    outputs[out / "drugs.yaml"] = dump(
        drug_table, HEADER.format(source="cpic-data/drug_2019_bootstrap.tsv + curation/drugs.yaml")
    )

    tables = gene_sources(shared)
    exports = [s.relative for s in sources]
    for gene in sorted(genes | set(tables) | set(_DEFINITION_ONLY_GENES)):
        if gene in tables:
            relative, commit = tables[gene]
            data = phenotype_gene(shared, gene, relative, commit, hgnc)
        elif gene in _ALLELE_STATUS_GENES:
            data = allele_status_gene(shared, gene, exports, hgnc)
        elif gene in _DEFINITION_ONLY_GENES:
            data = definition_only_gene(shared, gene, hgnc)
        else:
            raise GenerationError(f"no phenotype data for {gene}, which a guideline uses")
        outputs[out / "genes" / f"{gene}.yaml"] = dump(
            data, HEADER.format(source=data["source"]["file"])
        )

    urls = _guideline_urls(shared)
    known = set(drug_table["drugs"])
    for source in sources:
        data = generate_guideline(shared, source, population_labels, known, urls)
        curated = f" + curation/guidelines/{data['id']}.yaml" if source.curation else ""
        outputs[out / "guidelines" / f"{data['id']}.yaml"] = dump(
            data, HEADER.format(source=source.relative + curated)
        )
    warfarin = generate_warfarin(shared, _load(CURATION / "warfarin.yaml"))
    outputs[out / "guidelines" / f"{warfarin['id']}.yaml"] = dump(
        warfarin, HEADER.format(source=f"{warfarin['data']['file']} + curation/warfarin.yaml")
    )
    stale = [
        p
        for folder in ("genes", "guidelines")
        for p in (out / folder).glob("*.yaml")
        if p not in outputs
    ]
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in stale:
        # Generated files whose source is gone; hand-written files live under curation/.
        if path.read_text().startswith("# GENERATED"):
            path.unlink()
    return list(outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.generate", description=__doc__)
    parser.add_argument(
        "--shared",
        type=Path,
        default=KNOWLEDGE.parent.parent / "shared",
        help="the shared/ folder holding pgx-data (default: ../shared)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=KNOWLEDGE,
        help="where to write (default: the knowledge package itself); e.g. a scratch folder",
    )
    args = parser.parse_args(argv)
    try:
        written = generate(args.shared, args.out)
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
