"""Fixtures for tests against a real kube-apiserver (see tests/harness).

- `apiserver` (session): the running test cluster, an `ApiServer`.
- `admin_client` (session): an official-client `ApiClient` with the admin token, for seeding.
- `kubelet` (function): the fake kubelet, emptied of logs and recorded requests.
- `namespace` (function): a fresh namespace's name (`t-<8 hex>`); never deleted.
- `make_node` (function): `make_node(name, *, ready=True, conditions=None, taints=None,
  labels=None, allocatable=None, capacity=None) -> dict`, a node wired to the fake kubelet.
- `set_pod_status` (function): `set_pod_status(namespace, name, status) -> dict`.

Tests that use `apiserver`, directly or through another fixture, get the `apiserver` marker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import ApiServer, FakeKubelet, Json, MakeNode, SetPodStatus, seeding, start_apiserver
from kubernetes import client as k8s


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "apiserver" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.apiserver)


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = start_apiserver(tmp_path_factory.mktemp("kube"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def admin_client(apiserver: ApiServer) -> Iterator[k8s.ApiClient]:
    with apiserver.client() as api_client:
        yield api_client


@pytest.fixture
def kubelet(apiserver: ApiServer) -> FakeKubelet:
    apiserver.kubelet.clear()
    return apiserver.kubelet


@pytest.fixture
def namespace(admin_client: k8s.ApiClient) -> str:
    return seeding.create_namespace(admin_client)


@pytest.fixture
def make_node(apiserver: ApiServer, admin_client: k8s.ApiClient) -> MakeNode:
    def make(name: str, **options: Any) -> Json:
        return seeding.make_node(admin_client, apiserver.kubelet.port, name, **options)

    return make


@pytest.fixture
def set_pod_status(admin_client: k8s.ApiClient) -> SetPodStatus:
    def set_status(namespace: str, name: str, status: Json) -> Json:
        return seeding.set_pod_status(admin_client, namespace, name, status)

    return set_status
