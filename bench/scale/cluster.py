"""A namespace that looks like a busy production one, seeded fast into the harness's apiserver.

Deployments own ReplicaSets own pods (real owner references with the server's uids), each
Deployment has a Service and Endpoints, pods carry a kubelet-like status, and events are what a
namespace keeps for an hour: one or two per failing pod, a few hundred normal ones. Exactly six
pods fail, in three workloads:

- `ledger-api`: 3 pods crash-loop; their previous log says `DATABASE_URL is not set`;
- `pdf-renderer`: 2 pods are Pending, `0/N nodes are available: N Insufficient cpu.`;
- `search-indexer`: 1 pod is OOMKilled (exit code 137) and backs off.

Seeding is setup, not measured: creates and status patches go through a thread pool.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from harness import ApiServer

Json = dict[str, Any]

CRASHING, PENDING, OOM = "ledger-api", "pdf-renderer", "search-indexer"
EXPECTED = {  # workload -> the category the diagnosis must name
    f"Deployment/{{ns}}/{CRASHING}": "missing_env",
    f"Deployment/{{ns}}/{PENDING}": "insufficient_resources",
    f"Deployment/{{ns}}/{OOM}": "oom_killed",
}
_PREFIXES = ("orders", "cart", "catalog", "billing", "users", "search", "media", "notify",
             "inventory", "shipping", "reviews", "auth", "pricing", "reports", "gateway")
_SUFFIXES = ("api", "worker", "web", "cron", "consumer", "grpc", "cache", "sync")
_WORKERS = 16


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(text: str, length: int = 10) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # the ReplicaSet/pod name alphabet
    return "".join(alphabet[int(digest[i:i + 2], 16) % len(alphabet)]
                   for i in range(0, length * 2, 2))


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass
class Seeded:
    namespace: str
    pods: int
    deployments: int
    events: int
    failing: list[str]  # pod names

    def expected(self) -> dict[str, str]:
        return {ref.format(ns=self.namespace): category for ref, category in EXPECTED.items()}


class Seeder:
    """Admin-side writes to the harness apiserver (the benchmark's setup, never measured)."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.http = urllib3.PoolManager(ca_certs=str(server.ca_file), cert_reqs="CERT_REQUIRED",
                                        maxsize=_WORKERS)
        self.now = datetime.now(UTC)

    def call(self, method: str, path: str, body: Json | None = None) -> Json:
        content = "application/merge-patch+json" if method == "PATCH" else "application/json"
        response = self.http.request(
            method, self.server.url + path,
            body=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.server.admin_token}",
                     "Content-Type": content, "Accept": "application/json"})
        data: Json = json.loads(response.data or b"{}")
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data.get('message')}")
        return data

    def parallel(self, work: Iterable[tuple[str, str, Json | None]]) -> list[Json]:
        with ThreadPoolExecutor(_WORKERS) as pool:
            return list(pool.map(lambda w: self.call(*w), work))

    def ago(self, **delta: float) -> str:
        return _stamp(self.now - timedelta(**delta))

    # --- the namespace ----------------------------------------------------------------------

    def seed(self, pods: int, nodes: list[str]) -> Seeded:
        ns = f"scale-{pods}-{uuid.uuid4().hex[:4]}"
        self.call("POST", "/api/v1/namespaces",
                  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        count = 50 if pods <= 1000 else 100
        names = [CRASHING, PENDING, OOM] + [
            f"{p}-{s}" for p, s in itertools.islice(itertools.product(_PREFIXES, _SUFFIXES),
                                                    count - 3)]
        replicas = _spread(pods - 3, count - 1)
        sizes = {CRASHING: 3, **dict(zip(names[1:], replicas, strict=True))}
        base = f"/apis/apps/v1/namespaces/{ns}"
        self.parallel(("POST", f"{base}/deployments", self._deployment(ns, n, sizes[n]))
                      for n in names)
        hashes = {n: _hash(f"{ns}/{n}") for n in names}
        created = self.parallel(
            ("POST", f"{base}/replicasets", self._replica_set(ns, n, hashes[n], sizes[n]))
            for n in names)
        rs_uids = {rs["metadata"]["name"]: rs["metadata"]["uid"] for rs in created}
        plan = [(n, f"{n}-{hashes[n]}-{_hash(f'{ns}/{n}/{i}', 5)}", i)
                for n in names for i in range(sizes[n])]
        failing = {pod: n for n, pod, i in plan
                   if n == CRASHING or (n == PENDING and i < 2) or (n == OOM and i == 0)}
        ips = {pod: f"10.{244 + k // 62500}.{k // 250 % 250}.{k % 250 + 1}"
               for k, (_, pod, _) in enumerate(plan)}
        node_of = {pod: nodes[k % len(nodes)] for k, (_, pod, _) in enumerate(plan)
                   if failing.get(pod) != PENDING}
        self.parallel(("POST", f"/api/v1/namespaces/{ns}/pods",
                       self._pod(ns, n, hashes[n], pod, rs_uids, node_of.get(pod)))
                      for n, pod, _ in plan)
        self.parallel(("PATCH", f"/api/v1/namespaces/{ns}/pods/{pod}/status",
                       {"status": self._pod_status(n, pod, ips[pod], failing, len(nodes))})
                      for n, pod, _ in plan)
        self._controller_status(ns, names, hashes, sizes, failing)
        self._services(ns, names, plan, ips, node_of, failing)
        events = self._events(ns, names, plan, failing, len(nodes))
        for pod, workload in failing.items():
            if workload == CRASHING:
                for previous in (True, False):
                    self.server.kubelet.set_log(ns, pod, "app", _crash_log(pod),
                                                previous=previous)
        return Seeded(ns, len(plan), count, events, sorted(failing))

    def _deployment(self, ns: str, name: str, replicas: int) -> Json:
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name},
                             "annotations": {"deployment.kubernetes.io/revision": "4"}},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": _pod_spec(name)}}}

    def _replica_set(self, ns: str, name: str, template_hash: str, replicas: int) -> Json:
        labels = {"app": name, "pod-template-hash": template_hash}
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{name}-{template_hash}", "namespace": ns, "labels": labels,
                             "annotations": {"deployment.kubernetes.io/revision": "4",
                                             "deployment.kubernetes.io/desired-replicas":
                                                 str(replicas)},
                             "ownerReferences": [self._owner(ns, "Deployment", name)]},
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels}, "spec": _pod_spec(name)}}}

    def _owner(self, ns: str, kind: str, name: str, uid: str | None = None) -> Json:
        if uid is None:
            path = f"/apis/apps/v1/namespaces/{ns}/{kind.lower()}s/{name}"
            uid = self.call("GET", path)["metadata"]["uid"]
        return {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid,
                "controller": True, "blockOwnerDeletion": True}

    def _pod(self, ns: str, name: str, template_hash: str, pod: str, rs_uids: dict[str, str],
             node: str | None) -> Json:
        rs = f"{name}-{template_hash}"
        spec = _pod_spec(name)
        if name == PENDING:
            spec["containers"][0]["resources"]["requests"]["cpu"] = "3"
        if node:
            spec["nodeName"] = node
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": ns, "generateName": f"{rs}-",
                             "labels": {"app": name, "pod-template-hash": template_hash},
                             "ownerReferences": [self._owner(ns, "ReplicaSet", rs, rs_uids[rs])]},
                "spec": {**spec, "serviceAccountName": "default"}}

    def _pod_status(self, name: str, pod: str, ip: str, failing: dict[str, str],
                    nodes: int) -> Json:
        started = self.ago(days=3)
        image = _image(name)
        if failing.get(pod) == PENDING:
            return {"phase": "Pending", "qosClass": "Burstable", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "lastTransitionTime": self.ago(minutes=40),
                 "message": f"0/{nodes} nodes are available: {nodes} Insufficient cpu."}]}
        ready = pod not in failing
        state: Json = {"running": {"startedAt": started}}
        last: Json = {}
        if failing.get(pod) in (CRASHING, OOM):
            oom = failing[pod] == OOM
            state = {"waiting": {"reason": "CrashLoopBackOff", "message":
                                 f"back-off 5m0s restarting failed container=app pod={pod}"}}
            last = {"terminated": {"exitCode": 137 if oom else 1,
                                   "reason": "OOMKilled" if oom else "Error",
                                   "startedAt": self.ago(minutes=3),
                                   "finishedAt": self.ago(minutes=2),
                                   "containerID": f"containerd://{_hex(pod + 'c', 64)}"}}
        flag = "True" if ready else "False"
        return {
            "phase": "Running", "qosClass": "Burstable", "hostIP": "10.0.0.10", "podIP": ip,
            "podIPs": [{"ip": ip}], "startTime": started,
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": started},
                {"type": "Ready", "status": flag, "lastTransitionTime": started},
                {"type": "ContainersReady", "status": flag, "lastTransitionTime": started},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": started}],
            "containerStatuses": [{
                "name": "app", "ready": ready, "started": ready,
                "restartCount": 0 if ready else 14, "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{_hex(name, 64)}",
                "containerID": f"containerd://{_hex(pod, 64)}", "state": state,
                "lastState": last}]}

    def _controller_status(self, ns: str, names: list[str], hashes: dict[str, str],
                           sizes: dict[str, int], failing: dict[str, str]) -> None:
        base = f"/apis/apps/v1/namespaces/{ns}"
        work: list[tuple[str, str, Json | None]] = []
        for name in names:
            ready = sizes[name] - sum(1 for w in failing.values() if w == name)
            available = "True" if ready == sizes[name] else "False"
            counts = {"replicas": sizes[name], "readyReplicas": ready,
                      "availableReplicas": ready, "observedGeneration": 1}
            work.append(("PATCH", f"{base}/replicasets/{name}-{hashes[name]}/status",
                         {"status": {**counts, "fullyLabeledReplicas": sizes[name]}}))
            work.append(("PATCH", f"{base}/deployments/{name}/status", {"status": {
                **counts, "updatedReplicas": sizes[name],
                "unavailableReplicas": sizes[name] - ready, "conditions": [
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": f'ReplicaSet "{name}-{hashes[name]}" has successfully progressed.',
                     "lastUpdateTime": self.ago(days=3), "lastTransitionTime": self.ago(days=3)},
                    {"type": "Available", "status": available,
                     "reason": "MinimumReplicasAvailable" if available == "True"
                     else "MinimumReplicasUnavailable",
                     "message": "Deployment has minimum availability." if available == "True"
                     else "Deployment does not have minimum availability.",
                     "lastUpdateTime": self.ago(hours=1),
                     "lastTransitionTime": self.ago(hours=1)}]}}))
        self.parallel(work)

    def _services(self, ns: str, names: list[str], plan: list[tuple[str, str, int]],
                  ips: dict[str, str], node_of: dict[str, str], failing: dict[str, str]) -> None:
        self.parallel(("POST", f"/api/v1/namespaces/{ns}/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"selector": {"app": name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
            for name in names)

        def endpoints(name: str) -> Json:
            pods = [pod for n, pod, _ in plan if n == name and failing.get(pod) != PENDING]

            def address(pod: str) -> Json:
                return {"ip": ips[pod], "nodeName": node_of[pod],
                        "targetRef": {"kind": "Pod", "name": pod, "namespace": ns}}

            subset: Json = {"ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
            ready = [address(p) for p in pods if p not in failing]
            unready = [address(p) for p in pods if p in failing]
            if ready:
                subset["addresses"] = ready
            if unready:
                subset["notReadyAddresses"] = unready
            return {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                    "subsets": [subset]}

        self.parallel(("POST", f"/api/v1/namespaces/{ns}/endpoints", endpoints(n))
                      for n in names)

    def _events(self, ns: str, names: list[str], plan: list[tuple[str, str, int]],
                failing: dict[str, str], nodes: int) -> int:
        events: list[Json] = []

        def event(kind: str, name: str, reason: str, message: str, warning: bool = False,
                  count: int = 1, component: str = "kubelet", minutes: float = 5) -> None:
            events.append({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{name}.{_hex(name + reason + message, 16)}",
                             "namespace": ns},
                "involvedObject": {"apiVersion": "apps/v1" if kind != "Pod" else "v1",
                                   "kind": kind, "name": name, "namespace": ns},
                "reason": reason, "message": message, "count": count,
                "type": "Warning" if warning else "Normal",
                "firstTimestamp": self.ago(minutes=minutes + 30),
                "lastTimestamp": self.ago(minutes=minutes), "source": {"component": component}})

        for pod, workload in failing.items():
            if workload == PENDING:
                event("Pod", pod, "FailedScheduling",
                      f"0/{nodes} nodes are available: {nodes} Insufficient cpu.", True, 31,
                      "default-scheduler", 1)
            else:
                event("Pod", pod, "BackOff", "Back-off restarting failed container", True, 64,
                      minutes=0.5)
                event("Pod", pod, "Pulled", f'Container image "{_image(workload)}" already '
                      "present on machine", count=14, minutes=3)
        # The normal churn of the last hour: a rollout of some workloads, probe blips.
        rolled = [(n, pod) for n, pod, i in plan if i == 0 and pod not in failing]
        for name, pod in rolled[: len(plan) // 40]:
            event("Deployment", name, "ScalingReplicaSet",
                  f"Scaled up replica set {pod.rsplit('-', 1)[0]} to 1", component=
                  "deployment-controller", minutes=50)
            event("Pod", pod, "Scheduled", f"Successfully assigned {ns}/{pod} to node",
                  component="default-scheduler", minutes=50)
            for reason, message in (("Pulled", f'Container image "{_image(name)}" already '
                                     "present on machine"), ("Created", "Created container app"),
                                    ("Started", "Started container app")):
                event("Pod", pod, reason, message, minutes=49)
        self.parallel(("POST", f"/api/v1/namespaces/{ns}/events", e) for e in events)
        return len(events)


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _image(name: str) -> str:
    return f"registry.example.com/shop/{name}:2026.11.{len(name) % 9 + 1}"


def _pod_spec(name: str) -> Json:
    env = [{"name": "LOG_LEVEL", "value": "info"}, {"name": "HTTP_ADDR", "value": ":8080"},
           {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector:4317"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    if name != CRASHING:
        env.append({"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {
            "name": f"{name}-db", "key": "url"}}})
    probe = {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
             "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
             "failureThreshold": 3}
    return {
        "containers": [{
            "name": "app", "image": _image(name), "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], "env": env,
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"memory": "256Mi" if name == OOM else "512Mi"}},
            "readinessProbe": probe, "livenessProbe": {**probe, "initialDelaySeconds": 10},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File"}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 300}]}


def _crash_log(pod: str) -> str:
    return (f"2026-11-29T16:50:11.402Z INFO  ledger-api starting version=v4.2.0 pod={pod}\n"
            "2026-11-29T16:50:11.403Z INFO  config: loading settings from environment\n"
            "2026-11-29T16:50:11.403Z INFO  config: LOG_LEVEL=info HTTP_ADDR=:8080\n"
            "2026-11-29T16:50:11.404Z FATAL config: required environment variable DATABASE_URL "
            "is not set\n"
            "goroutine 1 [running]:\nmain.mustLoadConfig(...)\n"
            "        /src/cmd/ledger/main.go:57 +0x2a5\n")

