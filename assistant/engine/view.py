"""One consistent read of the part of a cluster a diagnosis looks at.

Everything is listed once per kind and namespace (the number of requests does not grow with the
number of pods); logs are read only for the few failing pods that need them. Lookups by
namespace, by name and by involved object go through indexes built once per kind, so analyzers
that look up an owner or the events of each pod stay linear in the number of objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tools import (
    Cluster,
    Forbidden,
    Kind,
    KindUnavailable,
    Metrics,
    NotFound,
    Obj,
    ServerError,
    Unauthorized,
    Unreachable,
)
from tools.errors import AnswerTooLarge
from tools.logs import LogExcerpt, excerpt
from tools.summaries import meta, parse_time

NAMESPACED: tuple[Kind, ...] = (
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service",
    "Endpoints", "Event", "PersistentVolumeClaim", "ConfigMap", "HorizontalPodAutoscaler",
    "ResourceQuota", "NetworkPolicy", "LimitRange", "PodDisruptionBudget",
)
CLUSTER: tuple[Kind, ...] = ("Node", "PersistentVolume", "StorageClass")


class ClusterUnavailable(Exception):
    """The cluster cannot be read at all (unreachable, credentials refused)."""


@dataclass
class ClusterView:
    cluster: Cluster
    namespaces: list[str]
    objects: dict[Kind, list[Obj]] = field(default_factory=dict)
    unknown: dict[Kind, str] = field(default_factory=dict)  # kind -> why it is unknown
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _logs: dict[tuple[str, str, str, bool], LogExcerpt | None] = field(default_factory=dict)
    log_reads: int = 0
    log_budget: int | None = None  # at most this many log reads (a sweep of the whole cluster)
    metrics: Metrics | None = None  # Prometheus or a snapshot's series; None: not configured
    # Indexes over `objects`, built on first use; `_load` drops those of the kind it extends.
    _by_namespace: dict[Kind, dict[str | None, list[Obj]]] = field(default_factory=dict)
    _by_name: dict[Kind, dict[tuple[str | None, str | None], Obj]] = field(default_factory=dict)
    _events: dict[tuple[str | None, str | None], list[Obj]] | None = None
    _everywhere: dict[Kind, list[Obj]] = field(default_factory=dict)
    _unreadable: set[Kind] = field(default_factory=set)  # kinds no cluster-wide list may read

    @classmethod
    def load(cls, cluster: Cluster, namespaces: list[str]) -> ClusterView:
        view = cls(cluster, namespaces)
        for kind in CLUSTER:
            view._load(kind, None)
        for kind in NAMESPACED:
            for namespace in namespaces:
                view._load(kind, namespace)
        return view

    def _load(self, kind: Kind, namespace: str | None) -> None:
        self._by_namespace.pop(kind, None)
        self._by_name.pop(kind, None)
        if kind == "Event":
            self._events = None
        bucket = self.objects.setdefault(kind, [])
        try:
            bucket.extend(self.cluster.list(kind, namespace))
        except (KindUnavailable, Forbidden, NotFound) as e:
            self.unknown[kind] = str(e)
        except (Unreachable, Unauthorized) as e:
            raise ClusterUnavailable(str(e)) from e

    def widen(self, namespaces: list[str]) -> None:
        """Add namespaces the evidence leads to (a dependency's), if the cluster has them."""
        new = [ns for ns in namespaces if ns not in self.namespaces]
        if not new:
            return
        try:
            existing = set(self.cluster.namespaces())
        except (Forbidden, NotFound, KindUnavailable, Unreachable, Unauthorized):
            return
        for namespace in new:
            if namespace in existing:
                self.namespaces.append(namespace)
                for kind in NAMESPACED:
                    self._load(kind, namespace)

    def everywhere(self, kind: Kind) -> list[Obj]:
        """Every object of a kind in the cluster, read once (one cluster-wide list); empty when
        the cluster does not allow that (a caller limited to some namespaces)."""
        if kind not in self._everywhere:
            try:
                self._everywhere[kind] = self.cluster.list(kind, None)
            except (Forbidden, NotFound, KindUnavailable, Unreachable, Unauthorized):
                self._everywhere[kind] = []
                self._unreadable.add(kind)
        return self._everywhere[kind]

    def homes_of(self, component: str) -> list[str]:
        """The namespaces a cluster component's Deployments run in (metrics-server, coredns:
        usually, not always, kube-system)."""
        deployments = self.everywhere("Deployment")
        if "Deployment" in self._unreadable:
            return ["kube-system"]  # unreadable cluster-wide: look where it usually is
        return sorted({meta(d).get("namespace") or "" for d in deployments
                       if component in meta(d)["name"]})

    def home_of_address(self, address: str) -> str | None:
        """The namespace of the Service with this cluster IP, read cluster-wide."""
        return next((meta(s).get("namespace") for s in self.everywhere("Service")
                     if (s.get("spec") or {}).get("clusterIP") == address), None)

    def pod_at(self, address: str) -> Obj | None:
        """The pod whose own IP this is, looked up cluster-wide when it is outside the view
        (the view then includes its namespace)."""
        found = next((p for p in self.items("Pod") if _has_ip(p, address)), None)
        if found is not None or not _IP.fullmatch(address):
            return found
        elsewhere = next((p for p in self.everywhere("Pod") if _has_ip(p, address)), None)
        if elsewhere is None:
            return None
        self.widen([meta(elsewhere).get("namespace") or ""])
        return next((p for p in self.items("Pod", meta(elsewhere).get("namespace"))
                     if _has_ip(p, address)), None)

    def items(self, kind: Kind, namespace: str | None = None) -> list[Obj]:
        if namespace is None:
            return list(self.objects.get(kind, []))
        index = self._by_namespace.get(kind)
        if index is None:
            index = self._by_namespace[kind] = {}
            for obj in self.objects.get(kind, []):
                index.setdefault(meta(obj).get("namespace"), []).append(obj)
        return list(index.get(namespace, []))

    def find(self, kind: Kind, name: str, namespace: str | None = None) -> Obj | None:
        index = self._by_name.get(kind)
        if index is None:
            index = self._by_name[kind] = {}
            for obj in self.objects.get(kind, []):  # the first of a name wins, as in a scan
                m = meta(obj)
                index.setdefault((m.get("namespace"), m.get("name")), obj)
                index.setdefault((None, m.get("name")), obj)
        return index.get((namespace, name))

    def events_for(self, kind: str, name: str, namespace: str | None) -> list[Obj]:
        if self._events is None:
            self._events = {}
            for event in self.objects.get("Event", []):
                involved = event.get("involvedObject") or event.get("regarding") or {}
                key = (involved.get("kind"), involved.get("name"))
                self._events.setdefault(key, []).append(event)
        found = [event for event in self._events.get((kind, name), [])
                 if namespace is None or meta(event).get("namespace") == namespace
                 or (event.get("involvedObject") or event.get("regarding") or {}).get(
                     "namespace") == namespace]
        return sorted(found, key=event_time, reverse=True)

    def age_seconds(self, stamp: str | None) -> float | None:
        when = parse_time(stamp)
        return None if when is None else (self.now - when).total_seconds()

    def log(self, namespace: str, pod: str, container: str, previous: bool) -> LogExcerpt | None:
        key = (namespace, pod, container, previous)
        if self.log_budget is not None and key not in self._logs and \
                self.log_reads >= self.log_budget:
            return None
        if key not in self._logs:
            self.log_reads += 1
            try:
                lines = self.cluster.log_lines(namespace, pod, container, previous=previous)
                self._logs[key] = excerpt(lines, max_errors=20, head=20, tail=20)
            except (NotFound, Forbidden, KindUnavailable):
                self._logs[key] = None
            except (Unreachable, Unauthorized, ServerError, AnswerTooLarge):
                self._logs[key] = None  # one log the kubelet cannot give is not the question
        return self._logs[key]


def event_time(event: Obj) -> str:
    series = event.get("series") or {}
    return str(event.get("lastTimestamp") or series.get("lastObservedTime")
               or event.get("eventTime") or meta(event).get("creationTimestamp") or "")


_IP = re.compile(r"[\d.]+|[0-9a-f:]+", re.IGNORECASE)


def _has_ip(pod: Obj, address: str) -> bool:
    status = pod.get("status") or {}
    return address in {status.get("podIP"), *(i.get("ip") for i in status.get("podIPs") or [])}
