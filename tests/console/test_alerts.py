"""The alerts page and CSV: cards seeded through real hook calls, feedback posted, numbers read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.app import create_app
from cds_hooks.cards import NON_ADHERENCE
from cds_hooks.config import Settings
from cds_hooks.console.alerts import day_series, percent, topic_kind
from cds_hooks.feedback_store import DayCounts, ShownCard
from cds_hooks.state import EXTENSION_KEY, ServiceState
from knowledge import KnowledgeBase
from tests.builders import (
    RXNORM,
    genotype_observation,
    hook_request,
    medication_request,
    pgx_prefetch,
)

SERVICE = "pgx-order-sign"
WHEN = "2026-03-10T10:05:31Z"
OMEPRAZOLE = {"coding": [{"system": RXNORM, "code": "7646", "display": "omeprazole"}]}
CLOPIDOGREL_TOPIC = "cpic-clopidogrel"
PPI_TOPIC = "cpic-lansoprazole-omeprazole-pantoprazole"


class DataCells(HTMLParser):
    """The text of every ``td[data-field]`` under each ``tr[data-topic]`` / ``tr[data-day]``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.order: list[str] = []
        self._row: str | None = None
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and ("data-topic" in a or "data-day" in a):
            self._row = (
                f"{a['data-topic']}|{a['data-drug']}" if "data-topic" in a else a["data-day"]
            )
            assert self._row is not None
            self.rows[self._row] = {}
            self.order.append(self._row)
        elif tag == "td" and self._row is not None and a.get("data-field"):
            name = str(a["data-field"])
            field = f"reason:{a['data-reason']}" if name == "reason" else name
            self._field = field
            self.rows[self._row][field] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._field = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._field is not None:
            self.rows[self._row][self._field] += data.strip()


def cells(html: str) -> DataCells:
    parser = DataCells()
    parser.feed(html)
    return parser


@pytest.fixture
def console_app(tmp_path: Path, kb: KnowledgeBase) -> Iterator[Flask]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3", console=True, console_auth="off"
    )
    app = create_app(settings, kb)
    yield app
    app.extensions[EXTENSION_KEY].feedback.close()


@pytest.fixture
def console(console_app: Flask) -> FlaskClient:
    return console_app.test_client()


def state_of(app: Flask) -> ServiceState:
    state = app.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    return state


def show(
    client: FlaskClient, patient: str, concept: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One order-sign call for a CYP2C19 poor metabolizer; the one card it returns."""
    body = hook_request(
        medication_request(concept, patient=patient),
        patient=patient,
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2", patient=patient)),
    )
    response = client.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200
    [card] = response.get_json()["cards"]
    return card  # type: ignore[no-any-return]


def override(client: FlaskClient, card: dict[str, Any], code: str) -> None:
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": NON_ADHERENCE, "code": code}},
        "outcomeTimestamp": WHEN,
    }
    assert (
        client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": [item]}).status_code
        == 200
    )


def accept(client: FlaskClient, card: dict[str, Any]) -> None:
    item = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": WHEN,
    }
    assert (
        client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": [item]}).status_code
        == 200
    )


@pytest.fixture
def seeded(console: FlaskClient, console_app: Flask) -> FlaskClient:
    """4 clopidogrel warnings (3 overridden, 1 accepted) and 2 omeprazole (1 overridden)."""
    clopidogrel = [show(console, f"p{n}") for n in range(4)]
    omeprazole = [show(console, f"q{n}", OMEPRAZOLE) for n in range(2)]
    state_of(console_app).card_log.flush()
    override(console, clopidogrel[0], "patient-contraindication")
    override(console, clopidogrel[1], "patient-contraindication")
    override(console, clopidogrel[2], "risk-benefit-ratio")
    accept(console, clopidogrel[3])
    # A code the cards do not offer (the public sandbox sends such) counts as "other".
    override(console, omeprazole[0], "d7ecf885")
    return console


def test_counts_per_topic_and_drug(seeded: FlaskClient) -> None:
    rows = cells(seeded.get("/console/alerts").get_data(as_text=True)).rows
    assert rows[f"{CLOPIDOGREL_TOPIC}|clopidogrel"] == {
        "topic": CLOPIDOGREL_TOPIC,
        "kind": "guideline",
        "drug": "clopidogrel",
        "shown": "4",
        "accepted": "1",
        "overridden": "3",
        "override_rate": "75 %",
        "reason:action-performed-no-adverse-effect": "0",
        "reason:patient-contraindication": "2",
        "reason:risk-benefit-ratio": "1",
        "reason:cds-not-applicable": "0",
        "reason:other": "0",
    }
    ppi = rows[f"{PPI_TOPIC}|omeprazole"]
    assert (ppi["shown"], ppi["overridden"], ppi["override_rate"], ppi["reason:other"]) == (
        "2",
        "1",
        "50 %",
        "1",
    )


def test_highest_override_rate_first(seeded: FlaskClient) -> None:
    parsed = cells(seeded.get("/console/alerts").get_data(as_text=True))
    topics = [key for key in parsed.order if "|" in key]
    assert topics == [f"{CLOPIDOGREL_TOPIC}|clopidogrel", f"{PPI_TOPIC}|omeprazole"]


def test_rate_in_a_data_attribute(seeded: FlaskClient) -> None:
    html = seeded.get("/console/alerts").get_data(as_text=True)
    assert '<td data-field="override_rate" data-value="75" class="num">75 %</td>' in html


def test_day_series_counts_cards_by_the_day_shown(seeded: FlaskClient) -> None:
    today = datetime.now(UTC).date().isoformat()
    rows = cells(seeded.get("/console/alerts").get_data(as_text=True)).rows
    assert rows[today] == {"day": today, "shown": "6", "accepted": "1", "overridden": "4"}


def test_charts_are_inline_svg_with_their_numbers_and_no_script(seeded: FlaskClient) -> None:
    html = seeded.get("/console/alerts").get_data(as_text=True)
    assert html.count("<svg") == 2
    assert "<script" not in html
    rate_chart = html.split('data-chart="override-rate"')[1].split("</figure>")[0]
    assert ">75 %</text>" in rate_chart
    assert ">50 %</text>" in rate_chart
    assert f">{CLOPIDOGREL_TOPIC}</text>" in rate_chart
    # The highest rate is drawn at the top: its label has the smaller y.
    assert rate_chart.index(f">{PPI_TOPIC}</text>") < rate_chart.index(
        f">{CLOPIDOGREL_TOPIC}</text>"
    )
    day_chart = html.split('data-chart="per-day"')[1].split("</figure>")[0]
    for value in ("6", "1", "4"):
        assert f'class="value">{value}</text>' in day_chart


def test_totals(seeded: FlaskClient) -> None:
    html = seeded.get("/console/alerts").get_data(as_text=True)
    assert '<span data-total="shown">6</span>' in html
    assert '<span data-total="overridden">4</span>' in html


def test_csv_has_the_same_numbers(seeded: FlaskClient) -> None:
    response = seeded.get("/console/alerts.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["topic"], r["drug"]) for r in rows] == [
        (CLOPIDOGREL_TOPIC, "clopidogrel"),
        (PPI_TOPIC, "omeprazole"),
    ]
    assert rows[0] == {
        "topic": CLOPIDOGREL_TOPIC,
        "kind": "guideline",
        "drug": "clopidogrel",
        "shown": "4",
        "accepted": "1",
        "overridden": "3",
        "override_rate_percent": "75",
        "override_action-performed-no-adverse-effect": "0",
        "override_patient-contraindication": "2",
        "override_risk-benefit-ratio": "1",
        "override_cds-not-applicable": "0",
        "override_other": "0",
    }


def test_topic_filter(seeded: FlaskClient) -> None:
    parsed = cells(seeded.get(f"/console/alerts?topic={PPI_TOPIC}").get_data(as_text=True))
    assert [k for k in parsed.order if "|" in k] == [f"{PPI_TOPIC}|omeprazole"]
    csv_text = seeded.get(f"/console/alerts.csv?topic={PPI_TOPIC}").get_data(as_text=True)
    assert CLOPIDOGREL_TOPIC not in csv_text


def test_window_leaves_older_cards_out_and_fills_days_without_cards(
    console: FlaskClient, console_app: Flask
) -> None:
    now = datetime.now(UTC)
    store = state_of(console_app).feedback
    store.log_cards(
        [
            ShownCard(f"c{n}", SERVICE, CLOPIDOGREL_TOPIC, "clopidogrel", "warning", at)
            for n, at in enumerate([now, now - timedelta(days=2), now - timedelta(days=45)])
        ]
    )
    wide = cells(console.get("/console/alerts").get_data(as_text=True)).rows
    assert wide[f"{CLOPIDOGREL_TOPIC}|clopidogrel"]["shown"] == "2"
    days = [(now - timedelta(days=n)).date().isoformat() for n in (2, 1, 0)]
    assert [wide[d]["shown"] for d in days] == ["1", "0", "1"]
    narrow = cells(console.get("/console/alerts?days=1").get_data(as_text=True)).rows
    assert narrow[f"{CLOPIDOGREL_TOPIC}|clopidogrel"]["shown"] == "1"


def test_empty_window_says_so(console: FlaskClient) -> None:
    html = console.get("/console/alerts").get_data(as_text=True)
    assert 'data-empty="alerts"' in html
    assert "<svg" not in html


@pytest.mark.parametrize("days", ["0", "abc", "367", "-3"])
def test_bad_window_is_refused(console: FlaskClient, days: str) -> None:
    assert console.get(f"/console/alerts?days={days}").status_code == 400
    assert console.get(f"/console/alerts.csv?days={days}").status_code == 400


def test_navigation_links_the_page(console: FlaskClient) -> None:
    html = console.get("/console/alerts").get_data(as_text=True)
    assert '<a href="/console/alerts" aria-current="page">Alerts</a>' in html


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("cpic-clopidogrel", "guideline"),
        ("pretest:abacavir", "pretest"),
        ("biomarker:osimertinib:missing", "biomarker"),
        ("conflict:cpic-clopidogrel", "conflict"),
    ],
)
def test_topic_kind(topic: str, kind: str) -> None:
    assert topic_kind(topic) == kind


@pytest.mark.parametrize(("value", "text"), [(75.0, "75"), (200 / 3, "66.7"), (0.0, "0")])
def test_percent(value: float, text: str) -> None:
    assert percent(value) == text


def test_day_series_fills_gaps() -> None:
    series = day_series([DayCounts(date(2026, 3, 1), 2), DayCounts(date(2026, 3, 3), 1)])
    assert [(d.day.day, d.shown) for d in series] == [(1, 2), (2, 0), (3, 1)]
