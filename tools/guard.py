"""The read-only guard: every request the live backend could send is checked before it leaves.

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

Four layers apply the rule, so no code path, ours or the client library's, can do more than read:
- `check_request` is the rule;
- `ReadOnlyApiClient` applies it in `call_api` (what every generated API method calls) and refuses
  to have `call_api`, `request` or its REST client swapped, which is how the client's `stream()`
  reaches the websocket transport used by exec, attach and port-forward. Its REST client checks
  each `request` too, and cannot have its pool manager swapped;
- `ReadOnlyPoolManager` stands in for the urllib3 pool manager: it checks each request and the
  origin, and has no other door (no `connection_from_url`, no `pools`); the manager it wraps is
  kept in this module, not in any attribute, closure or bound method of it. Below it, every
  connection pool urllib3 creates is of a guarded class that checks each request again
  (redirects and retries included): the rule, the origin, the headers and an empty body;
  each connection such a pool makes is checked from then on (a pool is reachable through a
  response's `_pool`: emptying its keywords or a connection's socket options frees nothing);
- the connections: the guarded client's `Configuration` carries a mark in its socket options,
  which urllib3 hands to every connection made from it, by this client or by any other
  `ApiClient`, pool manager or pool built from that configuration (or a deep copy). For a marked
  connection, `http.client` itself (where urllib3's connections end) checks the request line, each
  header and the body before a byte is sent, and sends nothing else on it (no raw `send()` of a
  second request behind a checked one, no line of the checked request rewritten or added in its
  buffer before `endheaders()`), so a raw `_get_conn()`/`_new_conn()`, a swapped pool
  class or a new `ApiClient(configuration)` is refused there; the websocket transport refuses a
  marked configuration outright. The check is installed when the first guarded client is made;
  unmarked connections (Slack, Prometheus, a test harness) pass untouched.
Each layer's rule is a tuple: none can have its origin or prefix edited in place.

What no Python guard can stop, and the read-only RBAC in `deploy/` must: code running inside this
process can read the credentials (the configuration's token, the kubeconfig or service-account
token on disk) and send them another way: a fresh `urllib3.PoolManager` or `http.client`
connection carrying the token, a configuration (or a copy) with the mark removed, this module's
private tables and the unpatched methods kept in its closures, a pool's class swapped with
`__class__`, raw sockets, or `kubectl` in a subprocess. The guard keeps our code, the client
library and a model's choices read-only; it is not a sandbox.
"""

from __future__ import annotations

import http.client
import posixpath
import re
import weakref
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, cast
from urllib.parse import unquote, unquote_plus, urlsplit

import urllib3
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.rest import RESTClientObject
from kubernetes.stream import ws_client
from kubernetes.utils.keepalive import tcp_keepalive_socket_options
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool

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


def _shown(text: str) -> str:
    """`text` for a message: as is when plain, quoted with escapes when not, cut when long."""
    cut = text if len(text) <= 120 else text[:117] + "..."
    return cut if _URL_CHARS.fullmatch(cut) else repr(cut)


def _refuse(method: str, path: str, why: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(f"refused {_shown(method)} {_shown(path)}: {why}")


def check_request(method: str, url: str, *, prefix: str = "") -> None:
    """Raise `ReadOnlyViolation` unless `method url` is a read the tools make (see the module).

    `url` is absolute or a path (with its query); `prefix` is the path of the API server's
    address, when it is served below one (`https://rancher/k8s/clusters/c-1`).
    """
    if method != "GET":
        raise _refuse(method, url, "this assistant is read-only: only GET leaves")
    if len(url) > _MAX_URL or not _URL_CHARS.fullmatch(url) or "#" in url or "\\" in url:
        raise _refuse(method, url, "not a plain URL (spaces, controls, non-ASCII, '#', '\\')")
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise _refuse(method, url, "not a URL") from e
    if not parts.scheme and url.startswith("//"):  # `///api/v1/pods`: an empty netloc
        raise _refuse(method, url, "not a plain path (starts with '//')")
    if parts.scheme not in ("", "http", "https") or bool(parts.scheme) != bool(parts.netloc):
        raise _refuse(method, url, "neither an http(s) URL nor a path")
    if "@" in parts.netloc:
        raise _refuse(method, url, "credentials in the URL")
    raw = parts.path
    if prefix and not raw.startswith(prefix + "/"):
        raise _refuse(method, raw, f"outside the API server's path {prefix}")
    raw = raw[len(prefix):]
    path = _as_routed(method, raw)
    route = _route(method, path, raw)
    if path != raw:
        raise _refuse(method, raw, f"the server would read it as {_shown(path)}; "
                                   "only plain paths leave (no %-encoding, no dot segments)")
    _check_query(method, path, route, parts.query)


def _as_routed(method: str, raw: str) -> str:
    """The path as the server routes it: percent-decoded until stable, dot segments resolved."""
    path = raw
    for _ in range(_DECODE_ROUNDS):
        try:
            decoded = unquote(path, errors="strict")
        except UnicodeDecodeError as e:
            raise _refuse(method, raw, "encodes bytes that are not UTF-8") from e
        if decoded == path:
            break
        path = decoded
    else:
        raise _refuse(method, raw, "still encoded after several rounds of decoding")
    if not path.startswith("/"):
        raise _refuse(method, raw, "not an absolute path")
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
        raise _refuse(method, raw, why + _read_as(path, raw))
    route, names = matched
    for name, rule in names:
        if problem := name_problem(name, rule):
            raise _refuse(method, raw, f"{_shown(name)} is not a valid name: {problem}"
                          + _read_as(path, raw))
    return route


def _read_as(path: str, raw: str) -> str:
    return "" if path == raw else f" (the server would read {_shown(path)})"


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
            raise _refuse(method, path, f"query parameter {_shown(key)} is not one the tools send"
                                        f" here (allowed: {', '.join(allowed) or 'none'})")
        if key in seen:
            raise _refuse(method, path, f"query parameter {key} given twice")
        seen.add(key)
        try:
            value = unquote_plus(raw_value, errors="strict")  # once, as the server decodes it
        except UnicodeDecodeError as e:
            raise _refuse(method, path, f"{key} encodes bytes that are not UTF-8") from e
        if ";" in raw_value or not allowed[key](value):
            raise _refuse(method, path, f"{key}={_shown(value)} is not a value the tools send")


# --- the pool layer -------------------------------------------------------------------------------

class _Rule(NamedTuple):
    """`check_request` bound to one API server's address. A tuple, so that no layer holding it
    can have its origin or prefix edited in place (`rule.prefix = ".../secrets"`)."""

    origin: tuple[str, str]
    pool_origin: tuple[str, str]
    prefix: str

    def check(self, method: str, url: str) -> None:
        check_request(method, url, prefix=self.prefix)

    def check_connection(self, method: str, url: str, connection: Any) -> None:
        """For a connection about to send `method url`: the rule, and the server's origin (the
        proxy tunnel's target, when there is one)."""
        if not url.startswith("/"):
            self.check_absolute(method, url)
            return
        self.check(method, url)
        host = getattr(connection, "_tunnel_host", None) or connection.host
        port = getattr(connection, "_tunnel_port", None) or connection.port
        if _netloc(str(host), port, self.pool_origin[0]) != self.pool_origin[1]:
            raise _refuse(method, url, f"not the API server ({'://'.join(self.origin)})")

    def check_absolute(self, method: str, url: str, headers: Any = None) -> None:
        """For the pool manager and `call_api`, which take absolute URLs: the origin must be the
        server's, and no header may turn the read into something else."""
        self.check(method, url)
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != self.origin:
            raise _refuse(method, url, f"not the API server ({'://'.join(self.origin)})")
        check_headers(method, url, headers)


def _rule_for(host: str) -> _Rule:
    """The rule for the API server at `host` (refused if its path would route into the API)."""
    parts = urlsplit(host)
    return _Rule(origin=(parts.scheme.lower(), parts.netloc.lower()),
                 pool_origin=(parts.scheme.lower(),
                              _netloc(parts.hostname or "", parts.port, parts.scheme)),
                 prefix=_server_prefix(host, parts.path, parts.query, parts.fragment))


# Segments a server address's path never holds: it would route every read into the API itself
# (`/api/v1/namespaces/x/services/https:metrics-server:443/proxy`, `.../secrets/x/`).
_API_SEGMENTS = frozenset({"api", "apis", "proxy", "exec", "attach", "portforward", "secrets",
                           "log", "logs", "debug", "namespaces", "services", "pods", "nodes"})


def _server_prefix(host: str, path: str, query: str, fragment: str) -> str:
    """The path the API server is served below (Rancher's `/k8s/clusters/c-1`, a gateway's
    `/v1/projects/p/.../memberships/m`), or "" for none. Every read goes out below it unjudged,
    so it must be a plain path that is not itself inside the API: no `api`/`apis` segment nor a
    segment that routes to a subresource (`proxy`, `exec`, `secrets`...), no %-encoding, dot or
    empty segments, query or fragment. Refused with the kubeconfig to blame, before any
    request."""
    prefix = path.rstrip("/")
    if not prefix and not query and not fragment:
        return ""
    segments = prefix.split("/")[1:]
    bad = (query or fragment or "%" in prefix or ";" in prefix or "\\" in prefix
           or not _URL_CHARS.fullmatch(prefix)
           or any(seg in ("", ".", "..") for seg in segments)
           or any(seg.lower() in _API_SEGMENTS for seg in segments))
    if bad:
        raise ReadOnlyViolation(
            f"refused the API server address {_shown(host)}: its path {_shown(prefix or '?')} "
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
            raise _refuse(method, url, f"a read sends no {_shown(str(header))} header")


def _guarded_pool_class(base: type[HTTPConnectionPool], rule: _Rule) -> type[HTTPConnectionPool]:
    """A subclass of urllib3's pool class `base` that checks every request it is asked to make.

    Only the entry points are overridden, not the connection class, so whatever patches urllib3's
    connections (vcrpy in the cassette tests) still applies below.
    """

    def urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        rule.check(method, url)
        if (str(self.scheme).lower(),
                _netloc(str(self.host), self.port, self.scheme)) != rule.pool_origin:
            raise _refuse(method, url, f"not the API server ({'://'.join(rule.origin)})")
        body = args[0] if args else kwargs.get("body")
        if body:
            raise _refuse(method, url, "a read sends no body")
        check_headers(method, url, args[1] if len(args) > 1 else kwargs.get("headers"))
        return base.urlopen(self, method, url, *args, **kwargs)

    def _make_request(self: Any, conn: Any, method: str, url: str, *args: Any,
                      **kwargs: Any) -> Any:
        rule.check(method, url)
        return base._make_request(self, conn, method, url, *args, **kwargs)

    def _new_conn(self: Any) -> Any:
        """A connection whose requests are checked whatever becomes of the pool's keywords or
        the connection's socket options (a pool reached through a response's `_pool`)."""
        connection = base._new_conn(self)
        _check_from_now_on(connection, rule)
        return connection

    return type(f"ReadOnly{base.__name__}", (base,),
                {"urlopen": urlopen, "_make_request": _make_request, "_new_conn": _new_conn,
                 "__module__": __name__})


def _netloc(host: str, port: int | None, scheme: str) -> str:
    default = {"http": 80, "https": 443}.get(str(scheme).lower())
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return (host if port in (None, default) else f"{host}:{port}").lower()


def _guard_pools(manager: urllib3.PoolManager, rule: _Rule) -> None:
    """Make every connection pool `manager` creates (it creates them all) a guarded one."""
    manager.clear()
    manager.pool_classes_by_scheme = {
        scheme: _guarded_pool_class(base, rule)
        for scheme, base in manager.pool_classes_by_scheme.items()}


class ReadOnlyPoolManager:
    """Stands in for a urllib3 pool manager: the request methods, checked, and `clear`. Nothing
    of the manager it wraps can be reached through it: no attribute, slot, closure or bound
    method of it holds that manager (whose keywords carry the connection mark, and whose pool
    classes could be swapped back); it is found in `_WRAPPED`, by this object."""

    __slots__ = ("__weakref__",)

    def __init__(self, inner: urllib3.PoolManager, rule: _Rule) -> None:
        _guard_pools(inner, rule)
        _WRAPPED[self] = (inner, rule)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return self._send("request", method, url, *args, **kwargs)

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return self._send("urlopen", method, url, *args, **kwargs)

    def request_encode_url(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return self._send("request_encode_url", method, url, *args, **kwargs)

    def request_encode_body(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return self._send("request_encode_body", method, url, *args, **kwargs)

    def clear(self) -> None:
        _WRAPPED[self][0].clear()

    def _send(self, name: str, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        inner, rule = _WRAPPED[self]
        rule.check_absolute(method, url, kwargs.get("headers"))
        if args or kwargs.get("fields") or any(
                kwargs.get(k) is not None for k in ("body", "json")):
            raise _refuse(method, url, "a read sends no fields and no body")
        return getattr(inner, name)(method, url, **kwargs)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the read-only pool manager has no {name}: only checked requests "
                             "go through it")

    def __setattr__(self, name: str, value: Any) -> None:
        raise ReadOnlyViolation(f"the read-only pool manager cannot be changed ({name})")


# The urllib3 manager (and its rule) each `ReadOnlyPoolManager` sends through, kept out of the
# object's reach; an entry goes when its manager does.
_WRAPPED: weakref.WeakKeyDictionary[ReadOnlyPoolManager, tuple[urllib3.PoolManager, _Rule]] = (
    weakref.WeakKeyDictionary())


class _ReadOnlyRestClient(RESTClientObject):
    """The client's REST layer over a `ReadOnlyPoolManager` that cannot be swapped, and that
    checks each request itself too (were its manager swapped anyway, with `object.__setattr__`)."""

    _sealed: bool
    _rule: _Rule

    def __init__(self, configuration: Configuration) -> None:
        object.__setattr__(self, "_sealed", False)
        super().__init__(configuration)
        rule = _rule_for(str(configuration.host))
        self.pool_manager = cast(urllib3.PoolManager, ReadOnlyPoolManager(self.pool_manager, rule))
        object.__setattr__(self, "_rule", rule)
        object.__setattr__(self, "_sealed", True)

    def request(self, method: str, url: str, headers: Any = None, body: Any = None,
                post_params: Any = None, _request_timeout: Any = None) -> Any:
        self._rule.check_absolute(method, url, headers)
        if body is not None or post_params:
            raise _refuse(method, url, "a read sends no body")
        return super().request(  # type: ignore[no-untyped-call]
            method, url, headers, None, None, _request_timeout)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "pool_manager" and self._sealed:
            raise ReadOnlyViolation("the read-only REST client's pool manager cannot be swapped")
        object.__setattr__(self, name, value)


_LOCKED = frozenset({"call_api", "rest_client", "request"})


class ReadOnlyApiClient(ApiClient):
    """An `ApiClient` whose every request is checked, and whose transport cannot be swapped."""

    _sealed: bool
    _rule: _Rule

    def __init__(self, configuration: Configuration) -> None:
        object.__setattr__(self, "_sealed", False)
        _mark_connections(configuration)
        super().__init__(configuration)
        self.rest_client.close()  # the unguarded one it made: no pool was ever opened
        self.rest_client = _ReadOnlyRestClient(configuration)
        object.__setattr__(self, "_rule", _rule_for(str(configuration.host)))  # fixed from now on
        object.__setattr__(self, "_sealed", True)

    def call_api(self, method: str, url: str, header_params: Any = None, body: Any = None,
                 post_params: Any = None, _request_timeout: Any = None) -> Any:
        self._rule.check_absolute(method, url, header_params)
        if body is not None or post_params:
            raise _refuse(method, url, "a read sends no body")
        return super().call_api(method, url, header_params, None, None, _request_timeout)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LOCKED and self._sealed:
            raise ReadOnlyViolation(
                f"refused to replace {name}: exec, attach and port-forward are off"
            )
        object.__setattr__(self, name, value)


# --- the connection layer -------------------------------------------------------------------------

# The class itself, as imported: vcrpy swaps `http.client.HTTPConnection` for a stub while a
# cassette plays, and urllib3's connections subclass this one.
_HTTP_CONNECTION = http.client.HTTPConnection

class _Marked(list[tuple[int, int, int]]):
    """The socket options of every connection made from a guarded configuration: urllib3's own
    (or the keep-alive ones), and a mark that `http.client` below checks for. Any `ApiClient`
    built from that configuration, any pool manager its REST client makes, hands the mark on to
    every connection it opens."""

    def __init__(self, options: list[tuple[int, int, int]], rule: _Rule) -> None:
        super().__init__(options)
        self.rule = rule

    def __deepcopy__(self, memo: dict[int, Any]) -> _Marked:  # Configuration copies stay marked
        return self


def _mark_connections(configuration: Configuration) -> None:
    if isinstance(configuration.socket_options, _Marked):
        return
    if configuration.socket_options is not None:
        options = list(configuration.socket_options)
    elif getattr(configuration, "keep_alive", False):
        options = tcp_keepalive_socket_options()
    else:
        options = list(HTTPConnection.default_socket_options)
    configuration.socket_options = _Marked(options, _rule_for(str(configuration.host)))
    _install_connection_check()


# Every connection known to reach a guarded API server, and its rule: one a guarded pool made,
# or one seen carrying the mark. Kept here, so emptying a connection's socket options (or its
# pool's keywords) afterwards does not free it.
_CHECKED: weakref.WeakKeyDictionary[Any, _Rule] = weakref.WeakKeyDictionary()


def _check_from_now_on(connection: Any, rule: _Rule) -> None:
    if isinstance(connection, _HTTP_CONNECTION):  # not vcrpy's stub: the real one it wraps is
        _CHECKED[connection] = rule


def _rule_of(connection: Any) -> _Rule | None:
    """The rule `connection`'s requests are checked against, or None for a connection no guarded
    client made (Slack's, Prometheus', a test harness')."""
    rule = _CHECKED.get(connection)
    mark = getattr(connection, "socket_options", None)
    if rule is None and type(mark) is _Marked:
        rule = mark.rule
        _check_from_now_on(connection, rule)
    return rule


def _install_connection_check() -> None:
    """Check, in `http.client` (which urllib3's connections and pools all end in), every request
    line and header a marked connection sends, and send no bytes on it but those of a checked
    request (or a proxy's CONNECT). Installed once, when the first guarded client is
    made; connections without the mark (the Slack client's, Prometheus', a test harness') pass
    untouched."""
    connection: Any = _HTTP_CONNECTION
    if getattr(connection.putrequest, "_read_only", False):
        return
    putrequest, putheader, endheaders, send, tunnel = (
        connection.putrequest, connection.putheader, connection.endheaders, connection.send,
        connection._tunnel)

    def checked_putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        rule = _rule_of(self)
        if rule is None:
            return putrequest(self, method, url, *args, **kwargs)
        rule.check_connection(method, url, self)
        self._read_only_lines = None
        self._read_only_putting = True  # its own `Host` and `Accept-Encoding` follow the line
        try:
            return putrequest(self, method, url, *args, **kwargs)
        finally:
            self._read_only_putting = False
            self._read_only_lines = list(self._buffer)  # what was checked, for endheaders

    def checked_putheader(self: Any, header: Any, *values: Any) -> Any:
        if _rule_of(self) is not None:
            name = header.decode("latin-1") if isinstance(header, bytes) else str(header)
            check_headers("GET", "(header)", {name: ""})
            sent = [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values]
            if name.lower() == "transfer-encoding" or (
                    name.lower() == "content-length" and sent != ["0"]):
                raise ReadOnlyViolation("refused a request body: a read sends none")
            if not getattr(self, "_read_only_putting", False):
                _unchanged(self)
            try:
                return putheader(self, header, *values)
            finally:
                self._read_only_lines = list(self._buffer)
        return putheader(self, header, *values)

    def checked_endheaders(self: Any, message_body: Any = None, **kwargs: Any) -> Any:
        if _rule_of(self) is not None:
            if message_body:
                raise ReadOnlyViolation("refused a request body: a read sends none")
            _unchanged(self)
        return sending(self, endheaders, message_body, **kwargs)

    def _unchanged(self: Any) -> None:
        """The lines about to be sent are exactly those checked: no request line rewritten in
        `_buffer`, no line added by `_output()` behind the checked ones."""
        if getattr(self, "_read_only_lines", None) != self._buffer:
            self._buffer.clear()
            self._read_only_lines = None
            raise ReadOnlyViolation("refused a request whose lines changed after the check: "
                                    "only checked requests are sent")

    def checked_tunnel(self: Any) -> Any:  # CONNECT to a proxy, before the checked request
        return sending(self, tunnel)

    def sending(self: Any, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._read_only_sending = True
        try:
            return step(self, *args, **kwargs)
        finally:
            self._read_only_sending = False

    def checked_send(self: Any, data: Any) -> Any:
        if _rule_of(self) is not None and not getattr(self, "_read_only_sending", False):
            raise ReadOnlyViolation("refused raw bytes to the API server: only checked requests "
                                    "are sent")
        return send(self, data)

    def checked_websocket(configuration: Any, url: str, headers: Any = None) -> Any:
        if type(getattr(configuration, "socket_options", None)) is _Marked:
            raise ReadOnlyViolation(f"refused a websocket to {_shown(url)}: exec, attach and "
                                    "port-forward are off")
        return create_websocket(configuration, url, headers)  # type: ignore[no-untyped-call]

    create_websocket = ws_client.create_websocket
    ws_client.create_websocket = checked_websocket
    for check in (checked_putrequest, checked_putheader, checked_endheaders):
        setattr(check, "_read_only", True)  # noqa: B010  # a function attribute
    connection.putrequest = checked_putrequest
    connection.putheader = checked_putheader
    connection.endheaders = checked_endheaders
    connection.send = checked_send
    connection._tunnel = checked_tunnel
