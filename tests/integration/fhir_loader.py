"""Write example data to a FHIR server as transactions, re-pointed at a Patient of the test's own."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import requests

__all__ = [
    "as_transaction",
    "for_patient",
    "load_bundle",
    "post_transaction",
    "put_patient",
    "search",
    "transaction_of",
]

TIMEOUT = 60.0


def put_patient(session: requests.Session, base: str, patient_id: str) -> None:
    """Create (or replace) ``Patient/<patient_id>`` with a client-chosen id."""
    response = session.put(
        f"{base}/Patient/{patient_id}",
        json={"resourceType": "Patient", "id": patient_id, "active": True},
        timeout=TIMEOUT,
    )
    response.raise_for_status()


def as_transaction(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction Bundle with the same resources; collection/document entries become POSTs.

    Entries keep their ``urn:uuid`` fullUrls so the server rewrites references between them;
    other entries get one, and references to their old address or ``Type/id`` follow.
    """
    kind = bundle.get("type")
    if kind in {"transaction", "batch"}:
        return {**copy.deepcopy(dict(bundle)), "type": "transaction"}
    if kind not in {"collection", "document", "searchset", "message"}:
        raise ValueError(f"cannot turn a {kind!r} Bundle into a transaction")
    moved: dict[str, str] = {}
    entries = []
    for entry in bundle.get("entry", []):
        resource = copy.deepcopy(entry["resource"])
        full_url = entry.get("fullUrl")
        if not (isinstance(full_url, str) and full_url.startswith("urn:uuid:")):
            new_url = f"urn:uuid:{uuid.uuid4()}"
            if isinstance(full_url, str):
                moved[full_url] = new_url
            if resource.get("id"):
                moved[f"{resource['resourceType']}/{resource['id']}"] = new_url
            full_url = new_url
        # POST: the server assigns ids, so two loads of one example never collide.
        resource.pop("id", None)
        entries.append(
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    rewritten: dict[str, Any] = _map_references(transaction, lambda ref: moved.get(ref, ref))
    return rewritten


def for_patient(transaction: Mapping[str, Any], patient_id: str) -> dict[str, Any]:
    """``transaction`` without its Patient entries, every Patient reference set to ``patient_id``.

    The test creates that Patient itself (PUT), so loads of the same example never share data.
    """
    patient_ref = f"Patient/{patient_id}"
    replaced: set[str] = set()
    entries = []
    for entry in transaction.get("entry", []):
        resource = entry["resource"]
        if resource.get("resourceType") == "Patient":
            if isinstance(entry.get("fullUrl"), str):
                replaced.add(entry["fullUrl"])
            if resource.get("id"):
                replaced.add(f"Patient/{resource['id']}")
            continue
        entries.append(copy.deepcopy(entry))
    result = {**copy.deepcopy(dict(transaction)), "entry": entries}

    def retarget(ref: str) -> str:
        # References to a Patient that was not in the Bundle (e.g. "Patient/p1") move over too.
        return patient_ref if ref in replaced or ref.startswith("Patient/") else ref

    moved: dict[str, Any] = _map_references(result, retarget)
    return moved


def transaction_of(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A transaction that POSTs ``resources`` (their ids are the server's to assign)."""
    return as_transaction(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": dict(r)} for r in resources],
        }
    )


def post_transaction(
    session: requests.Session, base: str, transaction: Mapping[str, Any]
) -> dict[str, Any]:
    """POST ``transaction`` to the server's base; the transaction-response Bundle."""
    response = session.post(base, json=transaction, timeout=TIMEOUT)
    if not response.ok:
        raise AssertionError(f"transaction refused: {response.status_code} {response.text[:2000]}")
    body: dict[str, Any] = response.json()
    assert body.get("type") == "transaction-response", body.get("type")
    return body


def load_bundle(
    session: requests.Session, base: str, path: Path, patient_id: str
) -> dict[str, Any]:
    """Load an example Bundle file for ``patient_id``; the transaction actually sent."""
    bundle = json.loads(path.read_text(encoding="utf-8"))
    transaction = for_patient(as_transaction(bundle), patient_id)
    post_transaction(session, base, transaction)
    return transaction


def search(session: requests.Session, base: str, query: str) -> list[dict[str, Any]]:
    """Every resource matched by ``query`` (relative, e.g. ``Observation?...``), all pages."""
    url: str | None = f"{base}/{query}"
    found: list[dict[str, Any]] = []
    while url is not None:
        response = session.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        page = response.json()
        found.extend(
            e["resource"]
            for e in page.get("entry", [])
            if e.get("search", {}).get("mode", "match") == "match"
        )
        url = next(
            (link["url"] for link in page.get("link", []) if link["relation"] == "next"), None
        )
    return found


def _map_references(node: Any, change: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        return {
            key: change(value)
            if key == "reference" and isinstance(value, str)
            else _map_references(value, change)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_map_references(item, change) for item in node]
    return node
