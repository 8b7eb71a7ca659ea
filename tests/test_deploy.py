"""deploy/: the manifests a cluster admin applies are accepted by a real apiserver, run the
assistant as the read-only ServiceAccount, and configure settings that exist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ApiServer
from harness.seeding import request_json
from kubernetes import client as k8s

from assistant.settings import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def _kubectl(apiserver: ApiServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = apiserver.write_kubeconfig(tmp_path / "admin.kubeconfig")
    return subprocess.run(["/usr/bin/kubectl", "--kubeconfig", str(config), *args],
                          capture_output=True, text=True, timeout=60)


def test_the_manifests_pass_a_server_side_dry_run(apiserver: ApiServer,
                                                  admin_client: k8s.ApiClient,
                                                  tmp_path: Path) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sre-assistant"}}
    existing = _kubectl(apiserver, tmp_path, "get", "namespace", "sre-assistant")
    if existing.returncode != 0:  # dry-run validates namespaced objects in a real namespace
        request_json(admin_client, "POST", "/api/v1/namespaces", namespace)
    done = _kubectl(apiserver, tmp_path, "apply", "--dry-run=server", "-o", "json",
                    "-f", str(DEPLOY / "rbac.yaml"), "-f", str(DEPLOY / "assistant.yaml"))
    assert done.returncode == 0, done.stderr
    kinds = sorted(item["kind"] for item in json.loads(done.stdout)["items"])
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
                     "Namespace", "PersistentVolumeClaim", "Service", "ServiceAccount"]


def test_the_pod_runs_as_the_read_only_service_account_and_never_as_root() -> None:
    bound = next(d for d in _documents("rbac.yaml") if d["kind"] == "ClusterRoleBinding")
    deployment = next(d for d in _documents("assistant.yaml") if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    subject = bound["subjects"][0]
    assert (pod["serviceAccountName"], deployment["metadata"]["namespace"]) == (
        subject["name"], subject["namespace"])
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_every_setting_the_deployment_and_image_set_exists(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = next(d for d in _documents("assistant.yaml") if d["kind"] == "ConfigMap")
    values = {str(k): str(v) for k, v in config["data"].items()}
    image = re.findall(r"(SRE_[A-Z_]+)=(\S+)", (DEPLOY / "Dockerfile").read_text())
    values.update((key, value.rstrip("\\")) for key, value in image)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = Settings().model_dump(mode="json")
    for key, value in values.items():
        node: object = settings
        for part in key.removeprefix("SRE_").lower().split("__"):
            assert isinstance(node, dict) and part in node, f"{key} is not a setting"
            node = node[part]
        assert node == yaml.safe_load(value) or str(node) == value, key
    assert settings["slack"]["channel_namespaces"] == {"C0INCIDENTS": ["*"]}
