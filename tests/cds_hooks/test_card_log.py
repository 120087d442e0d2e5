"""The card log: batched off the hot path, bounded, no patient data; on SQLite and PostgreSQL.

The PostgreSQL cases are skipped unless PGX_CDS_TEST_POSTGRES_URL is set
(deploy/postgres/with-postgres.sh sets it), like tests/cds_hooks/test_feedback_store.py.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import create_mock_engine, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError

from cds_hooks.app import create_app
from cds_hooks.card_log import CardLog
from cds_hooks.config import Settings
from cds_hooks.feedback_store import FeedbackItem, FeedbackStore, ShownCard, card_log_table
from cds_hooks.state import EXTENSION_KEY, ServiceState
from knowledge import KnowledgeBase
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def shown(n: int, *, topic: str = "cpic-clopidogrel", at: datetime = NOW) -> ShownCard:
    return ShownCard(
        card_uuid=f"card-{topic}-{n}",
        service_id="pgx-order-sign",
        topic=topic,
        drug="clopidogrel",
        indicator="warning",
        shown_at=at,
    )


def wait_for_rows_matching(
    store: FeedbackStore, done: Callable[[list[ShownCard]], bool], timeout: float = 5.0
) -> list[ShownCard]:
    """The card log once ``done`` holds of it, or as it is when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = store.shown_cards()
        if done(rows):
            return rows
        time.sleep(0.02)
    return store.shown_cards()


def wait_for_rows(store: FeedbackStore, count: int, timeout: float = 5.0) -> list[ShownCard]:
    return wait_for_rows_matching(store, lambda rows: len(rows) >= count, timeout)


def test_flush_writes_every_queued_card(store: FeedbackStore) -> None:
    log = CardLog(store)
    cards = [shown(n) for n in range(3)]
    log.record(cards)
    log.flush()
    assert store.shown_cards() == cards
    assert log.dropped == 0


def test_flush_writes_in_batches(store: FeedbackStore) -> None:
    log = CardLog(store, batch_size=2, background=False)
    log.record([shown(n) for n in range(5)])
    log.flush()
    assert [c.card_uuid for c in store.shown_cards()] == [shown(n).card_uuid for n in range(5)]


def test_background_thread_writes_without_a_flush(store: FeedbackStore) -> None:
    log = CardLog(store, interval=0.05)
    log.record([shown(1)])
    assert wait_for_rows(store, 1) == [shown(1)]


def test_full_queue_drops_without_blocking_and_warns_once(
    store: FeedbackStore, caplog: pytest.LogCaptureFixture
) -> None:
    log = CardLog(store, capacity=3, background=False)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="cds_hooks.card_log"):
        log.record([shown(n) for n in range(10)])
        log.record([shown(10)])
    assert time.monotonic() - started < 0.5
    assert log.dropped == 8
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert len(caplog.records) == 1
    assert "full" in caplog.records[0].message
    log.flush()
    assert len(store.shown_cards()) == 3


class _BrokenStore(FeedbackStore):
    def log_cards(self, cards: Sequence[ShownCard]) -> None:
        raise OperationalError("INSERT", {}, Exception("database is down"))


def test_failed_write_is_counted_and_flush_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _BrokenStore(f"sqlite:///{tmp_path}/fb.sqlite3")
    log = CardLog(broken, background=False)
    log.record([shown(1), shown(2)])
    with caplog.at_level(logging.ERROR, logger="cds_hooks.card_log"):
        log.flush()
    assert log.dropped == 2
    assert "2 records not written" in caplog.text
    broken.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_starts_its_own_writer(store: FeedbackStore) -> None:
    log = CardLog(store, interval=0.05)
    log.record([shown(1)])
    log.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through the exit code
        ok = False
        try:
            log.record([shown(2)])
            ok = len(wait_for_rows(store, 2)) == 2
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [c.card_uuid for c in store.shown_cards()] == [shown(1).card_uuid, shown(2).card_uuid]


def test_alert_counts_per_topic_and_day(store: FeedbackStore) -> None:
    yesterday = NOW - timedelta(days=1)
    store.log_cards(
        [
            shown(1, at=yesterday),
            shown(2, at=yesterday),
            shown(3),
            shown(4, topic="pretest:clopidogrel"),
            # Too old for the window.
            shown(5, at=NOW - timedelta(days=40)),
        ]
    )
    store.record(
        "pgx-order-sign",
        [
            FeedbackItem.model_validate(
                {
                    "card": shown(n).card_uuid,
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-03-10T13:00:00Z",
                    "overrideReason": {"reason": {"code": code, "system": "x"}},
                }
            )
            for n, code in ((1, "risk-benefit-ratio"), (2, "risk-benefit-ratio"), (5, "x"))
        ]
        + [
            FeedbackItem.model_validate(
                {
                    "card": shown(3).card_uuid,
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": "s"}],
                    "outcomeTimestamp": "2026-03-10T13:00:00Z",
                }
            )
        ],
    )
    counts = store.alert_counts(NOW - timedelta(days=30))
    by_topic = {(t.topic, t.drug): t for t in counts.topics}
    clopidogrel = by_topic["cpic-clopidogrel", "clopidogrel"]
    assert (clopidogrel.shown, clopidogrel.accepted, clopidogrel.overridden) == (3, 1, 2)
    assert clopidogrel.override_codes == {"risk-benefit-ratio": 2}
    assert by_topic["pretest:clopidogrel", "clopidogrel"].shown == 1
    assert [(d.day, d.shown, d.accepted, d.overridden) for d in counts.days] == [
        (date(2026, 3, 9), 2, 0, 2),
        (date(2026, 3, 10), 2, 1, 0),
    ]
    only = store.alert_counts(NOW - timedelta(days=30), "pretest:clopidogrel")
    assert [t.topic for t in only.topics] == ["pretest:clopidogrel"]


def test_replayed_card_counts_once(store: FeedbackStore) -> None:
    store.log_cards([shown(1), shown(1)])
    counts = store.alert_counts(NOW - timedelta(days=1))
    assert [t.shown for t in counts.topics] == [1]
    assert [d.shown for d in counts.days] == [1]


@pytest.fixture
def logging_client(tmp_path: Path, kb: KnowledgeBase) -> Iterator[FlaskClient]:
    """A service that logs its cards (PGX_CDS_CARD_LOG=on; the console is off)."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/log.sqlite3", card_log=True), kb)
    yield app.test_client()
    app.extensions[EXTENSION_KEY].feedback.close()


@pytest.mark.parametrize(
    ("settings", "logged"),
    [
        ({}, False),
        ({"console": True}, True),
        ({"card_log": True}, True),
        ({"console": True, "card_log": False}, False),
    ],
    ids=["default", "with the console", "set on", "set off with the console"],
)
def test_the_card_log_follows_the_console_unless_set(
    settings: dict[str, bool], logged: bool
) -> None:
    assert Settings(**settings).card_log_enabled is logged


def test_hook_call_logs_the_card_but_not_the_patient(logging_client: FlaskClient) -> None:
    client = logging_client
    patient = "patient-7f3c-secret"
    body = hook_request(
        medication_request(patient=patient),
        patient=patient,
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2", patient=patient)),
    )
    response = client.post("/cds-services/pgx-order-sign", json=body)
    [card] = response.get_json()["cards"]
    state = client.application.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    state.card_log.flush()
    with state.feedback.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(card_log_table)).mappings()]
    assert len(rows) == 1
    row = rows[0]
    assert (row["card_uuid"], row["service_id"], row["topic"], row["drug"], row["indicator"]) == (
        card["uuid"],
        "pgx-order-sign",
        "cpic-clopidogrel",
        "clopidogrel",
        "warning",
    )
    stored = " ".join(str(value) for value in row.values())
    assert patient not in stored
    assert card["summary"] not in stored


def test_card_log_schema_creates_on_postgresql() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    statements: list[str] = []
    engine = create_mock_engine(
        "postgresql+psycopg://",
        lambda sql, *_args, **_kwargs: statements.append(str(sql.compile(dialect=dialect))),
    )

    card_log_table.create(engine, checkfirst=False)

    [table, *indexes] = statements
    assert "shown_at TIMESTAMP WITH TIME ZONE NOT NULL" in table
    assert sorted(index.strip() for index in indexes) == [
        f"CREATE INDEX ix_cds_card_log_{column} ON cds_card_log ({column})"
        for column in ("card_uuid", "shown_at", "topic")
    ]


def test_prune_deletes_only_rows_older_than_the_retention(store: FeedbackStore) -> None:
    now = datetime.now(UTC)
    old, recent = shown(1, at=now - timedelta(days=401)), shown(2, at=now - timedelta(days=399))
    store.log_cards([old, recent])

    pruned = CardLog(store, retention=timedelta(days=400), background=False).prune()

    assert pruned == 1
    assert store.shown_cards() == [recent]


def test_without_a_retention_every_row_is_kept(store: FeedbackStore) -> None:
    ancient = shown(1, at=datetime(2001, 1, 1, tzinfo=UTC))
    store.log_cards([ancient])

    assert CardLog(store, retention=None, background=False).prune() == 0
    assert store.shown_cards() == [ancient]


def test_the_writer_prunes_at_its_first_wake_then_waits_for_the_interval(
    store: FeedbackStore,
) -> None:
    now = datetime.now(UTC)
    store.log_cards([shown(1, at=now - timedelta(days=2))])
    log = CardLog(store, interval=0.02, retention=timedelta(days=1), prune_interval=3600)

    log.record([shown(2, at=now)])
    rows = wait_for_rows_matching(
        store, lambda rows: [r.card_uuid for r in rows] == [shown(2).card_uuid]
    )
    assert [r.card_uuid for r in rows] == [shown(2).card_uuid]

    # Within the prune interval, an old row written now stays until the next prune.
    store.log_cards([shown(3, at=now - timedelta(days=2))])
    log.record([shown(4, at=now)])
    rows = wait_for_rows(store, 3)
    assert {r.card_uuid for r in rows} == {shown(n).card_uuid for n in (2, 3, 4)}


def test_a_failed_prune_is_logged_and_the_log_goes_on(
    store: FeedbackStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(before: datetime) -> int:
        raise OperationalError("DELETE", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "prune_card_log", broken)
    log = CardLog(store, retention=timedelta(days=1), background=False)

    with caplog.at_level(logging.ERROR, logger="cds_hooks.card_log"):
        assert log.prune() == 0
    log.record([shown(1)])
    log.flush()

    assert "not deleted" in caplog.text
    assert store.shown_cards() == [shown(1)]


def test_the_service_keeps_400_days_unless_told_otherwise(tmp_path: Path) -> None:
    assert Settings().card_log_retention == timedelta(days=400)
    assert Settings(card_log_retention_days=30).card_log_retention == timedelta(days=30)
    assert Settings(card_log_retention_days=0).card_log_retention is None


def test_the_app_prunes_with_the_configured_retention(
    tmp_path: Path, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGX_CDS_CARD_LOG_RETENTION_DAYS", "7")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/f.sqlite3", card_log=True), kb)
    state = app.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    now = datetime.now(UTC)
    state.feedback.log_cards([shown(1, at=now - timedelta(days=8)), shown(2, at=now)])

    assert state.card_log.prune() == 1
    assert [r.card_uuid for r in state.feedback.shown_cards()] == [shown(2).card_uuid]
    state.feedback.close()


def card_log_counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value("pgx_cds_card_log_records_total", {"outcome": outcome})
    return value or 0.0


def test_every_record_is_counted_by_what_became_of_it(
    store: FeedbackStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {o: card_log_counted(o) for o in ("written", "dropped", "failed", "pruned")}
    now = datetime.now(UTC)
    log = CardLog(store, capacity=3, background=False, retention=timedelta(days=1))
    store.log_cards([shown(0, at=now - timedelta(days=2))])

    log.record([shown(n, at=now) for n in range(1, 6)])  # three fit, two are dropped
    log.flush()
    log.prune()

    def refused(cards: Sequence[ShownCard]) -> None:
        raise OSError("the database is down")

    monkeypatch.setattr(store, "log_cards", refused)
    log.record([shown(9, at=now)])
    log.flush()

    after = {o: card_log_counted(o) - before[o] for o in before}
    assert after == {"written": 3, "dropped": 2, "failed": 1, "pruned": 1}
