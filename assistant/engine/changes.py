"""What the last rollout of a workload changed: the differences between the pod templates of
its newest ReplicaSet and the one before (image, env values, resources, command, identity)."""

from __future__ import annotations

import re

from tools import Obj, ObjectRef
from tools.ownership import by_revision, owned_by
from tools.summaries import meta, pod_template

from ..diagnosis import Evidence, Finding
from .view import ClusterView

RECENT_HOURS = 72  # a rollout this recent is a suspect for what broke since
MAX_CHANGES = 6


def template_changes(old: Obj, new: Obj) -> list[str]:
    """The differences between two pod templates, as a person reads them."""
    changes: list[str] = []  # the pod's own first: who every container runs as, and where
    for part in ("securityContext", "nodeSelector"):
        changes += _fields_changed(part, old.get(part), new.get(part))
    before = {c.get("name"): c for c in [*(old.get("initContainers") or []),
                                         *(old.get("containers") or [])]}
    for container in [*(new.get("initContainers") or []), *(new.get("containers") or [])]:
        name, was = container.get("name"), before.get(container.get("name"))
        if was is None:
            changes.append(f"container {name} added")
            continue
        if was.get("image") != container.get("image"):
            changes.append(f"image of {name} changed from {was.get('image')} to "
                           f"{container.get('image')}")
        old_env = {e.get("name"): e.get("value") for e in was.get("env") or []
                   if isinstance(e.get("value"), str)}
        new_env = {e.get("name"): e.get("value") for e in container.get("env") or []
                   if isinstance(e.get("value"), str)}
        for key in sorted(set(old_env) | set(new_env)):
            if old_env.get(key) != new_env.get(key):
                changes.append(f"env {key} of {name}: {_said(old_env.get(key))} -> "
                               f"{_said(new_env.get(key))}")
        for part in ("limits", "requests"):
            old_r = (was.get("resources") or {}).get(part) or {}
            new_r = (container.get("resources") or {}).get(part) or {}
            for key in sorted(set(old_r) | set(new_r)):
                if str(old_r.get(key)) != str(new_r.get(key)):
                    changes.append(f"{part}.{key} of {name}: {_said(old_r.get(key))} -> "
                                   f"{_said(new_r.get(key))}")
        for part in ("command", "args"):
            old_words = [str(a) for a in was.get(part) or []]
            new_words = [str(a) for a in container.get(part) or []]
            if old_words != new_words:
                added = [a for a in new_words if a not in old_words][:3]
                removed = [a for a in old_words if a not in new_words][:3]
                moved = ([f"added {' '.join(added)}"] if added else []) + (
                    [f"removed {' '.join(removed)}"] if removed else [])
                changes.append(f"{part} of {name} changed"
                               + (f" ({'; '.join(moved)})" if moved else " (order)"))
        changes += _fields_changed(f"securityContext of {name}", was.get("securityContext"),
                                   container.get("securityContext"))
    old_account = old.get("serviceAccountName") or "default"
    new_account = new.get("serviceAccountName") or "default"
    if old_account != new_account:
        changes.append(f"serviceAccountName: {old_account} -> {new_account}")
    return changes


def _fields_changed(what: str, old: object, new: object) -> list[str]:
    """`what.field: old -> new` for each top-level field of two maps that differs."""
    old_map = old if isinstance(old, dict) else {}
    new_map = new if isinstance(new, dict) else {}
    return [f"{what}.{key}: {_said(old_map.get(key))} -> {_said(new_map.get(key))}"
            for key in sorted(set(old_map) | set(new_map))
            if old_map.get(key) != new_map.get(key)]


def _said(value: object) -> str:
    return "(unset)" if value is None else str(value)


def last_rollout(view: ClusterView, ref: str) -> tuple[list[str], str] | None:
    """What the newest ReplicaSet of a Deployment changed against the one before, and how long
    ago it appeared; None when it is older than `RECENT_HOURS` or there is no earlier one."""
    deployment = ObjectRef.parse(ref)
    if deployment.kind != "Deployment":
        return None
    ordered = by_revision(owned_by(view.items("ReplicaSet", deployment.namespace), deployment))
    if len(ordered) < 2:
        return None
    old, new = ordered[-2], ordered[-1]
    age = view.age_seconds(meta(new).get("creationTimestamp"))
    if age is None or age > RECENT_HOURS * 3600:
        return None
    changes = template_changes(pod_template("ReplicaSet", old), pod_template("ReplicaSet", new))
    when = f"{int(age // 3600)}h" if age >= 3600 else f"{int(age // 60)}m"
    return (changes, when) if changes else None


def with_last_rollout(view: ClusterView, finding: Finding) -> None:
    """Add to a finding about a Deployment what its recent rollout changed (the suspect an SRE
    looks at first: "what changed?")."""
    found = last_rollout(view, finding.object)
    if found is None or "changed from" in finding.explanation:
        return
    changes, when = found
    said = "; ".join(changes[:MAX_CHANGES])
    finding.explanation += f"; its last rollout ({when} ago) changed: {said}"
    finding.evidence.append(Evidence(source="spec", object=finding.object,
                                     detail=f"rollout {when} ago: {said}"))


def injected(view: ClusterView, ref: str, cause: Finding) -> bool:
    """Whether the container a cause fails in is not in its workload's pod template: a mutating
    webhook added it to the pods (a mesh proxy, the OpenTelemetry operator's collector). Says
    so in the cause, with the template's annotations that ask for it."""
    container = cause.facts.get("container") or ""
    notes = _injector_annotations(view, ref, container)
    if notes is None:
        return False
    parsed = ObjectRef.parse(ref)
    asks = sorted(f"{key}: {value}" for key, value in notes.items() if "inject" in key)
    cause.explanation += (f"; container {container} is not in the pod template of "
                          f"{parsed.name}: a mutating webhook injected it"
                          + (f" ({', '.join(asks)})" if asks else ""))
    cause.facts["injected"] = container
    return True


def limit_annotated(view: ClusterView, finding: Finding) -> None:
    """An OOM-killed container that a webhook injected (a mesh proxy, Dapr's daprd) gets its
    limit from an annotation of the pod template (`dapr.io/sidecar-memory-limit: 64Mi`,
    `sidecar.istio.io/proxyMemoryLimit`): that annotation is what to change."""
    container = finding.facts.get("container") or ""
    notes = _injector_annotations(view, finding.object, container)
    if notes is None:  # (its own container: the limit is in the spec)
        return
    parsed = ObjectRef.parse(finding.object)
    key = next((k for k in sorted(notes) if _MEMORY_LIMIT_KEY.search(k)), None)
    if key is None:
        return
    finding.explanation += (f"; container {container} is injected, and its limit comes from "
                            f"the pod template's annotation {key}: {notes[key]}")
    finding.facts.update(limit_annotation=key, workload=parsed.name)


def _injector_annotations(view: ClusterView, ref: str, container: str) -> dict[str, str] | None:
    """The pod template's annotations of a workload whose pods run `container` although its
    template does not hold it (a webhook injected it); None when the template holds it."""
    parsed = ObjectRef.parse(ref)
    workload = view.find(parsed.kind, parsed.name, parsed.namespace_text)  # type: ignore[arg-type]
    if not container or workload is None:
        return None
    template = pod_template(parsed.kind, workload)
    if any(c.get("name") == container for c in [*(template.get("initContainers") or []),
                                                *(template.get("containers") or [])]):
        return None
    return dict((((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
                 ).get("annotations") or {})


_MEMORY_LIMIT_KEY = re.compile(r"memory[-_]?limit|MemoryLimit", re.IGNORECASE)


def injected_by(view: ClusterView, image: str) -> tuple[Obj, str] | None:
    """The workload, anywhere in the cluster, whose env or args set the image an injected
    container runs (a Dapr or mesh injector's SIDECAR_IMAGE): the one to fix. (It, the
    variable or "args".)"""
    for kind in ("Deployment", "StatefulSet", "DaemonSet"):
        for workload in view.everywhere(kind):
            for container in pod_template(kind, workload).get("containers") or []:
                for env in container.get("env") or []:
                    if isinstance(env, dict) and image in str(env.get("value") or ""):
                        return workload, str(env.get("name"))
                if any(image in str(a) for a in container.get("args") or []):
                    return workload, "args"
    return None
