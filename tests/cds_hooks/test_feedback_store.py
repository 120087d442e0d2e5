"""The feedback store: item validation, idempotency, UTC times, SQLite settings, portability.

Every storage test runs on SQLite and on a real PostgreSQL server (deploy/postgres/with-postgres.sh
starts one; without it those cases skip, or fail under PGX_CDS_REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import create_mock_engine, event, text
from sqlalchemy.dialects import postgresql

from cds_hooks.feedback_store import (
    FeedbackItem,
    FeedbackStore,
    RecordResult,
    dedup_key,
    metadata,
)

SERVICE_ID = "pgx-order-sign"
WHEN = "2021-12-11T10:05:31Z"


def accepted(
    card: str = "card-1", *suggestions: str, at: str = WHEN, **extra: Any
) -> dict[str, Any]:
    """A spec feedback item for a card whose suggestions the user accepted."""
    return {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion} for suggestion in suggestions or ("sugg-1",)],
        "outcomeTimestamp": at,
        **extra,
    }


def overridden(
    card: str = "card-2", code: str | None = None, comment: str | None = None, at: str = WHEN
) -> dict[str, Any]:
    """A spec feedback item for a card the user overrode, with an optional reason and comment."""
    item: dict[str, Any] = {"card": card, "outcome": "overridden", "outcomeTimestamp": at}
    reason: dict[str, Any] = {}
    if code is not None:
        reason["reason"] = {"system": "https://example.org/override-reasons", "code": code}
    if comment is not None:
        reason["userComment"] = comment
    if reason:
        item["overrideReason"] = reason
    return item


def item(raw: object) -> FeedbackItem:
    return FeedbackItem.model_validate(raw)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[FeedbackStore]:
    feedback_store = FeedbackStore(f"sqlite:///{tmp_path}/fb.sqlite3")
    yield feedback_store
    feedback_store.close()


# --- what a feedback item must look like -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("not an object", r"valid dictionary", id="not an object"),
        pytest.param({**accepted(), "card": ""}, r"card\n.*at least 1 character", id="empty card"),
        pytest.param(
            {k: v for k, v in accepted().items() if k != "card"}, r"card\n.*required", id="no card"
        ),
        pytest.param(
            {**accepted(), "outcome": "ignored"},
            r"outcome\n.*'accepted' or 'overridden'",
            id="unknown outcome",
        ),
        pytest.param(
            accepted(at="2021-12-11T10:05:31"),
            r"outcomeTimestamp\n.*timezone",
            id="naive timestamp",
        ),
        pytest.param(
            accepted(at="yesterday"), r"outcomeTimestamp\n.*datetime", id="not a timestamp"
        ),
        pytest.param(
            {**accepted(), "outcomeTimestamp": 1639217131},
            r"outcomeTimestamp\n.*RFC 3339",
            id="epoch seconds",
        ),
        pytest.param(
            {k: v for k, v in accepted().items() if k != "outcomeTimestamp"},
            r"outcomeTimestamp\n.*required",
            id="no timestamp",
        ),
        pytest.param(
            {k: v for k, v in accepted().items() if k != "acceptedSuggestions"},
            r"acceptedSuggestions\n.*required when outcome is 'accepted'",
            id="accepted without acceptedSuggestions",
        ),
        pytest.param(
            {**accepted(), "acceptedSuggestions": []},
            r"acceptedSuggestions\n.*required when outcome is 'accepted'",
            id="accepted with no suggestion",
        ),
        pytest.param(
            {**accepted(), "acceptedSuggestions": [{}]},
            r"acceptedSuggestions\.0\.id\n.*required",
            id="suggestion without id",
        ),
        pytest.param(
            {**overridden(), "overrideReason": "because"},
            r"overrideReason\n.*valid dictionary",
            id="reason not an object",
        ),
    ],
)
def test_invalid_item_is_rejected(raw: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        item(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(accepted(), id="accepted"),
        pytest.param(overridden(), id="overridden without reason"),
        pytest.param(overridden(code="d7ecf885", comment="not today"), id="overridden with reason"),
        pytest.param(
            {**overridden(), "overrideReason": {"reason": {"code": "x"}}},
            id="reason with only a code",
        ),
        pytest.param({**overridden(), "acceptedSuggestions": None}, id="null acceptedSuggestions"),
        pytest.param(accepted(futureField={"a": 1}), id="unknown key"),
    ],
)
def test_valid_item_is_accepted(raw: dict[str, Any]) -> None:
    assert item(raw).card == raw["card"]


def test_timestamp_is_kept_in_utc() -> None:
    parsed = item(accepted(at="2021-12-11T12:05:31+02:00"))

    assert parsed.outcome_timestamp == datetime(2021, 12, 11, 10, 5, 31, tzinfo=UTC)
    assert parsed.outcome_timestamp.utcoffset() == timedelta(0)


# --- the idempotency key ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(accepted("c", "s1", "s2"), accepted("c", "s2", "s1"), id="suggestion order"),
        pytest.param(accepted("c", "s1"), accepted("c", "s1", "s1"), id="repeated suggestion"),
        pytest.param(
            accepted(at="2021-12-11T10:05:31Z"),
            accepted(at="2021-12-11T11:05:31+01:00"),
            id="same instant, other offset",
        ),
        pytest.param(accepted(), accepted(futureField=True), id="unknown key"),
    ],
)
def test_same_feedback_gets_the_same_key(first: dict[str, Any], second: dict[str, Any]) -> None:
    assert dedup_key(SERVICE_ID, item(first)) == dedup_key(SERVICE_ID, item(second))


@pytest.mark.parametrize(
    ("first", "second", "other_service"),
    [
        pytest.param(accepted("c"), accepted("d"), SERVICE_ID, id="card"),
        pytest.param(
            accepted(at=WHEN), accepted(at="2021-12-11T10:05:32Z"), SERVICE_ID, id="timestamp"
        ),
        pytest.param(
            accepted("c", "s1"), accepted("c", "s1", "s2"), SERVICE_ID, id="suggestion set"
        ),
        pytest.param(
            overridden("c"), {**accepted("c"), "outcome": "overridden"}, SERVICE_ID, id="outcome"
        ),
        pytest.param(overridden(code="a"), overridden(code="b"), SERVICE_ID, id="reason code"),
        pytest.param(overridden(comment="a"), overridden(comment="b"), SERVICE_ID, id="comment"),
        pytest.param(accepted(), accepted(), "pgx-order-select", id="service"),
    ],
)
def test_different_feedback_gets_another_key(
    first: dict[str, Any], second: dict[str, Any], other_service: str
) -> None:
    assert dedup_key(SERVICE_ID, item(first)) != dedup_key(other_service, item(second))


# --- storing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(accepted(), id="accepted"),
        pytest.param(overridden(code="d7ecf885", comment="not today"), id="overridden"),
    ],
)
def test_resubmitted_item_is_stored_once(store: FeedbackStore, raw: dict[str, Any]) -> None:
    assert store.record(SERVICE_ID, [item(raw)]) == RecordResult(stored=1, duplicates=0)
    assert store.record(SERVICE_ID, [item(raw)]) == RecordResult(stored=0, duplicates=1)
    assert len(store.entries()) == 1


def test_repeat_inside_one_batch_is_a_duplicate(store: FeedbackStore) -> None:
    result = store.record(SERVICE_ID, [item(accepted()), item(overridden()), item(accepted())])

    assert result == RecordResult(stored=2, duplicates=1)
    assert [entry.card_uuid for entry in store.entries()] == ["card-1", "card-2"]


def test_stored_row_keeps_every_field(store: FeedbackStore) -> None:
    raw = overridden(
        "card-9", code="d7ecf885", comment="patient declined", at="2021-12-11T12:05:31+02:00"
    )
    raw["overrideReason"]["reason"]["display"] = "Patient declined"
    before = datetime.now(UTC)

    store.record(SERVICE_ID, [item(raw)])

    [entry] = store.entries()
    assert (entry.service_id, entry.card_uuid) == (SERVICE_ID, "card-9")
    assert entry.outcome == "overridden"
    assert entry.outcome_timestamp == datetime(2021, 12, 11, 10, 5, 31, tzinfo=UTC)
    assert entry.accepted_suggestions == ()
    assert (entry.override_system, entry.override_code, entry.override_display) == (
        "https://example.org/override-reasons",
        "d7ecf885",
        "Patient declined",
    )
    assert entry.user_comment == "patient declined"
    assert before <= entry.received_at <= datetime.now(UTC)
    assert entry.dedup_key == dedup_key(SERVICE_ID, item(raw))


def test_accepted_suggestions_are_stored_as_a_sorted_set(store: FeedbackStore) -> None:
    store.record(SERVICE_ID, [item(accepted("c", "s2", "s1", "s2"))])

    assert store.entries()[0].accepted_suggestions == ("s1", "s2")


def test_rows_outlive_the_store(url: str) -> None:
    first = FeedbackStore(url)
    first.record(SERVICE_ID, [item(accepted())])
    first.close()

    second = FeedbackStore(url)
    try:
        assert second.record(SERVICE_ID, [item(accepted())]) == RecordResult(0, 1)
        assert len(second.entries()) == 1
    finally:
        second.close()


def test_concurrent_writers_store_each_item_once(url: str) -> None:
    # Separate stores lock the file as separate gunicorn workers would.
    stores = [FeedbackStore(url) for _ in range(6)]
    batch = [item(accepted(f"card-{n}")) for n in range(20)]
    results: list[RecordResult] = []
    lock = threading.Lock()

    def submit(feedback_store: FeedbackStore) -> None:
        result = feedback_store.record(SERVICE_ID, batch)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=submit, args=(each,)) for each in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(result.stored for result in results) == len(batch)
        assert sum(result.duplicates for result in results) == len(batch) * (len(stores) - 1)
        assert len(stores[0].entries()) == len(batch)
    finally:
        for each in stores:
            each.close()


# --- connection settings and health ------------------------------------------------------------


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [
        pytest.param("journal_mode", "wal", id="WAL journal"),
        pytest.param("synchronous", 2, id="synchronous FULL"),
        pytest.param("busy_timeout", 15000, id="busy timeout"),
    ],
)
def test_sqlite_connections_are_durable(
    sqlite_store: FeedbackStore, pragma: str, expected: object
) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text(f"PRAGMA {pragma}")).scalar() == expected


@pytest.mark.parametrize(
    "database",
    [
        pytest.param("relative/dir/fb.sqlite3", id="relative"),
        pytest.param("{tmp}/absolute/dir/fb.sqlite3", id="absolute"),
    ],
)
def test_parent_directory_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path(database.format(tmp=tmp_path))

    FeedbackStore(f"sqlite:///{path}").close()

    assert (tmp_path / path).is_file()


def test_ping_answers_while_the_database_is_there(store: FeedbackStore) -> None:
    assert store.ping() is True


def test_ping_is_false_when_the_database_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    feedback_store = FeedbackStore(f"sqlite:///{path}")
    feedback_store.close()
    for leftover in tmp_path.glob("fb.sqlite3*"):
        leftover.unlink()
    # A directory where the file was: SQLite can neither open nor recreate it.
    path.mkdir()
    try:
        assert feedback_store.ping() is False
    finally:
        feedback_store.close()


def test_in_memory_database_works() -> None:
    feedback_store = FeedbackStore("sqlite://")
    try:
        assert feedback_store.record(SERVICE_ID, [item(accepted())]) == RecordResult(1, 0)
    finally:
        feedback_store.close()


# --- PostgreSQL: nothing SQLite-only in the schema or the statements ---------------------------


def test_schema_creates_on_postgresql() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    statements: list[str] = []
    engine = create_mock_engine(
        "postgresql+psycopg://",
        lambda sql, *_args, **_kwargs: statements.append(str(sql.compile(dialect=dialect))),
    )

    metadata.create_all(engine, checkfirst=False)

    # The same metadata holds the card log (tests/cds_hooks/test_card_log.py checks that one).
    [table, index] = [sql for sql in statements if " cds_feedback " in sql]
    assert "outcome_timestamp TIMESTAMP WITH TIME ZONE NOT NULL" in table
    assert "UNIQUE (dedup_key)" in table
    assert index.strip() == "CREATE INDEX ix_cds_feedback_card_uuid ON cds_feedback (card_uuid)"


def test_duplicates_are_settled_without_sqlite_only_sql(store: FeedbackStore) -> None:
    statements: list[str] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, sql, *_rest: statements.append(sql.upper()),
    )

    store.record(SERVICE_ID, [item(accepted()), item(accepted())])

    assert any(sql.startswith("SAVEPOINT") for sql in statements)
    assert not [sql for sql in statements if "OR IGNORE" in sql or "OR REPLACE" in sql]
