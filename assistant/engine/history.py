"""What a question quotes that is history: restarts that ended long ago, errors the app logged
before it said it recovered ("Drive ... is back online"). Asked about those, the answer is
"healthy now", with when they happened, not "could not tell" (a healthy cluster with scary logs).

Only what the question itself quotes counts: a word of an old error line, or restarts when it
speaks of restarts. An old recovered error never answers "why is checkout failing?".
"""

from __future__ import annotations

import re
from datetime import datetime

from knowledge.symptoms import Intent
from tools import Obj
from tools.logs import is_error_line
from tools.refs import ObjectRef
from tools.summaries import meta, parse_time

from .pod_issues import running_ready
from .reading import what_logs_say
from .recovery import RECOVERED, logged_at
from .relevance import target_pods
from .scoping import Scope
from .view import ClusterView
from .workloads import workload_ref

OLD_SECONDS = 3600  # a restart that ended an hour ago, the container running since, is history
# symptoms that show as restarts or log lines
_SHOWN = {"crash", "errors", "network", "timeouts", "storage", "dns", "node"}
_RESTARTS = re.compile(r"\b(?:restart\w*|crash\w*|bounc\w*|oom\w*|reboot\w*)\b")
_WORDS = re.compile(r"[a-z][a-z0-9-]{3,}")
_PLAIN = {"error", "errors", "logs", "full", "everywhere", "again", "still", "these", "those",
          "what", "why", "with", "from", "have", "does", "this", "that", "there", "seeing",
          "getting", "pods", "pod", "namespace", "cluster", "failing", "failed", "fails",
          "failure", "broken", "down", "healthy", "okay", "losing", "lost", "data", "check"}


def history(view: ClusterView, scope: Scope, intent: Intent) -> list[str]:
    """What the question asks about, told as history ("minio-1: 6 restarts, the last 3d ago"),
    or nothing when any of it is current or the question quotes none of it."""
    if not intent.symptoms or not set(intent.symptoms) <= _SHOWN:
        return []
    pods = target_pods(view, scope.target) if scope.target else view.items("Pod")
    if not pods or not all(running_ready(p) for p in pods):
        return []
    told: list[str] = []
    restarts = _old_restarts(view, pods, recent=True)
    if restarts is None:  # one restarted within the hour: that is not history
        return []
    if restarts and _RESTARTS.search(intent.text):
        told.append(f"the restarts are old ({restarts})")
    elif _RESTARTS.search(intent.text) and (renewed := _new_pods(view, pods)):
        told.append(renewed)
    said = [s for s in what_logs_say(view, pods) if not s.previous]
    if any(not s.over for s in said):
        return []
    quoted = {_singular(w) for w in _WORDS.findall(intent.text)} - _PLAIN - _names(view, pods)
    for item in said:
        if quoted & {_singular(w) for w in _WORDS.findall(item.match.line.lower())}:
            told.append(f"{meta(item.pod)['name']} logged \"{item.match.line.strip()[:160]}\" "
                        "and recovered after it")
            break
    if not said and not told:
        told += _quoted_and_recovered(view, pods, intent.text, quoted)
    if not told and (rolled := _rolled(view, pods, quoted)):
        told.append(rolled)
    return told


SETTLE_SECONDS = 300  # after the last new pod is ready, a rolling update's errors have ended
_BELOW_ERROR = re.compile(r"\[(?:info|notice|warn|warning|debug)\]|"
                          r"\blevel=(?:info|warn|warning|debug)\b|"
                          r"\b(?:INFO|NOTICE|WARN|WARNING|DEBUG)\b")
_REVISION = ("controller-revision-hash", "pod-template-hash")


def _rolled(view: ClusterView, pods: list[Obj], quoted: set[str]) -> str | None:
    """A rolling update that replaced every pod, with the errors the question quotes logged
    while it ran and no error since: a broker's "node down" and "connection refused" while its
    nodes restart one by one are history once the last new pod is ready. Times are compared on
    the logs' own clock: each log starts when its pod did, and became ready as long after."""
    revisions = {(meta(p).get("labels") or {}).get(key) for p in pods for key in _REVISION
                 if (meta(p).get("labels") or {}).get(key)}
    created = [_started(p) for p in pods]
    if len(pods) < 2 or len(revisions) != 1 or None in created or any(
            (view.age_seconds(c.isoformat()) or 0) > NEW_SECONDS for c in created if c):
        return None
    logs = []
    for pod, born in zip(pods, created, strict=True):
        ready = _ready_at(pod)
        for container in (pod.get("spec") or {}).get("containers") or []:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            began = logged_at(log.head[0].text) if log and log.head else None
            if log is not None and began is not None and ready is not None and born:
                logs.append((log, began + (ready - born).total_seconds()))
    if not logs:
        return None
    settled = max(ready for _, ready in logs) + SETTLE_SECONDS
    during = False
    for log, _ in logs:
        lines = [*log.errors, *log.head, *log.tail]
        after = min((line.number for line in lines
                     if (logged_at(line.text) or 0) > settled), default=None)
        for line in log.errors:
            if _BELOW_ERROR.search(line.text):
                continue
            if after is not None and max(line.number, line.last) >= after:
                return None  # an error after the rollout settled: not history
            during = during or bool(quoted & {_singular(w) for w in
                                              _WORDS.findall(line.text.lower())})
    if not during:
        return None
    first = min(c for c in created if c)
    return (f"the errors came while a rolling update replaced the {len(pods)} pods (the first "
            f"new one {_ago(view, first)}), and no error was logged once the last was ready; every "
            "pod runs one revision since")


def _started(pod: Obj) -> datetime | None:
    """When the pod started (its status' startTime; else when it was created)."""
    return parse_time((pod.get("status") or {}).get("startTime")) or parse_time(
        meta(pod).get("creationTimestamp"))


def _ready_at(pod: Obj) -> datetime | None:
    """When a running, ready pod last became ready."""
    if not running_ready(pod):
        return None
    return next((parse_time(c.get("lastTransitionTime")) for c in
                 (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready" and c.get("status") == "True"), None)


def _ago(view: ClusterView, when: datetime) -> str:
    age = view.age_seconds(when.isoformat()) or 0
    return f"{int(age // 3600)}h ago" if age >= 3600 else f"{int(age // 60)}m ago"


_DONE = re.compile(r"\b(?:succeeded|completed|sent|delivered|published)\b", re.IGNORECASE)
MAX_WORKER_PODS = 10


def tasks_resumed(view: ClusterView, intent: Intent) -> str | None:
    """"Are the report emails still going out?": a worker the question names by a word of its
    name (superset-worker) that logged the task it asks about succeeding (`Task
    reports.execute[...] succeeded`) after its last error; its output goes out again."""
    if not intent.wants("missing_output"):
        return None
    asked = {_singular(w) for w in _WORDS.findall(intent.text)} - _PLAIN
    workers = [p for p in view.everywhere("Pod") if running_ready(p)
               and asked & {_singular(w) for w in meta(p)["name"].split("-")}]
    for pod in workers[:MAX_WORKER_PODS]:
        for container in (pod.get("spec") or {}).get("containers") or []:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            lines = log.tail if log is not None else []
            last = max((i for i, line in enumerate(lines) if is_error_line(line.text)
                        and not RECOVERED.search(line.text)), default=-1)
            done = [line.text for line in lines[last + 1:] if _DONE.search(line.text) and asked
                    & {_singular(w) for w in re.findall(r"[a-z][a-z0-9]{3,}", line.text.lower())}]
            if done:
                return (f"{meta(pod)['name']} logged \"{done[-1].strip()[:160]}\""
                        + (" after its last error" if last >= 0 else ""))
    return None


def _singular(word: str) -> str:
    """A word without its plural s ("connections" is quoted from "connection refused")."""
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


_QUOTED = re.compile(r"['\"“‘]([^'\"”’]{12,120})['\"”’]")


def _quoted_and_recovered(view: ClusterView, pods: list[Obj], text: str,
                          words: set[str]) -> list[str]:
    """A line the question quotes word for word ('heartbeat failed since group is
    rebalancing'), or an error line holding two of its words ("fluent-bit spamming failed to
    flush chunk": `failed to flush chunk '1-17...'`), which a pod logged and then logged that it
    recovered after ("flush chunk ... succeeded at retry 1")."""
    quotes = [q.lower() for q in _QUOTED.findall(text)]

    def told(line: str) -> bool:
        lowered = line.lower()
        return any(q in lowered for q in quotes) or (
            not quotes and is_error_line(line) and not RECOVERED.search(line)
            and len(words & {_singular(w) for w in _WORDS.findall(lowered)}) >= 2)

    for pod in pods[:MAX_QUOTED_PODS] if quotes or len(words) >= 2 else []:
        for container in (pod.get("spec") or {}).get("containers") or []:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            lines = [line.text for line in (log.tail if log else [])]
            hit = max((i for i, line in enumerate(lines) if told(line)), default=None)
            if hit is not None and any(RECOVERED.search(line) for line in lines[hit + 1:]):
                return [f"{meta(pod)['name']} logged \"{lines[hit].strip()[:160]}\" and said it "
                        "recovered after it"]
    return []


MAX_QUOTED_PODS = 10


def _names(view: ClusterView, pods: list[Obj]) -> set[str]:
    """Pod and workload names: naming the thing asked about quotes none of its log lines."""
    names = {meta(p)["name"] for p in pods} | {ObjectRef.parse(workload_ref(view, p)).name
                                               for p in pods}
    return {part for name in names for part in [name, *name.split("-")]}


def _new_pods(view: ClusterView, pods: list[Obj]) -> str | None:
    """Pods asked about as "restarted" that never restarted: they are new (a node drained or
    scaled down, a rollout), running and ready since they were created."""
    told = []
    for pod in pods:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        age = view.age_seconds(meta(pod).get("creationTimestamp"))
        if statuses and not any(s.get("restartCount") for s in statuses) and \
                age is not None and age < NEW_SECONDS:
            told.append(f"{meta(pod)['name']} has not restarted: it is a new pod, created "
                        f"{int(age // 60)}m ago, running and ready since")
    return "; ".join(told[:3]) or None


NEW_SECONDS = 6 * 3600  # a pod this young that never restarted was (re)created, not restarted


def healthy_checks(view: ClusterView) -> list[str]:
    """What a "healthy" answer checked, in words, with the restarts it saw and when."""
    pods = view.items("Pod")
    owners = sorted({ObjectRef.parse(workload_ref(view, p)).name for p in pods})
    checked = [f"{len(pods)} pods checked: none crash-looping, pending or unready"
               + (f" ({', '.join(owners[:6])}{', ...' if len(owners) > 6 else ''})"
                  if owners else ""),
               f"{len(view.items('Node'))} nodes checked: all Ready, no pressure",
               "no warning event newer than the pods' last restart"]
    old = _old_restarts(view, pods)
    if old:
        checked.append(f"restarts seen are old: {old}")
    return checked


def _old_restarts(view: ClusterView, pods: list[Obj], recent: bool = False) -> str | None:
    """The pods that restarted, with when they last did ("minio-1: 6, the last 3d ago");
    with `recent`, None when one did within OLD_SECONDS."""
    told = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            count = status.get("restartCount") or 0
            ended = ((status.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            age = view.age_seconds(ended)
            if count and recent and (age is None or age < OLD_SECONDS):
                return None
            if count and age is not None:
                when = f"{int(age // 86400)}d" if age >= 86400 else f"{int(age // 3600)}h" \
                    if age >= 3600 else f"{int(age // 60)}m"
                told.append(f"{meta(pod)['name']}: {count}, the last {when} ago")
    return "; ".join(told[:4]) + ("; ..." if len(told) > 4 else "")
