"""The console's blueprint, its navigation and its home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from cds_hooks.state import service_state

__all__ = ["PAGES", "bp"]

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static")

# (endpoint, label) of the pages in the navigation bar, in order.
PAGES: tuple[tuple[str, str], ...] = (
    ("console.home", "Home"),
    ("console.knowledge", "Knowledge"),
    ("console.try_patient", "Try a patient"),
    ("console.alerts", "Alerts"),
    ("console.health", "Service health"),
)


@bp.context_processor
def _navigation() -> dict[str, object]:
    return {"pages": PAGES}


@bp.get("/")
def home() -> str:
    kb = service_state().knowledge.current
    return render_template("console/home.html", kb=kb)
