"""Findings per workload and per object: pods grouped under their owner, plus what only the
controllers, services, storage, nodes and autoscalers show."""

from __future__ import annotations

import re
from collections import defaultdict

from tools import Obj
from tools.summaries import meta, pod_template

from ..diagnosis import Evidence, Finding
from .pods import PodIssue, analyze_pod, pod_ref
from .view import ClusterView

SEVERITY = {  # how much a category hurts, for ranking roots
    "node_not_ready": 3.0, "oom_killed": 2.0, "dependency_unreachable": 1.5,
    "pvc_unbound": 2.0, "insufficient_resources": 1.8, "image_pull": 2.0, "missing_env": 2.0,
    "bad_command": 2.0, "app_exception": 2.0, "config_reference": 2.0, "tls_certificate": 2.0,
    "liveness_probe": 2.0, "readiness_probe": 1.6, "rollout_stuck": 1.5, "quota_exceeded": 1.8,
    "cronjob": 0.4, "hpa_limited": 0.8, "job_failed": 1.0, "node_pressure": 2.2,
    "service_selector_mismatch": 1.8, "service_port_mismatch": 1.8, "service_no_endpoints": 1.2,
    "network_policy": 1.8, "init_container": 2.0, "node_selector_mismatch": 1.8,
    "untolerated_taint": 1.8,
}


def owner_of(view: ClusterView, obj: Obj) -> tuple[str, str] | None:
    """The top controller of a pod or ReplicaSet/Job: (kind, name)."""
    namespace = meta(obj).get("namespace")
    current, found = obj, None
    for _ in range(3):
        ref = next((o for o in meta(current).get("ownerReferences") or [] if o.get("controller")),
                   None)
        if ref is None:
            break
        found = (ref["kind"], ref["name"])
        parent = view.find(ref["kind"], ref["name"], namespace)
        if parent is None:
            if ref["kind"] == "ReplicaSet":  # deleted RS: guess the Deployment from the name
                base = ref["name"].rsplit("-", 1)[0]
                if view.find("Deployment", base, namespace):
                    found = ("Deployment", base)
            break
        current = parent
    return found


def workload_ref(view: ClusterView, pod: Obj) -> str:
    owner = owner_of(view, pod)
    namespace = meta(pod).get("namespace")
    if owner is None:
        return pod_ref(pod)
    return f"{owner[0]}/{namespace}/{owner[1]}"


def pod_findings(view: ClusterView) -> tuple[list[Finding], dict[str, list[Obj]]]:
    """One finding per (workload, category), from each unwell pod; and pods per workload."""
    grouped: dict[tuple[str, str], list[tuple[Obj, PodIssue]]] = defaultdict(list)
    pods_of: dict[str, list[Obj]] = defaultdict(list)
    for pod in view.items("Pod"):
        ref = workload_ref(view, pod)
        pods_of[ref].append(pod)
        issue = analyze_pod(view, pod)
        if issue:
            grouped[(ref, issue.category)].append((pod, issue))
    findings = []
    for (ref, category), entries in grouped.items():
        issue = max((i for _, i in entries), key=lambda i: i.confidence)
        total = len([p for p in pods_of[ref] if (p.get("status") or {}).get("phase")
                     != "Succeeded"])
        name = ref.split("/")[-1]
        evidence = [e for _, i in entries[:3] for e in i.evidence][:6]
        findings.append(Finding(
            category=category, object=ref,
            summary=pods_summary(name, category, len(entries), max(total, len(entries))),
            explanation=issue.explanation, evidence=evidence, confidence=issue.confidence,
            impact=SEVERITY.get(category, 1.0) * len(entries),
            related=[pod_ref(p) for p, _ in entries],
        ))
        facts = dict(issue.detail, pods_total=str(max(total, len(entries))))
        if issue.signature and issue.signature.target:
            facts["target"] = issue.signature.target
        if issue.signature:
            facts["signature"] = issue.signature.signature.id
        findings[-1].facts = facts
    return findings, pods_of


def pods_summary(workload: str, category: str, affected: int, total: int) -> str:
    return f"{workload}: {affected}/{total} pods affected ({category.replace('_', ' ')})"


def controller_findings(view: ClusterView) -> list[Finding]:
    findings: list[Finding] = []
    for deployment in view.items("Deployment"):
        findings += _deployment(view, deployment)
    for job in view.items("Job"):
        findings += _job(view, job)
    for cronjob in view.items("CronJob"):
        findings += _cronjob(view, cronjob)
    for hpa in view.items("HorizontalPodAutoscaler"):
        findings += _hpa(view, hpa)
    return findings


def _ref(kind: str, obj: Obj) -> str:
    return f"{kind}/{meta(obj).get('namespace') or '-'}/{meta(obj)['name']}"


def _deployment(view: ClusterView, deployment: Obj) -> list[Finding]:
    found = []
    ns, name = meta(deployment).get("namespace"), meta(deployment)["name"]
    ref = _ref("Deployment", deployment)
    conditions = {c.get("type"): c for c in (deployment.get("status") or {}).get("conditions")
                  or []}
    replica_sets = [rs for rs in view.items("ReplicaSet", ns)
                    if any(o.get("kind") == "Deployment" and o.get("name") == name
                           for o in meta(rs).get("ownerReferences") or [])]
    for rs in replica_sets:
        events = [e for e in view.events_for("ReplicaSet", meta(rs)["name"], ns)
                  if e.get("reason") == "FailedCreate"]
        rs_failure = next((c for c in (rs.get("status") or {}).get("conditions") or []
                           if c.get("type") == "ReplicaFailure" and c.get("status") == "True"),
                          None)
        message = (events[0].get("message") if events else None) or (
            rs_failure.get("message") if rs_failure else None)
        if message and "exceeded quota" in message:
            quota = re.search(r"exceeded quota: ([\w.-]+)", message)
            quota_ref = f"ResourceQuota/{ns}/{quota.group(1)}" if quota else ref
            found.append(Finding(
                category="quota_exceeded", object=quota_ref, related=[ref],
                summary=f"{name}: pods cannot be created, ResourceQuota exceeded",
                explanation=f"the ReplicaSet {meta(rs)['name']} cannot create pods: {message}",
                evidence=[Evidence(source="event", object=_ref("ReplicaSet", rs),
                                   detail=f"FailedCreate: {message}")],
                confidence=0.95, impact=SEVERITY["quota_exceeded"] * max(
                    1, (deployment.get("spec") or {}).get("replicas", 1)
                    - (deployment.get("status") or {}).get("availableReplicas", 0)),
            ))
    progressing = conditions.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        ordered = sorted(replica_sets, key=lambda rs: int((meta(rs).get("annotations") or {}).get(
            "deployment.kubernetes.io/revision", "0")))
        change = ""
        if len(ordered) >= 2:
            old, new = ordered[-2], ordered[-1]
            change = _template_change(old, new)
        serving = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in ordered[:-1])
        found.append(Finding(
            category="rollout_stuck", object=ref,
            summary=f"{name}: rollout stuck (ProgressDeadlineExceeded)",
            explanation=(f"the rollout of {name} exceeded its progress deadline"
                         + (f"; the change: {change}" if change else "")
                         + f"; the old ReplicaSet still serves {serving} ready pods"),
            evidence=[Evidence(source="status", object=ref,
                               detail=f"Progressing=False ProgressDeadlineExceeded: "
                                      f"{progressing.get('message', '')}")],
            confidence=0.85, impact=SEVERITY["rollout_stuck"],
            related=[_ref("ReplicaSet", rs) for rs in ordered[-1:]],
        ))
    return found


def _template_change(old: Obj, new: Obj) -> str:
    old_spec, new_spec = pod_template("ReplicaSet", old), pod_template("ReplicaSet", new)
    changes = []
    old_images = {c["name"]: c.get("image") for c in old_spec.get("containers") or []}
    for container in new_spec.get("containers") or []:
        before = old_images.get(container["name"])
        if before and before != container.get("image"):
            changes.append(f"image of {container['name']} changed from {before} to "
                           f"{container.get('image')}")
    if not changes and old_spec != new_spec:
        changes.append("the pod template changed (not the image)")
    return "; ".join(changes)


def _job(view: ClusterView, job: Obj) -> list[Finding]:
    status = job.get("status") or {}
    failed = _failed_condition(job)
    owner = owner_of(view, job)
    if not failed or (owner and owner[0] == "CronJob"):  # the CronJob's finding tells it
        return []
    ref = _ref("Job", job)
    return [Finding(
        category="job_failed", object=ref,
        summary=f"job {meta(job)['name']} failed ({failed.get('reason')})",
        explanation=f"the Job failed: {failed.get('reason')}: {failed.get('message')} "
                    f"({status.get('failed', 0)} failed pods, backoffLimit "
                    f"{(job.get('spec') or {}).get('backoffLimit', 6)})",
        evidence=[Evidence(source="status", object=ref,
                           detail=f"Failed=True {failed.get('reason')}: {failed.get('message')}")],
        confidence=0.9, impact=SEVERITY["job_failed"],
        related=[f"CronJob/{meta(job).get('namespace')}/{owner[1]}"] if owner else [],
    )]


def _cronjob(view: ClusterView, cronjob: Obj) -> list[Finding]:
    spec, status = cronjob.get("spec") or {}, cronjob.get("status") or {}
    ref = _ref("CronJob", cronjob)
    name = meta(cronjob)["name"]
    if spec.get("suspend"):
        last = status.get("lastScheduleTime")
        return [_with_facts(Finding(
            category="cronjob", object=ref, summary=f"cronjob {name} is suspended",
            explanation=f"the CronJob {name} is suspended (spec.suspend: true), so no Job runs"
                        + (f"; last scheduled {last}" if last else "; it never ran"),
            evidence=[Evidence(source="spec", object=ref, detail="spec.suspend: true")],
            confidence=0.95, impact=SEVERITY["cronjob"]), suspended="true")]
    jobs = sorted((j for j in view.items("Job", meta(cronjob).get("namespace"))
                   if owner_of(view, j) == ("CronJob", name)),
                  key=lambda j: meta(j).get("creationTimestamp") or "", reverse=True)
    failed = [j for j in jobs if _failed_condition(j)]
    if not failed or failed[0] is not jobs[0]:
        return []
    streak = next((i for i, j in enumerate(jobs) if not _failed_condition(j)), len(jobs))
    last = _failed_condition(jobs[0]) or {}
    return [_with_facts(Finding(
        category="cronjob", object=ref,
        summary=f"cronjob {name}: the last {streak} Jobs failed",
        explanation=f"the last {streak} Jobs of CronJob {name} failed "
                    f"({last.get('reason')}); the schedule keeps running but no run succeeds",
        evidence=[Evidence(source="status", object=_ref("Job", j),
                           detail=f"Failed=True {(_failed_condition(j) or {}).get('reason')}")
                  for j in failed[:3]],
        confidence=0.9, impact=SEVERITY["job_failed"] * min(streak, 3),
        related=[_ref("Job", j) for j in failed]), last_job=meta(jobs[0])["name"])]


def _with_facts(finding: Finding, **facts: str) -> Finding:
    finding.facts.update(facts)
    return finding


def _failed_condition(job: Obj) -> Obj | None:
    return next((c for c in (job.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Failed" and c.get("status") == "True"), None)


def _hpa(view: ClusterView, hpa: Obj) -> list[Finding]:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = _ref("HorizontalPodAutoscaler", hpa)
    target = spec.get("scaleTargetRef") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    active = conditions.get("ScalingActive") or {}
    if active.get("status") == "False":
        message = active.get("message") or ""
        why = ""
        if "metrics.k8s.io" in message or "resource metrics API" in message:
            why = ("; the resource metrics API (metrics.k8s.io) does not answer: metrics-server "
                   "is not installed or not running")
        elif "custom.metrics.k8s.io" in message or "external.metrics" in message:
            why = "; the custom or external metrics adapter does not answer"
        return [_with_facts(Finding(
            category="hpa_limited", object=ref,
            summary=f"hpa {meta(hpa)['name']} cannot read its metrics",
            explanation=f"the HPA cannot compute replicas for {target.get('kind')}/"
                        f"{target.get('name')}: {active.get('reason')}: {message}{why}",
            evidence=[Evidence(source="status", object=ref,
                               detail=f"ScalingActive=False {active.get('reason')}: "
                                      f"{active.get('message')}")],
            confidence=0.9, impact=SEVERITY["hpa_limited"]), metrics="missing" if why else "")]
    limited = conditions.get("ScalingLimited") or {}
    current, maximum = status.get("currentReplicas"), spec.get("maxReplicas")
    if limited.get("status") == "True" and current is not None and current >= (maximum or 0):
        return [Finding(
            category="hpa_limited", object=ref,
            summary=f"hpa {meta(hpa)['name']} is pinned at maxReplicas {maximum}",
            explanation=f"the HPA is at its maximum of {maximum} replicas and wants more "
                        f"({limited.get('reason')}: {limited.get('message')})",
            evidence=[Evidence(source="status", object=ref,
                               detail=f"currentReplicas {current} = maxReplicas {maximum}; "
                                      f"ScalingLimited=True {limited.get('reason')}")],
            confidence=0.85, impact=SEVERITY["hpa_limited"] * 2)]
    return []


def _label_index(view: ClusterView) -> dict[tuple[str | None, str, str], list[Obj]]:
    """Pods by (namespace, label key, value): a Service's pods without scanning every pod."""
    index: dict[tuple[str | None, str, str], list[Obj]] = defaultdict(list)
    for pod in view.items("Pod"):
        for key, value in (meta(pod).get("labels") or {}).items():
            index[(meta(pod).get("namespace"), key, str(value))].append(pod)
    return index


def service_findings(view: ClusterView) -> list[Finding]:
    findings = []
    by_label = _label_index(view)
    for service in view.items("Service"):
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector or spec.get("type") == "ExternalName":
            continue
        ns = meta(service).get("namespace")
        ref = _ref("Service", service)
        first, *rest = [by_label.get((ns, k, str(v)), []) for k, v in selector.items()]
        others = [{id(p) for p in group} for group in rest]
        pods = [p for p in first if all(id(p) in group for group in others)]
        sel = ",".join(f"{k}={v}" for k, v in selector.items())
        if not pods:
            closest = _closest_labels(view, ns, selector)
            findings.append(Finding(
                category="service_selector_mismatch", object=ref,
                summary=f"service {meta(service)['name']} selects no pod",
                explanation=f"the selector {sel} of Service {meta(service)['name']} matches no "
                            f"pod" + (f"; pods carry {closest}" if closest else ""),
                evidence=[Evidence(source="spec", object=ref, detail=f"selector: {sel}")],
                confidence=0.85, impact=SEVERITY["service_selector_mismatch"]))
            continue
        mismatch = _port_mismatch(service, pods)
        if mismatch:
            findings.append(Finding(
                category="service_port_mismatch", object=ref,
                summary=f"service {meta(service)['name']} targets a port no container has",
                explanation=mismatch,
                evidence=[Evidence(source="spec", object=ref, detail=mismatch)],
                confidence=0.85, impact=SEVERITY["service_port_mismatch"]))
            continue
        endpoints = view.find("Endpoints", meta(service)["name"], ns)
        if endpoints is not None:
            subsets = endpoints.get("subsets") or []
            ready = sum(len(s.get("addresses") or []) for s in subsets)
            not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
            if ready == 0:
                findings.append(Finding(
                    category="service_no_endpoints", object=ref,
                    summary=f"service {meta(service)['name']} has no ready endpoints",
                    explanation=f"the Service {meta(service)['name']} has 0 ready endpoints "
                                f"({not_ready} not ready): its {len(pods)} pods are not Ready",
                    evidence=[Evidence(source="status", object=f"Endpoints/{ns}/"
                                       f"{meta(service)['name']}",
                                       detail=f"0 ready addresses, {not_ready} not ready")],
                    confidence=0.8, impact=SEVERITY["service_no_endpoints"],
                    related=[pod_ref(p) for p in pods]))
    return findings


def _closest_labels(view: ClusterView, namespace: str | None, selector: dict[str, str]) -> str:
    from rapidfuzz import fuzz

    best, best_score = "", 0.0
    for pod in view.items("Pod", namespace):
        for key, value in (meta(pod).get("labels") or {}).items():
            for want_key, want in selector.items():
                score = float(fuzz.ratio(f"{want_key}={want}", f"{key}={value}"))
                if score > best_score and score >= 70:
                    best, best_score = f"{key}={value}", score
    return best


def _port_mismatch(service: Obj, pods: list[Obj]) -> str | None:
    ports: set[str] = set()
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                ports.add(str(port.get("containerPort")))
                if port.get("name"):
                    ports.add(str(port["name"]))
    if not ports:
        return None
    for port in (service.get("spec") or {}).get("ports") or []:
        target = str(port.get("targetPort", port.get("port")))
        if target not in ports:
            listed = ", ".join(sorted(p for p in ports if p.isdigit()))
            return (f"Service {meta(service)['name']} sends port {port.get('port')} to "
                    f"targetPort {target}, but its pods listen on {listed}")
    return None


def node_findings(view: ClusterView) -> list[Finding]:
    findings = []
    for node in view.items("Node"):
        name = meta(node)["name"]
        ref = f"Node/-/{name}"
        on_node = [p for p in view.items("Pod") if (p.get("spec") or {}).get("nodeName") == name]
        for condition in (node.get("status") or {}).get("conditions") or []:
            kind, value = condition.get("type"), condition.get("status")
            detail = f"{kind}={value} {condition.get('reason')}: {condition.get('message')}"
            if kind == "Ready" and value != "True":
                findings.append(Finding(
                    category="node_not_ready", object=ref, summary=f"node {name} is NotReady",
                    explanation=f"node {name} is NotReady ({condition.get('reason')}: "
                                f"{condition.get('message')}); {len(on_node)} pods run there",
                    evidence=[Evidence(source="node", object=ref, detail=detail)],
                    confidence=0.9, impact=SEVERITY["node_not_ready"] * max(1, len(on_node)),
                    related=[pod_ref(p) for p in on_node]))
            elif kind in ("DiskPressure", "MemoryPressure", "PIDPressure") and value == "True":
                evicted = [p for p in on_node
                           if (p.get("status") or {}).get("reason") == "Evicted"]
                findings.append(Finding(
                    category="node_pressure", object=ref, summary=f"node {name} has {kind}",
                    explanation=f"node {name} reports {kind} ({condition.get('message')}) and "
                                f"has evicted {len(evicted)} pods",
                    evidence=[Evidence(source="node", object=ref, detail=detail)],
                    confidence=0.9,
                    impact=SEVERITY["node_pressure"] * max(1, len(evicted)),
                    related=[pod_ref(p) for p in evicted]))
    return findings


def storage_findings(view: ClusterView) -> list[Finding]:
    findings = []
    classes = {meta(c)["name"] for c in view.items("StorageClass")}
    default = [meta(c)["name"] for c in view.items("StorageClass")
               if (meta(c).get("annotations") or {}).get(
                   "storageclass.kubernetes.io/is-default-class") == "true"]
    late_binding = {meta(c)["name"] for c in view.items("StorageClass")
                    if c.get("volumeBindingMode") == "WaitForFirstConsumer"}
    for pvc in view.items("PersistentVolumeClaim"):
        if (pvc.get("status") or {}).get("phase") != "Pending":
            continue
        ref = _ref("PersistentVolumeClaim", pvc)
        spec = pvc.get("spec") or {}
        wanted = spec.get("storageClassName")
        events = view.events_for("PersistentVolumeClaim", meta(pvc)["name"],
                                 meta(pvc).get("namespace"))
        waiting = wanted in late_binding or (not wanted and set(default) & late_binding) or (
            events and events[0].get("reason") == "WaitForFirstConsumer")
        if waiting:  # binds when its first pod is scheduled: a consequence, not a cause
            continue
        evidence = [Evidence(source="status", object=ref, detail="phase: Pending")]
        evidence += [Evidence(source="event", object=ref,
                              detail=f"{e.get('reason')}: {e.get('message')}") for e in events[:2]]
        if wanted and "StorageClass" not in view.unknown and wanted not in classes:
            explanation = (f"the PersistentVolumeClaim {meta(pvc)['name']} asks for "
                           f"StorageClass {wanted}, which does not exist (classes: "
                           f"{', '.join(sorted(classes)) or 'none'})")
        elif not wanted and not default:
            explanation = (f"the PersistentVolumeClaim {meta(pvc)['name']} has no StorageClass "
                           "and no default exists, and no PersistentVolume matches it")
        else:
            explanation = (f"the PersistentVolumeClaim {meta(pvc)['name']} is unbound: no "
                           "PersistentVolume matches its size, access mode and class")
        findings.append(Finding(
            category="pvc_unbound", object=ref, summary=f"pvc {meta(pvc)['name']} is Pending",
            explanation=explanation, evidence=evidence, confidence=0.85,
            impact=SEVERITY["pvc_unbound"]))
    return findings


def pod_claims(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"]
            for v in (pod.get("spec") or {}).get("volumes") or []
            if "persistentVolumeClaim" in v]
