"""A real Kubernetes API for tests: kube-apiserver v1.20.2 and etcd on loopback, a fake kubelet
that serves container logs, and helpers that seed objects the way a live cluster shows them.

    server = start_apiserver(workdir)      # or the `apiserver` fixture in tests/conftest.py
    server.kubelet.set_log("ns", "pod", "app", "boom\\n", previous=True)
    kubeconfig = server.write_kubeconfig(workdir / "kubeconfig")
    server.stop()

    postgres = start_postgres()            # a throwaway PostgreSQL server (the `postgres` fixture)
    url = postgres.create_database()
"""

from .apiserver import (
    ADMIN_USER,
    READONLY_USER,
    UNBOUND_USERS,
    ApiServer,
    HarnessError,
    start_apiserver,
)
from .kubelet import FakeKubelet
from .postgres import PostgresServer, start_postgres
from .seeding import (
    Json,
    MakeNode,
    SetPodStatus,
    create_namespace,
    make_node,
    now,
    request_json,
    set_pod_status,
)

__all__ = [
    "ADMIN_USER",
    "READONLY_USER",
    "UNBOUND_USERS",
    "ApiServer",
    "FakeKubelet",
    "HarnessError",
    "Json",
    "MakeNode",
    "PostgresServer",
    "SetPodStatus",
    "create_namespace",
    "make_node",
    "now",
    "request_json",
    "set_pod_status",
    "start_apiserver",
    "start_postgres",
]
