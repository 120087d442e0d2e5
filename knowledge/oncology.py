"""The loaded oncology knowledge: tumour types, biomarker definitions and targeted-drug rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from knowledge.oncology_schema import Marker, TargetedDrug, TumourType

__all__ = ["ICD10_SYSTEMS", "SNOMED", "OncologyKnowledge"]

# Code systems a diagnosis may come in; ICD-10 (WHO) categories agree with ICD-10-CM's for
# the neoplasm chapter at the level tumour_types.yaml uses.
ICD10_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"})
SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class OncologyKnowledge:
    """What ``knowledge/oncology/`` holds, indexed for the hook's hot path."""

    tumour_types: Mapping[str, TumourType]
    markers: Mapping[str, Marker]
    drugs: Mapping[str, TargetedDrug]
    # Gene symbol -> HGNC id, from the marker files.
    hgnc_ids: Mapping[str, str] = field(default_factory=dict)
    hgnc_symbols: Mapping[str, str] = field(init=False)
    _snomed: Mapping[str, frozenset[str]] = field(init=False, repr=False)
    _ancestors: Mapping[str, frozenset[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hgnc_symbols", {v: k for k, v in self.hgnc_ids.items()})
        snomed: dict[str, set[str]] = {}
        for name, tumour in self.tumour_types.items():
            for code in tumour.snomed:
                snomed.setdefault(code, set()).add(name)
        object.__setattr__(self, "_snomed", {k: frozenset(v) for k, v in snomed.items()})
        object.__setattr__(
            self, "_ancestors", {name: self._closure(name) for name in self.tumour_types}
        )

    def _closure(self, name: str) -> frozenset[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.tumour_types:
                continue
            seen.add(current)
            todo.extend(self.tumour_types[current].part_of)
        return frozenset(seen)

    def with_parents(self, names: Iterable[str]) -> frozenset[str]:
        """``names`` and every tumour type they are part of (nsclc -> nsclc, solid-tumour)."""
        return frozenset(t for name in names for t in self._ancestors.get(name, {name}))

    def tumour_types_of(self, codings: Iterable[tuple[str | None, str | None]]) -> frozenset[str]:
        """The tumour types (with the types they are part of) that ``(system, code)`` pairs mean."""
        found: set[str] = set()
        for system, code in codings:
            if not code:
                continue
            if system == SNOMED:
                found.update(self._snomed.get(code.strip(), ()))
            elif system in ICD10_SYSTEMS:
                normal = icd10_normal(code)
                found.update(
                    name
                    for name, tumour in self.tumour_types.items()
                    if any(icd10_covers(entry, normal) for entry in tumour.icd10)
                )
        return self.with_parents(found)


def icd10_normal(code: str) -> str:
    """``c349`` or ``C34.9`` -> ``C34.9``: codes arrive with and without the dot."""
    text = code.strip().upper().replace(" ", "")
    if "." not in text and len(text) > 3:
        text = f"{text[:3]}.{text[3:]}"
    return text


def icd10_covers(entry: str, code: str) -> bool:
    """Whether a tumour_types.yaml entry (code, category or range) covers ``code``."""
    if "-" in entry:
        low, high = entry.split("-", 1)
        return low <= code[:3] <= high[:3]
    # A category covers its subcodes (C34 -> C34.9); a code with a dot covers longer ones.
    return code == entry or code.startswith(entry if "." in entry else entry + ".")
