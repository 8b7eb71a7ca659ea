"""Fixtures for tests against a real kube-apiserver (see tests/harness).

- `apiserver` (session): the running test cluster, an `ApiServer`.
- `admin_client` (session): an official-client `ApiClient` with the admin token, for seeding.
- `kubelet` (function): the fake kubelet, emptied of logs and recorded requests.
- `namespace` (function): a fresh namespace's name (`t-<8 hex>`); never deleted.
- `make_node` (function): `make_node(name, *, ready=True, conditions=None, taints=None,
  labels=None, allocatable=None, capacity=None) -> dict`, a node wired to the fake kubelet.
- `set_pod_status` (function): `set_pod_status(namespace, name, status) -> dict`.
- `postgres` (session): a throwaway PostgreSQL server on loopback, a `PostgresServer`;
  `postgres.create_database()` gives each test a fresh database's URL.

Tests that use `apiserver`, directly or through another fixture, get the `apiserver` marker.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import (
    ApiServer,
    FakeKubelet,
    HarnessError,
    Json,
    MakeNode,
    PostgresServer,
    SetPodStatus,
    seeding,
    start_apiserver,
    start_postgres,
)
from harness.scenarios import Scenario, Seeder
from kubernetes import client as k8s
from playwright.sync_api import Browser, sync_playwright

import tools


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--record-cassettes", action="store_true", default=False,
                     help="re-record tests/cassettes/ from the real test apiserver "
                          "(what `make cassettes` runs)")


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


# --- the project's read-only role, and scenario seeding ----------------------------------------

ASSISTANT_USER = "sre-assistant"  # bound to deploy/rbac.yaml's ClusterRole by `rbac`
RBAC_FILE = Path(__file__).resolve().parent.parent / "deploy" / "rbac.yaml"


def _binding(name: str, role: str, user: str) -> Json:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": user}]}


@pytest.fixture(scope="session")
def rbac(admin_client: k8s.ApiClient) -> None:
    """Apply the project's ClusterRole, bind it to `sre-assistant`; `sre-partial` may only
    list pods (for tests of the 403 message)."""
    documents = list(yaml.safe_load_all(RBAC_FILE.read_text()))
    role = next(d for d in documents if d["kind"] == "ClusterRole")
    roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    seeding.request_json(admin_client, "POST", roles, role)
    seeding.request_json(admin_client, "POST", bindings,
                         _binding("sre-assistant", role["metadata"]["name"], ASSISTANT_USER))
    seeding.request_json(admin_client, "POST", roles, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "pods-only"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "namespaces"],
                   "verbs": ["get", "list"]}]})
    seeding.request_json(admin_client, "POST", bindings,
                         _binding("sre-partial", "pods-only", "sre-partial"))


@pytest.fixture(scope="session")
def readonly_kubeconfig(apiserver: ApiServer, rbac: None,
                        tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig for the user bound only to the project's read-only ClusterRole."""
    path = tmp_path_factory.mktemp("kc") / "kubeconfig"
    return apiserver.write_kubeconfig(path, token=apiserver.tokens[ASSISTANT_USER])


@pytest.fixture(scope="session")
def readonly_cluster(readonly_kubeconfig: Path) -> Iterator[tools.Cluster]:
    cluster = tools.open_cluster(kubeconfig=str(readonly_kubeconfig))
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def seed_scenario(apiserver: ApiServer) -> Callable[[Scenario], Scenario]:
    """Seed a scenario into fresh namespaces (renamed `<ns>-<hex>`, all but `default`, where
    events about nodes must live); returns the renamed one."""
    seeder = Seeder(apiserver)

    def seed(scenario: Scenario) -> Scenario:
        suffix = uuid.uuid4().hex[:6]
        renamed = scenario.renamed({ns: f"{ns}-{suffix}" for ns in scenario.namespaces
                                    if ns != "default"})  # node events live in default
        addresses = seeder.seed(renamed)
        phrases = [str(p) for p in renamed.expect.get("phrases") or []]
        for old, new in addresses.items():  # the live Service IPs, as the live logs show them
            phrases = [re.sub(rf"\b{re.escape(old)}\b", new, p) for p in phrases]
        renamed.expect["phrases"] = phrases
        return renamed

    return seed


# --- a real PostgreSQL server (conversation memory) ---------------------------------------------

@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Fails (never skips) when PostgreSQL is not installed; the message names `make postgres`."""
    failure = None
    try:
        server = start_postgres()
    except HarnessError as e:
        failure = str(e)
    if failure is not None:  # outside the `except`: the message once, without a traceback
        pytest.fail(failure, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# --- one headless chromium for every browser test: Playwright's sync API runs one event loop
# per thread, so a second `sync_playwright()` beside a live one fails -------------------------

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Fails (never skips) without chromium; the message names `make browser`."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium "
                    "(scripts/install-chromium.sh); the web chat tests drive it headless",
                    pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()
