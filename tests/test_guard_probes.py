"""The read-only guard against a list of probes (tests/data/guard_probes.yaml): encodings, double
encoding, case, suffixes, dot segments, odd methods, huge names, unicode.

Offline, every probe goes through a guarded client pointed at a socket that counts connections:
each is refused at the pool manager and at `call_api`, and the socket sees none; every read the
tools make does leave.

Against the real test apiserver, the probes are sent as a user whose RBAC allows everything
(secrets, exec, proxy, every non-resource URL), bound for this module only:
- without the guard (plain urllib3 to the server), the server serves every GET probe it can route
  (none is 401 or 403), and those marked `exposes: secret` hand back the Secret's value;
- with the guard, through a relay that counts the bytes reaching the server, every probe is
  refused and no byte arrives, while every read the tools make passes and is answered.
Probes other than GET are not sent without the guard: that user could really delete things.
"""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from harness import ApiServer, Json, create_namespace, make_node, request_json, set_pod_status
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

import tools
from tools import ReadOnlyViolation, Toolbox, guard
from tools.guard import ReadOnlyApiClient

DATA = Path(__file__).parent / "data" / "guard_probes.yaml"
_REPEAT = re.compile(r"\{(\w)\*(\d+)\}")


@dataclass(frozen=True)
class Probe:
    method: str
    target: str  # a path after the server's address, or (absolute) a whole URL
    absolute: bool = False
    exposes: str | None = None
    status: int = 200  # for allowed reads: what the test apiserver answers

    def url(self, base: str, names: dict[str, str]) -> str:
        text = _REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), self.target)
        scheme, netloc = base.split("://", 1)
        other = "http" if scheme == "https" else "https"
        for key, value in {**names, "server_netloc": netloc, "other_scheme": other}.items():
            text = text.replace("{" + key + "}", value)
        return text if self.absolute else base + text


def _load() -> tuple[list[Probe], list[Probe]]:
    doc = yaml.safe_load(DATA.read_text(encoding="utf-8"))

    def probe(entry: Json) -> Probe:
        return Probe(method=str(entry.get("method", "GET")),
                     target=entry["url"] if "url" in entry else entry["path"],
                     absolute="url" in entry, exposes=entry.get("exposes"),
                     status=int(entry.get("status", 200)))

    return [probe(e) for e in doc["probes"]], [probe(e) for e in doc["allowed"]]


PROBES, ALLOWED = _load()


def _id(probe: Probe) -> str:
    return f"{probe.method} {probe.target}"[:80].encode("ascii", "backslashreplace").decode()


class Relay:
    """A TCP relay on loopback in front of `target` (a port), or, without one, a socket that
    accepts and hangs up. It counts the connections it accepts and the bytes clients send."""

    def __init__(self, target: int | None = None) -> None:
        self.target = target
        self.connections = 0
        self.bytes_in = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            with self._lock:
                self.connections += 1
            if self.target is None:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._open += [client, upstream]
            for source, sink, counted in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, counted),
                                 daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted:
                    with self._lock:
                        self.bytes_in += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self._server.close()
        for end in self._open:
            end.close()


def _attempts(api: ReadOnlyApiClient, probe: Probe, url: str,
              headers: dict[str, str]) -> list[Callable[[], Any]]:
    pool = api.rest_client.pool_manager
    return [
        lambda: pool.request(probe.method, url, headers=headers, retries=False),
        lambda: pool.urlopen(probe.method, url, headers=headers, retries=False),
        lambda: api.call_api(probe.method, url, header_params=headers),
    ]


# --- offline: a guarded client and a socket that counts ----------------------------------------

OFFLINE_NAMES = {"ns": "shop", "pod": "web-1", "container": "app", "node": "node-1",
                 "svc": "web", "deploy": "web", "secret": "db-credentials"}


@pytest.fixture(scope="module")
def nowhere() -> Iterator[Relay]:
    relay = Relay()
    yield relay
    relay.close()


@pytest.fixture(scope="module")
def offline_client(nowhere: Relay) -> Iterator[ReadOnlyApiClient]:
    configuration = k8s.Configuration()
    configuration.host = f"http://127.0.0.1:{nowhere.port}"
    api = ReadOnlyApiClient(configuration)
    yield api
    api.close()  # type: ignore[no-untyped-call]


def test_the_probe_list_is_long_and_varied() -> None:
    assert len(PROBES) >= 40
    assert len({p.method for p in PROBES}) >= 10
    assert sum(p.exposes == "secret" for p in PROBES) >= 10


@pytest.mark.parametrize("probe", PROBES, ids=_id)
def test_each_probe_is_refused_before_any_connection(
        probe: Probe, nowhere: Relay, offline_client: ReadOnlyApiClient) -> None:
    url = probe.url(str(offline_client.configuration.host), OFFLINE_NAMES)
    before = nowhere.connections
    for attempt in _attempts(offline_client, probe, url, {"Authorization": "Bearer x"}):
        with pytest.raises(ReadOnlyViolation):
            attempt()
    assert nowhere.connections == before


@pytest.mark.parametrize("probe", ALLOWED, ids=_id)
def test_each_read_the_tools_make_leaves(
        probe: Probe, nowhere: Relay, offline_client: ReadOnlyApiClient) -> None:
    url = probe.url(str(offline_client.configuration.host), OFFLINE_NAMES)
    before = nowhere.connections
    with pytest.raises(urllib3.exceptions.HTTPError):  # the socket hangs up: it did leave
        offline_client.rest_client.pool_manager.request("GET", url, retries=False)
    assert nowhere.connections == before + 1


# --- the real apiserver, as a user allowed everything ------------------------------------------

@dataclass
class Cluster:
    apiserver: ApiServer
    token: str
    names: dict[str, str]
    secret_value: str
    headers: dict[str, str] = field(default_factory=dict)


def _everything_role(name: str) -> Json:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]}


def _seed(admin: k8s.ApiClient, server: ApiServer, suffix: str) -> tuple[dict[str, str], str]:
    ns = create_namespace(admin)
    names = {"ns": ns, "pod": "probe-pod", "container": "c", "node": f"probe-node-{suffix}",
             "svc": "probe-svc", "deploy": "probe-web", "secret": "probe-secret"}
    make_node(admin, server.kubelet.port, names["node"])
    labels = {"app": "probe-web"}
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    request_json(admin, "POST", f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe-pod", "labels": labels},
        "spec": {**spec, "nodeName": names["node"]}})
    set_pod_status(admin, ns, "probe-pod", {
        "phase": "Running", "containerStatuses": [{
            "name": "c", "ready": True, "restartCount": 1, "image": "busybox", "imageID": "",
            "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]})
    server.kubelet.set_log(ns, "probe-pod", "c", "hello\n")
    server.kubelet.set_log(ns, "probe-pod", "c", "before the restart\n", previous=True)
    request_json(admin, "POST", f"/api/v1/namespaces/{ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "probe-svc"},
        "spec": {"selector": labels, "ports": [{"port": 80}]}})
    request_json(admin, "POST", f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "probe-web"},
        "spec": {"selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": spec}}})
    value = f"probe-secret-value-{suffix}"
    request_json(admin, "POST", f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "probe-secret"},
        "data": {"token": base64.b64encode(value.encode()).decode()}})
    return names, value


@pytest.fixture(scope="module")
def cluster(apiserver: ApiServer, admin_client: k8s.ApiClient) -> Iterator[Cluster]:
    """Seeded objects, and a ServiceAccount bound to a ClusterRole allowing every verb on every
    resource and non-resource URL; the binding is removed after this module."""
    suffix = uuid.uuid4().hex[:8]
    names, value = _seed(admin_client, apiserver, suffix)
    ns, role = names["ns"], f"guard-probes-everything-{suffix}"
    request_json(admin_client, "POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "prober"}})
    roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    request_json(admin_client, "POST", roles, _everything_role(role))
    request_json(admin_client, "POST", bindings, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "prober", "namespace": ns}]})
    issued = request_json(
        admin_client, "POST", f"/api/v1/namespaces/{ns}/serviceaccounts/prober/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
         "spec": {"expirationSeconds": 3600}})
    token = issued["status"]["token"]
    found = Cluster(apiserver, token, names, value, {"Authorization": f"Bearer {token}"})
    _wait_until_allowed(found)
    try:
        yield found
    finally:
        for path in (f"{bindings}/{role}", f"{roles}/{role}", f"/api/v1/nodes/{names['node']}"):
            try:
                request_json(admin_client, "DELETE", path)
            except ApiException:
                pass


def _plain_pool(server: ApiServer) -> urllib3.PoolManager:
    return urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(server.ca_file),
                               timeout=urllib3.Timeout(connect=5, read=15))


def _wait_until_allowed(cluster: Cluster) -> None:
    """RBAC reaches the authorizer through an informer: wait until the Secret is readable."""
    url = f"{cluster.apiserver.url}/api/v1/namespaces/{cluster.names['ns']}/secrets"
    deadline = time.monotonic() + 20
    with _plain_pool(cluster.apiserver) as pool:
        while pool.request("GET", url, headers=cluster.headers).status != 200:
            assert time.monotonic() < deadline, "the all-allowed binding never took effect"
            time.sleep(0.2)


def _unguarded(pool: urllib3.PoolManager, cluster: Cluster, probe: Probe) -> tuple[int, bytes]:
    """Send `probe` without the guard; (0, b"") when urllib3 itself will not send it."""
    url = probe.url(cluster.apiserver.url, cluster.names)
    try:
        response = pool.request("GET", url, headers=cluster.headers, retries=False,
                                redirect=False)
    except (urllib3.exceptions.HTTPError, ValueError, UnicodeError):
        return 0, b""
    return response.status, response.data


def test_without_the_guard_the_server_serves_the_probes(cluster: Cluster) -> None:
    encoded = base64.b64encode(cluster.secret_value.encode())
    sendable = [p for p in PROBES if p.method == "GET" and not p.absolute]
    answered: dict[Probe, int] = {}
    exposed: list[Probe] = []
    with _plain_pool(cluster.apiserver) as pool:
        for probe in sendable:
            status, body = _unguarded(pool, cluster, probe)
            if status:
                answered[probe] = status
            if status == 200 and encoded in body:
                exposed.append(probe)
    refused_by_rbac = [(p.target, s) for p, s in answered.items() if s in (401, 403)]
    assert refused_by_rbac == []  # the guard alone stands between these and the server
    assert [p.target for p in PROBES if p.exposes == "secret" and p not in exposed] == []
    assert len(answered) >= 0.9 * len(sendable)


def test_the_guard_alone_stops_every_probe(cluster: Cluster) -> None:
    relay = Relay(int(cluster.apiserver.url.rsplit(":", 1)[1]))
    configuration = k8s.Configuration()
    configuration.host = f"https://127.0.0.1:{relay.port}"
    configuration.ssl_ca_cert = str(cluster.apiserver.ca_file)
    api = ReadOnlyApiClient(configuration)
    kubelet_before = len(cluster.apiserver.kubelet.requests)
    try:
        for probe in PROBES:
            url = probe.url(str(configuration.host), cluster.names)
            for attempt in _attempts(api, probe, url, cluster.headers):
                with pytest.raises(ReadOnlyViolation):
                    attempt()
        assert (relay.connections, relay.bytes_in) == (0, 0)
        assert len(cluster.apiserver.kubelet.requests) == kubelet_before

        pool = api.rest_client.pool_manager
        for probe in ALLOWED:
            url = probe.url(str(configuration.host), cluster.names)
            response = pool.request("GET", url, headers=cluster.headers, retries=False)
            assert response.status == probe.status, (probe.target, response.data[:200])
        assert relay.bytes_in > 0
    finally:
        api.close()  # type: ignore[no-untyped-call]
        relay.close()


def test_the_tools_work_for_a_user_allowed_everything(cluster: Cluster, tmp_path: Path) -> None:
    config = cluster.apiserver.write_kubeconfig(tmp_path / "kc", token=cluster.token)
    reader = tools.open_cluster(kubeconfig=str(config))
    try:
        box, ns = Toolbox(reader), cluster.names["ns"]
        assert [p.name for p in box.pods(ns).pods] == ["probe-pod"]
        assert box.describe("Deployment", "probe-web", ns).ok
        logs = box.logs(ns, "probe-pod", previous=True)
        assert logs.ok and logs.excerpt is not None and logs.excerpt.total_lines == 1
        assert box.services(ns).ok and box.workloads(ns).ok
    finally:
        reader.close()


def test_in_process_routes_are_refused_for_a_user_allowed_everything(cluster: Cluster) -> None:
    """What code inside the process could try with the guarded client in hand (the routes an
    attacker pass found): raw connections of its pools, its pool classes swapped back, its pool
    manager replaced past the seal, a new `ApiClient` from its configuration, exec over that
    client's websocket. With a token allowed everything, none reaches the server: the namespace
    and the Secret are untouched, no byte arrives."""
    relay = Relay(int(cluster.apiserver.url.rsplit(":", 1)[1]))
    configuration = k8s.Configuration()
    configuration.host = f"https://127.0.0.1:{relay.port}"
    configuration.ssl_ca_cert = str(cluster.apiserver.ca_file)
    configuration.api_key = {"authorization": f"Bearer {cluster.token}"}
    api = ReadOnlyApiClient(configuration)
    ns, host = cluster.names["ns"], str(configuration.host)
    inner = guard._WRAPPED[api.rest_client.pool_manager][0]  # only through the module's table
    auth = {"Authorization": f"Bearer {cluster.token}"}
    attempts: list[Callable[[], Any]] = [
        lambda: inner.connection_from_url(host)._get_conn().request(
            "DELETE", f"/api/v1/namespaces/{ns}", headers=auth),
        lambda: inner.connection_from_url(host)._new_conn().request(
            "GET", f"/api/v1/namespaces/{ns}/secrets", headers=auth),
        lambda: (setattr(inner, "pool_classes_by_scheme", {
            "http": urllib3.HTTPConnectionPool, "https": urllib3.HTTPSConnectionPool}),
            inner.clear(), inner.request("DELETE", f"{host}/api/v1/namespaces/{ns}",
                                         headers=auth, retries=False)),
        lambda: k8s.CoreV1Api(k8s.ApiClient(api.configuration)).delete_namespace(ns),
        lambda: k8s.CoreV1Api(k8s.ApiClient(api.configuration)).read_namespaced_secret(
            "probe-secret", ns),
        lambda: stream(k8s.CoreV1Api(k8s.ApiClient(api.configuration)
                                     ).connect_get_namespaced_pod_exec,
                       "probe-pod", ns, command=["sh"], stderr=True, stdin=False, stdout=True,
                       tty=False),
        lambda: (object.__setattr__(api.rest_client, "pool_manager",
                                    urllib3.PoolManager(ca_certs=str(cluster.apiserver.ca_file))),
                 api.rest_client.request("DELETE", f"{host}/api/v1/namespaces/{ns}",
                                         headers=auth)),
    ]
    kubelet_before = len(cluster.apiserver.kubelet.requests)
    try:
        handshake = inner.connection_from_url(host)._new_conn()
        handshake.connect()  # what a TLS handshake alone sends: a pool of urllib3's own class
        handshake.close()    # shakes hands before the request line is judged
        assert relay.connections == 1
        alone = relay.bytes_in
        for attempt in attempts:
            with pytest.raises((ReadOnlyViolation, ApiException)) as refused:
                attempt()
            assert "refused" in str(refused.value)
        # handshakes, never a request: a resumed TLS session's ClientHello carries its ticket
        # (up to ~2 KiB), so each later handshake may be larger than the first; the namespace
        # that the DELETEs aimed at is still there (checked below)
        assert relay.bytes_in <= (alone + 2048) * relay.connections
        assert len(cluster.apiserver.kubelet.requests) == kubelet_before
        with _plain_pool(cluster.apiserver) as pool:
            namespace = pool.request("GET", f"{cluster.apiserver.url}/api/v1/namespaces/{ns}",
                                     headers=cluster.headers)
        assert namespace.status == 200 and b'"deletionTimestamp"' not in namespace.data
        reader = k8s.CoreV1Api(k8s.ApiClient(api.configuration))  # still a reader
        assert [p.metadata.name for p in reader.list_namespaced_pod(ns).items] == ["probe-pod"]
        assert relay.bytes_in > 0
    finally:
        api.close()  # type: ignore[no-untyped-call]
        relay.close()
