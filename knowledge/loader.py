"""Load and check the whole knowledge base; refuse it, with every error listed, if anything is wrong."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from knowledge.base import KnowledgeBase
from knowledge.checks import GUIDELINE_CHECKS, GuidelineContext
from knowledge.errors import KnowledgeError, KnowledgeLoadError, Location
from knowledge.oncology import OncologyKnowledge
from knowledge.oncology_checks import drug_errors, marker_errors, tumour_type_errors
from knowledge.oncology_schema import Marker, MarkerFile, TargetedDrug, TumourTypeTable
from knowledge.phenotype import DiplotypeIndex
from knowledge.schema import (
    DoseAlgorithm,
    Drug,
    DrugTable,
    GeneTable,
    Guideline,
    InhibitorTable,
    PretestTable,
)
from knowledge.snapshot import Snapshot, take_snapshot
from knowledge.validation import validate_document
from knowledge.yaml_source import YamlDocument, parse_yaml

__all__ = ["bundled_root", "load_knowledge_base"]

Model = TypeVar("Model", bound=BaseModel)

# The folders whose *.yaml files the loader reads ("" is the root: drugs.yaml, pretest.yaml).
_FOLDERS = (
    "",
    "genes",
    "guidelines",
    "interactions",
    "dose_algorithms",
    "oncology",
    "oncology/markers",
    "oncology/drugs",
)
# Shown root -> fingerprint of its files and the knowledge base they gave, for the last good load.
# A KnowledgeBase is never mutated, so equal bytes may share one: a reload, a CLI command or a test
# loading an unchanged folder skips the parse (~0.5 s for the bundled files). One entry per root,
# the newest (which a service holds anyway), for the few roots used last: each full knowledge base
# is ~10 MiB, and a test run loads hundreds of scratch copies. Two threads at worst both parse.
_REMEMBERED_ROOTS = 4
_last_loaded: OrderedDict[str, tuple[str, KnowledgeBase]] = OrderedDict()
_last_loaded_lock = threading.Lock()


def bundled_root() -> Traversable:
    """The knowledge files shipped inside the package."""
    return resources.files("knowledge")


def load_knowledge_base(root: Traversable | Path | None = None) -> KnowledgeBase:
    """Read genes, drugs and guidelines under ``root`` (default: the bundled ones).

    Raises :class:`KnowledgeLoadError` listing every error in every file; nothing half-loaded leaks.
    A folder whose files are byte for byte those of its last good load gives that knowledge base
    again, unparsed.
    """
    shown = "knowledge" if root is None else str(root)
    snapshot = take_snapshot(root if root is not None else bundled_root(), _FOLDERS)
    with _last_loaded_lock:
        last = _last_loaded.get(shown)
        if last is not None:
            _last_loaded.move_to_end(shown)
    if last is not None and last[0] == snapshot.fingerprint:
        return last[1]
    kb = _load(snapshot, shown)
    with _last_loaded_lock:
        _last_loaded[shown] = (snapshot.fingerprint, kb)
        _last_loaded.move_to_end(shown)
        while len(_last_loaded) > _REMEMBERED_ROOTS:
            _last_loaded.popitem(last=False)
    return kb


def _version(files: Snapshot, shown: str) -> str:
    """The version cards and /readyz show: the folder as shown and every byte of its files."""
    return "sha256:" + hashlib.sha256(f"{shown}\0{files.fingerprint}".encode()).hexdigest()[:12]


def _load(files: Snapshot, shown: str) -> KnowledgeBase:
    errors: list[KnowledgeError] = []

    genes: dict[str, GeneTable] = {}
    # Files that exist but failed: what refers to them is not reported again as "missing".
    unreadable_genes: set[str] = set()
    for name, document in _documents(files, "genes", shown, errors, unreadable_genes):
        table = _validated(GeneTable, document, errors)
        if table is None:
            unreadable_genes.add(name)
            continue
        errors.extend(_named_after_gene(document, table.gene, name))
        genes[table.gene] = table

    drug_table, _ = _single_file(
        files,
        "drugs.yaml",
        shown,
        DrugTable,
        errors,
        missing="Restore drugs.yaml (run the generator).",
    )
    drugs = dict(drug_table.drugs) if drug_table is not None else None

    indexes = {gene: DiplotypeIndex(table) for gene, table in genes.items()}
    guidelines: dict[str, Guideline] = {}
    for name, document in _documents(files, "guidelines", shown, errors, set()):
        guideline = _validated(Guideline, document, errors)
        if guideline is None:
            continue
        context = GuidelineContext(document, name, indexes, drugs, frozenset(unreadable_genes))
        for check in GUIDELINE_CHECKS:
            errors.extend(check(guideline, context))
        guidelines[guideline.id] = guideline

    inhibitors: dict[str, InhibitorTable] = {}
    for name, document in _documents(files, "interactions", shown, errors, set()):
        inhibitor_table = _validated(InhibitorTable, document, errors)
        if inhibitor_table is None:
            continue
        misnamed = _named_after_gene(document, inhibitor_table.gene, name)
        errors.extend(misnamed)
        if not misnamed and name not in genes and name not in unreadable_genes:
            errors.append(
                KnowledgeError(
                    document.location(("gene",)),
                    "gene",
                    f"no gene table for {name!r}",
                    f"Add knowledge/genes/{name}.yaml or remove this inhibitor table.",
                )
            )
        inhibitors[inhibitor_table.gene] = inhibitor_table

    dose_algorithms: dict[str, DoseAlgorithm] = {}
    for _, document in _documents(files, "dose_algorithms", shown, errors, set()):
        algorithm = _validated(DoseAlgorithm, document, errors)
        if algorithm is not None:
            dose_algorithms[algorithm.dose_calculation] = algorithm

    pretest, pretest_document = _single_file(files, "pretest.yaml", shown, PretestTable, errors)
    if pretest is not None and pretest_document is not None:
        errors.extend(_pretest_errors(pretest, pretest_document, genes, unreadable_genes, drugs))

    oncology = _load_oncology(files, shown, errors, drugs)

    if errors:
        raise KnowledgeLoadError(errors)
    return KnowledgeBase(
        genes=genes,
        drugs=drugs or {},
        guidelines=guidelines,
        version=_version(files, shown),
        inhibitors=inhibitors,
        pretest=pretest,
        dose_algorithms=dose_algorithms,
        oncology=oncology,
    )


def _load_oncology(
    files: Snapshot,
    shown: str,
    errors: list[KnowledgeError],
    drugs: dict[str, Drug] | None,
) -> OncologyKnowledge | None:
    """``oncology/``: tumour types, markers and targeted-drug rules, cross-checked; optional."""
    if not files.is_dir("oncology"):
        return None
    table, types_document = _single_file(
        files,
        "oncology/tumour_types.yaml",
        shown,
        TumourTypeTable,
        errors,
        missing="Restore oncology/tumour_types.yaml: drug rules name their tumour types there.",
    )
    if table is not None and types_document is not None:
        errors.extend(tumour_type_errors(table, types_document))
    markers: dict[str, Marker] = {}
    defined_in: dict[str, str] = {}
    hgnc_ids: dict[str, str] = {}
    for stem, document in _documents(files, "oncology/markers", shown, errors, set()):
        marker_file = _validated(MarkerFile, document, errors)
        if marker_file is None:
            continue
        errors.extend(marker_errors(marker_file, document, defined_in))
        for marker_id, marker in marker_file.markers.items():
            markers.setdefault(marker_id, marker)
            defined_in.setdefault(marker_id, stem)
        hgnc_ids.update(marker_file.hgnc_ids)
    targeted: dict[str, TargetedDrug] = {}
    documents = _documents(files, "oncology/drugs", shown, errors, set())
    known_drugs = set(drugs or ()) | {stem for stem, _ in documents}
    tumour_types = table.tumour_types if table is not None else None
    for stem, document in documents:
        rules = _validated(TargetedDrug, document, errors)
        if rules is None:
            continue
        errors.extend(
            drug_errors(
                rules,
                document,
                stem,
                markers=markers,
                tumour_types=tumour_types,
                drugs=known_drugs,
            )
        )
        targeted[rules.drug] = rules
    return OncologyKnowledge(
        tumour_types=tumour_types or {}, markers=markers, drugs=targeted, hgnc_ids=hgnc_ids
    )


def _named_after_gene(document: YamlDocument, gene: str, stem: str) -> list[KnowledgeError]:
    """A per-gene file must be named after its gene (``CYP2D6.yaml`` holds ``gene: CYP2D6``)."""
    if gene == stem:
        return []
    return [
        KnowledgeError(
            document.location(("gene",)),
            "gene",
            f"{gene!r} differs from the file name {stem!r}",
            f"Rename the file to {gene}.yaml.",
        )
    ]


def _pretest_errors(
    table: PretestTable,
    document: YamlDocument,
    genes: dict[str, GeneTable],
    unreadable_genes: set[str],
    drugs: dict[str, Drug] | None,
) -> list[KnowledgeError]:
    """Genes must have tables; a drug must be in drugs.yaml or carry its own RxNorm code."""
    found = []
    for drug, requirement in table.drugs.items():
        for i, gene in enumerate(requirement.genes):
            if gene not in genes and gene not in unreadable_genes:
                found.append(
                    KnowledgeError(
                        document.location(("drugs", drug, "genes", i)),
                        f"drugs.{drug}.genes[{i}]",
                        f"no gene table for {gene!r}",
                        "Add the gene table or remove the gene: a test the service cannot "
                        "read the result of would alert forever.",
                    )
                )
        if drugs is not None and drug not in drugs and requirement.rxnorm is None:
            found.append(
                KnowledgeError(
                    document.location(("drugs", drug)),
                    f"drugs.{drug}",
                    f"{drug!r} is not in drugs.yaml and has no rxnorm",
                    "Give the drug's RxNorm ingredient code (rxnorm) so orders can be matched.",
                )
            )
    return found


def _single_file(
    files: Snapshot,
    name: str,
    shown: str,
    model: type[Model],
    errors: list[KnowledgeError],
    *,
    missing: str | None = None,
) -> tuple[Model | None, YamlDocument | None]:
    """One file (path from the root), validated; ``missing``: the fix when it is required."""
    raw = files.read(name)
    if raw is None:
        if missing is not None:
            errors.append(
                KnowledgeError(Location(f"{shown}/{name}"), "", "file is missing", missing)
            )
        return None, None
    document = _parse(raw, f"{shown}/{name}", errors)
    if document is None:
        return None, None
    return _validated(model, document, errors), document


def _documents(
    files: Snapshot,
    folder: str,
    shown: str,
    errors: list[KnowledgeError],
    unreadable: set[str],
) -> list[tuple[str, YamlDocument]]:
    found = []
    for name in files.yaml_names(folder):
        stem = name.removesuffix(".yaml")
        raw = files.read(f"{folder}/{name}")
        assert raw is not None
        document = _parse(raw, f"{shown}/{folder}/{name}", errors)
        if document is None:
            unreadable.add(stem)
        else:
            found.append((stem, document))
    return found


def _parse(raw: bytes, shown: str, errors: list[KnowledgeError]) -> YamlDocument | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        errors.append(
            KnowledgeError(
                Location(shown, line, column),
                "",
                f"not UTF-8 text ({exc.reason})",
                "Save the file as UTF-8.",
            )
        )
        return None
    document, parse_errors = parse_yaml(text, shown)
    errors.extend(parse_errors)
    if document is not None and not isinstance(document.data, dict):
        errors.append(
            KnowledgeError(
                Location(shown, 1, 1),
                "",
                "the file is not a YAML mapping",
                "Start the file with 'key: value' lines.",
            )
        )
        return None
    return document


def _validated(
    model: type[Model], document: YamlDocument, errors: list[KnowledgeError]
) -> Model | None:
    value, found = validate_document(model, document)
    errors.extend(found)
    return value
