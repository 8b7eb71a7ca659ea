"""The read-only guard: every request the live backend could send is checked before it leaves.

The rule, an allow-list of the reads the tools make, is `allowlist.check_request` (a `GET` of
discovery, or of a collection, object or pod log of a kind the tools read, in plain form, with the
query parameters that path takes) and `allowlist.check_headers`.

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
  each connection such a pool makes, by whatever `_new_conn` (its class's `ConnectionCls` is a
  checked subclass), is checked from then on (a pool is reachable through a
  response's `_pool`: emptying its keywords or a connection's socket options frees nothing).
  These pools also hold each request to its `deadlines.Deadline`, when it has one;
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
`__class__` (or a guarded class's attributes replaced), urllib3's own connection class called
directly, raw sockets, or `kubectl` in a subprocess. The guard keeps our code, the client
library and a model's choices read-only; it is not a sandbox.
"""

from __future__ import annotations

import functools
import http.client
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import urllib3
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.rest import RESTClientObject
from kubernetes.stream import ws_client
from kubernetes.utils.keepalive import tcp_keepalive_socket_options
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool

from .allowlist import check_headers, check_request, refused, server_prefix, shown
from .deadlines import watch
from .errors import ReadOnlyViolation

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
            raise refused(method, url, f"not the API server ({'://'.join(self.origin)})")

    def check_absolute(self, method: str, url: str, headers: Any = None) -> None:
        """For the pool manager and `call_api`, which take absolute URLs: the origin must be the
        server's, and no header may turn the read into something else."""
        self.check(method, url)
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != self.origin:
            raise refused(method, url, f"not the API server ({'://'.join(self.origin)})")
        check_headers(method, url, headers)


def _rule_for(host: str) -> _Rule:
    """The rule for the API server at `host` (refused if its path would route into the API)."""
    parts = urlsplit(host)
    return _Rule(origin=(parts.scheme.lower(), parts.netloc.lower()),
                 pool_origin=(parts.scheme.lower(),
                              _netloc(parts.hostname or "", parts.port, parts.scheme)),
                 prefix=server_prefix(host))


def _guarded_pool_class(base: type[HTTPConnectionPool], rule: _Rule) -> type[HTTPConnectionPool]:
    """A subclass of urllib3's pool class `base` that checks every request it is asked to make.

    The entry points are overridden, and the connection class is a checked subclass of the one
    urllib3 (or whatever patches it: vcrpy in the cassette tests) gives at the time.
    """

    def urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        rule.check(method, url)
        if (str(self.scheme).lower(),
                _netloc(str(self.host), self.port, self.scheme)) != rule.pool_origin:
            raise refused(method, url, f"not the API server ({'://'.join(rule.origin)})")
        body = args[0] if args else kwargs.get("body")
        if body:
            raise refused(method, url, "a read sends no body")
        check_headers(method, url, args[1] if len(args) > 1 else kwargs.get("headers"))
        return base.urlopen(self, method, url, *args, **kwargs)

    def _make_request(self: Any, conn: Any, method: str, url: str, *args: Any,
                      **kwargs: Any) -> Any:
        rule.check(method, url)
        watch(conn, kwargs.get("timeout"))  # a `Deadline` cuts the connection when time is up
        return base._make_request(self, conn, method, url, *args, **kwargs)

    def connection_class(self: Any) -> type:
        """The class of every connection the pool makes, by its own `_new_conn`, urllib3's
        (reached through the class's `__mro__`) or anyone's: one whose requests are checked from
        its making, whatever becomes of the pool's keywords or the connection's socket options
        (a pool reached through a response's `_pool`). Looked up on each use, so whatever
        patches urllib3's connection class (vcrpy) still applies below."""
        return _checked_connection_class(base.ConnectionCls, rule)

    return type(f"ReadOnly{base.__name__}", (base,),
                {"urlopen": urlopen, "_make_request": _make_request,
                 "ConnectionCls": property(connection_class), "__module__": __name__})


@functools.cache
def _checked_connection_class(base: type, rule: _Rule) -> type:
    """`base`, each of whose connections is checked against `rule` from its making."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 (the method)
        cast(Any, base).__init__(self, *args, **kwargs)
        _check_from_now_on(self, rule)

    return type(f"ReadOnly{base.__name__}", (base,), {"__init__": __init__,
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
            raise refused(method, url, "a read sends no fields and no body")
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
            raise refused(method, url, "a read sends no body")
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
            raise refused(method, url, "a read sends no body")
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
            raise ReadOnlyViolation(f"refused a websocket to {shown(url)}: exec, attach and "
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
