"""Durable, idempotent storage of CDS Hooks feedback, and the log of cards shown (SQLAlchemy)."""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = [
    "AcceptedSuggestion",
    "AlertCounts",
    "Coding",
    "DayCounts",
    "FeedbackItem",
    "FeedbackStore",
    "OverrideReason",
    "RecordResult",
    "ShownCard",
    "StoredFeedback",
    "TopicCounts",
    "card_log_table",
    "dedup_key",
    "feedback_table",
    "metadata",
]

# Several gunicorn workers write the same SQLite file; a writer waits this long for the lock.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Bumped if the fields that make up the idempotency key ever change, so old keys stay distinct.
DEDUP_KEY_VERSION = 1
# VARCHAR lengths, checked on input too: PostgreSQL rejects longer values instead of truncating.
ID_LENGTH = 255


class Coding(BaseModel):
    """A FHIR Coding in ``overrideReason.reason``; the sandbox sends only code and system."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    system: str | None = None
    code: str | None = None
    display: str | None = None


class OverrideReason(BaseModel):
    """Why the user overrode a card: a coded reason and/or a free-text comment."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    reason: Coding | None = None
    user_comment: str | None = Field(default=None, alias="userComment")


class AcceptedSuggestion(BaseModel):
    """One ``acceptedSuggestions`` entry: the uuid of a suggestion the user accepted."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=ID_LENGTH)


class FeedbackItem(BaseModel):
    """One element of the ``feedback`` array of a CDS Hooks 2.0 feedback request."""

    # Unknown keys are ignored: later spec versions may add fields to feedback items.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    card: str = Field(min_length=1, max_length=ID_LENGTH)
    outcome: Literal["accepted", "overridden"]
    outcome_timestamp: AwareDatetime = Field(alias="outcomeTimestamp")
    accepted_suggestions: tuple[AcceptedSuggestion, ...] = Field(
        default=(), alias="acceptedSuggestions"
    )
    override_reason: OverrideReason | None = Field(default=None, alias="overrideReason")

    @model_validator(mode="before")
    @classmethod
    def _suggestions_always_checked(cls, data: object) -> object:
        # An absent key would skip the field's validator (or, with validate_default, report the
        # Python name); an explicit null sends it through the check, located at its JSON name.
        names = {"acceptedSuggestions", "accepted_suggestions"}
        if isinstance(data, dict) and not names & data.keys():
            return {**data, "acceptedSuggestions": None}
        return data

    @field_validator("outcome_timestamp", mode="before")
    @classmethod
    def _timestamp_is_text(cls, value: object) -> object:
        # Lax mode would take a number as epoch seconds; the spec asks for an RFC 3339 string.
        if not isinstance(value, str | datetime):
            raise PydanticCustomError("datetime_type", "must be an RFC 3339 date-time string")
        return value

    @field_validator("outcome_timestamp")
    @classmethod
    def _timestamp_in_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # 0001-01-01T00:00:00+01:00 is valid RFC 3339 but before year 1 in UTC (was a 500).
            raise PydanticCustomError(
                "datetime_range", "is out of the range of dates that can be stored"
            ) from None

    @field_validator("accepted_suggestions", mode="before")
    @classmethod
    def _accepted_needs_suggestions(cls, value: object, info: ValidationInfo) -> object:
        empty = value is None or (isinstance(value, list | tuple) and not value)
        if empty and info.data.get("outcome") == "accepted":
            raise PydanticCustomError(
                "accepted_without_suggestions", "required when outcome is 'accepted'"
            )
        return () if value is None else value


@dataclass(frozen=True)
class RecordResult:
    """How many items of one feedback call were new and how many had been stored before."""

    stored: int
    duplicates: int
    # The items stored by this call (not seen before), in the order given; for the metrics.
    new_items: tuple[FeedbackItem, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class StoredFeedback:
    """One stored feedback row, as read back from the database."""

    id: int
    service_id: str
    card_uuid: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...]
    override_system: str | None
    override_code: str | None
    override_display: str | None
    user_comment: str | None
    received_at: datetime
    dedup_key: str


@dataclass(frozen=True)
class ShownCard:
    """One card returned to the EHR: what it was about, never whom (no patient, no card text)."""

    card_uuid: str
    service_id: str
    # guideline id, pretest:<drug>, biomarker:<drug>:<outcome>, conflict:<guideline id>, ...
    topic: str
    drug: str
    indicator: str
    shown_at: datetime


@dataclass
class TopicCounts:
    """Cards of one topic and drug shown in a window, and what users did with them."""

    topic: str
    drug: str
    shown: int = 0
    accepted: int = 0
    overridden: int = 0
    # Overridden cards by override reason code (None: no coded reason).
    override_codes: dict[str | None, int] = field(default_factory=dict)


@dataclass
class DayCounts:
    """Cards shown on one UTC day, and how many of those were later accepted or overridden."""

    day: date
    shown: int = 0
    accepted: int = 0
    overridden: int = 0


@dataclass(frozen=True)
class AlertCounts:
    """The alert analytics of a window: per topic and drug, and per day."""

    topics: tuple[TopicCounts, ...]
    days: tuple[DayCounts, ...]


class _UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend; SQLite keeps no offset, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; the feedback store keeps UTC only")
        utc = value.astimezone(UTC)
        # SQLite's DATETIME text has no offset: naive UTC there keeps rows comparable and sortable.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

feedback_table = Table(
    "cds_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(ID_LENGTH), nullable=False),
    Column("card_uuid", String(ID_LENGTH), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("outcome_timestamp", _UTCDateTime(), nullable=False),
    # JSON text rather than a JSON column: readable by plain SQL on every backend.
    Column("accepted_suggestions", Text, nullable=False),
    Column("override_system", Text, nullable=True),
    Column("override_code", Text, nullable=True),
    Column("override_display", Text, nullable=True),
    Column("user_comment", Text, nullable=True),
    Column("received_at", _UTCDateTime(), nullable=False),
    Column("dedup_key", String(64), nullable=False, unique=True),
)

# What each card shown was about, so feedback (which names only the card uuid) can be counted per
# guideline and drug. A uuid repeats when an EHR replays a hook call: counts take distinct uuids.
card_log_table = Table(
    "cds_card_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(ID_LENGTH), nullable=False, index=True),
    Column("service_id", String(ID_LENGTH), nullable=False),
    Column("topic", String(ID_LENGTH), nullable=False, index=True),
    Column("drug", String(ID_LENGTH), nullable=False),
    Column("indicator", String(16), nullable=False),
    Column("shown_at", _UTCDateTime(), nullable=False, index=True),
)


def _suggestion_ids(item: FeedbackItem) -> list[str]:
    # A set in the key and in the row: order and repeats carry no meaning in the spec.
    return sorted({suggestion.id for suggestion in item.accepted_suggestions})


def dedup_key(service_id: str, item: FeedbackItem) -> str:
    """The idempotency key: sha256 of the canonical JSON of what makes one feedback item."""
    reason = item.override_reason
    coding = reason.reason if reason else None
    canonical = {
        "v": DEDUP_KEY_VERSION,
        "service": service_id,
        "card": item.card,
        "outcome": item.outcome,
        "outcomeTimestamp": item.outcome_timestamp.astimezone(UTC).isoformat(
            timespec="microseconds"
        ),
        "acceptedSuggestions": _suggestion_ids(item),
        "overrideReason": {
            "system": coding.system if coding else None,
            "code": coding.code if coding else None,
            "display": coding.display if coding else None,
            "userComment": reason.user_comment if reason else None,
        },
    }
    text_form = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text_form.encode("utf-8")).hexdigest()


def _row(service_id: str, item: FeedbackItem, received_at: datetime) -> dict[str, Any]:
    reason = item.override_reason
    coding = reason.reason if reason else None
    return {
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "outcome_timestamp": item.outcome_timestamp,
        "accepted_suggestions": json.dumps(_suggestion_ids(item)),
        "override_system": coding.system if coding else None,
        "override_code": coding.code if coding else None,
        "override_display": coding.display if coding else None,
        "user_comment": reason.user_comment if reason else None,
        "received_at": received_at,
        "dedup_key": dedup_key(service_id, item),
    }


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the sqlite3 module: its legacy mode breaks SAVEPOINT semantics.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL itself needs the lock another worker may hold.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # FULL fsyncs the WAL at each commit: a row behind a 200 survives SIGKILL or power loss.
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so the busy timeout applies instead of a
        # SQLITE_BUSY when a reading transaction later tries to write.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _dispose_in_child(engine_ref: weakref.ref[Engine]) -> None:
    engine = engine_ref()
    if engine is not None:
        # A pooled connection inherited through fork (gunicorn --preload) must not be reused.
        engine.dispose(close=False)


class FeedbackStore:
    """Feedback rows in one table of any SQLAlchemy database; safe for several worker processes."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._is_sqlite = parsed.get_backend_name() == "sqlite"
        if self._is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self._engine = create_engine(url, pool_pre_ping=not self._is_sqlite)
        if self._is_sqlite:
            _configure_sqlite(self._engine)
        os.register_at_fork(after_in_child=partial(_dispose_in_child, weakref.ref(self._engine)))
        self._create_tables()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for operators' scripts and tests of the connection settings."""
        return self._engine

    def _create_tables(self) -> None:
        # Workers start together: on PostgreSQL two CREATE TABLEs can race, and the loser's
        # error is harmless once the table exists, so a second look settles it.
        for attempt in (1, 2):
            try:
                with self._write() as conn:
                    metadata.create_all(conn)
                return
            except (OperationalError, ProgrammingError, IntegrityError):
                if attempt == 2:
                    raise

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed when the block ends without error."""
        with self._engine.connect() as conn:
            if self._is_sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def record(self, service_id: str, items: Sequence[FeedbackItem]) -> RecordResult:
        """Store the items not seen before, in one transaction committed before returning."""
        received_at = datetime.now(UTC)
        stored = duplicates = 0
        new_items: list[FeedbackItem] = []
        with self._write() as conn:
            for item in items:
                row = _row(service_id, item, received_at)
                try:
                    # One SAVEPOINT per row: a duplicate rolls back only itself, on every backend.
                    with conn.begin_nested():
                        conn.execute(insert(feedback_table).values(**row))
                except IntegrityError:
                    already = conn.scalar(
                        select(exists().where(feedback_table.c.dedup_key == row["dedup_key"]))
                    )
                    if not already:
                        raise
                    duplicates += 1
                else:
                    stored += 1
                    new_items.append(item)
        return RecordResult(stored=stored, duplicates=duplicates, new_items=tuple(new_items))

    def entries(self) -> list[StoredFeedback]:
        """Every stored row, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(feedback_table).order_by(feedback_table.c.id)).mappings()
            return [
                StoredFeedback(
                    id=row["id"],
                    service_id=row["service_id"],
                    card_uuid=row["card_uuid"],
                    outcome=row["outcome"],
                    outcome_timestamp=row["outcome_timestamp"],
                    accepted_suggestions=tuple(json.loads(row["accepted_suggestions"])),
                    override_system=row["override_system"],
                    override_code=row["override_code"],
                    override_display=row["override_display"],
                    user_comment=row["user_comment"],
                    received_at=row["received_at"],
                    dedup_key=row["dedup_key"],
                )
                for row in rows
            ]

    def log_cards(self, cards: Sequence[ShownCard]) -> None:
        """Append cards to the card log in one transaction (one multi-row INSERT)."""
        if not cards:
            return
        rows = [
            {
                "card_uuid": card.card_uuid[:ID_LENGTH],
                "service_id": card.service_id[:ID_LENGTH],
                "topic": card.topic[:ID_LENGTH],
                "drug": card.drug[:ID_LENGTH],
                "indicator": card.indicator[:16],
                "shown_at": card.shown_at,
            }
            for card in cards
        ]
        with self._write() as conn:
            conn.execute(insert(card_log_table), rows)

    def prune_card_log(self, before: datetime) -> int:
        """Delete the card log's rows shown before ``before``; how many went."""
        with self._write() as conn:
            result = conn.execute(delete(card_log_table).where(card_log_table.c.shown_at < before))
            return result.rowcount or 0

    def shown_cards(self) -> list[ShownCard]:
        """Every card in the card log, oldest first."""
        log = card_log_table.c
        with self._engine.connect() as conn:
            rows = conn.execute(select(card_log_table).order_by(log.id)).mappings()
            return [
                ShownCard(
                    card_uuid=row["card_uuid"],
                    service_id=row["service_id"],
                    topic=row["topic"],
                    drug=row["drug"],
                    indicator=row["indicator"],
                    shown_at=row["shown_at"],
                )
                for row in rows
            ]

    def alert_counts(self, since: datetime, topic: str | None = None) -> AlertCounts:
        """Cards shown since ``since`` (optionally of one topic) and their feedback, counted.

        A card counts once per outcome however many feedback items name it; a card is dated by
        when it was shown, so a day's overrides are those of the cards shown that day.
        """
        log, fb = card_log_table.c, feedback_table.c
        cards = func.count(log.card_uuid.distinct())
        day = self._day(log.shown_at).label("day")
        joined = card_log_table.join(
            feedback_table, (fb.card_uuid == log.card_uuid) & (fb.service_id == log.service_id)
        )
        where = [log.shown_at >= since]
        if topic is not None:
            where.append(log.topic == topic)
        topics: dict[tuple[str, str], TopicCounts] = {}
        days: dict[date, DayCounts] = {}
        with self._engine.connect() as conn:
            for name, drug, count in conn.execute(
                select(log.topic, log.drug, cards).where(*where).group_by(log.topic, log.drug)
            ):
                topics[name, drug] = TopicCounts(topic=name, drug=drug, shown=count)
            for name, drug, outcome, count in conn.execute(
                select(log.topic, log.drug, fb.outcome, cards)
                .select_from(joined)
                .where(*where)
                .group_by(log.topic, log.drug, fb.outcome)
            ):
                setattr(topics[name, drug], outcome, count)
            for name, drug, code, count in conn.execute(
                select(log.topic, log.drug, fb.override_code, cards)
                .select_from(joined)
                .where(*where, fb.outcome == "overridden")
                .group_by(log.topic, log.drug, fb.override_code)
            ):
                topics[name, drug].override_codes[code] = count
            for text_day, count in conn.execute(select(day, cards).where(*where).group_by(day)):
                when = date.fromisoformat(text_day)
                days[when] = DayCounts(day=when, shown=count)
            for text_day, outcome, count in conn.execute(
                select(day, fb.outcome, cards)
                .select_from(joined)
                .where(*where)
                .group_by(day, fb.outcome)
            ):
                setattr(days[date.fromisoformat(text_day)], outcome, count)
        return AlertCounts(topics=tuple(topics.values()), days=tuple(days[d] for d in sorted(days)))

    def _day(self, column: ColumnElement[datetime]) -> ColumnElement[str]:
        """The UTC day of a stored datetime as ``YYYY-MM-DD`` text, on SQLite or PostgreSQL."""
        if self._is_sqlite:
            # Stored as naive UTC text there (see _UTCDateTime).
            return func.date(column, type_=String)
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD", type_=String)

    def ping(self) -> bool:
        """True when the database answers ``SELECT 1`` (the readiness probe)."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()
