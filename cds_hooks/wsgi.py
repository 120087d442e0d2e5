"""WSGI entry point for servers other than ``pgx-cds serve``: ``gunicorn cds_hooks.wsgi:app``."""

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.request_log import configure_logging

_settings = Settings()
configure_logging(_settings)
app = create_app(_settings)
