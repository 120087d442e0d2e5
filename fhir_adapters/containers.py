"""Flatten what a FHIR server or CDS client hands over into resources and a reference index.

Results arrive as single resources, searchset / transaction / collection Bundles (entries
referenced by ``urn:uuid`` fullUrls), resources ``contained`` in a report, and Genomics
Operations ``Parameters`` (resources in ``parameter[].resource`` or ``parameter[].part[]``).
Population-level operation outputs only carry counts: they are recognised so the reader can
say there is no patient result in them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_adapters.resources import Resource, reference_of

__all__ = ["Flattened", "flatten"]

# Parts of $find-population-* outputs: counts over a population, nothing about one patient.
_POPULATION_PARTS = frozenset({"numerator", "denominator"})


@dataclass(slots=True)
class Flattened:
    """Every resource found, each with the name it is referred to by, and an index to resolve refs."""

    resources: list[tuple[str | None, Resource]] = field(default_factory=list)
    by_reference: dict[str, Resource] = field(default_factory=dict)
    # Parameters whose content is population counts only ($find-population-*).
    population_outputs: int = 0
    # $find-subject-specific-haplotypes answers: (haplotypeItem, presence, Parameters name).
    presence_answers: list[tuple[str, bool, str | None]] = field(default_factory=list)

    def resolve(self, reference: Any, within: Resource | None = None) -> Resource | None:
        """The resource a Reference points at, if it is among the input; ``#id`` looks in ``within``."""
        if not isinstance(reference, Mapping):
            return None
        ref = reference.get("reference")
        if not isinstance(ref, str) or not ref:
            return None
        if ref.startswith("#") and within is not None:
            for inner in _contained(within):
                if inner.get("id") == ref[1:]:
                    return inner
        for key in _reference_keys(ref):
            if key in self.by_reference:
                return self.by_reference[key]
        return None


def flatten(values: Iterable[Any]) -> Flattened:
    """Walk every container in ``values``; the same resource seen twice is kept once."""
    found = Flattened()
    seen: set[int] = set()
    for value in values:
        for name, resource in _walk(value, None, found):
            identity = id(resource)
            if identity in seen:
                continue
            seen.add(identity)
            found.resources.append((name, resource))
            for key in _names(name, resource):
                found.by_reference.setdefault(key, resource)
    return found


def _walk(
    value: Any, full_url: str | None, found: Flattened
) -> Iterator[tuple[str | None, Resource]]:
    if not isinstance(value, Mapping) or not isinstance(value.get("resourceType"), str):
        return
    kind = value["resourceType"]
    if kind == "Bundle":
        entries = value.get("entry")
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, Mapping):
                url = entry.get("fullUrl")
                yield from _walk(
                    entry.get("resource"), url if isinstance(url, str) else None, found
                )
        return
    if kind == "Parameters":
        parameters = value.get("parameter")
        parts = list(_parameters(parameters))
        if (
            parts
            and all(p.get("resource") is None for p in parts)
            and any(_name_of(p) in _POPULATION_PARTS for p in parts)
        ):
            found.population_outputs += 1
        for parameter in parameters if isinstance(parameters, list) else ():
            _collect_presence(parameter, reference_of(value), found)
        for part in parts:
            yield from _walk(part.get("resource"), None, found)
        return
    name = reference_of(value) or full_url
    yield name, value
    for inner in _contained(value):
        # A contained resource has no identity of its own outside its container.
        inner_id = inner.get("id")
        yield (f"{name or kind}#{inner_id}" if isinstance(inner_id, str) else None), inner


def _collect_presence(parameter: Any, name: str | None, found: Flattened) -> None:
    if not isinstance(parameter, Mapping) or not isinstance(parameter.get("part"), list):
        return
    parts = [p for p in parameter["part"] if isinstance(p, Mapping)]
    items = [p.get("valueString") for p in parts if _name_of(p) == "haplotypeItem"]
    answers = [p.get("valueBoolean") for p in parts if _name_of(p) == "presence"]
    if (
        len(items) == 1
        and len(answers) == 1
        and isinstance(items[0], str)
        and isinstance(answers[0], bool)
    ):
        found.presence_answers.append((items[0], answers[0], name))


def _name_of(parameter: Mapping[str, Any]) -> str | None:
    name = parameter.get("name")
    return name if isinstance(name, str) else None  # a malformed name names nothing


def _parameters(parameters: Any) -> Iterator[Mapping[str, Any]]:
    for parameter in parameters if isinstance(parameters, list) else ():
        if isinstance(parameter, Mapping):
            yield parameter
            yield from _parameters(parameter.get("part"))


def _contained(resource: Resource) -> list[Resource]:
    contained = resource.get("contained")
    if not isinstance(contained, list):
        return []
    return [
        c for c in contained if isinstance(c, Mapping) and isinstance(c.get("resourceType"), str)
    ]


def _names(name: str | None, resource: Resource) -> list[str]:
    keys = [] if name is None else [*_reference_keys(name)]
    own = reference_of(resource)
    if own is not None and own not in keys:
        keys.append(own)
    return keys


def _reference_keys(ref: str) -> list[str]:
    """``http://x/fhir/Observation/1/_history/2`` is also known as ``Observation/1``."""
    keys = [ref]
    if ref.startswith("urn:"):
        return keys
    path = ref.split("/_history/")[0].rstrip("/")
    segments = path.split("/")
    if len(segments) >= 2:
        relative = "/".join(segments[-2:])
        if relative not in keys:
            keys.append(relative)
    return keys
