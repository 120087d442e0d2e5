"""How often vcf2fhir's calls agree with PharmCAT's and with GeT-RM's, gene by gene.

Three truth sets under ``../shared/pgx-data/truth/`` (see its MANIFEST):

1. ``pharmcat_oracle_calls.tsv``: PharmCAT's matcher run on every VCF there (top-scoring
   diplotypes; an empty cell is PharmCAT's "no diplotype", e.g. unphased DPYD).
2. ``pharmcat_examples/*.match.json`` and ``*.phenotype.json``: PharmCAT's official outputs for its
   two whole-panel examples: diplotypes, and the phenotype each is translated to.
3. ``getrm_wgs_vcf/``: three 1000 Genomes WGS samples and the GeT-RM consensus.

``python benchmarks/accuracy.py`` prints the Markdown table kept in ``docs/accuracy.md``; the test
``tests/fhir_adapters/vcf/test_accuracy.py`` holds the figures and fails on any new disagreement.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall
from fhir_adapters.vcf.pipeline import call_vcf
from knowledge import load_knowledge_base

TRUTH = Path(__file__).resolve().parents[2] / "shared" / "pgx-data" / "truth"

# Every known disagreement, with why. A disagreement not listed here fails the accuracy test.
EXPLAINED = {
    ("oracle", "pharmcat_tests_haplotype_VcfReaderTest-alleleOrder", "DPYD"): (
        "partial genotypes (`.|1`, `1|.`) at two DPYD positions: PharmCAT lists the variant as "
        "`g.97079005?` on the copy; we call nothing for the gene and say why, since an allele "
        "that half-read cannot support a dose decision"
    ),
    ("getrm", "NA18526", "CYP2C8"): "no CYP2C8 allele definitions in PharmCAT's data: not called",
    ("getrm", "NA18565", "CYP2C8"): "no CYP2C8 allele definitions in PharmCAT's data: not called",
    ("getrm", "NA18861", "CYP2C8"): "no CYP2C8 allele definitions in PharmCAT's data: not called",
}


@dataclass(frozen=True, slots=True)
class Comparison:
    truth: str  # "oracle", "official", "getrm"
    case: str
    gene: str
    expected: str
    found: str
    agree: bool

    @property
    def explanation(self) -> str | None:
        return EXPLAINED.get((self.truth, self.case, self.gene))


def _diplotype_set(text: str) -> frozenset[frozenset[str] | str]:
    """``"*1/*17 | *17/*38"`` as a set of allele sets, so order never counts as a difference."""
    found: set[frozenset[str] | str] = set()
    for reading in filter(None, (part.strip() for part in text.split("|"))):
        copies = reading.split("/") if "/" in reading else [reading]
        found.add(frozenset(_copy(copy) for copy in copies))
    return frozenset(found)


def _copy(text: str) -> str:
    # "[a + b]" lists one copy's variants; their order is not a difference either.
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        return " + ".join(sorted(part.strip() for part in inner[1:-1].split(" + ")))
    return inner


def _shown(call: SampleGeneCall | None) -> str:
    return " | ".join(call.diplotypes) if call else ""


def _vcf_files() -> dict[str, Path]:
    files = {}
    for path in TRUTH.rglob("*.vcf*"):
        if path.suffix in {".csi", ".tbi"}:
            continue
        key = str(path.relative_to(TRUTH)).replace("/", "_")
        for extension in (".vcf.bgz", ".vcf.gz", ".vcf"):
            key = key.removesuffix(extension)
        files[key] = path
    return files


def oracle() -> Iterator[Comparison]:
    kb = load_knowledge_base()
    files = _vcf_files()
    cache: dict[tuple[Path, str | None], SampleCalls | None] = {}
    with (TRUTH / "pharmcat_oracle_calls.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    for case, gene, _phasing, expected, *_ in rows:
        key, sample = case, None
        if key not in files and "." in key:
            key, sample = case.rsplit(".", 1)
        path = files[key]
        if (path, sample) not in cache:
            cache[(path, sample)] = call_vcf(path, sample=sample, kb=kb)[0]
        calls = cache[(path, sample)]
        found = calls.gene(gene) if calls else None
        yield Comparison(
            "oracle",
            case,
            gene,
            expected,
            _shown(found),
            _diplotype_set(expected) == _diplotype_set(_shown(found)),
        )


def official() -> Iterator[Comparison]:
    """PharmCAT v3.1's published outputs for its examples: diplotypes, then phenotypes."""
    kb = load_knowledge_base()
    examples = TRUTH / "pharmcat_examples"
    for name in ("pharmcat.example", "pharmcat.example2"):
        calls = call_vcf(examples / f"{name}.vcf", kb=kb)[0]
        match = json.loads((examples / f"{name}.match.json").read_text(encoding="utf-8"))
        for result in match["results"]:
            expected = " | ".join(d["name"] for d in result["diplotypes"])
            found = calls.gene(result["gene"])
            yield Comparison(
                "official",
                f"{name} diplotype",
                result["gene"],
                expected,
                _shown(found),
                _diplotype_set(expected) == _diplotype_set(_shown(found)),
            )
        reports = json.loads((examples / f"{name}.phenotype.json").read_text(encoding="utf-8"))
        for gene, report in reports["geneReports"].items():
            if report.get("callSource") != "MATCHER":
                continue  # outside calls and genes PharmCAT did not call
            expected_phenotypes = sorted(
                p for d in report["sourceDiplotypes"] for p in d["phenotypes"] if p != "n/a"
            )
            found = calls.gene(gene)
            got = sorted(p for p in (found.phenotypes if found else ()) if p)
            yield Comparison(
                "official",
                f"{name} phenotype",
                gene,
                ", ".join(expected_phenotypes) or "(none)",
                ", ".join(got) or "(none)",
                expected_phenotypes == got,
            )


def getrm() -> Iterator[Comparison]:
    kb = load_knowledge_base()
    folder = TRUTH / "getrm_wgs_vcf"
    with (folder / "expected_getrm_consensus.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    by_sample: dict[str, SampleCalls] = {}
    for row in rows:
        sample, gene = row["sample"], row["gene"]
        if sample not in by_sample:
            by_sample[sample] = call_vcf(folder / f"{sample}.preprocessed.vcf", kb=kb)[0]
        found = by_sample[sample].gene(gene)
        expected = row["getrm_consensus"]
        if gene == "CYP2D6":
            continue  # only from outside calls, which here are GeT-RM's own: nothing to measure
        yield Comparison(
            "getrm",
            sample,
            gene,
            expected,
            _shown(found),
            _diplotype_set(expected) == _diplotype_set(_shown(found)),
        )


def compare_all() -> list[Comparison]:
    return [*oracle(), *official(), *getrm()]


def markdown(comparisons: list[Comparison]) -> str:
    lines = ["| Truth set | Gene | Cases | Agree | Agreement |", "|---|---|---:|---:|---:|"]
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for c in comparisons:
        entry = tally[(c.truth, c.gene)]
        entry[0] += 1
        entry[1] += c.agree
    for (truth, gene), (total, agree) in sorted(tally.items()):
        lines.append(f"| {truth} | {gene} | {total} | {agree} | {agree / total:.0%} |")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in comparisons:
        totals[c.truth][0] += 1
        totals[c.truth][1] += c.agree
    lines.append("")
    for truth, (total, agree) in sorted(totals.items()):
        lines.append(f"- **{truth}**: {agree} of {total} agree ({agree / total:.1%})")
    differences = [c for c in comparisons if not c.agree]
    if differences:
        lines += [
            "",
            "| Truth set | Case | Gene | Expected | vcf2fhir | Why |",
            "|---|---|---|---|---|---|",
        ]
        for c in differences:
            cells = (
                c.truth,
                c.case,
                c.gene,
                c.expected or "(no call)",
                c.found or "(no call)",
                c.explanation or "**unexplained**",
            )
            # A "|" inside a cell (".|1", "*1/*2 | *1/*3") would split the Markdown row.
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown(compare_all()) + "\n")
