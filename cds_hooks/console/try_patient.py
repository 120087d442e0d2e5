"""Try a patient: genotypes, FHIR results or a VCF and a drug in, the service's own cards out.

The cards are the hook view's answer to a request built here, run with ``g.pgx_dry_run`` so the
try leaves no trace (no repeat memory, metrics or card log), beside the reasoning path that
``pgx-cds knowledge explain`` prints for the same results.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app, g, render_template, request
from markdown_it import MarkdownIt
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from cds_hooks import hooks
from cds_hooks.console.pages import bp
from cds_hooks.errors import HookError
from cds_hooks.services import SERVICES
from cds_hooks.state import service_state
from fhir_adapters import iter_resources, read_genotypes
from fhir_adapters.vcf.bundle import build_bundle
from fhir_adapters.vcf.errors import VcfInputError
from fhir_adapters.vcf.pipeline import call_vcf
from knowledge import KnowledgeBase
from knowledge.explain import UnknownDrugError, explain, render_text, resolve_drug

__all__ = ["HOOKS", "TryInputError", "genotype_observation", "render_markdown", "try_patient"]

# The hooks a user may try, and the service answering each.
HOOKS: Mapping[str, str] = {"order-select": "pgx-order-select", "order-sign": "pgx-order-sign"}
_LOINC = "http://loinc.org"
_HGNC = "http://www.genenames.org"
_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_ORDER_ID = "try-order"
# "CYP2C19 *2/*2", "CYP2C19=*2/*2", "CYP2C19*2/*2", "VKORC1 rs9923231 C/T".
_LINE = re.compile(r"^(?P<gene>[A-Za-z][A-Za-z0-9-]*?)\s*(?:[=:]\s*|\s+|(?=\*))(?P<value>\S.*)$")
# CommonMark with tables; raw HTML in a card's markdown is shown as text, never run.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


class TryInputError(Exception):
    """What the user typed cannot make a patient; the message says which line and why."""


@dataclass(frozen=True, slots=True)
class ShownAction:
    """One action of a suggestion, as an EHR would apply it."""

    type: str
    resource_type: str
    # The drug of a MedicationRequest, the test of a ServiceRequest, the ids deleted.
    names: tuple[str, ...]
    description: str
    resource_json: str


@dataclass(frozen=True, slots=True)
class ShownSuggestion:
    label: str
    recommended: bool
    actions: tuple[ShownAction, ...]


@dataclass(frozen=True, slots=True)
class ShownCard:
    """A card as the hook returned it, with its markdown rendered and its actions described."""

    card: Mapping[str, Any]
    detail: Markup
    suggestions: tuple[ShownSuggestion, ...]

    @property
    def indicator(self) -> str:
        value = self.card.get("indicator")
        return value if value in ("info", "warning", "critical") else "info"


@dataclass(slots=True)
class TryResult:
    drug: str
    hook: str
    patient_id: str
    cards: list[ShownCard] = field(default_factory=list)
    explanation: str | None = None
    request_json: str = ""


def render_markdown(text: str) -> Markup:
    """A card's detail as HTML: CommonMark plus tables, its raw HTML escaped."""
    # Safe to mark: with html=False markdown-it escapes every tag the text carries.
    return Markup(_MARKDOWN.render(text))


def genotype_observation(
    kb: KnowledgeBase, gene: str, diplotype: str, patient_id: str
) -> dict[str, Any]:
    """A minimal Genomics Reporting genotype Observation (LOINC 84413-4) of ``gene diplotype``."""
    hgnc = {symbol: code for code, symbol in kb.genes_by_hgnc.items()}.get(gene)
    gene_coding: dict[str, str] = {"system": _HGNC, "display": gene}
    if hgnc is not None:
        gene_coding["code"] = hgnc
    return {
        "resourceType": "Observation",
        "id": f"try-{gene.lower()}",
        "meta": {
            "profile": ["http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genotype"]
        },
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": _LOINC, "code": "84413-4"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueCodeableConcept": {"text": f"{gene} {diplotype}"},
        "component": [
            {
                "code": {"coding": [{"system": _LOINC, "code": "48018-6"}]},
                "valueCodeableConcept": {"coding": [gene_coding]},
            }
        ],
    }


def parse_genotype_lines(kb: KnowledgeBase, text: str, patient_id: str) -> list[dict[str, Any]]:
    """One genotype Observation per ``GENE diplotype`` line; every bad line at once otherwise."""
    observations: list[dict[str, Any]] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            errors.append(
                f"line {number}: {line!r}: not GENE DIPLOTYPE; write it like CYP2C19 *2/*2"
            )
            continue
        gene, value = match["gene"].upper(), match["value"].strip()
        if gene not in kb.genes:
            errors.append(
                f"line {number}: {line!r}: {gene} is not a gene of the knowledge base "
                f"({', '.join(sorted(kb.genes))})"
            )
            continue
        if gene in seen:
            errors.append(f"line {number}: {line!r}: {gene} is given twice; give each gene once")
            continue
        seen.add(gene)
        observation = genotype_observation(kb, gene, value, patient_id)
        # The service's own reader judges the line, so what passes here is what the hook reads.
        unreadable = read_genotypes([observation], kb.genes_by_hgnc, kb=kb).unreadable
        if unreadable:
            errors.append(f"line {number}: {line!r}: {unreadable[0].reason}")
            continue
        observations.append(observation)
    if errors:
        raise TryInputError("\n".join(errors))
    return observations


def parse_resources(text: str) -> list[Any]:
    """The resources of a pasted FHIR Bundle or resource (JSON)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TryInputError(
            f"FHIR JSON: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise TryInputError(
            "FHIR JSON: not a FHIR resource; paste a Bundle or a resource with a resourceType"
        )
    return list(iter_resources(data))


def vcf_resources(
    upload: FileStorage, kb: KnowledgeBase, patient_id: str
) -> tuple[list[Any], list[str]]:
    """The Genomics Reporting resources vcf2fhir makes of an uploaded VCF, and its notes."""
    name = Path(upload.filename or "upload.vcf").name
    suffix = ".vcf.gz" if name.endswith(".gz") else ".vcf"
    with tempfile.TemporaryDirectory(prefix="pgx-try-") as folder:
        path = Path(folder) / f"upload{suffix}"
        upload.save(path)
        try:
            samples = call_vcf(path, kb=kb)
        except VcfInputError as exc:
            raise TryInputError(f"VCF {name}: {exc}") from None
    if not samples:
        raise TryInputError(f"VCF {name}: no sample")
    calls = samples[0]
    notes = list(calls.warnings)
    if len(samples) > 1:
        notes.insert(0, f"{name} holds {len(samples)} samples; showing {calls.sample}")
    issued = datetime.now(UTC).replace(microsecond=0).isoformat()
    bundle = build_bundle(calls, patient_id, issued=issued)
    return list(iter_resources(bundle)), notes


def resolve_tried_drug(kb: KnowledgeBase, text: str) -> str:
    """The drug ``text`` names if a guideline or a biomarker rule covers it."""
    if not text.strip():
        raise TryInputError("Drug: give the drug ordered, e.g. clopidogrel")
    try:
        return resolve_drug(kb, text)
    except UnknownDrugError as exc:
        targeted = kb.oncology.drugs if kb.oncology is not None else {}
        for candidate in (text.strip().lower(), kb.drug_named_in(text)):
            if candidate is not None and candidate in targeted:
                return candidate
        raise TryInputError(f"Drug: {exc}") from None


def hook_request(
    kb: KnowledgeBase, hook: str, drug: str, patient_id: str, resources: Sequence[Any]
) -> dict[str, Any]:
    """A CDS Hooks request ordering ``drug``, every prefetch key holding ``resources``."""
    service = SERVICES[HOOKS[hook]]
    entry = kb.drugs.get(drug)
    coding = (
        [{"system": _RXNORM, "code": entry.rxnorm, "display": drug}]
        if entry and entry.rxnorm
        else []
    )
    order = {
        "resourceType": "MedicationRequest",
        "id": _ORDER_ID,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {**({"coding": coding} if coding else {}), "text": drug},
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    context: dict[str, Any] = {
        "userId": "Practitioner/console-try",
        "patientId": patient_id,
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": order}],
        },
    }
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{_ORDER_ID}"]
    # One searchset for every key: each reader takes the resources it reads and ignores the rest.
    results = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }
    return {
        "hookInstance": str(uuid.uuid4()),
        "hook": hook,
        "context": context,
        "prefetch": {key: results for key in service.prefetch},
    }


def run_hook(service_id: str, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cards of the real hook view for ``payload``, without a trace (``g.pgx_dry_run``)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # A fresh app context: its own ``g``, so the hook's call record never reaches this request's
    # log line or metrics. Calling the view directly skips the JWT check, as a signed-in console
    # user needs no EHR token.
    with (
        app.app_context(),
        app.test_request_context(f"/cds-services/{service_id}", method="POST", json=payload),
    ):
        g.pgx_dry_run = True
        try:
            response = hooks.call_service(service_id)
        except HookError as exc:
            raise TryInputError(f"The service refused the request: {exc}") from None
        body = response.get_json()
    cards = body.get("cards", []) if isinstance(body, dict) else []
    return [card for card in cards if isinstance(card, dict)]


def shown_card(card: Mapping[str, Any]) -> ShownCard:
    suggestions = tuple(
        ShownSuggestion(
            label=str(s.get("label", "")),
            recommended=bool(s.get("isRecommended")),
            actions=tuple(_action(a) for a in s.get("actions", []) if isinstance(a, dict)),
        )
        for s in card.get("suggestions", [])
        if isinstance(s, dict)
    )
    return ShownCard(card, render_markdown(str(card.get("detail") or "")), suggestions)


def _action(action: Mapping[str, Any]) -> ShownAction:
    resource = action.get("resource")
    resource = resource if isinstance(resource, dict) else {}
    names: list[str] = []
    kind = str(resource.get("resourceType", ""))
    if kind == "MedicationRequest":
        names = _concept_names(resource.get("medicationCodeableConcept"))
    elif kind == "ServiceRequest":
        names = _concept_names(resource.get("code"))
    ids = action.get("resourceId")
    if action.get("type") == "delete" and ids:
        deleted = [str(i) for i in (ids if isinstance(ids, list) else [ids])]
        names += deleted
        kind = kind or ", ".join(sorted({i.partition("/")[0] for i in deleted}))
    shown = action.get("resource") if action.get("resource") is not None else ids
    return ShownAction(
        type=str(action.get("type", "")),
        resource_type=kind,
        names=tuple(names),
        description=str(action.get("description", "")),
        resource_json=json.dumps(shown, indent=2, ensure_ascii=False) if shown else "",
    )


def _concept_names(concept: object) -> list[str]:
    if not isinstance(concept, dict):
        return []
    if concept.get("text"):
        return [str(concept["text"])]
    return [
        str(c.get("display") or c.get("code"))
        for c in concept.get("coding", [])
        if isinstance(c, dict) and (c.get("display") or c.get("code"))
    ]


def _explanation(kb: KnowledgeBase, drug: str, resources: Iterable[Any]) -> str | None:
    if drug not in kb.guidelines_by_drug:
        return None
    readout = read_genotypes(list(resources), kb.genes_by_hgnc, kb=kb)
    return render_text(explain(kb, drug, readout.results))


@bp.route("/try", methods=["GET", "POST"])
def try_patient() -> tuple[str, int]:
    kb = service_state().knowledge.current
    form = {
        "genotypes": request.form.get("genotypes", ""),
        "resources": request.form.get("resources", ""),
        "drug": request.form.get("drug", ""),
        "hook": request.form.get("hook", "order-select"),
    }
    if request.method == "GET":
        return render_template("console/try_patient.html", form=form, hooks=HOOKS), 200
    errors: list[str] = []
    notes: list[str] = []
    result: TryResult | None = None
    patient_id = f"try-{uuid.uuid4()}"
    resources: list[Any] = []
    drug = ""
    try:
        drug = resolve_tried_drug(kb, form["drug"])
    except TryInputError as exc:
        errors.append(str(exc))
    if form["hook"] not in HOOKS:
        errors.append(f"Hook: {form['hook']!r} is not one of {', '.join(HOOKS)}")
    try:
        resources += parse_genotype_lines(kb, form["genotypes"], patient_id)
    except TryInputError as exc:
        errors.extend(f"Genotypes: {line}" for line in str(exc).splitlines())
    if form["resources"].strip():
        try:
            resources += parse_resources(form["resources"])
        except TryInputError as exc:
            errors.append(str(exc))
    upload = request.files.get("vcf")
    if upload is not None and upload.filename:
        try:
            found, vcf_notes = vcf_resources(upload, kb, patient_id)
            resources += found
            notes += vcf_notes
        except TryInputError as exc:
            errors.append(str(exc))
    if not errors and not resources:
        errors.append("Give genotypes, FHIR JSON or a VCF: the patient has no results otherwise")
    if not errors:
        payload = hook_request(kb, form["hook"], drug, patient_id, resources)
        try:
            cards = run_hook(HOOKS[form["hook"]], payload)
        except TryInputError as exc:
            errors.append(str(exc))
        else:
            result = TryResult(
                drug=drug,
                hook=form["hook"],
                patient_id=patient_id,
                cards=[shown_card(card) for card in cards],
                explanation=_explanation(kb, drug, resources),
                request_json=json.dumps(payload, indent=2, ensure_ascii=False),
            )
    page = render_template(
        "console/try_patient.html",
        form=form,
        hooks=HOOKS,
        errors=errors,
        notes=notes,
        result=result,
    )
    # 422: the form was read but what it says cannot make a patient; the page lists why.
    return page, 422 if errors else 200
