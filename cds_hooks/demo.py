"""``pgx-cds demo``: send the bundled example hook requests and print the cards as an EHR would."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import requests

__all__ = ["DemoCase", "demo_cases", "render_response", "run_demo"]

_MARKS = {"info": "INFO", "warning": "WARNING", "critical": "CRITICAL"}


@dataclass(frozen=True, slots=True)
class DemoCase:
    name: str
    title: str
    service: str
    request: dict[str, Any]


def demo_cases() -> list[DemoCase]:
    """The example requests shipped in ``cds_hooks/examples``, in file-name order."""
    folder = resources.files("cds_hooks").joinpath("examples")
    cases = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            cases.append(
                DemoCase(
                    entry.name.removesuffix(".json"),
                    data["title"],
                    data["service"],
                    data["request"],
                )
            )
    return cases


def render_response(status: int, body: Any) -> Iterator[str]:
    """The cards of one answer as plain lines: indicator, summary, source, suggestions."""
    if status != 200 or not isinstance(body, dict):
        yield f"  HTTP {status}: {json.dumps(body)}"
        return
    cards = body.get("cards", [])
    yield f"  HTTP 200 · {len(cards)} card{'s' if len(cards) != 1 else ''}"
    for card in cards:
        yield f"  [{_MARKS.get(card.get('indicator'), card.get('indicator'))}] {card['summary']}"
        source = card.get("source", {})
        yield f"      source: {source.get('label')} {source.get('url', '')}".rstrip()
        first = str(card.get("detail", "")).splitlines()[:1]
        yield from (f"      {line}" for line in first)
        if card.get("suggestions"):
            yield f"      suggestions ({card.get('selectionBehavior')}):"
            for suggestion in card["suggestions"]:
                kinds = ", ".join(a["type"] for a in suggestion.get("actions", []))
                yield f"        • {suggestion['label']}  [{kinds}]"


def run_demo(url: str | None, echo: Callable[[str], None]) -> int:
    """Send every example; returns 0 when every request was answered with HTTP 200."""
    cases = demo_cases()
    failures = 0
    with contextlib.ExitStack() as stack:
        send = _remote(url) if url else stack.enter_context(_in_process())
        for number, case in enumerate(cases, 1):
            echo(f"── {number}. {case.title}  ({case.service})")
            status, body = send(case)
            failures += status != 200
            for line in render_response(status, body):
                echo(line)
            echo("")
    echo(
        f"{len(cases)} example requests sent to {url or 'an in-process service'}, "
        f"{len(cases) - failures} answered with HTTP 200"
    )
    return 1 if failures else 0


Sender = Callable[[DemoCase], tuple[int, Any]]


def _remote(url: str) -> Sender:
    base = url.rstrip("/")

    def send(case: DemoCase) -> tuple[int, Any]:
        try:
            response = requests.post(
                f"{base}/cds-services/{case.service}", json=case.request, timeout=10
            )
        except requests.RequestException as exc:
            return 0, {"error": f"could not reach {base}: {exc.__class__.__name__}"}
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"error": response.text[:200]}

    return send


@contextlib.contextmanager
def _in_process() -> Iterator[Sender]:
    """A service of its own, in a scratch folder, closed and removed when the demo ends."""
    from cds_hooks.app import create_app
    from cds_hooks.config import Settings

    with tempfile.TemporaryDirectory(prefix="pgx-cds-demo-") as scratch:
        # In this process only, no network: there is no EHR whose JWT could be checked.
        app = create_app(
            Settings(database_url=f"sqlite:///{scratch}/demo-feedback.sqlite3", auth="off")
        )
        client = app.test_client()

        def send(case: DemoCase) -> tuple[int, Any]:
            response = client.post(f"/cds-services/{case.service}", json=case.request)
            return response.status_code, response.get_json(silent=True)

        try:
            yield send
        finally:
            app.extensions["pgx_cds"].feedback.close()
