"""Read genotype Observations (LOINC 84413-4, gene in component 48018-6) into gene results."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fhir_adapters.resources import Resource, codings, reference_of
from knowledge import GeneResult

__all__ = ["GenotypeReadout", "read_genotypes"]

log = logging.getLogger(__name__)

LOINC = "http://loinc.org"
GENOTYPE_CODE = "84413-4"
GENE_STUDIED_CODE = "48018-6"
_IGNORED_STATUSES = frozenset({"entered-in-error", "cancelled"})
_DIPLOTYPE = re.compile(r"^(\*?[\w.:-]+)\s*/\s*(\*?[\w.:-]+)$")
# "N/A" has the shape of a diplotype; taken as one, a newer "N/A" would hide an older real result.
_NOT_A_RESULT = re.compile(r"(?i)^n\s*/\s*a$")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A result we could not read, and why; it is reported, never guessed at."""

    source: str | None
    reason: str


@dataclass(slots=True)
class GenotypeReadout:
    results: dict[str, GeneResult] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)


def read_genotypes(
    resources: Iterable[Resource], genes_by_hgnc: Mapping[str, str]
) -> GenotypeReadout:
    """The latest readable genotype per gene among ``resources``; the rest is listed as unreadable."""
    readout = GenotypeReadout()
    for resource in resources:
        if resource.get("resourceType") != "Observation" or not _has_code(resource, GENOTYPE_CODE):
            continue
        if resource.get("status") in _IGNORED_STATUSES:
            continue
        source = reference_of(resource)
        gene = _gene(resource, genes_by_hgnc)
        if gene is None:
            readout.unreadable.append(Unreadable(source, "no gene (component 48018-6) found"))
            continue
        diplotype = _diplotype(resource, gene)
        if diplotype is None:
            readout.unreadable.append(
                Unreadable(source, f"{gene} genotype value is not a diplotype")
            )
            continue
        result = GeneResult(
            gene, diplotype=diplotype, source=source, effective=_effective(resource)
        )
        current = readout.results.get(gene)
        if current is None or (result.effective or "") > (current.effective or ""):
            readout.results[gene] = result
    for item in readout.unreadable:
        log.info("unreadable genotype result %s: %s", item.source or "(no id)", item.reason)
    return readout


def _has_code(resource: Resource, code: str) -> bool:
    return any(c.get("code") == code for c in codings(resource.get("code")))


def _gene(resource: Resource, genes_by_hgnc: Mapping[str, str]) -> str | None:
    components = resource.get("component")
    for component in components if isinstance(components, list) else ():
        if not isinstance(component, Mapping) or not _has_code(component, GENE_STUDIED_CODE):
            continue
        concept = component.get("valueCodeableConcept")
        for coding in codings(concept):
            code = str(coding.get("code", ""))
            hgnc = code if code.upper().startswith("HGNC:") else f"HGNC:{code}"
            if hgnc.upper() in genes_by_hgnc:
                return genes_by_hgnc[hgnc.upper()]
            display = coding.get("display")
            if isinstance(display, str) and display.strip():
                return display.strip().upper()
        text = concept.get("text") if isinstance(concept, Mapping) else None
        if isinstance(text, str) and text.strip():
            return text.strip().upper()
    return None


def _diplotype(resource: Resource, gene: str) -> str | None:
    candidates: list[str] = []
    concept = resource.get("valueCodeableConcept")
    if isinstance(concept, Mapping):
        if isinstance(concept.get("text"), str):
            candidates.append(concept["text"])
        candidates.extend(str(c["display"]) for c in codings(concept) if c.get("display"))
    if isinstance(resource.get("valueString"), str):
        candidates.append(resource["valueString"])
    for text in candidates:
        # "CYP2C19*2/*2", "CYP2C19 *1/*17" and "*1/*2" all name the same kind of thing.
        bare = re.sub(rf"(?i)\b{re.escape(gene)}\s*", "", text).strip()
        match = _DIPLOTYPE.match(bare)
        if match and not _NOT_A_RESULT.match(bare):
            return f"{match.group(1)}/{match.group(2)}"
    return None


def _effective(resource: Resource) -> str | None:
    for key in ("effectiveDateTime", "issued"):
        value = resource.get(key)
        if isinstance(value, str):
            return value
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping) and isinstance(period.get("start"), str):
        return str(period["start"])
    return None
