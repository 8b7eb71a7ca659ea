"""What only the controllers show: a ReplicaSet that cannot create pods (quota), a rollout past
its deadline (and the change that broke it), failed Jobs, suspended or failing CronJobs, and
autoscalers that cannot read metrics or are pinned at their maximum."""

from __future__ import annotations

import re

from tools import Obj, ObjectRef, parse_kind
from tools.ownership import by_revision, owned_by
from tools.summaries import meta, pod_template

from ..diagnosis import Evidence, Finding
from .admission import webhook_refused
from .jobs import cronjob_findings, job_findings
from .orphans import orphaned_hpa
from .servers import missing_service_note
from .view import ClusterView
from .workloads import SEVERITY, object_ref, with_facts


def controller_findings(view: ClusterView) -> list[Finding]:
    findings: list[Finding] = []
    for deployment in view.items("Deployment"):
        findings += _deployment(view, deployment)
    for job in view.items("Job"):
        findings += job_findings(view, job)
    for cronjob in view.items("CronJob"):
        findings += cronjob_findings(view, cronjob)
    competing = _competing(view)
    findings += competing
    fighting = {r for f in competing for r in (f.object, *f.related)}
    for hpa in view.items("HorizontalPodAutoscaler"):
        if object_ref("HorizontalPodAutoscaler", hpa) not in fighting:
            findings += _hpa(view, hpa)
    server = _metrics_server(view)
    if server is not None and not any(f.object == object_ref("Deployment", server[0])
                                      and f.category == "hpa_limited" for f in findings):
        findings.append(_scrape_failing(*server))
    return findings


def _scrape_failing(server: Obj, line: str) -> Finding:
    """metrics-server up but unable to scrape the kubelets: no HPA and no `kubectl top` works."""
    ref = object_ref("Deployment", server)
    return with_facts(Finding(
        category="hpa_limited", object=ref,
        summary="metrics-server does not serve metrics",
        explanation=("metrics-server cannot scrape the kubelets, so the resource metrics API "
                     "(metrics.k8s.io) has nothing to serve: no HorizontalPodAutoscaler on CPU or "
                     f"memory can act and `kubectl top` fails; its log: {line}"),
        evidence=[Evidence(source="log", object=ref, detail=line)],
        confidence=0.85, impact=SEVERITY["hpa_limited"] * 2), metrics="missing",
        scrape="x509" if "x509" in line else "")


def _competing(view: ClusterView) -> list[Finding]:
    """Two or more HPAs on one workload: each overwrites the other's replica count. The extra
    one is the one no tool manages (kubectl-applied beside a Helm or GitOps one), else the
    newest."""
    by_target: dict[tuple[str, str, str], list[Obj]] = {}
    for hpa in view.items("HorizontalPodAutoscaler"):
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        key = (meta(hpa).get("namespace") or "", str(target.get("kind")), str(target.get("name")))
        by_target.setdefault(key, []).append(hpa)
    found = []
    for (ns, kind, name), hpas in by_target.items():
        if len(hpas) < 2:
            continue
        extra = max(hpas, key=lambda h: (not _managed(h), meta(h).get("creationTimestamp") or ""))
        others = [h for h in hpas if h is not extra]
        bounds = "; ".join(f"{meta(h)['name']}: {_bounds(h)}, wants "
                           f"{(h.get('status') or {}).get('desiredReplicas', '?')}" for h in hpas)
        other_names = ", ".join(meta(h)["name"] for h in others)
        workload = str(ObjectRef(kind, ns, name))
        finding = Finding(
            category="autoscaler_missing", object=object_ref("HorizontalPodAutoscaler", extra),
            summary=f"hpa {meta(extra)['name']} competes with {other_names} for {kind} {name}",
            explanation=(f"{len(hpas)} HorizontalPodAutoscalers scale {kind} {name} ({bounds}); "
                         f"each overwrites the other's replica count, so pods are created and "
                         f"removed on every sync; {meta(extra)['name']} is the extra one "
                         + ("(not managed by Helm or GitOps, unlike " + other_names + ")"
                            if not _managed(extra) and any(_managed(h) for h in others)
                            else "(the newest)")),
            evidence=[Evidence(source="spec", object=object_ref("HorizontalPodAutoscaler", h),
                               detail=f"scaleTargetRef {kind}/{name}; {_bounds(h)}")
                      for h in [extra, *others]],
            confidence=0.9, impact=SEVERITY["autoscaler_missing"] * 3,
            related=[workload, *[object_ref("HorizontalPodAutoscaler", h) for h in others]])
        found.append(with_facts(finding, competing="true", workload=workload,
                                 keep=other_names))
    return found


def _measured(hpa: Obj) -> tuple[str, bool]:
    """(words for what the HPA measures against its targets, "; cpu at 238% of a 60%
    target", and whether any metric is above its target)."""
    targets = {}
    for metric in (hpa.get("spec") or {}).get("metrics") or []:
        source = metric.get(str(metric.get("type", "")).lower().replace("containerresource",
                                                                        "containerResource"))
        if isinstance(source, dict):
            target = (source.get("target") or {}).get("averageUtilization")
            name = source.get("name") or (source.get("metric") or {}).get("name")
            if name and isinstance(target, int):
                targets[name] = target
    words, over = [], False
    for metric in (hpa.get("status") or {}).get("currentMetrics") or []:
        source = metric.get(str(metric.get("type", "")).lower()) or {}
        name = source.get("name") if isinstance(source, dict) else None
        used = (source.get("current") or {}).get("averageUtilization") if name else None
        if isinstance(used, int) and name in targets:
            words.append(f"{name} at {used}% of requests against a {targets[name]}% target")
            over = over or used > targets[name]
    return (f"; {', '.join(words)}" if words else ""), over


def _bounds(hpa: Obj) -> str:
    spec = hpa.get("spec") or {}
    return f"minReplicas {spec.get('minReplicas', 1)}, maxReplicas {spec.get('maxReplicas')}"


def _managed(obj: Obj) -> bool:
    labels, notes = meta(obj).get("labels") or {}, meta(obj).get("annotations") or {}
    return bool(labels.get("app.kubernetes.io/managed-by") or labels.get("helm.sh/chart")
                or any(k.startswith(("meta.helm.sh/", "argocd.argoproj.io/"))
                       or k == "kustomize.toolkit.fluxcd.io/name" for k in [*notes, *labels]))


def _deployment(view: ClusterView, deployment: Obj) -> list[Finding]:
    found = []
    ns, name = meta(deployment).get("namespace"), meta(deployment)["name"]
    ref = object_ref("Deployment", deployment)
    conditions = {c.get("type"): c for c in (deployment.get("status") or {}).get("conditions")
                  or []}
    replica_sets = owned_by(view.items("ReplicaSet", ns), ObjectRef.of("Deployment", deployment))
    refusals: dict[str, str] = {}  # ReplicaSet name -> why it cannot create pods
    for rs in replica_sets:
        events = [e for e in view.events_for("ReplicaSet", meta(rs)["name"], ns)
                  if e.get("reason") == "FailedCreate"]
        rs_failure = next((c for c in (rs.get("status") or {}).get("conditions") or []
                           if c.get("type") == "ReplicaFailure" and c.get("status") == "True"),
                          None)
        message = (events[0].get("message") if events else None) or (
            rs_failure.get("message") if rs_failure else None)
        refused = webhook_refused(view, ref, rs, message) if message else None
        if message:
            refusals[meta(rs)["name"]] = message
        if refused is not None:
            found.append(refused)
        elif message and "exceeded quota" in message:
            quota = re.search(r"exceeded quota: ([\w.-]+)", message)
            quota_ref = str(ObjectRef("ResourceQuota", ns, quota.group(1))) if quota else ref
            found.append(Finding(
                category="quota_exceeded", object=quota_ref, related=[ref],
                summary=f"{name}: pods cannot be created, ResourceQuota exceeded",
                explanation=f"the ReplicaSet {meta(rs)['name']} cannot create pods: {message}",
                evidence=[Evidence(source="event", object=object_ref("ReplicaSet", rs),
                                   detail=f"FailedCreate: {message}")],
                confidence=0.95, impact=SEVERITY["quota_exceeded"] * max(
                    1, (deployment.get("spec") or {}).get("replicas", 1)
                    - (deployment.get("status") or {}).get("availableReplicas", 0)),
            ))
    progressing = conditions.get("Progressing") or {}
    paused = _paused(view, deployment, replica_sets)
    if paused is not None:
        found.append(paused)
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        ordered = by_revision(replica_sets)
        change = ""
        if len(ordered) >= 2:
            old, new = ordered[-2], ordered[-1]
            change = _template_change(old, new)
        serving = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in ordered[:-1])
        refusal = refusals.get(meta(ordered[-1])["name"]) if ordered else None
        found.append(with_facts(Finding(
            category="rollout_stuck", object=ref,
            summary=f"{name}: rollout stuck (ProgressDeadlineExceeded)",
            explanation=(f"the rollout of {name} exceeded its progress deadline"
                         + (f"; the change: {change}" if change else "")
                         + f"; the old ReplicaSet still serves {serving} ready pods"
                         + (f"; the new ReplicaSet {meta(ordered[-1])['name']} cannot create "
                            f"a single pod: {refusal[:400]}" if refusal else "")),
            evidence=[Evidence(source="status", object=ref,
                               detail=f"Progressing=False ProgressDeadlineExceeded: "
                                      f"{progressing.get('message', '')}"),
                      *([Evidence(source="event", object=object_ref("ReplicaSet", ordered[-1]),
                                  detail=f"FailedCreate: {refusal[:400]}")] if refusal else [])],
            confidence=0.85, impact=SEVERITY["rollout_stuck"],
            related=[object_ref("ReplicaSet", rs) for rs in ordered[-1:]],
        ), serving=str(serving), **_denied_by(refusal)))
    return found


_DENIED = re.compile(r'admission webhook "([^"]+)" denied the request')


def _denied_by(refusal: str | None) -> dict[str, str]:
    """The admission policy that refuses the new pods (Gatekeeper, Kyverno), as a fact."""
    denied = _DENIED.search(refusal or "")
    return {"denied_by": denied.group(1)} if denied else {}


def _paused(view: ClusterView, deployment: Obj, replica_sets: list[Obj]) -> Finding | None:
    """A paused Deployment whose template changed: the new version never rolls out."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    if not spec.get("paused") or status.get("updatedReplicas", 0) >= status.get("replicas", 0):
        return None
    ref, name = object_ref("Deployment", deployment), meta(deployment)["name"]
    wanted = {c.get("name"): c.get("image") for c in pod_template("Deployment", deployment)
              .get("containers") or []}
    running = {c.get("name"): c.get("image") for rs in replica_sets
               if (rs.get("status") or {}).get("replicas")
               for c in pod_template("ReplicaSet", rs).get("containers") or []}
    change = "; ".join(f"{c} runs {running[c]}, the template asks for {image}"
                       for c, image in wanted.items() if running.get(c) not in (None, image))
    since = ((deployment.get("status") or {}).get("conditions") or [{}])
    paused_at = next((c.get("lastTransitionTime") for c in since
                      if c.get("reason") == "DeploymentPaused"), None)
    return with_facts(Finding(
        category="rollout_stuck", object=ref, summary=f"{name}: rollout paused",
        explanation=(f"the Deployment {name} is paused (spec.paused: true"
                     + (f", since {paused_at}" if paused_at else "") + "), so its new template "
                     f"never rolls out: {status.get('updatedReplicas', 0)} of "
                     f"{status.get('replicas', 0)} pods are updated"
                     + (f"; {change}" if change else "")),
        evidence=[Evidence(source="spec", object=ref, detail="spec.paused: true; Progressing="
                           "Unknown DeploymentPaused")],
        confidence=0.95, impact=SEVERITY["rollout_stuck"] * 2), paused="true")


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


_SCRAPE = re.compile(r"unable to (?:fully )?scrape|failed to scrape|x509|no such host|"
                     r"connection refused|i/o timeout|forbidden|unauthorized", re.IGNORECASE)


_CUSTOM = re.compile(r"(?:custom|external)[ .]metrics", re.IGNORECASE)
_ADAPTERS = ("prometheus-adapter", "metrics-adapter", "keda-operator-metrics-apiserver",
             "datadog-cluster-agent")  # who serves custom.metrics / external.metrics


def _metrics_server(view: ClusterView, names: tuple[str, ...] = ("metrics-server",)
                    ) -> tuple[Obj, str] | None:
    """The Deployment that serves a metrics API (metrics-server, or a custom metrics adapter)
    and the error line its log gives, if it fails."""
    for deployment in view.items("Deployment"):
        if not any(n in meta(deployment)["name"] for n in names):
            continue
        ns = meta(deployment).get("namespace")
        for pod in view.items("Pod", ns):
            if not meta(pod)["name"].startswith(meta(deployment)["name"]):
                continue
            for container in (pod.get("spec") or {}).get("containers") or []:
                log = view.log(ns or "", meta(pod)["name"], container.get("name", ""), False)
                for line in (log.errors if log else []):
                    if _SCRAPE.search(line.text):
                        return deployment, line.text.strip()
    return None


def _no_requests(view: ClusterView, hpa: Obj, target: Obj, resource: str,
                 active: Obj) -> Finding:
    """An HPA on utilization whose target has a container without a request for it."""
    ns = meta(hpa).get("namespace")
    kind = parse_kind(str(target.get("kind")))
    workload = view.find(kind, str(target.get("name")), ns) if kind else None
    spec = pod_template(str(target.get("kind")), workload) if workload else {}
    bare = [c.get("name", "?") for c in [*(spec.get("containers") or [])]
            if resource not in ((c.get("resources") or {}).get("requests") or {})]
    ref = str(ObjectRef(str(target.get("kind")), ns, str(target.get("name"))))
    which = ", ".join(bare) or "a container"
    finding = Finding(
        category="hpa_limited", object=ref,
        summary=f"hpa {meta(hpa)['name']} cannot compute {resource} utilization",
        explanation=(f"the HPA {meta(hpa)['name']} scales on {resource} utilization, but the "
                     f"container(s) {which} of {target.get('name')} request no {resource}, so "
                     "utilization cannot be computed and the HPA does nothing"),
        evidence=[Evidence(source="status", object=object_ref("HorizontalPodAutoscaler", hpa),
                           detail=f"ScalingActive=False {active.get('reason')}: "
                                  f"{active.get('message')}"),
                  Evidence(source="spec", object=ref,
                           detail=f"no requests.{resource} on: {which}")],
        confidence=0.9, impact=SEVERITY["hpa_limited"] * 2,
        related=[object_ref("HorizontalPodAutoscaler", hpa)])
    finding.facts = {"container": bare[0] if bare else "", "resource": resource,
                     "no_request": "true"}
    return finding


_LOOKUP = re.compile(r"\blookup ([\w.-]+)(?: on [\d.:]+)?: no such host")
_DIALED = re.compile(r"//([\w.-]+):(\d{2,5})\b")


def _unresolved(view: ClusterView, line: str, namespace: str | None) -> str:
    """What a metrics adapter's "lookup prometheus-k8s.monitoring.svc: no such host" is about:
    that no such Service exists, and which ones there serve the port it dials."""
    lookup = _LOOKUP.search(line)
    if lookup is None or "." in lookup.group(1) and ".svc" not in lookup.group(1):
        return ""
    host = lookup.group(1)
    dialed = next((m.group(2) for m in _DIALED.finditer(line) if m.group(1) == host), None)
    return missing_service_note(view, host, namespace or "", dialed)


def _hpa(view: ClusterView, hpa: Obj) -> list[Finding]:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = object_ref("HorizontalPodAutoscaler", hpa)
    target = spec.get("scaleTargetRef") or {}
    orphan = orphaned_hpa(view, hpa)
    if orphan is not None:
        return [orphan]
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    active = conditions.get("ScalingActive") or {}
    if active.get("status") == "False":
        message = active.get("message") or ""
        why = ""
        missing = re.search(r"missing request for (\w+)", message)
        if missing and target.get("name"):
            return [_no_requests(view, hpa, target, missing.group(1), active)]
        if "metrics.k8s.io" in message or "resource metrics API" in message:
            why = ("; the resource metrics API (metrics.k8s.io) does not answer: metrics-server "
                   "is not installed or not running")
        elif _CUSTOM.search(message):
            why = "; the custom or external metrics adapter does not answer"
        names = _ADAPTERS if _CUSTOM.search(message) else ("metrics-server",)
        if why:
            view.widen(sorted({home for n in names for home in view.homes_of(n)}))
        server = _metrics_server(view, names) if why else None
        if server is not None:
            name = meta(server[0])["name"]
            return [with_facts(Finding(
                category="hpa_limited", object=object_ref("Deployment", server[0]),
                summary=f"{name} does not serve metrics; hpa {meta(hpa)['name']} is blind",
                explanation=(f"the HPA {meta(hpa)['name']} cannot read {target.get('kind')}/"
                             f"{target.get('name')}'s metrics because {name} "
                             f"({meta(server[0]).get('namespace')}) fails: {server[1]}"
                             + _unresolved(view, server[1], meta(server[0]).get("namespace"))),
                evidence=[Evidence(source="status", object=ref,
                                   detail=f"ScalingActive=False {active.get('reason')}: "
                                          f"{message}"),
                          Evidence(source="log", object=object_ref("Deployment", server[0]),
                                   detail=server[1])],
                confidence=0.85, impact=SEVERITY["hpa_limited"] * 2, related=[ref]),
                metrics="missing", scrape="x509" if "x509" in server[1] else "")]
        return [with_facts(Finding(
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
    load, over = _measured(hpa)
    scaled = [str(ObjectRef(str(target.get("kind")), meta(hpa).get("namespace"),
                            str(target.get("name"))))] if target.get("name") else []
    up = ((spec.get("behavior") or {}).get("scaleUp") or {}).get("selectPolicy")
    if up == "Disabled" and (over or limited.get("status") == "True") and \
            current is not None and current < (maximum or 0):
        return [Finding(
            category="hpa_limited", object=ref,
            summary=f"hpa {meta(hpa)['name']} never scales up: scaleUp.selectPolicy is Disabled",
            explanation=f"spec.behavior.scaleUp.selectPolicy of the HPA is Disabled, so it adds "
                        f"no replica whatever its metrics say: it stays at {current} of "
                        f"{maximum} replicas{load}",
            evidence=[Evidence(source="spec", object=ref,
                               detail="behavior.scaleUp.selectPolicy: Disabled; currentReplicas "
                                      f"{current}, maxReplicas {maximum}{load}")],
            confidence=0.9, impact=SEVERITY["hpa_limited"] * 2, related=scaled)]
    if limited.get("status") == "True" and current is not None and current >= (maximum or 0):
        return [Finding(
            category="hpa_limited", object=ref,
            summary=f"hpa {meta(hpa)['name']} is pinned at maxReplicas {maximum}",
            explanation=f"the HPA is at its maximum of {maximum} replicas and wants more "
                        f"({limited.get('reason')}: {limited.get('message')}){load}",
            evidence=[Evidence(source="status", object=ref,
                               detail=f"currentReplicas {current} = maxReplicas {maximum}; "
                                      f"ScalingLimited=True {limited.get('reason')}")],
            confidence=0.85, impact=SEVERITY["hpa_limited"] * 2, related=scaled)]
    return []
