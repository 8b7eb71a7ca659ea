"""Which root problem answers a question first, of those that bear on it.

Findings are linked into chains (a symptom's `caused_by` leads to its cause); the roots of the
chains are ranked: the one that hurts most and is surest first, then by what the question says
(the public host it names and what its Ingress routes it to, calls that fail rather than pods
that never ran, the autoscaler when it asks about scaling), and a lead whose log went quiet
long before the others is ranked after an equal one that goes on."""

from __future__ import annotations

import re

from knowledge.symptoms import Intent
from tools.refs import ObjectRef

from ..diagnosis import Finding, Target
from .ingresses import routed_to
from .recovery import logged_at
from .relevance import neighbourhood
from .view import ClusterView

SERVING = {"errors", "timeouts", "latency", "network"}  # symptoms of calls to running pods
SCALING = {"hpa_limited", "autoscaler_missing"}
CALLS = {"dependency_unreachable", "slow_dependency"}  # a call that fails or is slow
UNSCHEDULED = {"untolerated_taint", "node_selector_mismatch", "insufficient_resources",
               "pvc_unbound", "scheduling_constraint"}  # pods that never ran
_NOW = float("inf")
_STALE = 12 * 3600  # a lead last logged this much before the newest one is history


def rank(view: ClusterView, question: str, target: Target | None, intent: Intent,
         roots: list[Finding], findings: list[Finding], relevant: list[Finding],
         by_object: dict[str, Finding]) -> list[Finding]:
    """The roots, the one that answers the question first."""
    newest = max((t for f in findings for e in f.evidence if e.source == "log"
                  and (t := logged_at(e.detail)) is not None), default=0.0)
    ranked = sorted(roots, key=lambda f: (  # of two equal leads, not one whose log went quiet
        -f.impact, -f.confidence, _latest(f) < newest - _STALE))  # days before the other's
    routes = routed_to(view, question) if target is None else set()
    if routes:  # the public host or URL a question names: what its Ingress routes it to first
        near = set().union(*(neighbourhood(view, Target(kind="Service", namespace=ns, name=name))
                             for ns, name in sorted(routes)))
        ranked.sort(key=lambda f: not touches(f, near))
    if set(intent.symptoms) & SERVING and "pending" not in intent.symptoms:
        served = {chain_root(f, by_object).object for f in relevant  # (unless a failing call
                  if f.category in CALLS}  # leads to it: MinIO's pods Pending)
        ranked.sort(key=lambda f: f.category in UNSCHEDULED and f.object not in served)
        # a 502 is not a Pending pod
    if intent.wants("not_scaling"):  # "why isn't it scaling?": the autoscaler's problem first,
        text = intent.text  # the one of the workload the question names before another's
        ranked.sort(key=lambda f: (f.category not in SCALING, not any(
            mentioned(ObjectRef.parse(r).name, text) for r in [f.object, *f.related])))
    return ranked


def only_problem_nearby(target: Target | None, findings: list[Finding],
                        by_object: dict[str, Finding]) -> Finding | None:
    """The one root problem in a quiet target's namespace, if there is exactly one."""
    if target is None or target.namespace is None:
        return None
    roots = {chain_root(f, by_object).object: chain_root(f, by_object) for f in findings
             if ObjectRef.parse(f.object).namespace == target.namespace}
    return next(iter(roots.values())) if len(roots) == 1 else None


def in_named_namespaces(findings: list[Finding], by_object: dict[str, Finding],
                        text: str) -> list[Finding]:
    """The root problems of the namespaces a question names ("did the node upgrade break
    matrix?"), the worst first."""
    return [r for r in worst_roots(findings, by_object)
            if mentioned(ObjectRef.parse(r.object).namespace or "", text)]


def worst_roots(findings: list[Finding], by_object: dict[str, Finding]) -> list[Finding]:
    """The roots of the findings' chains, the worst first."""
    roots = {r.object: r for r in (chain_root(f, by_object) for f in findings)}
    return sorted(roots.values(), key=lambda f: (-f.impact, -f.confidence))


def mentioned(name: str, text: str) -> bool:
    """Whether the text names it as a whole word (`orders`, not `orders-api`)."""
    return bool(name) and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def touches(finding: Finding, refs: set[str]) -> bool:
    return finding.object in refs or any(r in refs for r in finding.related)


def chain_root(finding: Finding, by_object: dict[str, Finding]) -> Finding:
    return path(finding, by_object)[-1]


def path(finding: Finding, by_object: dict[str, Finding]) -> list[Finding]:
    """The findings from a symptom to its root, following `caused_by`."""
    found = [finding]
    while finding.caused_by in by_object and by_object[finding.caused_by] not in found:
        finding = by_object[finding.caused_by]
        found.append(finding)
    return found


def _latest(finding: Finding) -> float:
    """When a finding's evidence was last logged; _NOW for evidence that is not a dated log
    line (a status, a spec, an event: what holds now)."""
    times = [logged_at(e.detail) if e.source == "log" else None for e in finding.evidence]
    return max((t if t is not None else _NOW for t in times), default=_NOW)
