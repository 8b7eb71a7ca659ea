"""Why a node does not drain: the pods still on a cordoned node whose PodDisruptionBudget
allows no eviction, and, behind the budget, the workload whose other pods are not healthy."""

from __future__ import annotations

from tools import Obj
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .pod_issues import pod_ref
from .view import ClusterView
from .workloads import SEVERITY, workload_ref


def drain_blocks(view: ClusterView, findings: list[Finding]) -> list[Finding]:
    """One finding per cordoned node that keeps a pod its budget may not lose; caused by the
    finding of that pod's workload when it has one (its other pods cannot start, so the budget
    has no room)."""
    found: list[Finding] = []
    by_object = {f.object: f for f in findings}
    for node in view.items("Node"):
        if not (node.get("spec") or {}).get("unschedulable"):
            continue
        name = meta(node)["name"]
        for pod in _evictable(view, name):
            budget = _blocking_budget(view, pod)
            if budget is None:
                continue
            status = budget.get("status") or {}
            owner = workload_ref(view, pod)
            ref = str(ObjectRef("Node", None, name))
            said = (f"PodDisruptionBudget {meta(budget)['name']} allows 0 disruptions "
                    f"({status.get('currentHealthy')} healthy of {status.get('expectedPods')}, "
                    f"{status.get('desiredHealthy')} required)")
            cause = by_object.get(owner)
            finding = Finding(
                category="scheduling_constraint", object=ref,
                summary=f"node {name} cannot drain: {said}",
                explanation=(f"node {name} is cordoned and draining, but pod "
                             f"{meta(pod)['name']} of {owner} may not be evicted: {said}"
                             + (f"; {owner.split('/')[-1]}'s other pods are not healthy: "
                                f"{cause.summary}" if cause else
                                "; the budget leaves no room even when every pod is healthy")),
                evidence=[Evidence(source="spec", object=ref, detail="spec.unschedulable: true"),
                          Evidence(source="status", object=f"PodDisruptionBudget/"
                                   f"{meta(budget).get('namespace')}/{meta(budget)['name']}",
                                   detail=said)],
                confidence=0.85, impact=SEVERITY["scheduling_constraint"],
                related=[pod_ref(pod), owner], caused_by=cause.object if cause else None)
            finding.facts = {"budget": meta(budget)["name"], "node": name}
            found.append(finding)
            break
    return found


def _evictable(view: ClusterView, node: str) -> list[Obj]:
    """The pods a drain must evict from a node (not DaemonSet pods, not finished ones)."""
    return [p for p in view.items("Pod") if (p.get("spec") or {}).get("nodeName") == node
            and (p.get("status") or {}).get("phase") in ("Running", "Pending")
            and not any(o.get("kind") == "DaemonSet"
                        for o in meta(p).get("ownerReferences") or [])]


def _blocking_budget(view: ClusterView, pod: Obj) -> Obj | None:
    labels = meta(pod).get("labels") or {}
    return next((b for b in view.items("PodDisruptionBudget", meta(pod).get("namespace"))
                 if (b.get("status") or {}).get("disruptionsAllowed") == 0
                 and matches_selector((b.get("spec") or {}).get("selector") or {}, labels)),
                None)
