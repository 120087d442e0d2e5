"""Phenotype and carrier terms as labs report them, in CPIC's words.

Only what is unambiguous is mapped; an unmapped term is kept as reported (the knowledge then says
it is not a CPIC phenotype), never replaced by a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fhir_adapters.resources import codings

__all__ = ["ABSENT", "LOINC_PHENOTYPE_ANSWERS", "PRESENT", "cpic_phenotype", "presence"]

# LOINC answers of the Genomics Reporting IG's genetic-therapeutic-implications-vs (STU3,
# ../shared/fhir-examples/hl7-genomics-reporting-stu3/conformance/), seen also in eMERGE examples:
# code → (the CPIC term it is, in CPIC's capitalisation; LOINC's display). Read here, written by
# vcf2fhir.
LOINC_PHENOTYPE_ANSWERS: dict[str, tuple[str, str]] = {
    "LA9657-3": ("Poor Metabolizer", "Poor metabolizer"),
    "LA10317-8": ("Intermediate Metabolizer", "Intermediate metabolizer"),
    "LA25391-6": ("Normal Metabolizer", "Normal metabolizer"),
    "LA25390-8": ("Rapid Metabolizer", "Rapid metabolizer"),
    "LA10315-2": ("Ultrarapid Metabolizer", "Ultrarapid metabolizer"),
    "LA25392-4": ("Increased Function", "Increased function"),
    "LA25393-2": ("Normal Function", "Normal function"),
    "LA25395-7": ("Decreased Function", "Decreased function"),
    "LA25394-0": ("Poor Function", "Poor function"),
}
# Older terms CPIC replaced when it standardised phenotype terms: Caudle KE et al., "Standardizing
# terms for clinical pharmacogenetic test results: consensus terms from the Clinical
# Pharmacogenetics Implementation Consortium (CPIC)", Genet Med 2017;19:215-223, Table 2.
# "Rapid metabolizer" is itself a CPIC term (CYP2C19), so it is not mapped to anything else.
# Left out on purpose: "High activity" (TPMT) and "Intermediate function" (SLCO1B1), whose CPIC
# equivalents depend on the gene and guideline version.
_LEGACY_TERMS = {
    "extensive metabolizer": "Normal Metabolizer",
    "ultra-rapid metabolizer": "Ultrarapid Metabolizer",
    "ultra rapid metabolizer": "Ultrarapid Metabolizer",
}
_CPIC_TERMS = (
    "Poor Metabolizer",
    "Likely Poor Metabolizer",
    "Intermediate Metabolizer",
    "Likely Intermediate Metabolizer",
    "Normal Metabolizer",
    "Rapid Metabolizer",
    "Ultrarapid Metabolizer",
    "Poor Function",
    "Decreased Function",
    "Possible Decreased Function",
    "Normal Function",
    "Increased Function",
    "Indeterminate",
)
_BY_LOWER = {term.lower(): term for term in _CPIC_TERMS}

# Presence answers: LOINC LL "Present/Absent" (LA9633-4/LA9634-2), "Positive/Negative"
# (LA6576-8/LA6577-6), and the plain words.
PRESENT = "present"
ABSENT = "absent"
_PRESENCE_CODES = {
    "LA9633-4": PRESENT,
    "LA6576-8": PRESENT,
    "LA9634-2": ABSENT,
    "LA6577-6": ABSENT,
}
_PRESENCE_WORDS = {
    "present": PRESENT,
    "positive": PRESENT,
    "detected": PRESENT,
    "absent": ABSENT,
    "negative": ABSENT,
    "not detected": ABSENT,
}


def cpic_phenotype(concept: Any, gene: str | None = None) -> str | None:
    """The CPIC term for a coded or textual phenotype; the reported text when it maps to none."""
    texts: list[str] = []
    for coding in codings(concept):
        mapped, _ = LOINC_PHENOTYPE_ANSWERS.get(str(coding.get("code", "")), (None, None))
        if mapped is not None:
            return mapped
        if isinstance(coding.get("display"), str):
            texts.append(coding["display"])
    if isinstance(concept, Mapping) and isinstance(concept.get("text"), str):
        texts.insert(0, concept["text"])
    if isinstance(concept, str):
        texts.append(concept)
    for text in texts:
        words = " ".join(text.split())
        if gene:
            # "CYP2C19 Rapid Metabolizer": the gene is already known.
            words = re.sub(rf"(?i)^{re.escape(gene)}\s+", "", words)
        lower = words.lower()
        if lower in _LEGACY_TERMS:
            return _LEGACY_TERMS[lower]
        if lower in _BY_LOWER:
            return _BY_LOWER[lower]
        if words:
            return words
    return None


def presence(value: Any) -> str | None:
    """``PRESENT`` / ``ABSENT`` for a presence answer (coded, text or boolean), else ``None``."""
    if isinstance(value, bool):
        return PRESENT if value else ABSENT
    for coding in codings(value):
        found = _PRESENCE_CODES.get(str(coding.get("code", "")))
        if found is not None:
            return found
    texts = [value.get("text")] if isinstance(value, Mapping) else [value]
    texts += [c.get("display") for c in codings(value)]
    for text in texts:
        if isinstance(text, str) and text.strip().lower() in _PRESENCE_WORDS:
            return _PRESENCE_WORDS[text.strip().lower()]
    return None
