"""The read-only guard refuses writes, exec, port-forward and Secret reads before any byte is sent.

The client points at a loopback listener that counts connections: it must count none.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes.stream import stream

from tools import ReadOnlyViolation
from tools.guard import ReadOnlyApiClient, check_request


class CountingListener:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


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
    check_request("get", "https://k/api/v1/namespaces/shop/pods/web-1/log?previous=true")
    for method, url in [("POST", "https://k/api/v1/namespaces"),
                        ("GET", "https://k/api/v1/namespaces/shop/secrets"),
                        ("GET", "https://k/api/v1/namespaces/shop/pods/p/exec?command=sh"),
                        ("GET", "https://k/api/v1/namespaces/shop/services/s/proxy/")]:
        with pytest.raises(ReadOnlyViolation):
            check_request(method, url)
