"""The application factory: one Flask app with discovery, hooks, feedback and health blueprints."""

from __future__ import annotations

import logging

import requests
from flask import Flask
from flask_cors import CORS

from cds_hooks import discovery, feedback, health, hooks
from cds_hooks.config import Settings
from cds_hooks.errors import register_error_handlers
from cds_hooks.feedback_store import FeedbackStore
from cds_hooks.request_log import install_request_log
from cds_hooks.state import EXTENSION_KEY, ServiceState
from knowledge import KnowledgeBase, load_knowledge_base

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, knowledge: KnowledgeBase | None = None) -> Flask:
    """Build the service. Knowledge that fails its checks stops start-up with every error listed."""
    settings = settings or Settings()
    if knowledge is None:
        knowledge = load_knowledge_base(settings.knowledge_dir)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the spec's field order
    app.extensions[EXTENSION_KEY] = ServiceState(
        settings=settings,
        knowledge=knowledge,
        feedback=FeedbackStore(settings.database_url),
        http=requests.Session(),
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
    for blueprint in (discovery.bp, hooks.bp, feedback.bp, health.bp):
        app.register_blueprint(blueprint)
    log.info("knowledge loaded", extra=knowledge.summary)
    return app
