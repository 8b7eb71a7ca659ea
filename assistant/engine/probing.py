"""What the app says about its own health, beside what its probes ask: the probe in words, the
health path or port the app serves when the probe asks for another, and the line in which it says
why it reports not ready."""

from __future__ import annotations

import re

from tools import Obj
from tools.summaries import meta

from .view import ClusterView


def probe_line(pod: Obj, container: str, which: str) -> str:
    """The probe in words: "probe HTTP GET /healthz on port http, initialDelaySeconds=5, ..."."""
    for item in (pod.get("spec") or {}).get("containers") or []:
        if item.get("name") == container and item.get(which):
            probe = item[which]
            action = probe.get("httpGet") or probe.get("tcpSocket") or {}
            where = ""
            if "httpGet" in probe:
                where = f"HTTP GET {action.get('path', '/')} on port {action.get('port')}, "
            elif "tcpSocket" in probe:
                where = f"TCP port {action.get('port')}, "
            elif "exec" in probe:
                where = f"exec {' '.join((probe['exec'] or {}).get('command') or [])}, "
            return (f"probe {where}initialDelaySeconds={probe.get('initialDelaySeconds', 0)}, "
                    f"periodSeconds={probe.get('periodSeconds', 10)}, "
                    f"timeoutSeconds={probe.get('timeoutSeconds', 1)}, "
                    f"failureThreshold={probe.get('failureThreshold', 3)}")
    return "no probe details"


_PATH = re.compile(r"(?<![\w.])(/[a-z][\w./-]*)", re.IGNORECASE)
_LISTEN = re.compile(r"(?:listen(?:ing)?|serving|started|bound)\b[^\n]*?"
                     r"(?:port(?:\(s\))?:? ?|(?<!\d\d:\d\d):)(\d{2,5})\b(?![:.]\d)",
                     re.IGNORECASE)  # not a time of day (23:44:41)
_HOST_REFUSED = re.compile(r"(?:Invalid HTTP_HOST header: '|Blocked hosts?: |"
                           r"host not allowed: )([\w.:\[\]-]+)",  # Django, Rails, Vite
                           re.IGNORECASE)
LOOPBACK = re.compile(r"(?:listen(?:ing|s)?|serving|start(?:ed|ing)|bound|running)\b[^\n]{0,40}?"
                       r"(?:https?://)?(127\.0\.0\.1|localhost|\[::1\]):(\d{2,5})\b",
                       re.IGNORECASE)  # Fastify, Flask, Vite, `next start -H localhost`
_HEALTH_WORDS = ("health", "ready", "readiness", "live", "liveness", "status", "ping")


_UNREADY_SAID = re.compile(r"\bnot[ _-]ready\b|\bunready\b|readiness (?:check )?fail",
                           re.IGNORECASE)
_ACCESS_LOG = re.compile(r"\"(?:GET|HEAD|POST) /|\b(?:GET|HEAD) /\S* HTTP/")


def why_unready(view: ClusterView, pod: Obj, container: str) -> str | None:
    """The line in which the app itself says why it reports not ready (the last one)."""
    log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"], container, False)
    if log is None:
        return None
    lines = [line.text.strip() for line in [*log.head, *log.errors, *log.tail]]
    said = [line for line in lines if _UNREADY_SAID.search(line) and not _ACCESS_LOG.search(line)]
    return said[-1][:300] if said else None


def served_instead(view: ClusterView, pod: Obj, container: str,
                    which: str) -> dict[str, str] | None:
    """What the app's log says it serves, when the probe asks for something else: a health
    path it registers or answers, or the port it listens on."""
    spec: Obj = next((c for c in (pod.get("spec") or {}).get("containers") or []
                      if c.get("name") == container), {})
    action = (spec.get(which) or {}).get("httpGet") or (spec.get(which) or {}).get(
        "tcpSocket") or {}
    path, port = action.get("path"), str(action.get("port", ""))
    port = next((str(p.get("containerPort")) for p in spec.get("ports") or []
                 if p.get("name") == port), port)  # a named port, as the kubelet resolves it
    logs = [view.log(meta(pod).get("namespace", ""), meta(pod)["name"], container, previous)
            for previous in (False, True)]  # a restarted app said it in its previous life too
    lines = [line.text for log in logs if log is not None
             for line in [*log.head, *log.errors, *log.tail]]
    if not lines:
        return None
    service = _grpc_service(spec.get(which) or {}, lines)
    if service:
        return service
    host = next((found for line in lines if (found := _HOST_REFUSED.search(line))), None)
    if host:  # the probe's Host header is the pod's IP, which the app's allow-list lacks
        return {"probe_where": f"the pod's IP as its Host header ({host.group(1)})",
                "served_how": "refuses that Host with 400 (an allowed-hosts list, such as "
                "Django's ALLOWED_HOSTS, that names only the public and Service names)",
                "host_refused": host.group(1), "line": host.group(0).strip()}
    scheme = _scheme_mismatch(view, pod, which, str(action.get("scheme") or "HTTP"), port,
                              lines) if "httpGet" in (spec.get(which) or {}) else None
    if scheme:
        return scheme
    if path and _answered(view, pod, path, which, lines):
        return None  # the probe reached the app, which answered: path and port are right
    loopback = next((found for line in lines if (found := LOOPBACK.search(line))), None)
    if loopback and port in ("", loopback.group(2)):
        return {"probe_where": f"the pod's IP on port {port or loopback.group(2)}",
                "served_how": f"listens only on the loopback address "
                f"{loopback.group(1)}:{loopback.group(2)}, which the kubelet cannot reach "
                "(it probes the pod's IP)",
                "loopback": f"{loopback.group(1)}:{loopback.group(2)}",
                "serves_port": loopback.group(2), "line": loopback.group(0).strip()}
    if port.isdigit():  # the port the app serves on (not its metrics or admin listener)
        listening = [(found.group(1), line) for line in lines
                     if (found := _LISTEN.search(line)) and not _SIDE_LISTENER.search(
                         line[: found.start(1)])]
        if listening and port not in {p for p, _ in listening}:
            serves, said = listening[0]
            return {"probe_where": f"port {port}", "served_how": f"listens on port {serves}",
                    "serves_port": serves, "probe_port": port, "line": said.strip()}
    elsewhere = _health_port(view, pod, which, lines, port)
    if elsewhere:
        return elsewhere
    if not path or _answered(view, pod, path, which, lines):
        return None
    others = {str(((spec.get(other) or {}).get("httpGet") or {}).get("path", "")).rstrip("/")
              for other in ("livenessProbe", "readinessProbe", "startupProbe") if other != which}
    served: list[tuple[str, str]] = []
    for line in lines:
        lowered = line.lower()
        for candidate in _PATH.findall(line):
            if candidate.rstrip("/") in (path.rstrip("/"), *others) or not any(
                    w in candidate.lower() for w in _HEALTH_WORDS):
                continue  # the probe's own path, or another probe's (its requests, not a hint)
            if " 404" in lowered and candidate in line.split(" 404")[0][-60:]:
                continue  # a path the app does not serve either
            served.append((candidate.rstrip(".,;)"), line.strip()))
    if not served:
        return None
    kind = "ready" if which == "readinessProbe" else "live"  # /health/ready for readiness
    candidate, line = max(served, key=lambda s: kind in s[0].lower())
    return {"probe_where": f"path {path} on port {port}",
            "served_how": f"serves its health check at {candidate}",
            "serves_path": candidate, "probe_path": path, "line": line}


_PROBED_SERVICE = re.compile(r"^-{1,2}service=([\w.]+)$")
_REGISTERED = re.compile(r"\bservice\b\W{1,4}([a-z][\w]*(?:\.[\w]+)+)")


def _grpc_service(probe: Obj, lines: list[str]) -> dict[str, str] | None:
    """A gRPC health probe (`grpc_health_probe -service=eta.v1.EtaService`) asking for a
    service name the app's log says it no longer registers (eta.v2.EtaService after a proto
    package bump): its health server answers NotFound "unknown service"."""
    command = [str(a) for a in (probe.get("exec") or {}).get("command") or []]
    asked = next((m.group(1) for a in command if (m := _PROBED_SERVICE.match(a))), None)
    if asked is None:
        return None
    last = asked.rsplit(".", 1)[-1]
    for line in lines:
        for served in _REGISTERED.findall(line):
            if served != asked and served.rsplit(".", 1)[-1] == last:
                return {"probe_where": f"gRPC service {asked}",
                        "served_how": f"registers its health status under {served}",
                        "serves_service": served, "probe_service": asked,
                        "line": line.strip()}
    return None


_STATUS = re.compile(r"statuscode: (\d{3})")
_TLS_SERVED = re.compile(r"\b(?:listen(?:ing|s)?|serving|started|bound)\b[^\n]*?\b(?:https|tls)\b|"
                         r"\b(?:https|tls)\b[^\n]*?\b(?:listen(?:ing|s)?|serving|started)\b",
                         re.IGNORECASE)
_PLAIN_TO_TLS = ("statuscode: 400", "http request to an https server")
_TLS_TO_PLAIN = ("server gave http response to https client", "first record does not look like")


def _scheme_mismatch(view: ClusterView, pod: Obj, which: str, scheme: str, port: str,
                     lines: list[str]) -> dict[str, str] | None:
    """The probe speaks plain HTTP to a port the app serves TLS on (answered 400, "Client sent
    an HTTP request to an HTTPS server"), or HTTPS to a plain one."""
    kind = "readiness" if which == "readinessProbe" else "liveness"
    said = [str(e.get("message") or "").lower()
            for e in view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace"))
            if kind in str(e.get("message") or "").lower()]
    if scheme.upper() == "HTTP" and any(m in s for s in said for m in _PLAIN_TO_TLS):
        line = next((t for t in lines if _serves_tls(t, port)), None)
        if line:
            answer = "400" if any("statuscode: 400" in s for s in said) else "an error"
            return {"probe_where": f"plain HTTP on port {port}", "served_how": "serves HTTPS "
                    f"there, and answers the kubelet's plain request with {answer}",
                    "serves_scheme": "HTTPS", "probe_scheme": "HTTP", "probe_port": port,
                    "line": line.strip()}
    if scheme.upper() == "HTTPS" and any(m in s for s in said for m in _TLS_TO_PLAIN):
        return {"probe_where": f"HTTPS on port {port}", "served_how": "serves plain HTTP there",
                "serves_scheme": "HTTP", "probe_scheme": "HTTPS", "probe_port": port,
                "line": next(m for m in said if any(t in m for t in _TLS_TO_PLAIN))}
    return None


def _serves_tls(line: str, port: str) -> bool:
    """The line says the app serves TLS, on the probe's port when it names one."""
    listen = _LISTEN.search(line)
    return bool(_TLS_SERVED.search(line)) and (listen is None or listen.group(1) == port)


def _answered(view: ClusterView, pod: Obj, path: str, which: str, lines: list[str]) -> bool:
    """The app serves the probe's path and answers it with an error on purpose (503: "I am not
    ready"), as the probe's events or the app's access log show: the path is right."""
    kind = "readiness" if which == "readinessProbe" else "liveness"
    meshed = any(_MESH_PROXY.search(str(c.get("name") or "")) for c in [
        *((pod.get("spec") or {}).get("containers") or []),
        *((pod.get("spec") or {}).get("initContainers") or [])])
    for event in view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace")):
        message = event.get("message") or ""
        code = _STATUS.search(message)
        if kind in message.lower() and code and code.group(1) != "404" and not (
                meshed and code.group(1) == "502"):  # (the mesh proxy's 502: no app behind)
            return True
    return any(_ACCESS_LOG.search(line) and f"{path} " in line and " 404" not in line
               for line in lines)


_SIDE_LISTENER = re.compile(r"\b(?:metrics|prometheus|pprof|debug|admin|management|profil\w*)\b",
                            re.IGNORECASE)  # a listener beside the app's own port
_MESH_PROXY = re.compile(r"^(?:linkerd-proxy|istio-proxy|envoy|consul-dataplane|"
                         r"envoy-sidecar|kuma-sidecar)$")  # sidecars that answer the probe for
# the app (a mesh rewrites the kubelet's probes to go through its proxy)


_HEALTH_LISTENER = re.compile(
    r"(management|health|admin|actuator|metrics)\w*(?: interface| server| endpoint| port)?s?"
    r"[^\n:]{0,20}?\blisten(?:ing|s)? on[^\n]*?:(\d{2,5})\b", re.IGNORECASE)


def _health_port(view: ClusterView, pod: Obj, which: str, lines: list[str],
                 port: str) -> dict[str, str] | None:
    """The app answers the probe with 404 and says it serves its health checks on another port
    (Keycloak 25's management interface on 9000, Spring's management.server.port)."""
    kind = "readiness" if which == "readinessProbe" else "liveness"
    refused = any(kind in (e.get("message") or "").lower() and "statuscode: 404" in (
        e.get("message") or "") for e in view.events_for("Pod", meta(pod)["name"],
                                                        meta(pod).get("namespace")))
    if not refused:
        return None
    for line in lines:
        found = _HEALTH_LISTENER.search(line)
        if found and found.group(2) != port:
            return {"probe_where": f"port {port}", "served_how": f"serves its "
                    f"{found.group(1).lower()} endpoints on port {found.group(2)} (and answers "
                    f"404 on {port})", "serves_port": found.group(2), "probe_port": port,
                    "line": line.strip()}
    return None


def still_starting(view: ClusterView, pod: Obj, container: str) -> str:
    """The last line of the killed run's log, when it says the app was still at its start-up
    work (recovering, replaying, loading, migrating): the probe killed it before it could
    serve; empty otherwise."""
    excerpt = view.log(meta(pod).get("namespace") or "", meta(pod)["name"], container, True)
    last = excerpt.tail[-1].text.strip() if excerpt and excerpt.tail else ""
    return last[:200] if _STARTING.search(last) else ""


_STARTING = re.compile(r"\b(?:recover(?:ing|y)|replay(?:ing)?|loading|warming|rebuilding|"
                       r"restoring|migrating|initializing|initialising|compacting|"
                       r"indexing|catching up|syncing)\b", re.IGNORECASE)
