"""The read-only looks the graph takes: a plan for the turn's intent (no model needed), and one
model-chosen step at a time. Every result is redacted and cut to a budget before it is kept.
"""

from __future__ import annotations

from tools import Toolbox, ToolResult, base_name, redact_text

from .changes import template_changes
from .followups import other_pod, pods_of
from .schemas import NextStep, ObjectKind
from .state import Intent, Json, Observation


def plan(box: Toolbox, intent: Intent, scope: Json, budget: int,
         deep: bool = False) -> tuple[list[Observation], Json]:
    """The planned tool calls for a turn, and the scope they settle on (the other pod).

    `deep` (model mode) adds the log of the target's most troubled pod: the model then starts
    from what a human would read first, instead of having to ask for it.
    """
    target = scope.get("target")
    namespaces = scope.get("namespaces") or []
    if scope.get("unknown"):
        return [], scope
    if target is None:
        if len(namespaces) == 1:
            return [run(box, NextStep(tool="events", name=""), namespaces[0], budget)], scope
        return [], scope
    ns = target["namespace"] or (namespaces[0] if namespaces else "")
    if intent in ("previous_logs", "logs"):
        pods = [p["metadata"]["name"] for p in pods_of(box.cluster, target)][:2]
        if scope.get("pod") and scope["pod"] in pods:
            pods = [scope["pod"]]
        looked = [run(box, NextStep(tool=intent, name=p), ns, budget) for p in pods]
        if intent == "previous_logs" and pods and all(o["status"] != "ok" for o in looked):
            # no run before this one (it never restarted): offer the log that does exist
            looked.append(run(box, NextStep(tool="logs", name=pods[0]), ns, budget))
        return looked, scope
    if intent == "events":
        return [_events_of(box, target, ns, budget)], scope
    if intent == "what_changed":
        return [_what_changed(box, target, ns, budget)], scope
    if intent == "other_pod":
        pod = other_pod(box.cluster, target, scope.get("pod"))
        if pod is None:
            return [], scope
        scope = {**scope, "pod": pod}
        return [run(box, NextStep(tool="describe", kind="Pod", name=pod), ns, budget),
                run(box, NextStep(tool="logs", name=pod), ns, budget)], scope
    kind: ObjectKind = target["kind"] if target["kind"] in _DESCRIBABLE else "Pod"
    planned = [run(box, NextStep(tool="describe", kind=kind, name=target["name"]), ns, budget)]
    if intent == "describe":
        return planned, scope
    pods = [p["metadata"]["name"] for p in pods_of(box.cluster, target)] if deep else []
    if pods:
        planned.append(run(box, NextStep(tool="logs", name=pods[0]), ns, budget))
    return planned, scope


_DESCRIBABLE = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service",
                "Node", "PersistentVolumeClaim")


def run(box: Toolbox, step: NextStep, namespace: str, budget: int,
        chosen_by: str = "plan") -> Observation:
    """One read-only tool call, confined to the turn's namespace."""
    name = step.name.strip() or None
    tool: str = step.tool  # NextStep's tools, or NextStepWithMetrics' (prometheus_query too)
    result: ToolResult
    if step.tool == "describe" and name:
        result = box.describe(step.kind, name, None if step.kind == "Node" else namespace)
    elif step.tool in ("logs", "previous_logs") and name:
        pod = _pod_named(box, namespace, name)
        result = box.logs(namespace, pod, previous=step.tool == "previous_logs")
    elif step.tool == "events":
        result = box.events(namespace, name=name, warnings_only=True, limit=20)
    elif step.tool == "services":
        result = box.services(namespace)
    elif step.tool == "storage":
        result = box.storage(namespace)
    elif step.tool == "nodes":
        result = box.nodes()
    elif step.tool == "quotas":
        result = box.quotas(namespace)
    elif step.tool == "network_policies":
        result = box.network_policies(namespace)
    elif step.tool == "autoscalers":
        result = box.autoscalers(namespace)
    elif tool == "prometheus_query":
        result = box.prometheus_query(getattr(step, "query", ""), namespace)
    else:
        result = ToolResult(tool=step.tool, status="not_found",
                            message=f"{step.tool} needs the name of an object")
    args: Json = {"namespace": namespace, "name": name or "", "kind": step.kind}
    if tool == "prometheus_query":
        args["query"] = getattr(step, "query", "")
    return Observation(tool=step.tool, args=args, text=redact_text(result.text(budget)),
                       status=result.status, chosen_by="model" if chosen_by == "model" else "plan")


def _pod_named(box: Toolbox, namespace: str, name: str) -> str:
    """`name` if it is a pod; else the first (most troubled) pod of the workload named so."""
    listed = box.pods(namespace)
    if any(p.name == name for p in listed.pods):
        return name
    pods = pods_of(box.cluster, {"kind": "Deployment", "namespace": namespace, "name": name})
    return str(pods[0]["metadata"]["name"]) if pods else name


def _events_of(box: Toolbox, target: Json, namespace: str, budget: int) -> Observation:
    """The events of the target and of its pods (`Pod/checkout-7d9f...` for `checkout`)."""
    result = box.events(namespace, limit=200)
    lines = result.text(10**6).splitlines()
    name = target["name"]
    mine = [ln for ln in lines[1:] if f"/{name} " in ln or f"/{name}-" in ln
            or f"/{name}:" in ln]
    text = redact_text("\n".join([lines[0], *(mine or [f"no events about {name}"])]))[:budget]
    return Observation(tool="events", args={"namespace": namespace, "name": name,
                                            "kind": target["kind"]},
                       text=text, status=result.status, chosen_by="plan")


def _what_changed(box: Toolbox, target: Json, namespace: str, budget: int) -> Observation:
    workload = target["name"]
    if target["kind"] == "Pod":
        workload = base_name(target["name"])
    if target["kind"] not in ("Deployment", "Pod"):
        lines = [f"revision history is only read for Deployments, not {target['kind']}"]
    else:
        lines = template_changes(box.cluster, namespace, workload)
    text = redact_text("[rollout_history] ok\n" + "\n".join(lines))[:budget]
    return Observation(tool="rollout_history", args={"namespace": namespace, "name": workload,
                                                     "kind": "Deployment"},
                       text=text, status="ok", chosen_by="plan")
