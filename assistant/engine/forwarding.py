"""A name outside the cluster that does not resolve because the DNS server CoreDNS forwards its
zone to does not answer (a stub domain pointed at retired domain controllers). CoreDNS logs the
timeout to that upstream; the ConfigMap that names the upstream is what a human changes.
"""

from __future__ import annotations

import re

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .pod_issues import pod_ref
from .policies import HOST_PORT
from .servers import record, set_cause
from .view import ClusterView

_CLUSTER_NAME = re.compile(r"\.svc(?:\.cluster\.local)?\.?$|^[\w-]+(?:\.[\w-]+)?$")


def upstream_silent(view: ClusterView, finding: Finding, findings: list[Finding],
                    by_object: dict[str, list[Finding]]) -> bool:
    """Hang a failed lookup of an outside name on the CoreDNS forward whose upstream does not
    answer, when CoreDNS's log says so for that name (or a name of its zone)."""
    host = _looked_up(finding)
    if not host or _CLUSTER_NAME.search(host):
        return False
    zone = host.split(".", 1)[1] if host.count(".") >= 2 else host
    homes = view.homes_of("coredns")
    view.widen(homes)
    silent = re.compile(rf"plugin/errors: \d+ ([\w.-]*{re.escape(zone)})\.? \w+: read "
                        r"(?:udp|tcp) [\d.:]+->([\d.]+):53: i/o timeout", re.IGNORECASE)
    said = next(((pod, found) for home in homes for pod in view.items("Pod", home)
                 if meta(pod)["name"].startswith("coredns")
                 for found in [_first(view, pod, silent)] if found), None)
    if said is None:
        return False
    pod, found = said
    upstream = found.group(2)
    source = next((c for home in homes for c in view.items("ConfigMap", home)
                   if any(upstream in str(v) for v in (c.get("data") or {}).values())), None)
    ref = str(ObjectRef.of("ConfigMap", source)) if source else \
        str(ObjectRef("Deployment", meta(pod).get("namespace"), "coredns"))
    name = ref.split("/")[-1]
    cause = Finding(
        category="dependency_unreachable", object=ref,
        summary=f"{name}: CoreDNS forwards {zone} to {upstream}, which does not answer",
        explanation=(f"CoreDNS forwards the zone {zone} to {upstream}, which does not answer "
                     f"(its log: {found.group(0).strip()})"
                     + (f"; the forward is set in ConfigMap {name}" if source else "")
                     + f"; so no name under {zone} resolves in the cluster, while cluster and "
                     "public names do"),
        evidence=[Evidence(source="log", object=f"{pod_ref(pod)}/coredns",
                           detail=found.group(0).strip())],
        confidence=0.85, impact=finding.impact, related=[finding.object])
    cause.facts = {"zone": zone, "upstream": upstream}
    record(findings, by_object, cause)
    set_cause(finding, cause)
    return True


_LOOKUP = re.compile(r"lookup ([\w.-]+) on [\d.:]+")


def _looked_up(finding: Finding) -> str:
    """The outside name a failed lookup asked for: the target of "no such host", or the name
    in "lookup NAME on 10.0.0.10:53: i/o timeout" (cluster DNS that times out on it)."""
    if finding.facts.get("signature") == "dns-timeout":
        named = next((m for m in (_LOOKUP.search(e.detail) for e in finding.evidence) if m),
                     None)
        return named.group(1).rstrip(".").lower() if named else ""
    parsed = HOST_PORT.match(finding.facts.get("target") or "")
    return parsed.group("host").rstrip(".").lower() if parsed else ""


def _first(view: ClusterView, pod: Obj, pattern: re.Pattern[str]) -> re.Match[str] | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                       container.get("name", ""), False)
        for line in [*(log.errors if log else []), *(log.tail if log else [])]:
            found = pattern.search(line.text)
            if found:
                return found
    return None
