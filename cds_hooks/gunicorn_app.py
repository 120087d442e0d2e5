"""Run the app under gunicorn from ``pgx-cds serve``, without a separate config file."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.request_log import logging_config

__all__ = ["GunicornApp"]


class GunicornApp(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        # gunicorn's own lines (start-up, access) go out as the same JSON lines as ours.
        self.cfg.set("logconfig_dict", logging_config(self._settings))
        # No runtime-management socket in $HOME: nothing here needs one, and it is attack surface.
        self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        return create_app(self._settings)
