"""A StatefulSet scaled below the members its clients name: a client configured with
`mongo-0..mongo-2.mongo-headless.data.svc` (a replica set, a quorum, a cluster of brokers) whose
StatefulSet now runs fewer replicas cannot find a primary or a majority, while the pods that are
left run and pass their probes. The StatefulSet's replica count is what to change."""

from __future__ import annotations

import re

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .clients import configured
from .servers import record, set_cause
from .view import ClusterView
from .workloads import workload_ref

# `name-N.service.namespace.svc`: a StatefulSet pod's own DNS name.
MEMBER = re.compile(r"\b([a-z0-9]([a-z0-9-]*[a-z0-9])?)-(\d+)\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\b")


def members_missing(view: ClusterView, finding: Finding, findings: list[Finding],
                    by_object: dict[str, list[Finding]]) -> bool:
    """When the failing client names members of a StatefulSet beyond its replica count, make
    the StatefulSet the cause (with the members that are gone) and say so."""
    named = _named_members(view, finding)
    for (namespace, name), ordinals in sorted(named.items()):
        view.widen([namespace])
        owner = view.find("StatefulSet", name, namespace)
        if owner is None:
            continue
        replicas = (owner.get("spec") or {}).get("replicas")
        replicas = 1 if replicas is None else int(replicas)
        gone = sorted(n for n in ordinals if n >= replicas)
        if not gone:
            continue
        set_cause(finding, _scaled_below(view, finding, owner, replicas, max(ordinals) + 1,
                                         gone, findings, by_object))
        return True
    return False


def _named_members(view: ClusterView, finding: Finding) -> dict[tuple[str, str], set[int]]:
    """{(namespace, StatefulSet): ordinals} named by the finding's evidence and by the
    configuration of the client's pods (a connection string lists every member)."""
    client = ObjectRef.parse(finding.object)
    texts = [e.detail for e in finding.evidence]
    texts += [text for pod in view.items("Pod", client.namespace_text)
              if workload_ref(view, pod) == finding.object for text in configured(pod)]
    named: dict[tuple[str, str], set[int]] = {}
    for match in MEMBER.finditer("\n".join(texts)):
        sts, ordinal, _service, namespace = match.group(1), match.group(3), match.group(4), \
            match.group(5)
        named.setdefault((namespace, sts), set()).add(int(ordinal))
    return named


def _scaled_below(view: ClusterView, finding: Finding, owner: Obj, replicas: int,
                  expected: int, gone: list[int], findings: list[Finding],
                  by_object: dict[str, list[Finding]]) -> Finding:
    namespace, name = meta(owner).get("namespace") or "", meta(owner)["name"]
    ref = str(ObjectRef("StatefulSet", namespace, name))
    cause = next((f for f in by_object.get(ref, []) if f.facts.get("members_gone")), None)
    if cause is not None:
        cause.related.append(finding.object)
        return cause
    missing = ", ".join(f"{name}-{n}" for n in gone)
    deleted = [e for e in view.items("Event", namespace)
               if ((e.get("involvedObject") or {}).get("name") == name
                   and re.search(r"delete Pod \S+ in StatefulSet", e.get("message") or ""))]
    cause = Finding(
        category="dependency_unreachable", object=ref,
        summary=f"{name}: runs {replicas} of the {expected} members its clients name",
        explanation=(f"StatefulSet {name} runs {replicas} replica{'s' if replicas != 1 else ''}"
                     f", while {ObjectRef.parse(finding.object).name} is configured with "
                     f"{expected} members ({name}-0..{name}-{expected - 1}): {missing} no "
                     "longer exist, so the members left cannot reach a majority (no primary "
                     "can be elected, no quorum) although they run and pass their probes"),
        evidence=[Evidence(source="spec", object=ref, detail=f"replicas: {replicas} "
                           f"(clients name {name}-0..{name}-{expected - 1})"),
                  *[Evidence(source="event", object=ref, detail=str(e.get("message")))
                    for e in deleted[:2]], *finding.evidence[:1]],
        confidence=0.9, impact=finding.impact, related=[finding.object])
    cause.facts = {"members_gone": missing, "replicas": str(replicas),
                   "members": str(expected)}
    record(findings, by_object, cause)
    return cause
