"""deploy/k8s: every manifest valid against the Kubernetes schemas (offline, strict), and consistent.

The schemas come inside the kubernetes-validate package: no network, no cluster. Strict mode
rejects unknown fields, so a misspelt key (``readinessProbes``) fails as well as a wrong type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from werkzeug.routing import Map

from cds_hooks.config import Settings
from cds_hooks.trusted_issuers import load_trusted_issuers
from tests.deploy.files import (
    K8S,
    NON_SETTINGS_ENV,
    load_documents,
    manifest_files,
    route_exists,
    setting_env_names,
)

# The oldest Kubernetes minor still in upstream support when written, and the newest bundled.
KUBERNETES_VERSIONS = ["1.32", "1.37"]
LABELS = {"app.kubernetes.io/name": "pgx-cds-hooks", "app.kubernetes.io/component": "cds-service"}

Objects = dict[tuple[str, str], dict[str, Any]]


def _documents() -> list[Any]:
    return [
        pytest.param(doc, id=f"{path.name}:{doc['kind']}/{doc['metadata']['name']}")
        for path in manifest_files()
        for doc in load_documents(path)
    ]


def _container(objects: Objects) -> dict[str, Any]:
    (container,) = objects[("Deployment", "pgx-cds-hooks")]["spec"]["template"]["spec"][
        "containers"
    ]
    return container


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("document", _documents())
def test_manifest_is_valid_kubernetes(document: dict[str, Any], version: str) -> None:
    problem = None
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        # Reported outside the handler: the chained error would print the whole schema.
        where = ".".join(map(str, exc.absolute_path)) or "(top)"
        problem = f"{where}: {exc.message}. Fix it as the Kubernetes {version} API reference says."
    if problem:
        pytest.fail(problem, pytrace=False)


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The check above would catch a misspelt key: strict mode is really in force, offline."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}], "selectr": {"a": "b"}},
    }
    with pytest.raises(kubernetes_validate.ValidationError, match="'selectr' was unexpected"):
        kubernetes_validate.validate(service, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == [p.name for p in manifest_files()]


def test_kustomization_image_is_the_deployments(k8s_objects: Objects) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    (image,) = kustomization["images"]
    assert _container(k8s_objects)["image"] == f"{image['name']}:{image['newTag']}"


def test_service_selects_the_deployments_pods(k8s_objects: Objects) -> None:
    deployment = k8s_objects[("Deployment", "pgx-cds-hooks")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    for kind in ("Service",):
        selector = k8s_objects[(kind, "pgx-cds-hooks")]["spec"]["selector"]
        assert selector.items() <= pod_labels.items(), kind
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        spec = k8s_objects[(kind, "pgx-cds-hooks")]["spec"]
        selector = spec.get("selector") or spec["podSelector"]
        assert selector["matchLabels"].items() <= pod_labels.items(), kind


def test_service_target_port_is_the_container_port(k8s_objects: Objects) -> None:
    ports = {p["name"]: p["containerPort"] for p in _container(k8s_objects)["ports"]}
    for port in k8s_objects[("Service", "pgx-cds-hooks")]["spec"]["ports"]:
        target = port["targetPort"]
        assert ports.get(target, target) == 8080, port


def test_network_policy_admits_the_container_port(k8s_objects: Objects) -> None:
    policy = k8s_objects[("NetworkPolicy", "pgx-cds-hooks")]["spec"]
    for rule in policy["ingress"]:
        assert [p["port"] for p in rule["ports"]] == [8080], rule


def test_ingress_routes_to_the_service(k8s_objects: Objects, url_map: Map) -> None:
    service = k8s_objects[("Service", "pgx-cds-hooks")]["spec"]
    ingress = k8s_objects[("Ingress", "pgx-cds-hooks")]["spec"]
    for rule in ingress["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "pgx-cds-hooks"
            assert backend["port"]["name"] in {p["name"] for p in service["ports"]}
            assert route_exists(url_map, path["path"]), path["path"]
    hosts = {rule["host"] for rule in ingress["rules"]}
    assert hosts <= {host for tls in ingress["tls"] for host in tls["hosts"]}


def test_probe_paths_are_routes_of_the_app(k8s_objects: Objects, url_map: Map) -> None:
    container = _container(k8s_objects)
    probes = {name: container[name] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for name, probe in probes.items():
        assert route_exists(url_map, probe["httpGet"]["path"]), name
        assert probe["httpGet"]["port"] in {"http", 8080}, name


def test_metrics_annotation_is_a_route_on_the_service_port(
    k8s_objects: Objects, url_map: Map
) -> None:
    annotations = k8s_objects[("Deployment", "pgx-cds-hooks")]["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations["prometheus.io/port"] == "8080"
    assert route_exists(url_map, annotations["prometheus.io/path"])


def test_pods_run_locked_down(k8s_objects: Objects) -> None:
    pod = k8s_objects[("Deployment", "pgx-cds-hooks")]["spec"]["template"]["spec"]
    container = _container(k8s_objects)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= container["resources"].keys()
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}


def test_replicas_and_autoscaling_keep_two_pods(k8s_objects: Objects) -> None:
    assert k8s_objects[("Deployment", "pgx-cds-hooks")]["spec"]["replicas"] >= 2
    hpa = k8s_objects[("HorizontalPodAutoscaler", "pgx-cds-hooks")]["spec"]
    assert hpa["minReplicas"] >= 2
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "pgx-cds-hooks",
    }
    assert (
        k8s_objects[("PodDisruptionBudget", "pgx-cds-hooks")]["spec"]["minAvailable"]
        < (hpa["minReplicas"])
    )


def test_every_object_carries_the_labels(k8s_objects: Objects) -> None:
    for (kind, name), obj in k8s_objects.items():
        assert obj["metadata"]["labels"] == LABELS, f"{kind}/{name}"


def _environment(objects: Objects) -> dict[str, str]:
    """The variables the container gets from its env and envFrom sources."""
    container = _container(objects)
    found: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            found |= objects[("ConfigMap", source["configMapRef"]["name"])]["data"]
        else:
            found |= objects[("Secret", source["secretRef"]["name"])]["stringData"]
    for variable in container.get("env", []):
        found[variable["name"]] = variable.get("value", "")
    return found


def test_env_sources_exist(k8s_objects: Objects) -> None:
    for source in _container(k8s_objects)["envFrom"]:
        kind, ref = (
            ("ConfigMap", source["configMapRef"])
            if "configMapRef" in source
            else ("Secret", source["secretRef"])
        )
        assert (kind, ref["name"]) in k8s_objects
        assert ref.get("optional") is not True, "a missing source must stop the pod, not hide"


def test_every_variable_is_a_setting(k8s_objects: Objects) -> None:
    unknown = set(_environment(k8s_objects)) - setting_env_names() - NON_SETTINGS_ENV
    assert not unknown, f"not settings of the service (typo?): {sorted(unknown)}"


def test_settings_accept_the_values(k8s_objects: Objects, monkeypatch: pytest.MonkeyPatch) -> None:
    environment = _environment(k8s_objects)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.auth == "jwt"
    assert settings.public_base_url is not None
    assert settings.public_base_url.startswith("https://")
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert (settings.alert_memory_url or "").startswith(("redis://", "rediss://"))


def test_trusted_issuers_file_is_mounted_where_the_setting_points(k8s_objects: Objects) -> None:
    container = _container(k8s_objects)
    pod = k8s_objects[("Deployment", "pgx-cds-hooks")]["spec"]["template"]["spec"]
    setting = Path(_environment(k8s_objects)["PGX_CDS_TRUSTED_ISSUERS"])
    (mount,) = [m for m in container["volumeMounts"] if setting.parent == Path(m["mountPath"])]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    secret = k8s_objects[("Secret", volume["secret"]["secretName"])]
    assert setting.name in secret["stringData"]


def test_trusted_issuers_example_is_accepted_by_the_service(
    k8s_objects: Objects, tmp_path: Path
) -> None:
    text = k8s_objects[("Secret", "pgx-cds-hooks-trusted-issuers")]["stringData"][
        "trusted-issuers.yaml"
    ]
    (tmp_path / "trusted-issuers.yaml").write_text(text, encoding="utf-8")
    load_trusted_issuers(tmp_path / "trusted-issuers.yaml")


def test_example_secrets_are_placeholders(k8s_objects: Objects) -> None:
    """Nothing that looks like a real credential is committed."""
    for key, value in k8s_objects[("Secret", "pgx-cds-hooks-secrets")]["stringData"].items():
        assert "REPLACE-ME" in value, key
