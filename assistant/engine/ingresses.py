"""The way in from outside: the Ingress that serves a host a question names, and the ingress
controller whose log says what it does with that Ingress (a TLS Secret it cannot find, a backend
with no endpoints). A user's "api.example.io shows a certificate error" starts here."""

from __future__ import annotations

import re

from tools import Obj
from tools.logs import LogLine
from tools.summaries import meta

from .view import ClusterView

_HOST = re.compile(r"\b((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.IGNORECASE)
_CONTROLLER = re.compile(r"ingress|traefik|haproxy|contour|envoy-gateway|kong", re.IGNORECASE)


def ingress_namespaces(view: ClusterView, text: str) -> list[str]:
    """The namespaces of the Ingresses that serve a host the text names."""
    hosts = {h.lower() for h in _HOST.findall(text)}
    return sorted({meta(i).get("namespace") or "" for i in view.everywhere("Ingress")
                   if hosts & _hosts_of(i)})


def routed_to(view: ClusterView, text: str) -> set[tuple[str, str]]:
    """The Services (namespace, name) an Ingress routes the hosts, URLs and paths a text names
    to: for a URL or a path, the backend of its longest matching path (a path said alone never
    matches the catch-all `/`); for a bare host, every backend of it."""
    named = [(m.group(1).lower(), m.group(2) or "") for m in _URL.finditer(text)]
    named += [(h.lower(), "") for h in _HOST.findall(_URL.sub(" ", text))]
    named += [("", p) for p in _PATH.findall(_URL.sub(" ", text))]  # "503 on /api/v1/x"
    routed = set()
    for ingress in view.everywhere("Ingress") if named else []:
        ns = meta(ingress).get("namespace") or ""
        for rule in (ingress.get("spec") or {}).get("rules") or []:
            paths = [(str(p.get("path") or "/"), name) for p in
                     ((rule.get("http") or {}).get("paths") or [])
                     if (name := ((p.get("backend") or {}).get("service") or {}).get("name"))]
            for host, path in named:
                if host and host != str(rule.get("host") or "").lower():
                    continue
                fitting = [(len(prefix), name) for prefix, name in paths
                           if (path.startswith(prefix.rstrip("/") + "/") or path == prefix)
                           and (host or prefix != "/")]  # (a path alone: never the catch-all)
                chosen = [max(fitting)[1]] if path and fitting else \
                    [n for _, n in paths] if host else []
                routed |= {(ns, str(name)) for name in chosen}
    return routed


_PATH = re.compile(r"(?<![\w./:-])(/[\w.-]+(?:/[\w.-]+)*)")  # a URL path said alone
_URL = re.compile(r"\bhttps?://((?:[a-z0-9-]+\.)+[a-z]{2,})(?::\d+)?(/[^\s\"'<>)]*)?",
                  re.IGNORECASE)


def controller_pods(view: ClusterView) -> list[Obj]:
    """The ingress controllers' pods, when an Ingress lives in what is examined: their log is
    where a TLS Secret or a backend that an Ingress names is reported missing."""
    if not any(meta(i).get("namespace") in view.namespaces for i in view.everywhere("Ingress")):
        return []
    classes = {str(c) for i in view.everywhere("Ingress")  # (APISIX's data plane is
               if (c := (i.get("spec") or {}).get("ingressClassName"))}  # `apisix`)
    named = re.compile("|".join([_CONTROLLER.pattern, *(
        rf"^{re.escape(c)}(?:-|$)" for c in sorted(classes))]), re.IGNORECASE)
    homes = sorted({meta(d).get("namespace") or "" for kind in ("Deployment", "DaemonSet")
                    for d in view.everywhere(kind) if named.search(meta(d)["name"])})
    view.widen(homes)
    return [p for home in homes for p in view.items("Pod", home)
            if named.search(meta(p)["name"])]


def backends(ingress: Obj) -> set[str]:
    """The names of the Services an Ingress routes to."""
    spec = ingress.get("spec") or {}
    paths = [path.get("backend") or {} for rule in spec.get("rules") or []
             for path in (rule.get("http") or {}).get("paths") or []]
    return {str(name) for backend in [*paths, spec.get("defaultBackend") or {}]
            if (name := (backend.get("service") or {}).get("name") or backend.get("serviceName"))}


def complaining(view: ClusterView, ingresses: list[Obj]) -> list[Obj]:
    """The ingress controller pods whose error lines name one of these Ingresses
    (`sync ingress failed ... "Key":"payments/payments-api-v2"`): what the controller cannot do
    with it is why its route does not exist."""
    keys = {f"{meta(i).get('namespace')}/{meta(i)['name']}" for i in ingresses}
    if not keys:
        return []
    return [pod for pod in controller_pods(view)
            if any(key in line.text for container in (pod.get("spec") or {}).get(
                       "containers") or []
                   for line in _errors(view, pod, container.get("name", "")) for key in keys)]


def _errors(view: ClusterView, pod: Obj, container: str) -> list[LogLine]:
    log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"], container, False)
    return log.errors if log is not None else []


def _hosts_of(ingress: Obj) -> set[str]:
    spec = ingress.get("spec") or {}
    return {str(r.get("host") or "").lower() for r in spec.get("rules") or []} | {
        str(h).lower() for t in spec.get("tls") or [] for h in t.get("hosts") or []}
