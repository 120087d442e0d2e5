"""Serve the hooks as ``pgx-cds serve`` does, with a gunicorn worker class it does not offer yet.

    python -m benchmarks.serve_gunicorn --port 18080 --workers 2 --worker-class gthread --threads 4

For benchmarks/hook_load.py only: ``pgx-cds serve`` runs sync workers (gunicorn's default) and
takes only ``--workers``; this compares other worker classes with everything else the same.
"""

from __future__ import annotations

import argparse

from cds_hooks.app import create_app
from cds_hooks.config import Settings
from cds_hooks.gunicorn_app import GunicornApp
from cds_hooks.request_log import configure_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keepalive", type=int, default=5, help="seconds (gthread only)")
    args = parser.parse_args()

    settings = Settings()
    configure_logging(settings)
    # The same steps as cds_hooks.cli.serve: load once in the master, workers inherit it.
    app = create_app(settings)
    state = app.extensions["pgx_cds"]
    state.feedback.close()
    del app
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "keepalive": args.keepalive,
    }
    GunicornApp(settings, state.knowledge, options).run()


if __name__ == "__main__":
    main()
