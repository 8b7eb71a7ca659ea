"""A ConfigMap changed by hand since it was last applied (`kubectl edit`): its data differs
from the copy `kubectl apply` left in its last-applied-configuration annotation. When the pods
that started since the change fail their probes and the ones started before it do not, the
changed lines are why (an OpenTelemetry Collector whose `service.extensions` lost
`health_check`, so nothing listens on the probe's port 13133)."""

from __future__ import annotations

import difflib
import json

from tools import Obj
from tools.refs import ObjectRef
from tools.secret_tokens import REDACTED
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .pod_issues import pod_ref
from .reading import mounted_config_maps
from .view import ClusterView
from .workloads import workload_ref

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SHOWN = 3  # changed lines quoted per side


def hand_edits(config_map: Obj) -> tuple[str, list[str], list[str]] | None:
    """(key, lines removed, lines added) of the first key whose value differs from the copy
    last applied; None when nothing was applied or nothing differs."""
    try:
        applied = json.loads((meta(config_map).get("annotations") or {}).get(LAST_APPLIED) or "")
    except ValueError:
        return None
    before = applied.get("data") if isinstance(applied, dict) else None
    if not isinstance(before, dict):
        return None
    now = config_map.get("data") or {}
    for key in sorted(set(before) | set(now)):
        old, new = str(before.get(key) or ""), str(now.get(key) or "")
        if old == new:
            continue
        diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
        removed, added = ([line[2:].strip() for line in diff if line.startswith(sign)
                           and line[2:].strip() and REDACTED not in line] for sign in "-+")
        if not removed and not added:  # (what redaction hid reads differently in the two)
            continue
        paired = [a for r in removed for a in added if a.split(":")[0] == r.split(":")[0]]
        return key, removed[:_SHOWN], (paired or added)[:_SHOWN]  # (`extensions: [a]` beside
        # the `extensions: [b]` it became, before lines only added)
    return None


def edited_config(view: ClusterView, finding: Finding) -> bool:
    """Move a probe failure to the ConfigMap edited by hand that only the failing pods (the
    ones started after the healthy ones) run with."""
    failing = [p for p in view.items("Pod", ObjectRef.parse(finding.object).namespace_text)
               if pod_ref(p) in finding.related]
    pods = [p for p in view.items("Pod", ObjectRef.parse(finding.object).namespace_text)
            if workload_ref(view, p) == finding.object]
    healthy = [p for p in pods if p not in failing and _ready(p)]
    if not failing or not healthy or min(_started(p) for p in failing) <= max(
            _started(p) for p in healthy):
        return False
    for name in sorted({n for p in failing for n in mounted_config_maps(p)}):
        config_map = view.find("ConfigMap", name, meta(failing[0]).get("namespace"))
        edits = hand_edits(config_map) if config_map is not None else None
        if config_map is None or edits is None:
            continue
        key, removed, added = edits
        ref = str(ObjectRef.of("ConfigMap", config_map))
        changed = (f"'{'; '.join(removed)}' became '{'; '.join(added)}'" if removed and added
                   else f"'{'; '.join(removed)}' was removed" if removed
                   else f"'{'; '.join(added)}' was added")
        finding.related.append(finding.object)
        finding.explanation += (
            f"; ConfigMap {name} was changed by hand since it was last applied (its data "
            f"differs from its last-applied-configuration): in key {key}, {changed}. The pods "
            "started since then fail their probe, the ones started before do not")
        finding.evidence.append(Evidence(source="spec", object=ref,
                                         detail=f"{key}: {changed}"))
        finding.facts.update(edited_key=key, name=name, changed=changed,
                             workload=finding.object)
        finding.object = ref
        return True
    return False


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _started(pod: Obj) -> str:
    """When the pod started: its status says (a pod object restored or re-created keeps its
    startTime, not its creationTimestamp), else when it was created."""
    return str((pod.get("status") or {}).get("startTime") or meta(pod).get("creationTimestamp")
               or "")
