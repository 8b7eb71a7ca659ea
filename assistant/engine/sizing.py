"""A server that sizes its memory from the node, not from its container's limit: its own log
says what it set (Dragonfly's "Found 13.71GiB available memory. Setting maxmemory to 10.97GiB",
a cache or buffer pool "set to 8GB"), and the size is above the limit it is killed at. Raising
the limit chases the node's size; the setting is what to change."""

from __future__ import annotations

import re

from tools import Obj
from tools.summaries import meta

from .quantities import memory_bytes
from .view import ClusterView


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
