"""Walk FHIR containers (Bundle, single resource) down to the resources they hold, defensively."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["codings", "is_operation_outcome", "iter_resources", "reference_of"]

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
