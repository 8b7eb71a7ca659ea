"""The dependency a client's log line means by what it says rather than by a name: PgBouncer's
`server_login_retry` reaches a client only from a PgBouncer, so the Service in front of the
pods that run PgBouncer's image is the dependency (the one sharing a word with the client's
name when several workloads run it; none when that does not decide). A full disk told in
ClickHouse's words is ClickHouse's, not the disk of the client that relays it."""

from __future__ import annotations

import re

from knowledge import SignatureMatch
from tools import Obj
from tools.ownership import selected_pods
from tools.summaries import meta

from .view import ClusterView

_WORD = re.compile(r"[a-z][a-z0-9]{2,}")


def spoken_by(view: ClusterView, software: str, client: Obj) -> str | None:
    """host:port of the Service in front of the one workload that runs `software` (its
    ClusterIP Service before a headless one)."""
    running = [p for p in view.everywhere("Pod") if runs(p, software)]
    fronts: dict[tuple[str, frozenset[str]], list[Obj]] = {}
    for service in view.everywhere("Service"):
        selected = selected_pods(service, [p for p in running if meta(p).get("namespace")
                                           == meta(service).get("namespace")])
        if selected:
            fronts.setdefault((str(meta(service).get("namespace")), frozenset(
                meta(p)["name"] for p in selected)), []).append(service)
    groups = list(fronts.values())
    if len(groups) > 1:
        words = set(_WORD.findall(meta(client)["name"].lower())) - set(software.split("|"))
        groups = [g for g in groups if any(
            words & set(_WORD.findall(meta(s)["name"].lower())) for s in g)]
    if len(groups) != 1:
        return None
    service = sorted(groups[0], key=lambda s: (
        (s.get("spec") or {}).get("clusterIP") == "None", meta(s)["name"]))[0]
    ports = (service.get("spec") or {}).get("ports") or []
    port = f":{ports[0].get('port')}" if ports and ports[0].get("port") else ""
    return f"{meta(service)['name']}.{meta(service).get('namespace')}.svc.cluster.local{port}"


def runs(pod: Obj, software: str) -> bool:
    """Whether a container of the pod runs an image of that name (`bitnami/pgbouncer:1.23`,
    `clickhouse/clickhouse-server:24.3`), or of one of its names (`elasticsearch|opensearch`)."""
    return any((name := _image_name(str(c.get("image") or ""))) == each
               or name.startswith(f"{each}-") for each in software.split("|")
               for c in (pod.get("spec") or {}).get("containers") or [])


def _image_name(image: str) -> str:
    return image.rsplit("/", 1)[-1].split("@")[0].split(":")[0].lower()


def relayed_disk(cause: SignatureMatch, pod: Obj) -> bool:
    """Whether a full disk a pod reports is its database's: the pod mounts no claim, or the
    words are those of a server it does not run (`pq: could not extend file`: PostgreSQL's)."""
    speaker = cause.signature.speaker
    return cause.signature.category == "storage_full" and (not any(
        v.get("persistentVolumeClaim") for v in (pod.get("spec") or {}).get("volumes") or [])
        or (speaker is not None and not runs(pod, speaker)))


def spoken(view: ClusterView, cause: SignatureMatch, pod: Obj) -> str | None:
    """The Service of the one workload that runs the server whose words the line is."""
    speaker = cause.signature.speaker
    return spoken_by(view, speaker, pod) if speaker else None
