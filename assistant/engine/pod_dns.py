"""Names a client calls that say where the trouble is: one pod by its own DNS name
(POD.SERVICE.NAMESPACE.svc: a StatefulSet member, a Solr shard, a Kafka broker), whose problem
(or its node's) explains the call's failure; a Service's short name that resolves only in its
own namespace, called from another one.
"""

from __future__ import annotations

import re

from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Finding
from .pod_issues import pod_ref
from .servers import set_cause
from .view import ClusterView


def to_the_named_pod(view: ClusterView, finding: Finding, host: str,
                     findings: list[Finding]) -> bool:
    """Hang `finding` on the problem of the pod its host names (its node's, its own)."""
    parts = host.split(".")
    if "svc" not in parts or parts.index("svc") < 3:
        return False
    at = parts.index("svc")
    pod = view.find("Pod", parts[at - 3], parts[at - 1])
    if pod is None:
        return False
    ref = pod_ref(pod)
    node = (pod.get("spec") or {}).get("nodeName")
    node_ref = str(ObjectRef("Node", None, node)) if node else None
    cause = next((f for f in findings if f is not finding and (
        f.object == node_ref or f.object == ref or ref in f.related)), None)
    if cause is None:
        return False
    finding.related.append(ref)
    finding.explanation += (f"; {parts[at - 3]} is pod {meta(pod)['name']}"
                            + (f" on node {node}" if node else "")
                            + f", which has a problem itself: {cause.summary}")
    set_cause(finding, cause)
    return True


def short_name_elsewhere(view: ClusterView, finding: Finding, host: str, namespace: str) -> str:
    """When a short name (`geoip`) does not resolve from `namespace` but a Service of that name
    serves in another namespace: the sentence saying so, and the env variable that holds the
    short name (GEOIP_URL=http://geoip:8080); empty otherwise."""
    if "." in host:
        return ""
    homes = sorted({meta(s).get("namespace") or "" for s in view.everywhere("Service")
                    if meta(s)["name"] == host and meta(s).get("namespace") != namespace})
    if not homes:
        return ""
    told = (f"; a Service {host} exists in namespace {', '.join(homes)}: a short name resolves "
            f"only in the caller's own namespace ({namespace})")
    named = re.compile(rf"(?:^|[/@=\s]){re.escape(host)}(?=$|[:/\s])")
    for ref in finding.related:
        pod = view.find("Pod", ObjectRef.parse(ref).name, namespace) \
            if ref.startswith("Pod/") else None
        for container in ((pod or {}).get("spec") or {}).get("containers") or []:
            for env in container.get("env") or []:
                if isinstance(env.get("value"), str) and named.search(env["value"]):
                    finding.facts["short_var"] = str(env.get("name"))
                    finding.facts["service_home"] = homes[0]
                    return told + f"; env {env.get('name')}={env['value']} names it that way"
    return told
