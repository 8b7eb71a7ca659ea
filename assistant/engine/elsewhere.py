"""Problems outside the scope a question asked about, found by one sweep of the rest of the
cluster: "also, unrelated: PVC storage-loki-2 in logging is unbound".

Two problems at once are common (a node goes NotReady while a quota blocks a scale-up in
staging). An answer about the first must not hide the second, but must not be about it either:
what the sweep finds is listed after the answer, never made its root cause.

The sweep reads each namespaced kind once, cluster-wide (the number of requests does not grow
with the number of namespaces), and runs the status analyzers only, reading at most
`SWEEP_LOGS` crash logs whatever the number of failing pods.
"""

from __future__ import annotations

from tools import Cluster, Forbidden, KindUnavailable, NotFound, Unauthorized, Unreachable

from ..diagnosis import Finding
from .causal import link
from .controllers import controller_findings
from .infrastructure import service_findings, storage_findings
from .merging import merge_same_object
from .remedies import propose
from .view import NAMESPACED, ClusterView
from .workloads import pod_findings

MAX_OTHERS = 3
SWEEP_LOGS = 8  # crash logs the sweep may read, however many pods fail elsewhere
_WORTH_SAYING = 1.0  # impact below which a problem elsewhere is not worth a line


def elsewhere(cluster: Cluster, scoped: ClusterView, known: set[str]) -> list[Finding]:
    """The root problems of the namespaces `scoped` did not read, most harmful first; none
    whose object the scoped answer already names."""
    try:
        rest = [ns for ns in cluster.namespaces() if ns not in scoped.namespaces]
    except (Forbidden, NotFound, KindUnavailable, Unreachable, Unauthorized):
        return []
    if not rest:
        return []
    view = _rest_of(cluster, scoped, rest)
    if view is None:
        return []
    findings, _ = pod_findings(view)
    findings += controller_findings(view)
    findings += service_findings(view)
    findings += storage_findings(view)
    findings = merge_same_object(findings)  # as the scoped answer does: one finding per object
    link(view, findings)
    by_object = {f.object: f for f in findings}
    roots: dict[str, Finding] = {}
    for finding in findings:
        root, seen = finding, {finding.object}
        while root.caused_by in by_object and root.caused_by not in seen:
            root = by_object[root.caused_by]
            seen.add(root.object)
        if root.object not in known and root.impact >= _WORTH_SAYING:
            roots.setdefault(root.object, root)
    ranked = sorted(roots.values(), key=lambda f: (-f.impact, -f.confidence))[:MAX_OTHERS]
    for finding in ranked:
        finding.remediation = propose(finding)
    return ranked


def _rest_of(cluster: Cluster, scoped: ClusterView, rest: list[str]) -> ClusterView | None:
    """A view of the namespaces in `rest` (nodes and volumes shared with `scoped`), from the
    cluster-wide lists `scoped` reads once per kind; None when the cluster does not allow that."""
    view = ClusterView(cluster, list(rest), now=scoped.now, log_budget=SWEEP_LOGS)
    wanted = set(rest)
    for kind in ("Node", "PersistentVolume", "StorageClass"):
        view.objects[kind] = scoped.items(kind)
    for kind in NAMESPACED:
        listed = scoped.everywhere(kind)
        if not listed and kind == "Pod":
            return None  # not readable cluster-wide (or nothing runs anywhere)
        view.objects[kind] = [o for o in listed
                              if (o.get("metadata") or {}).get("namespace") in wanted]
    return view
