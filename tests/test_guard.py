"""The read-only guard refuses writes, exec, port-forward and Secret reads before any byte is sent.

The client points at a loopback listener that counts connections: it must count none. The long
list of crafted requests (encodings, case, dot segments...) is data: tests/data/guard_probes.yaml.
"""

from __future__ import annotations

import copy
import http.server
import threading
import types
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from fakes.listener import CountingListener
from kubernetes import client as k8s
from kubernetes.stream import stream

from tools import ReadOnlyViolation, guard
from tools.allowlist import check_request
from tools.guard import ReadOnlyApiClient, ReadOnlyPoolManager
from tools.kinds import KINDS, info, routes

CASSETTES = Path(__file__).parent / "cassettes" / "tools"


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    server = CountingListener()
    yield server
    server.close()


@pytest.fixture
def core(listener: CountingListener) -> k8s.CoreV1Api:
    configuration = k8s.Configuration()
    configuration.host = f"http://127.0.0.1:{listener.port}"
    configuration.api_key = {"authorization": "Bearer x"}
    return k8s.CoreV1Api(ReadOnlyApiClient(configuration))


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.mark.parametrize("attempt", [
    lambda api: api.create_namespaced_pod("default", POD),
    lambda api: api.patch_namespaced_pod("p", "default", {"metadata": {"labels": {"a": "b"}}}),
    lambda api: api.replace_namespaced_pod("p", "default", POD),
    lambda api: api.delete_namespaced_pod("p", "default"),
    lambda api: api.delete_namespace("prod"),
    lambda api: api.delete_collection_namespaced_pod("default"),
    lambda api: api.create_namespaced_pod_eviction("p", "default", {"metadata": {"name": "p"}}),
    lambda api: api.read_namespaced_secret("db", "default"),
    lambda api: api.list_secret_for_all_namespaces(),
    lambda api: api.connect_get_namespaced_pod_exec("p", "default", command=["sh"]),
    lambda api: api.connect_get_namespaced_pod_portforward("p", "default", ports="80"),
    lambda api: api.connect_get_namespaced_pod_proxy("p", "default"),
], ids=["create", "patch", "replace", "delete", "delete-namespace", "delete-collection",
        "evict", "read-secret", "list-secrets", "exec", "port-forward", "proxy"])
def test_refused_before_any_connection(core, listener, attempt) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReadOnlyViolation):
        attempt(core)
    assert listener.connections == 0


def test_exec_through_the_websocket_stream_is_refused(core, listener) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReadOnlyViolation):
        stream(core.connect_get_namespaced_pod_exec, "p", "default", command=["sh"],
               stderr=True, stdin=False, stdout=True, tty=False)
    assert listener.connections == 0


def test_the_transport_cannot_be_swapped(core) -> None:  # type: ignore[no-untyped-def]
    api_client = core.api_client
    with pytest.raises(ReadOnlyViolation):
        api_client.rest_client.pool_manager.request = lambda *a, **k: None
    with pytest.raises(ReadOnlyViolation):
        api_client.call_api = lambda *a, **k: None


def test_plain_reads_pass_the_rule() -> None:
    check_request("GET", "https://k/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb")
    check_request("GET", "https://k/api/v1/namespaces/shop/pods/web-1/log?previous=true")
    for method, url in [("POST", "https://k/api/v1/namespaces"),
                        ("GET", "https://k/api/v1/namespaces/shop/secrets"),
                        ("GET", "https://k/api/v1/namespaces/shop/pods/p/exec?command=sh"),
                        ("GET", "https://k/api/v1/namespaces/shop/services/s/proxy/")]:
        with pytest.raises(ReadOnlyViolation):
            check_request(method, url)


# --- nothing reachable from the client is an unguarded pool ------------------------------------

def test_the_pool_manager_hands_out_no_connection_pool(core, listener) -> None:  # type: ignore[no-untyped-def]
    pool = core.api_client.rest_client.pool_manager
    url = f"http://127.0.0.1:{listener.port}/api/v1/namespaces/default/pods/p"
    for name in ("connection_from_url", "connection_from_host", "connection_from_context",
                 "connection_from_pool_key", "pools", "pool_classes_by_scheme", "_inner"):
        with pytest.raises(AttributeError, match="only checked requests"):
            getattr(pool, name)
    with pytest.raises(ReadOnlyViolation):
        core.api_client.rest_client.pool_manager = urllib3.PoolManager()
    with pytest.raises(ReadOnlyViolation):
        pool.request("DELETE", url)
    assert listener.connections == 0


def _reachable(root: object, depth: int = 12) -> list[Any]:
    """Every object reachable from `root` the way code holding it could walk: attributes, slots,
    containers, bound methods' `__self__`, and the closure cells and defaults of functions,
    including those of its class's methods (only into kubernetes, urllib3, http.client and tools
    objects; not into classes or modules, which any code can import)."""
    seen: set[int] = set()
    found: list[Any] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        obj, level = stack.pop()
        if id(obj) in seen or level > depth or isinstance(obj, type | types.ModuleType):
            continue
        seen.add(id(obj))
        found.append(obj)
        stack += [(child, level + 1) for child in _children(obj)]
    return found


def _children(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, list | tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, types.FunctionType):
        return [*(cell.cell_contents for cell in obj.__closure__ or ()),
                *(obj.__defaults__ or ()), *(obj.__kwdefaults__ or {}).values()]
    if isinstance(obj, types.MethodType):
        return [obj.__func__, obj.__self__]
    if type(obj).__module__.split(".")[0] not in ("kubernetes", "urllib3", "http", "tools"):
        return []
    children = list(getattr(obj, "__dict__", {}).values())
    for klass in type(obj).__mro__:
        for name, value in vars(klass).items():
            if name in getattr(klass, "__slots__", ()) and name != "__weakref__":
                children.append(getattr(obj, name, None))
            elif isinstance(value, types.FunctionType):
                children.append(value)
    return children


def test_no_urllib3_manager_or_pool_is_reachable_from_the_client(core, listener) -> None:  # type: ignore[no-untyped-def]
    """Walking the client's insides, closures and `__self__` of bound methods included, after a
    read opened a pool: the one pool manager there is the read-only one. The urllib3 manager it
    wraps (whose keywords carry the connection mark, and whose pool classes could be swapped
    back) and its pools are not there to be changed; and the read-only one refuses writes."""
    api_client = core.api_client
    base = f"http://127.0.0.1:{listener.port}"
    with pytest.raises(urllib3.exceptions.HTTPError):  # a read leaves: urllib3 opens a pool
        api_client.rest_client.pool_manager.request("GET", f"{base}/api/v1/nodes", retries=False)
    opened = listener.connections
    reached = _reachable(api_client)
    assert len(reached) > 50  # the walk got inside: configuration, REST client, rules...
    senders = [o for o in reached if callable(getattr(type(o), "urlopen", None))]
    assert [type(s) for s in senders] == [ReadOnlyPoolManager]
    unguarded = urllib3.PoolManager | urllib3.connectionpool.ConnectionPool | HTTPConnection
    assert not [o for o in reached if isinstance(o, unguarded)]
    for method in ("DELETE", "POST"):
        with pytest.raises(ReadOnlyViolation):
            senders[0].urlopen(method, f"{base}/api/v1/namespaces/default/pods/p", retries=False)
    assert listener.connections == opened


def test_a_pool_reached_through_a_response_stays_guarded() -> None:
    """A response carries the pool it came from (`response._pool`). Emptying that pool's
    keywords, or a connection's socket options, does not free its connections, nor one made by
    urllib3's own `_new_conn` (through the class's `__mro__`) or its `ConnectionCls`: a write
    on one is refused before it is sent, and the server only ever sees the read."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            seen.append(self.requestline)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        configuration = k8s.Configuration()
        configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
        api_client = ReadOnlyApiClient(configuration)
        response = api_client.call_api("GET", f"{configuration.host}/api/v1/namespaces/a/pods")
        response.read()
        pool = response.response._pool
        pool.conn_kw.pop("socket_options")
        unmarked = pool._new_conn()
        reused = pool._get_conn()
        reused.socket_options = None
        by_urllib3 = type(pool).__mro__[1]._new_conn(pool)  # urllib3's own, not the guarded one
        fresh = pool.ConnectionCls(host=pool.host, port=pool.port)
        for conn in (unmarked, reused, by_urllib3, fresh):
            with pytest.raises(ReadOnlyViolation, match="read-only"):
                conn.request("POST", "/api/v1/namespaces/a/pods", body=b"{}")
        assert seen == ["GET /api/v1/namespaces/a/pods HTTP/1.1"]
    finally:
        server.shutdown()
        server.server_close()


def test_reads_carry_no_body_and_no_identity_change(core, listener) -> None:  # type: ignore[no-untyped-def]
    api_client = core.api_client
    pool = api_client.rest_client.pool_manager
    url = f"http://127.0.0.1:{listener.port}/api/v1/namespaces/default/pods"
    for attempt in (
        lambda: pool.request("GET", url, body=b"{}"),
        lambda: pool.request("GET", url, fields={"watch": "true"}),
        lambda: pool.request("GET", url, json={"a": 1}),
        lambda: pool.request("GET", url, headers={"Impersonate-User": "admin"}),
        lambda: pool.request("GET", url, headers={"Upgrade": "websocket"}),
        lambda: pool.request("GET", url.replace("127.0.0.1", "localhost")),  # another origin
        lambda: api_client.call_api("GET", url, body={"a": 1}),
        lambda: api_client.call_api("GET", url, header_params={"Impersonate-Group": "x"}),
    ):
        with pytest.raises(ReadOnlyViolation):
            attempt()
    assert listener.connections == 0



def _inner_manager(api_client: ReadOnlyApiClient) -> urllib3.PoolManager:
    """The urllib3 manager under the client's read-only one, as only code that imports the
    guard's private table reaches it: the layers below must hold without the one above."""
    return guard._WRAPPED[api_client.rest_client.pool_manager][0]


def test_guarded_pools_check_origin_headers_and_body_too(core, listener) -> None:  # type: ignore[no-untyped-def]
    """The pools below the wrapped manager, reached on purpose, hold the manager's line: another
    origin, an identity or method change (however the header name is spaced, or hidden from
    `__iter__`), a body."""
    inner = _inner_manager(core.api_client)
    base = f"http://127.0.0.1:{listener.port}"
    path = "/api/v1/namespaces/default/pods"

    class Hiding(dict):  # type: ignore[type-arg]
        def __iter__(self) -> Iterator[str]:
            return iter(["Accept"])

    for attempt in (
        lambda: inner.request("GET", f"http://127.0.0.2:{listener.port}{path}", retries=False),
        lambda: inner.request("GET", base + path, headers={"Impersonate-User": "admin"}),
        lambda: inner.request("GET", base + path, headers={"X-HTTP-Method-Override ": "DELETE"}),
        lambda: inner.request("GET", base + path, headers=Hiding({"Impersonate-User": "a"})),
        lambda: inner.request("GET", base + path, body=b'{"x":1}'),
        lambda: core.api_client.rest_client.pool_manager.request(
            "GET", base + path, headers={"\tImpersonate-Group": "x"}),
    ):
        with pytest.raises(ReadOnlyViolation):
            attempt()
    with pytest.raises(ReadOnlyViolation):
        check_request("GET", "///api/v1/pods")  # an empty netloc, not a plain path
    assert listener.connections == 0

# --- the allow-list lets every read of the tools through ---------------------------------------

def test_every_recorded_request_of_the_tools_passes() -> None:
    recorded = [i["request"] for path in sorted(CASSETTES.glob("*.yaml"))
                for i in yaml.safe_load(path.read_text())["interactions"]]
    assert len(recorded) >= 90  # every tool's recorded reads (96 when last recorded)
    for request in recorded:
        check_request(request["method"], request["uri"])


def test_every_kind_the_tools_read_passes_and_secrets_are_not_among_them() -> None:
    for kind in KINDS:
        entry = info(kind)
        for version in entry.versions:
            base = "/api/v1" if version == "v1" else f"/apis/{version}"
            check_request("GET", base)
            check_request("GET", entry.path(version))
            name = "a-b.c" if entry.name_rule == "subdomain" else "a-b"
            if entry.namespaced:
                check_request("GET", entry.path(version, "shop") + "?labelSelector=app%3Dweb")
                check_request("GET", entry.path(version, "shop", name))
            else:
                check_request("GET", entry.path(version, None, name))
    assert all(plural != "secrets" for _, plural in routes())
    for path in ("/api", "/apis", "/version",
                 "/api/v1/namespaces/shop/pods/web-1/log?container=app&previous=true&tailLines=5"):
        check_request("GET", path)


def test_a_server_below_a_path_prefix(listener) -> None:  # type: ignore[no-untyped-def]
    """Rancher and other proxies serve the API below a path: the guard judges what follows it."""
    configuration = k8s.Configuration()
    configuration.host = f"http://127.0.0.1:{listener.port}/k8s/clusters/c-1"
    api_client = ReadOnlyApiClient(configuration)
    pool = api_client.rest_client.pool_manager
    try:
        with pytest.raises(ReadOnlyViolation):
            pool.request("GET", f"http://127.0.0.1:{listener.port}/api/v1/pods")
        with pytest.raises(ReadOnlyViolation):
            pool.request("GET", f"{configuration.host}/api/v1/secrets")
        assert listener.connections == 0
        with pytest.raises(urllib3.exceptions.HTTPError):  # it leaves; the listener hangs up
            pool.request("GET", f"{configuration.host}/api/v1/pods", retries=False)
        assert listener.connections == 1
    finally:
        api_client.close()


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/kube-system/services/https:metrics-server:443/proxy",
    "/api/v1/namespaces/default/secrets/x/",
    "/apis/apps/v1",
    "/k8s/clusters/c-1/api",
    "/gw/%61pi",
    "/gw/../api",
    "/gw//x",
    "/debug/pprof",
    "/gw/nodes/n1/proxy",
])
def test_a_server_address_whose_path_routes_into_the_api_is_refused(listener, path) -> None:  # type: ignore[no-untyped-def]
    """A kubeconfig's server path is sent before every read unjudged, so one that routes into
    the API (a service proxy, a Secret, encoded or dotted) is refused when the client is made,
    before any connection; a plain proxy path (Rancher's) is not."""
    configuration = k8s.Configuration()
    configuration.host = f"http://127.0.0.1:{listener.port}{path}"
    with pytest.raises(ReadOnlyViolation, match="kubeconfig's server"):
        ReadOnlyApiClient(configuration)
    assert listener.connections == 0


def test_a_kubeconfig_server_inside_the_api_is_bad_configuration(tmp_path: Path) -> None:
    """`sre` says which address it refused (exit 3, no traceback) and sends nothing."""
    import subprocess
    import sys

    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9/api/v1/namespaces/"
                                                          "kube-system/services/x:443/proxy"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "abc"}}]}))
    sre = Path(sys.executable).with_name("sre")
    done = subprocess.run([str(sre), "tool", "pods", "-n", "default", "--kubeconfig",
                           str(kubeconfig)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "refused the API server address" in done.stderr


# --- in-process routes: what the connections themselves refuse ---------------------------------



def _pipelined(conn: Any) -> None:
    """A checked read's request line and headers, then a second request as raw bytes."""
    conn.putrequest("GET", "/api/v1/pods")
    conn.send(b"DELETE /api/v1/namespaces/prod HTTP/1.1\r\nHost: x\r\n\r\n")


def _output_behind_a_read(conn: Any) -> None:
    """A checked read's request line, then a second request line written into its buffer."""
    conn.putrequest("GET", "/api/v1/pods")
    conn._output(b"")
    conn._output(b"DELETE /api/v1/namespaces/default/pods/victim HTTP/1.1")
    conn.endheaders()


def _rewritten_request_line(conn: Any) -> None:
    conn.putrequest("GET", "/api/v1/pods")
    conn._buffer[0] = b"POST /api/v1/namespaces/default/pods HTTP/1.1"
    conn.endheaders()


def _line_added_before_a_header(conn: Any) -> None:
    conn.putrequest("GET", "/api/v1/pods")
    conn._output(b"X-HTTP-Method-Override: DELETE")
    conn.putheader("Accept", "application/json")


@pytest.mark.parametrize("attempt", [
    lambda api, base: _inner_manager(api).connection_from_url(base)._get_conn().request(
        "DELETE", "/api/v1/namespaces/prod"),
    lambda api, base: _inner_manager(api).connection_from_url(base)._new_conn().request(
        "POST", "/api/v1/namespaces", body=b"{}"),
    lambda api, base: _inner_manager(api).connection_from_url(base)._new_conn().request(
        "GET", "/api/v1/namespaces/default/secrets"),
    lambda api, base: _inner_manager(api).connection_from_url(base)._new_conn().request(
        "GET", "/api/v1/pods", headers={"Impersonate-User": "system:admin"}),
    lambda api, base: _inner_manager(api).connection_from_url(base)._new_conn().request(
        "GET", "/api/v1/pods", body=b"{}"),
    lambda api, base: (
        setattr(_inner_manager(api), "pool_classes_by_scheme",
                {"http": urllib3.HTTPConnectionPool, "https": urllib3.HTTPSConnectionPool}),
        _inner_manager(api).clear(),
        _inner_manager(api).request("DELETE", base + "/api/v1/namespaces/prod", retries=False)),
    lambda api, base: (
        object.__setattr__(api.rest_client, "pool_manager", urllib3.PoolManager()),
        api.rest_client.request("DELETE", base + "/api/v1/namespaces/prod")),
    lambda api, base: k8s.CoreV1Api(k8s.ApiClient(api.configuration)).delete_namespace("prod"),
    lambda api, base: k8s.CoreV1Api(k8s.ApiClient(copy.deepcopy(api.configuration))
                                    ).read_namespaced_secret("db", "default"),
    lambda api, base: stream(
        k8s.CoreV1Api(k8s.ApiClient(api.configuration)).connect_get_namespaced_pod_exec,
        "p", "default", command=["sh"], stderr=True, stdin=False, stdout=True, tty=False),
    lambda api, base: _pipelined(_inner_manager(api).connection_from_url(base)._new_conn()),
    lambda api, base: _inner_manager(api).connection_from_url(base)._new_conn().send(
        b"DELETE /api/v1/namespaces/prod HTTP/1.1\r\n\r\n"),
    lambda api, base: _output_behind_a_read(
        _inner_manager(api).connection_from_url(base)._get_conn()),
    lambda api, base: _rewritten_request_line(
        _inner_manager(api).connection_from_url(base)._get_conn()),
    lambda api, base: _line_added_before_a_header(
        _inner_manager(api).connection_from_url(base)._get_conn()),
], ids=["get-conn-delete", "new-conn-post", "new-conn-secrets", "new-conn-impersonate",
        "new-conn-body", "pool-class-swap", "setattr-past-the-seal", "new-api-client",
        "new-api-client-from-a-copy", "new-api-client-exec-stream", "pipelined-behind-a-read",
        "raw-send", "buffer-output-behind-a-read", "buffer-request-line-rewritten",
        "buffer-line-before-a-header"])
def test_in_process_routes_are_refused_at_the_connection(core, listener, attempt) -> None:  # type: ignore[no-untyped-def]
    """The routes an attacker pass found by walking the client's insides: each now meets the
    check in `http.client` (or the websocket transport) for connections made from the guarded
    configuration, and nothing reaches the socket."""
    base = f"http://127.0.0.1:{listener.port}"
    with pytest.raises((ReadOnlyViolation, k8s.ApiException)) as refused:
        attempt(core.api_client, base)
    assert "refused" in str(refused.value)
    assert listener.connections == 0


def test_marked_configuration_still_reads_and_others_pass_untouched(core, listener) -> None:  # type: ignore[no-untyped-def]
    """A new client from the guarded configuration still reads; a connection that is not from a
    guarded configuration (another client, the Slack or Prometheus ones) is not judged at all."""
    base = f"http://127.0.0.1:{listener.port}"
    with pytest.raises(urllib3.exceptions.HTTPError):  # it leaves; the listener hangs up
        k8s.ApiClient(core.api_client.configuration).rest_client.pool_manager.request(
            "GET", base + "/api/v1/nodes", retries=False)
    assert listener.connections == 1
    with pytest.raises(urllib3.exceptions.HTTPError):
        urllib3.PoolManager().request("POST", base + "/anything", body=b"x", retries=False)
    assert listener.connections == 2


def test_no_rule_can_be_edited_in_place(core) -> None:  # type: ignore[no-untyped-def]
    """Setting a rule's prefix to a Secrets path would let `secrets/<name>` pass as a read
    below it: every layer's rule refuses the edit, even through `object.__setattr__`."""
    api_client = core.api_client
    rules = [api_client._rule, api_client.rest_client._rule,
             guard._WRAPPED[api_client.rest_client.pool_manager][1],
             api_client.configuration.socket_options.rule]
    for rule in rules:
        for edit in (setattr, object.__setattr__):
            with pytest.raises(AttributeError):
                edit(rule, "prefix", "/api/v1/namespaces/default/secrets")
    with pytest.raises(ReadOnlyViolation):
        api_client.call_api("GET", f"{api_client.configuration.host}/api/v1/namespaces/default/"
                                   "secrets/api")
