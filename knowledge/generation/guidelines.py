"""Guideline files: every recommendation of a CPIC or DPWG export, with curated structure added.

The export gives lookup keys, strength, implications and text. Curation (``curation/guidelines/``)
adds what the export has only as prose: population labels, structured alternatives and dose
adjustments, and the cases the guideline carries. Every curated statement quotes the guideline
text it rests on, and a quote the text does not contain stops the generator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.generation.common import PHARMCAT_GUIDELINES, GenerationError, read_json
from knowledge.generation.text import split_recommendation_html

__all__ = ["GuidelineSource", "generate_guideline", "guideline_id"]

_STRENGTHS = {
    "Strong": "strong",
    "Moderate": "moderate",
    "Optional": "optional",
    "No recommendation": "no recommendation",
}
# PharmCAT's input-form artefact ("xN is not a valid input …"), not a recommendation.
_NOT_RECOMMENDATIONS = frozenset({"xN combinations"})
# DPWG writes some DPYD keys as "1.5 (Intermediate Metabolizer)" or "0.5 (Phenotyping)" (the advice
# for that genotype is to measure DPD activity); the score is the key. Where DPWG gives two rows for
# one score, both match and the card shows both: the data cannot tell them apart from a genotype.
_LABELLED_SCORE = re.compile(r"^(?P<score>\d+(?:\.\d+)?) \((?P<label>[^)]+)\)$")


@dataclass(frozen=True)
class GuidelineSource:
    """One export file and what is known about it beyond the file itself."""

    relative: str  # e.g. pharmcat/guidelines/cpic/CPIC_clopidogrel_and_CYP2C19.json
    curation: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None  # e.g. why a DPWG guideline is included


def guideline_id(relative: str) -> str:
    """``CPIC_clopidogrel_and_CYP2C19.json`` → ``cpic-clopidogrel``; DPWG keeps the gene."""
    stem = Path(relative).stem
    source, _, rest = stem.partition("_")
    drugs, _, genes = rest.rpartition("_and_")
    name = drugs if source == "CPIC" else f"{drugs}_{genes}"
    return f"{source.lower()}-{_slug(name)}"


def _key(value: str | Mapping[str, float]) -> str:
    """DPWG keys some genes by diplotype (``{"*1": 1, "*3": 1}``): written ``"*1/*3"``."""
    if isinstance(value, str):
        labelled = _LABELLED_SCORE.match(value)
        if labelled:
            return labelled["score"]
        return value
    alleles = sorted(a for a, count in value.items() for _ in range(int(count)))
    return "/".join(alleles)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _strength(source: str, term: str | None) -> str:
    if term in _STRENGTHS:
        return _STRENGTHS[term]
    # CPIC's "N/A" rows are the untestable combinations ("n/a" text); DPWG does not grade at all.
    return "no recommendation" if source == "CPIC" else "not graded"


def _action(rec: Mapping[str, Any], strength: str) -> str:
    # The export's flags say what kind of advice it is; the text itself is kept verbatim.
    if strength == "no recommendation":
        return "no-recommendation"
    if rec["alternateDrugAvailable"]:
        return "alternative"
    if rec["dosingInformation"]:
        return "dose-adjustment"
    if rec["otherPrescribingGuidance"]:
        return "caution"
    return "standard"


@dataclass
class _Rules:
    """Curated rules, each of which must apply to at least one recommendation."""

    guideline: str
    alternatives: list[dict[str, Any]]
    doses: list[dict[str, Any]]
    used: set[int] = field(default_factory=set)

    def alternatives_for(
        self, rec: Mapping[str, Any], population: str | None, text: str, known: set[str]
    ) -> list[dict[str, str]]:
        if not rec["alternateDrugAvailable"]:
            return []
        for i, rule in enumerate(self.alternatives):
            if not _applies(rule, rec, population, text):
                continue
            unknown = [d for d in rule["drugs"] if d not in known]
            if unknown:
                raise GenerationError(
                    f"{self.guideline}: alternatives {unknown} have no drug entry"
                )
            self.used.add(i)
            limit = self._limit(rule, text)
            return [{"drug": d, **limit} for d in rule["drugs"]]
        return []

    def dose_for(
        self, rec: Mapping[str, Any], population: str | None, text: str
    ) -> dict[str, Any] | None:
        if not rec["dosingInformation"]:
            return None
        for i, rule in enumerate(self.doses):
            if _applies(rule, rec, population, text):
                self.used.add(len(self.alternatives) + i)
                adjustment: dict[str, Any] = {
                    k: rule[k]
                    for k in ("percent_of_standard", "percent_of_standard_max", "basis", "quote")
                    if k in rule
                }
                return {**adjustment, **self._limit(rule, text)}
        return None

    def _limit(self, rule: Mapping[str, Any], text: str) -> dict[str, str]:
        """``applies_to`` of a curated rule, refused unless the recommendation says it."""
        if "applies_to" not in rule:
            return {}
        if " ".join(rule["applies_to"].split()) not in text:
            raise GenerationError(
                f"{self.guideline}: applies_to {rule['applies_to']!r} is not in the "
                "recommendation text it limits"
            )
        return {"applies_to": rule["applies_to"]}

    def check_all_used(self) -> None:
        rules = self.alternatives + self.doses
        unused = [r["quote"] for i, r in enumerate(rules) if i not in self.used]
        if unused:
            raise GenerationError(
                f"{self.guideline}: curated rule(s) match no recommendation: {unused}"
            )


def _applies(
    rule: Mapping[str, Any], rec: Mapping[str, Any], population: str | None, text: str
) -> bool:
    if "population" in rule and rule["population"] != population:
        return False
    if any(rec["lookupKey"].get(g) != v for g, v in rule.get("lookup", {}).items()):
        return False
    drugs = rule.get("for_drugs")
    if drugs is not None and not {c["name"] for c in rec["relatedChemicals"]} & set(drugs):
        return False
    return " ".join(rule["quote"].split()) in text


def _implications(lines: list[str], lookup: Mapping[str, str]) -> dict[str, str]:
    """Implications by gene. CPIC writes "CYP2D6: text"; DPWG (and CPIC's CACNA1S/RYR1 rows) give
    the text alone, about the genes of the lookup key together ("CACNA1S, RYR1")."""
    implications: dict[str, str] = {}
    for line in lines:
        gene, sep, says = line.partition(": ")
        if not (sep and gene in lookup):
            gene, says = ", ".join(sorted(lookup)), line
        implications[gene] = f"{implications[gene]} {says}" if gene in implications else says
    return implications


def generate_guideline(
    shared: Path,
    source: GuidelineSource,
    population_labels: Mapping[str, Any],
    known_drugs: set[str],
    urls: Mapping[str, str],
) -> dict[str, Any]:
    export = read_json(shared, source.relative)
    curation = source.curation
    ident = guideline_id(source.relative)
    annotation = export["guideline"]
    origin = annotation["source"]
    genes = [g["symbol"] for g in annotation["relatedGenes"]]
    drugs = [c["name"] for c in annotation["relatedChemicals"]]
    curated_populations = curation.get("populations", {})
    rules = _Rules(ident, curation.get("alternatives", []), curation.get("dose_adjustments", []))
    actions = curation.get("actions", [])
    used_actions: set[int] = set()
    populations: dict[str, Any] = {}
    recommendations = []
    skipped = 0
    for rec in sorted(export["recommendations"], key=lambda r: r["id"]):
        lookup = {gene: _key(value) for gene, value in rec["lookupKey"].items()}
        if set(lookup.values()) & _NOT_RECOMMENDATIONS:
            skipped += 1
            continue
        term = (rec.get("classification") or {}).get("term")
        strength = _strength(origin, term)
        text, considerations = split_recommendation_html(rec["text"]["html"])
        full_text = f"{text} {considerations or ''}"
        population = rec.get("population") or None
        if population is not None:
            populations[population] = _population(
                ident, population, curated_populations, population_labels, considerations
            )
        implications = _implications(rec["implications"], lookup)
        for drug in rec["relatedChemicals"]:
            entry: dict[str, Any] = {
                "id": rec["id"],
                "drug": drug["name"],
                "population": population,
                "lookup_key": dict(sorted(lookup.items())),
                "strength": strength,
                "action": _action(rec, strength),
                "implications": implications or None,
                "recommendation": text,
                "considerations": considerations,
            }
            for i, rule in enumerate(actions):
                # e.g. CPIC's "Allopurinol is contraindicated": the export has no flag for it.
                if _applies(rule, rec, population, full_text):
                    entry["action"] = rule["action"]
                    used_actions.add(i)
                    break
            alternatives = rules.alternatives_for(rec, population, full_text, known_drugs)
            if alternatives:
                entry["alternatives"] = [a for a in alternatives if a["drug"] != drug["name"]]
            dose = rules.dose_for(rec, population, full_text)
            if dose is not None:
                entry["dose_adjustment"] = dose
            recommendations.append({k: v for k, v in entry.items() if v not in (None, [])})
    rules.check_all_used()
    stale = [rule["quote"] for i, rule in enumerate(actions) if i not in used_actions]
    if stale:
        raise GenerationError(f"{ident}: curated action(s) match no recommendation: {stale}")
    unknown = set(curated_populations) - set(populations)
    if unknown:
        raise GenerationError(f"{ident}: curated populations {sorted(unknown)} are not in the data")
    notes = list(curation.get("notes", []))
    if source.note:
        notes.insert(0, source.note)
    if skipped:
        notes.append(
            f"{skipped} export row(s) keyed 'xN combinations' are left out: they are PharmCAT's "
            "message that 'xN' is not a valid CYP2D6 input, not recommendations."
        )
    if not export["recommendations"]:
        notes.append(
            "The export carries no recommendations for this guideline, so it raises no card; "
            "see docs/knowledge-gaps.md."
        )
    citations = [
        {"pmid": c["pmid"], "title": c["title"], "year": c["year"]}
        for c in export.get("citations", [])
        if c.get("pmid")
    ]
    years = [c["year"] for c in citations if c.get("year")]
    url = curation.get("url") or _guideline_url(drugs, urls) or annotation["url"]
    out: dict[str, Any] = {
        "id": ident,
        "name": curation.get("name") or annotation["name"].removeprefix("Annotation of "),
        "source": origin,
        "status": curation.get("status") or ("active" if recommendations else "draft"),
        "url": url,
        "annotation_url": annotation["url"],
        "version": str(curation.get("version") or (max(years) if years else export["version"])),
        "data_version": export["version"],
        "data": {
            "name": f"ClinPGx/PharmGKB annotation {annotation['id']} v{annotation['version']}",
            "file": source.relative,
            "version": export["version"],
            "repository": "PharmGKB/PharmCAT",
            "commit": PHARMCAT_GUIDELINES,
            "license": f"{origin} content via ClinPGx (see LICENSE-DATA.md)",
        },
        "notes": notes,
        "citations": citations,
        "genes": genes,
        "drugs": drugs,
        "populations": dict(sorted(populations.items())),
        "recommendations": recommendations,
        "tests": curation.get("tests", []),
    }
    return {k: v for k, v in out.items() if v not in ([], {}) or k == "recommendations"}


def _guideline_url(drugs: list[str], urls: Mapping[str, str]) -> str | None:
    for drug in drugs:
        if drug in urls:
            return urls[drug]
    return None


def _population(
    ident: str,
    population: str,
    curated: Mapping[str, Any],
    labels: Mapping[str, Any],
    considerations: str | None,
) -> dict[str, Any]:
    entry = curated.get(population, {})
    # Who the population is, in patient factors the record holds (age …), with its source.
    applies = {"applies_to": entry["applies_to"]} if "applies_to" in entry else {}
    if "label" in entry:
        quote = " ".join(entry["quote"].split())
        if considerations and quote not in considerations:
            # The curated label must rest on the guideline's own words for this population.
            raise GenerationError(f"{ident}: population {population!r} quote not found")
        return {"label": entry["label"], "description": quote} | applies
    if population not in labels:
        raise GenerationError(
            f"{ident}: population {population!r} has no label; add it to curation/populations.yaml"
        )
    found = {
        "label": labels[population]["label"],
        "description": labels[population].get("description"),
    }
    return {k: v for k, v in found.items() if v} | applies
