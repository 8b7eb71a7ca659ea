"""How findings become the answer: the roots of the chains that touch what the question is
about, ranked; the symptom asked about and the path to its root; or, when nothing explains it,
"healthy" (only where the question allows it and the checks saw the symptom whole), history, or
"could not tell"."""

from __future__ import annotations

import re
from dataclasses import replace

from knowledge.symptoms import Intent, symptom_classes
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Diagnosis, Finding, RootCause
from .history import healthy_checks, history, tasks_resumed
from .quoted import quoted_in_logs
from .ranking import (
    SCALING,
    chain_root,
    in_named_namespaces,
    only_problem_nearby,
    path,
    rank,
    touches,
    worst_roots,
)
from .relevance import neighbourhood
from .scoping import Scope
from .verdicts import holds_anything, undecided
from .view import ClusterView


def compose(question: str, scope: Scope, view: ClusterView,
            findings: list[Finding], intent: Intent | None = None) -> Diagnosis:
    # per object, the finding that explains it (a stuck rollout is caused by its own pods'
    # failure when nothing old serves), else the one that hurts most
    by_object = {f.object: f for f in sorted(
        findings, key=lambda f: (f.caused_by != f.object, f.impact))}
    for finding in findings:  # a finding moved to its cause (the NetworkPolicy that blocks a
        for ref in finding.related:  # workload's egress) still answers for what it was on
            if not ref.startswith("Pod/"):
                by_object.setdefault(ref, finding)
    notes = [scope.note] if scope.note else []
    notes += [f"{kind} unknown: {why}" for kind, why in sorted(view.unknown.items())][:6]
    relevant = findings
    if scope.target is not None:
        hood = neighbourhood(view, scope.target)
        relevant = [f for f in findings if touches(f, hood)]
        if intent is not None and intent.wants("not_scaling"):  # a backlog: the autoscaler
            relevant += _autoscaling(view, findings, relevant)  # of the consumers it names
    roots: dict[str, Finding] = {}
    for finding in relevant if scope.target is not None else findings:
        root = chain_root(finding, by_object)  # per object, the root that hurts most
        if scope.target is None:  # a whole namespace asked about: a root hurts as much as
            root.impact = max(root.impact, finding.impact)  # what it breaks (a full claim
        held = roots.get(root.object)  # behind a training job that fails)
        if held is None or (root.impact, root.confidence) > (held.impact, held.confidence):
            roots[root.object] = root
    where = _where(scope)
    intent = intent or Intent(symptoms=(), health=True)
    ranked = rank(view, question, scope.target, intent, list(roots.values()), findings,
                  relevant, by_object)
    if not ranked and scope.target is not None and (intent.suspect or (
            scope.target.kind == "Node" and intent.symptoms)):  # asked about as the suspect
        ranked = in_named_namespaces(findings, by_object, question.lower()) or (  # of a
            worst_roots(findings, by_object) if intent.suspect else [])  # problem, and fine
        if ranked:
            where = f"{scope.target.kind} {scope.target.name} itself shows no problem; what does"
    nearby = only_problem_nearby(scope.target, findings, by_object) if not ranked and \
        not intent.health else None
    if nearby is not None:  # a quiet target beside one broken neighbour: the likely cause
        ranked = [nearby]
        nearby.confidence = round(nearby.confidence * 0.6, 2)
        notes.append(f"nothing links {scope.target.ref if scope.target else where} to "
                     f"{nearby.object} directly; it is the only problem in its namespace")
    if not ranked and not intent.health and _ran_on_schedule(view, scope, intent):
        intent = replace(intent, health=True)  # its Jobs run and succeed: that is seen whole
    past = history(view, scope, intent) if not ranked and not intent.health else []
    resumed = tasks_resumed(view, intent) if not ranked and not intent.health and not past \
        else None
    past += [resumed] if resumed else []  # its worker does the task again: what you ask is past
    seen = quoted_in_logs(view, view.namespaces, question) if not ranked and not past and \
        not intent.health and _asks_health(question) else None
    if seen:  # the error it quotes is in the log, and nothing checked fails behind it
        intent = replace(intent, health=True)
        notes.append(f"the lines you quote are in the log, {seen}; nothing I checked finds "
                     "a failure behind them (an error answered to a client is not one)")
    if not ranked and not past and (not intent.health or not holds_anything(view)):
        return undecided(question, scope, view, findings, intent, notes)
    if not ranked:
        others = len(findings)
        extra = f" {others} unrelated problem(s) exist elsewhere in scope." if others and \
            scope.target else ""
        prefix = f"{scope.note}. " if scope.note else ""
        summary = (f"{prefix}{where} looks healthy: every pod is running and ready, and no "
                   f"current warning explains a failure.{extra}")
        if past:
            summary = (f"{prefix}{where}: healthy now; what you describe is history: "
                       f"{'; '.join(past)}. Every pod is running and ready.{extra}")
        return Diagnosis(question=question, target=scope.target, healthy=True, summary=summary,
                         root_cause=None, evidence=[], remediation=[], confidence=0.8,
                         ruled_out=healthy_checks(view), findings=findings, notes=notes)
    root = ranked[0]
    chain = [f for f in relevant if f is not root and chain_root(f, by_object) is root]
    if scope.target is not None:  # the symptom is what the question is about, if it shows one
        own = [f for f in chain if f.object == scope.target.ref]
        chain = [] if root.object == scope.target.ref else own or chain
    symptom = chain[0] if chain else None
    hops = path(symptom, by_object)[1:-1] if symptom is not None else []
    first = f"{where}: {root.summary}."
    if symptom is not None:
        through = f", through {' -> '.join(f.object for f in hops)}" if hops else ""
        first = (f"{where}: {symptom.summary}; the cause is {root.object} "
                 f"({root.summary}){through}.")
    if scope.note:
        first = f"{scope.note}. {first}"
    summary = f"{first} Root cause: {root.explanation}."
    evidence = list(root.evidence[:4])
    for other in [*hops[::-1], *chain[:3]]:
        evidence += [e for e in other.evidence[:2] if e not in evidence]
    remediation = list(root.remediation)
    also = [f for f in ranked[1:4]]
    if also:
        notes.append("also: " + "; ".join(f"{f.object}: {f.summary}" for f in also))
    return Diagnosis(
        question=question, target=scope.target, healthy=False, summary=summary,
        root_cause=RootCause(category=root.category, object=root.object,
                             explanation=root.explanation),
        evidence=evidence[:10], remediation=remediation, confidence=round(root.confidence, 2),
        ruled_out=root.ruled_out, findings=[root, *[f for f in findings if f is not root]],
        notes=notes)


def _autoscaling(view: ClusterView, findings: list[Finding],
                 relevant: list[Finding]) -> list[Finding]:
    """The autoscaler problems of the workloads the relevant findings are on: a queue that
    backs up because its consumer's HPA is blind."""
    workloads = {f.object for f in relevant}
    scaled = set()
    for hpa in view.items("HorizontalPodAutoscaler"):
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if str(ObjectRef(str(target.get("kind")), meta(hpa).get("namespace"),
                         str(target.get("name")))) in workloads:
            scaled.add(str(ObjectRef.of("HorizontalPodAutoscaler", hpa)))
    return [f for f in findings if f.category in SCALING and f not in relevant
            and (f.object in scaled or scaled & set(f.related))]


def _asks_health(question: str) -> bool:
    """Whether the question asks about health ("is vault broken?") or asks yes or no ("are we
    dropping github webhooks?"), whatever else it says."""
    return any(w.search(question.lower()) for w in symptom_classes()["health"].words) or \
        _YES_NO.search(question) is not None


_YES_NO = re.compile(r"(?:^|[.!?]\s+|\s-\s)(?:is|are|was|were|do|does|did|has|have)\s"
                     r"[^.!?]{3,120}\?", re.IGNORECASE)


def _ran_on_schedule(view: ClusterView, scope: Scope, intent: Intent) -> bool:
    """A question about a CronJob's missing output, when its latest Job succeeded on time."""
    classes = symptom_classes()
    if scope.target is None or scope.target.kind != "CronJob" or any(
            not classes[s].seen for s in intent.symptoms if s != "missing_output"):
        return False
    cronjob = view.find("CronJob", scope.target.name, scope.target.namespace)
    jobs = sorted((j for j in view.items("Job", scope.target.namespace)
                   if any(o.get("kind") == "CronJob" and o.get("name") == scope.target.name
                          for o in (j.get("metadata") or {}).get("ownerReferences") or [])),
                  key=lambda j: (j.get("metadata") or {}).get("creationTimestamp") or "")
    return cronjob is not None and bool(jobs) and any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for c in (jobs[-1].get("status") or {}).get("conditions") or [])


def _where(scope: Scope) -> str:
    if scope.target and scope.target.namespace is None:
        return f"{scope.target.kind} {scope.target.name}"
    if scope.target:
        return f"{scope.target.kind} {scope.target.name} in {scope.target.namespace}"
    if len(scope.namespaces) == 1:
        return f"namespace {scope.namespaces[0]}"
    return f"{len(scope.namespaces)} namespaces"
