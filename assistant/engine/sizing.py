"""Memory a container sizes for itself, beside the limit it is killed at: a JVM's or Node's heap
set in its env or arguments (`heap_setting`), and a server that sizes its memory from the node,
not from its container's limit: its own log says what it set (Dragonfly's "Found 13.71GiB
available memory. Setting maxmemory to 10.97GiB", a cache or buffer pool "set to 8GB"), and the
size is above the limit (`sized_above_limit`). Raising the limit chases the node's size; the
setting is what to change."""

from __future__ import annotations

import re

from tools import Obj
from tools.summaries import meta

from .quantities import memory_bytes
from .view import ClusterView

_XMX = re.compile(r"-Xmx(\d+[kKmMgG]?)|-XX:MaxRAMPercentage=([\d.]+)|"
                  r"--max-old-space-size=(\d+)")  # (Node's V8 heap, in MiB)
_HEAP_VARS = ("MAX_HEAP_SIZE", "JVM_HEAP_SIZE", "HEAP_SIZE")  # a size alone: "1024M"
_SIZE = re.compile(r"\d+[kKmMgG]?")
_JVM_VARS = ("JAVA_OPTS", "ES_JAVA_OPTS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JVM_OPTS",
             "OPENSEARCH_JAVA_OPTS", "KAFKA_HEAP_OPTS", "CATALINA_OPTS", "JDK_JAVA_OPTIONS",
             "NODE_OPTIONS")


def heap_setting(pod: Obj, container: str) -> str:
    """Where a JVM's (or Node's) heap size is set, beside the container's memory limit:
    "ES_JAVA_OPTS sets -Xmx512m, while the container may use 2Gi", "NODE_OPTIONS sets
    --max-old-space-size=3072 (MiB)"."""
    for each in (pod.get("spec") or {}).get("containers") or []:
        if each.get("name") != container:
            continue
        limit = ((each.get("resources") or {}).get("limits") or {}).get("memory")
        sources = [(e.get("name", ""), e.get("value")) for e in each.get("env") or []
                   if isinstance(e.get("value"), str)]
        sources += [("args", " ".join(str(a) for a in (each.get("command") or [])
                                      + (each.get("args") or [])))]
        for name, value in sources:
            found = _XMX.search(value or "") if name not in _HEAP_VARS else \
                _SIZE.fullmatch((value or "").strip())  # Cassandra's MAX_HEAP_SIZE=1024M
            if found and (name in _JVM_VARS or name in _HEAP_VARS or name == "args"):
                size = found.group(0) if name in _HEAP_VARS else \
                    f"-Xmx{found.group(1)}" if found.group(1) else \
                    f"-XX:MaxRAMPercentage={found.group(2)}" if found.group(2) else \
                    f"--max-old-space-size={found.group(3)} (MiB)"
                return (f"{name} sets {size}" + (f", while the container may use {limit}"
                                                 if limit else ""))
    return ""


def sized_above_limit(view: ClusterView, pod: Obj, container: str,
                      limit: str) -> dict[str, str]:
    """The setting and size a container's log says it chose, when above `limit`: facts for the
    explanation and the remedy ({"sized_setting", "sized_to", "sized_line"}), else empty."""
    cap = memory_bytes(limit)
    if not cap:
        return {}
    for previous in (True, False):  # the run that was killed first
        excerpt = view.log(meta(pod).get("namespace") or "", meta(pod)["name"], container,
                           previous)
        for line in [*excerpt.head, *excerpt.tail, *excerpt.errors] if excerpt else []:
            found = _SIZED.search(line.text)
            size = found and memory_bytes(_quantity(found["number"], found["unit"]))
            if found and size and size > cap:
                return {"sized_setting": found["setting"].strip(), "sized_to": found["size"],
                        "sized_line": line.text.strip()[:200]}
    return {}


def _quantity(number: str, unit: str) -> str:
    """A size as a log prints it ("10.97GiB", "512 MB", "8gb") as a Kubernetes quantity."""
    return number + unit.upper().removesuffix("B").replace("I", "i")


# a memory setting, then what the app set it to: "Setting maxmemory to 10.97GiB",
# "innodb_buffer_pool_size = 8G", "cache size set to 6144 MB", "max heap: 4GB"
_SIZED = re.compile(
    r"\b(?P<setting>max[_ -]?memory|maxmemory|innodb_buffer_pool_size|cache[_ ]size|"
    r"buffer[_ ]pool(?:[_ ]size)?|shared_buffers|max[_ ]heap(?:[_ ]size)?|heap[_ ]size|"
    r"memory[_ ]limit)\b[^\n\d]{0,24}?\b(?:to|=|:|of|is)\s*"
    r"(?P<size>(?P<number>\d+(?:\.\d+)?)\s?(?P<unit>[KMGT]i?B|[KMGT]i?|[kmgt]b))\b",
    re.IGNORECASE)
