"""The kinds the tools read, with the API versions to try in order of preference.

Real clusters differ: v1.20 serves CronJobs only as batch/v1beta1 and HPAs as autoscaling/v2beta2,
while v1.25+ serves neither beta. Each kind lists every group/version it may be served under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Kind = Literal[
    "Namespace", "Node", "PersistentVolume", "StorageClass",
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController",
    "Job", "CronJob", "Service", "Endpoints", "Event", "PersistentVolumeClaim", "ConfigMap",
    "HorizontalPodAutoscaler", "ResourceQuota", "LimitRange", "Ingress", "NetworkPolicy",
    "PodDisruptionBudget", "PodMetrics", "NodeMetrics",
]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True)
class KindInfo:
    kind: Kind
    plural: str
    versions: tuple[str, ...]  # "v1" for the core group, else "group/version"
    namespaced: bool
    snapshot_file: str  # file name in a snapshot directory (kubectl's own names for core kinds)
    aliases: tuple[str, ...] = ()

    def path(
        self, group_version: str, namespace: str | None = None, name: str | None = None
    ) -> str:
        base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


_TABLE: tuple[KindInfo, ...] = (
    KindInfo("Namespace", "namespaces", ("v1",), False, "namespaces.json", ("ns",)),
    KindInfo("Node", "nodes", ("v1",), False, "nodes.json", ("no",)),
    KindInfo("PersistentVolume", "persistentvolumes", ("v1",), False, "persistentvolumes.json",
             ("pv",)),
    KindInfo("StorageClass", "storageclasses", ("storage.k8s.io/v1", "storage.k8s.io/v1beta1"),
             False, "storageclasses.json", ("sc",)),
    KindInfo("Pod", "pods", ("v1",), True, "pods.json", ("po",)),
    KindInfo("Deployment", "deployments", ("apps/v1",), True, "deployments.json",
             ("deploy",)),
    KindInfo("ReplicaSet", "replicasets", ("apps/v1",), True, "replicasets.json", ("rs",)),
    KindInfo("StatefulSet", "statefulsets", ("apps/v1",), True, "statefulsets.json", ("sts",)),
    KindInfo("DaemonSet", "daemonsets", ("apps/v1",), True, "daemonsets.json", ("ds",)),
    KindInfo("ReplicationController", "replicationcontrollers", ("v1",), True,
             "replication-controllers.json", ("rc",)),
    KindInfo("Job", "jobs", ("batch/v1",), True, "jobs.json"),
    KindInfo("CronJob", "cronjobs", ("batch/v1", "batch/v1beta1"), True, "cronjobs.json",
             ("cj",)),
    KindInfo("Service", "services", ("v1",), True, "services.json", ("svc",)),
    KindInfo("Endpoints", "endpoints", ("v1",), True, "endpoints.json", ("ep",)),
    KindInfo("Event", "events", ("v1",), True, "events.json", ("ev",)),
    KindInfo("PersistentVolumeClaim", "persistentvolumeclaims", ("v1",), True,
             "persistentvolumeclaims.json", ("pvc",)),
    KindInfo("ConfigMap", "configmaps", ("v1",), True, "configmaps.json", ("cm",)),
    KindInfo("HorizontalPodAutoscaler", "horizontalpodautoscalers",
             ("autoscaling/v2", "autoscaling/v2beta2", "autoscaling/v1"), True,
             "horizontalpodautoscalers.json", ("hpa",)),
    KindInfo("ResourceQuota", "resourcequotas", ("v1",), True, "resourcequotas.json", ("quota",)),
    KindInfo("LimitRange", "limitranges", ("v1",), True, "limitranges.json", ("limits",)),
    KindInfo("Ingress", "ingresses",
             ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"), True,
             "ingresses.json", ("ing",)),
    KindInfo("NetworkPolicy", "networkpolicies", ("networking.k8s.io/v1",), True,
             "networkpolicies.json", ("netpol",)),
    KindInfo("PodDisruptionBudget", "poddisruptionbudgets", ("policy/v1", "policy/v1beta1"), True,
             "poddisruptionbudgets.json", ("pdb",)),
    KindInfo("PodMetrics", "pods", ("metrics.k8s.io/v1beta1",), True, "pods.metrics.json"),
    KindInfo("NodeMetrics", "nodes", ("metrics.k8s.io/v1beta1",), False, "nodes.metrics.json"),
)

_BY_KIND: dict[str, KindInfo] = {info.kind: info for info in _TABLE}


def info(kind: Kind) -> KindInfo:
    return _BY_KIND[kind]


def parse_kind(text: str) -> Kind | None:
    """The kind a user means by `deploy`, `deployments`, `Deployment`, `hpa`...; None if unknown."""
    word = text.strip().lower()
    for entry in _TABLE:
        names = {entry.kind.lower(), entry.plural, entry.kind.lower() + "s", *entry.aliases}
        if word in names and not entry.kind.endswith("Metrics"):
            return entry.kind
    return None


WORKLOAD_KINDS: tuple[Kind, ...] = (
    "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet",
    "ReplicationController",
)
