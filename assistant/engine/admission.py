"""Pods the apiserver refuses to create because an admission webhook it must call fails: the
ReplicaSet's FailedCreate event names the webhook, the Service it calls and why the call
failed (an expired serving certificate, no endpoints, a timeout). The webhook's own workload is
what to fix; every workload that creates pods in its scope is only a victim."""

from __future__ import annotations

import re

from tools import Obj
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .listening import cert_volume
from .view import ClusterView
from .workloads import SEVERITY, workload_ref

_CALLING = re.compile(r'failed calling webhook "(?P<hook>[^"]+)": (?:Post|post) "?https://'
                      r"(?P<host>[a-z0-9-]+)\.(?P<ns>[a-z0-9-]+)\.svc(?::(?P<port>\d+))?"
                      r'[^"\s]*"?:? (?P<why>[^\n]+)')
_EXPIRED = re.compile(r"x509: certificate has expired|not yet valid", re.IGNORECASE)


def webhook_refused(view: ClusterView, owner: str, replica_set: Obj,
                    message: str) -> Finding | None:
    """The finding on the webhook's workload (or its Service, when no pod backs it) when a
    FailedCreate message says the apiserver could not call it."""
    called = _CALLING.search(message)
    if called is None:
        return None
    namespace, service_name = called.group("ns"), called.group("host")
    view.widen([namespace])
    service = view.find("Service", service_name, namespace)
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    backing = [p for p in view.items("Pod", namespace) if selector and matches_selector(
        {"matchLabels": selector}, meta(p).get("labels") or {})]
    server = workload_ref(view, backing[0]) if backing else str(
        ObjectRef("Service", namespace, service_name))
    expired = _EXPIRED.search(called.group("why")) is not None
    short = ObjectRef.parse(server).name
    host = f"{service_name}.{namespace}.svc:{called.group('port') or '443'}"
    finding = Finding(
        category="tls_certificate" if expired else "dependency_unreachable", object=server,
        summary=f"{short}: admission webhook {called.group('hook')} fails, pods cannot be "
                "created",
        explanation=(f"the apiserver must call the admission webhook {called.group('hook')} "
                     f"({host}, served by {short}) before it creates a pod, and that call fails"
                     f": {called.group('why').strip()[:200]}; so ReplicaSet "
                     f"{meta(replica_set)['name']} of {ObjectRef.parse(owner).name} (and any "
                     "workload the webhook covers) cannot create pods"
                     + ("; the webhook serves an expired certificate" if expired else "")),
        evidence=[Evidence(source="event", object=str(ObjectRef.of("ReplicaSet", replica_set)),
                           detail=f"FailedCreate: {message[:400]}")],
        confidence=0.9, impact=SEVERITY.get("rollout_stuck", 2.0) * 1.5,
        related=[owner])
    finding.facts = {"webhook": called.group("hook"), "target": host}
    if expired:
        finding.facts["signature"] = "x509-expired"
        source = next((found for pod in backing[:1]
                       for c in (pod.get("spec") or {}).get("containers") or []
                       if (found := cert_volume(pod, c.get("name", ""), "", trust=False))), None)
        if source and source[0] == "Secret":
            finding.facts["secret"] = source[1]
            finding.explanation += f", mounted from Secret {source[1]}"
    return finding
