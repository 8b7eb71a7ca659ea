"""The harness itself, end to end against the real kube-apiserver."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from harness import ApiServer, FakeKubelet, Json, MakeNode, SetPodStatus, now, request_json
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

KUBECTL = "/usr/bin/kubectl"
IMAGE = "registry.example.com/shop/web:1.4.2"


def create_pod(client: k8s.ApiClient, namespace: str, name: str, node: str | None) -> Json:
    body: Json = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": IMAGE}]},
    }
    if node is not None:
        body["spec"]["nodeName"] = node  # bound directly: there is no scheduler
    return request_json(client, "POST", f"/api/v1/namespaces/{namespace}/pods", body)


def crashloop_status(namespace: str, name: str, uid: str) -> Json:
    stamp = now()
    not_ready = {
        "status": "False",
        "lastProbeTime": None,
        "lastTransitionTime": stamp,
        "reason": "ContainersNotReady",
        "message": "containers with unready status: [app]",
    }
    return {
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": stamp},
            {"type": "Ready", **not_ready},
            {"type": "ContainersReady", **not_ready},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": stamp},
        ],
        "hostIP": "127.0.0.1",
        "podIP": "10.244.1.17",
        "podIPs": [{"ip": "10.244.1.17"}],
        "startTime": stamp,
        "containerStatuses": [
            {
                "name": "app",
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 2m40s restarting failed container=app "
                        f"pod={name}_{namespace}({uid})",
                    }
                },
                "lastState": {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": stamp,
                        "finishedAt": stamp,
                        "containerID": "containerd://" + "ab" * 32,
                    }
                },
                "ready": False,
                "restartCount": 5,
                "image": IMAGE,
                "imageID": "registry.example.com/shop/web@sha256:" + "cd" * 32,
                "containerID": "containerd://" + "ab" * 32,
                "started": False,
            }
        ],
        "qosClass": "BestEffort",
    }


@pytest.fixture
def crashing_pod(
    admin_client: k8s.ApiClient,
    namespace: str,
    make_node: MakeNode,
    set_pod_status: SetPodStatus,
    kubelet: FakeKubelet,
) -> Json:
    node = make_node(f"node-{namespace}")
    pod = create_pod(admin_client, namespace, "web", node["metadata"]["name"])
    status = crashloop_status(namespace, "web", pod["metadata"]["uid"])
    stored = set_pod_status(namespace, "web", status)
    assert stored["status"] == status
    kubelet.set_log(namespace, "web", "app", "starting web\nlistening on :8080\n")
    kubelet.set_log(
        namespace, "web", "app",
        "starting web\npanic: dial tcp 10.0.0.7:5432: connect: connection refused\n",
        previous=True,
    )
    return stored


def test_node_status_points_at_the_fake_kubelet(
    admin_client: k8s.ApiClient, make_node: MakeNode, namespace: str, apiserver: ApiServer
) -> None:
    node = make_node(f"n-{namespace}", ready=False, allocatable={"cpu": "1500m"})
    read = request_json(admin_client, "GET", f"/api/v1/nodes/{node['metadata']['name']}")
    endpoints = read["status"]["daemonEndpoints"]
    assert endpoints == {"kubeletEndpoint": {"Port": apiserver.kubelet.port}}
    assert {"type": "InternalIP", "address": "127.0.0.1"} in read["status"]["addresses"]
    ready = next(c for c in read["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "KubeletNotReady")
    assert [t["effect"] for t in read["spec"]["taints"]] == ["NoSchedule", "NoExecute"]
    assert read["status"]["allocatable"]["cpu"] == "1500m"

    again = make_node(f"n-{namespace}")  # replacing: ready now, admission's taint gone
    assert "taints" not in again["spec"]
    ready = next(c for c in again["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"


def test_crashloop_status_reads_back_exactly(
    admin_client: k8s.ApiClient, namespace: str, crashing_pod: Json
) -> None:
    pod = request_json(admin_client, "GET", f"/api/v1/namespaces/{namespace}/pods/web")
    assert pod["status"] == crashing_pod["status"]
    app = pod["status"]["containerStatuses"][0]
    assert app["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert app["lastState"]["terminated"]["exitCode"] == 1
    assert app["restartCount"] == 5
    assert pod["spec"]["nodeName"] == f"node-{namespace}"


def test_pod_logs_come_from_the_fake_kubelet(
    admin_client: k8s.ApiClient, namespace: str, crashing_pod: Json, kubelet: FakeKubelet
) -> None:
    api = k8s.CoreV1Api(admin_client)
    current = api.read_namespaced_pod_log("web", namespace, container="app")
    previous = api.read_namespaced_pod_log("web", namespace, container="app", previous=True)
    assert current == "starting web\nlistening on :8080\n"
    assert previous.endswith("connect: connection refused\n")
    assert api.read_namespaced_pod_log("web", namespace, tail_lines=1) == "listening on :8080\n"
    assert api.read_namespaced_pod_log("web", namespace, limit_bytes=5) == "start"
    stamped = api.read_namespaced_pod_log("web", namespace, timestamps=True)
    assert [line.split(" ", 1)[1] for line in stamped.splitlines()] == [
        "starting web", "listening on :8080"
    ]
    assert kubelet.requests[:2] == [
        f"/containerLogs/{namespace}/web/app",
        f"/containerLogs/{namespace}/web/app?previous=true",
    ]


def test_pod_log_errors_are_the_kubelets(
    admin_client: k8s.ApiClient, namespace: str, make_node: MakeNode, kubelet: FakeKubelet
) -> None:
    make_node(f"node-{namespace}")
    create_pod(admin_client, namespace, "quiet", f"node-{namespace}")
    create_pod(admin_client, namespace, "pending", None)
    api = k8s.CoreV1Api(admin_client)

    with pytest.raises(ApiException) as unknown:
        api.read_namespaced_pod_log("quiet", namespace)
    # The apiserver turns the kubelet's 404 ('pod "quiet" does not exist') into its own words.
    assert unknown.value.status == 404
    assert "the server could not find the requested resource ( pods/log quiet)" in str(
        unknown.value.body
    )

    kubelet.set_log(namespace, "quiet", "app", "hello\n")
    with pytest.raises(ApiException) as no_previous:
        api.read_namespaced_pod_log("quiet", namespace, previous=True)
    assert no_previous.value.status == 400
    assert "previous terminated container" in str(no_previous.value.body)

    # A pod with no node yet has empty logs (200, empty body), as in a real 1.20 cluster; the
    # official client turns an empty body into None, not "".
    assert api.read_namespaced_pod_log("pending", namespace) is None


def test_big_log_files_are_streamed_with_tail_and_limit(
    admin_client: k8s.ApiClient,
    namespace: str,
    make_node: MakeNode,
    kubelet: FakeKubelet,
    tmp_path: Path,
) -> None:
    make_node(f"node-{namespace}")
    create_pod(admin_client, namespace, "chatty", f"node-{namespace}")
    log = tmp_path / "chatty.log"
    with log.open("w") as f:
        for i in range(200_000):  # ~7 MB
            f.write(f"{i:08d} GET /healthz 200 0.001s\n")
    kubelet.set_log(namespace, "chatty", "app", log)
    api = k8s.CoreV1Api(admin_client)
    assert api.read_namespaced_pod_log("chatty", namespace, tail_lines=2) == (
        "00199998 GET /healthz 200 0.001s\n00199999 GET /healthz 200 0.001s\n"
    )
    assert api.read_namespaced_pod_log("chatty", namespace, tail_lines=1, limit_bytes=8) == (
        "00199999"
    )
    assert len(api.read_namespaced_pod_log("chatty", namespace, limit_bytes=100_000)) == 100_000


def test_kubectl_reads_the_cluster(
    apiserver: ApiServer, namespace: str, crashing_pod: Json, tmp_path: Path
) -> None:
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    base = [KUBECTL, "--kubeconfig", str(kubeconfig), "-n", namespace]
    pods = json.loads(_run([*base, "get", "pods", "-o", "json"]))
    assert pods["kind"] == "List"
    [pod] = pods["items"]
    assert pod["status"] == crashing_pod["status"]
    assert _run([*base, "logs", "web", "--previous"]).endswith("connection refused\n")


def test_readonly_token_is_authenticated_but_not_authorized(
    apiserver: ApiServer, namespace: str
) -> None:
    with apiserver.client(apiserver.readonly_token) as readonly:
        with pytest.raises(ApiException) as forbidden:
            k8s.CoreV1Api(readonly).list_namespaced_pod(namespace)
    assert forbidden.value.status == 403
    assert 'User \\"sre-readonly\\" cannot list resource \\"pods\\"' in str(forbidden.value.body)

    with apiserver.client("not-a-token") as stranger:
        with pytest.raises(ApiException) as unauthorized:
            k8s.CoreV1Api(stranger).list_namespaced_pod(namespace)
    assert unauthorized.value.status == 401


def test_kubectl_cluster_info_dump_writes_the_snapshot_format(
    apiserver: ApiServer,
    admin_client: k8s.ApiClient,
    namespace: str,
    crashing_pod: Json,
    kubelet: FakeKubelet,
    tmp_path: Path,
) -> None:
    create_pod(admin_client, namespace, "silent", f"node-{namespace}")  # no logs registered
    create_pod(admin_client, namespace, "unterminated", f"node-{namespace}")
    kubelet.set_log(namespace, "unterminated", "app", "last words")
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    out = tmp_path / "dump"
    # `--all-namespaces` writes the same files for every namespace, but kubectl throttles itself
    # to 5 requests/s after a burst of 10 (~1.4 s per namespace), and a session makes many.
    _run([KUBECTL, "--kubeconfig", str(kubeconfig), "cluster-info", "dump",
          f"--namespaces={namespace}", "-o", "json", "--output-directory", str(out)])

    nodes = json.loads((out / "nodes.json").read_text())
    assert (nodes["kind"], nodes["apiVersion"]) == ("NodeList", "v1")
    assert f"node-{namespace}" in {n["metadata"]["name"] for n in nodes["items"]}
    listed = {p.name for p in (out / namespace).iterdir()}
    assert {"events.json", "replication-controllers.json", "services.json", "daemonsets.json",
            "deployments.json", "replicasets.json", "pods.json", "web", "silent"} <= listed
    pods = json.loads((out / namespace / "pods.json").read_text())
    assert pods["kind"] == "PodList"
    web = next(p for p in pods["items"] if p["metadata"]["name"] == "web")
    assert "kind" not in web
    assert web["status"] == crashing_pod["status"]

    logs = (out / namespace / "web" / "logs.txt").read_text()
    assert logs == (
        f"==== START logs for container app of pod {namespace}/web ====\n"
        "starting web\nlistening on :8080\n"
        f"==== END logs for container app of pod {namespace}/web ====\n"
    )
    assert (out / namespace / "silent" / "logs.txt").read_text() == (
        f"==== START logs for container app of pod {namespace}/silent ====\n"
        "Request log error: the server could not find the requested resource (get pods silent)\n"
        f"==== END logs for container app of pod {namespace}/silent ====\n"
    )
    # kubectl adds no newline of its own: the END line can follow log text on the same line.
    assert (out / namespace / "unterminated" / "logs.txt").read_text().splitlines()[1] == (
        f"last words==== END logs for container app of pod {namespace}/unterminated ===="
    )
    # Empty lists hold `"items": null`, not [].
    assert json.loads((out / namespace / "deployments.json").read_text())["items"] is None


def _run(args: list[str]) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout
