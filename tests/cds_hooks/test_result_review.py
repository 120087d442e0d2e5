"""Results needing review: conflicting results are shown, never settled; lab phenotypes that differ
from the CPIC call are noted on the card."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch


def _cards(client: FlaskClient, *observations: dict[str, Any]) -> list[dict[str, Any]]:
    body = hook_request(medication_request(), prefetch=pgx_prefetch(*observations))
    response = client.post("/cds-services/pgx-order-sign", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


def implication(genotype_id: str, phenotype: str) -> dict[str, Any]:
    """A Genomics Reporting therapeutic implication naming the lab's phenotype."""
    return {
        "resourceType": "Observation",
        "id": f"imp-{genotype_id}",
        "status": "final",
        "code": {"coding": [{"code": "therapeutic-implication"}]},
        "subject": {"reference": "Patient/p1"},
        "derivedFrom": [{"reference": f"Observation/{genotype_id}"}],
        "component": [
            {
                "code": {"coding": [{"code": "therapeutic-implication"}]},
                "valueCodeableConcept": {"text": phenotype},
            }
        ],
    }


def test_two_current_results_that_disagree_give_a_card_asking_for_confirmation(
    client: FlaskClient,
) -> None:
    (card,) = _cards(
        client,
        genotype_observation("CYP2C19", "*1/*1", id="geno-a"),
        genotype_observation("CYP2C19", "*2/*2", id="geno-b"),
    )

    assert card["summary"] == (
        "Clopidogrel: conflicting CYP2C19 *1/*1, *2/*2 results. "
        "Confirm before relying on CPIC advice"
    )
    # The poor-metabolizer reading calls for a swap, so the card is as loud as that reading.
    assert card["indicator"] == "warning"
    detail = card["detail"]
    assert "- `*1/*1` (Observation/geno-a, 2024-05-14): CPIC advises no change" in detail
    assert "- `*2/*2` (Observation/geno-b, 2024-05-14): Clopidogrel: CYP2C19 Poor Metabolizer" in (
        detail
    )
    assert "None of them was used. Confirm the CYP2C19 genotype" in detail
    # Acting on either reading would be a guess: nothing to click.
    assert "suggestions" not in card


def test_a_conflict_between_readings_that_need_no_change_is_only_info(
    client: FlaskClient,
) -> None:
    (card,) = _cards(
        client,
        genotype_observation("CYP2C19", "*1/*1", id="geno-a"),
        genotype_observation("CYP2C19", "*1/*17", id="geno-b"),
    )

    assert card["indicator"] == "info"
    assert card["summary"].startswith("Clopidogrel: conflicting CYP2C19 *1/*1, *1/*17 results")


def test_the_later_result_wins_and_no_conflict_is_shown(client: FlaskClient) -> None:
    (card,) = _cards(
        client,
        genotype_observation("CYP2C19", "*1/*1", id="geno-a", effective="2020-01-01"),
        genotype_observation("CYP2C19", "*2/*2", id="geno-b", effective="2024-01-01"),
    )

    assert card["summary"].startswith("Clopidogrel: CYP2C19 Poor Metabolizer (*2/*2)")


def test_a_result_entered_in_error_takes_no_part(client: FlaskClient) -> None:
    cards = _cards(
        client,
        genotype_observation("CYP2C19", "*1/*1", id="geno-a"),
        genotype_observation("CYP2C19", "*2/*2", id="geno-b", status="entered-in-error"),
    )

    assert cards == []


def test_a_lab_phenotype_that_differs_from_the_cpic_call_is_noted(client: FlaskClient) -> None:
    (card,) = _cards(
        client,
        genotype_observation("CYP2C19", "*2/*2", id="geno-a"),
        implication("geno-a", "Intermediate Metabolizer"),
    )

    assert card["summary"].startswith("Clopidogrel: CYP2C19 Poor Metabolizer (*2/*2)")
    assert (
        "*Note*: the laboratory reported CYP2C19 *2/*2 as Intermediate Metabolizer; the current "
        "CPIC tables give Poor Metabolizer, which this advice uses (Observation/geno-a)."
    ) in card["detail"]


def test_a_lab_phenotype_that_agrees_adds_no_note(client: FlaskClient) -> None:
    (card,) = _cards(
        client,
        genotype_observation("CYP2C19", "*2/*2", id="geno-a"),
        implication("geno-a", "Poor Metabolizer"),
    )

    assert "*Note*" not in card["detail"]
