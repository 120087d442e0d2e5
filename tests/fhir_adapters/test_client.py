"""FhirClient against a fake transport (``responses``): auth, URLs, paging, and error mapping."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses

from fhir_adapters import FhirClient, FhirError, FhirResponseError, FhirUnavailableError
from fhir_adapters.client import _retry_after
from tests.builders import genotype_observation, searchset

BASE = "https://ehr.example/fhir"
TOKEN = "tok-7Hq2-SECRET-9xZ"
PATIENT = "pat-4711-zz"
QUERY = f"Observation?patient={PATIENT}"
URL = f"{BASE}/{QUERY}"

MakeClient = Callable[..., FhirClient]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    # Unmatched requests fail with ConnectionError, so no test can reach a network.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    session = requests.Session()

    def make(
        base_url: str = BASE, *, access_token: str | None = TOKEN, max_pages: int = 5
    ) -> FhirClient:
        return FhirClient(
            base_url,
            access_token=access_token,
            session=session,
            timeout=(0.5, 1.0),
            max_pages=max_pages,
        )

    yield make
    session.close()


def page(number: int, *, next_url: str | None = None) -> dict[str, Any]:
    return searchset(
        genotype_observation("CYP2C19", "*1/*1", id=f"geno-{number}", patient=PATIENT),
        next_url=next_url,
    )


# Bodies that echo the secrets, as real servers' diagnostics do: our messages must not.
_ECHO = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "exception", "diagnostics": f"{URL} {TOKEN}"}],
}

# One failure of the transport or the server per id: keyword arguments for ``rsps.add``.
FAILURES: dict[str, dict[str, Any]] = {
    "connect-timeout": {"body": requests.ConnectTimeout(f"connect to {URL} timed out")},
    "read-timeout": {"body": requests.ReadTimeout(f"read from {URL} timed out")},
    "connection-error": {"body": requests.ConnectionError(f"refused: {URL}")},
    "ssl-error": {"body": requests.exceptions.SSLError(f"bad certificate for {URL}")},
    "chunked-encoding": {"body": requests.exceptions.ChunkedEncodingError("connection reset")},
    "too-many-redirects": {"body": requests.TooManyRedirects(f"30 redirects from {URL}")},
    "http-500": {"status": 500, "json": _ECHO},
    "http-503": {"status": 503, "body": "Service Unavailable"},
    "http-401": {"status": 401, "json": _ECHO},
    "http-403": {"status": 403, "json": _ECHO},
    "http-404": {"status": 404, "json": _ECHO},
    "not-json": {"status": 200, "body": f"<html>{URL}</html>", "content_type": "text/html"},
    "empty-body": {"status": 200, "body": ""},
    "operation-outcome": {"status": 200, "json": _ECHO},
    "json-list": {"status": 200, "json": [page(1)]},
    "json-null": {"status": 200, "body": "null", "content_type": "application/json"},
    "json-string": {"status": 200, "json": "Bundle"},
}


@pytest.mark.parametrize(
    ("access_token", "expected"),
    [
        (TOKEN, f"Bearer {TOKEN}"),
        (None, None),
        ("", None),
    ],
)
def test_authorization_header(
    rsps: responses.RequestsMock,
    make_client: MakeClient,
    access_token: str | None,
    expected: str | None,
) -> None:
    rsps.add(responses.GET, URL, json=page(1))

    make_client(access_token=access_token).search(QUERY)

    assert rsps.calls[0].request.headers.get("Authorization") == expected


def test_asks_for_fhir_json(rsps: responses.RequestsMock, make_client: MakeClient) -> None:
    rsps.add(responses.GET, URL, json=page(1))

    make_client().search(QUERY)

    assert rsps.calls[0].request.headers["Accept"] == "application/fhir+json, application/json"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://ehr.example/fhir", URL),
        ("https://ehr.example/fhir/", URL),
        ("https://ehr.example/api/fhir/r4", f"https://ehr.example/api/fhir/r4/{QUERY}"),
        ("https://ehr.example", f"https://ehr.example/{QUERY}"),
        ("http://127.0.0.1:8080/fhir/", f"http://127.0.0.1:8080/fhir/{QUERY}"),
    ],
)
def test_query_joined_to_base_url(
    rsps: responses.RequestsMock, make_client: MakeClient, base_url: str, expected: str
) -> None:
    rsps.add(responses.GET, expected, json=page(1))

    make_client(base_url).search(QUERY)

    assert [call.request.url for call in rsps.calls] == [expected]


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        (f"{URL}&_page=2", f"{URL}&_page=2"),
        (f"{QUERY}&_page=2", f"{URL}&_page=2"),
        (f"/fhir/{QUERY}&_page=2", f"{URL}&_page=2"),
        ("https://ehr.example/fhir?_getpages=abc&_offset=20", None),
    ],
    ids=["absolute", "relative", "absolute-path", "hapi-getpages"],
)
def test_follows_next_link(
    rsps: responses.RequestsMock, make_client: MakeClient, next_url: str, expected: str | None
) -> None:
    second = expected or next_url
    rsps.add(responses.GET, URL, json=page(1, next_url=next_url))
    rsps.add(responses.GET, second, json=page(2))

    bundles = make_client().search(QUERY)

    assert ([call.request.url for call in rsps.calls], bundles) == (
        [URL, second],
        [page(1, next_url=next_url), page(2)],
    )


def test_next_link_carries_the_token(rsps: responses.RequestsMock, make_client: MakeClient) -> None:
    rsps.add(responses.GET, URL, json=page(1, next_url=f"{URL}&_page=2"))
    rsps.add(responses.GET, f"{URL}&_page=2", json=page(2))

    make_client().search(QUERY)

    assert rsps.calls[1].request.headers.get("Authorization") == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "links",
    [
        [{"relation": "self", "url": URL}],
        [{"relation": "next"}],
        [{"relation": "next", "url": ""}],
        [{"relation": "next", "url": 42}],
        ["next"],
        {"relation": "next", "url": f"{URL}&_page=2"},
        [],
    ],
    ids=[
        "self-only",
        "no-url",
        "empty-url",
        "url-not-string",
        "link-not-object",
        "not-list",
        "none",
    ],
)
def test_no_usable_next_link_is_the_last_page(
    rsps: responses.RequestsMock, make_client: MakeClient, links: Any
) -> None:
    rsps.add(responses.GET, URL, json={**page(1), "link": links})

    make_client().search(QUERY)

    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("max_pages", "expected"),
    [
        (1, 1),
        (2, 2),
        (3, 3),
        (10, 3),
    ],
)
def test_pages_bounded_by_max_pages(
    rsps: responses.RequestsMock, make_client: MakeClient, max_pages: int, expected: int
) -> None:
    rsps.add(responses.GET, URL, json=page(1, next_url=f"{URL}&_page=2"))
    rsps.add(responses.GET, f"{URL}&_page=2", json=page(2, next_url=f"{URL}&_page=3"))
    rsps.add(responses.GET, f"{URL}&_page=3", json=page(3))

    bundles = make_client(max_pages=max_pages).search(QUERY)

    assert (len(bundles), len(rsps.calls)) == (expected, expected)


def test_next_link_to_itself_stops_at_max_pages(
    rsps: responses.RequestsMock, make_client: MakeClient
) -> None:
    rsps.add(responses.GET, URL, json=page(1, next_url=URL))

    bundles = make_client(max_pages=4).search(QUERY)

    assert (len(bundles), len(rsps.calls)) == (4, 4)


@pytest.mark.parametrize(
    ("max_pages", "expected"),
    [
        (1, ["FHIR search stopped after 1 pages"]),
        (2, []),
    ],
    ids=["truncated", "complete"],
)
def test_truncation_logged_without_secrets(
    rsps: responses.RequestsMock,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    max_pages: int,
    expected: list[str],
) -> None:
    rsps.add(responses.GET, URL, json=page(1, next_url=f"{URL}&_page=2"))
    rsps.add(responses.GET, f"{URL}&_page=2", json=page(2))

    with caplog.at_level(logging.DEBUG, logger="fhir_adapters"):
        make_client(max_pages=max_pages).search(QUERY)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == expected


# What each failure becomes: the class and the message a caller (and its log) sees.
EXPECTED_ERRORS: list[tuple[str, type[FhirError], str]] = [
    ("connect-timeout", FhirUnavailableError, r"did not answer in time \(https://ehr\.example\)$"),
    ("read-timeout", FhirUnavailableError, r"did not answer in time \(https://ehr\.example\)$"),
    ("connection-error", FhirUnavailableError, r"unreachable \(https://ehr\.example\)$"),
    ("ssl-error", FhirUnavailableError, r"unreachable \(https://ehr\.example\)$"),
    ("chunked-encoding", FhirUnavailableError, "unreachable"),
    ("too-many-redirects", FhirUnavailableError, "unreachable"),
    ("http-500", FhirUnavailableError, r"server error 500 \(https://ehr\.example\)$"),
    ("http-503", FhirUnavailableError, r"server error 503 \(https://ehr\.example\)$"),
    ("http-401", FhirResponseError, "refused the search: 401$"),
    ("http-403", FhirResponseError, "refused the search: 403$"),
    ("http-404", FhirResponseError, "refused the search: 404$"),
    ("not-json", FhirResponseError, "not JSON"),
    ("empty-body", FhirResponseError, "not JSON"),
    ("operation-outcome", FhirResponseError, "answered with 'OperationOutcome', not a Bundle"),
    ("json-list", FhirResponseError, "answered with 'list', not a Bundle"),
    ("json-null", FhirResponseError, "answered with 'NoneType', not a Bundle"),
    ("json-string", FhirResponseError, "answered with 'str', not a Bundle"),
]


@pytest.mark.parametrize(("mode", "error", "match"), EXPECTED_ERRORS)
def test_failure_mapped(
    rsps: responses.RequestsMock,
    make_client: MakeClient,
    mode: str,
    error: type[FhirError],
    match: str,
) -> None:
    rsps.add(responses.GET, URL, **FAILURES[mode])

    with pytest.raises(error, match=match):
        make_client().search(QUERY)


def test_every_failure_mode_has_an_expected_error() -> None:
    assert sorted(mode for mode, _, _ in EXPECTED_ERRORS) == sorted(FAILURES)


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_no_requests_exception_leaks(
    rsps: responses.RequestsMock, make_client: MakeClient, mode: str
) -> None:
    rsps.add(responses.GET, URL, **FAILURES[mode])

    with pytest.raises(FhirError) as info:
        make_client().search(QUERY)

    assert not isinstance(info.value, requests.RequestException)


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_failure_on_a_later_page_is_mapped_too(
    rsps: responses.RequestsMock, make_client: MakeClient, mode: str
) -> None:
    rsps.add(responses.GET, URL, json=page(1, next_url=f"{URL}&_page=2"))
    rsps.add(responses.GET, f"{URL}&_page=2", **FAILURES[mode])

    with pytest.raises(FhirError) as info:
        make_client().search(QUERY)

    assert not isinstance(info.value, requests.RequestException)


def test_unmatched_url_is_unavailable(make_client: MakeClient) -> None:
    # responses refuses unknown URLs with requests.ConnectionError, as a closed port would.
    with responses.RequestsMock(), pytest.raises(FhirUnavailableError, match="unreachable"):
        make_client().search(QUERY)


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_error_message_keeps_secrets(
    rsps: responses.RequestsMock, make_client: MakeClient, mode: str
) -> None:
    rsps.add(responses.GET, URL, **FAILURES[mode])

    with pytest.raises(FhirError) as info:
        make_client().search(QUERY)

    assert [s for s in (TOKEN, PATIENT, "patient=") if s in str(info.value)] == []


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://ehr.example/fhir", "(https://ehr.example)"),
        ("https://ehr.example:8443/fhir/r4", "(https://ehr.example:8443)"),
        ("https://svc:pa55w0rd@ehr.example/fhir", "(https://ehr.example)"),
    ],
    ids=["plain", "port", "userinfo"],
)
def test_unavailable_message_names_only_scheme_and_host(
    rsps: responses.RequestsMock, make_client: MakeClient, base_url: str, expected: str
) -> None:
    rsps.add(responses.GET, f"{base_url}/{QUERY}", status=503)

    with pytest.raises(FhirUnavailableError) as info:
        make_client(base_url).search(QUERY)

    assert str(info.value).endswith(expected)


def test_malformed_base_url_message_keeps_patient_id(
    rsps: responses.RequestsMock, make_client: MakeClient
) -> None:
    with pytest.raises(FhirUnavailableError) as info:
        make_client("ehr.example/fhir").search(QUERY)

    assert PATIENT not in str(info.value)


@pytest.mark.parametrize(
    "foreign",
    [
        "https://attacker.example/fhir/Observation?_page=2",
        "http://ehr.example/fhir/Observation?_page=2",
        "https://ehr.example:8443/fhir/Observation?_page=2",
    ],
    ids=["other-host", "other-scheme", "other-port"],
)
def test_next_link_to_another_origin_is_not_followed_with_the_token(
    rsps: responses.RequestsMock, make_client: MakeClient, foreign: str
) -> None:
    rsps.add(responses.GET, URL, json=page(1, next_url=foreign))
    rsps.add(responses.GET, foreign, json=page(2))

    bundles = make_client().search(QUERY)

    assert [call.request.url for call in rsps.calls] == [URL]
    assert bundles == [page(1, next_url=foreign)]


def test_a_first_url_on_another_origin_is_refused_before_any_request(
    rsps: responses.RequestsMock, make_client: MakeClient
) -> None:
    foreign = "https://attacker.example/fhir/Observation?_page=2"
    rsps.add(responses.GET, foreign, json=page(2))

    with pytest.raises(FhirResponseError, match=r"another host \(https://attacker.example\)"):
        make_client().search(foreign)

    assert list(rsps.calls) == []


# --- retries and the deadline -------------------------------------------------------------------


class FakeTime:
    """A clock that moves only when the client sleeps or a request is answered (``tick``)."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 0.0
        self.tick = tick
        self.slept: list[float] = []

    def clock(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def timed_client(fake: FakeTime, **options: Any) -> FhirClient:
    return FhirClient(
        BASE,
        access_token=TOKEN,
        session=requests.Session(),
        timeout=(0.5, 1.0),
        max_pages=5,
        sleep=fake.sleep,
        clock=fake.clock,
        **options,
    )


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_server_is_asked_again_after_a_backoff(
    rsps: responses.RequestsMock, status: int
) -> None:
    rsps.add(responses.GET, URL, status=status)
    rsps.add(responses.GET, URL, json=page(1))
    fake = FakeTime()

    bundles = timed_client(fake, retries=1, backoff=0.2).search(QUERY)

    assert (bundles, fake.slept, len(rsps.calls)) == ([page(1)], [0.2], 2)


def test_retry_after_is_honoured_and_backoff_doubles(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, URL, status=503, headers={"Retry-After": "1"})
    rsps.add(responses.GET, URL, status=503)
    rsps.add(responses.GET, URL, json=page(1))
    fake = FakeTime()

    timed_client(fake, retries=2, backoff=0.2, deadline=5.0).search(QUERY)

    assert fake.slept == [1.0, 0.4]


@pytest.mark.parametrize("status", [500, 502, 401, 404])
def test_other_failures_are_not_retried(rsps: responses.RequestsMock, status: int) -> None:
    rsps.add(responses.GET, URL, status=status)
    fake = FakeTime()

    with pytest.raises(FhirError):
        timed_client(fake, retries=3).search(QUERY)

    assert (fake.slept, len(rsps.calls)) == ([], 1)


def test_a_retry_that_would_overrun_the_deadline_is_not_made(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(responses.GET, URL, status=429, headers={"Retry-After": "30"})
    fake = FakeTime()

    with pytest.raises(FhirUnavailableError, match="error 429"):
        timed_client(fake, retries=3, deadline=2.0).search(QUERY)

    assert (fake.slept, len(rsps.calls)) == ([], 1)


def test_retries_give_up_after_their_count(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, URL, status=503)
    fake = FakeTime()

    with pytest.raises(FhirUnavailableError, match="error 503"):
        timed_client(fake, retries=2, backoff=0.1, deadline=10.0).search(QUERY)

    assert (fake.slept, len(rsps.calls)) == ([0.1, 0.2], 3)


def test_the_deadline_bounds_the_whole_search_across_pages(
    rsps: responses.RequestsMock,
) -> None:
    # Each page takes 0.9 s to answer: the third would be complete 2.7 s after the search
    # began, past its 2 s, so it is abandoned.
    fake = FakeTime()

    def slow(body: dict[str, Any]) -> Callable[[Any], tuple[int, dict[str, str], str]]:
        def answer(_: Any) -> tuple[int, dict[str, str], str]:
            fake.now += 0.9
            return 200, {}, json.dumps(body)

        return answer

    rsps.add_callback(responses.GET, URL, slow(page(1, next_url=f"{URL}&_page=2")))
    rsps.add_callback(responses.GET, f"{URL}&_page=2", slow(page(2, next_url=f"{URL}&_page=3")))
    rsps.add_callback(responses.GET, f"{URL}&_page=3", slow(page(3)))

    with pytest.raises(FhirUnavailableError, match=r"in time \(https://ehr\.example\)") as info:
        timed_client(fake, deadline=2.0).search(QUERY)

    assert (info.value.kind, len(rsps.calls)) == ("timeout", 3)


def test_each_request_waits_no_longer_than_the_time_left(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, URL, json=page(1))
    fake = FakeTime(tick=0.0)

    timed_client(fake, deadline=0.3).search(QUERY)

    assert rsps.calls[0].request.req_kwargs["timeout"] == (0.3, 0.3)


def test_an_http_date_retry_after_is_read() -> None:
    assert _retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # long past
    assert _retry_after({"Retry-After": "soon"}) is None


# --- transaction (vcf2fhir --post) -------------------------------------------------------------


def test_a_transaction_is_posted_to_the_base_with_the_token(
    rsps: responses.RequestsMock, make_client: MakeClient
) -> None:
    answer = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
    rsps.post(f"{BASE}/", json=answer)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}

    assert make_client().transaction(bundle) == answer
    [call] = rsps.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/fhir+json"


def test_a_refused_transaction_says_why(
    rsps: responses.RequestsMock, make_client: MakeClient
) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": "HAPI-0450: bad ref"}],
    }
    rsps.post(f"{BASE}/", json=outcome, status=400)
    with pytest.raises(FhirResponseError, match="400 HAPI-0450: bad ref"):
        make_client().transaction({"resourceType": "Bundle"})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"body": "<html>proxy</html>"}, FhirResponseError),
        ({"json": {"resourceType": "OperationOutcome"}}, FhirResponseError),
        ({"body": requests.ConnectionError("reset")}, FhirUnavailableError),
    ],
)
def test_a_transaction_answered_badly_is_an_error(
    rsps: responses.RequestsMock, make_client: MakeClient, kwargs: dict[str, Any], error: type
) -> None:
    rsps.post(f"{BASE}/", **kwargs)
    with pytest.raises(error):
        make_client().transaction({"resourceType": "Bundle"})
