"""deploy/chart: the Helm chart, proven with Helm itself.

`helm-sdkpy` is the Helm v4 Go library behind cffi (installed by `make helm`). Its `Lint` checks
the chart; its `Install` (wait off: the test cluster has no controllers, so no pod ever starts)
installs each values file into a fresh namespace of the real test apiserver, and the tests read
back what was created: who the ServiceAccount is bound to and what that role allows (asked of the
apiserver's own authorizer), replicas, probes, security context, the PodDisruptionBudget, and that
every SRE_* variable the pod gets is a setting. The plain manifests in deploy/ must stay what the
chart renders with its defaults.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_sdkpy as helm
import pytest
import yaml
from harness import ApiServer, create_namespace, request_json
from kubernetes import client as k8s

from assistant.settings import Settings

Json = dict[str, Any]

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "chart"
EXAMPLES = CHART / "examples"
READ_VERBS = {"get", "list", "watch"}
HELM_LABELS = {"app.kubernetes.io/instance", "app.kubernetes.io/version",
               "app.kubernetes.io/managed-by", "helm.sh/chart"}
LINT_SEVERITY = {0: "unknown", 1: "info", 2: "warning", 3: "error"}  # helm's support.Severity


# --- Helm ------------------------------------------------------------------------------------

def _lint(chart: Path) -> list[tuple[str, str]]:
    """Helm's lint of a chart: (severity, path) of each warning and error. (The library's JSON
    loses the messages' text; Helm logs the template errors on stderr.)"""
    config = helm.Configuration(namespace="default")
    result = asyncio.run(helm.Lint(config).run(str(chart)))
    return [(LINT_SEVERITY[m["Severity"]], m["Path"]) for m in result["Messages"]
            if m["Severity"] >= 2]


def _install(kubeconfig: Path, namespace: str, release: str, values: Json) -> Json:
    config = helm.Configuration(namespace=namespace, kubeconfig=str(kubeconfig))
    release_json: Json = asyncio.run(helm.Install(config).run(
        release, str(CHART), values=values, wait=False, timeout=60))
    return release_json


def _example(name: str) -> Json:
    values: Json = yaml.safe_load((EXAMPLES / name).read_text())
    return values


# --- reading back --------------------------------------------------------------------------

def _path(doc: Json, namespace: str) -> str:
    """The API path of a manifest's object (the plural as English makes it, true of these)."""
    kind = doc["kind"].lower()
    plural = re.sub(r"y$", "ie", kind) + ("es" if kind.endswith("s") else "s")
    version = doc["apiVersion"]
    root = "/api/v1" if version == "v1" else f"/apis/{version}"
    if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
        return f"{root}/{plural}/{doc['metadata']['name']}"
    object_namespace = doc["metadata"].get("namespace", namespace)
    return f"{root}/namespaces/{object_namespace}/{plural}/{doc['metadata']['name']}"


@dataclass
class Installed:
    """One values file installed: the release, the rendered manifest, the objects as stored."""

    name: str
    namespace: str
    release: Json
    objects: list[Json]  # read back from the apiserver, in manifest order
    values: Json

    def one(self, kind: str) -> Json:
        found = [o for o in self.objects if o["kind"] == kind]
        assert len(found) == 1, f"{len(found)} {kind} objects in the release"
        return found[0]

    def kinds(self) -> list[str]:
        return sorted(o["kind"] for o in self.objects)

    @property
    def pod(self) -> Json:
        spec: Json = self.one("Deployment")["spec"]["template"]["spec"]
        return spec

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.pod['serviceAccountName']}"


def _can(admin: k8s.ApiClient, installed: Installed, verb: str, resource: str,
         namespace: str | None = None, group: str = "", subresource: str = "") -> bool:
    """What the apiserver's RBAC authorizer answers for the ServiceAccount (as `kubectl auth
    can-i --as=system:serviceaccount:...` asks)."""
    attributes = {"verb": verb, "resource": resource, "group": group,
                  "subresource": subresource, "namespace": namespace or ""}
    review = request_json(admin, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": installed.subject,
                 "groups": ["system:serviceaccounts",
                            f"system:serviceaccounts:{installed.namespace}",
                            "system:authenticated"],
                 "resourceAttributes": attributes}})
    return bool(review["status"].get("allowed", False))


def _bindings_of(admin: k8s.ApiClient, installed: Installed) -> list[Json]:
    """Every RoleBinding and ClusterRoleBinding in the cluster naming the ServiceAccount."""
    found = []
    for path in ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                 "/apis/rbac.authorization.k8s.io/v1/rolebindings"):
        kind = "ClusterRoleBinding" if path.endswith("clusterrolebindings") else "RoleBinding"
        for binding in request_json(admin, "GET", path)["items"]:
            binding["kind"] = kind  # items of a list carry none
            for subject in binding.get("subjects") or []:
                if (subject["kind"], subject["name"], subject.get("namespace")) == (
                        "ServiceAccount", installed.pod["serviceAccountName"],
                        installed.namespace):
                    found.append(binding)
    return found


# --- fixtures --------------------------------------------------------------------------------

CASES = {  # the values files: the chart's defaults, and the two examples
    "default": lambda: {},
    "ha": lambda: _example("ha.yaml"),
    "socket-mode-namespaced": lambda: _example("socket-mode-namespaced.yaml"),
}


@pytest.fixture(scope="module")
def kubeconfig(apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return apiserver.write_kubeconfig(tmp_path_factory.mktemp("helm") / "kubeconfig")


def _renamed(node: Any, names: dict[str, str]) -> Any:
    """`node` with every string that is a key of `names` replaced by its value."""
    if isinstance(node, dict):
        return {k: _renamed(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(item, names) for item in node]
    return names.get(node, node) if isinstance(node, str) else node


class Releases:
    """Each values file installed once per module, on first use, into its own namespace."""

    def __init__(self, kubeconfig: Path, admin: k8s.ApiClient) -> None:
        self.kubeconfig, self.admin = kubeconfig, admin
        self.done: dict[str, Installed] = {}

    def __getitem__(self, name: str) -> Installed:
        if name not in self.done:
            self.done[name] = self._install(name, CASES[name]())
        return self.done[name]

    def _install(self, name: str, values: Json) -> Installed:
        namespace = create_namespace(self.admin)
        if values.get("rbac", {}).get("scope") == "namespaces":  # fresh ones for the Roles
            renamed = {old: create_namespace(self.admin, f"{old}-{uuid.uuid4().hex[:6]}")
                       for old in values["rbac"]["namespaces"]}
            values = _renamed(values, renamed)
        release = _install(self.kubeconfig, namespace, f"{name}-sre-assistant", values)
        assert release["info"]["status"] == "deployed"
        docs = [d for d in yaml.safe_load_all(release["manifest"]) if d]
        objects = [request_json(self.admin, "GET", _path(d, namespace)) for d in docs]
        return Installed(name, namespace, release, objects, values)


@pytest.fixture(scope="module")
def releases(kubeconfig: Path, admin_client: k8s.ApiClient) -> Releases:
    return Releases(kubeconfig, admin_client)


@pytest.fixture(params=list(CASES))
def installed(request: pytest.FixtureRequest, releases: Releases) -> Installed:
    return releases[request.param]


# --- lint ------------------------------------------------------------------------------------

def test_helm_lint_passes_the_chart() -> None:
    assert _lint(CHART) == []


def _merged(base: Json, over: Json) -> Json:
    """Helm's coalescing of values: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = (_merged(out[key], value) if isinstance(value, dict)
                    and isinstance(out.get(key), dict) else value)
    return out


EVERYTHING_ON: Json = {  # every optional object, the ServiceMonitor among them
    "replicas": 2, "memory": {"postgresUrlSecret": {"name": "pg", "key": "url"}},
    "web": {"enabled": True, "existingSecret": "web"},
    "serviceMonitor": {"enabled": True, "labels": {"release": "prom"},
                       "bearerTokenSecret": {"name": "metrics", "key": "token"}},
    "networkPolicy": {"enabled": True, "egress": [{"ports": [{"port": 443}]}]},
    "prometheus": {"url": "http://prometheus:9090",
                   "bearerTokenSecret": {"name": "prom", "key": "token"}},
}


@pytest.mark.parametrize("values", ["ha.yaml", "socket-mode-namespaced.yaml", "everything-on"])
def test_helm_lint_passes_with_each_values_file(values: str, tmp_path: Path) -> None:
    # `helm lint -f FILE`: the library lints a chart's own values, so they go into a copy.
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    over = EVERYTHING_ON if values == "everything-on" else _example(values)
    (chart / "values.yaml").write_text(yaml.safe_dump(_merged(defaults, over)))
    assert _lint(chart) == []


def test_helm_lint_fails_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "chart"
    shutil.copytree(CHART, broken)
    service = broken / "templates" / "service.yaml"
    service.write_text(service.read_text().replace("{{ .Values.service.type }}",
                                                   "{{ .Values.service.type "))
    assert ("error", "templates/") in _lint(broken)


# --- each values file, installed -----------------------------------------------------------

EXPECTED = {
    # name: (replicas, Slack mode, kinds created)
    "default": (1, "http", ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
                            "PersistentVolumeClaim", "Service", "ServiceAccount"]),
    "ha": (3, "http",
           ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "NetworkPolicy",
            "PodDisruptionBudget", "Service", "ServiceAccount"]),
    "socket-mode-namespaced": (1, "socket", ["ConfigMap", "Deployment", "PersistentVolumeClaim",
                                             "Role", "Role", "RoleBinding", "RoleBinding",
                                             "Service", "ServiceAccount"]),
}


def test_the_release_creates_what_its_values_ask_for(installed: Installed) -> None:
    replicas, mode, kinds = EXPECTED[installed.name]
    assert installed.kinds() == kinds
    assert installed.one("Deployment")["spec"]["replicas"] == replicas
    assert installed.one("ConfigMap")["data"]["SRE_SLACK__MODE"] == mode
    if replicas == 1:  # one writer of the SQLite state on its volume
        assert installed.one("Deployment")["spec"]["strategy"]["type"] == "Recreate"
        claim = installed.one("PersistentVolumeClaim")["metadata"]["name"]
        volumes = {v["name"]: v for v in installed.pod["volumes"]}
        assert volumes["state"]["persistentVolumeClaim"]["claimName"] == claim
    else:
        assert installed.one("Deployment")["spec"]["strategy"]["type"] == "RollingUpdate"


def test_the_service_account_is_bound_only_to_a_read_only_role(
        installed: Installed, admin_client: k8s.ApiClient) -> None:
    bindings = _bindings_of(admin_client, installed)
    namespaced = installed.values.get("rbac", {}).get("scope") == "namespaces"
    assert {b["kind"] for b in bindings} == ({"RoleBinding"} if namespaced
                                            else {"ClusterRoleBinding"})
    for binding in bindings:
        ref = binding["roleRef"]
        where = (f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{ref['name']}"
                 if ref["kind"] == "ClusterRole" else
                 f"/apis/rbac.authorization.k8s.io/v1/namespaces/"
                 f"{binding['metadata']['namespace']}/roles/{ref['name']}")
        role = request_json(admin_client, "GET", where)
        assert role["metadata"]["labels"]["app.kubernetes.io/instance"] == \
            f"{installed.name}-sre-assistant"
        for rule in role["rules"]:
            assert set(rule["verbs"]) <= READ_VERBS, rule
            assert not {"secrets", "*", "pods/exec", "pods/attach", "pods/portforward"} & set(
                rule["resources"]), rule
            assert not any(r.endswith("/proxy") for r in rule["resources"]), rule

    # What the apiserver's own authorizer says the ServiceAccount may do.
    readable = installed.values["rbac"]["namespaces"] if namespaced else [installed.namespace]
    for namespace in readable:
        assert _can(admin_client, installed, "list", "pods", namespace)
        assert _can(admin_client, installed, "get", "pods", namespace, subresource="log")
        assert _can(admin_client, installed, "watch", "deployments", namespace, group="apps")
        assert not _can(admin_client, installed, "get", "secrets", namespace)
        assert not _can(admin_client, installed, "list", "secrets", namespace)
        assert not _can(admin_client, installed, "delete", "pods", namespace)
        assert not _can(admin_client, installed, "create", "pods", namespace,
                        subresource="exec")
        assert not _can(admin_client, installed, "patch", "deployments", namespace,
                        group="apps")
    assert _can(admin_client, installed, "list", "nodes") is not namespaced
    if namespaced:  # nothing outside the listed namespaces, not even its own
        assert not _can(admin_client, installed, "list", "pods", installed.namespace)
        assert not _can(admin_client, installed, "list", "pods", "kube-system")


def test_the_pods_run_non_root_read_only_with_probes(installed: Installed) -> None:
    pod = installed.pod
    assert pod["serviceAccountName"] == installed.one("ServiceAccount")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    mounts = {"/var/lib/sre-assistant", "/tmp"}  # the only writable places
    for container in [*pod["initContainers"], *pod["containers"]]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert {m["mountPath"] for m in container["volumeMounts"]} == mounts
    service_ports = {p["targetPort"] for p in installed.one("Service")["spec"]["ports"]}
    serving = {c["name"]: c for c in pod["containers"]}
    assert set(serving) == ({"assistant", "web"} if installed.values.get("web", {}).get("enabled")
                            else {"assistant"})
    for container in serving.values():
        port_names = {p["name"] for p in container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            check = container[probe]["httpGet"]
            assert check["path"] == "/healthz"
            assert check["port"] in port_names & service_ports
        assert container["resources"]["limits"]["memory"]


def test_a_disruption_budget_exactly_when_replicas_exceed_one(
        installed: Installed, admin_client: k8s.ApiClient) -> None:
    # v1.20 serves policy/v1beta1 only; the chart asks the cluster which it has.
    budgets = request_json(admin_client, "GET", f"/apis/policy/v1beta1/namespaces/"
                                                f"{installed.namespace}/poddisruptionbudgets")
    replicas = installed.one("Deployment")["spec"]["replicas"]
    assert len(budgets["items"]) == (1 if replicas > 1 else 0)
    for budget in budgets["items"]:
        assert budget["spec"]["maxUnavailable"] == 1
        template = installed.one("Deployment")["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= template.items()


def _means(text: str, setting: object) -> bool:
    """Whether a variable's text is what its setting reads from it: the same scalar, the same
    JSON, or the same comma-separated list."""
    if isinstance(setting, list) and not text.startswith("["):
        return setting == text.split(",")
    return setting == yaml.safe_load(text) or str(setting) == text


def test_every_variable_the_pod_gets_is_a_setting(installed: Installed,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for container in installed.pod["containers"]:
        values = dict(installed.one("ConfigMap")["data"])
        secret_names = []
        for env in container.get("env", []):
            if "value" in env:  # the kubelet expands $(POD_IP) from the variable before it
                values[env["name"]] = env["value"].replace("$(POD_IP)", "10.1.2.3")
            elif env["name"].startswith("SRE_"):
                secret_names.append(env["name"])
        sre = {k: v for k, v in values.items() if k.startswith("SRE_")}
        for key, value in sre.items():
            monkeypatch.setenv(key, value)
        settings = Settings().model_dump(mode="json")
        for key in [*sre, *secret_names]:
            node: object = settings
            for part in key.removeprefix("SRE_").lower().split("__"):
                assert isinstance(node, dict) and part in node, f"{key} is not a setting"
                node = node[part]
            if key in sre:
                assert _means(sre[key], node), (key, sre[key], node)
        if container["name"] == "web":  # probes and scrapes come with the pod's IP as Host
            assert {"localhost", "10.1.2.3"} <= set(settings["web"]["allowed_hosts"])
        for key in sre:
            monkeypatch.delenv(key)


# --- the particular values files -------------------------------------------------------------

def test_ha_shares_state_in_postgres_and_chroma(releases: Releases) -> None:
    installed = releases["ha"]
    pod = installed.pod
    env = {e["name"]: e for c in pod["containers"] for e in c.get("env", [])}
    assert env["SRE_MEMORY__POSTGRES_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "sre-assistant-postgres", "key": "url"}
    assert env["SRE_MODEL__API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == \
        "sre-assistant-model"
    data = installed.one("ConfigMap")["data"]
    assert data["SRE_KNOWLEDGE__CHROMA_HOST"] == "chroma.sre-assistant.svc"
    assert "SRE_MEMORY__POSTGRES_URL" not in data  # a secret, never in the ConfigMap
    assert {v["name"]: v for v in pod["volumes"]}["state"] == {"name": "state", "emptyDir": {}}
    assert {p["name"] for p in installed.one("Service")["spec"]["ports"]} == {"http", "web"}
    policy = installed.one("NetworkPolicy")["spec"]
    assert {p["port"] for p in policy["ingress"][0]["ports"]} == {3000, 8080}
    assert policy["policyTypes"] == ["Ingress"]


def test_socket_mode_with_namespaced_roles(releases: Releases) -> None:
    installed = releases["socket-mode-namespaced"]
    shop, payments = installed.values["rbac"]["namespaces"]
    data = installed.one("ConfigMap")["data"]
    assert json.loads(data["SRE_SLACK__CHANNEL_NAMESPACES"])["C0SHOPTEAM"] == [shop, payments]
    assert data["SRE_MODEL__PROVIDER"] == "openai-compatible"
    assert data["SRE_AGENT__MAX_STEPS"] == "6"
    roles = [o for o in installed.objects if o["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == sorted([shop, payments])
    (container,) = installed.pod["containers"]
    assert {"secretRef": {"name": "sre-assistant-slack"}} in container["envFrom"]
    # No public URL in Socket Mode, yet Alertmanager still posts to /alerts on the Service.
    assert [p["port"] for p in installed.one("Service")["spec"]["ports"]] == [3000]


@pytest.mark.parametrize(("values", "says"), [
    ({"replicas": 3}, "replicas > 1 need memory.postgresUrlSecret"),
    ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
    ({"securityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
    ({"securityContext": {"allowPrivilegeEscalation": True}}, "allowPrivilegeEscalation"),
    ({"rbac": {"scope": "namespaces"}}, "rbac.namespaces"),
    ({"slack": {"mode": "websocket"}}, "mode"),
    ({"slack": {"enabled": False}}, "nothing to run"),
    ({"config": {"OPENAI_API_KEY": "sk-x"}}, "'OPENAI_API_KEY' does not match pattern '^SRE_"),
], ids=["replicas-without-postgres", "root", "writable-root", "escalation", "role-nowhere",
        "slack-mode", "nothing", "config-not-a-setting"])
def test_values_the_chart_refuses(values: Json, says: str, kubeconfig: Path,
                                  admin_client: k8s.ApiClient) -> None:
    namespace = create_namespace(admin_client)
    with pytest.raises(helm.InstallError, match=re.escape(says)):
        _install(kubeconfig, namespace, "refused-sre-assistant", values)
    for kind in ("configmaps", "secrets", "serviceaccounts"):  # nothing half-installed
        assert request_json(admin_client, "GET",
                            f"/api/v1/namespaces/{namespace}/{kind}")["items"] == []


def test_a_service_monitor_is_made_for_the_prometheus_operator(
        kubeconfig: Path, admin_client: k8s.ApiClient) -> None:
    # Creating any custom resource crashes this v1.20 apiserver build (its vendored reflect2
    # predates Go 1.18's maps), so this cluster stays without the operator's CRDs, and Helm
    # must name the kind and version the chart rendered, and create nothing.
    namespace = create_namespace(admin_client)
    with pytest.raises(helm.InstallError, match=re.escape(
            'no matches for kind "ServiceMonitor" in version "monitoring.coreos.com/v1"')):
        _install(kubeconfig, namespace, "monitored-sre-assistant",
                 {"serviceMonitor": {"enabled": True}})
    assert request_json(admin_client, "GET",
                        f"/api/v1/namespaces/{namespace}/configmaps")["items"] == []


# --- the plain manifests ---------------------------------------------------------------------

def _normalised(docs: list[Json], fullname: str, namespace: str) -> dict[tuple[str, str], Json]:
    """Objects by (kind, name), under the plain manifests' names, without Helm's own labels and
    the config checksum."""
    text = json.dumps(docs).replace(f'"{namespace}"', '"sre-assistant"')
    text = re.sub(rf'"{re.escape(fullname)}(-[a-z-]+)?"', r'"sre-assistant\1"', text)

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key in ("labels", "matchLabels", "selector") and isinstance(value, dict):
                    value = {k: v for k, v in value.items() if k not in HELM_LABELS}
                if key == "annotations" and isinstance(value, dict):
                    value = {k: v for k, v in value.items() if k != "checksum/config"}
                    if not value:
                        continue
                out[key] = strip(value)
            return out
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    return {(d["kind"], d["metadata"]["name"]): strip(d) for d in json.loads(text)}


def test_the_plain_manifests_are_what_the_chart_renders_by_default(releases: Releases) -> None:
    installed = releases["default"]
    rendered = [d for d in yaml.safe_load_all(installed.release["manifest"]) if d]
    chart = _normalised(rendered, f"{installed.name}-sre-assistant", installed.namespace)
    plain = {(d["kind"], d["metadata"]["name"]): d
             for name in ("rbac.yaml", "assistant.yaml")
             for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d}
    del plain[("Namespace", "sre-assistant")]  # helm install --create-namespace makes it
    assert chart == plain


def test_the_chart_and_image_versions_are_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    pyproject = (REPO / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M)
    assert version is not None
    assert chart["appVersion"] == version.group(1)  # the tag `make image` builds
