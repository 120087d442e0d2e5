"""``POST /cds-services/{id}``: evaluate the draft medication orders and answer with cards."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from cds_hooks.biomarker_card import biomarker_card
from cds_hooks.call_budget import CallBudget
from cds_hooks.card_log import log_shown_cards
from cds_hooks.cards import build_card
from cds_hooks.degraded_card import degraded_card
from cds_hooks.errors import BadHookRequest, UnknownService
from cds_hooks.hook_request import HookRequest, parse_hook_request
from cds_hooks.metrics import HOOK_DEGRADED, record_cards
from cds_hooks.patient_context import PatientContext, run_beside
from cds_hooks.patient_data import GenomicResultsUnavailable, genomic_results
from cds_hooks.patient_summary import patient_summary_card
from cds_hooks.pretest_card import pretest_card
from cds_hooks.result_review import conflict_card, discrepancy_notes
from cds_hooks.services import REPORT_KEYS, SERVICES, TUMOUR_RESULTS_KEY
from cds_hooks.site_config import indicator_for as pretest_indicator
from cds_hooks.site_config import oncology_indicator_for, orderable_for
from cds_hooks.state import ServiceState, service_state
from cds_hooks.tumour_data import TumourContext, tumour_profile
from fhir_adapters import (
    DraftMedication,
    FhirUnavailableError,
    GenotypeReadout,
    IngredientResolver,
    RxNavClient,
    draft_medications,
)
from fhir_adapters.budget import Budget
from fhir_adapters.reports import report_links
from knowledge import KnowledgeBase, evaluate
from knowledge.biomarker_check import check_biomarkers
from knowledge.evaluate import drug_needs
from knowledge.tumour import TumourProfile

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    service = SERVICES.get(service_id)
    if service is None:
        raise UnknownService(f"no CDS service {service_id!r}; GET /cds-services lists them")
    # From here every FHIR search and RxNav lookup of this call draws on one budget.
    budget = CallBudget(service_state().settings.hook_budget)
    g.pgx_call = {"service_id": service_id}
    # force: some clients send JSON as text/plain; what matters is that it parses.
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        raise BadHookRequest("the request body is not valid JSON")
    hook_request = parse_hook_request(payload, service)
    g.pgx_call.update(hook_instance=hook_request.hook_instance, patient_id=hook_request.patient_id)

    state = service_state()
    kb = state.knowledge.current  # once: a reload mid-request must not mix two versions
    if service.hook == "patient-view":
        return _patient_view(hook_request, state, kb, budget)
    # RxNav is asked first (to name the drugs) and gets half the budget at most, so a slow RxNav
    # cannot leave the genomic results, the one search a card cannot do without, no time.
    resolver = _within(state.rxnav, CallBudget(budget.remaining() / 2))
    # Every draft is read once: the selected ones are checked, all count as drugs to be taken.
    drafts = draft_medications(hook_request.orders, kb, resolver=resolver)
    selected = set(hook_request.selections) if hook_request.selections is not None else None
    orders = [o for o in drafts if selected is None or o.reference in selected]
    for order in orders:
        if order.drug is None:
            # Codes only: an order's free text may carry patient details.
            log.info(
                "draft order names no drug we know",
                extra={
                    "event": "drug_not_identified",
                    "hook_instance": hook_request.hook_instance,
                    "codes": list(order.codes),
                },
            )
    relevant = [o for o in orders if o.drug is not None and _checked(kb, state, o.drug)]
    targeted = [o for o in orders if o.drug is not None and _targeted(kb, state, o.drug)]
    cards: list[tuple[str, str, dict[str, Any]]] = []
    # What each card is about (guideline id, pretest:<drug>, ...), for the metrics only.
    topics: dict[str, str] = {}
    # Only orders a guideline or a biomarker rule covers need patient data: others must not
    # cost a FHIR call or a 412. Genomic (germline) and tumour results are each read only when
    # some order needs them, side by side when both must come from the FHIR server.
    if relevant or targeted:
        context = PatientContext(hook_request, state, kb, drafts, budget=budget, resolver=resolver)
        # What the rules will read besides genotypes is searched meanwhile, not after.
        needs = [drug_needs(kb, o.drug) for o in relevant if o.drug is not None]
        context.start(
            factors=any(n.factors for n in needs),
            medications=any(n.medications for n in needs),
            diagnoses=bool(targeted),
        )
        tumour_search = (
            run_beside(tumour_profile, hook_request, state, kb, budget, resolver)
            if targeted
            else None
        )
        try:
            readout, origin = (
                genomic_results(hook_request, state, kb, budget)
                if relevant
                else (GenotypeReadout(), "none")
            )
            profile, tumour_origin = (
                _tumour_results(tumour_search, budget)
                if tumour_search is not None
                else (TumourProfile(), "none")
            )
        except GenomicResultsUnavailable as exc:
            return _degraded(exc, hook_request, state)
        g.pgx_call.update(
            data_source=origin,
            genotypes={gene: r.diplotype for gene, r in readout.results.items()},
        )
        if targeted:
            g.pgx_call.update(tumour_data_source=tumour_origin)
        tumours = TumourContext(context, kb, profile)
        checked, biomarkers = {id(o) for o in relevant}, {id(o) for o in targeted}
        for order in orders:
            if order.drug is None:
                continue
            key = order.reference or order.drug
            found = (
                order_cards(order, order.drug, readout, context, hook_request, state, kb)
                if id(order) in checked
                else []
            )
            if id(order) in biomarkers:
                found += _biomarker_cards(
                    order, order.drug, profile, tumours, context, hook_request, state, kb
                )
            for topic, card in found:
                cards.append((key, order.drug, card))
                topics[card["uuid"]] = topic
    # The console's "try a patient" (g.pgx_dry_run) shows every card and leaves no trace: no
    # repeat memory, no metrics, no card log.
    if g.get("pgx_dry_run"):
        shown = [card for _, _, card in cards]
    else:
        shown = state.repeats.filter(hook_request.service.hook, hook_request.patient_id, cards)
        record_cards((topics[card["uuid"]], card["indicator"]) for card in shown)
        if state.settings.card_log_enabled:
            drugs = {card["uuid"]: drug for _, drug, card in cards}
            log_shown_cards(
                state,
                hook_request.service.id,
                [(topics[c["uuid"]], drugs[c["uuid"]], c) for c in shown],
            )
    g.pgx_call.update(orders=len(orders), cards=len(shown), repeats_held=len(cards) - len(shown))
    return jsonify({"cards": shown})


def _within(resolver: IngredientResolver | None, budget: Budget) -> IngredientResolver | None:
    """The service's RxNav client drawing on this call's budget (another resolver as it is)."""
    return resolver.under(budget) if isinstance(resolver, RxNavClient) else resolver


def _degraded(
    exc: GenomicResultsUnavailable, hook_request: HookRequest, state: ServiceState
) -> Response:
    """The answer when the fhirServer failed us: a 412, no card or one info card, as set."""
    outcome = state.settings.fhir_failure_outcome
    HOOK_DEGRADED.labels(outcome=outcome).inc()
    g.pgx_call.update(data_source=f"fhir-failed:{exc.cause.kind}")
    log.warning(
        "hook answered without genomic results (%s): %s",
        outcome,
        exc.cause,
        extra={"event": "hook_degraded", "reason": exc.cause.kind, "outcome": outcome},
    )
    if outcome == "412":
        raise exc
    cards = []
    if outcome == "info-card":
        cards = [degraded_card(hook_request.service, exc.cause.kind, hook_request.hook_instance)]
        record_cards([("pgx-check-not-run", "info")])
    g.pgx_call.update(cards=len(cards))
    return jsonify({"cards": cards})


def _tumour_results(
    search: Future[tuple[TumourProfile, str]], budget: Budget
) -> tuple[TumourProfile, str]:
    """The tumour search started beside the genomic one; one past the budget degrades the call.

    The client's bound is hard, so the margin only guards against a bug: a hook call must never
    hang here, nor turn a slow search into a 500.
    """
    try:
        return search.result(timeout=budget.remaining() + 1.0)
    except FutureTimeout:
        cause = FhirUnavailableError("the tumour results search outlived the call", kind="budget")
        raise GenomicResultsUnavailable(
            "the patient's tumour results could not be read from fhirServer in time",
            f"prefetch.{TUMOUR_RESULTS_KEY}",
            cause,
        ) from None


def _targeted(kb: KnowledgeBase, state: ServiceState, drug: str) -> bool:
    """Whether a biomarker rule covers ``drug`` and the site has not turned it off."""
    rules = kb.oncology.drugs.get(drug) if kb.oncology is not None else None
    return (
        rules is not None
        and rules.status != "retired"
        and state.site.oncology.drugs.get(drug) != "off"
    )


def _biomarker_cards(
    order: DraftMedication,
    drug: str,
    profile: TumourProfile,
    tumours: TumourContext,
    context: PatientContext,
    hook_request: HookRequest,
    state: ServiceState,
    kb: KnowledgeBase,
) -> list[tuple[str, dict[str, Any]]]:
    """The biomarker card for one targeted-drug order, if its outcome is shown at this site."""
    check = check_biomarkers(kb, drug, profile, tumours.for_order(order))
    if check is None:
        return []
    indicator = oncology_indicator_for(state.site, drug, check.outcome)
    if indicator is None:
        return []
    card = biomarker_card(
        order=order,
        check=check,
        profile=profile,
        indicator=indicator,
        site=state.site,
        kb=kb,
        patient_id=hook_request.patient_id,
        hook_instance=hook_request.hook_instance,
        notes=context.unavailable,
    )
    return [(f"biomarker:{drug}:{check.outcome}", card)]


def _checked(kb: KnowledgeBase, state: ServiceState, drug: str) -> bool:
    """Whether any guideline, or an enabled pre-test alert, covers ``drug``."""
    if drug in kb.guidelines_by_drug:
        return True
    requirement = kb.pretest.drugs.get(drug) if kb.pretest is not None else None
    return requirement is not None and pretest_indicator(state.site, drug, requirement) is not None


def order_cards(
    order: DraftMedication,
    drug: str,
    readout: GenotypeReadout,
    context: PatientContext,
    hook_request: HookRequest,
    state: ServiceState,
    kb: KnowledgeBase,
) -> list[tuple[str, dict[str, Any]]]:
    """Every card for one draft order with its topic: pre-test, then one per guideline with advice."""
    found: list[tuple[str, dict[str, Any]]] = []
    pretest = _pretest(order, drug, readout, hook_request, state, kb)
    if pretest is not None:
        found.append((f"pretest:{drug}", pretest))
    guidelines = kb.guidelines_by_drug.get(drug, ())
    if not guidelines:
        return found
    needs = drug_needs(kb, drug)
    factors = context.factors if needs.factors else None
    taking = context.comedications(fetch=needs.medications)
    conflicted = {conflict.gene: conflict for conflict in readout.conflicts}
    for evaluation in evaluate(kb, drug, readout.results, patient=factors, comedications=taking):
        guideline = evaluation.guideline
        involved = [
            conflicted[locus]
            for locus in (*guideline.genes, *guideline.variants)
            if locus in conflicted
        ]
        if involved:
            # Results that disagree are never settled by us: say so, ask to confirm.
            found.append(
                (
                    f"conflict:{guideline.id}",
                    conflict_card(
                        order, evaluation, involved, readout.results, kb, hook_request.hook_instance
                    ),
                )
            )
            continue
        card = build_card(
            order,
            evaluation,
            kb,
            hook_request.hook_instance,
            review_notes=discrepancy_notes(evaluation, readout.discrepancies),
            context_notes=context.unavailable,
        )
        if card is not None:
            found.append((guideline.id, card))
    return found


def _pretest(
    order: DraftMedication,
    drug: str,
    readout: GenotypeReadout,
    hook_request: HookRequest,
    state: ServiceState,
    kb: KnowledgeBase,
) -> dict[str, Any] | None:
    """The "test before use" card when the label asks for a result that is not on file."""
    requirement = kb.pretest.drugs.get(drug) if kb.pretest is not None else None
    if requirement is None:
        return None
    indicator = pretest_indicator(state.site, drug, requirement)
    conflicted = {c.gene for c in readout.conflicts}
    missing = [
        gene for gene in requirement.genes if gene not in readout.results and gene not in conflicted
    ]
    if indicator is None or not missing:
        return None
    return pretest_card(
        drug=drug,
        order_reference=order.reference,
        requirement=requirement,
        missing_genes=missing,
        indicator=indicator,
        orderable=orderable_for(state.site, requirement),
        patient_id=hook_request.patient_id,
        kb_version=kb.version,
        hook_instance=hook_request.hook_instance,
    )


def _patient_view(
    hook_request: HookRequest, state: ServiceState, kb: KnowledgeBase, budget: Budget
) -> Response:
    try:
        readout, origin = genomic_results(hook_request, state, kb, budget)
    except GenomicResultsUnavailable as exc:
        return _degraded(exc, hook_request, state)
    g.pgx_call.update(data_source=origin)
    reports = PatientContext(hook_request, state, kb, [], budget=budget).read(
        REPORT_KEYS, "reports"
    )
    card = patient_summary_card(
        readout,
        kb,
        report_links(reports, hook_request.fhir_server),
        hook_request.hook_instance,
        f"Patient/{hook_request.patient_id}",
    )
    g.pgx_call.update(cards=0 if card is None else 1)
    if card is not None:
        record_cards([("patient-summary", card["indicator"])])
    return jsonify({"cards": [] if card is None else [card]})
