"""The answer of a turn: the engine's `Diagnosis`, plus what the turn's own tool calls showed
(previous logs, what changed, the other pod), plus, in model mode, the model's explanation once
it has passed vetting. Without a model, or when the model fails, templates write the summary.
"""

from __future__ import annotations

import re

from tools.logs import is_error_line
from tools.refs import ObjectRef

from ..diagnosis import Diagnosis, Evidence, Excerpt, Reply, ReplyKind
from ..rendering import verdict_line
from . import prompts
from .context import Context
from .models import ask
from .schemas import Explanation
from .state import Intent, Observation
from .vetting import quotable, scope_of, vet_remediation, vet_summary

_HEADER = re.compile(r"^(error lines|first lines|last lines|events):$|^\d+ lines?, |^\[")
_SOURCE = {"logs": "log", "previous_logs": "log", "rollout_history": "spec", "events": "event",
           "describe": "status", "nodes": "node"}


def observed_evidence(observations: list[Observation]) -> list[Evidence]:
    """Evidence items from the turn's tool calls: error lines first, a few per call."""
    found: list[Evidence] = []
    for o in observations:
        if o["status"] != "ok" or o["tool"] not in _SOURCE:
            continue
        args = o["args"]
        kind = "Deployment" if o["tool"] == "rollout_history" else (
            "Pod" if o["tool"] in ("logs", "previous_logs") else args.get("kind", "Pod"))
        ref = str(ObjectRef(kind, args.get("namespace"), args.get("name") or "-"))
        lines = [ln.strip() for ln in o["text"].splitlines()[1:]
                 if ln.strip() and not _HEADER.match(ln.strip())]
        if o["tool"] == "describe":
            lines = [ln.split(": ", 1)[-1] if ln.startswith(ref) else ln for ln in lines[:2]]
        if o["tool"] in ("logs", "previous_logs"):
            errors = [ln for ln in lines if is_error_line(ln)]
            lines = errors[:3] or lines[-2:] or ["(empty log)"]
            prefix = "previous log: " if o["tool"] == "previous_logs" else "log: "
            lines = [prefix + ln for ln in lines]
        found += [Evidence(source=_SOURCE[o["tool"]], object=ref,  # type: ignore[arg-type]
                           detail=ln[:300]) for ln in lines[:5]]
    return found


def with_observations(diagnosis: Diagnosis, intent: Intent,
                      observations: list[Observation]) -> Diagnosis:
    """The answer to a follow-up: what it asked for (`reply`: logs as they are, events, a
    describe, what changed, the other pod) first, a short reference back to the diagnosis,
    and what the looks found added to the evidence. A diagnosis question passes unchanged."""
    if intent == "diagnose":
        return diagnosis
    planned = [o for o in observations if o["chosen_by"] == "plan"]
    reply = reply_of(diagnosis, intent, planned)
    extra = observed_evidence(planned)
    notes = diagnosis.notes if reply.excerpts else [*diagnosis.notes, reply.heading]
    return diagnosis.model_copy(update={
        "summary": f"{reply.heading}. {reply.about}", "reply": reply, "notes": notes,
        "evidence": [*extra, *[e for e in diagnosis.evidence if e not in extra]]})


_KINDS: dict[str, ReplyKind] = {"previous_logs": "previous_logs", "logs": "logs",
                                "events": "events", "describe": "describe",
                                "what_changed": "changes", "other_pod": "comparison"}
_MISSING = {"previous_logs": "No previous container log could be read",
            "logs": "No container log could be read",
            "events": "No events could be read", "describe": "It could not be described",
            "what_changed": "The revision history could not be read",
            "other_pod": "There is no other pod of this workload"}
_LOG_HEAD = re.compile(r"^\[logs\] \w+: (previous log|log) of ([^/]*)/([^/]*)/(.*)$")


def reply_of(diagnosis: Diagnosis, intent: Intent, planned: list[Observation]) -> Reply:
    """What the planned looks of a follow-up showed, each as it is, with a heading."""
    excerpts: list[Excerpt] = []
    for o in planned:
        head, _, body = o["text"].partition("\n")
        if o["status"] != "ok":
            continue
        args = o["args"]
        log = _LOG_HEAD.match(head)
        if log:
            previous, namespace, pod, container = (log.group(1) == "previous log", log.group(2),
                                                   log.group(3), log.group(4))
            title = (f"previous log of container {container} in pod {pod} (the run before "
                     "its last restart)" if previous
                     else f"current log of container {container} in pod {pod}")
            excerpts.append(Excerpt(object=str(ObjectRef("Pod", namespace, pod)), title=title,
                                    text=body or "(empty log)"))
            continue
        kind = args.get("kind") or "Pod"
        title = {"events": "events", "describe": "describe", "rollout_history":
                 "revision history"}.get(o["tool"], o["tool"])
        excerpts.append(Excerpt(object=f"{kind}/{args.get('namespace') or '-'}/"
                                       f"{args.get('name') or '-'}",
                                title=f"{title} of {kind} {args.get('name')}",
                                text=body or "(nothing)"))
    cause = diagnosis.root_cause
    about = f"About the diagnosis: {verdict_line(diagnosis)}" + (
        f"; {cause.explanation}" if cause else "")
    return Reply(kind=_KINDS[intent], heading=_heading(intent, excerpts), excerpts=excerpts,
                 about=about)


def _heading(intent: Intent, excerpts: list[Excerpt]) -> str:
    if not excerpts:
        return _MISSING[intent]
    first = excerpts[0]
    name = ObjectRef.parse(first.object).name
    container = first.title.split(" in pod ")[0].split("container ")[-1]
    if intent in ("previous_logs", "logs") and first.object.startswith("Pod/"):
        if first.title.startswith("previous"):
            return f"Previous logs: {name}, container {container}"
        if intent == "previous_logs":
            return (f"No previous log: {name} has not restarted (or no earlier run was kept); "
                    f"the current log of container {container} instead")
        return f"Logs: {name}, container {container} (current)"
    lead = {"events": "Events", "describe": "Describe", "logs": "Logs",
            "what_changed": "What changed", "other_pod": "The other pod"}[intent]
    return f"{lead}: {name}"


def explained(context: Context, question: str, diagnosis: Diagnosis,
              observations: list[Observation], spent: int) -> tuple[Diagnosis, list[str], int]:
    """The model's explanation, vetted; the offline answer and a note when it fails."""
    if context.model is None:
        return diagnosis, [], 0
    if spent >= context.limits.max_tokens:
        return diagnosis, ["the model was not asked: the turn's token limit was reached"], 0
    if context.remaining() <= 1:
        return diagnosis, ["the model was not asked: the turn's time ran out"], 0
    evidence = [*diagnosis.evidence,
                *[e for e in observed_evidence(observations) if e not in diagnosis.evidence]]
    reply = ask(context.model, context.provider, prompts.explain(question, diagnosis, evidence),
                Explanation)
    if reply.value is None:
        return diagnosis, [f"offline answer: {reply.problem}"], reply.tokens
    answer, notes = reply.value, []
    scope = scope_of(context.cluster, diagnosis.root_cause, diagnosis.target)
    remediation, refused = vet_remediation(answer.remediation, scope)
    if refused:
        notes.append(f"dropped {len(refused)} proposed step(s) of the model that are not allowed "
                     "(only read-only or human-applied kubectl verbs on the root object): "
                     + "; ".join(r for r in dict.fromkeys(refused) if quotable(r)))
    problem = vet_summary(answer, len(evidence), diagnosis.root_cause, diagnosis.target, scope)
    if problem is not None:
        unquotable = problem not in ("it cites no evidence item", "it does not name the root "
                                     "object")  # a URL or a command is not repeated, even here
        quoted = "" if unquotable else f": {answer.summary[:300]}"
        notes.append(f"unsupported claim of the model, not shown as fact ({problem}){quoted}")
        summary, cited = diagnosis.summary, []
    else:
        summary = answer.summary.strip()
        cited = sorted({i for i in answer.cites if 1 <= i <= len(evidence)})
    ordered = [evidence[i - 1] for i in cited] + [e for i, e in enumerate(evidence, 1)
                                                  if i not in cited]
    merged = [*diagnosis.remediation,
              *[r for r in remediation if r.command not in {m.command for m in
                                                            diagnosis.remediation}]]
    return diagnosis.model_copy(update={"summary": summary, "evidence": ordered[:14],
                                        "remediation": merged}), notes, reply.tokens
