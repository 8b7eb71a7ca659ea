"""Seeding the test cluster with objects as a real cluster's controllers and kubelets leave them.

With no kubelet or controllers, tests write `status` themselves through the status subresource.
Everything here works on plain JSON dicts (exactly what the server returns), not client models.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

Json = dict[str, Any]

DEFAULT_CAPACITY: dict[str, str] = {
    "cpu": "2",
    "ephemeral-storage": "61255492Ki",
    "hugepages-2Mi": "0",
    "memory": "8152984Ki",
    "pods": "110",
}
DEFAULT_ALLOCATABLE: dict[str, str] = {
    "cpu": "2",
    "ephemeral-storage": "56453061334",
    "hugepages-2Mi": "0",
    "memory": "8050584Ki",
    "pods": "110",
}


class MakeNode(Protocol):
    def __call__(
        self,
        name: str,
        *,
        ready: bool = True,
        conditions: list[Json] | None = None,
        taints: list[Json] | None = None,
        labels: dict[str, str] | None = None,
        allocatable: dict[str, str] | None = None,
        capacity: dict[str, str] | None = None,
    ) -> Json: ...


class SetPodStatus(Protocol):
    def __call__(self, namespace: str, name: str, status: Json) -> Json: ...


def now() -> str:
    """The current time as Kubernetes writes timestamps (RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_json(
    client: k8s.ApiClient, method: str, path: str, body: Json | None = None
) -> Json:
    """Send `body` as JSON and return the response's JSON, both untouched by client models.

    The generated API methods validate bodies into pydantic models and back; seeding wants the
    exact JSON a controller or kubelet would write. Non-2xx answers raise `ApiException`.
    """
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    method, url, headers, payload, _ = client.param_serialize(
        method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    response = client.call_api(method, url, header_params=headers, body=payload)
    data: bytes = response.read()  # type: ignore[no-untyped-call]
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=data.decode(), data=None)
    decoded: Json = json.loads(data)
    return decoded


def create_namespace(client: k8s.ApiClient, name: str | None = None) -> str:
    """Create a namespace (named `t-<8 hex digits>` unless given) and return its name."""
    name = name or f"t-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    request_json(client, "POST", "/api/v1/namespaces", body)
    return name


def set_pod_status(client: k8s.ApiClient, namespace: str, name: str, status: Json) -> Json:
    """Replace a pod's whole status through the `status` subresource; return the stored pod.

    Nothing is merged: fields absent from `status` (even `qosClass`) are absent afterwards.
    """
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    pod = request_json(client, "GET", path)
    pod["status"] = status
    return request_json(client, "PUT", f"{path}/status", pod)


def _conditions(ready: bool, overrides: list[Json] | None) -> list[Json]:
    stamp = now()

    def condition(kind: str, status: str, reason: str, message: str) -> Json:
        return {
            "type": kind,
            "status": status,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }

    by_type = {
        c["type"]: c
        for c in (
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                      "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                      "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID",
                      "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")
            if ready
            else condition("Ready", "False", "KubeletNotReady",
                           "container runtime status check may not have completed yet"),
        )
    }
    for override in overrides or []:
        by_type[override["type"]] = {
            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp, **override
        }
    return list(by_type.values())


def _default_taints(ready: bool) -> list[Json]:
    if ready:
        return []
    # What the node lifecycle controller puts on a node whose Ready condition is False.
    return [
        {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": now()},
    ]


def make_node(
    client: k8s.ApiClient,
    kubelet_port: int,
    name: str,
    *,
    ready: bool = True,
    conditions: list[Json] | None = None,
    taints: list[Json] | None = None,
    labels: dict[str, str] | None = None,
    allocatable: dict[str, str] | None = None,
    capacity: dict[str, str] | None = None,
) -> Json:
    """Create (or replace) a Node that looks like one a kubelet registered; return it as stored.

    - `conditions` override the defaults of the same type (MemoryPressure, DiskPressure,
      PIDPressure: False; Ready: True, or False with `ready=False`); timestamps are filled in.
    - `taints` default to none for a ready node and to the not-ready NoSchedule/NoExecute pair
      otherwise; `[]` means none. (Admission adds a not-ready taint on create; it is replaced.)
    - `labels`, `capacity`, `allocatable` are merged over kubelet-like defaults.
    - The status points `pods/log` at the fake kubelet: InternalIP 127.0.0.1, kubelet port.
    """
    path = f"/api/v1/nodes/{name}"
    body: Json = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    try:
        request_json(client, "POST", "/api/v1/nodes", body)
    except ApiException as e:
        if e.status != 409:
            raise
    node = request_json(client, "GET", path)
    node["metadata"]["labels"] = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        **(labels or {}),
    }
    node.setdefault("spec", {})["taints"] = _default_taints(ready) if taints is None else taints
    node = request_json(client, "PUT", path, node)
    node["status"] = {
        "capacity": {**DEFAULT_CAPACITY, **(capacity or {})},
        "allocatable": {
            **(DEFAULT_ALLOCATABLE if capacity is None else DEFAULT_CAPACITY),
            **(capacity or {}),
            **(allocatable or {}),
        },
        "conditions": _conditions(ready, conditions),
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": {
            "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, name).hex,
            "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "bootID": str(uuid.uuid4()),
            "kernelVersion": "5.10.0-28-amd64",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": "containerd://1.6.20",
            "kubeletVersion": "v1.20.2",
            "kubeProxyVersion": "v1.20.2",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }
    return request_json(client, "PUT", f"{path}/status", node)
