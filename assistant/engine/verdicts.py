"""The honest verdict when nothing explains what was asked: "could not tell", never "healthy".

"healthy" is for health questions whose checks found nothing. A question that names a symptom
(slow, 5xx, not scaling) and finds no cause, or a scope that holds nothing to look at, gets a
`None` verdict: what was checked, what the tools could not see, and the read-only next steps.
"""

from __future__ import annotations

from knowledge.symptoms import Intent

from ..diagnosis import Diagnosis, Finding
from .scoping import Scope
from .view import ClusterView

_CHECKS = {
    "status": "pod status and restarts",
    "events": "warning events",
    "logs": "the logs of every container (previous and current)",
    "dependencies": "the dependencies the logs name (Services, endpoints, ports)",
    "services": "Services, their selectors, ports and endpoints",
    "nodes": "node conditions",
    "controllers": "Deployments, Jobs, CronJobs and autoscalers",
    "probes": "readiness and liveness probes",
    "scheduling": "scheduling events, taints and cordoned nodes",
    "storage": "claims and volumes",
    "quota": "ResourceQuotas",
    "throttling": "CPU requests and limits (and usage where metrics.k8s.io answers)",
    "memory": "memory limits (and usage where metrics.k8s.io answers)",
    "autoscaler": "autoscalers and what they scale",
    "metrics_pipeline": "the metrics pipeline (metrics-server)",
    "tls": "certificate errors in logs and the Secrets that hold certificates",
    "auth": "credential errors in logs and the Secrets the containers use",
    "network": "NetworkPolicies that select the pods",
    "dns": "cluster DNS (CoreDNS) and DNS egress",
}


def checked(intent: Intent) -> list[str]:
    """What the question's plan looked at, in words."""
    return [_CHECKS[step] for step in intent.plan if step in _CHECKS]


def undecided(question: str, scope: Scope, view: ClusterView, findings: list[Finding],
              intent: Intent, notes: list[str]) -> Diagnosis:
    """A `None` verdict: nothing explains the symptom asked about, or there is nothing to see."""
    where = (f"{scope.target.kind} {scope.target.name} in {scope.target.namespace}"
             if scope.target else ", ".join(f"namespace {ns}" for ns in scope.namespaces)
             or "this scope")
    if not holds_anything(view):
        what = (f"{where} holds no workloads, pods or Services I can read"
                if scope.namespaces else "there is no namespace I may read")
        return Diagnosis(
            question=question, target=scope.target, healthy=None,
            summary=f"Could not tell: {what}, so there is nothing to call healthy or broken.",
            root_cause=None, evidence=[], remediation=[], confidence=0.0,
            ruled_out=[], findings=findings,
            notes=[*notes, f"empty scope: {what}"])
    symptoms = ", ".join(s.replace("_", " ") for s in intent.symptoms) or "the problem"
    looked = checked(intent)
    unseen = intent.unseen()
    steps = [s.format(ns=scope.target.namespace if scope.target else
                      (scope.namespaces[0] if scope.namespaces else "<namespace>"),
                      target=f"{scope.target.kind.lower()}/{scope.target.name}"
                      if scope.target else "<workload>") for s in intent.next_steps()]
    others = [f for f in findings if f.impact > 0]
    elsewhere = (f" {len(others)} other problem(s) in scope do not bear on it: "
                 + "; ".join(f"{f.object} ({f.summary})" for f in others[:3]) + "."
                 if others else "")
    summary = (f"Could not tell why ({symptoms}) for {where}: nothing I can see explains it. "
               f"Checked {', '.join(looked)}; none of it explains the symptom.{elsewhere}")
    if unseen:
        summary += f" Not visible to me: {', '.join(unseen)}."
    return Diagnosis(
        question=question, target=scope.target, healthy=None, summary=summary,
        root_cause=None, evidence=[], remediation=[], confidence=0.2,
        ruled_out=[f"checked: {c}" for c in looked], findings=findings,
        notes=[*notes, *(f"next: {s}" for s in steps), *(f"not visible: {u}" for u in unseen)])


def holds_anything(view: ClusterView) -> bool:
    return bool(view.namespaces) and any(view.items(kind) for kind in (
        "Pod", "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Service"))
