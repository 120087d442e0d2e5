"""Walk FHIR containers (Bundle, single resource) down to the resources they hold, defensively."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "all_resources",
    "codings",
    "effective_time",
    "is_operation_outcome",
    "iter_resources",
    "medication_concept",
    "reference_of",
]

Resource = Mapping[str, Any]


def is_operation_outcome(value: Any) -> bool:
    """True for an OperationOutcome, which the spec lets a client send when a prefetch failed."""
    return isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome"


def iter_resources(value: Any) -> Iterator[Resource]:
    """Every resource in ``value``: Bundle entries (nested Bundles too), or ``value`` itself.

    Tolerates what real clients send: a Bundle without ``type``, entries without ``resource``.
    """
    if not isinstance(value, Mapping) or not isinstance(value.get("resourceType"), str):
        return
    if value["resourceType"] == "Bundle":
        entries = value.get("entry")
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, Mapping):
                yield from iter_resources(entry.get("resource"))
        return
    yield value


def all_resources(value: Any) -> list[Resource]:
    """Every resource in a Bundle, a resource, or a list of either (what prefetch and searches give)."""
    if isinstance(value, Mapping):
        return list(iter_resources(value))
    try:
        items = list(value)
    except TypeError:
        return []
    return [resource for item in items for resource in iter_resources(item)]


def reference_of(resource: Resource) -> str | None:
    """``"MedicationRequest/103"`` for a resource with an id, else ``None``."""
    resource_id = resource.get("id")
    if isinstance(resource_id, str) and resource_id:
        return f"{resource['resourceType']}/{resource_id}"
    return None


def codings(concept: Any) -> list[Mapping[str, Any]]:
    """The Codings of a CodeableConcept, skipping whatever is not one (real data has both)."""
    if not isinstance(concept, Mapping):
        return []
    found = concept.get("coding")
    return [c for c in found if isinstance(c, Mapping)] if isinstance(found, list) else []


def medication_concept(resource: Resource, medications: Mapping[str, Resource]) -> Any:
    """The drug's CodeableConcept: inline, R5 CodeableReference, or behind a reference.

    A reference is followed to a contained Medication (``#id``) or one among ``medications``
    (``Medication/id``, also at the end of an absolute URL); failing both, its ``display`` is
    read as the drug's text (Epic's way). Used for draft orders and medication lists alike.
    """
    if resource.get("medicationCodeableConcept") is not None:
        return resource["medicationCodeableConcept"]
    pointer = resource.get("medicationReference")
    r5 = resource.get("medication")
    if isinstance(r5, Mapping):
        if r5.get("concept") is not None:
            return r5["concept"]
        pointer = r5.get("reference")
    if not isinstance(pointer, Mapping):
        return None
    target = pointer.get("reference")
    medication: Any = None
    if isinstance(target, str) and target.startswith("#"):
        contained = resource.get("contained")
        for candidate in contained if isinstance(contained, list) else ():
            if isinstance(candidate, Mapping) and candidate.get("id") == target[1:]:
                medication = candidate
    elif isinstance(target, str):
        medication = medications.get("/".join(target.split("/")[-2:]))
    if isinstance(medication, Mapping) and medication.get("code") is not None:
        return medication["code"]
    display = pointer.get("display")
    return {"text": display} if isinstance(display, str) else None


def effective_time(resource: Resource) -> str | None:
    """When a result was observed: effectiveDateTime, else issued, else the period's start."""
    for key in ("effectiveDateTime", "issued"):
        value = resource.get(key)
        if isinstance(value, str):
            return value
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping) and isinstance(period.get("start"), str):
        return str(period["start"])
    return None
