"""Run the app under gunicorn from ``pgx-cds serve``, without a separate config file.

Knowledge: the master loads it once (a broken folder stops start-up) and workers inherit it by
fork; they never load it to boot, so a worker (re)started while the folder holds a broken version
still boots, with the last good one. The master polls the folder like the workers do and checks it
again before each fork. ``kill -HUP <master>`` is gunicorn's graceful worker restart, which thus
re-reads the folder; ``kill -HUP <worker>`` reloads that worker in place.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from cds_hooks.app import create_app, start_knowledge_reload
from cds_hooks.config import Settings
from cds_hooks.knowledge_reload import KnowledgeHolder, KnowledgeWatcher
from cds_hooks.request_log import logging_config

__all__ = ["GunicornApp"]

log = logging.getLogger(__name__)


class GunicornApp(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(
        self, settings: Settings, knowledge: KnowledgeHolder, options: dict[str, Any]
    ) -> None:
        self._settings = settings
        self._knowledge = knowledge
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        # gunicorn's own lines (start-up, access) go out as the same JSON lines as ours.
        self.cfg.set("logconfig_dict", logging_config(self._settings))
        # No runtime-management socket in $HOME: nothing here needs one, and it is attack surface.
        self.cfg.set("control_socket_disable", True)
        self.cfg.set("when_ready", self._when_ready)
        self.cfg.set("pre_fork", self._pre_fork)

    def _when_ready(self, server: Any) -> None:
        """In the master, once: poll the folder so later workers inherit the newest good version."""
        interval = self._settings.knowledge_reload_interval
        if self._knowledge.reloadable and interval > 0:
            self._knowledge.guard_forks()
            KnowledgeWatcher(self._knowledge, interval).start()

    def _pre_fork(self, server: Any, worker: Any) -> None:
        """In the master, before each fork: the new worker inherits the newest good knowledge."""
        try:
            self._knowledge.reload_if_changed()
        except Exception:
            # A bug in reloading must not stop the master spawning workers: they keep the last good.
            log.exception("knowledge reload failed in the gunicorn master")

    def load(self) -> Flask:
        # In the worker, after gunicorn set its signals: our SIGHUP handler replaces the default
        # (which would end the worker mid-request).
        app = create_app(self._settings, self._knowledge)
        start_knowledge_reload(app, sighup=True)
        return app
