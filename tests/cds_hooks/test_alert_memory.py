"""One contract for both alert memories (in-process, Redis), and what each adds of its own.

The Redis cases need ``PGX_CDS_TEST_REDIS_URL`` (deploy/redis/with-redis.sh starts a server and
sets it). Without it they skip, unless ``PGX_CDS_REQUIRE_REDIS=1``, when they fail: in CI a
missing server must not pass silently as a row of skips.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from cds_hooks.alert_memory import (
    AlertMemory,
    AlertMemoryUnavailable,
    InProcessMemory,
    RedisMemory,
    open_alert_memory,
)
from cds_hooks.app import create_app
from cds_hooks.config import Settings

LONG = 60.0
# Short real TTL for Redis; the wait after it leaves a wide margin for a slow machine.
SHORT = 0.05


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Backend:
    """A way to open memories that share one store, and to let time pass for them."""

    open: Callable[[], AlertMemory]
    advance: Callable[[float], None]


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("PGX_CDS_TEST_REDIS_URL", "").strip()
    if not url:
        message = "PGX_CDS_TEST_REDIS_URL is not set (deploy/redis/with-redis.sh sets it)"
        if os.environ.get("PGX_CDS_REQUIRE_REDIS") == "1":
            pytest.fail(f"{message}, and PGX_CDS_REQUIRE_REDIS=1 requires a Redis server")
        pytest.skip(message)
    return url


@pytest.fixture
def redis_prefix() -> str:
    """A prefix of this test's own, so no test sees another test's keys."""
    return f"pgx-cds-test:{uuid.uuid4()}:"


def _in_process_backend() -> Backend:
    clock = FakeClock()
    memory = InProcessMemory(clock=clock)
    # Every "replica" is the same object: in-process memory is not shared beyond it.
    return Backend(open=lambda: memory, advance=clock.advance)


@pytest.fixture(params=["in-process", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "in-process":
        yield _in_process_backend()
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    opened: list[RedisMemory] = []

    def open_replica() -> AlertMemory:
        # strict: a Redis failure must fail the test, not pass as a degraded answer.
        memory = RedisMemory(url, prefix=prefix, strict=True, timeout=2.0)
        opened.append(memory)
        return memory

    yield Backend(open=open_replica, advance=time.sleep)
    for memory in opened:
        memory.close()


@pytest.fixture
def memory(backend: Backend) -> AlertMemory:
    return backend.open()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- the contract, on both backends ---


def test_recall_of_unknown_key_is_none(memory: AlertMemory) -> None:
    assert memory.recall("never-set") is None


def test_remember_then_recall(memory: AlertMemory) -> None:
    memory.remember("k", "card-1", LONG)
    assert memory.recall("k") == "card-1"


def test_remember_overwrites_value_and_ttl(backend: Backend, memory: AlertMemory) -> None:
    memory.remember("k", "old", SHORT)
    memory.remember("k", "new", LONG)
    backend.advance(SHORT + 0.2)
    assert memory.recall("k") == "new"


def test_entry_expires_after_ttl(backend: Backend, memory: AlertMemory) -> None:
    memory.remember("k", "v", SHORT)
    backend.advance(SHORT + 0.2)
    assert memory.recall("k") is None


def test_forget(memory: AlertMemory) -> None:
    memory.remember("k", "v", LONG)
    memory.forget("k")
    memory.forget("never-set")
    assert memory.recall("k") is None


def test_keys_are_opaque_strings(memory: AlertMemory) -> None:
    key = "sha256:" + "ab" * 32 + ":ü:/ *?"
    memory.remember(key, "välue ✓", LONG)
    assert memory.recall(key) == "välue ✓"
    assert memory.recall(key[:-1]) is None


def test_remember_once_is_true_only_for_a_new_key(memory: AlertMemory) -> None:
    assert memory.remember_once("jti-1", "first", LONG) is True
    assert memory.remember_once("jti-1", "second", LONG) is False
    assert memory.recall("jti-1") == "first"


def test_remember_once_after_expiry_is_new_again(backend: Backend, memory: AlertMemory) -> None:
    assert memory.remember_once("jti-1", "first", SHORT) is True
    backend.advance(SHORT + 0.2)
    assert memory.remember_once("jti-1", "second", LONG) is True
    assert memory.recall("jti-1") == "second"


def test_remember_once_after_forget_is_new_again(memory: AlertMemory) -> None:
    memory.remember_once("jti-1", "first", LONG)
    memory.forget("jti-1")
    assert memory.remember_once("jti-1", "second", LONG) is True


def test_remember_once_race_has_exactly_one_winner(backend: Backend) -> None:
    # Two "replicas" (one object in-process), eight threads each, one key.
    replicas = [backend.open(), backend.open()]
    threads = 16
    barrier = threading.Barrier(threads)
    wins: list[int] = []

    def contend(n: int) -> None:
        barrier.wait()
        if replicas[n % 2].remember_once("jti-race", f"thread-{n}", LONG):
            wins.append(n)

    workers = [threading.Thread(target=contend, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert len(wins) == 1
    assert replicas[0].recall("jti-race") == f"thread-{wins[0]}"


def test_replicas_see_each_other(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    first.remember("k", "from-first", LONG)
    assert second.recall("k") == "from-first"
    assert second.remember_once("k", "from-second", LONG) is False
    second.forget("k")
    assert first.recall("k") is None


def test_ping(memory: AlertMemory) -> None:
    assert memory.ping() is True


@pytest.mark.parametrize("ttl", [0, -1.0, float("nan"), float("inf")])
def test_ttl_must_be_positive_and_finite(memory: AlertMemory, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl must be a positive, finite number of seconds"):
        memory.remember("k", "v", ttl)
    with pytest.raises(ValueError, match="ttl must be a positive, finite number of seconds"):
        memory.remember_once("k", "v", ttl)


# --- in-process: expiry at the boundary, bound and eviction ---


def test_in_process_entry_lives_until_its_ttl() -> None:
    clock = FakeClock()
    memory = InProcessMemory(clock=clock)
    memory.remember("k", "v", 10)
    clock.advance(9.999)
    assert memory.recall("k") == "v"
    clock.advance(0.001)
    assert memory.recall("k") is None


def test_in_process_evicts_oldest_write_when_full() -> None:
    memory = InProcessMemory(max_entries=3, clock=FakeClock())
    for key in "abc":
        memory.remember(key, key, LONG)
    memory.remember("a", "a2", LONG)  # rewriting makes "a" the newest
    memory.remember("d", "d", LONG)
    assert [memory.recall(key) for key in "abcd"] == ["a2", None, "c", "d"]
    assert len(memory) == 3


def test_in_process_evicts_expired_before_oldest() -> None:
    clock = FakeClock()
    memory = InProcessMemory(max_entries=3, clock=clock)
    memory.remember("a", "a", LONG)
    memory.remember("b", "b", LONG)
    memory.remember("short", "s", 1)  # written last, expires first
    clock.advance(2)
    memory.remember("d", "d", LONG)
    assert [memory.recall(key) for key in ("a", "b", "d")] == ["a", "b", "d"]
    assert len(memory) == 3


def test_in_process_drops_expired_entries_on_write() -> None:
    clock = FakeClock()
    memory = InProcessMemory(max_entries=1000, clock=clock)
    for n in range(100):
        memory.remember(f"k{n}", "v", 1)
    clock.advance(2)
    memory.remember("fresh", "v", LONG)
    assert len(memory) == 1


def test_in_process_stays_bounded_with_mixed_ttls() -> None:
    clock = FakeClock()
    memory = InProcessMemory(max_entries=50, clock=clock)
    for n in range(5000):
        memory.remember_once(f"k{n}", "v", 1 + n % 7)
        clock.advance(0.01)
        assert len(memory) <= 50


def test_in_process_remember_once_is_atomic_under_threads() -> None:
    memory = InProcessMemory(max_entries=10_000)
    keys = [f"jti-{n}" for n in range(500)]
    won: list[str] = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        barrier.wait()
        won.extend(key for key in keys if memory.remember_once(key, "v", LONG))

    workers = [threading.Thread(target=contend) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(won) == sorted(keys)


def test_in_process_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="max_entries must be at least 1, not 0"):
        InProcessMemory(max_entries=0)


# --- Redis: prefixes, TTL rounding, failure ---


@pytest.fixture
def open_redis(redis_url: str) -> Iterator[Callable[[str], RedisMemory]]:
    """Opens strict memories on the test server with a given prefix; closes them afterwards."""
    opened: list[RedisMemory] = []

    def open_memory(prefix: str) -> RedisMemory:
        opened.append(RedisMemory(redis_url, prefix=prefix, strict=True, timeout=2.0))
        return opened[-1]

    yield open_memory
    for memory in opened:
        memory.close()


def test_redis_prefixes_keep_stores_apart(
    open_redis: Callable[[str], RedisMemory], redis_prefix: str
) -> None:
    ours = open_redis(redis_prefix + "a:")
    theirs = open_redis(redis_prefix + "b:")
    ours.remember("k", "v", LONG)
    assert theirs.recall("k") is None
    assert theirs.remember_once("k", "w", LONG) is True


def test_redis_key_is_prefixed_and_expires_server_side(
    open_redis: Callable[[str], RedisMemory], redis_url: str, redis_prefix: str
) -> None:
    memory = open_redis(redis_prefix)
    memory.remember("k", "v", 30)
    with redis.Redis.from_url(redis_url, decode_responses=True) as raw:
        assert raw.get(redis_prefix + "k") == "v"
        assert 0 < raw.pttl(redis_prefix + "k") <= 30_000


def test_redis_sub_millisecond_ttl_rounds_up(
    open_redis: Callable[[str], RedisMemory], redis_prefix: str
) -> None:
    # PX 0 would be a Redis error; strict makes such an error fail this test.
    memory = open_redis(redis_prefix)
    memory.remember("k", "v", 0.0001)
    assert memory.remember_once("once", "v", 0.0001) is True
    time.sleep(0.1)
    assert memory.recall("k") is None


@pytest.fixture
def down_url() -> str:
    """A Redis URL on a loopback port where nothing listens."""
    return f"redis://127.0.0.1:{_closed_port()}/0"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A Redis URL on a loopback port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def test_redis_down_degrades_to_forgetful(down_url: str) -> None:
    memory = RedisMemory(down_url)
    memory.remember("k", "v", LONG)
    assert memory.recall("k") is None
    # Duplicate suppression fails safe: the card is shown again.
    assert memory.remember_once("k", "v", LONG) is True
    memory.forget("k")
    assert memory.ping() is False


def test_silent_redis_costs_about_one_timeout(silent_url: str) -> None:
    memory = RedisMemory(silent_url, timeout=0.05)
    started = time.monotonic()
    assert memory.recall("k") is None
    assert memory.remember_once("k", "v", LONG) is True
    assert memory.ping() is False
    # Loose: redis-py's default retries with backoff would take seconds.
    assert time.monotonic() - started < 2.0


def test_strict_redis_down_raises_our_error_not_redis_one(down_url: str) -> None:
    memory = RedisMemory(down_url, strict=True)
    with pytest.raises(
        AlertMemoryUnavailable,
        match=r"remember_once: Redis at 127\.0\.0\.1:\d+/0 failed \(ConnectionError\)",
    ) as info:
        memory.remember_once("jti-1", "v", LONG)
    assert not isinstance(info.value, redis.RedisError)
    assert isinstance(info.value.__cause__, redis.ConnectionError)
    assert memory.ping() is False


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda m: m.remember("k", "v", LONG), id="remember"),
        pytest.param(lambda m: m.recall("k"), id="recall"),
        pytest.param(lambda m: m.remember_once("k", "v", LONG), id="remember_once"),
        pytest.param(lambda m: m.forget("k"), id="forget"),
    ],
)
def test_strict_redis_down_raises_from_every_call(
    down_url: str, call: Callable[[RedisMemory], object]
) -> None:
    with pytest.raises(AlertMemoryUnavailable):
        call(RedisMemory(down_url, strict=True))


def test_redis_failure_is_logged_once_per_kind_without_keys(
    down_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cds_hooks.alert_memory")
    memory = RedisMemory(f"{down_url[:8]}user:hunter2@{down_url[8:]}", retry_after=0)
    secret = "sha256-of-patient-0123456789"
    for _ in range(3):
        memory.remember(secret, "value-content", LONG)
        memory.recall(secret)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0].getMessage()
    assert "127.0.0.1:" in warnings[0].getMessage()
    for text in (secret, "value-content", "hunter2"):
        assert text not in caplog.text


def test_redis_is_spared_after_a_failure(silent_url: str) -> None:
    clock = FakeClock()
    memory = RedisMemory(silent_url, timeout=0.05, retry_after=1.0, clock=clock, strict=True)
    with pytest.raises(AlertMemoryUnavailable) as first:
        memory.recall("k")
    assert isinstance(first.value.__cause__, redis.TimeoutError)
    # Within retry_after no command is sent: the failure is immediate and has no cause.
    with pytest.raises(AlertMemoryUnavailable, match="failed less than 1 s ago") as spared:
        memory.recall("k")
    assert spared.value.__cause__ is None
    clock.advance(1.0)
    with pytest.raises(AlertMemoryUnavailable) as retried:
        memory.recall("k")
    assert isinstance(retried.value.__cause__, redis.TimeoutError)


def test_redis_memory_is_not_contacted_on_creation(down_url: str) -> None:
    RedisMemory(down_url, strict=True)


@pytest.mark.parametrize(
    ("timeout", "retry_after", "message"),
    [
        (0, 1.0, "timeout must be a positive number of seconds, not 0"),
        (0.05, -1.0, "retry_after must be zero or more seconds, not -1.0"),
    ],
)
def test_redis_memory_settings_are_checked(
    down_url: str, timeout: float, retry_after: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RedisMemory(down_url, timeout=timeout, retry_after=retry_after)


# --- open_alert_memory ---


@pytest.mark.parametrize("url", [None, "", "  ", "memory", "MEMORY"])
def test_open_in_process(url: str | None) -> None:
    assert isinstance(open_alert_memory(url), InProcessMemory)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://user:secret@cache.example.org:6380/1",
        "unix:///run/redis/redis.sock?db=2",
        " REDIS://localhost ",
    ],
)
def test_open_redis(url: str) -> None:
    memory = open_alert_memory(url, strict=True)
    assert isinstance(memory, RedisMemory)
    assert memory.strict is True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://user:secret@cache:6379", "alert memory: a http:// URL is not supported"),
        ("memcached://cache:11211", "alert memory: a memcached:// URL is not supported"),
        ("localhost:6379", "alert memory: a value with no scheme is not supported"),
    ],
)
def test_open_rejects_other_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        open_alert_memory(url)
    assert "secret" not in str(info.value)
    assert "redis://, rediss:// or unix://" in str(info.value)


def test_the_in_process_memory_holds_the_configured_number_of_entries(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/fb.sqlite3", alert_memory_max_entries=100)
    )
    memory = app.extensions["pgx_cds"].repeats._memory
    try:
        for n in range(250):
            memory.remember(f"key-{n}", "1", 60)
        assert len(memory) == 100
        assert memory.recall("key-249") == "1"
        assert memory.recall("key-0") is None
    finally:
        app.extensions["pgx_cds"].feedback.close()
