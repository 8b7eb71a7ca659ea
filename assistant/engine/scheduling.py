"""Why a pod stays Pending: what the scheduler says, read against the pod's own placement rules
(topology spread, anti-affinity, node selection), the nodes (cordoned, tainted, full) and the
rollout that made the pod (a surge the rules leave no room for)."""

from __future__ import annotations

import re

from tools import Obj
from tools.ownership import owner_of_kind
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence
from .capacity import cordoned_with_room, larger_than_any_node
from .labels import closest_labels
from .pod_issues import PodIssue, pod_ref
from .spreading import spread_counts_others, unusable_domains
from .view import ClusterView

_INSUFFICIENT = re.compile(r"Insufficient ([\w./-]*\w)")  # (not the sentence's full stop)


_TAINT = re.compile(r"taints? \{([^}]*)\}|untolerated taint\(?s?\)? ?\{([^}]*)\}")


def unschedulable(view: ClusterView, pod: Obj) -> PodIssue | None:
    status = pod.get("status") or {}
    if status.get("phase") != "Pending" or (pod.get("spec") or {}).get("nodeName"):
        return None
    message = ""
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            message = condition.get("message") or ""
    events = [e for e in view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace"))
              if e.get("reason") == "FailedScheduling"]
    if events:
        message = events[0].get("message") or message
    if not message:
        return None
    ref = pod_ref(pod)
    evidence = [Evidence(source="event" if events else "status", object=ref,
                         detail=f"FailedScheduling: {message}")]
    lower = message.lower()
    if "unbound" in lower and "persistentvolumeclaim" in lower:
        return PodIssue("pvc_unbound", "the pod waits for a PersistentVolumeClaim to bind",
                        evidence, 0.8)
    spread_first = _count(r"(\d+) node\(s\) didn't match pod topology spread", message) > \
        _count(r"(\d+) Insufficient", message)  # the rule rules out more nodes than room does
    constraint = _constraint(view, pod, message, evidence) if spread_first else None
    if constraint:
        return constraint
    if "insufficient" in lower:
        resources = sorted(set(_INSUFFICIENT.findall(message)))
        left = cordoned_with_room(view, pod, resources) if "unschedulable" in lower else None
        if left is not None:  # the node that would hold it was never uncordoned
            return PodIssue(
                "scheduling_constraint",
                f"node {left}, which the pod's node selection picks and which has room for "
                f"its requests ({_requests(pod)}), is cordoned (spec.unschedulable), so the "
                f"other nodes are short of {', '.join(resources)}: {message}", evidence, 0.9,
                detail={"cordoned_root": left, "nodes": left})
        oversized = larger_than_any_node(view, pod, resources)
        return PodIssue(
            "insufficient_resources",
            f"no node has enough {', '.join(resources)} for the pod's requests "
            f"({_requests(pod)}): {message}" + (
                f"; {oversized.pop('said')}" if oversized else ""),
            evidence, 0.9, detail={"resources": ", ".join(resources), **oversized})
    constraint = _constraint(view, pod, message, evidence)
    if constraint:
        return constraint
    ports = _count(r"(\d+) node\(s\) didn't have free ports", message)
    if ports and ports >= _count(r"(\d+) node\(s\) had (?:untolerated )?taint", message):
        return _host_ports(pod, message, evidence)
    taint = _TAINT.search(message)
    if taint and ("unreachable" in message or "not-ready" in message):
        return PodIssue("node_not_ready", f"the only nodes that fit are not ready ({message})",
                        evidence, 0.7)
    selected_tainted = _selected_but_tainted(view, pod)
    if selected_tainted:  # the nodeSelector is right; those nodes refuse the pod
        names, taints = selected_tainted
        return PodIssue("untolerated_taint",
                        f"the node(s) its nodeSelector {_selector_detail(pod)['selector']} "
                        f"picks ({names}) carry the taint {taints}, which the pod does not "
                        f"tolerate ({message})", evidence, 0.85,
                        detail={"taint": taints, "nodes": names})
    taint_nodes = _count(r"(\d+) node\(s\) had (?:untolerated )?taint", message)
    selector_nodes = _count(r"(\d+) node\(s\) didn't match (?:Pod's )?node", message)
    if ("taint" in lower and taint_nodes >= selector_nodes) or (
            taint and not selector_nodes):
        found = (taint.group(1) or taint.group(2)) if taint else ""
        return PodIssue("untolerated_taint",
                        f"the nodes carry a taint the pod does not tolerate ({message})",
                        evidence, 0.85, detail={"taint": found or ""})
    if "selector" in lower or "affinity" in lower:
        detail = _selector_detail(pod)
        explanation = (f"no node matches the pod's node selection ({detail['selector']}): "
                       f"{message}")
        template = _template_holder(view, pod)
        if template is not None:  # an executor's pods: the template is what to fix
            detail["holder"] = str(ObjectRef.of("ConfigMap", template[0]))
            detail["template_key"] = template[1]
            explanation += (f"; the pod has no owner: it is made from the pod template in "
                            f"ConfigMap {meta(template[0])['name']} (key {template[1]}), which "
                            "sets that node selection for every pod it starts")
        return PodIssue("node_selector_mismatch", explanation, evidence, 0.85, detail=detail)
    return PodIssue("insufficient_resources", f"the scheduler cannot place the pod: {message}",
                    evidence, 0.5)


def _host_ports(pod: Obj, message: str, evidence: list[Evidence]) -> PodIssue:
    """A pod that asks a hostPort every fitting node already gives to a pod: during a rolling
    update with maxUnavailable 0, the new pod waits for a port its own old pods hold."""
    held = sorted({str(p.get("hostPort")) for c in (pod.get("spec") or {}).get("containers") or []
                   for p in c.get("ports") or [] if p.get("hostPort")})
    return PodIssue(
        "scheduling_constraint",
        f"the pod asks for hostPort {', '.join(held) or '(unknown)'}, which every node that could "
        f"run it already gives to another pod (its own older replicas during a rollout: with "
        f"maxUnavailable 0 the old pod is never removed first): {message}",
        evidence, 0.85, detail={"host_port": ", ".join(held)})


_SPREAD = re.compile(r"(\d+) node\(s\) didn't match pod topology spread constraints|"
                     r"(\d+) node\(s\) didn't (?:match|satisfy) (?:existing )?pods?"
                     r" (?:anti-)?affinity|(\d+) node\(s\) were unschedulable|"
                     r"(\d+) node\(s\) had volume node affinity conflict", re.IGNORECASE)


def _constraint(view: ClusterView, pod: Obj, message: str,
                evidence: list[Evidence]) -> PodIssue | None:
    """Pending for the pod's own placement rules or cordoned nodes: the rule or the nodes by
    name, when these rule out more nodes than resources, taints or selectors do."""
    blocked: dict[int, int] = {}
    for found in _SPREAD.finditer(message):  # one kind of rule may be said twice
        key = found.lastindex or 0
        blocked[key] = max(blocked.get(key, 0), int(found.group(key)))
    if not blocked:
        return None
    others = _count(r"(\d+) (?:node\(s\) had (?:untolerated )?taint|Insufficient|"
                    r"node\(s\) didn't match (?:Pod's )?node)", message)
    total = re.search(r"0/(\d+) nodes are available", message)
    left = int(total.group(1)) - others if total else 0  # the nodes that pass the other rules
    if sum(blocked.values()) < others and not (left > 0 and sum(blocked.values()) >= left):
        return None
    spec = pod.get("spec") or {}
    selector_nodes = _count(r"(\d+) node\(s\) didn't match (?:Pod's )?node", message)
    if set(blocked) == {3} and total and selector_nodes and \
            blocked[3] + selector_nodes >= int(total.group(1)):
        return _pinned_to_cordoned(view, pod, message, evidence)
    parts: list[str] = []
    detail: dict[str, str] = {}
    if 3 in blocked:
        cordoned = [meta(n)["name"] for n in view.items("Node")
                    if (n.get("spec") or {}).get("unschedulable")]
        detail["nodes"] = ", ".join(cordoned)
        parts.append(f"{len(cordoned) or blocked[3]} node(s) are cordoned (unschedulable)"
                     + (f": {', '.join(cordoned)}" if cordoned else ""))
    if 1 in blocked:
        spread = spec.get("topologySpreadConstraints") or []
        rules = "; ".join(f"maxSkew {c.get('maxSkew')} over {c.get('topologyKey')} "
                          f"({c.get('whenUnsatisfiable')})" for c in spread)
        parts.append("its topology spread constraints cannot be met"
                     + (f" ({rules})" if rules else ""))
        siblings = spread_counts_others(view, pod)
        if siblings:
            parts.append(siblings)
            detail["spread_selector"] = siblings.split("labelSelector ", 1)[1].split(" ", 1)[0]
        empty = unusable_domains(view, pod)
        if empty:
            parts.append(empty)
            detail["spread_domain"] = empty.split(" ", 2)[1]
    if 2 in blocked:
        affinity = spec.get("affinity") or {}
        anti = (affinity.get("podAntiAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution") or []
        keys = ", ".join(sorted({t.get("topologyKey", "?") for t in anti}))
        parts.append("its required pod anti-affinity leaves no node"
                     + (f" (topologyKey {keys})" if keys else "")
                     if anti else "its required pod affinity matches no node")
        unmatched = None if anti else _affinity_unmatched(view, pod)
        if unmatched:
            parts.append(unmatched[0])
            detail.update(unmatched[1])
    if 4 in blocked:
        down = _volume_on_down_node(view, pod)
        if down is not None:  # a local volume: only its node can run the pod, and it is down
            node, claim, state = down
            return PodIssue(
                "node_pressure" if "Pressure" in state else "node_not_ready",
                f"its volume (PersistentVolumeClaim {claim}) is a local volume pinned to node "
                f"{node}, which is {state}: no other node may run the pod, and tolerating "
                f"the taint would not help ({message})", evidence, 0.9,
                detail={"holder": str(ObjectRef("Node", None, node)), "node": node,
                        "claim": claim})
        parts.append("its volume is bound to another zone than the nodes that could run it "
                     "(volume node affinity conflict)")
    if 3 in blocked and 4 in blocked and detail.get("nodes"):  # the volume's zone is cordoned
        zones = sorted({(n.get("metadata") or {}).get("labels", {}).get(
            "topology.kubernetes.io/zone", "?") for n in view.items("Node")
            if meta(n)["name"] in detail["nodes"].split(", ")})
        detail["cordoned_root"] = detail["nodes"].split(", ")[0]
        parts.append(f"the cordoned node(s) are the only ones in zone {', '.join(zones)}, where "
                     "its volume lives")
    if 3 in blocked and 1 in blocked and detail.get("nodes") and "cordoned_root" not in detail:
        alone = _cordoned_alone(view, pod, detail["nodes"].split(", "))
        if alone:  # the spread needs a pod in the cordoned node's domain, and it is the only one
            lone, label, domain = alone
            detail["cordoned_root"] = lone
            parts.append(f"the cordoned node {lone} is the only node the pod may run on in "
                         f"{label}={domain}, so the spread cannot place it until {lone} is "
                         "uncordoned")
    if 3 in blocked and 2 in blocked and "cordoned_root" not in detail and \
            len(detail.get("nodes", "").split(", ")) == 1 and detail.get("nodes") and \
            left and blocked[3] + blocked[2] >= left:  # every other node holds a replica:
        lone = detail["nodes"]  # the cordoned one is the only place the anti-affinity leaves
        detail["cordoned_root"] = lone
        parts.append(f"every node it may use already runs a replica but {lone}, which is "
                     f"cordoned: the pod can run nowhere until {lone} is uncordoned")
    selector = spec.get("nodeSelector") or {}
    if 2 in blocked and selector:
        pool = [meta(n)["name"] for n in view.items("Node") if all(
            (meta(n).get("labels") or {}).get(k) == v for k, v in selector.items())]
        parts.append(f"its nodeSelector {', '.join(f'{k}={v}' for k, v in selector.items())} "
                     f"allows {len(pool)} node(s), and each already runs a replica")
    surge = _surge_first(view, pod) if 2 in blocked else ""
    if surge:
        parts.append(surge)
        detail["no_room_to_surge"] = "true"
    return PodIssue("scheduling_constraint",
                    f"the scheduler cannot place the pod: {'; '.join(parts)} ({message})",
                    evidence, 0.85, detail=detail)


def _cordoned_alone(view: ClusterView, pod: Obj,
                    cordoned: list[str]) -> tuple[str, str, str] | None:
    """(node, topology key, domain) when a cordoned node is the only node matching the pod's
    nodeSelector in its domain of a DoNotSchedule spread constraint: the spread asks for a pod
    in that domain, and no other node there may take it."""
    spec = pod.get("spec") or {}
    selector = spec.get("nodeSelector") or {}
    fitting = [n for n in view.items("Node") if all(
        (meta(n).get("labels") or {}).get(k) == v for k, v in selector.items())]
    for constraint in spec.get("topologySpreadConstraints") or []:
        key = constraint.get("topologyKey")
        if not key or constraint.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        for name in cordoned:
            node = next((n for n in fitting if meta(n)["name"] == name), None)
            domain = (meta(node).get("labels") or {}).get(key) if node else None
            if domain is None:
                continue
            peers = [n for n in fitting if (meta(n).get("labels") or {}).get(key) == domain]
            if all((n.get("spec") or {}).get("unschedulable") for n in peers):
                return name, str(key), str(domain)
    return None


def _volume_on_down_node(view: ClusterView, pod: Obj) -> tuple[str, str, str] | None:
    """(node, claim, its state) when one of the pod's claims is bound to a volume pinned to a
    single node (local-path, local PV) that is NotReady, unreachable or gone."""
    namespace = meta(pod).get("namespace")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        claim = view.find("PersistentVolumeClaim", claim_name, namespace) if claim_name else None
        bound = ((claim or {}).get("spec") or {}).get("volumeName")
        volume_obj = view.find("PersistentVolume", bound) if bound else None
        terms = ((((volume_obj or {}).get("spec") or {}).get("nodeAffinity") or {}).get(
            "required") or {}).get("nodeSelectorTerms") or []
        hosts = {v for t in terms for e in t.get("matchExpressions") or []
                 if e.get("key") == "kubernetes.io/hostname" and e.get("operator") == "In"
                 for v in e.get("values") or []}
        if len(hosts) != 1:
            continue
        node_name = hosts.pop()
        node = view.find("Node", node_name)
        state = "gone (no such node)" if node is None else _not_ready(node)
        if state:
            return node_name, str(claim_name), state
    return None


def _not_ready(node: Obj) -> str:
    """NotReady (with its reason), or the pressure that taints it (DiskPressure: a pod bound
    to its local volume cannot go there either), else ""."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready: Obj = next((c for c in conditions if c.get("type") == "Ready"), {})
    if ready.get("status") != "True":
        return f"NotReady ({ready.get('reason') or 'no status'})"
    pressed = next((c for c in conditions if str(c.get("type", "")).endswith("Pressure")
                    and c.get("status") == "True"), None)
    return (f"under {pressed.get('type')} ({pressed.get('message') or pressed.get('reason')})"
            if pressed else "")


def _affinity_unmatched(view: ClusterView, pod: Obj) -> tuple[str, dict[str, str]] | None:
    """A required pod affinity term that no pod matches at all (not one on a full node): the
    labels it asks for, where, and the label the pods it likely means carry now."""
    affinity = ((pod.get("spec") or {}).get("affinity") or {}).get("podAffinity") or {}
    for term in affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        selector = term.get("labelSelector") or {}
        if "namespaceSelector" in term:
            continue  # namespaces chosen by their labels: not judged here
        namespaces = [str(n) for n in term.get("namespaces") or [meta(pod).get("namespace")]]
        view.widen(namespaces)
        if not set(namespaces) <= set(view.namespaces):
            continue  # a namespace that cannot be read: no claim about its pods
        candidates = [p for ns in namespaces for p in view.items("Pod", ns)]
        if any(matches_selector(selector, meta(p).get("labels") or {}) for p in candidates):
            continue
        wanted = {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
        asked = ",".join(f"{k}={v}" for k, v in wanted.items()) or "its selector"
        where = f" in namespace {', '.join(namespaces)}"
        told = (f"it asks for pods with {asked}{where} (topologyKey "
                f"{term.get('topologyKey', '?')}), and no pod carries that")
        facts = {"affinity_selector": asked}
        closest, carrier = closest_labels(view, namespaces[0] if len(namespaces) == 1 else None,
                                          wanted) if wanted else ("", None)
        if closest and carrier is not None:
            told += f"; {meta(carrier)['name']} carries {closest}"
            facts["pod_label"] = closest
        return told, facts
    return None


def _pinned_to_cordoned(view: ClusterView, pod: Obj, message: str,
                        evidence: list[Evidence]) -> PodIssue:
    """A nodeSelector that only cordoned nodes match (a node pool being retired): the selector,
    not the cordon, is what to change; other nodes' values for its keys show where to point it."""
    detail = _selector_detail(pod)
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    nodes = view.items("Node")
    cordoned = [meta(n)["name"] for n in nodes if (n.get("spec") or {}).get("unschedulable")
                and all((meta(n).get("labels") or {}).get(k) == v for k, v in selector.items())]
    others = sorted({f"{k}={(meta(n).get('labels') or {}).get(k)}" for n in nodes
                     for k in selector if (meta(n).get("labels") or {}).get(k)
                     and not (n.get("spec") or {}).get("unschedulable")
                     and (meta(n).get("labels") or {}).get(k) != selector[k]})
    detail["nodes"] = ", ".join(cordoned)
    return PodIssue(
        "node_selector_mismatch",
        f"the pod's nodeSelector {detail['selector']} matches only cordoned node(s) "
        f"{', '.join(cordoned) or '?'} (a node pool being drained or retired), so it fits "
        "nowhere" + (f"; schedulable nodes carry {', '.join(others[:4])}" if others else "")
        + f" ({message})", evidence, 0.9, detail=detail)


def _surge_first(view: ClusterView, pod: Obj) -> str:
    """A rolling update that must add a pod before it removes one (maxUnavailable 0), where
    required anti-affinity leaves no node for that extra pod: it can never progress."""
    owner = owner_of_kind(pod, "ReplicaSet")
    replicaset = view.find("ReplicaSet", owner.name, owner.namespace) if owner else None
    parent = owner_of_kind(replicaset or {}, "Deployment")
    deployment = view.find("Deployment", parent.name, owner.namespace) \
        if owner and parent else None
    strategy = ((deployment or {}).get("spec") or {}).get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    unavailable = str(rolling.get("maxUnavailable", "25%"))
    if deployment is None or strategy.get("type", "RollingUpdate") != "RollingUpdate" or \
            unavailable not in ("0", "0%"):
        return ""
    surge = rolling.get("maxSurge", "25%")
    return (f"Deployment {meta(deployment)['name']} rolls with maxSurge {surge} "
            "and maxUnavailable 0: it must start a new pod before it stops an old one, and "
            "the anti-affinity leaves no node for that extra pod, so the rollout can never "
            "progress (maxUnavailable 1 with maxSurge 0 lets an old pod go first)")


def _requests(pod: Obj) -> str:
    totals: list[str] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        limits = (container.get("resources") or {}).get("limits") or {}
        for key, value in {**limits, **requests}.items():
            totals.append(f"{container.get('name')} {key}={value}")
    return ", ".join(totals) or "no requests set"


def _count(pattern: str, message: str) -> int:
    return sum(int(n) for n in re.findall(pattern, message))


def _selected_but_tainted(view: ClusterView, pod: Obj) -> tuple[str, str] | None:
    """(node names, taints) when every node the pod's nodeSelector picks carries a NoSchedule
    or NoExecute taint the pod does not tolerate; None when its selector picks none."""
    spec = pod.get("spec") or {}
    selector = spec.get("nodeSelector") or {}
    if not selector:
        return None
    tolerations = spec.get("tolerations") or []

    def tolerated(taint: Obj) -> bool:
        return any((t.get("operator") == "Exists" and t.get("key") in (None, taint.get("key")))
                   or (t.get("key") == taint.get("key")
                       and str(t.get("value", "")) == str(taint.get("value", "")))
                   for t in tolerations
                   if t.get("effect") in (None, "", taint.get("effect")))

    picked = [n for n in view.items("Node") if all(
        str((meta(n).get("labels") or {}).get(k)) == str(v) for k, v in selector.items())]
    refusing = {meta(n)["name"]: [t for t in (n.get("spec") or {}).get("taints") or []
                                  if t.get("effect") in ("NoSchedule", "NoExecute")
                                  and not tolerated(t)] for n in picked}
    if not picked or not all(refusing.values()):
        return None
    taints = sorted({f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}"
                     for found in refusing.values() for t in found})
    return ", ".join(sorted(refusing)), ", ".join(taints)


def _template_holder(view: ClusterView, pod: Obj) -> tuple[Obj, str] | None:
    """(ConfigMap, key) of the pod template an ownerless pod was made from (Airflow's
    KubernetesExecutor, Spark, CI runners keep it in a ConfigMap): the key whose text sets every
    `key: value` of the pod's nodeSelector."""
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    if meta(pod).get("ownerReferences") or not selector:
        return None
    for config in view.items("ConfigMap", meta(pod).get("namespace")):
        for key, text in ((config.get("data") or {}).items()):
            if isinstance(text, str) and "kind: Pod" in text and all(
                    re.search(rf"^\s*{re.escape(k)}:\s*['\"]?{re.escape(str(v))}['\"]?\s*$",
                              text, re.MULTILINE) for k, v in selector.items()):
                return config, key
    return None


def _selector_detail(pod: Obj) -> dict[str, str]:
    spec = pod.get("spec") or {}
    terms = [f"{k}={v}" for k, v in (spec.get("nodeSelector") or {}).items()]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for expr in term.get("matchExpressions") or []:
            terms.append(f"{expr.get('key')} {expr.get('operator')} "
                         f"{','.join(expr.get('values') or [])}")
    return {"selector": "; ".join(terms) or "none"}
