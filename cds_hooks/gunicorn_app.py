"""Run the app under gunicorn from ``pgx-cds serve``, without a separate config file.

Knowledge: the master loads it once (a broken folder stops start-up) and workers inherit it by
fork; they never load it to boot, so a worker (re)started while the folder holds a broken version
still boots, with the last good one. The master polls the folder like the workers do and checks it
again before each fork. ``kill -HUP <master>`` is gunicorn's graceful worker restart, which thus
re-reads the folder; ``kill -HUP <worker>`` reloads that worker in place.

Metrics: the workers write their figures to files in one folder (``PROMETHEUS_MULTIPROC_DIR``, a
fresh private temporary folder unless the operator set one) that any worker reads for
``/metrics``. It is set in :meth:`GunicornApp.run`, before the first fork and before anything
records a metric (cds_hooks.metrics says why that order matters), and removed at shut-down.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from cds_hooks.app import create_app, start_knowledge_reload
from cds_hooks.config import Settings
from cds_hooks.knowledge_reload import KnowledgeHolder, KnowledgeWatcher
from cds_hooks.metrics import multiprocess_dir, use_multiprocess_dir
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
        self.cfg.set("child_exit", self._child_exit)

    def run(self) -> None:
        """Serve until gunicorn stops; with metrics on, the workers share them through a folder."""
        created: Path | None = None
        if self._settings.metrics:
            folder = multiprocess_dir()
            if folder is None:
                created = folder = Path(tempfile.mkdtemp(prefix="pgx-cds-metrics-"))
            use_multiprocess_dir(folder)
        master = os.getpid()
        try:
            super().run()
        finally:
            # A worker leaves through here too (gunicorn ends it with sys.exit): only the master
            # removes the folder, once every worker is gone.
            if created is not None and os.getpid() == master:
                shutil.rmtree(created, ignore_errors=True)

    def _child_exit(self, server: Any, worker: Any) -> None:
        """In the master, when a worker ended: its live gauges stop counting (its counters stay)."""
        if multiprocess_dir() is None:
            return
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

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
        # Everything loaded so far (the knowledge base: ~100,000 objects) lives as long as the
        # worker. Out of the cyclic collector's reach, a full collection takes microseconds
        # instead of ~50 ms, a pause that would land on some hook call's latency (p99).
        gc.freeze()
        return app
