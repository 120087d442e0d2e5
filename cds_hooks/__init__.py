"""The CDS Hooks 2.0 HTTP service: discovery, hook calls, feedback, health."""

from cds_hooks.app import create_app
from cds_hooks.config import Settings

__all__ = ["Settings", "create_app"]
