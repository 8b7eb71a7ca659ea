"""Typed, compact summaries of Kubernetes objects, built from their JSON form.

Both backends hand the same JSON to these functions, so their results compare equal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from .reading import Obj


def meta(obj: Obj) -> dict[str, Any]:
    result: dict[str, Any] = obj.get("metadata") or {}
    return result


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(value: str | None, now: datetime | None = None) -> str:
    when = parse_time(value)
    if when is None:
        return "?"
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


class ContainerState(BaseModel):
    name: str
    init: bool
    image: str
    ready: bool
    restarts: int
    state: str  # running | waiting | terminated | unknown
    reason: str | None
    message: str | None
    exit_code: int | None
    last_reason: str | None
    last_exit_code: int | None
    last_finished: str | None


def _container_state(status: Obj, init: bool) -> ContainerState:
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    which = next(iter(state), "unknown")
    detail = state.get(which) or {}
    return ContainerState(
        name=status.get("name", "?"), init=init, image=status.get("image", ""),
        ready=bool(status.get("ready")), restarts=int(status.get("restartCount") or 0),
        state=which, reason=detail.get("reason"), message=detail.get("message"),
        exit_code=detail.get("exitCode"), last_reason=last.get("reason"),
        last_exit_code=last.get("exitCode"), last_finished=last.get("finishedAt"),
    )


class PodSummary(BaseModel):
    namespace: str
    name: str
    phase: str
    status: str  # what `kubectl get pods` shows in STATUS
    ready: str  # "1/2"
    restarts: int
    node: str | None
    owner: str | None  # "ReplicaSet/checkout-7d9f8b6c4"
    containers: list[ContainerState]
    conditions: list[str]  # conditions that are not True, with reason and message
    created: str | None

    def line(self) -> str:
        where = f" on {self.node}" if self.node else ""
        return (f"pod {self.name}: {self.status}, ready {self.ready}, restarts {self.restarts}"
                f"{where}")


def pod_summary(pod: Obj) -> PodSummary:
    m, spec, status = meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    inits = [_container_state(s, True) for s in status.get("initContainerStatuses") or []]
    mains = [_container_state(s, False) for s in status.get("containerStatuses") or []]
    owners = m.get("ownerReferences") or []
    owner = next((f"{o['kind']}/{o['name']}" for o in owners if o.get("controller")), None)
    conditions = [
        f"{c.get('type')}={c.get('status')}"
        + (f" ({c.get('reason')}: {c.get('message')})" if c.get("reason") else "")
        for c in status.get("conditions") or [] if c.get("status") != "True"
    ]
    total = len(spec.get("containers") or []) or len(mains)
    return PodSummary(
        namespace=m.get("namespace", ""), name=m.get("name", "?"),
        phase=status.get("phase", "Unknown"), status=pod_status(pod),
        ready=f"{sum(c.ready for c in mains)}/{total}",
        restarts=sum(c.restarts for c in mains + inits), node=spec.get("nodeName"),
        owner=owner, containers=inits + mains, conditions=conditions,
        created=m.get("creationTimestamp"),
    )


def native_sidecars(pod: Obj) -> set[str]:
    """The init containers that run beside the app (`restartPolicy: Always`, Kubernetes
    1.28+): a sidecar that is OOMKilled or crashes is a container's failure, and one that
    runs is doing its job, not an init step that never finishes. An API server older than
    1.28 drops the field; an init container running while the app's containers run is one
    all the same (an init step ends before they start)."""
    status = pod.get("status") or {}
    sidecars = {str(c.get("name")) for c in (pod.get("spec") or {}).get("initContainers") or []
                if c.get("restartPolicy") == "Always"}
    if any("running" in (c.get("state") or {}) for c in status.get("containerStatuses") or []):
        sidecars |= {str(c.get("name")) for c in status.get("initContainerStatuses") or []
                     if (((c.get("state") or {}).get("terminated") or {}).get("exitCode") != 0)}
    return sidecars


def pod_status(pod: Obj) -> str:
    """The STATUS column of `kubectl get pods`: the most telling reason, else the phase."""
    status = pod.get("status") or {}
    if meta(pod).get("deletionTimestamp"):
        return "Terminating"
    if status.get("reason"):
        return str(status["reason"])
    sidecars = native_sidecars(pod)
    for index, init in enumerate(status.get("initContainerStatuses") or []):
        state = init.get("state") or {}
        if "terminated" in state and state["terminated"].get("exitCode") == 0:
            continue
        if init.get("name") in sidecars and (init.get("started") or "running" in state):
            continue
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return f"Init:{state['waiting']['reason']}"
        if "terminated" in state:
            return f"Init:{state['terminated'].get('reason') or 'Error'}"
        total = len(status.get("initContainerStatuses") or [])
        return f"Init:{index}/{total}"
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            return str(state["waiting"]["reason"])
        if "terminated" in state:
            return str(state["terminated"].get("reason") or "Error")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("reason") or "Pending")
    return str(status.get("phase", "Unknown"))


class WorkloadSummary(BaseModel):
    kind: str
    namespace: str
    name: str
    desired: int | None
    ready: int
    available: int
    updated: int
    images: list[str]
    selector: dict[str, str]
    conditions: list[str]
    revision: str | None
    suspended: bool | None
    generation_observed: bool

    def line(self) -> str:
        want = "?" if self.desired is None else str(self.desired)
        bad = f"; {'; '.join(self.conditions)}" if self.conditions else ""
        return f"{self.kind.lower()} {self.name}: {self.ready}/{want} ready{bad}"


def pod_template(kind: str, obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template: Obj = ((spec.get("template") or {}).get("spec")) or {}
    return template


def workload_summary(kind: str, obj: Obj) -> WorkloadSummary:
    m, spec, status = meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    template = pod_template(kind, obj)
    images = [c.get("image", "") for c in template.get("containers") or []]
    desired: int | None
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled")
        ready, available = status.get("numberReady", 0), status.get("numberAvailable", 0)
        updated = status.get("updatedNumberScheduled", 0)
    elif kind == "Job":
        desired = spec.get("completions", 1)
        ready = status.get("succeeded", 0)
        available, updated = status.get("active", 0), status.get("failed", 0)
    elif kind == "CronJob":
        desired, ready = None, len(status.get("active") or [])
        available, updated = ready, 0
    else:
        desired = spec.get("replicas", 1)
        ready = status.get("readyReplicas", 0)
        available = status.get("availableReplicas", 0)
        updated = status.get("updatedReplicas", 0)
    healthy_when = {"Available": "True", "Progressing": "True", "ReplicaFailure": "False",
                    "Failed": "False", "Complete": "True", "Suspended": "False"}
    conditions = [
        f"{c.get('type')}={c.get('status')} ({c.get('reason')}: {c.get('message')})"
        for c in status.get("conditions") or []
        if healthy_when.get(str(c.get("type")), c.get("status")) != c.get("status")
    ]
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if kind == "ReplicationController":
        selector = spec.get("selector") or {}
    observed = status.get("observedGeneration")
    return WorkloadSummary(
        kind=kind, namespace=m.get("namespace", ""), name=m.get("name", "?"), desired=desired,
        ready=ready or 0, available=available or 0, updated=updated or 0, images=images,
        selector=selector, conditions=conditions,
        revision=(m.get("annotations") or {}).get("deployment.kubernetes.io/revision"),
        suspended=spec.get("suspend") if kind in ("CronJob", "Job") else None,
        generation_observed=observed is None or observed >= m.get("generation", 0),
    )


class NodeSummary(BaseModel):
    name: str
    ready: str  # True | False | Unknown
    problems: list[str]  # pressure or unavailability conditions that are on
    unschedulable: bool
    taints: list[str]
    allocatable: dict[str, str]
    capacity: dict[str, str]
    labels: dict[str, str]
    kubelet: str | None

    def line(self) -> str:
        extra = [*self.problems, *(["cordoned"] if self.unschedulable else [])]
        taints = f"; taints {', '.join(self.taints)}" if self.taints else ""
        alloc = ", ".join(f"{k}={v}" for k, v in sorted(self.allocatable.items()))
        return (f"node {self.name}: Ready={self.ready}{'; ' + ', '.join(extra) if extra else ''}"
                f"{taints}; allocatable {alloc}")


def node_summary(node: Obj) -> NodeSummary:
    m, spec, status = meta(node), node.get("spec") or {}, node.get("status") or {}
    ready, problems = "Unknown", []
    for condition in status.get("conditions") or []:
        kind, value = condition.get("type"), condition.get("status")
        if kind == "Ready":
            ready = str(value)
            if value != "True":
                problems.append(f"NotReady ({condition.get('reason')}: {condition.get('message')})")
        elif value == "True":
            problems.append(f"{kind} ({condition.get('message') or condition.get('reason')})")
    taints = [
        f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
        for t in spec.get("taints") or []
    ]
    return NodeSummary(
        name=m.get("name", "?"), ready=ready, problems=problems,
        unschedulable=bool(spec.get("unschedulable")), taints=taints,
        allocatable=dict(status.get("allocatable") or {}),
        capacity=dict(status.get("capacity") or {}), labels=dict(m.get("labels") or {}),
        kubelet=(status.get("nodeInfo") or {}).get("kubeletVersion"),
    )


class EventSummary(BaseModel):
    type: str
    reason: str
    object: str  # "Pod/checkout-7d9f8b6c4-x2k9p"
    namespace: str
    message: str
    count: int
    first: str | None
    last: str | None
    source: str

    def line(self) -> str:
        times = f" x{self.count}" if self.count > 1 else ""
        return f"{self.type} {self.reason} {self.object}{times}: {self.message}"


def event_summary(event: Obj) -> EventSummary:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    series = event.get("series") or {}
    last = (event.get("lastTimestamp") or series.get("lastObservedTime")
            or event.get("eventTime") or meta(event).get("creationTimestamp"))
    first = event.get("firstTimestamp") or event.get("eventTime") or last
    count = event.get("count") or series.get("count") or 1
    source = event.get("source") or {}
    return EventSummary(
        type=event.get("type") or "Normal", reason=event.get("reason") or "",
        object=f"{involved.get('kind', '?')}/{involved.get('name', '?')}",
        namespace=involved.get("namespace") or meta(event).get("namespace") or "",
        message=(event.get("message") or event.get("note") or "").strip(), count=int(count),
        first=first, last=last,
        source=source.get("component") or event.get("reportingController")
        or event.get("reportingComponent") or "",
    )
