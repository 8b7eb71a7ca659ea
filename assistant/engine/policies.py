"""NetworkPolicy reasoning: whether the policies that select a client's pods let its calls out
(egress: DNS to kube-dns or a node-local cache, a database by IP through ipBlocks, a port), and
whether the policies that select a server's pods let the client in (ingress). Policies add up:
traffic passes when any policy that selects the pods admits it."""

from __future__ import annotations

import ipaddress
import re

from tools import Forbidden, KindUnavailable, NotFound, Obj, Unauthorized, Unreachable
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .pod_issues import pod_ref
from .view import ClusterView

TIMEOUTS = ("connection-timeout", "nginx-upstream-timeout", "request-timeout", "context-deadline",
            "mysql-connect-timeout", "envoy-upstream-connect-timeout")


HOST_PORT = re.compile(r"^(?P<host>[\w.-]+?)(?::(?P<port>\d+))?$")


DNS_FAILURES = ("dns-no-such-host", "dns-timeout")


def blocked_by_egress(view: ClusterView, finding: Finding, pods_port: int | None = None) -> bool:
    """Whether an egress NetworkPolicy on the client's pods forbids what the failing call needs:
    DNS (port 53) for a name that does not resolve, else the dependency's port: `pods_port`
    when the call goes to a Service whose port the pods serve on another one (a policy sees the
    packet after the Service rewrote it). The policy becomes the finding's root object."""
    clients = [p for p in view.items("Pod") if pod_ref(p) in finding.related]
    if not clients:
        return False
    dns = finding.facts.get("signature") in DNS_FAILURES
    parsed = HOST_PORT.match(finding.facts.get("target") or "")
    port = "53" if dns else (parsed.group("port") if parsed else None)
    asked = port
    if not dns and pods_port is not None:
        port = str(pods_port)
    if port is None:
        return False
    selecting = _egress_selecting(view, clients)
    host = parsed.group("host") if parsed else ""
    dns_home = view.home_of_address(host) if host else None
    local = dns and dns_home is None and _LINK_LOCAL.match(host) is not None  # NodeLocal DNS
    homes = view.homes_of("coredns") if dns_home is None else []  # where CoreDNS runs
    dns_home = dns_home or ("kube-system" if "kube-system" in homes or not homes else homes[0])
    address = _ip(host) if not dns and (finding.facts.get("signature") in TIMEOUTS or  # by IP,
                                        TIMED_OUT.search(finding.explanation)) else None  # dropped
    proto = "UDP" if dns else "TCP"  # a resolver asks over UDP first
    dns_pods = _dns_pods(view, dns_home, host) if dns else []
    if not selecting or any(_allows_port(p, int(port), proto) and (
            (_reaches_address(p, host, int(port)) if address else True) if not dns else
            (_reaches_address(p, host, 53, proto) if local else
             _reaches_namespace(view, p, dns_home, dns_pods)))
            for p in selecting):
        return False
    tcp_only = [p for p in selecting if dns and _allows_port(p, 53, "TCP")
                and not _allows_port(p, 53, "UDP")]
    target = view.pod_at(host) if host else None
    ruled = sorted(selecting, key=lambda p: (  # a rule for the Service's port meant this call
        not _names_peer(p, target), not (asked != port and _allows_port(p, int(asked or 0))),
        not (p.get("spec") or {}).get("egress")))
    policy = (tcp_only or ruled)[0]  # the one that meant to allow DNS, when one did; else the
    # one whose rules name the destination on other ports (the Sentinel port, not Redis's),
    # then any allow-list, before a plain deny-all (only the namespace's baseline)
    name = meta(policy)["name"]
    ref = str(ObjectRef.of("NetworkPolicy", policy))
    client = ObjectRef.parse(finding.object).name
    what = (f"DNS (port 53, to kube-dns in namespace {dns_home}"
            f"{_unmatched(policy, dns_home, dns_pods)})") if dns else f"port {port}"
    if tcp_only:
        what = ("DNS over UDP: its rule for port 53 admits TCP only (a port's protocol is TCP "
                "unless it says UDP), and lookups go over UDP")
    if address:
        blocks = ", ".join(b for b in _blocks(policy, int(port)))
        what = (f"{host}:{port}" + (f" (its rules for port {port} admit only {blocks}, which "
                                    f"do not hold {host})" if blocks else ""))
    named = _service_at(view, host) if host and not dns else None
    if named:
        what += f" ({named})"
    if local:
        what = (f"DNS at {host}:53, where the pods resolve names (a node-local DNS cache on "
                "each node, not a pod: only an ipBlock such as "
                f"{host}/32 admits it, and its rules admit kube-dns pods only)")
    if asked != port:
        what += (f" (the Service's port {asked} is port {port} on the pods it sends to, and a "
                 "NetworkPolicy sees the pods' port)")
    finding.facts.update(policy=name, port=port, client=client, egress="true",
                         dns="true" if dns else "", local_dns=host if local else "")
    finding.category = "network_policy"
    finding.explanation = (f"the NetworkPolicy {name} restricts the egress of {client}'s pods "
                           f"and allows no traffic to {what}, so {finding.explanation}")
    finding.evidence.append(Evidence(source="spec", object=ref, detail=egress_line(policy)))
    finding.related.append(finding.object)
    finding.object = ref
    finding.confidence = max(finding.confidence, 0.85)
    return True


def _service_at(view: ClusterView, address: str) -> str | None:
    """"the cluster IP of Service minio in storage", when an address is one."""
    service = next((s for s in view.everywhere("Service")
                    if (s.get("spec") or {}).get("clusterIP") == address), None)
    return None if service is None else (f"the cluster IP of Service {meta(service)['name']} "
                                         f"in {meta(service).get('namespace')}")


def egress_drops(view: ClusterView, pods: list[Obj], address: str, port: int) -> Obj | None:
    """The egress NetworkPolicy that selects these pods and, with the others that select them,
    admits no packet to an address outside the pod network (a node's kubelet at :10250) on
    that port; None when one of them admits it, or none selects the pods."""
    if _ip(address) is None or not pods:
        return None
    selecting = _egress_selecting(view, pods)
    if not selecting or any(_allows_port(p, port) and _reaches_address(p, address, port)
                            for p in selecting):
        return None
    return selecting[0]


def _egress_selecting(view: ClusterView, pods: list[Obj]) -> list[Obj]:
    """The egress NetworkPolicies of the pods' namespace that select one of them."""
    namespace = meta(pods[0]).get("namespace")
    return [p for p in view.items("NetworkPolicy", namespace)
            if "Egress" in ((p.get("spec") or {}).get("policyTypes") or [])
            and any(matches_selector((p.get("spec") or {}).get("podSelector") or {},
                                     meta(pod).get("labels") or {}) for pod in pods)]


def _names_peer(policy: Obj, pod: Obj | None) -> bool:
    """Whether one of the policy's egress rules admits the pod by its labels (on some port)."""
    labels = (meta(pod).get("labels") or {}) if pod is not None else None
    return labels is not None and any(
        "podSelector" in peer and matches_selector(peer["podSelector"], labels)
        for rule in (policy.get("spec") or {}).get("egress") or [] for peer in rule.get("to") or [])


def _unmatched(policy: Obj, namespace: str, dns_pods: list[Obj]) -> str:
    """The selector of a policy's DNS rule, said when it is what keeps DNS out: a
    namespaceSelector the namespace's labels miss, or a podSelector the DNS pods' labels miss
    (`k8s-app: coredns`, where CoreDNS's pods carry `k8s-app: kube-dns`)."""
    for rule in _egress_rules(policy, 53, "UDP") or (policy.get("spec") or {}).get("egress") or []:
        for peer in rule.get("to") or []:
            labels = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
            pods = peer.get("podSelector")
            if pods and dns_pods and not any(matches_selector(pods, meta(d).get("labels") or {})
                                             for d in dns_pods):
                said = ",".join(f"{k}={v}" for k, v in (pods.get("matchLabels") or {}).items())
                held = ",".join(f"{k}={v}" for k, v in sorted(
                    (meta(dns_pods[0]).get("labels") or {}).items()) if k != "pod-template-hash")
                return (f"; its rule admits only pods labelled {said or 'by an expression'}, "
                        f"and the DNS pods there are labelled {held}")
            if labels:
                said = ",".join(f"{k}={v}" for k, v in labels.items())
                return (f"; its rule admits only namespaces labelled {said}, and {namespace} "
                        "carries no such label")
    return ""


def _dns_pods(view: ClusterView, namespace: str, address: str) -> list[Obj]:
    """The pods behind the cluster DNS Service (the one at `address`, else kube-dns), read
    cluster-wide; empty when they cannot be told."""
    services = [s for s in view.everywhere("Service") if meta(s).get("namespace") == namespace]
    service = next((s for s in services if (s.get("spec") or {}).get("clusterIP") == address),
                   None) or next((s for s in services if meta(s)["name"] == "kube-dns"), None)
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    return [p for p in view.everywhere("Pod") if meta(p).get("namespace") == namespace
            and matches_selector({"matchLabels": selector}, meta(p).get("labels") or {})]


def _egress_rules(policy: Obj, port: int, protocol: str = "TCP") -> list[Obj]:
    """The egress rules of a policy that cover a port over a protocol (a rule with no ports
    covers every one; a port with no protocol is TCP)."""
    return [rule for rule in (policy.get("spec") or {}).get("egress") or []
            if not rule.get("ports") or any(
                (str(p.get("port")) == str(port) or p.get("port") is None)
                and str(p.get("protocol") or "TCP").upper() == protocol for p in rule["ports"])]


def _reaches_namespace(view: ClusterView, policy: Obj, target_ns: str,
                       dns_pods: list[Obj]) -> bool:
    """Whether some egress rule of the policy lets traffic reach the DNS pods of `target_ns`
    on port 53: no `to`, an ipBlock (given the benefit of the doubt), or a namespaceSelector
    that the namespace's labels match, with a podSelector (if any) that the DNS pods' labels
    match (when they are known). On a cluster that does not label namespaces by name (before
    1.21), `name: kube-system` matches nothing."""
    own = meta(policy).get("namespace")
    try:
        labels = meta(view.cluster.get("Namespace", target_ns)).get("labels") or {}
    except (Forbidden, NotFound, KindUnavailable, Unreachable, Unauthorized):
        return True  # the namespace's labels cannot be read: say nothing against it
    for rule in _egress_rules(policy, 53, "UDP"):
        peers = rule.get("to") or []
        if not peers:
            return True
        for peer in peers:
            spaces = peer.get("namespaceSelector")
            if "ipBlock" in peer:
                return True
            pods = peer.get("podSelector")
            if pods and dns_pods and not any(matches_selector(pods, meta(d).get("labels") or {})
                                             for d in dns_pods):
                continue  # (`k8s-app: coredns`, where the pods say `k8s-app: kube-dns`)
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


def _reaches_address(policy: Obj, address: str, port: int = 53, protocol: str = "TCP") -> bool:
    """Whether some egress rule of the policy admits an address outside the pod network on a
    port: a rule with no `to`, or an ipBlock that holds it (and does not except it). (A pod
    selector may match the pods behind a cluster IP; an IP outside the cluster's needs a block.)"""
    ip = ipaddress.ip_address(address)
    for rule in _egress_rules(policy, port, protocol):
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


def _allows_port(policy: Obj, port: int, protocol: str = "TCP") -> bool:
    for rule in (policy.get("spec") or {}).get("egress") or []:
        ports = rule.get("ports")
        if not ports:
            return True
        for entry in ports:
            value = entry.get("port")
            end = entry.get("endPort") or value
            if str(entry.get("protocol") or "TCP").upper() != protocol:
                continue
            if value is None or (str(value).isdigit() and int(value) <= port <= int(end)):
                return True
    return False


def egress_line(policy: Obj) -> str:
    spec = policy.get("spec") or {}
    selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
    allowed = [f"{p.get('protocol', 'TCP')}/{p.get('port', 'any')}"
               for rule in spec.get("egress") or [] for p in rule.get("ports") or [{}]]
    return (f"podSelector {selector}; policyTypes Egress; egress allowed only to ports "
            f"{', '.join(allowed) or 'none'}")


def isolating_policies(view: ClusterView, backing: list[Obj], finding: Finding,
                       served: int | None = None) -> list[Obj]:
    """The ingress policies that drop a client's packets to the pods behind a Service (a
    timeout, not a refusal): traffic passes when any policy selecting those pods admits the
    client on that port (`served`, the pods' own, when the Service maps its port to another:
    a policy sees the packet after the Service rewrote it); when none does, the ones with rules
    (the allow-list the client misses) come before plain deny-all ones."""
    timed_out = finding.facts.get("signature") in TIMEOUTS or bool(
        TIMED_OUT.search(finding.explanation))
    if not backing or not timed_out:
        return []
    client = next((p for p in view.items("Pod") if pod_ref(p) in finding.related), None)
    client_labels = meta(client).get("labels") or {} if client else {}
    client_ns = meta(client).get("namespace") if client else None
    parsed = HOST_PORT.match(finding.facts.get("target", ""))
    port = served or (int(parsed.group("port")) if parsed and parsed.group("port") else None)
    home = next((n for n in view.everywhere("Namespace") if meta(n)["name"] == client_ns), None)
    ns_labels = (meta(home).get("labels") or {}) if home is not None else None
    selecting = []
    for policy in view.items("NetworkPolicy"):
        spec = policy.get("spec") or {}
        if "Ingress" not in (spec.get("policyTypes") or ["Ingress"]):
            continue
        if not any(matches_selector(spec.get("podSelector") or {}, meta(p).get("labels") or {})
                   for p in backing):
            continue
        if any(_on_port(rule, port) and any(
                _admits(source, meta(policy).get("namespace"), client_ns, client_labels,
                        ns_labels)
                for source in rule.get("from") or [{}]) for rule in spec.get("ingress") or []):
            return []  # one policy lets the client in: policies add up
        selecting.append(policy)
    return sorted(selecting, key=lambda p: (  # the nearest miss first: the client let in on
        not admitted_ports(p, client_ns, client_labels, ns_labels),  # other ports, then a
        not any(_on_port(r, port) for r in (p.get("spec") or {}).get("ingress") or []),  # rule
        not (p.get("spec") or {}).get("ingress")))  # on its port for others, then any rules


def admitted_ports(policy: Obj, client_ns: str | None, client_labels: dict[str, str],
                   ns_labels: dict[str, str] | None = None) -> list[str]:
    """The ports an ingress policy means to let this client in on, when its rules name ports:
    a source that admits it, or whose namespaceSelector names its namespace by a label value
    (`name: observability`) that the Namespace may lack (namespace_gap says so)."""
    def meant(source: Obj) -> bool:
        named = ((source.get("namespaceSelector") or {}).get("matchLabels") or {}).values()
        return _admits(source, meta(policy).get("namespace"), client_ns, client_labels,
                       ns_labels) or (client_ns in named and (
                           "podSelector" not in source
                           or matches_selector(source["podSelector"], client_labels)))
    return [f"{p.get('protocol') or 'TCP'} {p.get('port')}"
            for rule in (policy.get("spec") or {}).get("ingress") or [] if rule.get("ports")
            and any(meant(source) for source in rule.get("from") or [{}])
            for p in rule["ports"] if p.get("port") is not None]


TIMED_OUT = re.compile(r"time(?:d)? ?out|timeout expired", re.IGNORECASE)


def _on_port(rule: Obj, port: int | None) -> bool:
    """Whether an ingress rule covers the port (no ports: all; a named port: maybe)."""
    ports = rule.get("ports") or []
    return not ports or port is None or any(
        not isinstance(p.get("port"), int) or p.get("port") == port
        or p.get("port") <= port <= (p.get("endPort") or p.get("port")) for p in ports)


def _admits(source: Obj, policy_ns: str | None, client_ns: str | None,
            client_labels: dict[str, str], ns_labels: dict[str, str] | None = None) -> bool:
    """Whether one `from` entry of an ingress rule lets the client in. A podSelector alone
    selects pods of the policy's own namespace; a namespaceSelector is matched against the
    labels the client's Namespace carries (`ns_labels`) when it can be read, else by the
    kubernetes.io/metadata.name label it names, other labels getting the benefit of the doubt."""
    if not source:
        return True
    if "ipBlock" in source and len(source) == 1:
        return False
    spaces = source.get("namespaceSelector")
    if spaces is None:
        in_namespace = client_ns == policy_ns
    elif ns_labels is not None:
        in_namespace = matches_selector(spaces, ns_labels)
    else:
        named = (spaces.get("matchLabels") or {}).get("kubernetes.io/metadata.name")
        in_namespace = named is None or named == client_ns
    pods = source.get("podSelector")
    return in_namespace and (pods is None or matches_selector(pods, client_labels))


def namespace_gap(view: ClusterView, policy: Obj, client_ns: str,
                  client_labels: dict[str, str] | None = None) -> str:
    """What the policy's namespaceSelectors ask of a client namespace that lacks it (the
    kubernetes.io/metadata.name label, set automatically only from Kubernetes 1.21), or that
    its rule for the client's labels has no namespaceSelector (its own namespace only)."""
    own_only = [s for rule in (policy.get("spec") or {}).get("ingress") or []
                for s in rule.get("from") or [] if "podSelector" in s
                and "namespaceSelector" not in s and client_labels is not None
                and matches_selector(s["podSelector"], client_labels)]
    policy_ns = meta(policy).get("namespace")
    if own_only and client_ns != policy_ns:
        return (f"; its rule admits pods labelled {_selector_words(own_only[0]['podSelector'])}"
                f" with a podSelector and no namespaceSelector, which means pods in its own "
                f"namespace {policy_ns} only; the client runs in {client_ns}")
    home = next((n for n in view.everywhere("Namespace") if meta(n)["name"] == client_ns), None)
    if home is None:
        return ""
    labels = meta(home).get("labels") or {}
    wanted = {k: v for rule in (policy.get("spec") or {}).get("ingress") or []
              for source in rule.get("from") or [] for k, v in
              ((source.get("namespaceSelector") or {}).get("matchLabels") or {}).items()
              if labels.get(k) != v and (k != "kubernetes.io/metadata.name" or v == client_ns)}
    if not wanted:
        return ""
    said = ", ".join(f"{k}={v}" for k, v in sorted(wanted.items()))
    auto = " (the apiserver sets kubernetes.io/metadata.name by itself only from Kubernetes " \
        "1.21)" if "kubernetes.io/metadata.name" in wanted else ""
    return (f"; its rule admits namespaces labelled {said}, and namespace {client_ns} does not "
            f"carry that label{auto}")


def policy_line(policy: Obj) -> str:
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
