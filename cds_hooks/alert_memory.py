"""Short-lived shared memory of what the service has already said: in-process or in Redis.

It backs "no duplicate alerts" (was this card shown for this key lately?) and will back the
refusal of a replayed JWT ``jti`` (``remember_once``). Keys and values are opaque strings chosen
by the caller; callers pass a hash (e.g. sha256 of service, patient and drug), so this module
never needs PHI and never logs a key or a value.

One process serves alone with :class:`InProcessMemory` (the default). Several replicas agree only
through :class:`RedisMemory`, named by ``open_alert_memory("redis://...")``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = [
    "AlertMemory",
    "AlertMemoryUnavailable",
    "InProcessMemory",
    "RedisMemory",
    "open_alert_memory",
]

log = logging.getLogger(__name__)

Clock = Callable[[], float]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
IN_PROCESS_NAMES = ("", "memory")


class AlertMemoryUnavailable(Exception):
    """The shared store did not answer; raised only by a ``RedisMemory(..., strict=True)``."""


class AlertMemory(Protocol):
    """Expiring key -> value memory; every method is safe to call from several threads."""

    def remember(self, key: str, value: str, ttl: float) -> None:
        """Set ``key`` to ``value`` (overwriting), to be forgotten ``ttl`` seconds from now."""
        ...

    def recall(self, key: str) -> str | None:
        """The value remembered for ``key``, or None if there is none or it has expired."""
        ...

    def remember_once(self, key: str, value: str, ttl: float) -> bool:
        """Set ``key`` only if absent, atomically; True when this call set it (the key was new)."""
        ...

    def forget(self, key: str) -> None:
        """Drop ``key`` if present."""
        ...

    def ping(self) -> bool:
        """True when the memory can be used now (the readiness probe); never raises."""
        ...


def _check_ttl(ttl: float) -> None:
    # A zero or negative TTL is a caller's bug; Redis would reject it, so both backends do.
    if not ttl > 0 or math.isinf(ttl):
        raise ValueError(f"ttl must be a positive, finite number of seconds, not {ttl!r}")


class InProcessMemory:
    """The memory of one worker process: thread-safe, expiring, at most ``max_entries`` keys.

    Entries are kept in the order they were last written. A write first drops expired entries
    from the old end; when the memory is still full it sweeps the whole of it for expired
    entries (at most once per ``max_entries // 2`` writes, which keeps writes O(1) amortized)
    and then evicts the oldest write. With one TTL per instance, write order is expiry order and
    no live entry is ever evicted while an expired one remains. Reads do not refresh an entry.
    """

    def __init__(self, max_entries: int = 20_000, clock: Clock = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (value, expires_at on the clock)
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._writes_since_sweep = max_entries

    def __len__(self) -> int:
        """Entries held, expired ones not yet dropped included."""
        with self._lock:
            return len(self._entries)

    def remember(self, key: str, value: str, ttl: float) -> None:
        _check_ttl(ttl)
        with self._lock:
            self._store(key, value, self._clock() + ttl)

    def recall(self, key: str) -> str | None:
        with self._lock:
            return self._live(key, self._clock())

    def remember_once(self, key: str, value: str, ttl: float) -> bool:
        _check_ttl(ttl)
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._store(key, value, now + ttl)
            return True

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def ping(self) -> bool:
        return True

    def _live(self, key: str, now: float) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at <= now:
            del self._entries[key]
            return None
        return value

    def _store(self, key: str, value: str, expires_at: float) -> None:
        now = self._clock()
        self._entries.pop(key, None)
        self._drop_expired_oldest(now)
        if len(self._entries) >= self._max_entries:
            self._sweep(now)
        while len(self._entries) >= self._max_entries:
            self._entries.popitem(last=False)
        self._entries[key] = (value, expires_at)
        self._writes_since_sweep += 1

    def _drop_expired_oldest(self, now: float) -> None:
        # Each entry is dropped at most once, so this loop is O(1) amortized per write.
        while self._entries:
            _, expires_at = next(iter(self._entries.values()))
            if expires_at > now:
                return
            self._entries.popitem(last=False)

    def _sweep(self, now: float) -> None:
        # Entries written later with a shorter TTL may expire before older ones.
        if self._writes_since_sweep < self._max_entries // 2:
            return
        self._writes_since_sweep = 0
        expired = [key for key, (_, expires_at) in self._entries.items() if expires_at <= now]
        for key in expired:
            del self._entries[key]


class RedisMemory:
    """The memory shared by every replica through one Redis server (redis-py, synchronous).

    It sits on the hook's hot path, so sockets time out after ``timeout`` seconds, a failed
    command is not retried, and after a failure Redis is left alone for ``retry_after`` seconds
    (each call then fails at once instead of waiting for another timeout).

    What a failure means depends on ``strict``:

    - ``strict=False`` (default, for duplicate suppression): the memory degrades to forgetful.
      ``recall`` answers None, ``remember`` and ``forget`` do nothing, ``remember_once`` answers
      True ("new"). The safe failure of duplicate suppression is to show the card again: a
      repeated alert is a nuisance, a suppressed one may be a missed warning.
    - ``strict=True`` (for JWT ``jti`` replay refusal, where "new" would let a replay through):
      every method but ``ping`` raises :class:`AlertMemoryUnavailable`, and the caller decides.

    Either way the first failure of each kind (exception class) is logged at WARNING with the
    server's address but never a key, a value or a password; further ones of that kind are not
    logged until Redis has answered again. Connections are pooled and thread-safe; redis-py
    replaces the pool in a forked child (gunicorn ``--preload``).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.05,
        prefix: str = "pgx-cds:",
        strict: bool = False,
        retry_after: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not retry_after >= 0:
            raise ValueError(f"retry_after must be zero or more seconds, not {retry_after!r}")
        self._prefix = prefix
        self._strict = strict
        self._retry_after = retry_after
        self._clock = clock
        # Not contacted here: the service starts, and degrades, while Redis is still down.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # redis-py retries 10 times with backoff by default: seconds of waiting per call.
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._where = _address(self._client)
        self._lock = threading.Lock()
        self._failed_kinds: set[str] = set()
        self._down_until = -math.inf

    @property
    def strict(self) -> bool:
        """Whether a failure raises :class:`AlertMemoryUnavailable` instead of degrading."""
        return self._strict

    def remember(self, key: str, value: str, ttl: float) -> None:
        _check_ttl(ttl)
        self._run(
            "remember", lambda: self._client.set(self._key(key), value, px=_millis(ttl)), None
        )

    def recall(self, key: str) -> str | None:
        value = self._run("recall", lambda: self._client.get(self._key(key)), None)
        return value if isinstance(value, str) else None

    def remember_once(self, key: str, value: str, ttl: float) -> bool:
        _check_ttl(ttl)
        was_set = self._run(
            "remember_once",
            lambda: self._client.set(self._key(key), value, px=_millis(ttl), nx=True),
            True,
        )
        # SET NX answers True when it set the key and None when the key existed.
        return bool(was_set)

    def forget(self, key: str) -> None:
        self._run("forget", lambda: self._client.delete(self._key(key)), None)

    def ping(self) -> bool:
        # The readiness probe asks Redis itself, even while calls are being spared it.
        try:
            answered = bool(self._client.ping())
        except (redis.RedisError, OSError) as error:
            self._failed("ping", error)
            return False
        self._recovered()
        return answered

    def close(self) -> None:
        """Close every pooled connection."""
        self._client.close()

    def _key(self, key: str) -> str:
        return self._prefix + key

    def _run(self, operation: str, command: Callable[[], object], fallback: object) -> object:
        if self._clock() < self._down_until:
            return self._unavailable(operation, None, fallback)
        try:
            result = command()
        except (redis.RedisError, OSError) as error:
            self._failed(operation, error)
            return self._unavailable(operation, error, fallback)
        self._recovered()
        return result

    def _unavailable(self, operation: str, error: Exception | None, fallback: object) -> object:
        if self._strict:
            why = (
                f"failed ({type(error).__name__})"
                if error
                else f"failed less than {self._retry_after:g} s ago and is being spared"
            )
            raise AlertMemoryUnavailable(
                f"{operation}: Redis at {self._where} {why}; "
                "the alert memory cannot tell whether this key was seen"
            ) from error
        return fallback

    def _failed(self, operation: str, error: Exception) -> None:
        kind = type(error).__name__
        with self._lock:
            self._down_until = self._clock() + self._retry_after
            first = kind not in self._failed_kinds
            self._failed_kinds.add(kind)
        if first:
            # Only the class name: a server's error text is not guaranteed to be free of keys.
            log.warning(
                "alert memory: Redis at %s failed (%s on %s); %s for %.1f s",
                self._where,
                kind,
                operation,
                "refusing calls" if self._strict else "forgetting (alerts may repeat)",
                self._retry_after,
            )

    def _recovered(self) -> None:
        if not self._failed_kinds:
            return
        with self._lock:
            had_failed = bool(self._failed_kinds)
            self._failed_kinds.clear()
            self._down_until = -math.inf
        if had_failed:
            log.info("alert memory: Redis at %s answers again", self._where)


def _millis(ttl: float) -> int:
    # PX 0 is an error in Redis: a sub-millisecond TTL rounds up.
    return max(1, math.ceil(ttl * 1000))


def _address(client: redis.Redis) -> str:
    """Where the client connects, for logs: host, port and database, or the socket path."""
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def open_alert_memory(
    url: str | None, *, strict: bool = False, max_entries: int = 20_000
) -> AlertMemory:
    """The memory a URL names: None, "" or "memory" -> in-process; redis://, rediss://, unix:// -> Redis.

    ``strict`` applies to Redis only (see :class:`RedisMemory`); the in-process memory never fails
    and holds ``max_entries`` at most.
    """
    text = (url or "").strip()
    if text.lower() in IN_PROCESS_NAMES:
        return InProcessMemory(max_entries)
    scheme, separator, rest = text.partition("://")
    if text.lower().startswith(REDIS_SCHEMES):
        # redis-py reads lower-case schemes only.
        return RedisMemory(scheme.lower() + separator + rest, strict=strict)
    # Only the scheme is echoed: the rest of a URL may hold a password.
    named = f"a {scheme}:// URL" if separator else "a value with no scheme"
    raise ValueError(
        f"alert memory: {named} is not supported; leave it empty or write 'memory' for this "
        "process's own memory, or give a redis://, rediss:// or unix:// URL of a Redis server "
        "shared by all replicas"
    )
