"""A pod that asks for more than any node has: it fits on no node of this size, even an empty
one, so freeing room or adding a node of the same size never schedules it (a CPU request raised
to 4 cores on nodes with 3860m allocatable)."""

from __future__ import annotations

from tools import Obj
from tools.summaries import meta

from .quantities import cpu_milli, memory_bytes
from .view import ClusterView


def larger_than_any_node(view: ClusterView, pod: Obj, resources: list[str]) -> dict[str, str]:
    """For the first resource the pod requests more of than the largest node can allocate: its
    facts (`request`, `allocatable`, `largest_node`) and the sentence in "said"; empty when
    some node could hold it once emptied."""
    nodes = view.items("Node")
    for resource in resources:
        parse = cpu_milli if resource == "cpu" else memory_bytes if resource == "memory" \
            else None
        if parse is None or not nodes:
            continue
        asked = [(c.get("resources") or {}).get("requests", {}).get(resource)
                 for c in (pod.get("spec") or {}).get("containers") or []]
        total = sum(parse(a) or 0 for a in asked if a is not None)
        sized = [(parse(((n.get("status") or {}).get("allocatable") or {}).get(resource)), n)
                 for n in nodes]
        known = [(size, n) for size, n in sized if size is not None]
        if not total or len(known) != len(nodes):
            continue
        size, largest = max(known, key=lambda pair: pair[0])
        if total <= size:
            continue
        request = " + ".join(str(a) for a in asked if a is not None)
        allocatable = str(((largest.get("status") or {}).get("allocatable") or {})[resource])
        return {"request": request, "allocatable": allocatable,
                "largest_node": meta(largest)["name"], "resource": resource,
                "said": (f"the pod requests {resource} {request}, more than any node can "
                         f"allocate (the largest, {meta(largest)['name']}, has {allocatable}): "
                         "it fits on no node of this size even when empty, so a new node of "
                         "the same size would not help either")}
    return {}


def cordoned_with_room(view: ClusterView, pod: Obj, resources: list[str]) -> str | None:
    """A cordoned node the pod's nodeSelector picks that would hold it: its allocatable, less
    what the pods running there request, covers every resource the scheduler found short
    elsewhere. Left cordoned (after patching, a drain), it is why "Insufficient cpu" is true."""
    spec = pod.get("spec") or {}
    selector = spec.get("nodeSelector") or {}
    for node in view.items("Node"):
        labels = meta(node).get("labels") or {}
        if not (node.get("spec") or {}).get("unschedulable") or any(
                labels.get(k) != v for k, v in selector.items()):
            continue
        on_it = [p for p in view.everywhere("Pod")
                 if (p.get("spec") or {}).get("nodeName") == meta(node)["name"]
                 and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        if all(_room(node, on_it, pod, resource) for resource in resources or ["cpu"]):
            return str(meta(node)["name"])
    return None


def _room(node: Obj, running: list[Obj], pod: Obj, resource: str) -> bool:
    parse = cpu_milli if resource == "cpu" else memory_bytes if resource == "memory" else None
    if parse is None:
        return False
    allocatable = parse(((node.get("status") or {}).get("allocatable") or {}).get(resource))

    def asked(p: Obj) -> float:
        return sum(parse(((c.get("resources") or {}).get("requests") or {}).get(resource)) or 0
                   for c in (p.get("spec") or {}).get("containers") or [])

    return allocatable is not None and allocatable - sum(asked(p) for p in running) >= asked(pod)
