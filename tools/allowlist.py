"""The read-only guard's rule: which requests are reads the tools make (`check_request`).

The rule is an allow-list. A request leaves the process only if it is a `GET` of
- discovery: `/api`, `/api/v1`, `/apis`, `/apis/G/V` of a group/version the tools read, `/version`;
- a collection, an object or a pod's `log`, of a kind in `kinds.routes()` (so never a Secret),
  with every namespace, name and container following Kubernetes' own name rules;
- with only the query parameters that kind of path takes (selectors and paging for collections,
  `container`, `previous`, `tailLines`... for logs), each once, with a plausible value.
The path is judged as the server will route it: percent-decoded until stable, dot segments
resolved. A path that is not already in that plain form (`%73ecrets`, `pods/../secrets`,
`secrets%2F`, `//`, a trailing `/`) is refused too, whatever it decodes to: the tools never write
one, and the server should never have to interpret one. The server's own address may carry a
path a proxy serves the API below (Rancher's `/k8s/clusters/c-1`): every path is judged after it,
and the address itself is refused when its path routes into the API (`api`/`apis`, `proxy`,
`secrets`, `exec`... segments, %-encoding, dot or empty segments, a query), since it would
prefix every read unjudged (`.../services/https:metrics-server:443/proxy`).
No header may turn a read into something else (`check_headers`: method overrides,
`Impersonate-*`, `Upgrade`).

The rule is a function of text: it holds no state and sends nothing. `guard` applies it at four
layers, so that no code path, ours or the client library's, can do more than read.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import unquote, unquote_plus, urlsplit

from .errors import ReadOnlyViolation
from .kinds import NameRule, group_versions, name_problem, routes

Route = Literal["discovery", "collection", "object", "log"]

_MAX_URL = 16 * 1024
_DECODE_ROUNDS = 4  # a path still changing after this many rounds of percent-decoding is refused
_URL_CHARS = re.compile(r"[!-~]*")  # printable ASCII, no space: what a plain URL is made of
_SEGMENT_CHARS = re.compile(r"[a-z0-9.-]+")  # every segment of every path the tools send
_QUERY_KEY = re.compile(r"[a-zA-Z]+")
_COUNT = re.compile(r"[0-9]{1,10}")
_TOKEN = re.compile(r"[A-Za-z0-9._=-]{1,1024}")  # resourceVersion, continue (base64url)
_DISCOVERY = frozenset({"/api", "/api/v1", "/apis", "/version"})
_HEADERS_OFF = frozenset({"upgrade", "x-http-method-override", "x-http-method",
                          "x-method-override"})  # and every `Impersonate-*`
_OFF_LIMITS = {  # not needed for the rule (an allow-list); they make the refusal say why
    "secrets": "Secrets are never read",
    "exec": "exec, attach, port-forward and proxy are off",
    "attach": "exec, attach, port-forward and proxy are off",
    "portforward": "exec, attach, port-forward and proxy are off",
    "proxy": "exec, attach, port-forward and proxy are off",
}


def _matching(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


_count, _token = _matching(_COUNT), _matching(_TOKEN)


def _selector(value: str) -> bool:
    return len(value) <= 2048 and value.isprintable()  # a selector only filters what is read


def _flag(value: str) -> bool:
    return value in ("true", "false")


def _container(value: str) -> bool:
    return name_problem(value, "label") is None


_PARAMETERS: dict[Route, dict[str, Callable[[str], bool]]] = {
    "discovery": {},
    "collection": {
        "labelSelector": _selector, "fieldSelector": _selector, "limit": _count,
        "continue": _token, "resourceVersion": _token, "timeoutSeconds": _count,
    },
    "object": {"resourceVersion": _token},
    "log": {
        "container": _container, "previous": _flag, "timestamps": _flag, "tailLines": _count,
        "limitBytes": _count, "sinceSeconds": _count,
    },
}


def shown(text: str) -> str:
    """`text` for a message: as is when plain, quoted with escapes when not, cut when long."""
    cut = text if len(text) <= 120 else text[:117] + "..."
    return cut if _URL_CHARS.fullmatch(cut) else repr(cut)


def refused(method: str, path: str, why: str) -> ReadOnlyViolation:
    """The refusal of `method path`, saying why: what every layer of the guard raises."""
    return ReadOnlyViolation(f"refused {shown(method)} {shown(path)}: {why}")


def check_request(method: str, url: str, *, prefix: str = "") -> None:
    """Raise `ReadOnlyViolation` unless `method url` is a read the tools make (see the module).

    `url` is absolute or a path (with its query); `prefix` is the path of the API server's
    address, when it is served below one (`https://rancher/k8s/clusters/c-1`).
    """
    if method != "GET":
        raise refused(method, url, "this assistant is read-only: only GET leaves")
    if len(url) > _MAX_URL or not _URL_CHARS.fullmatch(url) or "#" in url or "\\" in url:
        raise refused(method, url, "not a plain URL (spaces, controls, non-ASCII, '#', '\\')")
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise refused(method, url, "not a URL") from e
    if not parts.scheme and url.startswith("//"):  # `///api/v1/pods`: an empty netloc
        raise refused(method, url, "not a plain path (starts with '//')")
    if parts.scheme not in ("", "http", "https") or bool(parts.scheme) != bool(parts.netloc):
        raise refused(method, url, "neither an http(s) URL nor a path")
    if "@" in parts.netloc:
        raise refused(method, url, "credentials in the URL")
    raw = parts.path
    if prefix and not raw.startswith(prefix + "/"):
        raise refused(method, raw, f"outside the API server's path {prefix}")
    raw = raw[len(prefix):]
    path = _as_routed(method, raw)
    route = _route(method, path, raw)
    if path != raw:
        raise refused(method, raw, f"the server would read it as {shown(path)}; "
                                   "only plain paths leave (no %-encoding, no dot segments)")
    _check_query(method, path, route, parts.query)


def _as_routed(method: str, raw: str) -> str:
    """The path as the server routes it: percent-decoded until stable, dot segments resolved."""
    path = raw
    for _ in range(_DECODE_ROUNDS):
        try:
            decoded = unquote(path, errors="strict")
        except UnicodeDecodeError as e:
            raise refused(method, raw, "encodes bytes that are not UTF-8") from e
        if decoded == path:
            break
        path = decoded
    else:
        raise refused(method, raw, "still encoded after several rounds of decoding")
    if not path.startswith("/"):
        raise refused(method, raw, "not an absolute path")
    resolved = posixpath.normpath(path)  # resolves `.` and `..`, folds `//` (refused: != raw)
    resolved = "/" + resolved.lstrip("/")  # normpath keeps a leading `//`
    return resolved


def _route(method: str, path: str, raw: str) -> Route:
    """Which kind of read `path` (sent as `raw`) is; refuses anything else, saying why."""
    if path in _DISCOVERY:
        return "discovery"
    segments = path.split("/")[1:]
    matched = _match(segments) if all(map(_SEGMENT_CHARS.fullmatch, segments)) else None
    if matched is None:
        words = {re.split(r"[^a-z]", segment.lower(), maxsplit=1)[0] for segment in segments}
        why = next((why for word, why in _OFF_LIMITS.items() if word in words),
                   "not discovery, nor a collection, object or log the tools read")
        raise refused(method, raw, why + _read_as(path, raw))
    route, names = matched
    for name, rule in names:
        if problem := name_problem(name, rule):
            raise refused(method, raw, f"{shown(name)} is not a valid name: {problem}"
                          + _read_as(path, raw))
    return route


def _read_as(path: str, raw: str) -> str:
    return "" if path == raw else f" (the server would read {shown(path)})"


def _match(segments: list[str]) -> tuple[Route, list[tuple[str, NameRule]]] | None:
    match segments:
        case ["api", "v1", *rest]:
            return _resource_route("v1", rest)
        case ["apis", group, version]:
            return ("discovery", []) if f"{group}/{version}" in group_versions() else None
        case ["apis", group, version, *rest]:
            return _resource_route(f"{group}/{version}", rest)
    return None


def _resource_route(
    group_version: str, rest: list[str]
) -> tuple[Route, list[tuple[str, NameRule]]] | None:
    """The route and the names to check, for the segments after `/api/v1` or `/apis/G/V`."""
    table = routes()
    match rest:
        case []:
            return None  # `/api/v1` is discovery, answered above
        case [plural]:  # a collection, across namespaces for namespaced kinds
            return ("collection", []) if (group_version, plural) in table else None
        case [plural, name]:
            entry = table.get((group_version, plural))
            return None if entry is None or entry.namespaced else (
                "object", [(name, entry.name_rule)])
        case ["namespaces", namespace, plural, *tail] if len(tail) <= 2:
            entry = table.get((group_version, plural))
            if entry is None or not entry.namespaced:
                return None
            names: list[tuple[str, NameRule]] = [(namespace, "label")]
            if not tail:
                return "collection", names
            names.append((tail[0], entry.name_rule))
            if len(tail) == 1:
                return "object", names
            if tail[1] == "log" and (group_version, plural) == ("v1", "pods"):
                return "log", names
    return None


def _check_query(method: str, path: str, route: Route, query: str) -> None:
    allowed = _PARAMETERS[route]
    seen: set[str] = set()
    for pair in query.split("&") if query else ():
        key, equals, raw_value = pair.partition("=")
        if not equals or not _QUERY_KEY.fullmatch(key) or key not in allowed:
            raise refused(method, path, f"query parameter {shown(key)} is not one the tools send"
                                        f" here (allowed: {', '.join(allowed) or 'none'})")
        if key in seen:
            raise refused(method, path, f"query parameter {key} given twice")
        seen.add(key)
        try:
            value = unquote_plus(raw_value, errors="strict")  # once, as the server decodes it
        except UnicodeDecodeError as e:
            raise refused(method, path, f"{key} encodes bytes that are not UTF-8") from e
        if ";" in raw_value or not allowed[key](value):
            raise refused(method, path, f"{key}={shown(value)} is not a value the tools send")


# Segments a server address's path never holds: it would route every read into the API itself
# (`/api/v1/namespaces/x/services/https:metrics-server:443/proxy`, `.../secrets/x/`).
_API_SEGMENTS = frozenset({"api", "apis", "proxy", "exec", "attach", "portforward", "secrets",
                           "log", "logs", "debug", "namespaces", "services", "pods", "nodes"})


def server_prefix(host: str) -> str:
    """The path the API server is served below (Rancher's `/k8s/clusters/c-1`, a gateway's
    `/v1/projects/p/.../memberships/m`), or "" for none. Every read goes out below it unjudged,
    so it must be a plain path that is not itself inside the API: no `api`/`apis` segment nor a
    segment that routes to a subresource (`proxy`, `exec`, `secrets`...), no %-encoding, dot or
    empty segments, query or fragment. Refused with the kubeconfig to blame, before any
    request."""
    parts = urlsplit(host)
    prefix, query, fragment = parts.path.rstrip("/"), parts.query, parts.fragment
    if not prefix and not query and not fragment:
        return ""
    segments = prefix.split("/")[1:]
    bad = (query or fragment or "%" in prefix or ";" in prefix or "\\" in prefix
           or not _URL_CHARS.fullmatch(prefix)
           or any(seg in ("", ".", "..") for seg in segments)
           or any(seg.lower() in _API_SEGMENTS for seg in segments))
    if bad:
        raise ReadOnlyViolation(
            f"refused the API server address {shown(host)}: its path {shown(prefix or '?')} "
            "would send every read somewhere inside the API (only a plain path a proxy serves "
            "the API below, such as /k8s/clusters/c-1, may follow the host); check the "
            "kubeconfig's server")
    return prefix


def check_headers(method: str, url: str, headers: Any) -> None:
    """No header that turns a read into something else (method overrides, `Impersonate-*`,
    `Upgrade`), however its name is spaced or cased, judged on what `http.client` will send
    (`.items()`, not what the mapping's `__iter__` shows)."""
    if not headers:
        return
    pairs = headers.items() if hasattr(headers, "items") else headers
    for header, _ in pairs:
        name = str(header).strip(" \t\r\n\x0b\x0c").lower()
        if name in _HEADERS_OFF or name.startswith("impersonate-") or name != str(
                header).lower() or not name:
            raise refused(method, url, f"a read sends no {shown(str(header))} header")
