"""What Services, Nodes and storage show: a selector or targetPort that matches no pod, no
ready endpoints, NotReady or pressured nodes and their evictions, unbound claims."""

from __future__ import annotations

import re
from collections import defaultdict

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .clients import configured
from .labels import closest_labels
from .pod_issues import pod_ref
from .view import ClusterView
from .workloads import SEVERITY, object_ref, workload_ref


def _label_index(view: ClusterView) -> dict[tuple[str | None, str, str], list[Obj]]:
    """Pods by (namespace, label key, value): a Service's pods without scanning every pod."""
    index: dict[tuple[str | None, str, str], list[Obj]] = defaultdict(list)
    for pod in view.items("Pod"):
        for key, value in (meta(pod).get("labels") or {}).items():
            index[(meta(pod).get("namespace"), key, str(value))].append(pod)
    return index


def _template_selected(view: ClusterView, namespace: str | None,
                       selector: dict[str, str]) -> str | None:
    """The workload whose pod template carries the selector's labels, if one does."""
    for kind in ("Deployment", "StatefulSet", "DaemonSet"):
        for workload in view.items(kind, namespace):
            labels = (((workload.get("spec") or {}).get("template") or {}).get("metadata")
                      or {}).get("labels") or {}
            if all(str(labels.get(k)) == str(v) for k, v in selector.items()):
                return object_ref(kind, workload)
    return None


_WHO_SCALES = ("downscaler", "replicas", "scale", "uptime", "downtime", "hibernat", "sleep")


def _scaled_to_zero(view: ClusterView, owner: str, service: Obj) -> list[Finding]:
    """A workload that runs no pod because it is scaled to 0 (by hand, or by a downscaler
    whose annotations say when), while its Service has clients."""
    ref = ObjectRef.parse(owner)
    kind, namespace, name = ref.kind, ref.namespace_text, ref.name
    workload = view.find(kind, name, namespace)  # type: ignore[arg-type]
    if workload is None or (workload.get("spec") or {}).get("replicas") != 0:
        return []
    notes = {k: v for k, v in (meta(workload).get("annotations") or {}).items()
             if any(w in k.lower() for w in _WHO_SCALES)}
    said = "; ".join(f"{k}: {v}" for k, v in sorted(notes.items()))
    ports = [str(p.get("port")) for p in (service.get("spec") or {}).get("ports") or []
             if p.get("port")]
    port = f" (port {', '.join(ports)})" if ports else ""
    finding = Finding(
        category="dependency_unreachable", object=owner,
        summary=f"{name} is scaled to 0 replicas",
        explanation=(f"{kind} {name} runs no pod (spec.replicas: 0)"
                     + (f", and its annotations say who scales it: {said}" if said else "")
                     + f", so Service {meta(service)['name']}{port} has no endpoints and its "
                     "clients cannot connect"),
        evidence=[Evidence(source="spec", object=owner, detail="spec.replicas: 0"),
                  *(Evidence(source="spec", object=owner, detail=f"annotation {k}: {v}")
                    for k, v in sorted(notes.items()))],
        confidence=0.8, impact=SEVERITY["service_no_endpoints"])
    finding.facts = {"scaled_to_zero": "true", "replicas": "0"}
    return [finding]


def service_findings(view: ClusterView) -> list[Finding]:
    findings = []
    by_label = _label_index(view)
    for service in view.items("Service"):
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector or spec.get("type") == "ExternalName":
            continue
        ns = meta(service).get("namespace")
        ref = object_ref("Service", service)
        first, *rest = [by_label.get((ns, k, str(v)), []) for k, v in selector.items()]
        others = [{id(p) for p in group} for group in rest]
        pods = [p for p in first if all(id(p) in group for group in others)]
        sel = ",".join(f"{k}={v}" for k, v in selector.items())
        if not pods:
            owner = _template_selected(view, ns, selector)
            if owner is not None:  # the selector is right; the workload has no pods
                findings += _scaled_to_zero(view, owner, service)
                findings.append(Finding(
                    category="service_no_endpoints", object=ref,
                    summary=f"service {meta(service)['name']} has no endpoints",
                    explanation=f"{owner}, whose pods the selector {sel} of Service "
                                f"{meta(service)['name']} selects, has no pods",
                    evidence=[Evidence(source="spec", object=ref, detail=f"selector: {sel}")],
                    confidence=0.85, impact=SEVERITY["service_no_endpoints"],
                    related=[owner]))
                continue
            closest, carrier = closest_labels(view, ns, selector)
            owner = workload_ref(view, carrier) if carrier is not None else None
            findings.append(Finding(
                category="service_selector_mismatch", object=ref,
                summary=f"service {meta(service)['name']} selects no pod",
                explanation=f"the selector {sel} of Service {meta(service)['name']}"
                            f"{_ports(service)} matches no pod"
                            + (f"; pods carry {closest}" if closest else ""),
                evidence=[Evidence(source="spec", object=ref, detail=f"selector: {sel}")],
                confidence=0.85, impact=SEVERITY["service_selector_mismatch"],
                related=[owner] if owner else [],
                facts={"selector": sel, "pod_label": closest,
                       "new_selector": _corrected(selector, closest)} if closest else {}))
            continue
        headless = (service.get("spec") or {}).get("clusterIP") == "None"  # DNS only: peers
        mismatch = None if headless else _port_mismatch(service, pods)  # (EPMD, gossip) use
        if mismatch:  # ports the containers need not declare
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


def _ports(service: Obj) -> str:
    """" (port 26379)", " (ports 80, 443)": what the Service's clients call."""
    ports = [str(p.get("port")) for p in (service.get("spec") or {}).get("ports") or []
             if p.get("port") is not None]
    return f" (port{'s' if len(ports) > 1 else ''} {', '.join(ports)})" if ports else ""


def _corrected(selector: dict[str, str], label: str) -> str:
    """The selector with `label` (`key=value`, what the pods carry) in place of the entry it
    differs from: the same key with another value, or the same value under another key."""
    key, _, value = label.partition("=")
    fixed = dict(selector)
    if key not in fixed:
        fixed = {key if str(v) == value else k: v for k, v in fixed.items()}
    if key not in fixed:  # nothing of the selector resembles it: the pods' label alone
        return label
    fixed[key] = value
    return ",".join(f"{k}={v}" for k, v in fixed.items())


_UNDECLARED = re.compile(r"metrics|prometheus|monitoring|admin|debug|pprof", re.IGNORECASE)


def _port_mismatch(service: Obj, pods: list[Obj]) -> str | None:
    ports: set[str] = set()
    named: dict[str, str] = {}  # containerPort -> its name
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                ports.add(str(port.get("containerPort")))
                if port.get("name"):
                    ports.add(str(port["name"]))
                    named[str(port.get("containerPort"))] = str(port["name"])
    if not ports:
        return None
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for p in pods for c in (p.get("status") or {}).get("conditions") or [])
    for port in (service.get("spec") or {}).get("ports") or []:
        target = str(port.get("targetPort", port.get("port")))
        if target.isdigit() and not ready:
            continue  # declared ports are informative only; pods that fail explain themselves
        if target.isdigit() and _UNDECLARED.search(str(port.get("name") or "")):
            continue  # (a metrics port is seldom declared: Harbor core's http-metrics 8001)
        if target not in ports:
            listed = ", ".join(f"{p} ({named[p]})" if p in named else p
                               for p in sorted(p for p in ports if p.isdigit()))
            return (f"Service {meta(service)['name']} sends port {port.get('port')} to "
                    f"targetPort {target}, but its pods listen on {listed}")
    return None


_PROCESS_LEAK = re.compile(r"leav(?:e|es|ing) (?:the )?(?:browser |child )?process|zombie|"
                           r"<defunct>|\bdefunct\b|\bEAGAIN\b|Resource temporarily unavailable|"
                           r"too many (?:open )?processes|pthread_create failed|"
                           r"unable to create (?:new )?native thread", re.IGNORECASE)
PID_SUSPECTS = 15  # pods on a node whose logs are read for a process leak


def _pid_eater(view: ClusterView, on_node: list[Obj]) -> tuple[str, Evidence] | None:
    """Which running pod on a node under PIDPressure says it leaves processes behind (a
    browser it does not close, children it does not reap, threads it cannot create)."""
    running = [p for p in on_node if (p.get("status") or {}).get("phase") == "Running"]
    for pod in running[:PID_SUSPECTS]:
        for container in (pod.get("spec") or {}).get("containers") or []:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            line = next((t.text for t in [*(log.errors if log else []), *(log.tail if log else [])]
                         if _PROCESS_LEAK.search(t.text)), None)
            if line:
                owner = workload_ref(view, pod)
                return (f"the processes pile up in {owner.split('/')[-1]} ({owner}), whose log "
                        f"says so: {line.strip()[:200]}",
                        Evidence(source="log", object=f"{pod_ref(pod)}/{container.get('name')}",
                                 detail=line.strip()))
    return None


def node_findings(view: ClusterView) -> list[Finding]:
    findings = []
    for node in view.items("Node"):
        name = meta(node)["name"]
        ref = str(ObjectRef("Node", None, name))
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
                eater = _pid_eater(view, on_node) if kind == "PIDPressure" else None
                findings.append(Finding(
                    category="node_pressure", object=ref, summary=f"node {name} has {kind}",
                    explanation=f"node {name} reports {kind} ({condition.get('message')}) and "
                                f"has evicted {len(evicted)} pods"
                                + (f"; {eater[0]}" if eater else ""),
                    evidence=[Evidence(source="node", object=ref, detail=detail),
                              *([eater[1]] if eater else [])],
                    confidence=0.9,
                    impact=SEVERITY["node_pressure"] * max(1, len(evicted)),
                    related=[pod_ref(p) for p in evicted]))
            elif kind in _PROBLEM_DETECTED and value == "True":
                findings.append(Finding(
                    category=_PROBLEM_DETECTED[kind], object=ref,
                    summary=f"node {name} reports {kind}",
                    explanation=f"node {name} stays Ready, but node-problem-detector reports "
                                f"{kind} ({condition.get('reason')}: {condition.get('message')});"
                                f" {len(on_node)} pods run there and fail where they touch it",
                    evidence=[Evidence(source="node", object=ref, detail=detail)],
                    confidence=0.85, impact=SEVERITY[_PROBLEM_DETECTED[kind]] * max(
                        1, len(on_node)), related=[pod_ref(p) for p in on_node]))
    return findings


# node-problem-detector's conditions for a broken node that still reports Ready
_PROBLEM_DETECTED = {"ReadonlyFilesystem": "storage_full", "FilesystemCorruption": "storage_full",
                     "KernelDeadlock": "node_not_ready", "CorruptDockerOverlay2": "storage_full",
                     "FrequentKubeletRestart": "node_not_ready",
                     "FrequentContainerdRestart": "node_not_ready",
                     "FrequentDockerRestart": "node_not_ready"}


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
        ref = object_ref("PersistentVolumeClaim", pvc)
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


def cordoned_roots(findings: list[Finding]) -> list[Finding]:
    """A cordoned node that is the only place pending pods can go (their volume's zone): the
    node is the root, the pods' constraint its symptom."""
    roots: dict[str, Finding] = {}
    for finding in findings:
        node = finding.facts.get("cordoned_root")
        if finding.category != "scheduling_constraint" or not node:
            continue
        ref = str(ObjectRef("Node", None, node))
        if ref not in roots:
            roots[ref] = Finding(
                category="scheduling_constraint", object=ref,
                summary=f"node {node} is cordoned (unschedulable)",
                explanation=(f"node {node} is cordoned (spec.unschedulable: true) and is the "
                             f"only node where {finding.object} can run: "
                             f"{finding.explanation}"),
                evidence=[Evidence(source="node", object=ref, detail="spec.unschedulable: true"),
                          *finding.evidence[:2]],
                confidence=0.9, impact=finding.impact, related=[finding.object])
            roots[ref].facts = {"node": node, "cordoned": "true"}
        finding.caused_by = ref
    return list(roots.values())


def refresher_namespaces(view: ClusterView, findings: list[Finding]) -> set[str]:
    """The namespaces of the CronJobs that renew a pull Secret a registry refuses."""
    secrets = {f.facts["pull_secret"] for f in findings if f.category == "image_pull"
               and f.facts.get("pull") == "auth" and f.facts.get("pull_secret")}
    return {meta(c).get("namespace") or "" for c in view.everywhere("CronJob") if secrets
            and any(_names(c, s) for s in secrets)}


def refresher_roots(view: ClusterView, findings: list[Finding]) -> list[Finding]:
    """A registry that refuses the pull Secret a CronJob renews (a short-lived ECR or GAR token
    refreshed every few hours), when the CronJob is suspended or its runs fail: the CronJob is
    the root, the pull its symptom. A refresher whose own cloud credentials are refused is
    named for that cause."""
    roots: dict[str, Finding] = {}
    by_object = {f.object: f for f in findings}
    for finding in findings:
        secret = finding.facts.get("pull_secret")
        if finding.category != "image_pull" or finding.facts.get("pull") != "auth" or not secret:
            continue
        for cronjob in view.everywhere("CronJob"):
            spec = cronjob.get("spec") or {}
            name, namespace = meta(cronjob)["name"], meta(cronjob).get("namespace")
            ref = str(ObjectRef("CronJob", namespace, name))
            failing = by_object.get(ref)
            if not (spec.get("suspend") or failing) or not _names(cronjob, secret):
                continue
            finding.caused_by = ref
            if failing is not None:  # its runs fail: the token it wrote last has expired
                if finding.object not in failing.related:
                    failing.related.append(finding.object)
                    failing.explanation += (
                        f"; it renews the pull Secret {secret}, so the registry token "
                        f"{secret} holds has expired and {finding.object} cannot pull its image")
                if failing.facts.get("absorbed") == "credentials_rejected" or any(
                        f.object == ref and f.category == "credentials_rejected"
                        for f in findings):  # its own cloud key is refused
                    failing.category = "credentials_rejected"
                failing.impact = max(failing.impact, finding.impact)
                failing.facts.setdefault("renews", secret)
                continue
            last = (cronjob.get("status") or {}).get("lastScheduleTime")
            age = view.age_seconds(last)
            since = f", its last run {int(age // 3600)} h ago" if age is not None else ""
            if ref not in roots:
                roots[ref] = Finding(
                    category="cronjob", object=ref,
                    summary=f"cronjob {name} that renews {secret} is suspended",
                    explanation=(f"CronJob {name} renews the pull Secret {secret}, and it is "
                                 f"suspended (spec.suspend: true){since}: the registry token "
                                 f"{secret} holds has expired, so {finding.object} cannot pull "
                                 "its image"),
                    evidence=[Evidence(source="status", object=ref,
                                       detail=f"spec.suspend: true; it names {secret}"),
                              *finding.evidence[:2]],
                    confidence=0.9, impact=finding.impact, related=[finding.object])
                roots[ref].facts = {"suspended": "true", "secret": secret}
    return list(roots.values())


def _names(cronjob: Obj, secret: str) -> bool:
    """Whether the CronJob's containers name the Secret (an env value, an argument)."""
    template = ((((cronjob.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {})
                .get("template") or {})
    word = re.compile(rf"(?<![\w.-]){re.escape(secret)}(?![\w.-])")
    return any(word.search(text) for text in configured(template))
