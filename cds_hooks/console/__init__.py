"""The web console at /console: knowledge browser, try a patient, alert analytics, service health.

Off unless ``PGX_CDS_CONSOLE=on``. People sign in to it (``console_auth``), unlike the EHR, which
presents a JWT to the hooks: ``install_console`` exempts /console from the JWT check and puts its
own in front. Each page family is its own blueprint module; this package only wires them.
"""

from __future__ import annotations

from flask import Flask

from cds_hooks.config import Settings
from cds_hooks.console.access import install_console_access
from cds_hooks.console.pages import PAGES, bp

__all__ = ["CONSOLE_PREFIX", "PAGES", "install_console"]

CONSOLE_PREFIX = "/console"


def install_console(app: Flask, settings: Settings) -> None:
    """Serve the console when ``settings.console`` is on; do nothing otherwise."""
    if not settings.console:
        return
    install_console_access(app, settings, CONSOLE_PREFIX)
    # The page modules add their views to the blueprint when imported.
    from cds_hooks.console import alerts, health_page, knowledge_pages, try_patient  # noqa: F401

    app.register_blueprint(bp, url_prefix=CONSOLE_PREFIX)
