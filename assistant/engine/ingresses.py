"""The way in from outside: the Ingress that serves a host a question names, and the ingress
controller whose log says what it does with that Ingress (a TLS Secret it cannot find, a backend
with no endpoints). A user's "api.example.io shows a certificate error" starts here."""

from __future__ import annotations

import re

from tools import Obj
from tools.summaries import meta

from .view import ClusterView

_HOST = re.compile(r"\b((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.IGNORECASE)
_CONTROLLER = re.compile(r"ingress|traefik|haproxy|contour|envoy-gateway|kong", re.IGNORECASE)


def ingress_namespaces(view: ClusterView, text: str) -> list[str]:
    """The namespaces of the Ingresses that serve a host the text names."""
    hosts = {h.lower() for h in _HOST.findall(text)}
    return sorted({meta(i).get("namespace") or "" for i in view.everywhere("Ingress")
                   if hosts & _hosts_of(i)})


def controller_pods(view: ClusterView) -> list[Obj]:
    """The ingress controllers' pods, when an Ingress lives in what is examined: their log is
    where a TLS Secret or a backend that an Ingress names is reported missing."""
    if not any(meta(i).get("namespace") in view.namespaces for i in view.everywhere("Ingress")):
        return []
    homes = sorted({meta(d).get("namespace") or "" for kind in ("Deployment", "DaemonSet")
                    for d in view.everywhere(kind) if _CONTROLLER.search(meta(d)["name"])})
    view.widen(homes)
    return [p for home in homes for p in view.items("Pod", home)
            if _CONTROLLER.search(meta(p)["name"])]


def _hosts_of(ingress: Obj) -> set[str]:
    spec = ingress.get("spec") or {}
    return {str(r.get("host") or "").lower() for r in spec.get("rules") or []} | {
        str(h).lower() for t in spec.get("tls") or [] for h in t.get("hosts") or []}
