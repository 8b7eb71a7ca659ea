"""Findings per workload: unwell pods grouped under the controller that owns them; and the
owner chain (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob) they are grouped by."""

from __future__ import annotations

from collections import defaultdict

from tools import Obj, ObjectRef
from tools.ownership import top_owner
from tools.summaries import meta

from ..diagnosis import Finding
from .pod_issues import PodIssue, pod_ref
from .pods import analyze_pod
from .view import ClusterView

SEVERITY = {  # how much a category hurts, for ranking roots
    "node_not_ready": 3.0, "oom_killed": 2.0, "dependency_unreachable": 1.5,
    "pvc_unbound": 2.0, "insufficient_resources": 1.8, "image_pull": 2.0, "missing_env": 2.0,
    "bad_command": 2.0, "app_exception": 2.0, "config_reference": 2.0, "tls_certificate": 2.0,
    "liveness_probe": 2.0, "readiness_probe": 1.6, "rollout_stuck": 1.5, "quota_exceeded": 1.8,
    "cronjob": 0.4, "hpa_limited": 0.8, "job_failed": 1.0, "node_pressure": 2.2,
    "service_selector_mismatch": 1.8, "service_port_mismatch": 1.8, "service_no_endpoints": 1.2,
    "network_policy": 1.8, "init_container": 2.0, "node_selector_mismatch": 1.8,
    "untolerated_taint": 1.8, "cpu_throttling": 1.4, "storage_full": 2.0,
    "credentials_rejected": 1.8, "slow_dependency": 1.3, "autoscaler_missing": 1.0,
    "scheduling_constraint": 1.8,
}


def owner_of(view: ClusterView, obj: Obj) -> ObjectRef | None:
    """The top controller of a pod or ReplicaSet/Job."""
    return top_owner(obj, view.find)


def workload_ref(view: ClusterView, pod: Obj) -> str:
    owner = owner_of(view, pod)
    return pod_ref(pod) if owner is None else str(owner)


def pod_findings(view: ClusterView) -> tuple[list[Finding], dict[str, list[Obj]]]:
    """One finding per (workload, category), from each unwell pod; and pods per workload."""
    grouped: dict[tuple[str, str], list[tuple[Obj, PodIssue]]] = defaultdict(list)
    pods_of: dict[str, list[Obj]] = defaultdict(list)
    for pod in view.items("Pod"):
        ref = workload_ref(view, pod)
        pods_of[ref].append(pod)
        if _job_completed(view, pod):  # a failed try of a Job that then succeeded is history
            continue
        issue = analyze_pod(view, pod)
        if issue:
            grouped[(ref, issue.category)].append((pod, issue))
    findings = []
    for (ref, category), entries in grouped.items():
        issue = max((i for _, i in entries), key=lambda i: i.confidence)
        total = len([p for p in pods_of[ref] if (p.get("status") or {}).get("phase")
                     != "Succeeded"])
        name = ObjectRef.parse(ref).name
        evidence = [e for _, i in entries[:3] for e in i.evidence][:6]
        explanation = issue.explanation + _differs([p for p, _ in entries], pods_of[ref])
        holder = issue.detail.get("holder")  # the object that changed, when not the workload
        findings.append(Finding(
            category=category, object=holder or ref,
            summary=pods_summary(name, category, len(entries), max(total, len(entries))),
            explanation=explanation, evidence=evidence, confidence=issue.confidence,
            impact=SEVERITY.get(category, 1.0) * len(entries),
            related=[*([ref] if holder else []), *(pod_ref(p) for p, _ in entries)],
        ))
        facts = dict(issue.detail, pods_total=str(max(total, len(entries))))
        if holder:
            facts["workload"] = ref
        if issue.signature and issue.signature.target:
            facts["target"] = issue.signature.target
        if issue.signature:
            facts["signature"] = issue.signature.signature.id
        findings[-1].facts = facts
    return findings, pods_of


def _job_completed(view: ClusterView, pod: Obj) -> bool:
    job = next((o.get("name") for o in meta(pod).get("ownerReferences") or []
                if o.get("kind") == "Job"), None)
    found = view.find("Job", str(job), meta(pod).get("namespace")) if job else None
    return found is not None and any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for c in (found.get("status") or {}).get("conditions") or [])


def _differs(failing: list[Obj], all_pods: list[Obj]) -> str:
    """When only some pods fail and they run another image or as another ServiceAccount than
    the healthy ones (a new version rolling out, a chart that renamed the account), say so:
    the difference is the lead."""
    healthy = [p for p in all_pods if p not in failing]
    if not healthy:
        return ""
    told = ""
    for what, of in (("run", _images), ("run as ServiceAccount", _accounts),
                     ("request", _requests)):
        bad, good = of(failing), of(healthy)
        if bad and good and bad - good and good - bad:
            told += (f"; the failing pods {what} {', '.join(sorted(bad - good))}, the healthy "
                     f"ones {', '.join(sorted(good - bad))}")
        elif bad and good and bad - good:  # a container the healthy pods lack (injected)
            told += (f"; the failing pods also {what} {', '.join(sorted(bad - good))}, which "
                     "the healthy ones do not")
    return told


def _images(pods: list[Obj]) -> set[str]:
    return {str(c.get("image")) for p in pods
            for c in (p.get("spec") or {}).get("containers") or []}


def _requests(pods: list[Obj]) -> set[str]:
    """Each container's resource requests, `app cpu=500` (a unit typo in a new version)."""
    return {f"{c.get('name')} {resource}={amount}" for p in pods
            for c in (p.get("spec") or {}).get("containers") or []
            for resource, amount in sorted(((c.get("resources") or {}).get("requests")
                                            or {}).items())
            if isinstance(c.get("resources"), dict)}


def _accounts(pods: list[Obj]) -> set[str]:
    return {str((p.get("spec") or {}).get("serviceAccountName") or "default") for p in pods}


def pods_summary(workload: str, category: str, affected: int, total: int) -> str:
    return f"{workload}: {affected}/{total} pods affected ({category.replace('_', ' ')})"
def pod_claims(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"]
            for v in (pod.get("spec") or {}).get("volumes") or []
            if "persistentVolumeClaim" in v]


def object_ref(kind: str, obj: Obj) -> str:
    """"Kind/namespace/name", "Kind/-/name" when cluster-scoped."""
    return str(ObjectRef.of(kind, obj))


def with_facts(finding: Finding, **facts: str) -> Finding:
    """`finding`, with `facts` for its remedy's template added."""
    finding.facts.update(facts)
    return finding
