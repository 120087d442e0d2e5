"""The console in a real browser: Debian's chromium, driven by Playwright, against ``pgx-cds serve``.

The service runs as in production (gunicorn, Basic sign-in, SQLite) on a free loopback port; the
hooks and feedback are called over HTTP as an EHR would. Without chromium these tests skip, unless
``PGX_CDS_REQUIRE_BROWSER=1`` (set by ``make test``), when they fail. Each test saves full-page
screenshots to ``var/console-screenshots/``, and also to ``docs/console/`` (the README's pictures)
when ``PGX_CDS_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright

from cds_hooks.console.access import hash_password
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch
from tests.serving import REPO, kill_group, start_serve

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("PGX_CDS_CHROMIUM", "/usr/bin/chromium"))
# The flags Chromium needs on a machine with a closed network and, as root, no sandbox; Playwright
# adds --headless and a fresh --user-data-dir of its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "var" / "console-screenshots"
DOCS_SCREENSHOTS = REPO / "docs" / "console"
USER = "pharmacist"
PASSWORD = "a long pass phrase for the console"
# Fewer rounds than the default: every request of every page verifies the password.
ROUNDS = 10_000
TIMEOUT_MS = 15_000
OVERRIDE_SYSTEM = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"


def _chromium() -> Path:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = (
        f"{CHROMIUM} not found (Debian package chromium; make test installs it, or set "
        "PGX_CDS_CHROMIUM to another Chromium)"
    )
    if os.environ.get("PGX_CDS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{message}, and PGX_CDS_REQUIRE_BROWSER=1 requires it")
    pytest.skip(message)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service's base URL: console on with Basic sign-in, EHR auth off, a fresh SQLite."""
    folder = tmp_path_factory.mktemp("console-browser")
    users = folder / "console-users.yaml"
    users.write_text(f"users:\n  {USER}: {hash_password(PASSWORD, iterations=ROUNDS)}\n")
    env = {
        "PGX_CDS_CONSOLE": "on",
        "PGX_CDS_CONSOLE_AUTH": "basic",
        "PGX_CDS_CONSOLE_USERS": str(users),
        "PGX_CDS_DATABASE_URL": f"sqlite:///{folder}/feedback.sqlite3",
        "PGX_CDS_AUTH": "off",
        "PGX_CDS_RXNAV_URL": "off",
        "PGX_CDS_LOG_LEVEL": "WARNING",
    }
    process, url = start_serve(folder, env, workers=1, log=folder / "serve.log")
    yield url
    kill_group(process)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    _chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@contextmanager
def _signed_in(browser: Browser, base: str, password: str) -> Iterator[Page]:
    """A page in a fresh browser context that answers Basic challenges with ``password``."""
    context = browser.new_context(
        base_url=base,
        http_credentials={"username": USER, "password": password},
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, base: str) -> Iterator[Page]:
    """A fresh browser context signed in as the pharmacist."""
    with _signed_in(browser, base, PASSWORD) as page:
        yield page


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """What the page logs as errors: a CSP violation or a failed stylesheet shows up here."""
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        # Chromium asks for /favicon.ico on its own; the service has none.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("PGX_CDS_UPDATE_SCREENSHOTS") == "1":
        # The committed copies show the first screen only: a full knowledge page is megabytes.
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize(
    "password", [pytest.param("not the password", id="wrong"), pytest.param("", id="empty")]
)
def test_a_wrong_password_gets_401(browser: Browser, base: str, password: str) -> None:
    with _signed_in(browser, base, password) as page:
        response = page.goto("/console/")

        assert response is not None
        assert response.status == 401
        assert response.headers["www-authenticate"].startswith('Basic realm="pgx-cds console"')
        expect(page.locator("body")).to_have_text("Sign-in required.")


# (screenshot name, path, heading, a selector only that page has)
PAGES = [
    ("home", "/console/", "Pharmacogenomic CDS console", "main a[href='/console/knowledge']"),
    ("knowledge", "/console/knowledge", "Knowledge", "tr[data-guideline='cpic-clopidogrel']"),
    ("try", "/console/try", "Try a patient", "form textarea#genotypes"),
    ("alerts", "/console/alerts", "Alerts", "p.alert-summary"),
    ("health", "/console/health", "Service health", "td[data-knowledge='version']"),
]


@pytest.mark.parametrize(
    ("name", "path", "heading", "marker"), [pytest.param(*p, id=p[0]) for p in PAGES]
)
def test_each_page_renders_signed_in(
    page: Page, console_errors: list[str], name: str, path: str, heading: str, marker: str
) -> None:
    response = page.goto(path)

    assert response is not None
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(page.locator("h1")).to_contain_text(heading)
    expect(page.locator(marker).first).to_be_visible()
    # Every page links every other, marks itself, and names who signed in.
    expect(page.locator("header nav a")).to_have_count(len(PAGES))
    expect(page.locator("header nav a[aria-current='page']")).to_have_attribute("href", path)
    expect(page.locator("header .user")).to_have_text(USER)
    # The stylesheet loaded under the CSP: the header is laid out by it, not the browser default.
    assert page.evaluate("document.styleSheets.length") >= 1
    screenshot(page, name)
    assert console_errors == []


def test_pharmacist_finds_the_clopidogrel_guideline(page: Page, console_errors: list[str]) -> None:
    page.goto("/console/knowledge")
    page.get_by_label("Drug or gene").fill("clopidogrel")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(f"{page.url.split('?')[0]}?q=clopidogrel")
    expect(page.locator("[data-search-result='found']")).to_contain_text("clopidogrel")
    expect(page.locator("tr[data-guideline='cpic-clopidogrel']")).to_be_visible()
    # Only guidelines about clopidogrel are listed: warfarin's is not.
    expect(page.locator("tr[data-guideline='cpic-warfarin']")).to_have_count(0)
    page.get_by_role("link", name="cpic-clopidogrel", exact=True).click()

    expect(page).to_have_url(
        f"{page.url.split('/console/')[0]}/console/knowledge/guidelines/cpic-clopidogrel"
    )
    expect(page.locator("td[data-guideline='cpic-clopidogrel']")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Clopidogrel", ignore_case=True)
    expect(page.locator("table[data-table='recommendations'] tbody tr").first).to_be_visible()
    case = page.locator("tr[data-case='poor metabolizer is steered to an alternative']")
    expect(case).to_have_attribute("data-case-status", "ok")
    screenshot(page, "knowledge-guideline")
    assert console_errors == []


def test_try_a_poor_metabolizer_on_clopidogrel(page: Page, console_errors: list[str]) -> None:
    page.goto("/console/try")
    page.locator("#genotypes").fill("CYP2C19 *2/*2")
    page.locator("#drug").fill("clopidogrel")
    page.get_by_role("button", name="Show the cards").click()

    result = page.locator("section[data-result]")
    expect(result).to_have_attribute("data-drug", "clopidogrel")
    card = result.locator("section[data-card]")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-indicator", "warning")
    expect(card).to_have_class("card warning")
    # The indicator's colour is the stylesheet's, as the browser paints it.
    expect(card).to_have_css("border-left-color", "rgb(230, 167, 0)")
    expect(card.locator("[data-field='summary']")).to_contain_text(
        "Clopidogrel: CYP2C19 Poor Metabolizer (*2/*2). CPIC advises an alternative drug"
    )
    suggestions = card.locator("li[data-suggestion] [data-field='label']")
    expect(suggestions.first).to_contain_text("Replace clopidogrel with prasugrel")
    expect(card.locator("li[data-suggestion] li[data-action='create']").first).to_contain_text(
        "prasugrel"
    )
    screenshot(page, "try-clopidogrel-poor-metabolizer")
    assert console_errors == []


def _call_hook(base: str, patient: str) -> dict[str, Any]:
    """One order-sign call for a CYP2C19 poor metabolizer ordering clopidogrel: its one card."""
    body = hook_request(
        medication_request(patient=patient),
        patient=patient,
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2", patient=patient)),
    )
    response = requests.post(f"{base}/cds-services/pgx-order-sign", json=body, timeout=10)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert isinstance(card, dict)
    return card


def _feedback(base: str, item: dict[str, Any]) -> None:
    item = {**item, "outcomeTimestamp": datetime.now(UTC).isoformat(timespec="seconds")}
    response = requests.post(
        f"{base}/cds-services/pgx-order-sign/feedback", json={"feedback": [item]}, timeout=10
    )
    assert response.status_code == 200, response.text


def test_alerts_page_counts_real_hook_calls_and_feedback(
    page: Page, base: str, console_errors: list[str]
) -> None:
    # Four poor metabolizers get the clopidogrel card; one prescriber takes the swap, one
    # overrides it: an override rate of 25 %.
    cards = [_call_hook(base, f"alerts-{uuid.uuid4().hex[:8]}") for _ in range(4)]
    _feedback(
        base,
        {
            "card": cards[0]["uuid"],
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": cards[0]["suggestions"][0]["uuid"]}],
        },
    )
    _feedback(
        base,
        {
            "card": cards[1]["uuid"],
            "outcome": "overridden",
            "overrideReason": {
                "reason": {"code": "patient-contraindication", "system": OVERRIDE_SYSTEM}
            },
        },
    )

    row = page.locator("tr[data-topic='cpic-clopidogrel']")
    # The service writes its card log in the background, about once a second.
    deadline = time.monotonic() + 10
    while True:
        page.goto("/console/alerts")
        shown = row.locator("td[data-field='shown']")
        if (shown.count() and shown.inner_text().strip() == "4") or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    expect(row.locator("td[data-field='shown']")).to_have_text("4")
    expect(row.locator("td[data-field='accepted']")).to_have_text("1")
    expect(row.locator("td[data-field='overridden']")).to_have_text("1")
    expect(row.locator("td[data-field='override_rate']")).to_have_attribute("data-value", "25")
    expect(row.locator("td[data-reason='patient-contraindication']")).to_have_text("1")
    expect(page.locator("[data-total='shown']")).to_have_text("4")
    expect(page.locator("[data-total='overridden']")).to_have_text("1")
    # The charts are inline SVG, drawn without a script (the CSP allows none inline).
    chart = page.locator("figure[data-chart='override-rate'] svg")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("25")
    expect(page.locator("figure[data-chart='per-day'] svg")).to_be_visible()
    screenshot(page, "alerts-after-feedback")
    assert console_errors == []
