"""Which logs to read beyond the target's own: the callers a question names (a gateway in
another namespace), and the services the logs name, a bounded number of hops deep (checkout ->
order-service -> its broker), whose own logs often say why."""

from __future__ import annotations

import re

from tools import Obj
from tools.summaries import meta

from ..diagnosis import Target
from .dependencies import dependency_pods
from .reading import Said, namespaces_named, what_logs_say
from .view import ClusterView


def named_callers(view: ClusterView, focus: Target, text: str) -> list[Obj]:
    """The pods of the other namespaces a question names ("all pods green in orders and
    edge"), and of the other workloads it names by a word of their name ("UNAVAILABLE thru
    envoy"): the callers of a quiet target often live there (a gateway, an ingress proxy)."""
    named = [ns for ns in view.cluster.namespaces() if ns != focus.namespace
             and re.search(rf"(?<![\w-]){re.escape(ns)}(?![\w-])", text)]
    words = {w for w in re.findall(r"[a-z][a-z0-9]{3,}", text.lower())} - set(
        focus.name.split("-"))
    callers = {(meta(p).get("namespace"), meta(p)["name"]) for p in view.everywhere("Pod")
               if meta(p).get("namespace") not in named
               and words & set(meta(p)["name"].split("-")[:2])}
    view.widen(sorted({*named, *(ns or "" for ns, _ in callers)}))
    return [p for p in view.items("Pod") if meta(p).get("namespace") in named
            or (meta(p).get("namespace"), meta(p)["name"]) in callers]


DEPENDENCY_HOPS = 2  # checkout -> order-service -> its broker: two services deep, no more


def follow_logs(view: ClusterView, said: list[Said], pods: list[Obj]) -> list[Obj]:
    """The pods behind what the logs name, and behind what their own logs name in turn (a
    bounded number of hops): their logs are added to `said`; the pods are returned."""
    read = {id(p) for p in pods}
    serving: list[Obj] = []
    fresh = list(said)
    for hop in range(DEPENDENCY_HOPS):
        behind = dependency_pods(view, fresh, serving)  # (logs already read are not re-read)
        fresh = what_logs_say(view, [p for p in behind if id(p) not in read], limit=10)
        read |= {id(p) for p in behind}
        if hop:  # further away, only a failure counts: slowness there is load, not a cause
            fresh = [s for s in fresh if s.category != "slow_dependency"]
            behind = [p for p in behind if any(s.pod is p for s in fresh)]
        serving += behind
        said += fresh
        view.widen(sorted(namespaces_named(fresh)))
        if not fresh:
            break
    return serving
