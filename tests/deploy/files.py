"""The deploy/ files as data: paths, parsed YAML documents, and what the service really reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from werkzeug.routing import Map

from cds_hooks.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# Variables read by the image's entrypoint rather than by Settings.
NON_SETTINGS_ENV = {"WEB_CONCURRENCY"}


# libyaml when present: the knowledge ConfigMaps are megabytes of YAML.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document of a file."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.load_all(stream, Loader=_LOADER) if doc is not None]


def manifest_files() -> list[Path]:
    """The manifests of deploy/k8s (kustomization.yaml aside)."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def setting_env_names() -> set[str]:
    """PGX_CDS_<NAME> for every field of Settings: the only names the service reads."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def route_exists(url_map: Map, path: str, method: str = "GET") -> bool:
    """Whether ``method path`` reaches a view of the app (no 404/405)."""
    adapter = url_map.bind("localhost")
    try:
        adapter.match(path, method=method)
    except Exception:
        return False
    return True
