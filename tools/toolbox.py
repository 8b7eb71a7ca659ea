"""The read-only tools the agent and the engine call, each a typed function over one `Cluster`.

Every tool returns a `ToolResult`; the expected failures of a cluster (`ApiError`) become its
status and message. Reads are list-based: no tool issues one request per pod.

Names enter here, from people and from models: each namespace, name and container is held to
Kubernetes' naming rules first, and one that breaks them comes back as `not_found` with the rule
(`kinds.InvalidName`), before any backend is asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from rapidfuzz import fuzz, process

from . import logs as logtools
from .describing import hpa_line, one_line, references, service_summary
from .errors import ApiError, Forbidden, KindUnavailable, NotFound, Unauthorized, Unreachable
from .kinds import (
    WORKLOAD_KINDS,
    Kind,
    check_container,
    check_kind,
    check_name,
    check_namespace,
    parse_kind,
)
from .ownership import CONTROLLER_KINDS, owner_chain, pods_of
from .prometheus import Metrics, MetricsError, MetricsForbidden, NotEvaluated
from .promql import unconfined
from .reading import Cluster, Obj
from .refs import ObjectRef
from .results import (
    DescribeResult,
    EventList,
    FindResult,
    LogResult,
    Match,
    NodeList,
    ObjectLine,
    ObjectList,
    PodList,
    ServiceList,
    Status,
    StorageResult,
    TextList,
    ToolResult,
    WorkloadList,
)
from .summaries import (
    event_summary,
    meta,
    node_summary,
    pod_summary,
    workload_summary,
)

P = ParamSpec("P")
R = TypeVar("R", bound=ToolResult)
_STATUS: dict[type[ApiError], Status] = {
    NotFound: "not_found", Forbidden: "forbidden", Unreachable: "unreachable",
    KindUnavailable: "unavailable", Unauthorized: "unauthorized",
}
_Names = dict[ObjectRef, tuple[str, str | None, str]]  # -> (kind, namespace, name)
_POD_SUFFIX = re.compile(r"-[a-z0-9]{5}$|-[0-9]+$")
_RS_SUFFIX = re.compile(r"-[a-f0-9]{6,10}$")


def _tool(result_type: type[R]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn the cluster's expected failures into a result of `result_type` with a status."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except ApiError as e:
                status: Status = next(
                    (s for t, s in _STATUS.items() if isinstance(e, t)), "unreachable")
                return result_type(tool=function.__name__, status=status, message=str(e))

        return run

    return decorate


def base_name(pod_name: str) -> str:
    """`checkout-7d9f8b6c4-x2k9p` -> `checkout`: the workload part of a generated pod name."""
    return _RS_SUFFIX.sub("", _POD_SUFFIX.sub("", pod_name))


class Toolbox:
    """The tools, bound to one cluster (and its Prometheus, when one is configured). Methods are
    the agent's tool schemas."""

    def __init__(self, cluster: Cluster, metrics: Metrics | None = None) -> None:
        self.cluster = cluster
        self.prometheus = metrics
        # What `find` compares names with, per (kind, namespace), or the error reading it: a
        # question of a thousand words costs the same few lists as one of three.
        self._names: dict[tuple[Kind | None, str | None], _Names | ApiError] = {}

    # --- finding ------------------------------------------------------------------------------

    @_tool(FindResult)
    def find(self, query: str, kind: Kind | None = None, namespace: str | None = None,
             limit: int = 5) -> FindResult:
        """Find objects by (possibly misspelled) name across kinds and namespaces."""
        check_namespace(namespace)
        kind = check_kind(kind) if kind else None
        candidates = self._candidates(kind, namespace)
        wanted = query.strip().lower()
        matches: list[Match] = []
        for k, ns, name in candidates.values():
            if name.lower() == wanted:
                matches.append(Match(kind=k, namespace=ns, name=name, score=100.0))
        if not matches:
            names = {key: c[2].lower() for key, c in candidates.items()}
            scored = process.extract(wanted, names, scorer=_name_score, limit=limit * 3)
            for _, score, key in scored:
                k, ns, name = candidates[key]
                if score >= 60:
                    matches.append(Match(kind=k, namespace=ns, name=name, score=min(score, 99.0)))
        matches.sort(key=lambda m: (-m.score, _kind_rank(m.kind), m.name))
        message = None if matches else f"nothing named like {query!r}"
        return FindResult(tool="find", query=query, matches=matches[:limit], message=message)

    def _candidates(self, kind: Kind | None, namespace: str | None) -> _Names:
        """The objects `find` may match, read once per toolbox (a failure is kept too)."""
        key = (kind, namespace)
        if key not in self._names:
            try:
                self._names[key] = self._read_names(kind, namespace)
            except ApiError as e:
                self._names[key] = e
        found = self._names[key]
        if isinstance(found, ApiError):
            raise found
        return found

    def _read_names(self, kind: Kind | None, namespace: str | None) -> _Names:
        kinds: tuple[Kind, ...] = (kind,) if kind else (*WORKLOAD_KINDS, "Pod", "Service")
        candidates: _Names = {}
        for each in kinds:
            try:
                items = self.cluster.list(each, namespace)
            except KindUnavailable:
                continue
            for item in items:
                m = meta(item)
                candidates[ObjectRef(each, m.get("namespace"), m["name"])] = (
                    each, m.get("namespace"), m["name"])
        if not kind and namespace is None:
            for name in self.cluster.namespaces():
                candidates[ObjectRef("Namespace", None, name)] = ("Namespace", None, name)
        return candidates

    # --- listing ------------------------------------------------------------------------------

    @_tool(ObjectList)
    def list_objects(self, kind: Kind, namespace: str | None = None,
                     label_selector: str | None = None,
                     field_selector: str | None = None) -> ObjectList:
        """List objects of one kind, optionally filtered by label and field selectors."""
        kind = check_kind(kind)
        check_namespace(namespace)
        items = self.cluster.list(kind, namespace, labels=label_selector, fields=field_selector)
        lines = [ObjectLine(kind=kind, namespace=meta(i).get("namespace"), name=meta(i)["name"],
                            summary=one_line(kind, i)) for i in items]
        return ObjectList(tool="list_objects", items=lines)

    @_tool(PodList)
    def pods(self, namespace: str | None = None, label_selector: str | None = None) -> PodList:
        """Pods with their status, readiness, restarts, node and owner."""
        check_namespace(namespace)
        items = self.cluster.list("Pod", namespace, labels=label_selector)
        return PodList(tool="pods", pods=[pod_summary(p) for p in items])

    @_tool(WorkloadList)
    def workloads(self, namespace: str | None = None) -> WorkloadList:
        """Deployments, StatefulSets, DaemonSets, Jobs, CronJobs: readiness and conditions."""
        check_namespace(namespace)
        found, unknown = [], []
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            try:
                found += [workload_summary(kind, o) for o in self.cluster.list(kind, namespace)]
            except KindUnavailable:
                unknown.append(kind)
        message = f"unknown here: {', '.join(unknown)}" if unknown else None
        return WorkloadList(tool="workloads", workloads=found, message=message)

    # --- events -------------------------------------------------------------------------------

    @_tool(EventList)
    def events(self, namespace: str | None = None, kind: str | None = None,
               name: str | None = None, warnings_only: bool = False,
               limit: int = 50) -> EventList:
        """Events, newest first, duplicates folded, optionally for one object or warnings only."""
        check_namespace(namespace)
        if name:
            check_name(parse_kind(kind) if kind else None, name)
        fields = []
        if kind:
            fields.append(f"involvedObject.kind={kind}")
        if name:
            fields.append(f"involvedObject.name={name}")
        if warnings_only:
            fields.append("type=Warning")
        items = self.cluster.list("Event", namespace, fields=",".join(fields) or None)
        merged: dict[tuple[str, str, str, str], Any] = {}
        for summary in (event_summary(e) for e in items):
            key = (summary.object, summary.reason, summary.type, logtools.shape(summary.message))
            if key in merged:
                kept = merged[key]
                kept.count += summary.count
                if (summary.last or "") > (kept.last or ""):
                    kept.last, kept.message = summary.last, summary.message
                if (summary.first or "~") < (kept.first or "~"):
                    kept.first = summary.first
            else:
                merged[key] = summary
        ordered = sorted(merged.values(), key=lambda e: e.last or "", reverse=True)
        return EventList(tool="events", events=ordered[:limit],
                         folded=len(items) - len(merged))

    # --- logs ---------------------------------------------------------------------------------

    @_tool(LogResult)
    def logs(self, namespace: str, pod: str, container: str | None = None,
             previous: bool = False, max_errors: int = 30, tail: int = 25) -> LogResult:
        """A container's log (or its previous instance's), error lines first, bounded."""
        check_namespace(namespace)
        check_name("Pod", pod)
        check_container(container or None)
        name = container or self._default_container(namespace, pod)
        lines = self.cluster.log_lines(namespace, pod, name, previous=previous)
        excerpt = logtools.excerpt(lines, max_errors=max_errors, tail=tail)
        return LogResult(tool="logs", namespace=namespace, pod=pod, container=name,
                         previous=previous, excerpt=excerpt)

    def _default_container(self, namespace: str, pod: str) -> str:
        spec = self.cluster.get("Pod", pod, namespace).get("spec") or {}
        containers = spec.get("containers") or [{}]
        annotated = (meta(self.cluster.get("Pod", pod, namespace)).get("annotations") or {}).get(
            "kubectl.kubernetes.io/default-container")
        return str(annotated or containers[0].get("name", ""))

    # --- nodes --------------------------------------------------------------------------------

    @_tool(NodeList)
    def nodes(self) -> NodeList:
        """Nodes with readiness, pressure, taints and allocatable resources (incl. GPUs)."""
        return NodeList(tool="nodes", nodes=[node_summary(n) for n in self.cluster.list("Node")])

    # --- services -----------------------------------------------------------------------------

    @_tool(ServiceList)
    def services(self, namespace: str, name: str | None = None) -> ServiceList:
        """Services with their endpoints (ready and not) and the pods their selector matches."""
        check_namespace(namespace)
        if name:
            check_name("Service", name)
        services = ([self.cluster.get("Service", name, namespace)] if name
                    else self.cluster.list("Service", namespace))
        try:
            endpoints = {meta(e)["name"]: e for e in self.cluster.list("Endpoints", namespace)}
            known = True
        except KindUnavailable:
            endpoints, known = {}, False
        pods = self.cluster.list("Pod", namespace)
        return ServiceList(tool="services", services=[
            service_summary(s, endpoints.get(meta(s)["name"]), known, pods) for s in services])

    # --- storage ------------------------------------------------------------------------------

    @_tool(StorageResult)
    def storage(self, namespace: str) -> StorageResult:
        """PersistentVolumeClaims, the PersistentVolumes they bind, and the StorageClasses."""
        check_namespace(namespace)
        result = StorageResult(tool="storage")
        try:
            for pvc in self.cluster.list("PersistentVolumeClaim", namespace):
                spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
                size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
                result.claims.append(
                    f"{meta(pvc)['name']}: {status.get('phase', '?')}, class "
                    f"{spec.get('storageClassName') or '(none)'}, volume "
                    f"{spec.get('volumeName') or '(none)'}, requests {size}")
        except KindUnavailable as e:
            result.unknown.append(str(e))
        for kind in ("PersistentVolume", "StorageClass"):
            try:
                items = self.cluster.list(kind)
            except (KindUnavailable, Forbidden) as e:
                result.unknown.append(str(e))
                continue
            target = result.volumes if kind == "PersistentVolume" else result.classes
            target += [one_line(kind, i) for i in items]
        return result

    # --- the rest -----------------------------------------------------------------------------

    @_tool(TextList)
    def autoscalers(self, namespace: str) -> TextList:
        """HorizontalPodAutoscalers: target, min/max, current and desired replicas, conditions."""
        check_namespace(namespace)
        items = self.cluster.list("HorizontalPodAutoscaler", namespace)
        return TextList(tool="autoscalers", entries=[hpa_line(h) for h in items])

    @_tool(TextList)
    def quotas(self, namespace: str) -> TextList:
        """ResourceQuotas (used against hard) and LimitRanges of a namespace."""
        check_namespace(namespace)
        entries = [one_line("ResourceQuota", q)
                   for q in self.cluster.list("ResourceQuota", namespace)]
        try:
            entries += [one_line("LimitRange", r)
                        for r in self.cluster.list("LimitRange", namespace)]
        except KindUnavailable as e:
            entries.append(f"limit ranges unknown: {e}")
        return TextList(tool="quotas", entries=entries)

    @_tool(TextList)
    def ingresses(self, namespace: str) -> TextList:
        """Ingresses: class, hosts and paths to services, TLS secrets by name."""
        check_namespace(namespace)
        items = self.cluster.list("Ingress", namespace)
        return TextList(tool="ingresses", entries=[one_line("Ingress", i) for i in items])

    @_tool(TextList)
    def network_policies(self, namespace: str) -> TextList:
        """NetworkPolicies: which pods they select and which traffic they admit."""
        check_namespace(namespace)
        items = self.cluster.list("NetworkPolicy", namespace)
        return TextList(tool="network_policies",
                        entries=[one_line("NetworkPolicy", p) for p in items])

    @_tool(TextList)
    def metrics(self, namespace: str | None = None) -> TextList:
        """CPU and memory usage from metrics.k8s.io: pods of a namespace, or nodes."""
        check_namespace(namespace)
        if namespace:
            items = self.cluster.list("PodMetrics", namespace)
            entries = [
                f"pod {meta(i)['name']}: " + ", ".join(
                    f"{c.get('name')} cpu={c['usage'].get('cpu')} memory={c['usage'].get('memory')}"
                    for c in i.get("containers") or [])
                for i in items]
        else:
            nodes = self.cluster.list("NodeMetrics")
            entries = [f"node {meta(i)['name']}: cpu={i['usage'].get('cpu')} "
                       f"memory={i['usage'].get('memory')}" for i in nodes]
        return TextList(tool="metrics", entries=entries)

    def prometheus_query(self, query: str, namespace: str) -> TextList:
        """Evaluate one PromQL expression now, read-only; every selector must carry
        namespace="<namespace>". Only when Prometheus is configured."""
        check_namespace(namespace)
        if self.prometheus is None:
            return TextList(tool="prometheus_query", status="unavailable",
                            message="no Prometheus is configured (SRE_PROMETHEUS__URL)")
        problem = unconfined(query, namespace)
        if problem:
            return TextList(tool="prometheus_query", status="forbidden", message=problem)
        try:
            result = self.prometheus.query(query)
        except NotEvaluated as e:
            return TextList(tool="prometheus_query", status="unavailable", message=str(e))
        except MetricsError as e:
            status: Status = "forbidden" if isinstance(e, MetricsForbidden) else next(
                (s for t, s in _STATUS.items() if isinstance(e, t)), "unavailable")
            return TextList(tool="prometheus_query", status=status, message=str(e))
        entries = [f"{{{', '.join(f'{k}={v!r}' for k, v in sorted(s.labels.items()))}}} "
                   f"{s.value:.6g}" for s in result.series]
        return TextList(tool="prometheus_query", entries=[f"query: {query}", *entries],
                        message=result.note or (None if entries else "no series"))

    # --- describe -----------------------------------------------------------------------------

    @_tool(DescribeResult)
    def describe(self, kind: Kind, name: str, namespace: str | None = None) -> DescribeResult:
        """One object with its events, owner chain, children and what it mounts or selects."""
        check_name(kind, name)
        check_namespace(namespace)
        obj = self.cluster.get(kind, name, namespace)
        ns = meta(obj).get("namespace")
        result = DescribeResult(tool="describe", kind=kind, namespace=ns, name=name,
                                summary=one_line(kind, obj), raw=obj)
        if ns:
            result.owners = self._owner_chain(obj, ns)
            result.children = self._children(kind, obj, ns)
            event_list = self.events(ns, kind=kind, name=name, limit=20)
            result.events = event_list.events
        result.references = references(kind, obj)
        return result

    def _owner_chain(self, obj: Obj, namespace: str) -> list[str]:
        def find(kind: Kind, name: str, ns: str | None) -> Obj | None:
            try:
                return self.cluster.get(kind, name, ns)
            except NotFound:
                return None
        chain = owner_chain(obj, find, depth=4, follow=CONTROLLER_KINDS)
        return [link.ref.short + (" (gone)" if link.obj is None and link.ref.kind
                                   in CONTROLLER_KINDS else "") for link in chain]

    def _children(self, kind: str, obj: Obj, namespace: str) -> list[str]:
        if kind == "Service":
            svc = self.services(namespace, meta(obj)["name"])
            return [f"endpoint {a}" for s in svc.services for a in s.ready + s.not_ready]
        if kind not in WORKLOAD_KINDS:
            return []
        owned = pods_of(kind, obj, self.cluster.list)
        return [pod_summary(p).line() for p in owned]


def _name_score(query: str, choice: str, **_: Any) -> float:
    """Similarity of a name to a query; a query that is the leading part of a name
    ("cart": cart-service) or of one of its words ("uploads": media-uploader) scores as a near
    match."""
    whole = float(fuzz.ratio(query, choice))
    part = 90.0 if choice.startswith(f"{query}-") else 0.0
    stem = query[:-1] if query.endswith("s") else query  # "uploads": media-uploader
    if len(stem) >= 5 and any(p.startswith(stem) for p in choice.split("-")):
        part = max(part, 74.0)  # below what a named namespace admits (scoping._CLOSE)
    return max(whole, part, float(fuzz.ratio(query, base_name(choice))) - 1)


def _kind_rank(kind: str) -> int:
    order = ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Service", "Namespace"]
    return order.index(kind) if kind in order else len(order)
