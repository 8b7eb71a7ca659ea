"""Controllers that point at something that is gone: an HPA whose scaleTargetRef names a
workload deleted or renamed (a v2 cutover), so it scales nothing and nothing scales the new one."""

from __future__ import annotations

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .view import ClusterView
from .workloads import SEVERITY, object_ref

_SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet")


def orphaned_hpa(view: ClusterView, hpa: Obj) -> Finding | None:
    """An HPA whose target does not exist: it does nothing (FailedGetScale), and the workload
    that took the name's place (search-api-v2 for search-api) runs at its fixed replicas."""
    target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    kind, name = target.get("kind", ""), target.get("name", "")
    namespace = meta(hpa).get("namespace")
    if kind not in _SCALABLE or not name or view.find(kind, name, namespace) is not None:
        return None
    ref = object_ref("HorizontalPodAutoscaler", hpa)
    heirs = sorted(meta(w)["name"] for w in view.items(kind, namespace)
                   if meta(w)["name"] != name and (meta(w)["name"].startswith(f"{name}-")
                                                   or name.startswith(f"{meta(w)['name']}-")))
    events = [e for e in view.events_for("HorizontalPodAutoscaler", meta(hpa)["name"], namespace)
              if e.get("reason") in ("FailedGetScale", "FailedComputeMetricsReplicas")]
    finding = Finding(
        category="autoscaler_missing", object=ref,
        summary=f"hpa {meta(hpa)['name']} scales {kind} {name}, which does not exist",
        explanation=(f"the HPA {meta(hpa)['name']} targets {kind} {name}, which does not exist "
                     f"in {namespace}, so it scales nothing"
                     + (f"; {kind} {', '.join(heirs)} took its place and no autoscaler "
                        "scales it" if heirs else "")),
        evidence=[Evidence(source="spec", object=ref, detail=f"scaleTargetRef {kind}/{name} "
                           "(not found)"),
                  *(Evidence(source="event", object=ref,
                             detail=f"{e.get('reason')}: {e.get('message')}") for e in events[:1])],
        confidence=0.9, impact=SEVERITY["hpa_limited"] * 2,
        related=[str(ObjectRef(kind, namespace, h)) for h in heirs])
    finding.facts = {"orphan_target": f"{kind}/{name}", "heir": heirs[0] if heirs else "",
                     "hpa": meta(hpa)["name"]}
    return finding
