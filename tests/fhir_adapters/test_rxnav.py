"""RxNavClient: product code → ingredient RXCUIs, cached, bounded, and silent about failures."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from fhir_adapters import RxNavClient

RXNAV = "https://rxnav.example/REST"

# RxNorm concepts used below (RXCUIs as NLM publishes them).
CLOPIDOGREL = ("32968", "clopidogrel")
TRAMADOL = ("10689", "tramadol")
CELECOXIB = ("140587", "celecoxib")
PLAVIX_75_TABLET = "213169"  # SBD  Plavix 75 MG Oral Tablet
CLOPIDOGREL_75_TABLET = "309362"  # SCD  clopidogrel 75 MG Oral Tablet
SEGLENTIS_TABLET = "2588484"  # SBD  celecoxib 56 MG / tramadol hydrochloride 44 MG [Seglentis]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def related(*ingredients: tuple[str, str]) -> dict[str, Any]:
    """A getRelatedByType answer for ``tty=IN``, shaped as RxNav sends it."""
    group: dict[str, Any] = {"tty": "IN"}
    if ingredients:
        group["conceptProperties"] = [
            {
                "rxcui": rxcui,
                "name": name,
                "synonym": "",
                "tty": "IN",
                "language": "ENG",
                "suppress": "N",
                "umlscui": "",
            }
            for rxcui, name in ingredients
        ]
    return {"relatedGroup": {"rxcui": "", "termType": ["IN"], "conceptGroup": [group]}}


def answer(rxcui: str, body: Any = None, *, status: int = 200, **kwargs: Any) -> None:
    responses.get(
        f"{RXNAV}/rxcui/{rxcui}/related.json",
        match=[matchers.query_param_matcher({"tty": "IN"})],
        json=body,
        status=status,
        **kwargs,
    )


def fail(rxcui: str, error: Exception) -> None:
    responses.get(f"{RXNAV}/rxcui/{rxcui}/related.json", body=error)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> RxNavClient:
    return RxNavClient(RXNAV, timeout=0.8, ttl=3600, negative_ttl=600, retry_after=30, clock=clock)


@responses.activate
@pytest.mark.parametrize(
    ("rxcui", "body", "expected"),
    [
        (PLAVIX_75_TABLET, related(CLOPIDOGREL), {"32968"}),
        (CLOPIDOGREL_75_TABLET, related(CLOPIDOGREL), {"32968"}),
        (SEGLENTIS_TABLET, related(CELECOXIB, TRAMADOL), {"140587", "10689"}),
        ("999999999", related(), set()),
        ("999999999", {"relatedGroup": {"rxcui": "", "termType": ["IN"]}}, set()),
        ("999999999", {"relatedGroup": {"rxcui": "", "conceptGroup": None}}, set()),
    ],
    ids=[
        "branded-drug",
        "clinical-drug",
        "two-ingredients",
        "empty-group",
        "no-groups",
        "null-groups",
    ],
)
def test_ingredients_of_a_product(
    client: RxNavClient, rxcui: str, body: dict[str, Any], expected: set[str]
) -> None:
    answer(rxcui, body)

    assert client.ingredients(rxcui) == frozenset(expected)


@responses.activate
def test_other_term_types_in_the_answer_are_not_ingredients(client: RxNavClient) -> None:
    body = related(CELECOXIB, TRAMADOL)
    body["relatedGroup"]["conceptGroup"].append(
        {"tty": "MIN", "conceptProperties": [{"rxcui": "2588476", "tty": "MIN"}]}
    )
    answer(SEGLENTIS_TABLET, body)

    assert client.ingredients(SEGLENTIS_TABLET) == {"140587", "10689"}


@responses.activate
def test_request_asks_for_ingredients_with_both_timeouts(client: RxNavClient) -> None:
    answer(PLAVIX_75_TABLET, related(CLOPIDOGREL))

    client.ingredients(PLAVIX_75_TABLET)

    (call,) = responses.calls
    assert call.request.url == f"{RXNAV}/rxcui/{PLAVIX_75_TABLET}/related.json?tty=IN"
    assert call.request.headers["Accept"] == "application/json"
    assert call.request.req_kwargs["timeout"] == (0.8, 0.8)


@responses.activate
def test_base_url_may_end_with_a_slash(clock: Clock) -> None:
    answer(PLAVIX_75_TABLET, related(CLOPIDOGREL))

    client = RxNavClient(RXNAV + "/", clock=clock)

    assert client.ingredients(PLAVIX_75_TABLET) == {"32968"}


@responses.activate
def test_a_cached_answer_costs_no_second_call(client: RxNavClient, clock: Clock) -> None:
    answer(PLAVIX_75_TABLET, related(CLOPIDOGREL))

    first = client.ingredients(PLAVIX_75_TABLET)
    clock.now += 3599
    second = client.ingredients(PLAVIX_75_TABLET)

    assert first == second == {"32968"}
    assert len(responses.calls) == 1


@responses.activate
def test_an_answer_is_asked_again_once_its_ttl_has_passed(
    client: RxNavClient, clock: Clock
) -> None:
    answer(PLAVIX_75_TABLET, related(CLOPIDOGREL))
    client.ingredients(PLAVIX_75_TABLET)

    clock.now += 3601
    again = client.ingredients(PLAVIX_75_TABLET)

    assert again == {"32968"}
    assert len(responses.calls) == 2


@responses.activate
def test_an_answer_without_ingredients_is_kept_for_the_shorter_negative_ttl(
    client: RxNavClient, clock: Clock
) -> None:
    answer("999999999", related())
    client.ingredients("999999999")

    clock.now += 599
    client.ingredients("999999999")
    assert len(responses.calls) == 1
    clock.now += 2
    client.ingredients("999999999")
    assert len(responses.calls) == 2


def test_negative_ttl_is_never_longer_than_the_ttl(clock: Clock) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{RXNAV}/rxcui/1/related.json", json=related())
        client = RxNavClient(RXNAV, ttl=60, negative_ttl=600, clock=clock)
        client.ingredients("1")
        clock.now += 61
        client.ingredients("1")

        assert len(mock.calls) == 2


@responses.activate
def test_the_cache_is_bounded_and_forgets_the_least_recently_used(clock: Clock) -> None:
    for rxcui in ("1", "2", "3"):
        answer(rxcui, related(CLOPIDOGREL))
    client = RxNavClient(RXNAV, cache_size=2, clock=clock)

    client.ingredients("1")
    client.ingredients("2")
    client.ingredients("1")  # "2" is now the least recently used
    client.ingredients("3")  # evicts "2"
    client.ingredients("1")
    client.ingredients("2")

    assert [c.request.url.split("/")[-2] for c in responses.calls] == ["1", "2", "3", "2"]


@responses.activate
@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (requests.ReadTimeout("read timed out"), "timeout"),
        (requests.ConnectTimeout("connect timed out"), "timeout"),
        (requests.ConnectionError("connection refused"), "unreachable"),
    ],
    ids=["read-timeout", "connect-timeout", "refused"],
)
def test_transport_failure_is_unknown_and_logged_once(
    client: RxNavClient, caplog: pytest.LogCaptureFixture, error: Exception, reason: str
) -> None:
    fail(PLAVIX_75_TABLET, error)

    with caplog.at_level(logging.INFO, logger="fhir_adapters"):
        first = client.ingredients(PLAVIX_75_TABLET)
        second = client.ingredients(PLAVIX_75_TABLET)

    assert first is None
    assert second is None
    assert len(responses.calls) == 1
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert (record.event, record.rxcui, record.reason) == (  # type: ignore[attr-defined]
        "rxnav_lookup_failed",
        PLAVIX_75_TABLET,
        reason,
    )


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_an_outage_pauses_every_lookup_for_a_while(
    client: RxNavClient, clock: Clock, status: int
) -> None:
    answer(PLAVIX_75_TABLET, {"error": "down"}, status=status)
    answer(CLOPIDOGREL_75_TABLET, related(CLOPIDOGREL))

    assert client.ingredients(PLAVIX_75_TABLET) is None
    clock.now += 29
    assert client.ingredients(CLOPIDOGREL_75_TABLET) is None
    assert len(responses.calls) == 1
    clock.now += 2
    assert client.ingredients(CLOPIDOGREL_75_TABLET) == {"32968"}
    assert len(responses.calls) == 2


@responses.activate
def test_a_failed_code_is_asked_again_after_retry_after(client: RxNavClient, clock: Clock) -> None:
    answer(PLAVIX_75_TABLET, {"error": "down"}, status=503)
    answer(PLAVIX_75_TABLET, related(CLOPIDOGREL))

    assert client.ingredients(PLAVIX_75_TABLET) is None
    clock.now += 31
    assert client.ingredients(PLAVIX_75_TABLET) == {"32968"}


@responses.activate
@pytest.mark.parametrize("status", [400, 404])
def test_a_refusal_is_unknown_but_other_codes_are_still_looked_up(
    client: RxNavClient, status: int
) -> None:
    answer("1", {"error": "bad"}, status=status)
    answer(PLAVIX_75_TABLET, related(CLOPIDOGREL))

    assert client.ingredients("1") is None
    assert client.ingredients(PLAVIX_75_TABLET) == {"32968"}


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        "<html><body>Service Unavailable</body></html>",
        "",
        "[]",
        '{"relatedGroup": []}',
        '{"idGroup": {"rxnormId": ["32968"]}}',
        '{"relatedGroup": {"conceptGroup": {"tty": "IN"}}}',
        '{"relatedGroup": {"conceptGroup": ["IN"]}}',
        '{"relatedGroup": {"conceptGroup": [{"tty": "IN", "conceptProperties": {}}]}}',
        '{"relatedGroup": {"conceptGroup": [{"tty": "IN", "conceptProperties": [null]}]}}',
        '{"relatedGroup": {"conceptGroup": [{"tty": "IN", "conceptProperties": [{"rxcui": 32968}]}]}}',
        '{"relatedGroup": {"conceptGroup": [{"tty": "IN", "conceptProperties": [{"name": "x"}]}]}}',
    ],
    ids=[
        "html",
        "empty",
        "array",
        "group-not-object",
        "other-api",
        "groups-not-list",
        "group-not-object-item",
        "concepts-not-list",
        "concept-null",
        "rxcui-number",
        "rxcui-missing",
    ],
)
def test_a_body_that_is_not_rxnav_json_is_unknown(
    client: RxNavClient, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    responses.get(f"{RXNAV}/rxcui/1/related.json", body=body)

    with caplog.at_level(logging.INFO, logger="fhir_adapters"):
        assert client.ingredients("1") is None

    assert [r.getMessage() for r in caplog.records] == ["RxNav lookup failed: not RxNav's JSON"]


@responses.activate
@pytest.mark.parametrize(
    "rxcui", ["", "abc", "213169/../../x", "2131 69", "-1", "\uff11\uff12", "1" * 13], ids=repr
)
def test_a_code_that_is_not_an_rxcui_is_never_sent(client: RxNavClient, rxcui: str) -> None:
    assert client.ingredients(rxcui) is None
    assert len(responses.calls) == 0


def test_zero_cache_size_is_refused() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        RxNavClient(RXNAV, cache_size=0)


def test_concurrent_lookups_share_one_bounded_cache(clock: Clock) -> None:
    codes = [str(n) for n in range(1, 41)]
    errors: list[BaseException] = []
    results: dict[str, frozenset[str] | None] = {}
    client = RxNavClient(RXNAV, cache_size=16, clock=clock)

    def work(offset: int) -> None:
        try:
            for code in codes[offset:] + codes[:offset]:
                results[code] = client.ingredients(code)
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for code in codes:
            mock.get(f"{RXNAV}/rxcui/{code}/related.json", json=related((code, "x")))
        threads = [threading.Thread(target=work, args=(n * 5,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert results == {code: frozenset({code}) for code in codes}
    assert len(client) == 16
