"""The graph's nodes, `(state, runtime) -> update`, and its one router.

scope -> investigate (loops while the model picks steps, within limits) -> analyze -> recall
-> compose. Each node reports progress on the custom stream; the `Agent` turns it into
`Progress` events for the interfaces.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from tools.refs import ObjectRef

from .. import engine
from ..diagnosis import Diagnosis, Target
from ..investigation import Progress, ProgressKind, Request
from . import prompts
from .composing import explained, with_observations
from .context import Context
from .followups import intent_of, is_follow_up, scope_json
from .investigating import plan, run
from .models import ask
from .schemas import next_step_schema
from .state import Json, State

Update = dict[str, Any]


def _say(runtime: Runtime[Context], kind: ProgressKind, step: str, detail: str = "") -> None:
    runtime.stream_writer(Progress(kind=kind, step=step, detail=detail).model_dump())


def scope(state: State, runtime: Runtime[Context]) -> Update:
    """Resolve the target from the request, the alert labels, or the previous turn."""
    _say(runtime, "step_started", "scope", "resolving the target")
    request = Request.model_validate(state["request"])
    cluster = runtime.context.cluster
    labels = " ".join(f"{k}={v}" for k, v in request.alert_labels.items())
    text = f"{request.question} {labels}".strip()
    intent = intent_of(request.question)
    fresh = engine.resolve(cluster, text, request.target, request.namespace)
    previous = state.get("scope")
    chosen = scope_json(fresh)
    if request.target is None and request.namespace is None and not labels and is_follow_up(
            request.question, intent, fresh, cluster.namespaces(), previous):
        chosen = dict(previous or {}, note=None)
        if chosen.get("target") is None and intent != "diagnose":  # "its previous logs"
            chosen["target"] = _root_of(state.get("diagnosis"))  # after a namespace's answer:
    target = chosen.get("target")  # its root cause
    where = (str(ObjectRef(target["kind"], target["namespace"], target["name"])) if target
             else chosen.get("unknown") or ", ".join(chosen.get("namespaces") or []) or "nothing")
    _say(runtime, "step_finished", "scope", where)
    return {"intent": intent, "scope": chosen, "steps": 0, "tokens": 0, "investigating": True,
            "model_reachable": True}


def _root_of(diagnosis: Json | None) -> Json | None:
    """The previous answer's root object as a scope's target, if it has one."""
    found = ((diagnosis or {}).get("root_cause") or {}).get("object")
    if not found:
        return None
    try:
        ref = ObjectRef.parse(found)
    except ValueError:
        return None
    return Target(kind=ref.kind, namespace=ref.namespace, name=ref.name).model_dump()


def investigate(state: State, runtime: Runtime[Context]) -> Update:
    """First the planned read-only calls; then, in model mode, one model-chosen call a visit."""
    context, steps = runtime.context, state.get("steps", 0)
    budget = context.limits.tool_budget
    if steps == 0:
        _say(runtime, "step_started", "investigate", "reading the target")
        observations, settled = plan(context.toolbox, state["intent"], state["scope"], budget,
                                     deep=context.model is not None)
        for o in observations:
            _say(runtime, "tool_called", "investigate", f"{o['tool']} {o['args'].get('name', '')}")
        more = context.model is not None and not state["scope"].get("unknown")
        if not more:
            _say(runtime, "step_finished", "investigate", f"{len(observations)} tool call(s)")
        return {"observations": observations, "scope": settled, "steps": 1,
                "investigating": more}
    limit = _limit_reached(state, context)
    if limit:
        _say(runtime, "step_finished", "investigate", limit)
        return {"investigating": False, "notes": [limit] if "time" in limit else []}
    assert context.model is not None
    seen = state.get("observations") or []
    metrics = context.metrics is not None
    reply = ask(context.model, context.provider, prompts.next_step(
        state["request"]["question"], state["scope"], seen,
        context.limits.max_steps - steps + 1, metrics=metrics), next_step_schema(metrics))
    tokens = state.get("tokens", 0) + reply.tokens
    step = reply.value
    done = step is None or step.tool == "done" or any(
        o["tool"] == step.tool and o["args"].get("name") == step.name
        and o["args"].get("query", "") == getattr(step, "query", "") for o in seen)
    if step is None or done:
        _say(runtime, "step_finished", "investigate", "enough evidence")
        notes = [f"investigation: {reply.problem}"] if reply.problem else []
        return {"investigating": False, "tokens": tokens, "notes": notes,
                "model_reachable": reply.reachable}
    namespace = _namespace(state)
    _say(runtime, "tool_called", "investigate", f"{step.tool} {step.name}".strip())
    observation = run(context.toolbox, step, namespace, budget, chosen_by="model")
    return {"observations": [observation], "steps": steps + 1, "tokens": tokens}


def _limit_reached(state: State, context: Context) -> str | None:
    if state.get("steps", 0) > context.limits.max_steps:
        return "step limit reached"
    if state.get("tokens", 0) >= context.limits.max_tokens * 2 // 3:  # a third for compose
        return "token limit reached"
    if context.remaining() <= 0:
        return "the turn's time ran out during the investigation"
    return None


def _namespace(state: State) -> str:
    target = state["scope"].get("target")
    if target and target.get("namespace"):
        return str(target["namespace"])
    return str((state["scope"].get("namespaces") or [""])[0])


def after_investigate(state: State) -> Literal["investigate", "analyze"]:
    return "investigate" if state.get("investigating") else "analyze"


def analyze(state: State, runtime: Runtime[Context]) -> Update:
    """The engine: every finding in scope, causes linked, the root ranked first."""
    _say(runtime, "step_started", "analyze", "running the diagnosis engine")
    question, found = state["request"]["question"], state["scope"]
    target = Target(**found["target"]) if found.get("target") else None
    if state["intent"] == "other_pod" and found.get("pod") and target is not None:
        target = Target(kind="Pod", namespace=target.namespace, name=found["pod"])
    diagnosis = engine.examine(runtime.context.cluster, question, engine.Scope(
        found.get("namespaces") or [], target, found.get("note"), found.get("unknown")),
        metrics=runtime.context.metrics)
    for finding in diagnosis.findings[:3]:
        _say(runtime, "finding", "analyze", f"{finding.object}: {finding.summary}")
    _say(runtime, "step_finished", "analyze",
         diagnosis.root_cause.object if diagnosis.root_cause else "no root cause")
    return {"diagnosis": diagnosis.model_dump(mode="json")}


def recall(state: State, runtime: Runtime[Context]) -> Update:
    """Runbooks for the diagnosis, from the recall held in the context."""
    _say(runtime, "step_started", "recall", "looking up runbooks")
    diagnosis = Diagnosis.model_validate(state["diagnosis"])
    runbooks = runtime.context.recall(diagnosis) if diagnosis.healthy is False else []
    _say(runtime, "step_finished", "recall", f"{len(runbooks)} runbook(s)")
    return {"diagnosis": diagnosis.model_copy(update={"runbooks": runbooks})
            .model_dump(mode="json")}


def compose(state: State, runtime: Runtime[Context]) -> Update:
    """The turn's answer: follow-up evidence, the model's vetted explanation, the notes."""
    _say(runtime, "step_started", "compose", "writing the answer")
    question = state["request"]["question"]
    observations = state.get("observations") or []
    diagnosis = with_observations(Diagnosis.model_validate(state["diagnosis"]), state["intent"],
                                  observations)
    notes: list[str] = []
    tokens = 0
    if state.get("model_reachable", True):
        diagnosis, notes, tokens = explained(runtime.context, question, diagnosis,
                                             observations, state.get("tokens", 0))
    diagnosis = diagnosis.model_copy(update={
        "notes": [*diagnosis.notes, *(state.get("notes") or []), *notes]})
    root = diagnosis.root_cause
    _say(runtime, "step_finished", "compose", root.object if root else "done")
    turn = {"question": question[:200], "target": state["scope"].get("target"),
            "root_cause": root.object if root else None}
    return {"diagnosis": diagnosis.model_dump(mode="json"), "history": [turn],
            "tokens": state.get("tokens", 0) + tokens}
