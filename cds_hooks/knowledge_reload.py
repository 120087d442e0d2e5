"""Hot reload: swap in a changed knowledge folder while serving, keeping the last good version."""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Any

from knowledge import KnowledgeBase, KnowledgeLoadError, load_knowledge_base

__all__ = [
    "Fingerprint",
    "KnowledgeHolder",
    "KnowledgeStatus",
    "KnowledgeWatcher",
    "RefusedReload",
    "ReloadOutcome",
    "directory_fingerprint",
]

log = logging.getLogger(__name__)

# (path relative to the folder, inode, mtime in ns, size) of each YAML file, in name order.
Fingerprint = tuple[tuple[str, int, int, int], ...]


class ReloadOutcome(StrEnum):
    RELOADED = "reloaded"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    CHANGING = "directory changing"
    NOT_RELOADABLE = "not reloadable"


@dataclass(frozen=True, slots=True)
class RefusedReload:
    """A version of the folder that failed its checks, and when."""

    at: datetime
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KnowledgeStatus:
    """What is serving, since when, and the refused version the folder holds now, if any."""

    knowledge: KnowledgeBase
    loaded_at: datetime
    refused: RefusedReload | None = None


class KnowledgeHolder:
    """The knowledge serving now, replaced whole on reload; readers never wait for a reload.

    A request reads :attr:`current` once and keeps that instance to the end, so it answers from one
    version even while a reload swaps in the next. Reloads are serialised by a lock readers never
    take. The bundled knowledge (``directory`` None) ships inside the package and is not reloadable.
    """

    def __init__(self, knowledge: KnowledgeBase, directory: Path | None = None) -> None:
        self.directory = directory
        self._status = KnowledgeStatus(knowledge, _now())
        self._lock = threading.Lock()
        # The folder as last read (good or refused): a poll reloads only when this differs.
        self._seen: Fingerprint | None = None

    @classmethod
    def load(cls, directory: Path | None) -> KnowledgeHolder:
        """Load at start-up; a folder that fails its checks raises: there is no last good version."""
        seen = directory_fingerprint(directory) if directory is not None else None
        holder = cls(load_knowledge_base(directory), directory)
        holder._seen = seen
        return holder

    @property
    def current(self) -> KnowledgeBase:
        """The knowledge base serving now; read it once per request."""
        return self._status.knowledge

    @property
    def status(self) -> KnowledgeStatus:
        """One consistent snapshot for ``/readyz``."""
        return self._status

    @property
    def reloadable(self) -> bool:
        return self.directory is not None

    def guard_forks(self) -> None:
        """Make ``os.fork`` wait for a reload in progress, so no child inherits the lock held.

        For a process that forks while a watcher thread runs (gunicorn's master). All the thread's
        work happens under this lock, so a fork never lands in the middle of it.
        """
        os.register_at_fork(
            before=self._lock.acquire,
            after_in_parent=self._lock.release,
            after_in_child=self._lock.release,
        )

    def reload(self) -> ReloadOutcome:
        """Load the folder again; swap only a version that passes the checks and differs."""
        if self.directory is None:
            log.info(
                "knowledge reload skipped: the bundled knowledge is not reloadable; "
                "set PGX_CDS_KNOWLEDGE_DIR to a folder to reload without a restart"
            )
            return ReloadOutcome.NOT_RELOADABLE
        with self._lock:
            return self._reload(self.directory)

    def reload_if_changed(self) -> ReloadOutcome | None:
        """Reload when the folder's files changed since last read; ``None`` when they did not."""
        if self.directory is None:
            return None
        with self._lock:
            if directory_fingerprint(self.directory) == self._seen:
                return None
            return self._reload(self.directory)

    def _reload(self, directory: Path) -> ReloadOutcome:
        before = directory_fingerprint(directory)
        knowledge: KnowledgeBase | None = None
        errors: tuple[str, ...] = ()
        try:
            knowledge = load_knowledge_base(directory)
        except KnowledgeLoadError as exc:
            errors = tuple(str(error) for error in exc.errors)
        except OSError as exc:  # unreadable file or folder: refused like an invalid one
            errors = (f"{exc.filename or directory}: {exc.strerror or exc}",)
        if directory_fingerprint(directory) != before:
            # Files changed while being read: judging a half-copied folder could refuse a good
            # version or swap in a mixed one. Leave _seen as it was so the next poll retries.
            log.warning(
                "knowledge reload postponed: the folder changed while it was read",
                extra={"knowledge_dir": str(directory)},
            )
            return ReloadOutcome.CHANGING
        self._seen = before
        status = self._status
        if knowledge is None:
            self._status = replace(status, refused=RefusedReload(_now(), errors))
            log.error(
                "knowledge reload refused",
                extra={
                    "knowledge_dir": str(directory),
                    "error_count": len(errors),
                    "errors": list(errors),
                    "serving_version": status.knowledge.version,
                },
            )
            return ReloadOutcome.REFUSED
        if knowledge.version == status.knowledge.version:
            # Same content (a touched file, or a refused edit reverted): keep the instance.
            if status.refused is not None:
                self._status = replace(status, refused=None)
            log.info("knowledge unchanged", extra={"version": status.knowledge.version})
            return ReloadOutcome.UNCHANGED
        self._status = KnowledgeStatus(knowledge, _now())
        # The new knowledge base lives until the next reload: keep the cyclic collector off its
        # ~100,000 objects, as for the first one (gunicorn_app.py); the old one is freed by
        # reference counting once no call holds it.
        gc.freeze()
        log.info(
            "knowledge reloaded",
            extra={
                "knowledge_dir": str(directory),
                "old_version": status.knowledge.version,
                "new_version": knowledge.version,
            },
        )
        return ReloadOutcome.RELOADED


class KnowledgeWatcher:
    """A daemon thread that reloads on request (SIGHUP) and, every ``interval`` s, on change.

    ``interval`` 0 turns polling off; requested reloads still run. The thread does the loading so
    a signal handler only sets an event and never waits for the holder's lock.
    """

    def __init__(self, holder: KnowledgeHolder, interval: float) -> None:
        self.holder = holder
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="knowledge-watcher", daemon=True)
        self._previous_sighup: Any = None
        self._sighup_installed = False

    def start(self, *, sighup: bool = False) -> None:
        """Start the thread; with ``sighup``, also reload on SIGHUP (main thread, POSIX only)."""
        polling = self.holder.reloadable and self.interval > 0
        if sighup:
            self._install_sighup()
        self._thread.start()
        log.info(
            "knowledge reload on",
            extra={
                "knowledge_dir": str(self.holder.directory) if self.holder.reloadable else None,
                "poll_seconds": self.interval if polling else None,
                "sighup": self._sighup_installed,
            },
        )

    def request_reload(self) -> None:
        """Ask the thread to reload now; safe to call from a signal handler."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and give SIGHUP back to whoever had it."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._sighup_installed:
            signal.signal(signal.SIGHUP, self._previous_sighup)
            self._sighup_installed = False

    def _install_sighup(self) -> None:
        if not hasattr(signal, "SIGHUP"):
            log.info("no SIGHUP on this platform: knowledge reloads by polling only")
            return
        if threading.current_thread() is not threading.main_thread():
            log.info("SIGHUP handler not installed: only the main thread may install one")
            return
        previous = signal.signal(signal.SIGHUP, self._on_sighup)
        self._previous_sighup = signal.SIG_DFL if previous is None else previous
        self._sighup_installed = True

    def _on_sighup(self, signum: int, frame: FrameType | None) -> None:
        self.request_reload()

    def _run(self) -> None:
        polling = self.holder.reloadable and self.interval > 0
        while True:
            requested = self._wake.wait(self.interval if polling else None)
            if self._stopping:
                return
            self._wake.clear()
            try:
                if requested:
                    self.holder.reload()
                else:
                    self.holder.reload_if_changed()
            except Exception:
                # A bug: log its trace and keep serving the current version; the next poll retries.
                log.exception("knowledge reload failed")


def directory_fingerprint(directory: Path) -> Fingerprint:
    """Cheap identity of a knowledge folder: its YAML files' names, inodes, mtimes and sizes.

    Stats follow symlinks, so a Kubernetes ConfigMap update (an atomic swap of ``..data``) shows.
    An entry that vanishes between listing and stat is skipped; the next poll sees the rest.
    """
    found = []
    for path in _yaml_files(directory):
        try:
            stat = path.stat()
        except OSError:
            continue
        name = path.relative_to(directory).as_posix()
        found.append((name, stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _yaml_files(directory: Path) -> Iterator[Path]:
    """``*.yaml`` in the folder and one level below, where the loader reads them."""
    for entry in _listing(directory):
        # Dot entries are Kubernetes' ..data and timestamped folders, reached through the links.
        if entry.name.startswith("."):
            continue
        if entry.suffix == ".yaml":
            yield entry
        elif entry.is_dir():
            yield from (child for child in _listing(entry) if child.suffix == ".yaml")


def _listing(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except OSError:  # a missing folder fingerprints as empty; loading it is then refused
        return []


def _now() -> datetime:
    return datetime.now(UTC)
