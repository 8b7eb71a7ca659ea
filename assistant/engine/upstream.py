"""Causes one hop up from a client, found through configuration rather than an address its
log names: the server whose certificate expired that a client's config file names, the injector
whose env sets an image injected containers cannot pull, the egress policy that drops
metrics-server's scrapes of the kubelets.
"""

from __future__ import annotations

import re

from tools import Obj
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .changes import injected, injected_by
from .clients import config_maps, names_service
from .policies import egress_drops, egress_line
from .servers import KUBELET_PORT, record, set_cause, to_the_server
from .view import ClusterView
from .workloads import workload_ref

_KUBELET_TIMEOUT = re.compile(rf"dial tcp ([\d.]+):{KUBELET_PORT}: (?:i/o timeout|connect: "
                              r"connection timed out)")


def kubelets_dropped(view: ClusterView, finding: Finding, findings: list[Finding],
                      by_object: dict[str, list[Finding]]) -> None:
    """metrics-server's scrapes of the kubelets time out and an egress NetworkPolicy on its
    pods admits nothing to the nodes' addresses on the kubelet port: the policy is the root."""
    timed_out = next((m for m in (_KUBELET_TIMEOUT.search(e.detail) for e in finding.evidence)
                      if m), None)
    home = ObjectRef.parse(finding.object).namespace_text
    pods = [p for p in view.items("Pod", home) if workload_ref(view, p) == finding.object]
    policy = egress_drops(view, pods, timed_out.group(1), int(KUBELET_PORT)) \
        if timed_out else None
    if policy is None or timed_out is None:
        return
    ref = str(ObjectRef.of("NetworkPolicy", policy))
    if by_object.get(ref):  # (one finding per HPA it blinds; one policy behind them all)
        set_cause(finding, by_object[ref][0])
        return
    short = ObjectRef.parse(finding.object).name
    cause = Finding(
        category="network_policy", object=ref,
        summary=f"NetworkPolicy {meta(policy)['name']} drops {short}'s scrapes of the kubelets",
        explanation=(f"the NetworkPolicy {meta(policy)['name']} restricts the egress of "
                     f"{short}'s pods and admits nothing to the nodes' addresses on port "
                     f"{KUBELET_PORT} ({egress_line(policy)}): its scrapes of the kubelets "
                     f"(dial tcp {timed_out.group(1)}:{KUBELET_PORT}) time out, so the "
                     "resource metrics API has nothing to serve"),
        evidence=[Evidence(source="spec", object=ref, detail=egress_line(policy)),
                  *finding.evidence[:1]],
        confidence=0.85, impact=finding.impact, related=[finding.object, *finding.related])
    cause.facts = {"egress": "true", "port": KUBELET_PORT, "client": short,
                   "blocked_address": timed_out.group(1)}
    findings.append(cause)
    by_object.setdefault(ref, []).append(cause)
    set_cause(finding, cause)


def from_injector(view: ClusterView, finding: Finding, findings: list[Finding],
                   by_object: dict[str, list[Finding]]) -> bool:
    """An image that cannot be pulled for a container no template holds, set by an injector's
    env (Dapr's SIDECAR_IMAGE): one finding on the injector, which every injected pod hangs on."""
    if not injected(view, finding.object, finding):
        return False
    found = injected_by(view, finding.facts["image"])
    if found is None:
        return False
    injector, variable = found
    ref = str(ObjectRef.of(str(injector.get("kind") or "Deployment"), injector))
    cause = next((f for f in by_object.get(ref, []) if f.category == "image_pull"), None)
    if cause is None:
        name = meta(injector)["name"]
        cause = Finding(
            category="image_pull", object=ref,
            summary=f"{name}: injects an image that cannot be pulled",
            explanation=(f"{name} injects container {finding.facts.get('container')} into other "
                         f"workloads' pods with the image its {variable} sets, "
                         f"{finding.facts['image']}, which cannot be pulled: "
                         f"{finding.explanation}"),
            evidence=list(finding.evidence[:2]), confidence=0.85, impact=finding.impact,
            related=[finding.object])
        cause.facts = {**finding.facts, "image_var": variable, "injector": name}
        record(findings, by_object, cause)
    else:
        cause.related.append(finding.object)
        cause.impact += finding.impact / 2
    set_cause(finding, cause)
    return True


def expired_server_configured(view: ClusterView, finding: Finding, findings: list[Finding],
                               by_object: dict[str, list[Finding]]) -> None:
    """A client whose log says only that a certificate expired ("ldap: failed to connect:
    x509: certificate has expired"), whose configuration (env, or a mounted file: Dex's LDAP
    `host:`) names one Service of another workload: that Service's server is the one whose
    certificate expired, found as for a client that names it."""
    ref = ObjectRef.parse(finding.object)
    kind = ref.kind if ref.kind in ("Deployment", "StatefulSet", "DaemonSet") else None
    client = view.find(kind, ref.name, ref.namespace_text) if kind else None  # type: ignore[arg-type]
    if client is None:
        return
    files = config_maps(view)
    own = {meta(p)["name"] for p in view.items("Pod", ref.namespace_text)
           if workload_ref(view, p) == finding.object}
    named = [s for s in view.items("Service") if names_service(client, [s], files)
             and not any(meta(p)["name"] in own for p in _backing(view, s))]
    if len(named) != 1:
        return
    service = named[0]
    port = next((str(p.get("port")) for p in (service.get("spec") or {}).get("ports") or []), "")
    finding.facts["target"] = (f"{meta(service)['name']}.{meta(service).get('namespace')}.svc"
                               + (f":{port}" if port else ""))
    finding.explanation += f"; its configuration names Service {meta(service)['name']}"
    to_the_server(view, finding, findings, by_object)


def _backing(view: ClusterView, service: Obj) -> list[Obj]:
    selector = (service.get("spec") or {}).get("selector") or {}
    return [p for p in view.items("Pod", meta(service).get("namespace")) if selector
            and matches_selector({"matchLabels": selector}, meta(p).get("labels") or {})]
