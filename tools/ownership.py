"""Who owns what, computed once: owner chains (Pod -> ReplicaSet -> Deployment, Pod -> Job ->
CronJob), the pods of a target, and a Deployment's ReplicaSets in revision order.

Functions take the objects or a way to look them up (`find`, `items`), so the engine's
in-memory view and a cluster answer the same way.

    owner_chain(pod, find)              # [Link(ReplicaSet/shop/checkout-7d9f, ...), ...]
    top_owner(pod, find)                # ObjectRef("Deployment", "shop", "checkout")
    by_revision(owned_by(sets, ref))    # the ReplicaSets of a Deployment, oldest revision first
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .reading import Obj
from .refs import ObjectRef
from .selectors import matches_selector

Find = Callable[[Any, str, Any], "Obj | None"]  # (kind, name, namespace) -> the object
Items = Callable[[Any, str], list[Obj]]  # (kind, namespace) -> the objects

REVISION = "deployment.kubernetes.io/revision"
CONTROLLER_KINDS = ("ReplicaSet", "Deployment", "Job", "CronJob", "StatefulSet", "DaemonSet",
                    "ReplicationController")


def _owners(obj: Obj) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = (obj.get("metadata") or {}).get("ownerReferences") or []
    return refs


def _namespace(obj: Obj) -> str | None:
    namespace: str | None = (obj.get("metadata") or {}).get("namespace")
    return namespace or None


def controller(obj: Obj) -> dict[str, Any] | None:
    """The owner reference marked `controller`, if any."""
    return next((o for o in _owners(obj) if o.get("controller")), None)


def owner_of_kind(obj: Obj, kind: str | None = None) -> ObjectRef | None:
    """The first owner of `kind` (of any kind when None), in the object's namespace."""
    found = next((o for o in _owners(obj) if kind is None or o.get("kind") == kind), None)
    return ObjectRef(str(found.get("kind")), _namespace(obj), str(found.get("name"))) \
        if found else None


def owns(owner_kind: str, owner_name: str, item: Obj, owner_uid: str | None = None) -> bool:
    """Whether `item` names that owner (and, when both know it, the same uid)."""
    for ref in _owners(item):
        if ref.get("kind") == owner_kind and ref.get("name") == owner_name:
            return owner_uid is None or ref.get("uid") in (None, owner_uid)
    return False


def owned_by(items: Iterable[Obj], owner: ObjectRef) -> list[Obj]:
    """The items that name `owner` among their owners (by kind and name)."""
    return [i for i in items if owns(owner.kind, owner.name, i)]


@dataclass(frozen=True)
class Link:
    ref: ObjectRef
    obj: Obj | None  # None when it is gone, or was not looked up (see `follow`)


def owner_chain(obj: Obj, find: Find, *, depth: int = 4,
                follow: Iterable[str] | None = None) -> list[Link]:
    """The controllers above an object, nearest first, through at most `depth` links; only
    kinds in `follow` (any kind when None) are looked up to go further."""
    namespace, chain, current = _namespace(obj), [], obj
    kinds = set(follow) if follow is not None else None
    for _ in range(depth):
        ref = controller(current)
        if ref is None:
            break
        link = ObjectRef(str(ref["kind"]), namespace, str(ref["name"]))
        if kinds is not None and link.kind not in kinds:
            chain.append(Link(link, None))
            break
        parent = find(link.kind, link.name, namespace)
        chain.append(Link(link, parent))
        if parent is None:
            break
        current = parent
    return chain


def top_owner(obj: Obj, find: Find) -> ObjectRef | None:
    """The top controller of a pod, ReplicaSet or Job; for a ReplicaSet that is gone, the
    Deployment its name points to, when that exists."""
    chain = owner_chain(obj, find, depth=3)
    if not chain:
        return None
    last = chain[-1]
    if last.obj is None and last.ref.kind == "ReplicaSet":
        base = last.ref.name.rsplit("-", 1)[0]
        if find("Deployment", base, last.ref.namespace):
            return ObjectRef("Deployment", last.ref.namespace, base)
    return last.ref


def revision(replica_set: Obj) -> int:
    """A ReplicaSet's Deployment revision (0 when missing or not a number)."""
    value = ((replica_set.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0")
    return int(value) if str(value).isdigit() else 0


def by_revision(replica_sets: Iterable[Obj]) -> list[Obj]:
    """ReplicaSets oldest revision first (the newest is the last)."""
    return sorted(replica_sets, key=revision)


def selected_pods(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """The pods a Service's selector picks (none for a Service without a selector)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    return [p for p in pods if selector and matches_selector(
        {"matchLabels": selector}, (p.get("metadata") or {}).get("labels") or {})]


def pods_of(kind: str, obj: Obj, items: Items) -> list[Obj]:
    """The pods a workload owns, through ReplicaSets (Deployment) or Jobs (CronJob), uids
    compared when both sides carry them; a Service's, by its selector."""
    meta = obj.get("metadata") or {}
    namespace, uid, name = str(meta.get("namespace")), meta.get("uid"), str(meta["name"])
    if kind == "Service":
        return selected_pods(obj, items("Pod", namespace))
    owners = [(kind, name, uid)]
    middle = {"Deployment": "ReplicaSet", "CronJob": "Job"}.get(kind)
    if middle:
        owners = [(middle, str(m["metadata"]["name"]), m["metadata"].get("uid"))
                  for m in items(middle, namespace) if owns(kind, name, m, uid)]
    return [p for p in items("Pod", namespace) if any(owns(k, n, p, u) for k, n, u in owners)]
