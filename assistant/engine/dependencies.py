"""A dependency named in a log line, followed into the cluster: its Service (or the missing one,
with the closest name), the port it exposes, the pods behind it and their own problem, the node
they are lost on, or the ingress NetworkPolicy that drops the client's packets."""

from __future__ import annotations

from tools import Obj
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .advertised import advertised_by
from .pod_dns import short_name_elsewhere, to_the_named_pod
from .pod_issues import pod_ref
from .policies import HOST_PORT, admitted_ports, isolating_policies, namespace_gap, policy_line
from .reading import Said
from .refusing import refused_by_ready_server
from .servers import (
    external_name,
    governing_missing,
    misnamed_protocol,
    missing_service_note,
    pods_port,
    port_dropped,
    record,
    service_for,
    set_cause,
    to_the_pod_at,
)
from .view import ClusterView
from .workloads import workload_ref

_CALLS = ("dependency_unreachable", "slow_dependency")


def follow_dependency(view: ClusterView, finding: Finding,
                      by_object: dict[str, list[Finding]], findings: list[Finding]) -> None:
    """A call a log names, followed: its host to a Service (or the pod at that address), the
    Service's port and the pods behind it, to what explains the failure (the server's own
    finding, the node it is lost on, an ingress policy that drops the client's packets)."""
    target = finding.facts["target"]
    namespace = ObjectRef.parse(finding.object).namespace_text
    parsed = HOST_PORT.match(target)
    if not parsed:
        return
    host, port = parsed.group("host"), parsed.group("port")
    if to_the_named_pod(view, finding, host, findings):
        return
    service = service_for(view, host, namespace)
    if service is None and to_the_pod_at(view, finding, host, by_object):
        return
    pod = view.pod_at(host) if service is None else None
    if pod is not None and _isolated(view, finding, [pod], workload_ref(view, pod).split("/")[-1]):
        return  # a proxy that calls the pods' own addresses (Envoy, a headless Service)
    if service is None:
        if finding.facts.get("signature") == "dns-no-such-host" and not governing_missing(
                view, finding, host, findings, by_object) and not advertised_by(
                view, finding, host, findings, by_object):
            finding.explanation += missing_service_note(view, host, namespace, port) + \
                short_name_elsewhere(view, finding, host, namespace)
        return
    svc_ref = str(ObjectRef.of("Service", service))
    finding.related.append(svc_ref)
    if (service.get("spec") or {}).get("type") == "ExternalName":
        external_name(view, finding, service, findings, by_object)
        return
    if port and misnamed_protocol(view, finding, service, int(port), findings, by_object):
        return
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
        port_dropped(view, finding, service, int(port), findings, by_object)
        return
    selector = (service.get("spec") or {}).get("selector") or {}
    backing = [p for p in view.items("Pod", meta(service).get("namespace"))
               if selector and matches_selector({"matchLabels": selector},
                                                meta(p).get("labels") or {})]
    if _isolated(view, finding, backing, meta(service)["name"]):
        return  # packets dropped on the way in: whatever else the server has, not this
    causes = [cause for candidate in [svc_ref, *sorted({workload_ref(view, p) for p in backing})]
              for cause in by_object.get(candidate, [])  # (another client failing the same
              if cause is not finding and cause.facts.get("target") != target]  # way: no cause)
    relayed = finding.category not in _CALLS  # a condition of the server's that the client
    for cause in sorted(causes, key=lambda c: relayed and c.category != finding.category)[:1]:
        set_cause(finding, cause)  # relays (a full disk) is explained by that condition first,
        finding.explanation += (f"; {meta(service)['name']} is down itself: "  # before the
                                f"{cause.summary}")  # server's slow GC; a failed call goes
        return  # through the Service first
    if _on_lost_node(view, finding, backing, meta(service)["name"], findings, by_object):
        return
    refused_by_ready_server(view, finding, service, backing, findings, by_object)


def _on_lost_node(view: ClusterView, finding: Finding, backing: list[Obj], server: str,
                  findings: list[Finding], by_object: dict[str, list[Finding]]) -> bool:
    """The pods behind the Service all run on a node that is NotReady (its kubelet stopped
    posting status): their Ready is stale, and the node is why the server does not answer."""
    nodes = {(p.get("spec") or {}).get("nodeName") for p in backing}
    if not backing or len(nodes) != 1 or None in nodes:
        return False
    name = str(nodes.pop())
    node = view.find("Node", name)
    ready = next((c for c in ((node or {}).get("status") or {}).get("conditions") or []
                  if c.get("type") == "Ready"), None)
    if node is None or ready is None or ready.get("status") == "True":
        return False
    ref = str(ObjectRef("Node", None, name))
    detail = f"Ready={ready.get('status')} {ready.get('reason')}: {ready.get('message')}"
    cause = Finding(
        category="node_not_ready", object=ref, summary=f"node {name} is NotReady",
        explanation=(f"node {name}, where every pod behind Service {server} runs, is NotReady "
                     f"({ready.get('reason')}: {ready.get('message')}): those pods still show "
                     f"their last status, but nothing on the node answers; "
                     f"{finding.summary.split(':')[0]} fails against {server}"),
        evidence=[Evidence(source="node", object=ref, detail=detail)],
        confidence=0.9, impact=finding.impact, related=[pod_ref(p) for p in backing])
    cause.facts = {"node": name}
    record(findings, by_object, cause)
    set_cause(finding, cause)
    finding.explanation += f"; the pods behind {server} run on node {name}, which is NotReady"
    return True


def _isolated(view: ClusterView, finding: Finding, backing: list[Obj], server: str) -> bool:
    """When an ingress NetworkPolicy of the server's pods drops the client's packets (a
    timeout), the policy becomes the finding's object, with what it admits and what not."""
    served = pods_port(view, finding)
    for policy in isolating_policies(view, backing, finding, served):
        ref = str(ObjectRef.of("NetworkPolicy", policy))
        finding.category = "network_policy"
        finding.object = ref
        client = next((p for p in view.items("Pod") if pod_ref(p) in finding.related), None)
        labels = ",".join(f"{k}={v}" for k, v in sorted(
            (meta(client).get("labels") or {}).items()) if k != "pod-template-hash") \
            if client else ""
        gap = namespace_gap(view, policy, meta(client).get("namespace") or "",
                            meta(client).get("labels") or {}) if client else ""
        home = next((n for n in view.everywhere("Namespace")
                     if client and meta(n)["name"] == meta(client).get("namespace")), None)
        ports = admitted_ports(policy, meta(client).get("namespace"), meta(client).get(
            "labels") or {}, (meta(home).get("labels") or {}) if home else None) if client else []
        parsed = HOST_PORT.match(finding.facts.get("target", ""))
        asked = parsed.group("port") if parsed and parsed.group("port") else None
        who = finding.summary.split(":")[0]
        admits = (f"admits {who} only on {', '.join(ports)}, not on the port it calls"
                  + (f" ({asked})" if asked else "")) if ports else f"admits no traffic from {who}"
        if served and ports and str(served) not in ports:  # (it admits the Service's port)
            admits = (f"admits {who} only on {', '.join(ports)}: the Service's port {asked}, "
                      f"while the pods serve on {served}, the port a policy sees once the "
                      "Service has mapped the call to it")
            asked = str(served)
        if ports and asked:
            finding.facts["missing_port"] = asked
        finding.explanation = (f"the NetworkPolicy {meta(policy)['name']} selects the pods "
                               f"behind {server} and {admits}"
                               + (f" (its pods carry {labels})" if labels else "") + gap
                               + f": {finding.explanation}")
        finding.evidence.append(Evidence(source="spec", object=ref,
                                         detail=policy_line(policy)))
        return True
    return False


def dependency_pods(view: ClusterView, said: list[Said], clients: list[Obj]) -> list[Obj]:
    """The pods behind the Services that the clients' logs name: whose own logs say why."""
    return pods_behind(view, [(item.target or "", meta(item.pod).get("namespace", ""))
                              for item in said], clients)


def pods_behind(view: ClusterView, targets: list[tuple[str, str]],
                known: list[Obj]) -> list[Obj]:
    """The pods behind the Services that (host[:port], client namespace) pairs name, or the
    pod whose own address it is (a driver that calls Cassandra's pods directly), except the
    `known` ones."""
    seen = {pod_ref(p) for p in known}
    found: list[Obj] = []
    for target, namespace in targets:
        parsed = HOST_PORT.match(target)
        if not parsed:
            continue
        service = service_for(view, parsed.group("host"), namespace)
        pod = view.pod_at(parsed.group("host")) if service is None else None
        if pod is not None and pod_ref(pod) not in seen:
            seen.add(pod_ref(pod))
            found.append(pod)
        selector = ((service or {}).get("spec") or {}).get("selector") or {}
        if not selector:
            continue
        for pod in view.items("Pod", meta(service).get("namespace") if service else None):
            if pod_ref(pod) not in seen and matches_selector(
                    {"matchLabels": selector}, meta(pod).get("labels") or {}):
                seen.add(pod_ref(pod))
                found.append(pod)
    return found
