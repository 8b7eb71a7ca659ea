"""The shape Kubernetes gives the objects of a list, checked where a snapshot is read.

A snapshot is a directory anyone can edit or truncate; the live API server is the only other
source, and it never sends these shapes. What the tools and the engine read is held to the types
the API defines (the `FIELDS` table): an object where an object belongs, a list of objects
where a list belongs, an integer for counts. A field that is absent or null (below the top
level) is simply unknown. The first problem found is returned as a sentence naming the item and
the field:

    shape_problem([{"metadata": {"name": "web"}, "status": {"containerStatuses":
                    [{"restartCount": "twelve"}]}}])
    # 'item 0 (web): status.containerStatuses[0].restartCount is "twelve", not an integer'
"""

from __future__ import annotations

import json
from typing import Any, Literal

Type = Literal["object", "list", "string", "integer", "boolean"]
MAX_DEPTH = 64  # real objects nest about 15 levels; a deeper one is not a Kubernetes object

# (path, type): segments separated by dots, `[]` for every element of a list.
FIELDS: tuple[tuple[str, Type], ...] = (
    ("metadata.namespace", "string"),
    ("metadata.labels", "object"),
    ("metadata.annotations", "object"),
    ("metadata.ownerReferences", "list"),
    ("metadata.ownerReferences[]", "object"),
    ("metadata.ownerReferences[].kind", "string"),
    ("metadata.ownerReferences[].name", "string"),
    ("spec.replicas", "integer"),
    ("spec.selector", "object"),
    ("spec.template", "object"),
    ("spec.containers", "list"),
    ("spec.containers[]", "object"),
    ("spec.initContainers", "list"),
    ("spec.initContainers[]", "object"),
    ("spec.volumes", "list"),
    ("spec.volumes[]", "object"),
    ("spec.nodeName", "string"),
    ("status.phase", "string"),
    ("status.conditions", "list"),
    ("status.conditions[]", "object"),
    ("status.containerStatuses", "list"),
    ("status.containerStatuses[]", "object"),
    ("status.containerStatuses[].name", "string"),
    ("status.containerStatuses[].ready", "boolean"),
    ("status.containerStatuses[].restartCount", "integer"),
    ("status.containerStatuses[].state", "object"),
    ("status.containerStatuses[].state.waiting", "object"),
    ("status.containerStatuses[].state.running", "object"),
    ("status.containerStatuses[].state.terminated", "object"),
    ("status.containerStatuses[].lastState", "object"),
    ("status.containerStatuses[].lastState.waiting", "object"),
    ("status.containerStatuses[].lastState.terminated", "object"),
    ("status.containerStatuses[].lastState.terminated.exitCode", "integer"),
    ("spec.containers[].env", "list"),
    ("spec.containers[].env[]", "object"),
    ("spec.containers[].resources", "object"),
    ("spec.containers[].resources.limits", "object"),
    ("spec.containers[].resources.requests", "object"),
    ("spec.containers[].ports", "list"),
    ("spec.containers[].ports[]", "object"),
    ("spec.initContainers[].env", "list"),
    ("spec.initContainers[].env[]", "object"),
    ("spec.initContainers[].resources", "object"),
    ("spec.template.spec", "object"),
    ("spec.template.spec.containers", "list"),
    ("spec.template.spec.containers[]", "object"),
    ("spec.template.spec.containers[].env", "list"),
    ("spec.template.spec.containers[].env[]", "object"),
    ("spec.template.spec.containers[].resources", "object"),
    ("message", "string"),
    ("reason", "string"),
    ("status.initContainerStatuses", "list"),
    ("status.initContainerStatuses[]", "object"),
    ("status.initContainerStatuses[].restartCount", "integer"),
    ("status.initContainerStatuses[].state", "object"),
    ("status.replicas", "integer"),
    ("status.readyReplicas", "integer"),
    ("status.availableReplicas", "integer"),
    ("involvedObject", "object"),
    ("count", "integer"),
)
_PYTHON: dict[Type, tuple[type, ...]] = {
    "object": (dict,), "list": (list,), "string": (str,), "integer": (int,), "boolean": (bool,),
}
_ARTICLE: dict[Type, str] = {"object": "an object", "list": "a list", "string": "a string",
                             "integer": "an integer", "boolean": "true or false"}


def shape_problem(items: list[Any]) -> str | None:
    """What is wrong with the first malformed item of a list's `items`; None when all are fine."""
    for index, item in enumerate(items):
        problem = _item_problem(item)
        if problem:
            name = _name(item)
            return f"item {index}{f' ({name})' if name else ''}: {problem}"
    return None


def _name(item: Any) -> str:
    metadata = item.get("metadata") if isinstance(item, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name[:63] if isinstance(name, str) else ""


def _item_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return f"is {_shown(item)}, not an object"
    if _depth(item) > MAX_DEPTH:
        return f"nests deeper than {MAX_DEPTH} levels"
    for top in ("metadata", "spec", "status"):
        if top in item and not isinstance(item[top], dict):
            return f"{top} is {_shown(item[top])}, not an object"
    if not isinstance(item.get("metadata"), dict):
        return "has no metadata"
    if not isinstance(item["metadata"].get("name"), str):
        return f"metadata.name is {_shown(item['metadata'].get('name'))}, not a string"
    for path, wanted in FIELDS:
        problem = _field_problem(item, path, wanted)
        if problem:
            return problem
    return None


def _field_problem(item: dict[str, Any], path: str, wanted: Type) -> str | None:
    for where, value in _values(item, path.split("."), ""):
        ok = isinstance(value, _PYTHON[wanted]) and not (
            wanted == "integer" and isinstance(value, bool))
        if value is not None and not ok:
            return f"{where} is {_shown(value)}, not {_ARTICLE[wanted]}"
    return None


def _values(node: Any, segments: list[str], where: str) -> list[tuple[str, Any]]:
    """(path with indexes, value) of every value at `segments` below `node`; absent: none."""
    if not segments:
        return [(where, node)]
    head, rest = segments[0], segments[1:]
    every = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return []
    here = f"{where}.{key}" if where else key
    value = node[key]
    if not every:
        return _values(value, rest, here)
    if not isinstance(value, list):
        return []  # the list's own rule reports it
    found: list[tuple[str, Any]] = []
    for index, element in enumerate(value):
        found += _values(element, rest, f"{here}[{index}]")
    return found


def _depth(root: Any) -> int:
    """How deep containers nest in `root`, counted without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        children = node.values() if isinstance(node, dict) else node
        stack += [(c, depth + 1) for c in children if isinstance(c, dict | list)]
    return deepest


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    text = json.dumps(value) if isinstance(value, str | int | float | bool) else (
        "a list" if isinstance(value, list) else "an object")
    return text if len(text) <= 40 else text[:37] + "..."
