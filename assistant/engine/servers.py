"""From a client's failing call to the server behind it: the pod an IP belongs to, the
Service a host names (an ExternalName alias, a port it no longer exposes, a StatefulSet's
missing headless Service), the workload that serves an expired certificate, and a node's
kubelet whose serving certificate expired."""

from __future__ import annotations

import ipaddress
import re

from tools import Obj
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .listening import cert_volume
from .pod_issues import pod_ref
from .policies import DNS_FAILURES, HOST_PORT
from .view import ClusterView
from .workloads import workload_ref

SVC_NAMESPACE = re.compile(r"\.([a-z0-9-]+)\.svc(?:\.|$)")


def record(findings: list[Finding], by_object: dict[str, list[Finding]], cause: Finding) -> None:
    """Add a cause found while following a chain to the findings and to their index."""
    findings.append(cause)
    by_object.setdefault(cause.object, []).append(cause)


def hang_on(symptom: Finding, cause: Finding) -> bool:
    """Mark a cause found while following a chain as what explains `symptom`, which it now
    also answers for (True: the chain ends there)."""
    if symptom.object not in cause.related:
        cause.related.append(symptom.object)
    set_cause(symptom, cause)
    return True


def set_cause(symptom: Finding, cause: Finding) -> None:
    """Mark `cause` as what explains `symptom` (unless that would make a loop)."""
    if symptom.caused_by is None and cause.caused_by != symptom.object:
        symptom.caused_by = cause.object


def to_the_pod_at(view: ClusterView, finding: Finding, address: str,
                   by_object: dict[str, list[Finding]]) -> bool:
    """A call to a pod's own IP (a client that caches endpoints, or a headless Service) leads to
    that pod's workload: when it has a problem (the pod was evicted, crashed), that explains it."""
    pod = view.pod_at(address)
    if pod is None:
        return False
    owner = workload_ref(view, pod)
    cause = next((f for f in by_object.get(owner, []) if f is not finding), None)
    if cause is None or owner == finding.object:
        return False
    finding.related.append(pod_ref(pod))
    finding.explanation += (f"; {address} is pod {meta(pod)['name']} of {owner}, which has a "
                            f"problem itself: {cause.summary}")
    set_cause(finding, cause)
    return True


def to_the_server(view: ClusterView, finding: Finding, findings: list[Finding],
                   by_object: dict[str, list[Finding]]) -> None:
    """An expired (or not yet valid) certificate that a client rejects is the server's: the
    Service the client calls leads to the workload that serves it, and to the Secret it mounts."""
    parsed = HOST_PORT.match(finding.facts["target"])
    if parsed and to_a_kubelet(view, finding, parsed.group("host"), parsed.group("port"),
                                findings, by_object):
        return
    named = SVC_NAMESPACE.search(parsed.group("host")) if parsed else None
    if named:  # the server may live in a namespace the question did not name
        view.widen([named.group(1)])
    home = ObjectRef.parse(finding.object).namespace_text
    service = service_for(view, parsed.group("host"), home) if parsed else None
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    at = view.pod_at(parsed.group("host")) if parsed and service is None else None
    if at is not None and parsed and parsed.group("port") not in {  # (a store found by DNS
            str(p.get("containerPort")) for c in (at.get("spec") or {}).get("containers") or []
            for p in c.get("ports") or []}:  # SRV: the client calls a port the pod serves;
        at = None  # not a server's log naming its client's address and ephemeral port)
    if (service is None or not selector) and at is None:
        return
    backing = [at] if at is not None else [
        p for p in view.items("Pod", meta(service or {}).get("namespace"))
        if matches_selector({"matchLabels": selector}, meta(p).get("labels") or {})]
    if not backing:
        return
    server = workload_ref(view, backing[0])
    if server == finding.object:
        return
    cause = next((f for f in by_object.get(server, []) if f.category == "tls_certificate"
                  and f.object == server), None)  # (not the client's, answering for it)
    if cause is None:
        source = next((cert_volume(p, c.get("name", ""), "", trust=False) for p in backing
                       for c in (p.get("spec") or {}).get("containers") or []
                       if cert_volume(p, c.get("name", ""), "", trust=False)), None)
        short = ObjectRef.parse(server).name
        cause = Finding(
            category="tls_certificate", object=server,
            summary=f"{short}: serves a certificate its clients reject",
            explanation=(f"{short} serves a TLS certificate that has expired or is not yet "
                         "valid" + (f"; it is mounted from {source[0]} {source[1]}"
                                    if source else "")),
            evidence=[e for e in finding.evidence if e.source == "log"][:2]
            or list(finding.evidence[:1]), confidence=0.85,
            impact=finding.impact, related=[pod_ref(p) for p in backing])
        cause.facts = {"signature": "x509-expired"}
        if source:
            cause.facts["secret"] = source[1]
        findings.append(cause)
        by_object.setdefault(server, []).append(cause)
    elif "secret" not in cause.facts:
        source = next((cert_volume(p, c.get("name", ""), "", trust=False) for p in backing
                       for c in (p.get("spec") or {}).get("containers") or []
                       if cert_volume(p, c.get("name", ""), "", trust=False)), None)
        if source:
            cause.facts["secret"] = source[1]
            cause.explanation += f"; the certificate is mounted from {source[0]} {source[1]}"
    expiry = validity(view, backing)
    if expiry and expiry not in cause.explanation:
        cause.explanation += f" ({expiry})"
    set_cause(finding, cause)


KUBELET_PORT = "10250"


_NODE_NAMED = re.compile(r"\bnode=\\?\"?([\w.-]+)")  # metrics-server: node="k8s-worker-02"


EXPIRED_AT_KUBELET = re.compile(rf"([\w.-]+):{KUBELET_PORT}\b[^\n]*?(?:certificate has expired|"
                                 r"not yet valid|CertificateExpired)", re.IGNORECASE)


def to_a_kubelet(view: ClusterView, finding: Finding, host: str, port: str | None,
                  findings: list[Finding], by_object: dict[str, list[Finding]]) -> bool:
    """A certificate rejected at a node's kubelet port (metrics-server, Prometheus scraping
    10250) is that node's kubelet serving certificate: the node is the root."""
    if port != KUBELET_PORT:
        return False
    named = {m.group(1) for e in finding.evidence for m in _NODE_NAMED.finditer(e.detail)}
    nodes = view.items("Node")
    node = next((n for n in nodes if host == meta(n)["name"] or any(
        a.get("address") == host for a in (n.get("status") or {}).get("addresses") or [])),
        None) or next((n for n in nodes if meta(n)["name"] in named), None)  # node="..."
    if node is None:
        return False
    name = meta(node)["name"]
    ref = str(ObjectRef("Node", None, name))
    cause = next((f for f in by_object.get(ref, []) if f.category == "tls_certificate"), None)
    if cause is None:
        cause = Finding(
            category="tls_certificate", object=ref,
            summary=f"node {name}: its kubelet serves a certificate clients reject",
            explanation=(f"the kubelet of node {name} ({host}:{port}) serves a certificate "
                         "that has expired or is not yet valid (the kubelet serving "
                         "certificate, not the client one: the node stays Ready), so every "
                         "client that verifies it fails: metrics-server scrapes, `kubectl "
                         "logs`/`exec` through the API server, Prometheus kubelet targets"),
            evidence=list(finding.evidence[:2]), confidence=0.85, impact=finding.impact,
            related=[finding.object])
        cause.facts = {"signature": "x509-expired", "node": name, "kubelet": "true"}
        record(findings, by_object, cause)
    set_cause(finding, cause)
    return True


_WHEN = r"([\dT:.Z-]{10,}|[A-Z][a-z]{2} +\d+ [\d:]{8} \d{4}(?: GMT)?)"  # ISO or openssl's


_VALIDITY = re.compile(rf"not[_ ]?after\W+{_WHEN}|not[_ ]?before\W+{_WHEN}", re.IGNORECASE)


def validity(view: ClusterView, pods: list[Obj]) -> str | None:
    """The certificate's validity as the server logs it at start (notAfter / notBefore)."""
    for pod in pods[:3]:
        spec = pod.get("spec") or {}
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            for line in [*(log.head if log else []), *(log.errors if log else []),
                         *(log.tail if log else [])]:
                found = _VALIDITY.findall(line.text)
                if found:
                    after = next((a for a, _ in found if a), None)
                    before = next((b for _, b in found if b), None)
                    return ", ".join(filter(None, [f"notBefore {before}" if before else "",
                                                   f"notAfter {after}" if after else ""]))
    return None


def pods_port(view: ClusterView, finding: Finding) -> int | None:
    """The port the pods behind the Service a failing call names serve on, when the Service
    maps its port to another (80 to `targetPort: http`, which the pods name as 3000)."""
    parsed = HOST_PORT.match(finding.facts.get("target") or "")
    if not parsed or not parsed.group("port"):
        return None
    home = ObjectRef.parse(finding.object).namespace_text
    service = service_for(view, parsed.group("host"), home)
    entry = next((p for p in ((service or {}).get("spec") or {}).get("ports") or []
                  if str(p.get("port")) == parsed.group("port")), None)
    target = (entry or {}).get("targetPort")
    if target is None or str(target) == parsed.group("port"):
        return None
    if str(target).isdigit():
        return int(target)
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    for pod in view.items("Pod", meta(service or {}).get("namespace")) if selector else []:
        if matches_selector({"matchLabels": selector}, meta(pod).get("labels") or {}):
            for container in (pod.get("spec") or {}).get("containers") or []:
                for port in container.get("ports") or []:
                    if port.get("name") == target and port.get("containerPort"):
                        return int(port["containerPort"])
    return None


def service_for(view: ClusterView, host: str, namespace: str) -> Obj | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        for service in view.items("Service"):
            if (service.get("spec") or {}).get("clusterIP") == host:
                return service
        home = view.home_of_address(host)  # a Service outside the view (cluster DNS)
        if home is not None:
            view.widen([home])
            return next((s for s in view.items("Service", home)
                         if (s.get("spec") or {}).get("clusterIP") == host), None)
        return None
    parts = host.split(".")
    if "svc" in parts and parts.index("svc") >= 2:  # [pod.]service.namespace.svc[.cluster.local]
        at = parts.index("svc")
        return view.find("Service", parts[at - 2], parts[at - 1])
    name = parts[0]
    ns = parts[1] if len(parts) > 1 and parts[1] != "svc" else namespace
    return view.find("Service", name, ns) or _behind_ingress(view, host)


def _behind_ingress(view: ClusterView, host: str) -> Obj | None:
    """The Service an Ingress of this cluster routes a public host name to: a client that calls
    `sso.example.io` calls the Keycloak behind the cluster's own Ingress."""
    bare = host.rsplit(":", 1)[0].lower()
    if "." not in bare:
        return None
    for ingress in view.everywhere("Ingress"):
        for rule in (ingress.get("spec") or {}).get("rules") or []:
            if str(rule.get("host") or "").lower() != bare:
                continue
            for path in ((rule.get("http") or {}).get("paths") or []):
                backend = ((path.get("backend") or {}).get("service") or {}).get("name")
                if backend:
                    view.widen([meta(ingress).get("namespace") or ""])
                    return view.find("Service", backend, meta(ingress).get("namespace"))
    return None


def _dns_parts(host: str, namespace: str) -> tuple[str | None, str, str]:
    """(pod hostname, Service, namespace) of a cluster DNS name: `svc`, `svc.ns`,
    `svc.ns.svc[.cluster.local]`, or a StatefulSet pod's `pod.svc.ns.svc[...]`."""
    parts = host.split(".")
    if "svc" in parts and parts.index("svc") >= 2:
        at = parts.index("svc")
        return (parts[at - 3] if at >= 3 else None), parts[at - 2], parts[at - 1]
    return None, parts[0], parts[1] if len(parts) > 1 else namespace


def port_dropped(view: ClusterView, finding: Finding, service: Obj, port: int,
                  findings: list[Finding], by_object: dict[str, list[Finding]]) -> None:
    """The client asks a port the Service no longer exposes, while the pods behind it still
    serve it (a chart upgrade that dropped it): the Service is what to fix, not the client."""
    selector = (service.get("spec") or {}).get("selector") or {}
    namespace, name = meta(service).get("namespace"), meta(service)["name"]
    served = {(p.get("containerPort"), p.get("name")) for pod in view.items("Pod", namespace)
              if selector and matches_selector({"matchLabels": selector},
                                               meta(pod).get("labels") or {})
              for c in (pod.get("spec") or {}).get("containers") or []
              for p in c.get("ports") or []}
    named = next((n for number, n in served if number == port), None)
    if not any(number == port for number, _ in served):
        return
    ref = str(ObjectRef("Service", namespace, name))
    ports = ", ".join(str(p.get("port")) for p in (service.get("spec") or {}).get("ports") or [])
    cause = Finding(
        category="dependency_unreachable", object=ref,
        summary=f"service {name} no longer exposes port {port}",
        explanation=(f"Service {name} exposes only {ports}, while its pods still serve {port}"
                     + (f" ({named})" if named else "") + f": clients that call {name}:{port} "
                     "get nowhere (a port dropped from the Service, e.g. by a chart upgrade)"),
        evidence=[Evidence(source="spec", object=ref, detail=f"ports: {ports}; the pods "
                           f"serve containerPort {port}"), *finding.evidence[:1]],
        confidence=0.9, impact=finding.impact, related=[finding.object])
    cause.facts = {"service_missing_port": str(port), "service": name,
                   "port_name": named or ""}
    record(findings, by_object, cause)
    set_cause(finding, cause)


# protocols where the server speaks first: a mesh proxy told the port is HTTP waits for a
# request the client never sends, and the client waits for the server's greeting
SERVER_FIRST = {3306: "MySQL", 4222: "NATS", 25: "SMTP", 587: "SMTP", 21: "FTP", 5222: "XMPP"}
_MESH_PROXIES = ("istio-proxy", "linkerd-proxy")


def misnamed_protocol(view: ClusterView, finding: Finding, service: Obj, port: int,
                      findings: list[Finding], by_object: dict[str, list[Finding]]) -> bool:
    """A Service port named (or appProtocol) http/grpc for a server-first protocol, called by a
    client inside a service mesh: the proxy treats the bytes as HTTP and the connection hangs.
    The Service's port name is what to fix."""
    protocol = SERVER_FIRST.get(port)
    entry = next((p for p in (service.get("spec") or {}).get("ports") or []
                  if p.get("port") == port), None)
    said = str((entry or {}).get("appProtocol") or (entry or {}).get("name") or "")
    client = next((p for p in view.items("Pod") if pod_ref(p) in finding.related), None)
    meshed = client is not None and any(
        c.get("name") in _MESH_PROXIES for c in [*((client.get("spec") or {}).get(
            "containers") or []), *((client.get("spec") or {}).get("initContainers") or [])])
    if not protocol or not meshed or not said.lower().startswith(("http", "grpc")):
        return False
    namespace, name = meta(service).get("namespace"), meta(service)["name"]
    ref = str(ObjectRef("Service", namespace, name))
    cause = Finding(
        category="dependency_unreachable", object=ref,
        summary=f"service {name}: port {port} is declared as {said}, but it carries {protocol}",
        explanation=(f"Service {name} names port {port} `{said}`, so the mesh proxy beside "
                     f"{finding.summary.split(':')[0]} handles it as HTTP; {protocol} is a "
                     "server-first protocol (the server speaks first), so the proxy waits for a "
                     "request, the client for the server's greeting, and every connection "
                     "times out"),
        evidence=[Evidence(source="spec", object=ref, detail=f"ports: {port} name {said}"),
                  *finding.evidence[:1]],
        confidence=0.85, impact=finding.impact, related=[finding.object])
    cause.facts = {"port_name": said, "port": str(port), "protocol": protocol, "service": name}
    record(findings, by_object, cause)
    set_cause(finding, cause)
    return True


def external_name(view: ClusterView, finding: Finding, service: Obj,
                   findings: list[Finding], by_object: dict[str, list[Finding]]) -> None:
    """A Service of type ExternalName is a DNS alias: when its name fails to resolve (or its
    target cannot be reached), the alias's target is what fails, and the Service is where it is
    set. Sibling aliases that point elsewhere (a blue/green switch half done) are named."""
    namespace, name = meta(service).get("namespace"), meta(service)["name"]
    external = (service.get("spec") or {}).get("externalName") or "?"
    ref = str(ObjectRef("Service", namespace, name))
    siblings = [f"{meta(s)['name']} -> {(s.get('spec') or {}).get('externalName')}"
                for s in view.items("Service", namespace) if s is not service
                and (s.get("spec") or {}).get("type") == "ExternalName"
                and (s.get("spec") or {}).get("externalName") != external]
    dns = finding.facts.get("signature") in DNS_FAILURES
    cause = next((f for f in by_object.get(ref, []) if f.facts.get("external_name")), None)
    if cause is None:
        cause = Finding(
            category="dependency_unreachable", object=ref,
            summary=f"service {name} is an alias for {external}, which "
                    + ("does not resolve" if dns else "cannot be reached"),
            explanation=(f"Service {name} is of type ExternalName: cluster DNS answers "
                         f"{name}.{namespace}.svc with a CNAME to {external}, which "
                         + ("does not resolve (the host it names is gone)" if dns else
                            "its clients cannot reach")
                         + (f"; other aliases here point elsewhere: {', '.join(siblings[:3])}"
                            if siblings else "")),
            evidence=[Evidence(source="spec", object=ref,
                               detail=f"type: ExternalName, externalName: {external}"),
                      *finding.evidence[:1]],
            confidence=0.9, impact=finding.impact, related=[finding.object])
        cause.facts = {"external_name": external, "service": name}
        record(findings, by_object, cause)
    set_cause(finding, cause)


def governing_missing(view: ClusterView, finding: Finding, host: str,
                       findings: list[Finding], by_object: dict[str, list[Finding]]) -> bool:
    """A StatefulSet pod's own DNS name (`kafka-2.kafka-headless.streaming.svc`) that does not
    resolve because the headless Service the StatefulSet names in serviceName is gone: every
    client that was handed those names (Kafka's advertised listeners, a database's replicas)
    fails, while the pods themselves look fine. The StatefulSet is the root."""
    pod, service, namespace = _dns_parts(host, ObjectRef.parse(finding.object).namespace_text)
    if pod is None:
        return False
    view.widen([namespace])
    owner = next((s for s in view.items("StatefulSet", namespace)
                  if (s.get("spec") or {}).get("serviceName") == service), None)
    if owner is None or view.find("Service", service, namespace) is not None:
        return False
    ref = str(ObjectRef("StatefulSet", namespace, meta(owner)["name"]))
    cause = next((f for f in by_object.get(ref, []) if f.facts.get("governing")), None)
    if cause is None:
        parsed = HOST_PORT.match(finding.facts.get("target") or "")
        port = parsed.group("port") if parsed else None
        ports = ", ".join(str(p.get("containerPort")) for c in (
            ((owner.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
            "containers") or [] for p in c.get("ports") or [] if p.get("containerPort"))
        cause = Finding(
            category="dependency_unreachable", object=ref,
            summary=f"{meta(owner)['name']}: its headless Service {service} is missing",
            explanation=(f"StatefulSet {meta(owner)['name']} names Service {service} in "
                         f"serviceName, and no Service {service} exists in {namespace}: the "
                         f"per-pod DNS names ({host}{':' + port if port else ''}) its clients "
                         "are given no longer resolve, though the pods run"
                         + (f" and listen on {ports}" if ports else "")),
            evidence=[Evidence(source="spec", object=ref, detail=f"serviceName: {service} "
                               f"(no such Service in {namespace})"), *finding.evidence[:1]],
            confidence=0.9, impact=finding.impact, related=[finding.object])
        cause.facts = {"governing": service, "target": host}
        record(findings, by_object, cause)
    return hang_on(finding, cause)


def missing_service_note(view: ClusterView, host: str, namespace: str,
                         port: str | None = None) -> str:
    """"; there is no Service named X in namespace N", with the Services there that look meant:
    those on the port the caller dials (a Service renamed by a chart change keeps its port),
    else those of the same stem, else the closest name."""
    _, name, ns = _dns_parts(host, namespace)
    parts = [name]
    if ns not in view.namespaces and len(parts) > 1:
        return f"; namespace {ns} is outside what was examined"
    services = view.items("Service", ns)
    names = [meta(s)["name"] for s in services]
    from rapidfuzz import process

    stem = parts[0].split("-")[0]
    kin = sorted(n for n in names if n.split("-")[0] == stem)  # redis-queue: redis-master...
    best = process.extractOne(parts[0], names) if names else None
    on_port = sorted(meta(s)["name"] for s in services if port and port.isdigit() and any(
        p.get("port") == int(port) for p in (s.get("spec") or {}).get("ports") or []))
    if 0 < len(on_port) <= 3:
        hint = f"; Services there on port {port}: {', '.join(on_port)}"
    elif len(kin) > 1:
        hint = f"; Services there with that stem: {', '.join(kin[:6])}"
    else:
        hint = f"; the closest is {best[0]}" if best and best[1] >= 60 else ""
    return f"; there is no Service named {parts[0]} in namespace {ns}{hint}"
