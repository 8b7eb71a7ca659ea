"""A Service whose pods are Ready but refuse their clients' connections: the server is up and
listens somewhere its clients cannot reach (only on loopback, a "local only" mode, another
port). The server's workload is the root, with the line of its log that says where it listens.
"""

from __future__ import annotations

import re

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .pod_issues import pod_ref, running_ready
from .probing import LOOPBACK
from .servers import pods_port, record, set_cause
from .view import ClusterView
from .workloads import workload_ref

_REFUSALS = ("connection-refused", "nginx-upstream-refused")
# servers that start reachable from their own pod only: Mosquitto 2 without a `listener`,
# Elasticsearch bound to loopback
_LOCAL_ONLY = re.compile(
    r"local[ -]only mode|only be possible from clients running on this machine|"
    r"bound_addresses \{?\[?(?:127\.0\.0\.1|::1)", re.IGNORECASE)
_PORTED = re.compile(r":\d{1,5}$")
_LISTEN_LINE = re.compile(r"\blisten(?:s|ing|er)?\b", re.IGNORECASE)


def refused_by_ready_server(view: ClusterView, finding: Finding, service: Obj,
                            backing: list[Obj], findings: list[Finding],
                            by_object: dict[str, list[Finding]]) -> bool:
    """A running client's refused call to a Service port whose pods all run Ready and report
    no problem of their own: the server does not listen where the Service sends its clients.
    The finding hangs on the server's workload, which says where it listens when its log
    does."""
    if finding.category != "dependency_unreachable" or not _PORTED.search(
            finding.facts.get("target") or "") or finding.facts.get(
            "signature") not in _REFUSALS or not backing or \
            not all(running_ready(pod) for pod in backing):
        return False  # (an init container refused before its mesh proxy runs is the client's)
    server = workload_ref(view, backing[0])
    if server == finding.object:
        return False
    port = str(pods_port(view, finding) or finding.facts["target"].rsplit(":", 1)[-1])
    short, name = ObjectRef.parse(server).name, meta(service)["name"]
    said = _where_it_listens(view, backing)
    explanation = (f"the pods behind Service {name} run Ready, yet {finding.summary.split(':')[0]}"
                   f" is refused at {finding.facts['target']}: nothing accepts connections on "
                   f"port {port} at the pods' IP")
    if said:
        explanation += f"; {short}'s log says where it listens: \"{said[1]}\""
    cause = Finding(
        category="dependency_unreachable", object=server,
        summary=f"{short}: its pods are Ready but refuse connections on port {port}",
        explanation=explanation,
        evidence=([Evidence(source="log", object=pod_ref(said[0]), detail=said[1])]
                  if said else []) + [e for e in finding.evidence if e.source == "log"][:1],
        confidence=0.8 if said else 0.65, impact=finding.impact,
        related=[pod_ref(pod) for pod in backing])
    cause.facts = {"signature": "connection-refused", "server_port": port,
                   "dependency": short, "refused_at": name}
    if said and (_LOCAL_ONLY.search(said[1]) or LOOPBACK.search(said[1])):
        cause.facts["local_only"] = "true"
    record(findings, by_object, cause)
    set_cause(finding, cause)
    finding.explanation += f"; {name}'s pods are Ready but refuse the connection: {short} " \
                           "does not listen where the Service sends it"
    return True


def _where_it_listens(view: ClusterView, pods: list[Obj]) -> tuple[Obj, str] | None:
    """The first line of a server's log that says it listens only locally, else the first that
    says where it listens; with the lines right after a local-only one that say how to open it
    ("Create a configuration file which defines a listener...")."""
    fallback: tuple[Obj, str] | None = None
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            lines = list(dict.fromkeys(line.text.strip() for line in (
                [*log.head, *log.tail] if log else [])))
            for index, line in enumerate(lines):
                if _LOCAL_ONLY.search(line) or LOOPBACK.search(line):
                    told = [line, *(after for after in lines[index + 1:index + 3]
                                    if _LISTEN_LINE.search(after))]
                    return pod, " ".join(told)[:400]
                if fallback is None and _LISTEN_LINE.search(line):
                    fallback = (pod, line[:300])
    return fallback
