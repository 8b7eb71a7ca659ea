"""Why a topology spread leaves no legal domain: its labelSelector counts other workloads'
pods too, or a domain it counts can take none of its pods (every node there tainted)."""

from __future__ import annotations

import re

from tools import Obj
from tools.selectors import matches_selector
from tools.summaries import meta

from .view import ClusterView


def spread_counts_others(view: ClusterView, pod: Obj) -> str:
    """A spread whose labelSelector also matches other workloads' pods (a shared `part-of`
    label): they count against the skew, so the domains fill with them, and only the domains
    where they are fewest stay legal, with the pods per domain."""
    spec = pod.get("spec") or {}
    own = _workload_key(pod)
    for rule in spec.get("topologySpreadConstraints") or []:
        key, selector = rule.get("topologyKey"), rule.get("labelSelector") or {}
        if rule.get("whenUnsatisfiable") != "DoNotSchedule" or not key or not selector:
            continue
        counted = [p for p in view.items("Pod", meta(pod).get("namespace"))
                   if (p.get("spec") or {}).get("nodeName")
                   and matches_selector(selector, meta(p).get("labels") or {})]
        others = sorted({_workload_key(p) for p in counted} - {own})
        if not others:
            continue
        zone_of = {meta(n)["name"]: (meta(n).get("labels") or {}).get(key)
                   for n in view.items("Node")}
        per: dict[str, int] = {}
        for p in counted:
            domain = zone_of.get(str((p.get("spec") or {}).get("nodeName")))
            if domain:
                per[domain] = per.get(domain, 0) + 1
        for domain in {d for d in zone_of.values() if d}:
            per.setdefault(domain, 0)
        low = min(per.values()) if per else 0
        legal = sorted(d for d, n in per.items() if n - low < int(rule.get("maxSkew") or 1))
        counts = ", ".join(f"{d}: {n}" for d, n in sorted(per.items()))
        return (f"its spread's labelSelector {_selector_text(selector)} also matches the pods "
                f"of {', '.join(others[:4])}, so they count against maxSkew "
                f"{rule.get('maxSkew')} over {key} ({counts}): only "
                f"{', '.join(legal) or 'no domain'} may take the next pod")
    return ""


def _workload_key(pod: Obj) -> str:
    """A pod's workload name as its ReplicaSet or StatefulSet says (the hash cut off)."""
    owner: Obj = next(iter(meta(pod).get("ownerReferences") or []), {})
    name = str(owner.get("name") or meta(pod)["name"])
    return re.sub(r"-[a-z0-9]{8,10}$", "", name) if owner.get("kind") == "ReplicaSet" else name


def _selector_text(selector: Obj) -> str:
    return ",".join(f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()) or \
        str(selector.get("matchExpressions"))


def unusable_domains(view: ClusterView, pod: Obj) -> str:
    """A spread domain (a zone) the pod cannot run in (every node there has a taint it does not
    tolerate) still counts, with 0 matching pods: the skew against it can only grow, so the
    other domains fill up to maxSkew and every further pod is Pending."""
    spec = pod.get("spec") or {}
    tolerated = {(t.get("key"), t.get("effect")) for t in spec.get("tolerations") or []}
    for rule in spec.get("topologySpreadConstraints") or []:
        key = rule.get("topologyKey")
        if rule.get("whenUnsatisfiable") != "DoNotSchedule" or not key or \
                rule.get("nodeTaintsPolicy") == "Honor":
            continue
        domains: dict[str, list[Obj]] = {}
        for node in view.items("Node"):
            value = (meta(node).get("labels") or {}).get(key)
            if value:
                domains.setdefault(value, []).append(node)
        selector = rule.get("labelSelector") or {}
        where = {(p.get("spec") or {}).get("nodeName") for p in view.items(
            "Pod", meta(pod).get("namespace")) if (p.get("status") or {}).get("phase") ==
            "Running" and matches_selector(selector, meta(p).get("labels") or {})}
        for value, nodes in sorted(domains.items()):
            kept_off = [[t for t in (n.get("spec") or {}).get("taints") or []
                         if t.get("effect") in ("NoSchedule", "NoExecute")
                         and (t.get("key"), t.get("effect")) not in tolerated
                         and (t.get("key"), None) not in tolerated] for n in nodes]
            if all(kept_off) and not any(meta(n)["name"] in where for n in nodes):
                taint = kept_off[0][0]
                return (f"{key} {value} counts as a domain of the spread with 0 of its pods, "
                        f"although its {len(nodes)} node(s) carry the taint "
                        f"{taint.get('key')}={taint.get('value', '')}:{taint.get('effect')} "
                        "that the pod does not tolerate; so no other domain may get more "
                        f"than maxSkew {rule.get('maxSkew')} pods beyond it")
    return ""
