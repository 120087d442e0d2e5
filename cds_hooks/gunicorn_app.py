"""Run the app under gunicorn from ``pgx-cds serve``, without a separate config file."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.request_log import configure_logging

__all__ = ["GunicornApp"]


class GunicornApp(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        # Keep our JSON log lines: gunicorn's own logger goes through the root handler.
        self.cfg.set("accesslog", None)
        self.cfg.set(
            "logconfig_dict",
            {
                "version": 1,
                "disable_existing_loggers": False,
                "root": {"level": self._settings.log_level},
            },
        )

    def load(self) -> Flask:
        configure_logging(self._settings)
        return create_app(self._settings)
