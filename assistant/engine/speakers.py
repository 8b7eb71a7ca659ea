"""The dependency a client's log line means by what it says rather than by a name: PgBouncer's
`server_login_retry` reaches a client only from a PgBouncer, so the Service in front of the
pods that run PgBouncer's image is the dependency (the one sharing a word with the client's
name when there are several; none when that does not decide)."""

from __future__ import annotations

import re

from tools import Obj
from tools.ownership import selected_pods
from tools.summaries import meta

from .view import ClusterView

_WORD = re.compile(r"[a-z][a-z0-9]{2,}")


def spoken_by(view: ClusterView, software: str, client: Obj) -> str | None:
    """host:port of the Service in front of the one workload that runs `software`."""
    running = [p for p in view.everywhere("Pod") if _runs(p, software)]
    services = [s for s in view.everywhere("Service")
                if selected_pods(s, [p for p in running if meta(p).get("namespace")
                                     == meta(s).get("namespace")])]
    if len(services) > 1:
        words = set(_WORD.findall(meta(client)["name"].lower())) - {software}
        services = [s for s in services if words & set(_WORD.findall(meta(s)["name"].lower()))]
    if len(services) != 1:
        return None
    [service] = services
    ports = (service.get("spec") or {}).get("ports") or []
    port = f":{ports[0].get('port')}" if ports and ports[0].get("port") else ""
    return f"{meta(service)['name']}.{meta(service).get('namespace')}.svc.cluster.local{port}"


def _runs(pod: Obj, software: str) -> bool:
    """Whether a container of the pod runs an image of that name (`bitnami/pgbouncer:1.23`)."""
    return any(_image_name(str(c.get("image") or "")) == software
               for c in (pod.get("spec") or {}).get("containers") or [])


def _image_name(image: str) -> str:
    return image.rsplit("/", 1)[-1].split("@")[0].split(":")[0].lower()
