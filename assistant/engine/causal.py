"""The causal chain: link each symptom to the finding that explains it, so the root is reported,
not the loudest symptom.

Links followed: a dependency named in a log line -> its Service -> the workload behind it;
pods on a NotReady or pressured node -> the node; pods pending on a claim -> the claim;
a Service without ready endpoints -> its pods' own problem; a stuck rollout -> its new pods
(the rollout is the root while the old ReplicaSet serves, the pods' failure when nothing does).
"""

from __future__ import annotations

import ipaddress
import re

from tools import Forbidden, KindUnavailable, NotFound, Obj, Unauthorized, Unreachable
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .listening import cert_volume
from .pods import pod_ref
from .reading import Said
from .view import ClusterView
from .workloads import pod_claims, workload_ref

_TIMEOUTS = ("connection-timeout", "nginx-upstream-timeout", "request-timeout", "context-deadline")
_SVC_NAMESPACE = re.compile(r"\.([a-z0-9-]+)\.svc(?:\.|$)")
_HOST_PORT = re.compile(r"^(?P<host>[\w.-]+?)(?::(?P<port>\d+))?$")


def link(view: ClusterView, findings: list[Finding]) -> None:
    """Set `caused_by` on findings explained by another finding (in place)."""
    by_object: dict[str, list[Finding]] = {}
    for finding in findings:
        by_object.setdefault(finding.object, []).append(finding)
    pod_owner = {pod_ref(p): workload_ref(view, p) for p in view.items("Pod")}
    for finding in findings:  # a finding about an object may also hang off what it affects
        for related in finding.related:
            if not related.startswith("Pod/") and finding not in by_object.get(related, []):
                by_object.setdefault(related, []).append(finding)
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
        if finding.category == "storage_full" and finding.object.startswith(
                "PersistentVolumeClaim/"):  # the workloads that write to the full volume
            ns, name = finding.object.split("/")[1:]
            finding.facts.update(claim_facts(view, ns, name))
            for pod in view.items("Pod", ns):
                if name in pod_claims(pod):
                    for symptom in by_object.get(pod_owner[pod_ref(pod)], []):
                        if symptom.category == "storage_full" and symptom is not finding:
                            _set(symptom, finding)
        if finding.category == "service_no_endpoints":
            owners = {pod_owner.get(p, p) for p in finding.related}
            for owner in owners:
                for cause in by_object.get(owner or "", []):
                    if cause.category not in ("service_no_endpoints",):
                        _set(finding, cause)
                        break
        if finding.facts.get("competing"):  # pods that start and stop with every resize
            for symptom in by_object.get(finding.facts["workload"], []):
                if symptom.category == "readiness_probe":
                    _set(symptom, finding)
        if finding.category == "rollout_stuck":
            for candidate in view.items("Pod", finding.object.split("/")[1]):
                if pod_owner.get(pod_ref(candidate)) == finding.object:
                    for cause in by_object.get(finding.object, []):
                        if cause is finding or cause.category == "rollout_stuck":
                            continue
                        if finding.facts.get("serving") == "0":  # no old version serves: the
                            _set(finding, cause)  # pods' failure is the outage, not the rollout
                        else:
                            finding.explanation += f"; the new pods fail: {cause.explanation}"
                            if cause.facts.get("no_room_to_surge"):
                                finding.facts["no_room_to_surge"] = "true"
                            _set(cause, finding)
                    break
    for finding in list(findings):
        if finding.category == "hpa_limited" and finding.caused_by is None:
            expired = next((m for m in (_EXPIRED_AT_KUBELET.search(e.detail)
                                        for e in finding.evidence) if m), None)
            if expired:  # metrics-server cannot scrape a kubelet whose certificate expired
                _to_a_kubelet(view, finding, expired.group(1), KUBELET_PORT, findings,
                              by_object)
        if finding.category == "tls_certificate" and finding.facts.get("target") and \
                finding.facts.get("signature") == "x509-expired":
            _to_the_server(view, finding, findings, by_object)
        if finding.category == "tls_certificate" and finding.caused_by is None:
            own = _validity(view, [p for p in view.items("Pod", finding.object.split("/")[1])
                                   if workload_ref(view, p) == finding.object])
            if own and own not in finding.explanation:
                finding.explanation += f"; the certificate it loads: {own}"
        if finding.category not in _FOLLOWED:
            continue
        if finding.category == "dependency_unreachable" and _blocked_by_egress(view, finding):
            continue
        if finding.facts.get("target"):
            _follow_dependency(view, finding, by_object, findings)


def full_claims(view: ClusterView, findings: list[Finding]) -> list[Finding]:
    """The PersistentVolumeClaims behind workloads that crash on a full or read-only file
    system: the claim mounted where the log line writes, else the pod's only claim."""
    found: dict[str, Finding] = {}
    known = {f.object for f in findings}
    for finding in [f for f in findings if f.category == "storage_full"
                    and not f.object.startswith("PersistentVolumeClaim/")]:
        lines = " ".join(e.detail for e in finding.evidence)
        for pod in (p for p in view.items("Pod") if pod_ref(p) in finding.related):
            claim = _claim_written(pod, lines)
            ref = f"PersistentVolumeClaim/{meta(pod).get('namespace')}/{claim}"
            if claim is None or ref in known or ref in found:
                continue
            found[ref] = Finding(
                category="storage_full", object=ref, summary=f"pvc {claim}: writes fail",
                explanation=(f"the volume of PersistentVolumeClaim {claim}, mounted by "
                             f"{pod_ref(pod)}, is full or read-only: {finding.explanation}"),
                evidence=finding.evidence[:3], confidence=finding.confidence,
                impact=finding.impact, related=[pod_ref(pod)])
            found[ref].facts = {"claim": claim}
    return list(found.values())


def _claim_written(pod: Obj, lines: str) -> str | None:
    spec = pod.get("spec") or {}
    claims = {v.get("name"): v["persistentVolumeClaim"].get("claimName")
              for v in spec.get("volumes") or [] if v.get("persistentVolumeClaim")}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for mount in container.get("volumeMounts") or []:
            path = mount.get("mountPath")
            if mount.get("name") in claims and path and path != "/" and path in lines:
                return str(claims[mount["name"]])
    return str(next(iter(claims.values()))) if len(set(claims.values())) == 1 else None


def claim_facts(view: ClusterView, namespace: str, name: str) -> dict[str, str]:
    """A claim's size and whether its StorageClass lets it grow (what "grow it" rests on)."""
    claim = view.find("PersistentVolumeClaim", name, namespace) or {}
    size = ((claim.get("status") or {}).get("capacity") or {}).get("storage") or (
        ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    class_name = (claim.get("spec") or {}).get("storageClassName") or ""
    storage_class = view.find("StorageClass", class_name) if class_name else None
    grows = "" if storage_class is None else (
        "true" if storage_class.get("allowVolumeExpansion") else "false")
    return {"capacity": str(size or ""), "storage_class": class_name, "expandable": grows}


_DNS_FAILURES = ("dns-no-such-host", "dns-timeout")
# findings whose cause may be the dependency their log names
_FOLLOWED = ("dependency_unreachable", "slow_dependency", "storage_full", "init_container")


def _blocked_by_egress(view: ClusterView, finding: Finding) -> bool:
    """Whether an egress NetworkPolicy on the client's pods forbids what the failing call needs:
    DNS (port 53) for a name that does not resolve, else the dependency's port. The policy
    becomes the finding's root object."""
    clients = [p for p in view.items("Pod") if pod_ref(p) in finding.related]
    if not clients:
        return False
    dns = finding.facts.get("signature") in _DNS_FAILURES
    parsed = _HOST_PORT.match(finding.facts.get("target") or "")
    port = "53" if dns else (parsed.group("port") if parsed else None)
    if port is None:
        return False
    namespace = meta(clients[0]).get("namespace")
    selecting = [p for p in view.items("NetworkPolicy", namespace)
                 if "Egress" in ((p.get("spec") or {}).get("policyTypes") or [])
                 and any(matches_selector((p.get("spec") or {}).get("podSelector") or {},
                                          meta(c).get("labels") or {}) for c in clients)]
    host = parsed.group("host") if parsed else ""
    dns_home = view.home_of_address(host) if host else None
    local = dns and dns_home is None and _LINK_LOCAL.match(host) is not None  # NodeLocal DNS
    dns_home = dns_home or "kube-system"
    address = _ip(host) if not dns and (finding.facts.get("signature") in _TIMEOUTS or  # by IP,
                                        _TIMED_OUT.search(finding.explanation)) else None  # dropped
    if not selecting or any(_allows_port(p, int(port)) and (
            (_reaches_address(p, host, int(port)) if address else True) if not dns else
            (_reaches_address(p, host) if local else _reaches_namespace(view, p, dns_home)))
            for p in selecting):
        return False
    policy = selecting[0]
    name = meta(policy)["name"]
    ref = f"NetworkPolicy/{namespace}/{name}"
    client = finding.object.split("/")[-1]
    what = (f"DNS (port 53, to kube-dns in namespace {dns_home}"
            f"{_unmatched(policy, dns_home)})") if dns else f"port {port}"
    if address:
        blocks = ", ".join(b for b in _blocks(policy, int(port)))
        what = (f"{host}:{port}" + (f" (its rules for port {port} admit only {blocks}, which "
                                    f"do not hold {host})" if blocks else ""))
    if local:
        what = (f"DNS at {host}:53, where the pods resolve names (a node-local DNS cache on "
                "each node, not a pod: only an ipBlock such as "
                f"{host}/32 admits it, and its rules admit kube-dns pods only)")
    finding.facts.update(policy=name, port=port, client=client, egress="true",
                         dns="true" if dns else "", local_dns=host if local else "")
    finding.category = "network_policy"
    finding.explanation = (f"the NetworkPolicy {name} restricts the egress of {client}'s pods "
                           f"and allows no traffic to {what}, so {finding.explanation}")
    finding.evidence.append(Evidence(source="spec", object=ref, detail=_egress_line(policy)))
    finding.related.append(finding.object)
    finding.object = ref
    finding.confidence = max(finding.confidence, 0.85)
    return True


def _unmatched(policy: Obj, namespace: str) -> str:
    """The namespaceSelector of a policy's DNS rule, said when it is what keeps DNS out."""
    for rule in (policy.get("spec") or {}).get("egress") or []:
        for peer in rule.get("to") or []:
            labels = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
            if labels:
                said = ",".join(f"{k}={v}" for k, v in labels.items())
                return (f"; its rule admits only namespaces labelled {said}, and {namespace} "
                        "carries no such label")
    return ""


def _reaches_namespace(view: ClusterView, policy: Obj, target_ns: str) -> bool:
    """Whether some egress rule of the policy lets traffic reach pods of `target_ns` (the
    DNS Service's namespace) on port 53: no `to`, an ipBlock (given the benefit of the doubt),
    or a namespaceSelector that the namespace's labels match. On a cluster that does not label
    namespaces by name (before 1.21), `name: kube-system` matches nothing."""
    own = meta(policy).get("namespace")
    try:
        labels = meta(view.cluster.get("Namespace", target_ns)).get("labels") or {}
    except (Forbidden, NotFound, KindUnavailable, Unreachable, Unauthorized):
        return True  # the namespace's labels cannot be read: say nothing against it
    for rule in (policy.get("spec") or {}).get("egress") or []:
        if rule.get("ports") and not any(str(p.get("port")) == "53" or p.get("port") is None
                                         for p in rule["ports"]):
            continue
        peers = rule.get("to") or []
        if not peers:
            return True
        for peer in peers:
            spaces = peer.get("namespaceSelector")
            if "ipBlock" in peer:
                return True
            if spaces is None and own == target_ns:
                return True
            if spaces is not None and matches_selector(spaces, labels):
                return True
    return False


def _blocks(policy: Obj, port: int) -> list[str]:
    """The ipBlock CIDRs the policy's egress rules admit on a port."""
    return [peer["ipBlock"].get("cidr", "?") for rule in (policy.get("spec") or {}).get("egress")
            or [] if not rule.get("ports") or any(str(p.get("port")) == str(port)
                                                  for p in rule["ports"])
            for peer in rule.get("to") or [] if peer.get("ipBlock")]


_LINK_LOCAL = re.compile(r"^169\.254\.\d{1,3}\.\d{1,3}$")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _reaches_address(policy: Obj, address: str, port: int = 53) -> bool:
    """Whether some egress rule of the policy admits an address outside the pod network on a
    port: a rule with no `to`, or an ipBlock that holds it (and does not except it). (A pod
    selector may match the pods behind a cluster IP; an IP outside the cluster's needs a block.)"""
    ip = ipaddress.ip_address(address)
    for rule in (policy.get("spec") or {}).get("egress") or []:
        if rule.get("ports") and not any(str(p.get("port")) == str(port) or p.get("port") is None
                                         for p in rule["ports"]):
            continue
        peers = rule.get("to") or []
        if not peers:
            return True
        for peer in peers:
            block = peer.get("ipBlock") or {}
            try:
                if block and ip in ipaddress.ip_network(block.get("cidr", ""), strict=False) \
                        and not any(ip in ipaddress.ip_network(e, strict=False)
                                    for e in block.get("except") or []):
                    return True
            except ValueError:
                return True  # a block it cannot read: say nothing against it
    return False


def _allows_port(policy: Obj, port: int) -> bool:
    for rule in (policy.get("spec") or {}).get("egress") or []:
        ports = rule.get("ports")
        if not ports:
            return True
        for entry in ports:
            value = entry.get("port")
            end = entry.get("endPort") or value
            if value is None or (str(value).isdigit() and int(value) <= port <= int(end)):
                return True
    return False


def _egress_line(policy: Obj) -> str:
    spec = policy.get("spec") or {}
    selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
    allowed = [f"{p.get('protocol', 'TCP')}/{p.get('port', 'any')}"
               for rule in spec.get("egress") or [] for p in rule.get("ports") or [{}]]
    return (f"podSelector {selector}; policyTypes Egress; egress allowed only to ports "
            f"{', '.join(allowed) or 'none'}")


def _set(symptom: Finding, cause: Finding) -> None:
    if symptom.caused_by is None and cause.caused_by != symptom.object:
        symptom.caused_by = cause.object


def _follow_dependency(view: ClusterView, finding: Finding,
                       by_object: dict[str, list[Finding]], findings: list[Finding]) -> None:
    target = finding.facts["target"]
    namespace = finding.object.split("/")[1]
    parsed = _HOST_PORT.match(target)
    if not parsed:
        return
    host, port = parsed.group("host"), parsed.group("port")
    service = _service_for(view, host, namespace)
    if service is None and _to_the_pod_at(view, finding, host, by_object):
        return
    if service is None:
        if finding.facts.get("signature") == "dns-no-such-host" and not _governing_missing(
                view, finding, host, findings, by_object):
            finding.explanation += _missing_service_note(view, host, namespace)
        return
    svc_ref = f"Service/{meta(service).get('namespace')}/{meta(service)['name']}"
    finding.related.append(svc_ref)
    if (service.get("spec") or {}).get("type") == "ExternalName":
        _external_name(view, finding, service, findings, by_object)
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
        _port_dropped(view, finding, service, int(port), findings, by_object)
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
        client = next((p for p in view.items("Pod") if pod_ref(p) in finding.related), None)
        labels = ",".join(f"{k}={v}" for k, v in sorted(
            (meta(client).get("labels") or {}).items()) if k != "pod-template-hash") \
            if client else ""
        finding.explanation = (f"the NetworkPolicy {meta(policy)['name']} selects the pods "
                               f"behind {meta(service)['name']} and admits no traffic from "
                               f"{finding.summary.split(':')[0]}"
                               + (f" (its pods carry {labels})" if labels else "")
                               + f": {finding.explanation}")
        finding.evidence.append(Evidence(source="spec", object=ref,
                                         detail=_policy_line(policy)))
        return


def _to_the_pod_at(view: ClusterView, finding: Finding, address: str,
                   by_object: dict[str, list[Finding]]) -> bool:
    """A call to a pod's own IP (a client that caches endpoints, or a headless Service) leads to
    that pod's workload: when it has a problem (the pod was evicted, crashed), that explains it."""
    pod = next((p for p in view.items("Pod") if address in {
        (p.get("status") or {}).get("podIP"),
        *(i.get("ip") for i in (p.get("status") or {}).get("podIPs") or [])}), None)
    if pod is None:
        return False
    owner = workload_ref(view, pod)
    cause = next((f for f in by_object.get(owner, []) if f is not finding), None)
    if cause is None or owner == finding.object:
        return False
    finding.related.append(pod_ref(pod))
    finding.explanation += (f"; {address} is pod {meta(pod)['name']} of {owner}, which has a "
                            f"problem itself: {cause.summary}")
    _set(finding, cause)
    return True


def _to_the_server(view: ClusterView, finding: Finding, findings: list[Finding],
                   by_object: dict[str, list[Finding]]) -> None:
    """An expired (or not yet valid) certificate that a client rejects is the server's: the
    Service the client calls leads to the workload that serves it, and to the Secret it mounts."""
    parsed = _HOST_PORT.match(finding.facts["target"])
    if parsed and _to_a_kubelet(view, finding, parsed.group("host"), parsed.group("port"),
                                findings, by_object):
        return
    named = _SVC_NAMESPACE.search(parsed.group("host")) if parsed else None
    if named:  # the server may live in a namespace the question did not name
        view.widen([named.group(1)])
    service = _service_for(view, parsed.group("host"), finding.object.split("/")[1]) \
        if parsed else None
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    if service is None or not selector:
        return
    backing = [p for p in view.items("Pod", meta(service).get("namespace"))
               if matches_selector({"matchLabels": selector}, meta(p).get("labels") or {})]
    if not backing:
        return
    server = workload_ref(view, backing[0])
    if server == finding.object:
        return
    cause = next((f for f in by_object.get(server, []) if f.category == "tls_certificate"), None)
    if cause is None:
        source = next((cert_volume(p, c.get("name", ""), "", trust=False) for p in backing
                       for c in (p.get("spec") or {}).get("containers") or []
                       if cert_volume(p, c.get("name", ""), "", trust=False)), None)
        short = server.split("/")[-1]
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
    expiry = _validity(view, backing)
    if expiry and expiry not in cause.explanation:
        cause.explanation += f" ({expiry})"
    _set(finding, cause)


KUBELET_PORT = "10250"
_NODE_NAMED = re.compile(r"\bnode=\\?\"?([\w.-]+)")  # metrics-server: node="k8s-worker-02"
_EXPIRED_AT_KUBELET = re.compile(rf"([\w.-]+):{KUBELET_PORT}\b[^\n]*?(?:certificate has expired|"
                                 r"not yet valid|CertificateExpired)", re.IGNORECASE)


def _to_a_kubelet(view: ClusterView, finding: Finding, host: str, port: str | None,
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
    ref = f"Node/-/{name}"
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
        findings.append(cause)
        by_object.setdefault(ref, []).append(cause)
    _set(finding, cause)
    return True


_WHEN = r"([\dT:.Z-]{10,}|[A-Z][a-z]{2} +\d+ [\d:]{8} \d{4}(?: GMT)?)"  # ISO or openssl's
_VALIDITY = re.compile(rf"not[_ ]?after\W+{_WHEN}|not[_ ]?before\W+{_WHEN}", re.IGNORECASE)


def _validity(view: ClusterView, pods: list[Obj]) -> str | None:
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


def dependency_pods(view: ClusterView, said: list[Said], clients: list[Obj]) -> list[Obj]:
    """The pods behind the Services that the clients' logs name: whose own logs say why."""
    seen = {pod_ref(p) for p in clients}
    found: list[Obj] = []
    for item in said:
        parsed = _HOST_PORT.match(item.target or "")
        if not parsed:
            continue
        service = _service_for(view, parsed.group("host"), meta(item.pod).get("namespace", ""))
        selector = ((service or {}).get("spec") or {}).get("selector") or {}
        if not selector:
            continue
        for pod in view.items("Pod", meta(service).get("namespace") if service else None):
            if pod_ref(pod) not in seen and matches_selector(
                    {"matchLabels": selector}, meta(pod).get("labels") or {}):
                seen.add(pod_ref(pod))
                found.append(pod)
    return found


def _service_for(view: ClusterView, host: str, namespace: str) -> Obj | None:
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
    return view.find("Service", name, ns)


def _dns_parts(host: str, namespace: str) -> tuple[str | None, str, str]:
    """(pod hostname, Service, namespace) of a cluster DNS name: `svc`, `svc.ns`,
    `svc.ns.svc[.cluster.local]`, or a StatefulSet pod's `pod.svc.ns.svc[...]`."""
    parts = host.split(".")
    if "svc" in parts and parts.index("svc") >= 2:
        at = parts.index("svc")
        return (parts[at - 3] if at >= 3 else None), parts[at - 2], parts[at - 1]
    return None, parts[0], parts[1] if len(parts) > 1 else namespace


def _port_dropped(view: ClusterView, finding: Finding, service: Obj, port: int,
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
    ref = f"Service/{namespace}/{name}"
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
    findings.append(cause)
    by_object.setdefault(ref, []).append(cause)
    _set(finding, cause)


def _external_name(view: ClusterView, finding: Finding, service: Obj,
                   findings: list[Finding], by_object: dict[str, list[Finding]]) -> None:
    """A Service of type ExternalName is a DNS alias: when its name fails to resolve (or its
    target cannot be reached), the alias's target is what fails, and the Service is where it is
    set. Sibling aliases that point elsewhere (a blue/green switch half done) are named."""
    namespace, name = meta(service).get("namespace"), meta(service)["name"]
    external = (service.get("spec") or {}).get("externalName") or "?"
    ref = f"Service/{namespace}/{name}"
    siblings = [f"{meta(s)['name']} -> {(s.get('spec') or {}).get('externalName')}"
                for s in view.items("Service", namespace) if s is not service
                and (s.get("spec") or {}).get("type") == "ExternalName"
                and (s.get("spec") or {}).get("externalName") != external]
    dns = finding.facts.get("signature") in _DNS_FAILURES
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
        findings.append(cause)
        by_object.setdefault(ref, []).append(cause)
    _set(finding, cause)


def _governing_missing(view: ClusterView, finding: Finding, host: str,
                       findings: list[Finding], by_object: dict[str, list[Finding]]) -> bool:
    """A StatefulSet pod's own DNS name (`kafka-2.kafka-headless.streaming.svc`) that does not
    resolve because the headless Service the StatefulSet names in serviceName is gone: every
    client that was handed those names (Kafka's advertised listeners, a database's replicas)
    fails, while the pods themselves look fine. The StatefulSet is the root."""
    pod, service, namespace = _dns_parts(host, finding.object.split("/")[1])
    if pod is None:
        return False
    view.widen([namespace])
    owner = next((s for s in view.items("StatefulSet", namespace)
                  if (s.get("spec") or {}).get("serviceName") == service), None)
    if owner is None or view.find("Service", service, namespace) is not None:
        return False
    ref = f"StatefulSet/{namespace}/{meta(owner)['name']}"
    cause = next((f for f in by_object.get(ref, []) if f.facts.get("governing")), None)
    if cause is None:
        parsed = _HOST_PORT.match(finding.facts.get("target") or "")
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
        findings.append(cause)
        by_object.setdefault(ref, []).append(cause)
    elif finding.object not in cause.related:
        cause.related.append(finding.object)
    _set(finding, cause)
    return True


def _missing_service_note(view: ClusterView, host: str, namespace: str) -> str:
    _, name, ns = _dns_parts(host, namespace)
    parts = [name]
    if ns not in view.namespaces and len(parts) > 1:
        return f"; namespace {ns} is outside what was examined"
    names = [meta(s)["name"] for s in view.items("Service", ns)]
    from rapidfuzz import process

    stem = parts[0].split("-")[0]
    kin = sorted(n for n in names if n.split("-")[0] == stem)  # redis-queue: redis-master...
    best = process.extractOne(parts[0], names) if names else None
    if len(kin) > 1:
        hint = f"; Services there with that stem: {', '.join(kin[:6])}"
    else:
        hint = f"; the closest is {best[0]}" if best and best[1] >= 60 else ""
    return f"; there is no Service named {parts[0]} in namespace {ns}{hint}"


def _isolating_policies(view: ClusterView, backing: list[Obj], finding: Finding) -> list[Obj]:
    """The ingress policies that drop a client's packets to the pods behind a Service (a
    timeout, not a refusal): traffic passes when any policy selecting those pods admits the
    client on that port; when none does, the ones with rules (the allow-list the client misses)
    come before plain deny-all ones."""
    timed_out = finding.facts.get("signature") in _TIMEOUTS or bool(
        _TIMED_OUT.search(finding.explanation))
    if not backing or not timed_out:
        return []
    client = next((p for p in view.items("Pod") if pod_ref(p) in finding.related), None)
    client_labels = meta(client).get("labels") or {} if client else {}
    client_ns = meta(client).get("namespace") if client else None
    parsed = _HOST_PORT.match(finding.facts.get("target", ""))
    port = int(parsed.group("port")) if parsed and parsed.group("port") else None
    selecting = []
    for policy in view.items("NetworkPolicy"):
        spec = policy.get("spec") or {}
        if "Ingress" not in (spec.get("policyTypes") or ["Ingress"]):
            continue
        if not any(matches_selector(spec.get("podSelector") or {}, meta(p).get("labels") or {})
                   for p in backing):
            continue
        if any(_on_port(rule, port) and any(
                _admits(source, meta(policy).get("namespace"), client_ns, client_labels)
                for source in rule.get("from") or [{}]) for rule in spec.get("ingress") or []):
            return []  # one policy lets the client in: policies add up
        selecting.append(policy)
    return sorted(selecting, key=lambda p: (
        not any(_on_port(r, port) for r in (p.get("spec") or {}).get("ingress") or []),
        not (p.get("spec") or {}).get("ingress")))


_TIMED_OUT = re.compile(r"time(?:d)? ?out|timeout expired", re.IGNORECASE)


def _on_port(rule: Obj, port: int | None) -> bool:
    """Whether an ingress rule covers the port (no ports: all; a named port: maybe)."""
    ports = rule.get("ports") or []
    return not ports or port is None or any(
        not isinstance(p.get("port"), int) or p.get("port") == port
        or p.get("port") <= port <= (p.get("endPort") or p.get("port")) for p in ports)


def _admits(source: Obj, policy_ns: str | None, client_ns: str | None,
            client_labels: dict[str, str]) -> bool:
    """Whether one `from` entry of an ingress rule lets the client in. A podSelector alone
    selects pods of the policy's own namespace; a namespaceSelector names others (by the
    kubernetes.io/metadata.name label when it says which; any other label is given the benefit
    of the doubt, as namespaces' labels are not read)."""
    if not source:
        return True
    if "ipBlock" in source and len(source) == 1:
        return False
    spaces = source.get("namespaceSelector")
    if spaces is None:
        in_namespace = client_ns == policy_ns
    else:
        named = (spaces.get("matchLabels") or {}).get("kubernetes.io/metadata.name")
        in_namespace = named is None or named == client_ns
    pods = source.get("podSelector")
    return in_namespace and (pods is None or matches_selector(pods, client_labels))


def _policy_line(policy: Obj) -> str:
    spec = policy.get("spec") or {}
    selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
    sources = [_selector_words(s.get("podSelector") or {})
               for rule in spec.get("ingress") or [] for s in rule.get("from") or []]
    return (f"podSelector {selector}; ingress only from "
            f"{'; '.join(s for s in sources if s) or 'nothing'}")


def _selector_words(selector: Obj) -> str:
    """A label selector as kubectl writes it: `app=api,tier in (web, edge)`."""
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        values = ", ".join(str(v) for v in expression.get("values") or [])
        operator = {"In": "in", "NotIn": "notin"}.get(expression.get("operator", ""))
        parts.append(f"{expression.get('key')} {operator} ({values})" if operator
                     else f"{'!' if expression.get('operator') == 'DoesNotExist' else ''}"
                          f"{expression.get('key')}")
    return ",".join(parts)
