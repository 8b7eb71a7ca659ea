"""Follow-up questions in a conversation: what a turn asks for, and which target it means.

"and the other pod?", "show me its previous logs", "what changed?" name no target: they mean the
previous turn's. The scope travels in the graph state, kept by the checkpointer per thread.
"""

from __future__ import annotations

import re
from typing import Any

from tools import Cluster, Forbidden, Kind, KindUnavailable, NotFound
from tools.ownership import pods_of as owned_pods
from tools.ownership import top_owner
from tools.summaries import meta

from ..engine import Scope
from .state import Intent, Json

_PREVIOUS = re.compile(r"\bprevious\b.*\blogs?\b|\blogs?\b.*\b(previous|last run|before)\b"
                       r"|\bbefore (it|the) (crash|restart)", re.I)
_CHANGED = re.compile(r"\bwhat('s| has| did)? changed?\b|\bwhat changed\b|\brollout history\b"
                      r"|\bdiff\b|\brecent (change|deploy|rollout)", re.I)
_OTHER = re.compile(r"\b(the )?other (pod|one|replica)s?\b|\banother pod\b|\bcompare\b"
                    r"|\bcomparison\b", re.I)
_ASKS = r"\b(show|give|get|print|see|display|fetch|paste|list|read|what are|tail)\b.*"
_LOGS = re.compile(_ASKS + r"\blogs?\b|^\s*(and )?(its |the )?logs?\b", re.I)
_EVENTS = re.compile(_ASKS + r"\bevents?\b|^\s*(and )?(its |the )?events?\b", re.I)
_DESCRIBE = re.compile(r"\bdescribe\b|" + _ASKS + r"\b(spec|yaml|manifest)\b", re.I)
_PRONOUN = re.compile(r"\b(it|its|it's|that|this|they|them|their|same)\b", re.I)


def intent_of(question: str) -> Intent:
    if _PREVIOUS.search(question):
        return "previous_logs"
    if _CHANGED.search(question):
        return "what_changed"
    if _OTHER.search(question):
        return "other_pod"
    if _LOGS.search(question):
        return "logs"
    if _EVENTS.search(question):
        return "events"
    if _DESCRIBE.search(question):
        return "describe"
    return "diagnose"


def scope_json(scope: Scope, pod: str | None = None) -> Json:
    return {"namespaces": scope.namespaces,
            "target": scope.target.model_dump() if scope.target else None,
            "note": scope.note, "unknown": scope.unknown, "pod": pod}


def is_follow_up(question: str, intent: Intent, fresh: Scope, known: list[str],
                 previous: Json | None) -> bool:
    """The question names nothing of its own and reads as a continuation of the last turn."""
    if not previous or previous.get("unknown") or not previous.get("namespaces"):
        return False
    if fresh.unknown:
        return False
    if fresh.target is not None and (intent == "diagnose" or not fresh.note):
        return False  # it names a target (a near-miss guess does not count for a follow-up ask)
    named_namespace = sorted(fresh.namespaces) != sorted(known)
    if named_namespace:
        return False
    return intent != "diagnose" or bool(_PRONOUN.search(question)) or len(question) < 24


def pods_of(cluster: Cluster, target: Json) -> list[Json]:
    """The pods of a target, by their owner references (for a pod: itself, then the other pods
    of its workload), failing and restarting first."""
    namespace, name, kind = target["namespace"], target["name"], target["kind"]

    seen: dict[tuple[Kind, str], Json | None] = {}

    def find(kind: Kind, name: str, namespace: str | None) -> Json | None:
        if (kind, name) not in seen:  # each owner is read once, not once per pod
            try:
                seen[kind, name] = cluster.get(kind, name, namespace)
            except NotFound:
                seen[kind, name] = None
        return seen[kind, name]

    try:
        if kind == "Pod":
            pod = find("Pod", name, namespace)
            owner = top_owner(pod, find) if pod is not None else None
            if pod is None or owner is None:
                return [pod] if pod is not None else []
            return [pod, *(p for p in cluster.list("Pod", namespace)
                           if meta(p)["name"] != name and top_owner(p, find) == owner)]
        workload = find(kind, name, namespace)
        return sorted(owned_pods(kind, workload, cluster.list), key=_trouble) if workload else []
    except (NotFound, KindUnavailable, Forbidden):
        return []


def other_pod(cluster: Cluster, target: Json, seen: str | None) -> str | None:
    """A pod of the same workload other than the one already discussed (at first, the most
    troubled one, which the diagnosis was about)."""
    pods = pods_of(cluster, target)
    if seen is None and target["kind"] != "Pod":
        seen = str(meta(pods[0])["name"]) if pods else None
    for pod in pods:
        name = str(meta(pod)["name"])
        if name != seen and name != (target["name"] if target["kind"] == "Pod" else None):
            return name
    return None


def _trouble(pod: dict[str, Any]) -> tuple[int, str]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ready = all(s.get("ready") for s in statuses) and bool(statuses)
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    return (0 if not ready else 1, f"{1_000_000 - restarts:07d}{meta(pod)['name']}")
