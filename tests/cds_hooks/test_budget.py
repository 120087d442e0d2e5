"""One time budget per hook call, drawn on by every FHIR search and RxNav lookup of the call."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from flask import Flask

from cds_hooks.app import create_app
from cds_hooks.call_budget import CallBudget
from cds_hooks.config import Settings
from fhir_adapters import FhirClient, FhirUnavailableError, RxNavClient
from knowledge import KnowledgeBase
from tests.builders import RXNORM, genotype_observation, hook_request, medication_request, searchset
from tests.fault_server import FaultServer, Mode
from tests.fhir_adapters.test_rxnav import CLOPIDOGREL, PLAVIX_75_TABLET, related

# Real sockets against real time budgets: `make test`, not `make unit`.
pytestmark = pytest.mark.slow

SLACK = 0.5
MakeApp = Callable[..., Flask]
BASE = "https://ehr.example/fhir"


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class FixedBudget:
    def __init__(self, left: float) -> None:
        self.left = left

    def remaining(self) -> float:
        return self.left


def test_the_budget_runs_down_from_the_start_of_the_call_and_stops_at_zero() -> None:
    clock = Clock()
    budget = CallBudget(0.3, clock=clock)
    clock.now += 0.1
    left = budget.remaining()
    clock.now += 1.0

    assert (round(left, 6), budget.remaining()) == (0.2, 0.0)


def client(budget: FixedBudget, *, deadline: float = 3.0) -> FhirClient:
    return FhirClient(
        BASE,
        access_token="t",
        session=requests.Session(),
        timeout=(0.5, 1.5),
        max_pages=5,
        deadline=deadline,
        budget=budget,
        clock=Clock(),  # still: the time left is exactly what the test gave
    )


def test_a_search_with_nothing_left_fails_at_once_without_a_request() -> None:
    with responses.RequestsMock() as rsps:  # any request would fail as "unavailable"
        with pytest.raises(FhirUnavailableError, match="no time left") as info:
            client(FixedBudget(0.0)).search("Observation?patient=p1")

        assert (info.value.kind, len(rsps.calls)) == ("budget", 0)


@pytest.mark.parametrize(
    ("left", "deadline", "expected"),
    [(0.2, 3.0, (0.2, 0.2)), (10.0, 3.0, (0.5, 1.5)), (10.0, 1.0, (0.5, 1.0))],
    ids=["budget-shorter", "own-limits-shorter", "deadline-shorter"],
)
def test_each_search_waits_no_longer_than_the_budget_or_its_own_limits(
    left: float, deadline: float, expected: tuple[float, float]
) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/Observation", json=searchset())

        client(FixedBudget(left), deadline=deadline).search("Observation?patient=p1")

        assert rsps.calls[0].request.req_kwargs["timeout"] == pytest.approx(expected)


# --- through the service ------------------------------------------------------------------------


@pytest.fixture
def make_app(tmp_path: Path, kb: KnowledgeBase) -> Iterator[MakeApp]:
    apps: list[Flask] = []

    def make(**settings: Any) -> Flask:
        app = create_app(
            Settings(database_url=f"sqlite:///{tmp_path}/fb{len(apps)}.sqlite3", **settings), kb
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["pgx_cds"].feedback.close()


WARFARIN = {"text": "Warfarin 5 MG Oral Tablet"}


def test_the_searches_of_a_call_run_side_by_side(make_app: MakeApp) -> None:
    # A warfarin order needs five searches (results, Patient, factor Observations, two medication
    # lists). Each takes 0.4 s here: 2 s one after another, 0.4 s side by side.
    app = make_app(hook_budget=1.5)
    with FaultServer("ok", delay=0.4) as server:
        started = time.monotonic()
        response = app.test_client().post(
            "/cds-services/pgx-order-sign",
            json=hook_request(medication_request(WARFARIN), fhir_server=server.url),
        )
        elapsed = time.monotonic() - started
        searched = server.requests

    assert response.status_code == 200
    assert response.get_json() == {"cards": []}
    assert searched == 5
    assert 0.4 <= elapsed < 1.2


def test_the_budget_bounds_every_search_of_a_call(make_app: MakeApp) -> None:
    # Each search would take 3 s; the 0.5 s budget ends them all, genomic results included.
    app = make_app(hook_budget=0.5)
    with FaultServer("ok", delay=3.0) as server:
        started = time.monotonic()
        response = app.test_client().post(
            "/cds-services/pgx-order-sign",
            json=hook_request(medication_request(WARFARIN), fhir_server=server.url),
        )
        elapsed = time.monotonic() - started

    [card] = response.get_json()["cards"]
    assert response.status_code == 200
    assert card["summary"].startswith("PGx check could not run")
    assert elapsed < 0.5 + SLACK


def _product_order() -> dict[str, object]:
    # Coded with a product code only: RxNav must be asked which ingredient it holds.
    plavix = {"coding": [{"system": RXNORM, "code": PLAVIX_75_TABLET}]}
    return hook_request(
        medication_request(plavix),
        prefetch={"pgxResults": searchset(genotype_observation("CYP2C19", "*2/*2"))},
    )


@pytest.mark.parametrize("mode", ["hang", "drip"])
def test_a_stalled_rxnav_costs_no_more_than_the_budget(make_app: MakeApp, mode: Mode) -> None:
    with FaultServer(mode) as rxnav:
        app = make_app(rxnav_url=f"http://127.0.0.1:{rxnav.port}/REST")
        started = time.monotonic()
        response = app.test_client().post("/cds-services/pgx-order-sign", json=_product_order())
        elapsed = time.monotonic() - started

    # The drug stays unknown (no card, no error), and the EHR is answered on time.
    assert (response.status_code, response.get_json()) == (200, {"cards": []})
    assert rxnav.requests == 1
    assert elapsed < 0.3 + SLACK


def test_a_stalled_rxnav_leaves_the_genomic_search_half_the_budget(make_app: MakeApp) -> None:
    # RxNav is asked first; were it allowed the whole budget, the FHIR search would get none.
    plavix = {"coding": [{"system": RXNORM, "code": PLAVIX_75_TABLET}]}
    results = searchset(genotype_observation("CYP2C19", "*2/*2"))
    with FaultServer("hang") as rxnav, FaultServer("ok", bodies={"Observation": results}) as fhir:
        app = make_app(rxnav_url=f"http://127.0.0.1:{rxnav.port}/REST", hook_budget=0.6)
        response = app.test_client().post(
            "/cds-services/pgx-order-sign",
            json=hook_request(
                medication_request(plavix, id="rx-product"),
                medication_request(id="rx-ingredient"),
                fhir_server=fhir.url,
            ),
        )

    cards = response.get_json()["cards"]
    assert response.status_code == 200
    assert [card["summary"].split(":")[0] for card in cards] == ["Clopidogrel"]
    assert (rxnav.requests, fhir.requests) == (1, 1)


def test_an_rxnav_lookup_with_nothing_left_is_unknown_at_once_and_not_remembered() -> None:
    rxnav = RxNavClient("https://rxnav.example/REST", clock=Clock())
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"https://rxnav.example/REST/rxcui/{PLAVIX_75_TABLET}/related.json",
            json=related(CLOPIDOGREL),
        )

        spent = rxnav.under(FixedBudget(0.0)).ingredients(PLAVIX_75_TABLET)
        later = rxnav.under(FixedBudget(0.3)).ingredients(PLAVIX_75_TABLET)

        assert (spent, later, len(rsps.calls)) == (None, frozenset({CLOPIDOGREL[0]}), 1)
        assert rsps.calls[0].request.req_kwargs["timeout"] == (0.3, 0.3)
