"""A host name no DNS in the cluster resolves, that a server hands to its clients: Kafka's and
Redpanda's advertised listeners, Elasticsearch's publish_host, Redis' announced host name.
Clients reach the server by its Service, are handed the advertised name, and fail on it while
every server pod looks fine. The server's workload is the root: its advertised address is what
to change."""

from __future__ import annotations

import re

from tools import Kind, Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .servers import hang_on, record
from .view import ClusterView

_ANNOUNCES = re.compile(r"advertis|publish|announce", re.IGNORECASE)
_KINDS: tuple[Kind, ...] = ("StatefulSet", "Deployment", "DaemonSet")


def advertised_by(view: ClusterView, finding: Finding, host: str, findings: list[Finding],
                  by_object: dict[str, list[Finding]]) -> bool:
    """Hang a DNS failure on `host` on the workload whose pod template advertises names of
    that domain (`$(POD_NAME).kafka.example.com` for `redpanda-0.kafka.example.com`)."""
    domain = host.rstrip(".").split(".", 1)[1] if host.count(".") >= 2 else ""
    for kind in _KINDS if domain else ():
        for obj in view.everywhere(kind):
            ref = str(ObjectRef(kind, meta(obj).get("namespace"), meta(obj)["name"]))
            setting = _advertising(obj, domain)
            if setting is None or ref == finding.object:
                continue
            cause = next((f for f in by_object.get(ref, []) if f.facts.get("advertised")), None)
            if cause is None:
                cause = Finding(
                    category="dependency_unreachable", object=ref,
                    summary=f"{meta(obj)['name']} advertises addresses its clients cannot resolve",
                    explanation=(f"{kind} {meta(obj)['name']} advertises {setting}: clients reach "
                                 f"it by its Service, are handed names under {domain} "
                                 f"({host}), and no DNS they use resolves them; its pods run"),
                    evidence=[Evidence(source="spec", object=ref, detail=setting),
                              *finding.evidence[:1]],
                    confidence=0.85, impact=finding.impact, related=[finding.object])
                cause.facts = {"advertised": domain, "target": host}
                record(findings, by_object, cause)
            return hang_on(finding, cause)
    return False


def _advertising(obj: Obj, domain: str) -> str | None:
    """The argument or env entry of a pod template that advertises a name in `domain`."""
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in [c for key in ("containers", "initContainers") for c in spec.get(key) or []]:
        texts = [str(a) for key in ("command", "args") for a in container.get(key) or []]
        texts += [f"{e.get('name')}={e.get('value')}" for e in container.get("env") or []
                  if isinstance(e.get("value"), str)]
        for text in texts:
            if domain in text and _ANNOUNCES.search(text):
                return text[:300]
    return None
