"""Gene files: allele function, activity values and how a diplotype becomes a lookup key."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from knowledge.generation.common import (
    PHARMCAT_CYP2D6,
    PHARMCAT_G6PD,
    PHARMCAT_GUIDELINES,
    PHARMCAT_HEAD,
    PHARMCAT_RYR1,
    Flow,
    GenerationError,
    read_json,
)
from knowledge.phenotype import DiplotypeIndex
from knowledge.schema import GeneTable

__all__ = ["allele_status_gene", "definition_only_gene", "gene_sources", "phenotype_gene"]

# Genes whose current PharmCAT phenotype file is absent from the snapshot (see pgx-data MANIFEST):
# the last published file for each, with its commit.
_FALLBACK = {"CYP2D6": PHARMCAT_CYP2D6, "G6PD": PHARMCAT_G6PD, "RYR1": PHARMCAT_RYR1}
_LICENSE = "MPL-2.0 (PharmCAT); CPIC content CC0 1.0"
_HLA_KEY = re.compile(r"^(?P<allele>\*\d+:\d+) (?:positive|negative)$")


def gene_sources(shared: Path) -> dict[str, tuple[str, str]]:
    """Gene symbol → (pgx-data file, commit) of its phenotype table."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted((shared / "pgx-data/pharmcat/phenotype").glob("*.json")):
        found[_symbol(path.stem)] = (f"pharmcat/phenotype/{path.name}", PHARMCAT_HEAD)
    for gene, commit in _FALLBACK.items():
        if gene in found:
            raise GenerationError(f"{gene} now has a current phenotype file: drop the fallback")
        found[gene] = (f"pharmcat/phenotype_fallback/{gene}.json", commit)
    return found


def _symbol(stem: str) -> str:
    return "MT-RNR1" if stem == "MT_RNR1" else stem


def _source(name: str, relative: str, version: str, commit: str) -> dict[str, Any]:
    return {
        "name": name,
        "file": relative,
        "version": version,
        "repository": "PharmGKB/PharmCAT",
        "commit": commit,
        "license": _LICENSE,
    }


def _head(gene: str, hgnc: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"gene": gene}
    if gene in hgnc:
        out["hgnc_id"] = hgnc[gene][0]
    return out


def _value(raw: Any) -> str | None:
    return None if raw in (None, "n/a") else str(raw)


def phenotype_gene(
    shared: Path, gene: str, relative: str, commit: str, hgnc: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """A gene with a CPIC phenotype table; activity-score genes keep only what the sum misses."""
    data = read_json(shared, relative)
    rows = data["diplotypes"]
    scored = any(_value(row.get("activityScore")) is not None for row in rows)
    alleles: dict[str, Any] = {}
    if "namedAlleles" in data:
        for allele in data["namedAlleles"]:
            entry: dict[str, Any] = {"function": allele["functionValue"]}
            if _value(allele.get("activityValue")) is not None:
                entry["activity_value"] = str(allele["activityValue"])
            alleles[allele["name"]] = Flow(entry)
    else:  # the older G6PD file lists functions only
        alleles = {name: Flow({"function": f}) for name, f in data["haplotypes"].items()}
    out = _head(gene, hgnc)
    out["lookup"] = "activity_score" if scored else "phenotype"
    out["source"] = _source(
        "PharmCAT phenotype table (CPIC allele function and diplotype to phenotype)",
        relative,
        data["version"],
        commit,
    )
    if gene in hgnc:
        out["hgnc_source"] = hgnc[gene][1]
    out["alleles"] = alleles
    table = {row["diplotype"]: _row(row) for row in rows}
    if scored:
        scores = _score_phenotypes(gene, rows)
        out["activity_score_phenotypes"] = scores
        out["diplotypes"] = _not_reproduced(out, table)
    else:
        out["function_phenotypes"], out["diplotypes"] = _function_rule(out, table)
    return {k: v for k, v in out.items() if v not in ({}, None)} | {"gene": gene}


def _row(row: Mapping[str, Any]) -> Flow:
    phenotype = row.get("phenotype") or row["generesult"]
    entry: dict[str, Any] = {"phenotype": phenotype}
    if _value(row.get("activityScore")) is not None:
        entry["activity_score"] = str(row["activityScore"])
    if row["lookupkey"] != phenotype:
        entry["lookup_key"] = row["lookupkey"]
    return Flow(entry)


def _score_phenotypes(gene: str, rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    scores: dict[str, str] = {}
    for row in rows:
        key, phenotype = row["lookupkey"], row["phenotype"]
        if scores.setdefault(key, phenotype) != phenotype:
            raise GenerationError(f"{gene}: score {key} maps to {scores[key]} and {phenotype}")
    return dict(sorted(scores.items(), key=lambda kv: _score_order(kv[0])))


def _score_order(key: str) -> tuple[float, str]:
    try:
        return (float(key.lstrip("≥")), key)
    except ValueError:
        return (float("inf"), key)


def _not_reproduced(gene_data: Mapping[str, Any], table: Mapping[str, Flow]) -> dict[str, Flow]:
    """The table rows that CPIC's sum of allele activity values does not give; ideally none."""
    probe = GeneTable.model_validate({**gene_data, "diplotypes": {}})
    index = DiplotypeIndex(probe)
    kept = {}
    for diplotype, row in table.items():
        call = index.call(diplotype)
        key = row.get("lookup_key", row["phenotype"])
        if call is None or call.lookup_keys != {key} or call.phenotype != row["phenotype"]:
            kept[diplotype] = row
    return kept


def _function_rule(
    gene_data: Mapping[str, Any], table: Mapping[str, Flow]
) -> tuple[dict[str, Flow], dict[str, Flow]]:
    """CPIC's allele-function-pair → phenotype rule, as the table itself shows it.

    Each pair of functions takes the phenotype most of its rows give; rows that disagree (or name
    alleles without a function) are kept as they are, so the table is reproduced exactly.
    """
    probe = DiplotypeIndex(GeneTable.model_validate({**gene_data, "diplotypes": {}}))
    votes: dict[str, dict[tuple[str, str | None], int]] = {}
    keyed: dict[str, str | None] = {}
    for diplotype, row in table.items():
        pair = probe.split(diplotype)
        key = None if pair is None else probe.functions_key(pair)
        keyed[diplotype] = key
        if key is not None:
            outcome = (row["phenotype"], row.get("lookup_key"))
            counts = votes.setdefault(key, {})
            counts[outcome] = counts.get(outcome, 0) + 1
    rule: dict[str, Flow] = {}
    for key, counts in sorted(votes.items()):
        (phenotype, lookup_key), _ = max(counts.items(), key=lambda kv: (kv[1], kv[0][0]))
        entry = {"phenotype": phenotype} | ({"lookup_key": lookup_key} if lookup_key else {})
        rule[key] = Flow(entry)
    kept = {}
    for diplotype, row in table.items():
        key = keyed[diplotype]
        if key is None or dict(rule[key]) != dict(row):
            kept[diplotype] = row
    if len(kept) > len(table) // 2:
        return {}, dict(table)  # no rule to speak of: keep the table as published
    return rule, kept


def allele_status_gene(
    shared: Path, gene: str, exports: Iterable[str], hgnc: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """HLA genes: the alleles of interest are the ones guideline lookup keys test for."""
    wanted: set[str] = set()
    used: list[str] = []
    for relative in exports:
        export = read_json(shared, relative)
        found = {
            match["allele"]
            for rec in export["recommendations"]
            if (match := _HLA_KEY.match(rec["lookupKey"].get(gene, "")))
        }
        if found:
            wanted |= found
            used.append(relative)
    out = _head(gene, hgnc)
    out["lookup"] = "allele_status"
    out["source"] = {
        "name": "allele-status lookup keys of the CPIC and DPWG guideline exports",
        "file": ", ".join(used),
        "version": read_json(shared, used[0])["version"],
        "repository": "PharmGKB/PharmCAT",
        "commit": PHARMCAT_GUIDELINES,
        "license": "CPIC content CC0 1.0; annotation via ClinPGx (see LICENSE-DATA.md)",
    }
    if gene in hgnc:
        out["hgnc_source"] = hgnc[gene][1]
    out["alleles_of_interest"] = sorted(wanted)
    return out


def definition_only_gene(
    shared: Path, gene: str, hgnc: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """A gene CPIC assigns no phenotypes to (CYP4F2): allele names only, every diplotype unread."""
    relative = f"pharmcat/definition/alleles/{gene}_translation.json"
    data = read_json(shared, relative)
    out = _head(gene, hgnc)
    out["lookup"] = "phenotype"
    out["source"] = _source(
        "PharmCAT allele definitions (no CPIC function or phenotype assignments)",
        relative,
        str(data.get("version", "")),
        PHARMCAT_HEAD,
    )
    if gene in hgnc:
        out["hgnc_source"] = hgnc[gene][1]
    out["alleles"] = {
        a["name"]: Flow({"function": "not assigned by CPIC"}) for a in data["namedAlleles"]
    }
    return out
