"""The circuit breaker per FHIR server, on a clock the test moves by hand."""

from __future__ import annotations

import logging

import pytest

from fhir_adapters import FhirUnavailableError
from fhir_adapters.breaker import CircuitBreaker, CircuitBreakers

HOST = "https://ehr.example"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(HOST, failures=3, reset=30.0, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.allow()
        breaker.failed()


def test_it_opens_after_the_failures_in_a_row(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    assert breaker.state == "closed"

    fail(breaker, 1)

    assert breaker.state == "open"
    with pytest.raises(FhirUnavailableError, match=r"up to 30 s \(https://ehr\.example\)$") as info:
        breaker.allow()
    assert info.value.kind == "circuit_open"


def test_a_success_starts_the_count_again(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    breaker.succeeded()
    fail(breaker, 2)

    assert breaker.state == "closed"


def test_after_reset_one_trial_goes_through_and_others_still_fail_fast(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 3)
    clock.now += 29.9
    with pytest.raises(FhirUnavailableError):
        breaker.allow()
    clock.now += 0.1

    breaker.allow()  # the trial

    assert breaker.state == "half-open"
    with pytest.raises(FhirUnavailableError):
        breaker.allow()


@pytest.mark.parametrize(
    ("trial_succeeds", "expected"), [(True, "closed"), (False, "open")], ids=["ok", "fails"]
)
def test_the_trial_decides(
    breaker: CircuitBreaker, clock: Clock, trial_succeeds: bool, expected: str
) -> None:
    fail(breaker, 3)
    clock.now += 30
    breaker.allow()

    if trial_succeeds:
        breaker.succeeded()
    else:
        breaker.failed()

    assert breaker.state == expected


def test_a_failed_trial_waits_a_whole_reset_again(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 30
    fail(breaker, 1)
    clock.now += 29

    with pytest.raises(FhirUnavailableError):
        breaker.allow()
    clock.now += 1
    breaker.allow()


@pytest.mark.parametrize("report", ["abandoned", "never"])
def test_a_trial_that_does_not_report_does_not_keep_the_circuit_stuck(
    breaker: CircuitBreaker, clock: Clock, report: str
) -> None:
    fail(breaker, 3)
    clock.now += 30
    breaker.allow()
    if report == "abandoned":
        breaker.abandoned()
    else:
        clock.now += 30  # a lost trial is given up after another reset

    breaker.allow()

    assert breaker.state == "half-open"


def test_opening_and_closing_are_logged_with_the_host_only(
    breaker: CircuitBreaker, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fhir_adapters"):
        fail(breaker, 3)
        clock.now += 30
        breaker.allow()
        breaker.succeeded()

    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            "FHIR circuit opened: https://ehr.example failed 3 times in a row; "
            "calls fail at once for 30 s",
        ),
        (logging.INFO, "FHIR circuit closed: https://ehr.example answers again"),
    ]


def test_a_late_failure_of_a_call_begun_before_opening_changes_nothing(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 3)
    breaker.failed()
    clock.now += 30

    breaker.allow()


@pytest.mark.parametrize(("failures", "reset"), [(0, 30.0), (3, 0.0)])
def test_nonsense_limits_are_refused(failures: int, reset: float) -> None:
    with pytest.raises(ValueError, match="failures must be at least 1"):
        CircuitBreaker(HOST, failures=failures, reset=reset)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("https://ehr.example/fhir", "https://EHR.example/other/fhir", True),
        ("https://ehr.example/fhir", "https://svc:pw@ehr.example/fhir", True),
        ("https://ehr.example/fhir", "http://ehr.example/fhir", False),
        ("https://ehr.example/fhir", "https://ehr.example:8443/fhir", False),
    ],
    ids=["same-origin", "userinfo", "other-scheme", "other-port"],
)
def test_one_breaker_per_origin(first: str, second: str, same: bool) -> None:
    breakers = CircuitBreakers(failures=3, reset=30)

    assert (breakers.for_url(first) is breakers.for_url(second)) is same


def test_a_breaker_is_named_by_scheme_and_host_only() -> None:
    breaker = CircuitBreakers(failures=3, reset=30).for_url("https://svc:pw@ehr.example/fhir?x=1")

    assert breaker.host == "https://ehr.example"


def test_the_registry_forgets_the_least_recently_used_servers() -> None:
    breakers = CircuitBreakers(failures=3, reset=30, max_servers=2)
    a = breakers.for_url("https://a.example/fhir")
    b = breakers.for_url("https://b.example/fhir")
    breakers.for_url("https://a.example/fhir")
    breakers.for_url("https://c.example/fhir")  # b is the least recently used

    assert breakers.for_url("https://a.example/fhir") is a
    assert breakers.for_url("https://b.example/fhir") is not b
