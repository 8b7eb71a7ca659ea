"""What changed in a Deployment: its ReplicaSets' revisions, newest pod template against the one
before it (images, commands, env names, resources, probes, ports, volumes).

    lines = template_changes(cluster, "shop", "checkout")
    # ["revision 3 (2h ago) -> 4 (5m ago)", "container app: image shop/checkout:1.4 -> 1.5", ...]
"""

from __future__ import annotations

from typing import Any

from tools import Cluster, Forbidden, KindUnavailable, NotFound, ObjectRef
from tools.ownership import by_revision, owned_by, revision
from tools.summaries import meta

_FIELDS = ("image", "command", "args", "resources", "livenessProbe", "readinessProbe",
           "startupProbe", "ports", "envFrom")


def template_changes(cluster: Cluster, namespace: str, deployment: str) -> list[str]:
    """The differences between the two newest revisions, in words; why not, when unknown."""
    try:
        sets = cluster.list("ReplicaSet", namespace)
    except (NotFound, KindUnavailable, Forbidden):
        return ["ReplicaSets are unknown here: cannot tell what changed"]
    owned = by_revision(owned_by(sets, ObjectRef("Deployment", namespace, deployment)))
    if not owned:
        return [f"no ReplicaSet of Deployment {deployment} found: cannot tell what changed"]
    newest = owned[-1]
    if len(owned) == 1:
        return [f"only revision {revision(newest)} exists ({meta(newest)['name']}, created "
                f"{meta(newest).get('creationTimestamp', '?')}): the pod template has not changed "
                "since the Deployment was created"]
    older = owned[-2]
    head = (f"revision {revision(older)} ({meta(older)['name']}, "
            f"{meta(older).get('creationTimestamp', '?')}) -> revision {revision(newest)} "
            f"({meta(newest)['name']}, {meta(newest).get('creationTimestamp', '?')})")
    diffs = diff_templates(_template(older), _template(newest))
    return [head, *(diffs or ["the pod templates are the same (a restart or scale, not a change)"])]


def diff_templates(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    before = {c.get("name"): c for c in old.get("containers") or []}
    after = {c.get("name"): c for c in new.get("containers") or []}
    for name in sorted(set(before) | set(after), key=str):
        if name not in after:
            lines.append(f"container {name}: removed")
            continue
        if name not in before:
            lines.append(f"container {name}: added, image {after[name].get('image')}")
            continue
        a, b = before[name], after[name]
        for key in _FIELDS:
            if a.get(key) != b.get(key):
                lines.append(f"container {name}: {key} {_short(a.get(key))} -> "
                             f"{_short(b.get(key))}")
        old_env = {e.get("name") for e in a.get("env") or []}
        new_env = {e.get("name") for e in b.get("env") or []}
        if old_env - new_env:
            lines.append(f"container {name}: env removed {', '.join(sorted(old_env - new_env))}")
        if new_env - old_env:
            lines.append(f"container {name}: env added {', '.join(sorted(new_env - old_env))}")
        changed = sorted(e.get("name") for e in b.get("env") or []
                         if e not in (a.get("env") or []) and e.get("name") in old_env)
        if changed:
            lines.append(f"container {name}: env value changed {', '.join(changed)}")
    for key in ("volumes", "nodeSelector", "affinity", "tolerations", "serviceAccountName"):
        if old.get(key) != new.get(key):
            lines.append(f"pod {key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    return lines


def _template(rs: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = ((rs.get("spec") or {}).get("template") or {}).get("spec") or {}
    return spec


def _short(value: Any) -> str:
    text = "(none)" if value in (None, [], {}) else str(value)
    return text if len(text) <= 120 else text[:117] + "..."
