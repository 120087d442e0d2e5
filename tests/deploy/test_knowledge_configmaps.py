"""deploy/k8s/knowledge/make_configmaps.py: the ConfigMaps rebuild a knowledge folder the service loads."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml

from knowledge import load_knowledge_base
from knowledge.loader import bundled_root
from tests.deploy.files import K8S, load_documents

SCRIPT = K8S / "knowledge" / "make_configmaps.py"
# A ConfigMap may hold 1 MiB; client-side kubectl apply copies it into a 256 KiB annotation.
ANNOTATION_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_configmaps", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The script run, as a person would, on the bundled knowledge."""
    output = tmp_path_factory.mktemp("knowledge-manifests")
    assert script.main([str(bundled_root()), str(output)]) == 0
    return output


def _configmaps(generated: Path) -> list[dict[str, Any]]:
    return load_documents(generated / "knowledge-configmaps.yaml")


def test_configmaps_are_valid_kubernetes(generated: Path) -> None:
    for configmap in _configmaps(generated):
        kubernetes_validate.validate(configmap, "1.37", strict=True)


def test_configmaps_fit_a_client_side_apply(generated: Path) -> None:
    for configmap in _configmaps(generated):
        size = sum(len(text.encode()) for text in configmap["data"].values())
        assert size < ANNOTATION_LIMIT, configmap["metadata"]["name"]


def test_patch_makes_a_valid_deployment(generated: Path) -> None:
    """The strategic-merge patch, merged by hand the way kustomize merges it, still validates."""
    (deployment,) = load_documents(K8S / "deployment.yaml")
    (patch,) = load_documents(generated / "knowledge-patch.yaml")
    pod = deployment["spec"]["template"]["spec"]
    patch_pod = patch["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (patch_container,) = patch_pod["containers"]
    assert patch_container["name"] == container["name"]
    container.setdefault("env", []).extend(patch_container["env"])
    container["volumeMounts"].extend(patch_container["volumeMounts"])
    pod["volumes"].extend(patch_pod["volumes"])
    kubernetes_validate.validate(deployment, "1.37", strict=True)


def test_projected_volume_rebuilds_a_loadable_knowledge_folder(
    generated: Path, tmp_path: Path
) -> None:
    """Write each key where the volume's items put it, then load it like the service would."""
    data = {c["metadata"]["name"]: c["data"] for c in _configmaps(generated)}
    (patch,) = load_documents(generated / "knowledge-patch.yaml")
    (volume,) = patch["spec"]["template"]["spec"]["volumes"]
    for source in volume["projected"]["sources"]:
        for item in source["configMap"]["items"]:
            target = tmp_path / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(data[source["configMap"]["name"]][item["key"]], encoding="utf-8")
    rebuilt = load_knowledge_base(tmp_path)
    bundled = load_knowledge_base()
    assert sorted(rebuilt.genes) == sorted(bundled.genes)
    assert sorted(rebuilt.guidelines) == sorted(bundled.guidelines)


def test_a_folder_without_guidelines_is_refused(script: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no guidelines"):
        script.manifests(tmp_path)


def test_generated_yaml_round_trips(generated: Path) -> None:
    """Block scalars survive: each value is the file's text, byte for byte."""
    first = _configmaps(generated)[0]
    key = next(iter(first["data"]))
    relative = key.replace("__", "/")
    assert first["data"][key] == (bundled_root() / relative).read_text(encoding="utf-8")
    assert yaml.safe_load(first["data"][key]) is not None
