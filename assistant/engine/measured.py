"""Numbers as evidence: once per investigation, the PromQL of the question's symptom plan
(knowledge/promql.yaml) asked of Prometheus, or of a snapshot's series, for the workload the
answer is about.

    diagnosis = with_numbers(view, intent, scope, diagnosis)

Each number becomes evidence (source "metrics") with its query. A number at or past its concern
level is said in the summary and, when it measures the root cause itself (the throttled ratio of
a CPU limit, the working set of an OOMKilled container), raises the confidence; a calm number
under a spec-based throttling cause lowers it. Without Prometheus, or without series, the answer
says what it could not see; silence is never read as "healthy".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from knowledge.metrics import (
    SYMPTOMS,
    MetricEvidence,
    expression_of_alert,
    metric_evidence,
    queries_for,
)
from knowledge.symptoms import Intent
from tools import Metrics
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Diagnosis, Evidence, Finding, RootCause, Target
from .pod_issues import pod_ref
from .relevance import target_pods
from .remedies import propose
from .scoping import Scope
from .view import ClusterView
from .workloads import SEVERITY, workload_ref

# Symptom classes of knowledge/symptoms.yaml read as the library's: a timeout is a latency.
_AS = {"timeouts": "latency"}
# What a root cause's own numbers are: the throttled ratio of a CPU limit, the memory of an OOM.
_OF_ROOT = {"cpu_throttling": "throttling", "oom_killed": "memory", "hpa_limited": "not_scaling"}
# "errors" is named by words as loose as "failing": only a question about error rates or 5xx
# asks for the 5xx ratio (a crash loop's answer does not need it).
_RATES = re.compile(r"\b5\d\d|5xx|error rate|\berrors\b|status code")
_WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Pod", "ReplicaSet", "Job")
_SHOWN = 6  # metric evidence items kept in the answer, the concerning first
_SAID = 2  # concerning readings said in the summary


@dataclass(frozen=True)
class Subject:
    """What the numbers are read for: a workload and its pods (or a namespace's pods)."""

    kind: str
    namespace: str
    name: str
    pods: tuple[str, ...]
    containers: tuple[str, ...] = ()


@dataclass
class Measured:
    evidence: list[MetricEvidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "could not see: ..."
    symptoms: list[str] = field(default_factory=list)  # the plans asked

    @property
    def concerning(self) -> list[MetricEvidence]:
        return [e for e in self.evidence if e.concerning]


def measure(metrics: Metrics | None, symptoms: Sequence[tuple[str, Subject]],
            alert_expression: str | None = None) -> Measured:
    """The numbers of each (symptom, subject) plan, once per query, and what could not be read:
    `could not see: <question> without Prometheus` when `metrics` is None."""
    measured = Measured(symptoms=[s for s, _ in symptoms])
    asked: set[tuple[str, str, str]] = set()  # (question, object, reading) already kept
    missing: list[str] = []
    unseries: dict[str, str] = {}  # question -> the metrics without a series
    failed: dict[str, list[str]] = {}  # Prometheus' error -> the questions it left unanswered
    down: str | None = None  # the error of a Prometheus that answered no query of a plan
    for number, (symptom, subject) in enumerate(symptoms):
        if down is not None:  # asking again would fail the same way, each after its timeout
            failed[down] += [q.question for q in queries_for(symptom)
                             if q.question not in failed[down]]
            continue
        answer = metric_evidence(metrics, symptom, subject.namespace, subject.name,
                                 subject.pods, subject.containers, kind=subject.kind,
                                 alert_expression=alert_expression if number == 0 else None)
        for item in answer.evidence:
            key = (item.question, item.object, item.reading)
            if key not in asked:
                asked.add(key)
                measured.evidence.append(item)
        if metrics is None:
            missing += [q.question for q in queries_for(symptom)]
            continue
        for why in answer.unanswered:
            question, _, reason = why.partition(": no series of ")
            if reason:
                unseries.setdefault(question, reason.removesuffix(" for these pods"))
            else:  # Prometheus' own error: one note per error, naming every question it hid
                question, _, error = why.partition(": ")
                failed.setdefault(error, [])
                if question not in failed[error]:
                    failed[error].append(question)
        measured.notes += [f"metrics: {note}" for note in answer.notes]
        errors = {why.partition(": ")[2] for why in answer.unanswered}
        if not answer.answered and len(errors) == 1 and errors <= set(failed):
            down = errors.pop()
    if missing:
        said = list(dict.fromkeys(missing))
        measured.notes.append(f"could not see: {_listed(said)} without Prometheus "
                              "(SRE_PROMETHEUS__URL is not set)")
    if unseries:
        names = dict.fromkeys(n for r in unseries.values() for n in r.split(" / "))
        measured.notes.append(f"could not see: {_listed(list(unseries))} (no series of "
                              f"{', '.join(names)} for these pods)")
    measured.notes += [f"could not see: {_listed(questions)}: {error}"
                       for error, questions in failed.items()]
    measured.evidence.sort(key=lambda e: not e.concerning)  # stable: the library's order
    return measured


def with_numbers(view: ClusterView, intent: Intent, scope: Scope,
                 diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis with the numbers its symptoms need (or the note that they are missing)."""
    if scope.unknown:
        return diagnosis
    plans = _plans(view, intent, scope, diagnosis)
    if not plans:
        return diagnosis
    expression = None
    if intent.alerts and view.metrics is not None:
        expression = expression_of_alert(view.metrics, intent.alerts[0])
    measured = measure(view.metrics, plans, expression)
    return _attached(_measured_cause(view, scope, diagnosis, measured) or diagnosis, measured)


_CONTAINER = re.compile(r"^container (\S+) of pod ")


def _measured_cause(view: ClusterView, scope: Scope, diagnosis: Diagnosis,
                    measured: Measured) -> Diagnosis | None:
    """The cause only the numbers show: a question nothing in the spec or status explains
    (no root, no verdict) whose pods are throttled past concern. Their CPU limit is the cause
    (the kernel throttles only a container with a CPU quota), the throttled ratio its evidence."""
    if diagnosis.healthy is not None or diagnosis.root_cause is not None:
        return None
    throttled = [e for e in measured.concerning if e.question == "throttling"]
    found = _CONTAINER.match(throttled[0].reading) if throttled else None
    shown = ObjectRef.parse(throttled[0].object) if throttled else ObjectRef("", "", "")
    namespace = shown.namespace_text
    pod = view.find("Pod", shown.name, namespace) if shown.kind == "Pod" else None
    if found is None or pod is None:
        return None
    container = found.group(1)
    limit = next((str(((c.get("resources") or {}).get("limits") or {}).get("cpu") or "")
                  for c in (pod.get("spec") or {}).get("containers") or []
                  if c.get("name") == container), "") or "its CPU limit"
    owner = workload_ref(view, pod)
    short = ObjectRef.parse(owner).name
    share = f"{throttled[0].value:.0%}"
    finding = Finding(
        category="cpu_throttling", object=owner,
        summary=f"{short}: {container} throttled in {share} of its CPU periods (limit {limit})",
        explanation=(f"the container {container} of {short} may use at most {limit} of CPU "
                     f"(limits.cpu), and the kernel throttled it in {share} of its CPU periods "
                     "over the last 5 minutes (CFS quota): it stays Ready but answers slowly"),
        evidence=[Evidence(source="spec", object=pod_ref(pod),
                           detail=f"container {container}: limits.cpu {limit}")],
        confidence=0.85, impact=SEVERITY["cpu_throttling"], related=[pod_ref(pod)])
    finding.facts = {"container": container, "cpu_limit": limit}
    finding.remediation = propose(finding)
    where = (f"{scope.target.kind} {scope.target.name} in {scope.target.namespace}"
             if scope.target else f"namespace {namespace}")
    return Diagnosis(
        question=diagnosis.question, target=diagnosis.target, healthy=False,
        summary=f"{where}: {finding.summary}. Root cause: {finding.explanation}.",
        root_cause=RootCause(category=finding.category, object=owner,
                             explanation=finding.explanation),
        evidence=list(finding.evidence), remediation=finding.remediation,
        confidence=finding.confidence, ruled_out=diagnosis.ruled_out,
        findings=[finding, *diagnosis.findings],
        notes=[n for n in diagnosis.notes if not n.startswith(("next: ", "not visible: "))])


def _plans(view: ClusterView, intent: Intent, scope: Scope,
           diagnosis: Diagnosis) -> list[tuple[str, Subject]]:
    asked = [_AS.get(s, s) for s in intent.symptoms]
    asked = [s for s in dict.fromkeys(asked) if s in SYMPTOMS
             and (s != "errors" or _RATES.search(intent.text))]
    plans: list[tuple[str, Subject]] = []
    focus = _subject(view, scope.target) if scope.target is not None else None
    root = diagnosis.root_cause
    at_root = _subject(view, _target(root.object)) if root is not None else None
    for symptom in asked:
        subject = focus or at_root or _namespace_subject(view, scope)
        if subject is not None:
            plans.append((symptom, subject))
    if view.metrics is not None and root is not None and at_root is not None and \
            root.category in _OF_ROOT:  # the root's own numbers, when there are any to read
        plan = (_OF_ROOT[root.category], at_root)
        if plan not in plans:
            plans.append(plan)
    return plans


def _target(ref: str) -> Target | None:
    if ref.count("/") != 2:
        return None
    parsed = ObjectRef.parse(ref)
    if parsed.kind not in _WORKLOADS and parsed.kind != "HorizontalPodAutoscaler":
        return None
    return Target(kind=parsed.kind, namespace=parsed.namespace, name=parsed.name)


def _subject(view: ClusterView, target: Target | None) -> Subject | None:
    if target is None or target.namespace is None:
        return None
    pods = tuple(sorted(meta(p)["name"] for p in target_pods(view, target)))
    if target.kind == "HorizontalPodAutoscaler":
        return Subject("HorizontalPodAutoscaler", target.namespace, target.name, pods)
    return Subject(target.kind, target.namespace, target.name, pods)


def _namespace_subject(view: ClusterView, scope: Scope) -> Subject | None:
    if len(scope.namespaces) != 1:
        return None
    namespace = scope.namespaces[0]
    pods = tuple(sorted(meta(p)["name"] for p in view.items("Pod", namespace)))
    return Subject("Namespace", namespace, namespace, pods) if pods else None


def _attached(diagnosis: Diagnosis, measured: Measured) -> Diagnosis:
    items = measured.evidence[:_SHOWN]
    shown = [Evidence(source="metrics", object=_shown_object(e.object), detail=e.detail)
             for e in items]
    base = list(diagnosis.evidence)
    evidence = [*base[:1], *shown, *base[1:]]
    seen = [u for u in _UNSEEN_BY if any(e.question == _UNSEEN_BY[u] for e in measured.evidence)]
    summary = diagnosis.summary
    for unseen in seen:  # what the plan said it could not see, and the numbers now show
        summary = summary.replace(f"{unseen}, ", "").replace(f", {unseen}.", ".").replace(
            f" Not visible to me: {unseen}.", "")
    notes = [*(n for n in diagnosis.notes if n.removeprefix("not visible: ") not in seen),
             *(n for n in measured.notes if n not in diagnosis.notes)]
    update: dict[str, object] = {"evidence": evidence, "notes": notes, "summary": summary}
    concerning = _headline(measured)
    if concerning:
        update["summary"] = (summary.rstrip() + " Measured: "
                             + "; ".join(e.reading for e in concerning) + ".")
    root = diagnosis.root_cause
    if root is not None and root.category in _OF_ROOT:
        own = [e for e in measured.evidence if e.question in _OWN[root.category]
               and ObjectRef.parse(e.object).namespace == ObjectRef.parse(root.object).namespace]
        if any(e.concerning for e in own):
            update["confidence"] = max(diagnosis.confidence, 0.9)
        elif own and root.category == "cpu_throttling":
            highest = max(own, key=lambda e: e.value)
            update["confidence"] = min(diagnosis.confidence, 0.4)
            notes.append(f"measured against it: {highest.reading}, below the level at which "
                         "throttling slows a service")
    if diagnosis.healthy is True and concerning:  # numbers past concern are not "healthy"
        update["healthy"] = None
        update["confidence"] = min(diagnosis.confidence, 0.4)
        update["summary"] = (diagnosis.summary.replace("looks healthy", "looks healthy by its "
                                                       "state", 1).rstrip()
                             + " But measured: " + "; ".join(e.reading for e in concerning)
                             + ".")
    return diagnosis.model_copy(update=update)


# The numbers said first for each symptom (library ids, knowledge/promql.yaml).
_FIRST = {"latency": ("latency_p99", "throttling", "latency_p50"),
          "errors": ("error_ratio", "restarts"), "throttling": ("throttling", "cpu"),
          "memory": ("memory", "restarts"), "saturation": ("cpu", "memory", "throttling"),
          "not_scaling": ("autoscaler", "cpu")}


def _headline(measured: Measured) -> list[MetricEvidence]:
    """The concerning numbers the summary says: one per question, those of the symptom asked
    first (a latency question hears its p99 before the throttled ratio that explains it)."""
    order = [q for s in measured.symptoms for q in _FIRST.get(s, ())]
    said: dict[str, MetricEvidence] = {}
    for item in sorted(measured.concerning, key=lambda e: order.index(e.question)
                       if e.question in order else len(order)):
        if item.question != "alert":
            said.setdefault(item.question, item)
    return list(said.values())[:_SAID]


# What a symptom plan says it cannot see (knowledge/symptoms.yaml `unseen`), and the library
# question whose number shows it.
_UNSEEN_BY = {
    "application metrics (request latency histograms)": "latency_p99",
    "cAdvisor's throttling counters (container_cpu_cfs_throttled_periods_total) without "
    "Prometheus": "throttling",
    "memory use over time without Prometheus": "memory",
}

_OWN = {"cpu_throttling": ("throttling",), "oom_killed": ("memory", "restarts"),
        "hpa_limited": ("autoscaler",)}


def _shown_object(ref: str) -> str:
    parsed = ObjectRef.parse(ref)
    return str(ObjectRef("Namespace", None, parsed.namespace_text)) \
        if parsed.kind == "Namespace" else ref


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
