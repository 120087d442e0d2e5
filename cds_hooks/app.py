"""The application factory: one Flask app with discovery, hooks, feedback and health blueprints."""

from __future__ import annotations

import logging
import os
import urllib.request

import requests
from flask import Flask
from flask_cors import CORS

from cds_hooks import discovery, feedback, health, hooks, metrics_endpoint, openapi
from cds_hooks.auth import install_auth
from cds_hooks.body_limit import install_body_limit
from cds_hooks.config import Settings, settings_from_environment
from cds_hooks.console import install_console
from cds_hooks.errors import register_error_handlers
from cds_hooks.feedback_store import FeedbackStore
from cds_hooks.knowledge_reload import KnowledgeHolder, KnowledgeWatcher
from cds_hooks.request_log import install_request_log
from cds_hooks.state import EXTENSION_KEY, ServiceState
from knowledge import KnowledgeBase

__all__ = ["create_app", "fhir_session", "start_knowledge_reload"]

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, knowledge: KnowledgeBase | KnowledgeHolder | None = None
) -> Flask:
    """Build the service. Knowledge that fails its checks stops start-up with every error listed.

    ``knowledge`` defaults to loading ``settings.knowledge_dir``; a holder is shared as it is (a
    gunicorn worker inherits the master's). Reload triggers start separately, in the serving
    process: :func:`start_knowledge_reload`.
    """
    settings = settings or settings_from_environment()
    if isinstance(knowledge, KnowledgeHolder):
        holder = knowledge
    elif knowledge is None:
        holder = KnowledgeHolder.load(settings.knowledge_dir)
    else:
        holder = KnowledgeHolder(knowledge, settings.knowledge_dir)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions[EXTENSION_KEY] = ServiceState(
        settings=settings,
        knowledge=holder,
        feedback=FeedbackStore(settings.database_url),
        http=fhir_session(),
    )
    if settings.cors_origins:
        CORS(
            app,
            origins=settings.cors_origins,
            methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Content-Type", "Authorization"],
            max_age=3600,
        )
    register_error_handlers(app)
    install_request_log(app, settings)
    install_auth(app, settings)
    install_body_limit(app, settings.max_request_bytes)
    for blueprint in (discovery.bp, hooks.bp, feedback.bp, health.bp, openapi.bp):
        app.register_blueprint(blueprint)
    if settings.metrics:
        app.register_blueprint(metrics_endpoint.bp)
    install_console(app, settings)
    log.info(
        "knowledge loaded",
        extra={**holder.current.summary, "knowledge_dir": str(settings.knowledge_dir or "bundled")},
    )
    return app


def fhir_session() -> requests.Session:
    """The pooled session for FHIR callbacks.

    requests reads the proxy variables and ~/.netrc again for every request (a few hundred µs
    each, several searches per hook). Without a proxy configured there is nothing to read, and
    credentials from .netrc must not reach an EHR's server anyway: then the session reads none,
    and the CA bundle a site names (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) is set here once.
    """
    session = requests.Session()
    session.trust_env = bool(urllib.request.getproxies())
    if not session.trust_env:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
    return session


def start_knowledge_reload(app: Flask, *, sighup: bool) -> KnowledgeWatcher | None:
    """Reload a changed knowledge folder in this process: poll it, and with ``sighup`` on SIGHUP.

    Call it in the process that serves requests (a thread does not survive fork) and, for SIGHUP,
    from its main thread. ``None`` when there is nothing to do: bundled knowledge and no SIGHUP.
    """
    state = app.extensions[EXTENSION_KEY]
    assert isinstance(state, ServiceState)
    if not state.knowledge.reloadable:
        log.info(
            "knowledge reload off: the bundled knowledge is not reloadable; "
            "set PGX_CDS_KNOWLEDGE_DIR to a folder to reload it without a restart"
        )
        if not sighup:
            return None
    watcher = KnowledgeWatcher(state.knowledge, state.settings.knowledge_reload_interval)
    watcher.start(sighup=sighup)
    return watcher
