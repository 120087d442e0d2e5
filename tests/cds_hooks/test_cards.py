"""Cards follow CDS Hooks 2.0 to the letter and say what a prescriber needs, briefly and sourced."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.cards import build_card
from cds_hooks.config import Settings
from fhir_adapters import DraftMedication
from knowledge import GeneResult, KnowledgeBase, evaluate
from knowledge.schema import DoseAdjustment
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch

PHENOTYPE_EXAMPLES = {  # one diplotype per CYP2C19 phenotype CPIC gives clopidogrel advice for
    "Poor Metabolizer": "*2/*2",
    "Likely Poor Metabolizer": "*2/*9",
    "Intermediate Metabolizer": "*1/*2",
    "Likely Intermediate Metabolizer": "*9/*9",
}


def _card(client: FlaskClient, diplotype: str, **order: Any) -> dict[str, Any]:
    body = hook_request(
        medication_request(**order),
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", diplotype, id="geno-1")),
    )
    (card,) = client.post("/cds-services/pgx-order-sign", json=body).get_json()["cards"]
    assert isinstance(card, dict)
    return card


def _empty_values(value: Any, path: str = "") -> list[str]:
    if value is None or value in ("", [], {}):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _empty_values(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _empty_values(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize(("phenotype", "diplotype"), PHENOTYPE_EXAMPLES.items())
def test_summary_is_under_140_characters_and_names_drug_gene_and_phenotype(
    client: FlaskClient, phenotype: str, diplotype: str
) -> None:
    summary = _card(client, diplotype)["summary"]

    assert len(summary) < 140
    assert summary.startswith("Clopidogrel: CYP2C19 ")
    assert phenotype in summary


@pytest.mark.parametrize("diplotype", PHENOTYPE_EXAMPLES.values())
def test_no_optional_field_is_sent_empty(client: FlaskClient, diplotype: str) -> None:
    assert _empty_values(_card(client, diplotype)) == []


def test_card_is_sourced_and_links_to_the_guideline(client: FlaskClient) -> None:
    card = _card(client, "*2/*2")

    url = "https://cpicpgx.org/guidelines/guideline-for-clopidogrel-and-cyp2c19/"
    assert card["source"] == {"label": "CPIC guideline", "url": url}
    assert {"label": "CPIC guideline", "url": url, "type": "absolute"} in card["links"]


def test_detail_carries_genotype_phenotype_implication_recommendation_strength_and_version(
    client: FlaskClient,
) -> None:
    detail = _card(client, "*2/*2")["detail"]

    for expected in (
        "**CYP2C19** `*2/*2` → **Poor Metabolizer** (from Observation/geno-1)",
        "Significantly reduced clopidogrel active metabolite formation",
        "| ACS and/or PCI | Avoid clopidogrel if possible. Use prasugrel or ticagrelor at "
        "standard dose if no contraindication. | Strong |",
        "Prasugrel is contraindicated in patients with a history of stroke or TIA.",
        "CPIC Guideline for CYP2C19 Genotype and Clopidogrel Therapy (2022 update)",
        "recommendations as of 2024-03-25-16-13",
    ):
        assert expected in detail


def test_an_indication_dependent_answer_is_said_to_be_so(client: FlaskClient) -> None:
    detail = _card(client, "*1/*2")["detail"]

    assert "| other cardiovascular indications (non-ACS, non-PCI) | No recommendation |" in detail
    assert "The advice depends on the indication" in detail


def test_prasugrel_is_not_offered_as_if_cpic_named_it_for_neurovascular_use(
    client: FlaskClient,
) -> None:
    labels = [s["label"] for s in _card(client, "*2/*2")["suggestions"]]

    assert labels == [
        "Replace clopidogrel with prasugrel (CPIC names it for: ACS and/or PCI; "
        "other cardiovascular indications (non-ACS, non-PCI))",
        "Replace clopidogrel with ticagrelor",
    ]


def test_override_reasons_are_coded_with_a_display(client: FlaskClient) -> None:
    reasons = _card(client, "*2/*2")["overrideReasons"]

    assert reasons
    assert all(r["system"] and r["code"] and r["display"] for r in reasons)


def test_suggestions_and_their_card_have_stable_uuids_within_a_call(client: FlaskClient) -> None:
    card = _card(client, "*2/*2")

    uuids = [card["uuid"]] + [s["uuid"] for s in card["suggestions"]]
    assert len(set(uuids)) == len(uuids)


@pytest.fixture
def dose_app(kb: KnowledgeBase, settings: Settings) -> Flask:
    """The bundled knowledge with one clopidogrel rule turned into a 50 % dose change (test only)."""
    guideline = kb.guidelines["cpic-clopidogrel"]
    recs = [
        rec.model_copy(
            update={
                "action": "dose-adjustment",
                "alternatives": [],
                "dose_adjustment": DoseAdjustment(percent_of_standard=50, quote="test"),
            }
        )
        if rec.lookup_key == {"CYP2C19": "Poor Metabolizer"} and rec.population == "CVI ACS PCI"
        else rec.model_copy(update={"action": "standard", "alternatives": []})
        for rec in guideline.recommendations
    ]
    changed = guideline.model_copy(update={"recommendations": recs})
    test_kb = KnowledgeBase(kb.genes, kb.drugs, {changed.id: changed}, "test")
    return create_app(settings, test_kb)


def test_a_dose_change_updates_the_whole_draft_with_the_scaled_dose(dose_app: Flask) -> None:
    draft = medication_request(id="rx-5", dose_mg=75)

    card = _card(dose_app.test_client(), "*2/*2", id="rx-5", dose_mg=75)

    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    updated = action["resource"]
    assert updated["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 37.5
    updated["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 75
    assert json.dumps(updated, sort_keys=True) == json.dumps(draft, sort_keys=True)


def test_a_dose_change_without_a_dose_on_the_draft_suggests_nothing(dose_app: Flask) -> None:
    card = _card(dose_app.test_client(), "*2/*2", dose_mg=None)

    assert "suggestions" not in card
    assert card["indicator"] == "warning"


@pytest.mark.parametrize(
    "dosage",
    [
        {"doseAndRate": [{"doseQuantity": {"value": 75, "unit": "mg"}}]},
        {"doseAndRate": {"doseQuantity": {"value": 75, "unit": "mg"}}},  # the spec example's shape
        {"doseQuantity": {"value": 75, "unit": "mg"}},  # STU3 / DSTU2
    ],
    ids=["r4", "r4-object", "stu3"],
)
def test_the_dose_is_found_wherever_the_fhir_version_puts_it(
    dose_app: Flask, dosage: dict[str, Any]
) -> None:
    order = medication_request(id="rx-5", dose_mg=None)
    order["dosageInstruction"] = [dosage]
    body = hook_request(order, prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")))

    (card,) = (
        dose_app.test_client().post("/cds-services/pgx-order-sign", json=body).get_json()["cards"]
    )

    assert "37.5" in json.dumps(card["suggestions"][0]["actions"][0]["resource"])


def test_a_warfarin_card_names_its_patient_groups_and_the_alleles_it_used(
    kb: KnowledgeBase,
) -> None:
    genotypes = {
        "CYP2C9": "*1/*3",
        "VKORC1": "rs9923231 reference (C)/rs9923231 variant (T)",
        "CYP4F2": "*1/*3",
    }
    results = {gene: GeneResult(gene, diplotype=d) for gene, d in genotypes.items()}
    order = DraftMedication("MedicationRequest/w1", medication_request(), "warfarin", "warfarin")
    [evaluation] = evaluate(kb, "warfarin", results)

    card = build_card(order, evaluation, kb, "hook-1")

    assert card is not None
    assert card["summary"] == (
        "Warfarin: CYP2C9 Intermediate Metabolizer, VKORC1 -1639 AG. "
        "CPIC advises a genotype-based dose calculation (strong)"
    )
    assert card["indicator"] == "info"
    detail = card["detail"]
    assert "| Patient group | CPIC recommendation | Strength |" in detail
    assert "**CYP4F2** `*1/*3`\n" in detail
    assert (
        "| adults, non-African ancestry | Carriers of the CYP4F2 rs2108622 T allele: "
        "Increase dose by 5-10% | Optional |" in detail
    )
    assert "depends on the patient group" in detail
    # A range of a calculated dose is no share of the ordered dose: nothing to apply.
    assert "suggestions" not in card


def test_a_dpwg_implication_is_shown_under_its_gene(client: FlaskClient) -> None:
    """DPWG gives the implication without the gene's name: it reads "CYP2D6: ...", not "...: "."""
    body = hook_request(
        medication_request(_rxnorm("4441", "flecainide"), dose_mg=100),
        prefetch=pgx_prefetch(genotype_observation("CYP2D6", "*4/*4", id="geno-1")),
    )

    (card,) = client.post("/cds-services/pgx-order-sign", json=body).get_json()["cards"]

    implications = [
        line for line in card["detail"].splitlines() if line.startswith("*Implication*")
    ]
    assert implications == [
        "*Implication*: CYP2D6: The genetic variation reduces conversion of flecainide to "
        "inactive metabolites. This increases the risk of side effects."
    ]


def _rxnorm(code: str, name: str) -> dict[str, Any]:
    return {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}],
        "text": name,
    }


def test_a_suggestion_dpwg_limits_to_an_indication_says_so(client: FlaskClient) -> None:
    """DPWG splits quetiapine's advice by indication: each one-click action names its own."""
    body = hook_request(
        medication_request(_rxnorm("51272", "quetiapine"), dose_mg=100),
        prefetch=pgx_prefetch(genotype_observation("CYP3A4", "*22/*22", id="geno-1")),
    )

    (card,) = client.post("/cds-services/pgx-order-sign", json=body).get_json()["cards"]

    assert sorted(s["label"] for s in card["suggestions"]) == [
        "Change the quetiapine dose to 30% of the ordered dose (30% of the normal dose), "
        "only for: OTHER INDICATIONS",
        "Replace quetiapine with aripiprazole, only for: Indication DEPRESSION",
        "Replace quetiapine with olanzapine, only for: Indication DEPRESSION",
    ]


def test_flecainide_75_percent_is_not_offered_as_if_for_a_brugada_test(
    client: FlaskClient,
) -> None:
    body = hook_request(
        medication_request(_rxnorm("4441", "flecainide"), dose_mg=100),
        prefetch=pgx_prefetch(genotype_observation("CYP2D6", "*1/*4", id="geno-1")),
    )

    (card,) = client.post("/cds-services/pgx-order-sign", json=body).get_json()["cards"]

    [suggestion] = card["suggestions"]
    assert suggestion["label"].endswith(
        ", only for: Indications other than diagnosis of Brugada syndrome"
    )
