"""FhirClient against a real misbehaving server: every fault ends on time, as our own error."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from fhir_adapters import FhirClient, FhirError, FhirResponseError, FhirUnavailableError
from fhir_adapters.breaker import CircuitBreaker
from tests.builders import genotype_observation, searchset
from tests.fault_server import FaultServer, Mode

# Real sockets that hang and drip against real timeouts: `make test`, not `make unit`.
pytestmark = pytest.mark.slow

QUERY = "Observation?patient=p1"
# What the client may take: the fault's deadline plus scheduling slack on a busy test machine.
# Each fault alone would hold the call for 30 s or more.
DEADLINE = 0.3
SLACK = 0.5


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def client_for(
    server: FaultServer,
    session: requests.Session,
    *,
    breaker: CircuitBreaker | None = None,
    max_response_bytes: int = 4096,
) -> FhirClient:
    return FhirClient(
        server.url,
        access_token="tok",
        session=session,
        timeout=(0.5, 1.5),
        max_pages=5,
        deadline=DEADLINE,
        retries=1,
        breaker=breaker,
        max_response_bytes=max_response_bytes,
    )


FAULTS: list[tuple[Mode, type[FhirError], str]] = [
    ("hang", FhirUnavailableError, "timeout"),
    ("reset", FhirUnavailableError, "unavailable"),
    ("500", FhirUnavailableError, "unavailable"),
    ("503", FhirUnavailableError, "unavailable"),
    ("not-json", FhirResponseError, "garbage"),
    ("not-bundle", FhirResponseError, "garbage"),
    ("truncated", FhirResponseError, "garbage"),
    ("drip", FhirUnavailableError, "timeout"),
    ("drip-headers", FhirUnavailableError, "timeout"),
    ("oversize", FhirResponseError, "garbage"),
    ("oversize-chunked", FhirResponseError, "garbage"),
    ("401", FhirResponseError, "refused"),
]


@pytest.mark.parametrize(("mode", "error", "kind"), FAULTS)
def test_each_fault_is_our_error_of_its_kind_within_the_deadline(
    session: requests.Session, mode: Mode, error: type[FhirError], kind: str
) -> None:
    with FaultServer(mode) as server:
        started = time.monotonic()
        with pytest.raises(error) as info:
            client_for(server, session).search(QUERY)
        elapsed = time.monotonic() - started

    assert (info.value.kind, elapsed < DEADLINE + SLACK) == (kind, True)


def test_a_dripping_body_is_cut_at_the_deadline_not_at_the_read_timeout(
    session: requests.Session,
) -> None:
    # Each byte arrives well within the 1.5 s read timeout: only the deadline stops it.
    with FaultServer("drip", drip_interval=0.01) as server:
        started = time.monotonic()
        with pytest.raises(FhirUnavailableError, match="did not answer in time"):
            client_for(server, session).search(QUERY)
        elapsed = time.monotonic() - started

    assert DEADLINE <= elapsed < DEADLINE + SLACK


def test_a_body_within_the_size_limit_is_read(session: requests.Session) -> None:
    bundle = searchset(genotype_observation("CYP2C19", "*2/*2"))
    with FaultServer("ok", bodies={"Observation": bundle}) as server:
        assert client_for(server, session, max_response_bytes=1024 * 1024).search(QUERY) == [bundle]


def test_the_size_limit_message_names_the_limit_and_host_only(session: requests.Session) -> None:
    with FaultServer("oversize") as server, pytest.raises(FhirResponseError) as info:
        client_for(server, session).search(QUERY)

    assert str(info.value) == f"FHIR server answered with more than 4096 bytes ({server.url[:-5]})"


def test_a_server_failure_counts_against_the_breaker_and_a_refusal_does_not(
    session: requests.Session,
) -> None:
    breaker = CircuitBreaker("test", failures=2, reset=60)
    with FaultServer("401") as server:
        for _ in range(3):
            with pytest.raises(FhirResponseError):
                client_for(server, session, breaker=breaker).search(QUERY)
        assert breaker.state == "closed"
        server.mode = "500"
        for _ in range(2):
            with pytest.raises(FhirUnavailableError):
                client_for(server, session, breaker=breaker).search(QUERY)
        assert breaker.state == "open"

        with pytest.raises(FhirUnavailableError) as info:
            client_for(server, session, breaker=breaker).search(QUERY)

    assert (info.value.kind, server.requests) == ("circuit_open", 5)


def test_an_abandoned_exchange_ends_by_itself(session: requests.Session) -> None:
    # The caller has returned at its deadline; the pool thread that held the dripping socket
    # must close it soon too, not hold it for the drip's 30 s.
    with FaultServer("drip") as server:
        with pytest.raises(FhirUnavailableError):
            client_for(server, session).search(QUERY)
        gone_by = time.monotonic() + 2.0
        while server.open_connections and time.monotonic() < gone_by:
            time.sleep(0.02)

        assert server.open_connections == 0
