"""The checks a question's symptom plan adds to the status analyzers: specs as evidence when
status is clean (a CPU limit far below need, memory at its limit), the autoscaler the question
asks about (absent, or blind for want of metrics), and the egress that DNS needs.
"""

from __future__ import annotations

import re

from knowledge.symptoms import Intent
from tools import Forbidden, NotFound, Obj, Unauthorized, Unreachable
from tools.ownership import owned_by, owner_of_kind
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding, Target
from .gateways import slow_itself
from .ingresses import controller_pods
from .pod_issues import pod_ref
from .quantities import cpu_milli, memory_bytes
from .reading import Said, dependency_in
from .speakers import runs
from .view import ClusterView
from .workloads import SEVERITY, workload_ref

_KEDA = re.compile(r"\bkeda\b|scaledobject", re.IGNORECASE)
_AUTOSCALER = re.compile(r"autoscal|\bhpa\b|\bkeda\b|\bvpa\b|scaledobject", re.IGNORECASE)
_CACHING_PROXIES = "varnish|varnish-cache"  # images whose access log times cache hits
SMALL_CPU_MILLI = 250  # a limit at or below this is small for a serving container
STARVED_CPU_MILLI = 1000  # a process starved of CPU under a limit below this is held by it


def symptom_findings(view: ClusterView, focus: Target | None, pods: list[Obj], intent: Intent,
                     found: list[Finding], behind: list[Obj],
                     said: list[Said]) -> list[Finding]:
    """Findings of the plan's checks that the status analyzers do not make."""
    added: list[Finding] = []
    plan = intent.plan
    if intent.wants("throttling"):
        added += _throttling(view, pods, small_only=False)
    elif intent.wants("latency", "timeouts", "errors"):  # the target's pods, or those that
        slow = [s.pod for s in said if s.category == "slow_dependency"]  # log slowness
        own = {id(s.pod): told for s in said if s.category == "slow_dependency"
               and (told := own_time(s.match.line) or _starved(s) or _own_work(s))}
        added += _throttling(view, [s for s in pods if id(s) in own] + [
            p for p in slow if id(p) in own], small_only=False, own=own)
        added += _throttling(view, [*(pods if focus else slow), *behind], small_only=True)
        gateways = [p for p in [*controller_pods(view), *(  # (and the proxies behind them)
            q for q in view.items("Pod") if runs(q, _CACHING_PROXIES))] if intent.wants("latency")]
        slow_gateways = slow_itself(view, gateways)  # a gateway slow in itself: its limit
        for gateway in _throttling(view, [p for p in gateways if id(p) in slow_gateways],
                                   small_only=False, own=slow_gateways):
            gateway.related += [focus.ref] if focus is not None else []  # the way in to it
            added.append(gateway)
    down = any(f.category in _CONSUMER_DOWN for f in found)  # a backlog behind a crash
    if "autoscaler" in plan or (not intent.wants("crash") and not down and any(  # is the
            s.match.signature.id == "queue-backlog" for s in said)):  # crash's, not scaling's
        added += _autoscaler(view, focus, intent, said)
    if focus is not None and focus.kind == "PersistentVolumeClaim" and any(
            a in _FILLING for a in intent.alerts):
        added += _filling_claim(focus, intent.text)
    return [f for f in added if (f.object, f.category) not in
            {(g.object, g.category) for g in found}]


_CONSUMER_DOWN = ("dependency_unreachable", "app_exception", "oom_killed", "missing_env",
                  "credentials_rejected", "bad_command", "image_pull", "init_container")


_MS_FIELD = re.compile(r'"?([a-z][a-z_]*?)_?ms"?\s*[:=]\s*"?(\d+(?:\.\d+)?)', re.IGNORECASE)
_TOTAL = ("elapsed", "duration", "took", "total", "latency", "response_time", "request_time")
_WAITED = ("backend", "upstream", "downstream", "db", "query", "es", "search", "remote", "io",
           "dependency", "external", "redis", "sql")
OWN_SHARE = 0.8  # a request whose time is at least this much its own: the app is the slow part


_STARVED = "its threads starved of CPU"


def _starved(said: Said) -> str:
    """A log that says the process is starved of CPU (a pool's housekeeper running late)."""
    if said.match.signature.id != "thread-starvation":
        return ""
    return f"{_STARVED} ({said.match.line.strip()[-160:]})"


_OWN_WORK = re.compile(r"\b(?:batch|processing|processed|scoring|scored|computing|computed|"
                       r"rendering|rendered|transform\w*|aggregat\w*|compaction)\b[^\n]*?"
                       r"\btook\b", re.IGNORECASE)


def _own_work(said: Said) -> str:
    """A log line that times the app's own work and names no dependency ("scoring batch of 500
    records took 6104 ms (budget 800 ms)"): the app is the slow part."""
    line = said.match.line
    if not _OWN_WORK.search(line) or dependency_in(line):
        return ""
    return f"the app's own work is slow: {line.strip()[-160:]}"


def own_time(line: str) -> str:
    """What a slow-request line says when it splits its time ("elapsed_ms 2310, backend_ms 16,
    rank_ms 2254"): the dependency answered fast and the app spent the rest itself."""
    fields = {k.lower().rstrip("_"): float(v) for k, v in _MS_FIELD.findall(line)}
    total = next((fields[k] for k in _TOTAL if k in fields), None)
    waited = [(k, fields[k]) for k in _WAITED if k in fields]
    if not total or not waited:
        return ""
    spent = sum(v for _, v in waited)
    if total - spent < OWN_SHARE * total:
        return ""
    return (f"of {total:g} ms a request took, {spent:g} ms went to "
            f"{', '.join(f'{k} ({v:g} ms)' for k, v in waited)}: the time is spent in the "
            "app itself")


def _throttling(view: ClusterView, pods: list[Obj], small_only: bool,
                own: dict[int, str] | None = None) -> list[Finding]:
    """A CPU limit as evidence: any limit when throttling is asked about, or when the app's log
    says the slow time is its own (`own`); for slow or failing requests otherwise, only a small
    one (at most `SMALL_CPU_MILLI`) on a container that logs slowness or serves a dependency
    that does."""
    own = own or {}
    by_owner: dict[str, Finding] = {}
    for pod in pods:
        owner = workload_ref(view, pod)
        if owner in by_owner:
            by_owner[owner].related.append(pod_ref(pod))
            continue
        for container in (pod.get("spec") or {}).get("containers") or []:
            resources = container.get("resources") or {}
            limit = cpu_milli((resources.get("limits") or {}).get("cpu"))
            if limit is None or _not_running(pod, container.get("name", "")):
                continue  # (a container that crash-loops is not throttled)
            if small_only and limit > SMALL_CPU_MILLI and not _lowered(
                    view, pod, container.get("name", ""), limit):
                continue  # a generous limit, unless a right-sizing just cut it
            if own.get(id(pod), "").startswith(_STARVED) and limit >= STARVED_CPU_MILLI and \
                    not _limit_before(view, pod, container.get("name", "")):
                continue  # starved under a generous limit: it needs more pods, not a limit
            request = cpu_milli((resources.get("requests") or {}).get("cpu"))
            name = container.get("name", "?")
            short = ObjectRef.parse(owner).name
            spec_line = (f"container {name}: limits.cpu {resources['limits']['cpu']}"
                         + (f", requests.cpu {resources['requests']['cpu']}"
                            if request is not None else ""))
            origin = _limit_origin(view, pod, owner, name, str(resources["limits"]["cpu"]))
            finding = Finding(
                category="cpu_throttling", object=owner,
                summary=f"{short}: CPU limit {resources['limits']['cpu']} on {name}",
                explanation=(f"the container {name} of {short} may use at most "
                             f"{resources['limits']['cpu']} of CPU (limits.cpu); under load the "
                             "kernel throttles it (CFS quota), so it stays Ready but answers "
                             "slowly" + (f"; {origin}" if origin else "")),
                evidence=[Evidence(source="spec", object=pod_ref(pod), detail=spec_line)],
                confidence=0.8 if limit <= SMALL_CPU_MILLI else 0.6,
                impact=SEVERITY["cpu_throttling"], related=[pod_ref(pod)])
            finding.facts = {"container": name, "cpu_limit": str(resources["limits"]["cpu"])}
            before = _limit_before(view, pod, name)
            if id(pod) in own:  # the log says the app is the slow part: its CPU limit is why
                finding.explanation += f"; its log shows {own[id(pod)]}"
            if before:
                finding.explanation += f"; the previous ReplicaSet allowed limits.cpu {before}"
                finding.facts["cpu_limit_before"] = before
            if id(pod) in own:
                finding.confidence = 0.85
                finding.impact = SEVERITY["cpu_throttling"] * 1.5
                finding.facts["own_time"] = "true"
            by_owner[owner] = finding
            break
    return list(by_owner.values())


def _limit_before(view: ClusterView, pod: Obj, container: str) -> str:
    """The CPU limit an older ReplicaSet of the same Deployment gave the container, when it was
    another (a right-sizing that cut it)."""
    namespace = meta(pod).get("namespace")
    mine = owner_of_kind(pod, "ReplicaSet")
    current = view.find("ReplicaSet", mine.name, namespace) if mine else None
    parent = owner_of_kind(current or {})
    now: Obj = next((c for c in (pod.get("spec") or {}).get("containers") or []
                if c.get("name") == container), {})
    limit = ((now.get("resources") or {}).get("limits") or {}).get("cpu")
    siblings = owned_by(view.items("ReplicaSet", namespace), parent) if parent else []
    for replicaset in sorted(siblings, key=lambda r: meta(r).get("creationTimestamp") or "",
                             reverse=True):
        if replicaset is current:
            continue
        for each in (((replicaset.get("spec") or {}).get("template") or {}).get("spec") or {}
                     ).get("containers") or []:
            old = ((each.get("resources") or {}).get("limits") or {}).get("cpu")
            if each.get("name") == container and old and cpu_milli(old) != cpu_milli(limit):
                return str(old)
    return ""


def _lowered(view: ClusterView, pod: Obj, container: str, limit: int) -> bool:
    """Whether the last rollout cut the container's CPU limit (from a larger one)."""
    before = cpu_milli(_limit_before(view, pod, container))
    return before is not None and before > limit


def _not_running(pod: Obj, container: str) -> bool:
    return any(s.get("name") == container and not (s.get("state") or {}).get("running")
               for s in (pod.get("status") or {}).get("containerStatuses") or [])


def _limit_origin(view: ClusterView, pod: Obj, owner: str, container: str,
                  limit: str) -> str:
    """Where a CPU limit the workload's own template does not set comes from: the default of a
    LimitRange, applied to every container created without one (LimitRanger admission)."""
    ref = ObjectRef.parse(owner)
    kind, namespace, name = ref.kind, ref.namespace_text, ref.name
    workload = view.find(kind, name, namespace) if kind != "Pod" else None  # type: ignore[arg-type]
    template = ((workload or {}).get("spec") or {}).get("template") or \
        ((workload or {}).get("spec") or {}).get("jobTemplate", {}).get("spec", {}).get("template")
    declared = next((c for c in ((template or {}).get("spec") or {}).get("containers") or []
                     if c.get("name") == container), None)
    if declared is None or ((declared.get("resources") or {}).get("limits") or {}).get("cpu"):
        return ""
    for limits in view.items("LimitRange", namespace):
        for item in (limits.get("spec") or {}).get("limits") or []:
            if item.get("type") == "Container" and \
                    cpu_milli((item.get("default") or {}).get("cpu")) == cpu_milli(limit):
                return (f"{kind} {name} declares no CPU limit for {container}: the default "
                        f"{limit} of LimitRange {meta(limits)['name']} in {namespace} is set on "
                        "every container created without one (LimitRanger admission)")
    ranger = (meta(pod).get("annotations") or {}).get("kubernetes.io/limit-ranger", "")
    return (f"{kind} {name} declares no CPU limit for {container}: {ranger}" if ranger else "")


def _autoscaler(view: ClusterView, focus: Target | None, intent: Intent,
                said: list[Said]) -> list[Finding]:
    """What the question about scaling is really about: the autoscaler it names may not exist;
    and a queue consumer whose backlog grows while nothing scales it, asked about or not.
    (Two that fight over one workload are a controller finding.)"""
    asked = focus is not None and focus.kind != "HorizontalPodAutoscaler" and bool(
        _AUTOSCALER.search(intent.text))  # "I scaled it to 6" asks about none
    wanted: dict[str, Said | None] = {focus.ref: None} if asked and focus else {}
    for item in said:
        if item.match.signature.id == "queue-backlog":
            wanted.setdefault(workload_ref(view, item.pod), item)
    findings = []
    for workload, backlog in wanted.items():
        ref = ObjectRef.parse(workload)
        kind, namespace, name = ref.kind, ref.namespace_text, ref.name
        if kind == "Pod" or any(_scales(h, kind, name)
                                for h in view.items("HorizontalPodAutoscaler", namespace)):
            continue
        findings.append(_unscaled(view, workload, intent, backlog))
    return findings


def _unscaled(view: ClusterView, workload: str, intent: Intent,
              backlog: Said | None) -> Finding:
    ref = ObjectRef.parse(workload)
    kind, namespace, name = ref.kind, ref.namespace_text, ref.name
    keda = ""
    if (backlog is not None or _KEDA.search(intent.text)) and not keda_installed(view):
        keda = ("; KEDA is not installed (no keda-operator runs and this cluster serves no "
                "ScaledObject), so a ScaledObject for it cannot exist or act")
    grows = f"; its queue backlog grows ({backlog.match.line.strip()[:160]})" if backlog else ""
    evidence = [Evidence(source="spec", object=workload,
                         detail=f"0 HorizontalPodAutoscalers with scaleTargetRef {kind}/{name}")]
    if backlog is not None:
        evidence.insert(0, Evidence(source="log", object=f"{pod_ref(backlog.pod)}/"
                                    f"{backlog.container}", detail=backlog.match.line.strip()))
    finding = Finding(
        category="autoscaler_missing", object=workload,
        summary=f"{name}: no autoscaler scales it",
        explanation=(f"no HorizontalPodAutoscaler targets {kind} {name} in {namespace}, so "
                     f"nothing adds replicas{grows}{keda}"),
        evidence=evidence, confidence=0.8 if backlog else 0.7,
        impact=SEVERITY["autoscaler_missing"] * (2 if backlog else 1))
    finding.facts = {"keda": "missing" if keda else "", "backlog": "true" if backlog else ""}
    return finding


def keda_installed(view: ClusterView) -> bool:
    try:
        namespaces = view.cluster.namespaces()
    except (Forbidden, NotFound, Unreachable, Unauthorized):  # unreadable: says nothing either way
        namespaces = []
    return "keda" in namespaces or any("keda" in meta(d)["name"]
                                       for d in view.items("Deployment"))


def _scales(hpa: Obj, kind: str, name: str) -> bool:
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return bool(ref.get("kind") == kind and ref.get("name") == name)


_TOLD_MEMORY = re.compile(r"\b(\d+(?:\.\d+)?)\s*(gi|mi|gb|mb|g|m)\b", re.IGNORECASE)
_UNITS = {"gi": 2**30, "g": 10**9, "gb": 10**9, "mi": 2**20, "m": 10**6, "mb": 10**6}
COMFORTABLE = 0.8  # memory use below this share of the limit, with no OOMKill, is no problem


def memory_told_below_limit(question: str, pods: list[Obj]) -> str:
    """When a question states the memory the pods use ("sit at 1.4Gi each"), and that is well
    under every container's limit, the memory question is answered from the spec: the use said
    against the limit. Empty when it is not (no amount, no limit, or near it)."""
    told = _TOLD_MEMORY.search(question or "")
    if not told or not pods:
        return ""
    used = float(told.group(1)) * _UNITS[told.group(2).lower()]
    limits = [memory_bytes(((c.get("resources") or {}).get("limits") or {}).get("memory"))
              for p in pods for c in (p.get("spec") or {}).get("containers") or []]
    known = [v for v in limits if v]
    if not known or used >= COMFORTABLE * max(known):
        return ""
    return (f"the {told.group(0)} the question states is {used / max(known):.0%} of the "
            f"memory limit; no container was OOMKilled")


_FILLING = ("KubePersistentVolumeFillingUp", "KubePersistentVolumeInodesFillingUp")
_AVAILABLE = re.compile(r"currently ([\d.]+%) is available", re.IGNORECASE)
FULL_SHARE = 10.0  # percent available at or below which a claim is full for practical purposes


def _filling_claim(focus: Target, text: str) -> list[Finding]:
    """The volume-filling alert is itself evidence: kubelet volume stats, which the tools read
    only through Prometheus, measured the claim; its description says how much is left."""
    found = _AVAILABLE.search(text)
    if found is None or float(found.group(1).rstrip("%")) > FULL_SHARE:
        return []
    finding = Finding(
        category="storage_full", object=focus.ref,
        summary=f"pvc {focus.name}: {found.group(1)} available",
        explanation=(f"the kubelet's volume stats, as the alert reports them, leave "
                     f"{found.group(1)} of PersistentVolumeClaim {focus.name} available: "
                     "writes to it fail soon or already (a database or search engine blocks "
                     "writes before the disk is at 100%)"),
        evidence=[Evidence(source="metrics", object=focus.ref,
                           detail=f"alert (kubelet volume stats): currently {found.group(1)} "
                                  "is available")],
        confidence=0.8, impact=SEVERITY["storage_full"])
    finding.facts = {"claim": focus.name}
    return [finding]
