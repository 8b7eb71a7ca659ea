"""Alerts whose object is named in another's words: a lag alert from a broker's exporter names
its consumer (`consumer_name=order-projector`), not the broker pod whose series it is; a proxy's
alert names the Service it routes to in the proxy's own naming (Traefik's
`search-search-api-8080@kubernetes`)."""

from __future__ import annotations

import re

from knowledge import alert_labels as semantics
from tools import Forbidden, KindUnavailable, NotFound, Toolbox

from ..diagnosis import Target


def consumer_of(box: Toolbox, name: str | None) -> Target | None:
    """The workload named exactly as the consumer an alert's lag is about, if one is."""
    found = box.find(name) if name else None
    best = found.matches[0] if found is not None and found.ok and found.matches else None
    if best is None or best.score < 100 or best.kind not in (
            "Deployment", "StatefulSet", "DaemonSet"):
        return None
    return Target(kind=best.kind, namespace=best.namespace, name=best.name)


def proxied(box: Toolbox, known: list[str], labels: dict[str, str]) -> Target | None:
    """The Service a proxy's alert names in the proxy's own words: Traefik's kubernetes
    provider calls it `<namespace>-<service>-<port>@kubernetes` (`service=` or
    `exported_service=`), so `search-search-api-8080@kubernetes` is Service search-api in
    namespace search."""
    if not semantics.is_alert(labels):
        return None
    for value in labels.values():
        found = _PROVIDER_SERVICE.fullmatch(value)
        for namespace in sorted((n for n in known if found and found["name"].startswith(
                f"{n}-")), key=len, reverse=True):
            name = found["name"][len(namespace) + 1:] if found else ""
            try:
                box.cluster.get("Service", name, namespace)
            except (NotFound, Forbidden, KindUnavailable):
                continue
            return Target(kind="Service", namespace=namespace, name=name)
    return None


_PROVIDER_SERVICE = re.compile(r"(?P<name>[a-z0-9][a-z0-9-]*)-(?P<port>\d{1,5})@kubernetes(?:crd)?")
