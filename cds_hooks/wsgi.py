"""WSGI entry point for servers other than ``pgx-cds serve``: ``gunicorn cds_hooks.wsgi:app``.

A knowledge folder is polled for changes by the process importing this module; the server owns
the signals, so no SIGHUP handler. Without ``pgx-cds serve`` each worker loads the folder itself:
one started while the folder is broken fails to boot (docs/configuration.md, Hot reload).
"""

from cds_hooks.app import create_app, start_knowledge_reload
from cds_hooks.config import settings_from_environment
from cds_hooks.request_log import configure_logging

_settings = settings_from_environment()
configure_logging(_settings)
app = create_app(_settings)
start_knowledge_reload(app, sighup=False)
