"""``POST /cds-services/{id}``: evaluate the draft medication orders and answer with cards."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from cds_hooks.cards import build_card
from cds_hooks.errors import BadHookRequest, UnknownService
from cds_hooks.hook_request import parse_hook_request
from cds_hooks.patient_data import genomic_results
from cds_hooks.result_review import conflict_card, discrepancy_notes
from cds_hooks.services import SERVICES
from cds_hooks.state import service_state
from fhir_adapters import draft_medications
from knowledge import evaluate

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    service = SERVICES.get(service_id)
    if service is None:
        raise UnknownService(f"no CDS service {service_id!r}; GET /cds-services lists them")
    g.pgx_call = {"service_id": service_id}
    # force: some clients send JSON as text/plain; what matters is that it parses.
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        raise BadHookRequest("the request body is not valid JSON")
    hook_request = parse_hook_request(payload, service)
    g.pgx_call.update(hook_instance=hook_request.hook_instance, patient_id=hook_request.patient_id)

    state = service_state()
    kb = state.knowledge.current  # once: a reload mid-request must not mix two versions
    orders = draft_medications(
        hook_request.orders, kb, hook_request.selections, resolver=state.rxnav
    )
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
    relevant = [o for o in orders if o.drug is not None and o.drug in kb.guidelines_by_drug]
    cards: list[dict[str, Any]] = []
    # Only orders a guideline covers need genomic data: others must not cost a FHIR call or a 412.
    if relevant:
        readout, origin = genomic_results(hook_request, state, kb)
        g.pgx_call.update(
            data_source=origin,
            genotypes={gene: r.diplotype for gene, r in readout.results.items()},
        )
        conflicted = {conflict.gene: conflict for conflict in readout.conflicts}
        for order in relevant:
            assert order.drug is not None
            for evaluation in evaluate(kb, order.drug, readout.results):
                guideline = evaluation.guideline
                involved = [
                    conflicted[locus]
                    for locus in (*guideline.genes, *guideline.variants)
                    if locus in conflicted
                ]
                if involved:
                    # Results that disagree are never settled by us: say so, ask to confirm.
                    cards.append(
                        conflict_card(
                            order,
                            evaluation,
                            involved,
                            readout.results,
                            kb,
                            hook_request.hook_instance,
                        )
                    )
                    continue
                card = build_card(
                    order,
                    evaluation,
                    kb,
                    hook_request.hook_instance,
                    review_notes=discrepancy_notes(evaluation, readout.discrepancies),
                )
                if card is not None:
                    cards.append(card)
    g.pgx_call.update(orders=len(orders), cards=len(cards))
    return jsonify({"cards": cards})
