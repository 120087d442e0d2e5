"""``POST /cds-services/{id}/feedback``: spec examples stored once, bad bodies located, atomic."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.feedback_store import FeedbackStore
from cds_hooks.services import SERVICES
from cds_hooks.state import EXTENSION_KEY, ServiceState

SPEC_DIR = Path(__file__).parents[1] / "data" / "cds-hooks-spec"
SPEC_EXAMPLES = sorted(SPEC_DIR.glob("feedback-*.json"))
SERVICE_ID = next(iter(SERVICES))
URL = f"/cds-services/{SERVICE_ID}/feedback"
WHEN = "2021-12-11T10:05:31Z"


def accepted(card: str = "card-1", suggestion: str = "sugg-1", **fields: Any) -> dict[str, Any]:
    """A spec feedback item for a card whose suggestion the user accepted."""
    return {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": WHEN,
        **fields,
    }


def overridden(card: str = "card-2", comment: str | None = None) -> dict[str, Any]:
    """A spec feedback item for a card the user overrode, as the public sandbox sends it."""
    reason: dict[str, Any] = {"reason": {"code": "d7ecf885", "system": "https://example.org/r"}}
    if comment is not None:
        reason["userComment"] = comment
    return {
        "card": card,
        "outcome": "overridden",
        "overrideReason": reason,
        "outcomeTimestamp": WHEN,
    }


def without(item: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != key}


# `app` and `client` come from tests/conftest.py.
@pytest.fixture
def store(app: Flask) -> FeedbackStore:
    state = app.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    return state.feedback


def test_spec_examples_are_present() -> None:
    # Without them the parametrized test below would silently test nothing.
    assert SPEC_EXAMPLES


@pytest.mark.parametrize("example", SPEC_EXAMPLES, ids=lambda path: path.stem)
def test_spec_example_is_stored_once(
    client: FlaskClient, store: FeedbackStore, example: Path
) -> None:
    body = json.loads(example.read_text())

    first = client.post(URL, json=body)
    again = client.post(URL, json=body)

    assert (first.status_code, first.json) == (200, {"stored": 1, "duplicates": 0})
    assert (again.status_code, again.json) == (200, {"stored": 0, "duplicates": 1})
    assert [entry.card_uuid for entry in store.entries()] == [body["feedback"][0]["card"]]


def test_batch_reports_new_and_repeated_items(client: FlaskClient, store: FeedbackStore) -> None:
    client.post(URL, json={"feedback": [accepted("card-1")]})

    response = client.post(URL, json={"feedback": [accepted("card-1"), overridden("card-2")]})

    assert response.json == {"stored": 1, "duplicates": 1}
    assert [entry.card_uuid for entry in store.entries()] == ["card-1", "card-2"]


def test_empty_feedback_array_stores_nothing(client: FlaskClient) -> None:
    response = client.post(URL, json={"feedback": []})

    assert (response.status_code, response.json) == (200, {"stored": 0, "duplicates": 0})


def test_unknown_fields_are_tolerated(client: FlaskClient) -> None:
    body = {"feedback": [accepted(futureField="x")], "extension": {"a": 1}}

    assert client.post(URL, json=body).json == {"stored": 1, "duplicates": 0}


@pytest.mark.parametrize(
    ("feedback", "expression", "message"),
    [
        pytest.param(
            [without(accepted(), "acceptedSuggestions")],
            "feedback[0].acceptedSuggestions",
            r"^feedback\[0\]\.acceptedSuggestions: required when outcome is 'accepted'\. ",
            id="accepted without acceptedSuggestions",
        ),
        pytest.param(
            [accepted(outcome="ignored")],
            "feedback[0].outcome",
            r"^feedback\[0\]\.outcome: Input should be 'accepted' or 'overridden'\. "
            r"Use accepted or overridden\.$",
            id="bad outcome",
        ),
        pytest.param(
            [accepted(outcomeTimestamp="2021-12-11T10:05:31")],
            "feedback[0].outcomeTimestamp",
            r"timezone.*e\.g\. 2021-12-11T10:05:31Z",
            id="naive timestamp",
        ),
        pytest.param(
            [accepted(outcomeTimestamp="0001-01-01T00:00:00+01:00")],
            "feedback[0].outcomeTimestamp",
            r"^feedback\[0\]\.outcomeTimestamp: is out of the range of dates that can be stored",
            id="timestamp before year 1 in UTC",
        ),
        pytest.param(
            [without(accepted(), "card")],
            "feedback[0].card",
            r"^feedback\[0\]\.card is required\. Send the uuid of the card",
            id="no card",
        ),
        pytest.param(
            [accepted(), accepted(outcome=None)],
            "feedback[1].outcome",
            r"^feedback\[1\]\.outcome: ",
            id="second item",
        ),
        pytest.param(
            [accepted(acceptedSuggestions=[{"uuid": "x"}])],
            "feedback[0].acceptedSuggestions[0].id",
            r"^feedback\[0\]\.acceptedSuggestions\[0\]\.id is required",
            id="no id",
        ),
        pytest.param(
            ["card-1"],
            "feedback[0]",
            r"^feedback\[0\] must be a JSON object",
            id="item not an object",
        ),
        pytest.param(
            {"card": "card-1"},
            "feedback",
            r"^feedback must be an array",
            id="feedback not an array",
        ),
        pytest.param(
            [{**overridden(), "overrideReason": {"reason": "x"}}],
            "feedback[0].overrideReason.reason",
            r"^feedback\[0\]\.overrideReason\.reason must be a JSON object\. "
            r"Send a FHIR Coding",
            id="reason not a Coding",
        ),
    ],
)
def test_invalid_feedback_is_located(
    client: FlaskClient, store: FeedbackStore, feedback: object, expression: str, message: str
) -> None:
    response = client.post(URL, json={"feedback": feedback})

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["expression"] == expression
    assert re.search(message, response.json["error"]), response.json["error"]
    assert store.entries() == []


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        pytest.param("{not json", "application/json", "must be a JSON object", id="not JSON"),
        pytest.param(
            json.dumps({"feedback": []}),
            "text/plain",
            "Content-Type: application/json",
            id="no JSON content type",
        ),
        pytest.param("[]", "application/json", "must be a JSON object", id="array body"),
        pytest.param("{}", "application/json", "feedback is required", id="no feedback key"),
    ],
)
def test_unreadable_body_is_rejected(
    client: FlaskClient, data: str, content_type: str, message: str
) -> None:
    response = client.post(URL, data=data, content_type=content_type)

    assert response.status_code == 400
    assert response.json is not None
    assert re.search(message, response.json["error"]), response.json["error"]


def test_every_problem_is_listed_and_nothing_is_stored(
    client: FlaskClient, store: FeedbackStore
) -> None:
    body = {"feedback": [accepted("good"), accepted(outcome="x"), without(overridden(), "card")]}

    response = client.post(URL, json=body)

    assert response.status_code == 400
    assert response.json is not None
    assert [detail["expression"] for detail in response.json["details"]] == [
        "feedback[1].outcome",
        "feedback[2].card",
    ]
    assert response.json["expression"] == "feedback[1].outcome"
    assert response.json["error"].endswith("(1 more problem(s) listed in details)")
    assert store.entries() == []


def test_unknown_service_is_404(client: FlaskClient, store: FeedbackStore) -> None:
    response = client.post("/cds-services/no-such-service/feedback", json={"feedback": []})

    assert response.status_code == 404
    assert response.json == {"error": "no CDS service 'no-such-service'"}
    assert store.entries() == []


def test_one_log_line_without_comments(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cds_hooks.feedback")
    body = {"feedback": [overridden(comment="Mrs Smith refuses"), overridden(comment="x")]}

    client.post(URL, json=body)

    [record] = [r for r in caplog.records if r.name == "cds_hooks.feedback"]
    fields = {
        name: getattr(record, name)
        for name in ("service_id", "feedback_items", "stored", "duplicates")
    }
    assert fields == {"service_id": SERVICE_ID, "feedback_items": 2, "stored": 2, "duplicates": 0}
    assert "Mrs Smith" not in json.dumps(vars(record), default=str)


def test_a_store_that_is_down_is_a_503_to_retry_not_a_500(
    client: FlaskClient, tmp_path: Path
) -> None:
    down = FeedbackStore(f"sqlite:///{tmp_path}/down.sqlite3")
    (tmp_path / "down.sqlite3").unlink()
    (tmp_path / "down.sqlite3").mkdir()  # a folder where the database file was: unopenable
    down.close()
    client.application.extensions[EXTENSION_KEY].feedback = down

    response = client.post(URL, json={"feedback": [accepted()]})

    assert response.status_code == 503
    assert response.get_json() == {
        "error": "the feedback store is unavailable; send the feedback again"
    }
