"""The causal chain: link each symptom to the finding that explains it, so the root is reported,
not the loudest symptom.

Links followed: a dependency named in a log line -> its Service -> the workload behind it;
pods on a NotReady or pressured node -> the node; pods pending on a claim -> the claim;
a Service without ready endpoints -> its pods' own problem; a stuck rollout -> its new pods.
"""

from __future__ import annotations

import ipaddress
import re

from tools import Obj
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .pods import pod_ref
from .view import ClusterView
from .workloads import pod_claims, workload_ref

_TIMEOUTS = ("connection-timeout", "nginx-upstream-timeout")
_HOST_PORT = re.compile(r"^(?P<host>[\w.-]+?)(?::(?P<port>\d+))?$")


def link(view: ClusterView, findings: list[Finding]) -> None:
    """Set `caused_by` on findings explained by another finding (in place)."""
    by_object: dict[str, list[Finding]] = {}
    for finding in findings:
        by_object.setdefault(finding.object, []).append(finding)
    pod_owner = {pod_ref(p): workload_ref(view, p) for p in view.items("Pod")}
    for finding in findings:
        if finding.category in ("node_not_ready", "node_pressure"):
            for related in finding.related:
                owner = pod_owner.get(related)
                for symptom in by_object.get(owner or "", []):
                    if symptom is not finding:
                        _set(symptom, finding)
        if finding.category == "pvc_unbound":
            ns, name = finding.object.split("/")[1:]
            for pod in view.items("Pod", ns):
                if name in pod_claims(pod):
                    for symptom in by_object.get(pod_owner[pod_ref(pod)], []):
                        if symptom.category == "pvc_unbound" and symptom is not finding:
                            _set(symptom, finding)
        if finding.category == "service_no_endpoints":
            owners = {pod_owner.get(p) for p in finding.related}
            for owner in owners:
                for cause in by_object.get(owner or "", []):
                    if cause.category not in ("service_no_endpoints",):
                        _set(finding, cause)
                        break
        if finding.category == "rollout_stuck":
            for candidate in view.items("Pod", finding.object.split("/")[1]):
                if pod_owner.get(pod_ref(candidate)) == finding.object:
                    for cause in by_object.get(finding.object, []):
                        if cause is not finding and cause.category != "rollout_stuck":
                            finding.explanation += f"; the new pods fail: {cause.explanation}"
                            _set(cause, finding)
                    break
    for finding in findings:
        if finding.category == "dependency_unreachable" and finding.facts.get("target"):
            _follow_dependency(view, finding, by_object)


def _set(symptom: Finding, cause: Finding) -> None:
    if symptom.caused_by is None and cause.caused_by != symptom.object:
        symptom.caused_by = cause.object


def _follow_dependency(view: ClusterView, finding: Finding,
                       by_object: dict[str, list[Finding]]) -> None:
    target = finding.facts["target"]
    namespace = finding.object.split("/")[1]
    parsed = _HOST_PORT.match(target)
    if not parsed:
        return
    host, port = parsed.group("host"), parsed.group("port")
    service = _service_for(view, host, namespace)
    if service is None:
        if finding.facts.get("signature") == "dns-no-such-host":
            finding.explanation += _missing_service_note(view, host, namespace)
        return
    svc_ref = f"Service/{meta(service).get('namespace')}/{meta(service)['name']}"
    finding.related.append(svc_ref)
    if meta(service)["name"] not in finding.explanation:
        finding.explanation += f" ({host} is Service {meta(service)['name']})"
    ports = [p.get("port") for p in (service.get("spec") or {}).get("ports") or []]
    if port and int(port) not in ports:
        finding.explanation += (f"; the app connects to port {port}, but Service "
                                f"{meta(service)['name']} listens on "
                                f"{', '.join(str(p) for p in ports)}")
        finding.evidence.append(Evidence(
            source="spec", object=svc_ref,
            detail=f"ports: {', '.join(str(p) for p in ports)} (the app uses {port})"))
        finding.facts["wrong_port"] = port
        finding.facts["service_port"] = ",".join(str(p) for p in ports)
        finding.confidence = max(finding.confidence, 0.9)
        return
    selector = (service.get("spec") or {}).get("selector") or {}
    backing = [p for p in view.items("Pod", meta(service).get("namespace"))
               if selector and matches_selector({"matchLabels": selector},
                                                meta(p).get("labels") or {})]
    for candidate in [svc_ref, *sorted({workload_ref(view, p) for p in backing})]:
        for cause in by_object.get(candidate, []):
            if cause is not finding:
                _set(finding, cause)
                finding.explanation += (f"; {meta(service)['name']} is down itself: "
                                        f"{cause.summary}")
                return
    for policy in _isolating_policies(view, backing, finding):
        ref = f"NetworkPolicy/{meta(policy).get('namespace')}/{meta(policy)['name']}"
        finding.category = "network_policy"
        finding.object = ref
        finding.explanation = (f"the NetworkPolicy {meta(policy)['name']} selects the pods "
                               f"behind {meta(service)['name']} and admits no traffic from "
                               f"{finding.summary.split(':')[0]}: {finding.explanation}")
        finding.evidence.append(Evidence(source="spec", object=ref,
                                         detail=_policy_line(policy)))
        return


def _service_for(view: ClusterView, host: str, namespace: str) -> Obj | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        for service in view.items("Service"):
            if (service.get("spec") or {}).get("clusterIP") == host:
                return service
        return None
    parts = host.split(".")
    name = parts[0]
    ns = parts[1] if len(parts) > 1 and parts[1] != "svc" else namespace
    return view.find("Service", name, ns)


def _missing_service_note(view: ClusterView, host: str, namespace: str) -> str:
    parts = host.split(".")
    ns = parts[1] if len(parts) > 1 else namespace
    if ns not in view.namespaces and len(parts) > 1:
        return f"; namespace {ns} is outside what was examined"
    names = [meta(s)["name"] for s in view.items("Service", ns)]
    from rapidfuzz import process

    best = process.extractOne(parts[0], names) if names else None
    hint = f"; the closest is {best[0]}" if best and best[1] >= 60 else ""
    return f"; there is no Service named {parts[0]} in namespace {ns}{hint}"


def _isolating_policies(view: ClusterView, backing: list[Obj], finding: Finding) -> list[Obj]:
    if not backing or finding.facts.get("signature") not in _TIMEOUTS:
        return []
    client = next((p for p in view.items("Pod") if pod_ref(p) in finding.related), None)
    client_labels = meta(client).get("labels") or {} if client else {}
    found = []
    for policy in view.items("NetworkPolicy"):
        spec = policy.get("spec") or {}
        if "Ingress" not in (spec.get("policyTypes") or ["Ingress"]):
            continue
        if not any(matches_selector(spec.get("podSelector") or {}, meta(p).get("labels") or {})
                   for p in backing):
            continue
        admitted = any(
            matches_selector(source.get("podSelector"), client_labels)
            for rule in spec.get("ingress") or [] for source in rule.get("from") or [{}]
            if "podSelector" in source or not source)
        if not admitted:
            found.append(policy)
    return found


def _policy_line(policy: Obj) -> str:
    spec = policy.get("spec") or {}
    selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
    sources = [
        ",".join(f"{k}={v}" for k, v in ((s.get("podSelector") or {}).get("matchLabels")
                                         or {}).items())
        for rule in spec.get("ingress") or [] for s in rule.get("from") or []]
    return (f"podSelector {selector}; ingress only from "
            f"{'; '.join(s for s in sources if s) or 'nothing'}")
