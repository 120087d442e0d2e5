"""Which gene a result is about: component 48018-6, the old geneticsGene extension, or its text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from fhir_adapters.resources import Resource, codings

__all__ = ["GENE_STUDIED", "gene_in_text", "gene_of", "has_code"]

GENE_STUDIED = "48018-6"
# FHIR R4 core's deprecated genetics profile put the gene in an extension, not a component.
_GENETICS_GENE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/observation-geneticsGene"
# A gene symbol at the start of a value: "CYP2C19*2/*2", "CYP2C19 *1/*17", "HLA-B*15:02",
# "VKORC1 rs9923231 C/T". Symbols are upper-case letters and digits, HLA ones with a hyphen.
_LEADING_SYMBOL = re.compile(r"^\s*(?P<gene>[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)?)(?=[\s*_]|$)")


def has_code(element: Any, *codes: str) -> bool:
    """Whether any coding of ``element["code"]`` has one of ``codes``."""
    if not isinstance(element, Mapping):
        return False
    return any(c.get("code") in codes for c in codings(element.get("code")))


def gene_of(resource: Resource, genes_by_hgnc: Mapping[str, str]) -> str | None:
    """The gene named by component 48018-6 or the geneticsGene extension; ``None`` if neither."""
    concepts: list[Any] = []
    components = resource.get("component")
    for component in components if isinstance(components, list) else ():
        if has_code(component, GENE_STUDIED):
            concepts.append(component.get("valueCodeableConcept"))
    extensions = resource.get("extension")
    for extension in extensions if isinstance(extensions, list) else ():
        if isinstance(extension, Mapping) and extension.get("url") == _GENETICS_GENE_EXTENSION:
            concepts.append(extension.get("valueCodeableConcept"))
    for concept in concepts:
        gene = _gene_of_concept(concept, genes_by_hgnc)
        if gene is not None:
            return gene
    return None


def gene_in_text(text: str, known: Iterable[str]) -> str | None:
    """The gene a value names at its start ("CYP2C19 *1/*17"), if it is one the knowledge knows."""
    match = _LEADING_SYMBOL.match(text)
    if match is None:
        return None
    symbol = match["gene"]
    return symbol if symbol in set(known) else None


def _gene_of_concept(concept: Any, genes_by_hgnc: Mapping[str, str]) -> str | None:
    for coding in codings(concept):
        code = str(coding.get("code", "")).strip()
        # HGNC ids come as "HGNC:2621" or bare "2621" (systems genenames.org and .../geneId).
        hgnc = code.upper() if code.upper().startswith("HGNC:") else f"HGNC:{code}"
        if hgnc in genes_by_hgnc:
            return genes_by_hgnc[hgnc]
        display = coding.get("display")
        if isinstance(display, str) and display.strip():
            return display.strip().upper()
    text = concept.get("text") if isinstance(concept, Mapping) else None
    if isinstance(text, str) and text.strip():
        return text.strip().upper()
    return None
