"""Writes a snapshot directory from any `Cluster`, in the format the snapshot backend reads.

Core files keep kubectl's own names so a snapshot stays readable by anything that reads
`kubectl cluster-info dump`; our extensions sit beside them. What a cluster refuses or does not
serve is skipped and reported, so a partial snapshot is still useful (and says what it lacks).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ApiError, Forbidden, KindUnavailable
from .kinds import KINDS, info
from .reading import Cluster, Obj
from .snapshot import LOG_FILE, PREVIOUS_LOG_FILE
from .summaries import meta


@dataclass
class SnapshotReport:
    directory: Path
    namespaces: list[str] = field(default_factory=list)
    objects: int = 0
    logs: int = 0
    skipped: list[str] = field(default_factory=list)  # "events in shop: no permission ..."


def write_snapshot(
    cluster: Cluster,
    directory: Path,
    namespaces: Iterable[str] | None = None,
    *,
    logs: bool = True,
    max_log_bytes: int = 2 * 1024 * 1024,
) -> SnapshotReport:
    """Capture `namespaces` (all when None) of `cluster` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    report = SnapshotReport(directory)
    wanted = sorted(set(namespaces)) if namespaces else cluster.namespaces()
    report.namespaces = wanted
    for kind in KINDS:
        entry = info(kind)
        if entry.namespaced:
            continue
        try:
            items = cluster.list(kind)
        except (KindUnavailable, Forbidden) as e:
            report.skipped.append(f"{entry.plural}: {e}")
            continue
        if kind == "Namespace":
            items = [i for i in items if meta(i).get("name") in wanted]
        _write_list(directory / entry.snapshot_file, kind, items)
        report.objects += len(items)
    for namespace in wanted:
        folder = directory / namespace
        folder.mkdir(exist_ok=True)
        pods: list[Obj] = []
        for kind in KINDS:
            entry = info(kind)
            if not entry.namespaced:
                continue
            try:
                items = cluster.list(kind, namespace)
            except (KindUnavailable, Forbidden) as e:
                report.skipped.append(f"{entry.plural} in {namespace}: {e}")
                continue
            _write_list(folder / entry.snapshot_file, kind, items)
            report.objects += len(items)
            if kind == "Pod":
                pods = items
        if logs:
            for pod in pods:
                report.logs += _write_logs(cluster, folder, namespace, pod, max_log_bytes, report)
    return report


def _write_list(path: Path, kind: str, items: list[Obj]) -> None:
    entry = info(kind)  # type: ignore[arg-type]
    document = {"kind": f"{kind}List", "apiVersion": entry.versions[0], "metadata": {},
                "items": items}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False), encoding="utf-8")
    tmp.replace(path)


def _write_logs(cluster: Cluster, folder: Path, namespace: str, pod: Obj, limit: int,
                report: SnapshotReport) -> int:
    name = meta(pod)["name"]
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    containers = [c["name"] for c in [*(spec.get("initContainers") or []),
                                      *(spec.get("containers") or [])]]
    restarted = {s["name"] for s in [*(status.get("initContainerStatuses") or []),
                                     *(status.get("containerStatuses") or [])]
                 if s.get("restartCount") or (s.get("lastState") or {}).get("terminated")}
    written = 0
    for previous, file_name in ((False, LOG_FILE), (True, PREVIOUS_LOG_FILE)):
        chunks: list[str] = []
        for container in containers:
            if previous and container not in restarted:
                continue
            label = "previous logs" if previous else "logs"
            frame = f"{label} for container {container} of pod {namespace}/{name}"
            try:
                body = _bounded(cluster.log_lines(namespace, name, container, previous=previous),
                                limit)
            except ApiError as e:
                body = [f"Request log error: {e}"]
            chunks += [f"==== START {frame} ====", *body, f"==== END {frame} ===="]
            written += 1
        if chunks:
            (folder / name).mkdir(exist_ok=True)
            (folder / name / file_name).write_text("\n".join(chunks) + "\n", encoding="utf-8")
    return written


def _bounded(lines: Iterable[str], limit: int) -> list[str]:
    """The last `limit` bytes' worth of lines, holding no more than that in memory."""
    kept: deque[str] = deque()
    size = dropped = 0
    for line in lines:
        kept.append(line)
        size += len(line) + 1
        while size > limit and kept:
            size -= len(kept.popleft()) + 1
            dropped += 1
    if dropped:
        kept.appendleft(f"[sre snapshot: {dropped} earlier lines not captured]")
    return list(kept)
