"""Every tool replayed from vcrpy cassettes recorded from the real test apiserver: fast, offline.

Replay (the default; no apiserver): each test plays `tests/cassettes/tools/<test>.yaml`, matching
requests on method, path and query only. A request missing from the cassette raises vcrpy's
`CannotOverwriteExistingCassetteException` (which no tool catches), and a recorded request that
is not made again fails the test at teardown: the tools must send exactly what they sent live.

Recording (`make cassettes`, i.e. `pytest tests/test_cassettes.py --record-cassettes`): the same
tests run against the harness's kube-apiserver, seeded once with tests/data/tools-cluster.yaml in
its own namespace `tools` at a fixed time, so paths and bodies come out the same on every run.
What still differs between runs is normalised before a response is saved: uids (a Job's selector
too), resourceVersions, creation times, managedFields, allocated cluster IPs, the kubelet's and the
apiserver's ports, the server's address, and every response header but Content-Type.
Authorization headers are dropped, and no harness token may appear in a cassette. The fake secrets
of tools-cluster.yaml stay in the bodies on purpose: the replayed tools must still redact them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import vcr
import yaml
from harness import ApiServer
from harness.scenarios import Seeder, load
from kubernetes import client as k8s
from vcr.cassette import Cassette
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request

import tools
from tools import ReadOnlyViolation, Toolbox
from tools.guard import ReadOnlyApiClient

CASSETTES = Path(__file__).parent / "cassettes" / "tools"
DATA = Path(__file__).parent / "data"
NS = "tools"  # the scenario's own namespace, never renamed: paths stay the same in every recording
RECORDED_AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # "{{now}}" in tools-cluster.yaml
CREATED = "2026-11-29T09:00:00Z"  # every creationTimestamp in the cassettes
KUBELET_PORT = 10250
APISERVER_PORT = 6443
SERVER = "https://apiserver.invalid"  # the address in cassettes, and the one replay "connects" to
READER = "sre-assistant"  # bound to deploy/rbac.yaml's ClusterRole (tests/conftest.py `rbac`)
PARTIAL = "sre-partial"  # may only get and list pods and namespaces


# --- normalising what differs between recordings ---------------------------------------------

def _uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cassette:{kind}/{namespace}/{name}"))


def _cluster_ip(namespace: str, name: str) -> str:
    n = uuid.uuid5(uuid.NAMESPACE_URL, f"cassette:ip/{namespace}/{name}").int % 65_000 + 2
    return f"10.0.{n // 256}.{n % 256}"


def _normalize_references(value: Any, namespace: str) -> None:
    """Give every `{kind, name, uid}` reference (owners, targets) its referent's stable uid."""
    if isinstance(value, dict):
        if {"kind", "name", "uid"} <= value.keys():
            value["uid"] = _uid(value["kind"], value.get("namespace", namespace), value["name"])
        for child in value.values():
            _normalize_references(child, namespace)
    elif isinstance(value, list):
        for child in value:
            _normalize_references(child, namespace)


def _normalize_object(obj: dict[str, Any], kind: str, uids: dict[str, str]) -> None:
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    meta.pop("managedFields", None)
    if meta.get("uid"):  # a Job's selector also holds its uid: replaced in the text, later
        uids[meta["uid"]] = meta["uid"] = _uid(kind, namespace, name)
    if meta.get("resourceVersion"):
        meta["resourceVersion"] = "1"
    if meta.get("creationTimestamp"):
        meta["creationTimestamp"] = CREATED
    _normalize_references({k: v for k, v in obj.items() if k != "metadata"}, namespace)
    _normalize_references(meta.get("ownerReferences"), namespace)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Service" and spec.get("clusterIP") not in (None, "", "None"):
        spec["clusterIP"] = _cluster_ip(namespace, name)
        if spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
    if kind == "Service" and (namespace, name) == ("default", "kubernetes"):
        for port in spec.get("ports") or []:
            port["targetPort"] = APISERVER_PORT  # the harness's secure port, random per run
    endpoint = (status.get("daemonEndpoints") or {}).get("kubeletEndpoint")
    if kind == "Node" and endpoint:
        endpoint["Port"] = KUBELET_PORT


def _normalize_document(doc: dict[str, Any]) -> dict[str, str]:
    """Normalise `doc` in place; return the uids replaced (real -> stable)."""
    kind, uids = str(doc.get("kind", "")), {}
    if isinstance(doc.get("items"), list):
        list_meta = doc.get("metadata") or {}
        if list_meta.get("resourceVersion"):
            list_meta["resourceVersion"] = "1"
        for item in doc["items"]:
            _normalize_object(item, item.get("kind") or kind.removesuffix("List"), uids)
    elif isinstance(doc.get("metadata"), dict) and kind != "Status":
        _normalize_object(doc, kind, uids)
    return uids


def _normalize_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in response["headers"].items() if k.lower() == "content-type"}
    response["headers"] = headers
    content_type = " ".join(v for values in headers.values() for v in values)
    if "json" in content_type:
        doc = json.loads(response["body"]["string"])
        uids = _normalize_document(doc) if isinstance(doc, dict) else {}
        text = json.dumps(doc, separators=(",", ":"))
        for real, stable in uids.items():
            text = text.replace(real, stable)
        response["body"]["string"] = text.encode() + b"\n"
    return response


def _normalize_request(request: Request) -> Request:
    """The same address for every recording (vcrpy applies this to a copy, before matching)."""
    parts = urlsplit(request.uri)
    request.uri = SERVER + parts.path + (f"?{parts.query}" if parts.query else "")
    return request


VCR = vcr.VCR(
    match_on=("method", "path", "query"),
    filter_headers=("authorization",),
    before_record_request=_normalize_request,
    before_record_response=_normalize_response,
    decode_compressed_response=True,
    record_on_exception=False,
)


# --- fixtures ----------------------------------------------------------------------------------

@dataclass
class Target:
    """Kubeconfigs per user: of the seeded test apiserver when recording, of `SERVER` else."""

    recording: bool
    kubeconfigs: dict[str, Path]
    tokens: list[str] = field(default_factory=list)  # must never reach a cassette


def _placeholder_kubeconfig(path: Path) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "cassette",
        "clusters": [{"name": "cassette", "cluster": {"server": SERVER}}],
        "users": [{"name": "cassette", "user": {"token": "replayed"}}],
        "contexts": [{"name": "cassette", "context": {"cluster": "cassette",
                                                       "user": "cassette"}}]}))
    return path


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Target:
    directory = tmp_path_factory.mktemp("cassette-kubeconfigs")
    if not request.config.getoption("--record-cassettes"):
        return Target(False, {user: _placeholder_kubeconfig(directory / user)
                              for user in (READER, PARTIAL)})
    server: ApiServer = request.getfixturevalue("apiserver")
    request.getfixturevalue("rbac")
    Seeder(server).seed(load(DATA / "tools-cluster.yaml", now=RECORDED_AT))
    return Target(True, {user: server.write_kubeconfig(directory / user, token=server.tokens[user])
                         for user in (READER, PARTIAL)}, tokens=list(server.tokens.values()))


def _check_recorded(path: Path, target: Target) -> None:
    text = path.read_text()
    assert not [t for t in target.tokens if t in text], f"{path.name} holds a harness token"
    for recorded in yaml.safe_load(text)["interactions"]:
        headers = {h.lower() for h in recorded["request"]["headers"]}
        assert "authorization" not in headers, f"{path.name} holds an Authorization header"


@pytest.fixture
def cassette(request: pytest.FixtureRequest, target: Target) -> Iterator[Cassette]:
    path = CASSETTES / f"{request.node.name.removeprefix('test_')}.yaml"
    if target.recording:
        path.unlink(missing_ok=True)
    elif not path.exists():
        pytest.fail(f"{path} is missing: run `make cassettes`")
    with VCR.use_cassette(str(path), record_mode="all" if target.recording else "none") as played:
        yield played
    if target.recording:
        _check_recorded(path, target)
    else:
        assert played.all_played, (
            f"{path.name}: {len(played) - played.play_count} recorded requests were not made "
            "again; the tools changed what they send: run `make cassettes`")


@pytest.fixture
def connect(cassette: Cassette, target: Target) -> Iterator[Callable[[str], Toolbox]]:
    """`connect(user)`: a Toolbox on a fresh cluster reader (no discovery cache across tests)."""
    opened: list[tools.Cluster] = []

    def open_as(user: str) -> Toolbox:
        cluster = tools.open_cluster(kubeconfig=str(target.kubeconfigs[user]))
        opened.append(cluster)
        return Toolbox(cluster)

    yield open_as
    for cluster in opened:
        cluster.close()


@pytest.fixture
def box(connect: Callable[[str], Toolbox]) -> Toolbox:
    return connect(READER)


# --- the tools ---------------------------------------------------------------------------------

def test_find(box: Toolbox) -> None:
    near = box.find("wrker", namespace=NS)
    assert near.ok and near.exact is None
    assert {m.name for m in near.matches[:2]} == {"worker", "worker-0"}
    exact = box.find("web", namespace=NS)
    assert exact.exact is not None and exact.exact.kind == "Deployment"
    everywhere = box.find("tols")  # all namespaces, and namespaces themselves
    assert (everywhere.matches[0].kind, everywhere.matches[0].name) == ("Namespace", "tools")


def test_list_objects(box: Toolbox) -> None:
    by_label = box.list_objects("Pod", NS, label_selector="app in (web,trainer)")
    assert sorted(i.name for i in by_label.items) == ["trainer", "web-5d8c7b9f6-abcde"]
    by_field = box.list_objects("Pod", NS, field_selector="status.phase=Pending")
    assert [i.name for i in by_field.items] == ["trainer"]
    assert box.list_objects("ConfigMap", NS).text().splitlines() == [
        "[list_objects] ok", "ConfigMap/tools/web-config: keys: DATABASE_URL, LOG_LEVEL"]


def test_pods(box: Toolbox) -> None:
    result = box.pods(NS)
    assert result.ok
    by_name = {p.name: p for p in result.pods}
    assert (by_name["web-5d8c7b9f6-abcde"].status, by_name["web-5d8c7b9f6-abcde"].ready) == (
        "Running", "1/1")
    worker = by_name["worker-0"]
    assert worker.status == "CrashLoopBackOff" and worker.restarts == 12
    assert (worker.containers[0].last_reason, worker.containers[0].last_exit_code) == (
        "OOMKilled", 137)
    assert by_name["trainer"].status == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in " ".join(by_name["trainer"].conditions)
    text = result.text()
    assert text.startswith("[pods] ok\n") and len(text.splitlines()) == 4


def test_workloads(box: Toolbox) -> None:
    result = box.workloads(NS)
    by_name = {(w.kind, w.name): w for w in result.workloads}
    assert by_name[("Deployment", "web")].ready == 1
    assert not by_name[("Deployment", "web")].conditions
    assert any("BackoffLimitExceeded" in c for c in by_name[("Job", "migrate")].conditions)
    assert by_name[("CronJob", "nightly")].suspended is True  # batch/v1beta1, found by discovery
    assert result.message is None


def test_events(box: Toolbox) -> None:
    warnings = box.events(NS, warnings_only=True)
    assert [e.reason for e in warnings.events] == ["BackOff", "FailedScheduling"]
    assert warnings.events[0].count == 43 and warnings.folded == 1
    only_trainer = box.events(NS, kind="Pod", name="trainer")
    assert [e.object for e in only_trainer.events] == ["Pod/trainer"]


def test_logs(box: Toolbox) -> None:
    current = box.logs(NS, "worker-0")  # the container comes from the pod's spec
    assert current.ok and current.container == "app"
    assert current.excerpt is not None and current.excerpt.total_lines == 1
    previous = box.logs(NS, "worker-0", "app", previous=True, max_errors=2, tail=1)
    assert previous.excerpt is not None and previous.excerpt.total_lines == 5
    errors = [line.text for line in previous.excerpt.errors]
    assert errors[0].endswith("allocating buffer of 4GiB failed")
    assert previous.excerpt.errors[0].repeats == 2
    assert "FATAL out of memory" in errors[-1]
    text = previous.text()
    assert "eyJhbGciOiJIUzI1NiJ9" not in text and "[REDACTED]" in text
    never_restarted = box.logs(NS, "web-5d8c7b9f6-abcde", "web", previous=True)
    assert never_restarted.status == "not_found"  # the API server answers 400 here


def test_nodes(box: Toolbox) -> None:
    nodes = {n.name: n for n in box.nodes().nodes}
    assert nodes["node-ok"].ready == "True"
    assert nodes["node-ok"].allocatable["nvidia.com/gpu"] == "2"
    bad = nodes["node-bad"]
    assert bad.ready == "Unknown"
    assert any(p.startswith("DiskPressure") for p in bad.problems)
    assert "node.kubernetes.io/unreachable:NoExecute" in bad.taints


def test_services(box: Toolbox) -> None:
    services = {s.name: s for s in box.services(NS).services}
    assert services["web"].ready == ["10.1.0.5:8080 (web-5d8c7b9f6-abcde)"]
    assert services["web"].matching_pods == ["web-5d8c7b9f6-abcde"]
    assert services["worker"].matching_pods == [] and services["worker"].ready == []
    (one,) = box.services(NS, "web").services
    assert one.ports == ["80->8080/TCP"] and one.endpoints_known


def test_storage(box: Toolbox) -> None:
    result = box.storage(NS)
    claims = " | ".join(result.claims)
    assert "data-ok: Bound, class standard, volume pv-data" in claims
    assert "data-stuck: Pending, class fast-ssd" in claims
    assert any("(default)" in c for c in result.classes)
    assert any(v.startswith("pv-data: Bound") for v in result.volumes)
    assert result.unknown == []


def test_autoscalers(box: Toolbox) -> None:
    (line,) = box.autoscalers(NS).entries
    assert "3 current" in line and "max 3" in line and "TooManyReplicas" in line


def test_quotas(box: Toolbox) -> None:
    quotas = box.quotas(NS).entries
    assert "limits.memory 8Gi/8Gi" in quotas[0]
    assert quotas[1].startswith("limitrange defaults")


def test_ingresses(box: Toolbox) -> None:
    assert box.ingresses(NS).entries == ["ingress web: shop.example.com/ -> web:80"]


def test_network_policies(box: Toolbox) -> None:
    (policy,) = box.network_policies(NS).entries
    assert "selects app=worker" in policy and "0 ingress" in policy


def test_metrics_unavailable(box: Toolbox) -> None:
    pods = box.metrics(NS)
    assert pods.status == "unavailable"
    assert "does not serve PodMetrics" in (pods.message or "")
    assert box.metrics().status == "unavailable"  # nodes: the same discovery, answered again


def test_describe(box: Toolbox) -> None:
    pod = box.describe("Pod", "web-5d8c7b9f6-abcde", NS)
    assert pod.owners == ["ReplicaSet/web-5d8c7b9f6", "Deployment/web"]
    assert "PersistentVolumeClaim/data-ok" in pod.references
    deployment = box.describe("Deployment", "web", NS)
    assert any("web-5d8c7b9f6-abcde" in child for child in deployment.children)
    assert "ConfigMap/web-config" in deployment.references
    assert "Secret/db-credentials key password (name only)" in deployment.references
    assert [e.reason for e in deployment.events] == ["ScalingReplicaSet"]
    service = box.describe("Service", "web", NS)
    assert service.children == ["endpoint 10.1.0.5:8080 (web-5d8c7b9f6-abcde)"]


def test_secrets_never_come_back(box: Toolbox) -> None:
    deployment = box.describe("Deployment", "web", NS)
    config = box.cluster.get("ConfigMap", "web-config", NS)
    dumped = deployment.model_dump_json() + str(config)
    assert "ghp_16C7e42F292c6912E7710c838347Ae178B4a" not in dumped
    assert "s3cr3tPassw0rd" not in dumped
    assert "API_TOKEN" in dumped


def test_text_budget(box: Toolbox) -> None:
    for result in (box.pods(NS), box.events(NS), box.describe("Pod", "worker-0", NS)):
        assert len(result.text(200)) <= 200
    assert "more characters cut" in box.pods(NS).text(120)


# --- error paths -------------------------------------------------------------------------------

def test_not_found(box: Toolbox) -> None:
    missing = box.describe("Deployment", "nope", NS)
    assert missing.status == "not_found"
    assert "no Deployment named nope" in (missing.message or "")
    no_namespace = box.pods("no-such-namespace")  # an empty list, then a 404 for the namespace
    assert no_namespace.status == "not_found"
    assert "no-such-namespace" in (no_namespace.message or "")


def test_forbidden(connect: Callable[[str], Toolbox]) -> None:
    partial = connect(PARTIAL)
    assert partial.pods(NS).ok  # the partial role may list pods...
    events = partial.events(NS)  # ...but not events
    assert events.status == "forbidden"
    assert events.message == f"no permission to list events in namespace {NS}: needs `list events`"
    assert partial.workloads(NS).status == "forbidden"


def test_kind_unavailable(box: Toolbox) -> None:
    result = box.list_objects("NodeMetrics")
    assert result.status == "unavailable"
    assert result.text() == (
        "[list_objects] unavailable: this cluster does not serve NodeMetrics "
        "(tried metrics.k8s.io/v1beta1)")


# --- the replay itself -------------------------------------------------------------------------

def _replay(name: str) -> Any:
    path = CASSETTES / f"{name}.yaml"
    assert path.exists(), f"{path} is missing: run `make cassettes`"
    return VCR.use_cassette(str(path), record_mode="none")


def test_a_request_missing_from_the_cassette_fails_loudly(target: Target) -> None:
    cluster = tools.open_cluster(kubeconfig=str(target.kubeconfigs[READER]))
    try:
        with _replay("pods"), pytest.raises(CannotOverwriteExistingCassetteException):
            Toolbox(cluster).pods("another-namespace")
    finally:
        cluster.close()


def test_the_guard_refuses_writes_under_replay() -> None:
    """vcrpy patches urllib3's connections; the guard sits above them, in the pool manager and in
    `call_api`, so a write is refused before vcrpy (or a socket) could see it."""
    configuration = k8s.Configuration()
    configuration.host = SERVER
    api_client = ReadOnlyApiClient(configuration)
    pool = api_client.rest_client.pool_manager
    pods = f"{SERVER}/api/v1/namespaces/{NS}/pods"
    try:
        with _replay("pods") as played:
            assert pool.request("GET", pods).status == 200  # reads do reach vcrpy
            assert played.play_count == 1
            for attempt in (
                lambda: pool.request("DELETE", f"{pods}/worker-0"),
                lambda: pool.urlopen("PATCH", f"{pods}/worker-0"),
                lambda: pool.request("GET", f"{SERVER}/api/v1/namespaces/{NS}/secrets"),
                lambda: api_client.call_api("POST", pods, body={"metadata": {"name": "p"}}),
                lambda: api_client.call_api("GET", f"{pods}/worker-0/exec?command=sh"),
            ):
                with pytest.raises(ReadOnlyViolation):
                    attempt()
            assert played.play_count == 1  # nothing else reached vcrpy
    finally:
        api_client.close()
