"""The service's own log of the cards it showed, written in batches by a background thread.

A hook call only puts records on a bounded in-memory queue: the database is never waited on in
the hot path. A daemon thread wakes every ``interval`` seconds and writes what is queued, in
batches of at most ``batch_size`` records (each write holds the GIL a few milliseconds);
a full queue drops records (counted, logged once) rather than slow the EHR down. Records hold
what a card was about (topic, drug, indicator), never the patient nor the card's text. With a
retention, the same thread deletes rows older than it: at its first wake, then hourly.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from cds_hooks.feedback_store import FeedbackStore, ShownCard
from cds_hooks.metrics import record_card_log

if TYPE_CHECKING:
    from cds_hooks.state import ServiceState

__all__ = ["CardLog", "log_shown_cards"]

log = logging.getLogger(__name__)

QUEUE_CAPACITY = 50_000
BATCH_SIZE = 200
FLUSH_INTERVAL = 1.0
PRUNE_INTERVAL = 3600.0


class CardLog:
    """A bounded queue of shown cards and the daemon thread that writes it to the store."""

    def __init__(
        self,
        store: FeedbackStore,
        *,
        capacity: int = QUEUE_CAPACITY,
        batch_size: int = BATCH_SIZE,
        interval: float = FLUSH_INTERVAL,
        background: bool = True,
        retention: timedelta | None = None,
        prune_interval: float = PRUNE_INTERVAL,
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval = interval
        self._background = background
        self._retention = retention
        self._prune_interval = prune_interval
        self._reset()
        this = weakref.ref(self)
        # A forked worker (gunicorn --preload) inherits the queue and its locks but no thread; the
        # parent writes what was queued before the fork, so the child starts empty.
        os.register_at_fork(after_in_child=partial(_reset_in_child, this))
        atexit.register(_flush_at_exit, this)

    def _reset(self) -> None:
        self._queue: queue.Queue[ShownCard] = queue.Queue(self._capacity)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._dropped = 0
        self._warned = False
        self._next_prune = time.monotonic()

    @property
    def dropped(self) -> int:
        """Records lost to a full queue or a failed write since this process started."""
        return self._dropped

    def record(self, cards: Sequence[ShownCard]) -> None:
        """Queue cards for writing; never blocks, drops what does not fit."""
        if self._background and self._thread is None:
            self._start()
        for card in cards:
            try:
                self._queue.put_nowait(card)
            except queue.Full:
                self._drop(1, "the card log queue is full")

    def flush(self) -> None:
        """Write everything queued so far, including a batch the thread is writing, then return."""
        while True:
            batch = _drain(self._queue, self._batch_size)
            if not batch:
                break
            self._write(batch)
        # Waits for the batch the background thread may have taken but not yet written.
        self._queue.join()

    def prune(self) -> int:
        """Delete rows older than the retention (none without one); how many went."""
        if self._retention is None:
            return 0
        cutoff = datetime.now(UTC) - self._retention
        try:
            pruned = self._store.prune_card_log(cutoff)
        except Exception:
            # Retention is housekeeping: a failed DELETE is retried at the next prune.
            log.exception("card log: rows shown before %s not deleted", cutoff.isoformat())
            return 0
        record_card_log("pruned", pruned)
        if pruned:
            log.info(
                "card log: %d rows shown before %s deleted",
                pruned,
                cutoff.isoformat(),
                extra={"event": "card_log_pruned"},
            )
        return pruned

    def _prune_when_due(self) -> None:
        # Every writing process prunes (gunicorn workers, replicas): the DELETE is idempotent.
        if self._retention is not None and time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self._prune_interval
            self.prune()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            # The thread holds only a weak reference: an app dropped by its owner (tests build
            # hundreds) lets its writer end instead of waking every second forever.
            self._thread = threading.Thread(
                target=_run,
                args=(weakref.ref(self), self._queue, self._batch_size, self._interval),
                name="pgx-card-log",
                daemon=True,
            )
            self._thread.start()

    def _write(self, batch: list[ShownCard]) -> None:
        try:
            self._store.log_cards(batch)
        except Exception:
            # The log serves analytics only: a database outage loses records, not hook calls.
            log.exception("card log: %d records not written", len(batch))
            self._dropped += len(batch)
            record_card_log("failed", len(batch))
        else:
            record_card_log("written", len(batch))
        finally:
            for _ in batch:
                self._queue.task_done()

    def _drop(self, count: int, why: str) -> None:
        self._dropped += count
        record_card_log("dropped", count)
        if not self._warned:
            self._warned = True
            log.warning(
                "%s (%d records); records are being dropped, counted in CardLog.dropped",
                why,
                self._capacity,
                extra={"event": "card_log_dropped"},
            )


def _drain(cards: queue.Queue[ShownCard], limit: int) -> list[ShownCard]:
    batch: list[ShownCard] = []
    while len(batch) < limit:
        try:
            batch.append(cards.get_nowait())
        except queue.Empty:
            break
    return batch


def _run(
    ref: weakref.ref[CardLog], cards: queue.Queue[ShownCard], limit: int, interval: float
) -> None:
    # Wakes once per interval and writes everything queued: a writer woken for every card
    # (Queue.get) made the request threads and this one trade the GIL at every hook call,
    # which cost more CPU than the inserts themselves (~0.4 ms per call under gunicorn).
    while True:
        time.sleep(interval)
        owner = ref()
        if owner is None:
            return
        while batch := _drain(cards, limit):
            owner._write(batch)
        owner._prune_when_due()
        del owner


def _reset_in_child(ref: weakref.ref[CardLog]) -> None:
    owner = ref()
    if owner is not None:
        # The thread is started again by the first hook call of the child.
        owner._reset()


def _flush_at_exit(ref: weakref.ref[CardLog]) -> None:
    owner = ref()
    if owner is not None:
        owner.flush()


def log_shown_cards(
    state: ServiceState, service_id: str, shown: Sequence[tuple[str, str, dict[str, Any]]]
) -> None:
    """Record (topic, drug, card) of each card returned to the EHR."""
    if not shown:
        return
    now = datetime.now(UTC)
    state.card_log.record(
        [
            ShownCard(
                card_uuid=str(card["uuid"]),
                service_id=service_id,
                topic=topic,
                drug=drug,
                indicator=str(card.get("indicator", "")),
                shown_at=now,
            )
            for topic, drug, card in shown
        ]
    )
