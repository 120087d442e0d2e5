"""Cross-file checks of the oncology knowledge: every name a rule uses must be defined somewhere."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from knowledge.errors import KnowledgeError, dotted
from knowledge.oncology_schema import Marker, MarkerFile, TargetedDrug, TumourTypeTable
from knowledge.protein_change import parse_protein_change
from knowledge.yaml_source import YamlDocument

__all__ = ["drug_errors", "marker_errors", "tumour_type_errors"]


def tumour_type_errors(table: TumourTypeTable, document: YamlDocument) -> list[KnowledgeError]:
    found = []
    for name, tumour in table.tumour_types.items():
        for i, parent in enumerate(tumour.part_of):
            if parent not in table.tumour_types:
                found.append(
                    _error(
                        document,
                        ("tumour_types", name, "part_of", i),
                        f"no tumour type {parent!r}",
                        f"Use one of: {_some(table.tumour_types)}.",
                    )
                )
    return found


def marker_errors(
    markers: MarkerFile, document: YamlDocument, seen: Mapping[str, str]
) -> list[KnowledgeError]:
    """Marker ids unique across files; protein changes the service can read."""
    found = []
    for marker_id, marker in markers.markers.items():
        if marker_id in seen:
            found.append(
                _error(
                    document,
                    ("markers", marker_id),
                    f"marker {marker_id!r} is also defined in markers/{seen[marker_id]}.yaml",
                    "Keep one definition; rules refer to markers by id.",
                )
            )
        found.extend(_protein_errors(marker_id, marker, document))
    return found


def _protein_errors(marker_id: str, marker: Marker, document: YamlDocument) -> list[KnowledgeError]:
    if marker.variant is None:
        return []
    return [
        _error(
            document,
            ("markers", marker_id, "variant", "protein", i),
            f"{text!r} is not a protein change the service can read",
            "Write it in HGVS form, e.g. L858R or p.Leu858Arg.",
        )
        for i, text in enumerate(marker.variant.protein)
        if parse_protein_change(text) is None
    ]


def drug_errors(
    rules: TargetedDrug,
    document: YamlDocument,
    stem: str,
    *,
    markers: Mapping[str, Marker],
    tumour_types: Collection[str] | None,
    drugs: Collection[str],
) -> list[KnowledgeError]:
    """Names a drug file uses: its own (the file name), markers, tumour types and drugs.

    ``tumour_types`` is ``None`` when tumour_types.yaml was refused: its names are then unknown,
    and not reported again for every file that uses them.
    """
    found = []
    if rules.drug != stem:
        found.append(
            _error(
                document,
                ("drug",),
                f"{rules.drug!r} differs from the file name {stem!r}",
                f"Rename the file to {rules.drug}.yaml.",
            )
        )
    ids: set[str] = set()
    for i, indication in enumerate(rules.indications):
        at = ("indications", i)
        if indication.id in ids:
            found.append(
                _error(
                    document,
                    (*at, "id"),
                    f"indication id {indication.id!r} is repeated",
                    "Give each indication its own id.",
                )
            )
        ids.add(indication.id)
        for j, tumour in enumerate(indication.tumour):
            if tumour_types is not None and tumour not in tumour_types:
                found.append(
                    _error(
                        document,
                        (*at, "tumour", j),
                        f"no tumour type {tumour!r}",
                        f"Add it to oncology/tumour_types.yaml or use one of: {_some(tumour_types)}.",
                    )
                )
        if indication.requires is not None:
            found.extend(
                _marker_refs(
                    document, (*at, "requires", "any_of"), indication.requires.any_of, markers
                )
            )
        for k, resistance in enumerate(indication.resistance):
            found.extend(
                _marker_refs(document, (*at, "resistance", k, "any_of"), resistance.any_of, markers)
            )
            for m, alternative in enumerate(resistance.alternatives):
                if alternative not in drugs:
                    found.append(
                        _error(
                            document,
                            (*at, "resistance", k, "alternatives", m),
                            f"{alternative!r} is not a drug the knowledge base knows",
                            "Use a drug name from drugs.yaml or oncology/drugs/.",
                        )
                    )
    for i, limitation in enumerate(rules.limitations):
        for j, tumour in enumerate(limitation.tumour):
            if tumour_types is not None and tumour not in tumour_types:
                found.append(
                    _error(
                        document,
                        ("limitations", i, "tumour", j),
                        f"no tumour type {tumour!r}",
                        f"Add it to oncology/tumour_types.yaml or use one of: {_some(tumour_types)}.",
                    )
                )
    for i, case in enumerate(rules.tests):
        at = ("tests", i)
        if tumour_types is not None and case.tumour is not None and case.tumour not in tumour_types:
            found.append(
                _error(
                    document,
                    (*at, "tumour"),
                    f"no tumour type {case.tumour!r}",
                    f"Use one of: {_some(tumour_types)}.",
                )
            )
        for j, finding in enumerate(case.findings):
            if finding.protein is not None and parse_protein_change(finding.protein) is None:
                found.append(
                    _error(
                        document,
                        (*at, "findings", j, "protein"),
                        f"{finding.protein!r} is not a protein change the service can read",
                        "Write it in HGVS form, e.g. L858R or p.Leu858Arg.",
                    )
                )
    return found


def _marker_refs(
    document: YamlDocument, at: tuple[str | int, ...], ids: list[str], markers: Mapping[str, Marker]
) -> list[KnowledgeError]:
    return [
        _error(
            document,
            (*at, i),
            f"no marker {marker_id!r}",
            f"Define it in oncology/markers/ or use one of: {_some(markers)}.",
        )
        for i, marker_id in enumerate(ids)
        if marker_id not in markers
    ]


def _some(names: Collection[str]) -> str:
    shown = sorted(names)
    return ", ".join(shown[:12]) + (" …" if len(shown) > 12 else "")


def _error(
    document: YamlDocument, path: tuple[str | int, ...], what: str, fix: str
) -> KnowledgeError:
    return KnowledgeError(document.location(path), dotted(path), what, fix)
