"""`sre mcp` through the MCP SDK's own client: in process, over stdio (the `sre mcp` process an
editor starts) and over streamable HTTP (bearer token), against the bundled snapshot and the
real test apiserver.

What a user of an MCP client would notice: the tools listed, each one answering, none able to
write (no such tool, and the guard under them still refuses), secrets redacted in what comes
back, and namespaces outside the allow-list reading as if they did not exist.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
import pytest
from harness import ApiServer
from harness.scenarios import Scenario, load
from kubernetes import client as k8s
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent

import tools
from assistant.mcp import BUSY, build, restrict
from assistant.recalling import open_runbooks
from assistant.service import open_investigator
from assistant.settings import MCPSettings, Settings
from tools import ReadOnlyViolation

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "cascade"
DATA = Path(__file__).parent / "data"
SRE = str(Path(sys.executable).with_name("sre"))
READ_TOOLS = {"find", "pods", "workloads", "events", "nodes", "services", "storage",
              "autoscalers", "quotas", "ingresses", "network_policies", "metrics", "describe",
              "logs"}
ANSWER_TOOLS = {"diagnose", "ask", "search_runbooks"}
T = TypeVar("T")


def run(work: Callable[[Client], Awaitable[T]], server: Any) -> T:
    """`work` with an SDK client connected to `server` (an MCPServer, parameters or a transport)."""
    async def main() -> T:
        async with Client(server) as client:
            return await work(client)

    return anyio.run(main)


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    return Settings()


@contextmanager
def served(settings: Settings, cluster: tools.Cluster,
           namespaces: list[str] | None = None) -> Iterator[MCPServer]:
    """The server `sre mcp` builds, with `namespaces` as SRE_MCP__NAMESPACES."""
    config = MCPSettings(namespaces=namespaces)
    readable = restrict(cluster, config)
    with open_investigator(settings, readable) as service:
        yield build(readable, service.investigator, service.runbooks(), config)


@pytest.fixture
def snapshot_server(settings: Settings) -> Iterator[MCPServer]:
    cluster = tools.open_cluster(snapshot=EXAMPLE)
    with served(settings, cluster) as server:
        yield server


# --- against the bundled snapshot (examples/cascade) --------------------------------------------

def test_lists_read_tools_and_answers_only(snapshot_server: MCPServer) -> None:
    listed = run(lambda c: c.list_tools(), snapshot_server)
    names = {tool.name for tool in listed.tools}
    assert names == READ_TOOLS | ANSWER_TOOLS
    for tool in listed.tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.description, f"{tool.name} has no description for the model"
    describe = next(t for t in listed.tools if t.name == "describe")
    kinds = describe.input_schema["properties"]["kind"]["enum"]
    assert "Pod" in kinds and "Secret" not in kinds  # Secrets are not even a describable kind


@pytest.mark.parametrize("name", ["delete", "apply", "exec", "scale", "patch", "create_pod",
                                  "delete_namespaced_pod", "get_secret"])
def test_no_tool_can_write(snapshot_server: MCPServer, name: str) -> None:
    async def call(client: Client) -> CallToolResult | None:
        try:
            return await client.call_tool(name, {"namespace": "shop", "name": "postgres"})
        except MCPError:
            return None  # refused as a protocol error: no such tool

    result = run(call, snapshot_server)
    assert result is None or result.is_error


CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("find", {"query": "postgress"}, "StatefulSet/shop/postgres"),
    ("pods", {"namespace": "shop"}, "postgres-0: CrashLoopBackOff"),
    ("workloads", {"namespace": "shop"}, "api"),
    ("events", {"namespace": "shop", "warnings_only": True}, "BackOff"),
    ("nodes", {}, "shop-prod-n1"),
    ("services", {"namespace": "shop"}, "postgres"),
    ("storage", {"namespace": "shop"}, "[storage]"),
    ("autoscalers", {"namespace": "shop"}, "[autoscalers]"),
    ("quotas", {"namespace": "shop"}, "[quotas]"),
    ("ingresses", {"namespace": "shop"}, "[ingresses]"),
    ("network_policies", {"namespace": "shop"}, "[network_policies]"),
    ("metrics", {"namespace": "shop"}, "[metrics]"),
    ("describe", {"kind": "StatefulSet", "name": "postgres", "namespace": "shop"}, "postgres"),
    ("logs", {"namespace": "shop", "pod": "postgres-0", "previous": True}, "[logs] ok"),
]


def test_each_read_tool_answers(snapshot_server: MCPServer) -> None:
    async def call_all(client: Client) -> dict[str, CallToolResult]:
        return {name: await client.call_tool(name, args) for name, args, _ in CALLS}

    results = run(call_all, snapshot_server)
    assert set(results) == READ_TOOLS
    for name, _args, expected in CALLS:
        assert not results[name].is_error, text(results[name])
        assert text(results[name]).startswith(f"[{name}]"), text(results[name])[:200]
        assert expected in text(results[name]), (name, text(results[name])[:400])


def test_diagnose_and_ask_find_the_root_cause(snapshot_server: MCPServer) -> None:
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async def both(client: Client) -> tuple[CallToolResult, CallToolResult]:
        diagnosis = await client.call_tool("diagnose", {"namespace": "shop"},
                                           progress_callback=on_progress)
        answer = await client.call_tool("ask", {"question": "why is the frontend returning 502?"})
        return diagnosis, answer

    diagnosis, answer = run(both, snapshot_server)
    for result in (diagnosis, answer):
        assert not result.is_error, text(result)
        doc = result.structured_content or {}
        assert doc["healthy"] is False
        assert doc["root_cause"]["object"] == "StatefulSet/shop/postgres"
        assert doc["root_cause"]["category"] == "oom_killed"
        assert "OOMKilled" in text(result) and "Proposed remediation" in text(result)
    assert any(message.startswith("analyze") for message in progress), progress


def test_ask_continues_a_conversation(snapshot_server: MCPServer) -> None:
    async def twice(client: Client) -> CallToolResult:
        await client.call_tool("ask", {"question": "why is api crashing?",
                                       "conversation": "editor-1"})
        return await client.call_tool("ask", {"question": "show me its previous logs",
                                              "conversation": "editor-1"})

    follow_up = run(twice, snapshot_server)
    assert not follow_up.is_error, text(follow_up)
    assert "api" in text(follow_up)


def test_bad_input_is_a_tool_error(snapshot_server: MCPServer) -> None:
    async def bad(client: Client) -> list[CallToolResult]:
        return [await client.call_tool("ask", {"question": ""}),
                await client.call_tool("ask", {"question": "x" * 4001}),
                await client.call_tool("ask", {"question": "hi", "conversation": "a/b"}),
                await client.call_tool("describe", {"kind": "Secret", "name": "db"}),
                await client.call_tool("search_runbooks", {"query": "oom", "k": 0})]

    for result in run(bad, snapshot_server):
        assert result.is_error


def test_search_runbooks_cites_a_file(snapshot_server: MCPServer) -> None:
    hit = run(lambda c: c.call_tool("search_runbooks", {"query": "OOMKilled exit code 137"}),
              snapshot_server)
    found = hit.structured_content or {}
    assert found["matched"] is True
    assert found["hits"][0]["path"] == "knowledge/runbooks/oomkilled-memory-limit.md"
    assert "oomkilled-memory-limit.md" in text(hit)


def test_a_full_queue_is_refused(settings: Settings) -> None:
    class Stuck:
        """An investigator that waits until released: the pool stays full meanwhile."""

        def __init__(self) -> None:
            self.release = anyio.Event()

        def investigate(self, request: Any, on_progress: Any = None) -> Any:
            anyio.from_thread.run(self.release.wait)
            raise AssertionError("released only to end the test")

    stuck = Stuck()
    cluster = tools.open_cluster(snapshot=EXAMPLE)
    with open_runbooks(settings) as runbooks:
        server = build(cluster, stuck, runbooks, MCPSettings(workers=1, queue_limit=1))

    async def flood(client: Client) -> CallToolResult:
        async with anyio.create_task_group() as group:
            for _ in range(2):  # one running, one waiting
                group.start_soon(client.call_tool, "diagnose", {"namespace": "shop"})
            await anyio.sleep(0.5)
            third = await client.call_tool("diagnose", {"namespace": "shop"})
            stuck.release.set()
        return third

    refused = run(flood, server)
    assert refused.is_error and BUSY in text(refused)


# --- over stdio: the process an editor starts -------------------------------------------------

def test_stdio_serves_the_snapshot(tmp_path: Path) -> None:
    env = {**os.environ, "SRE_STATE_DIR": str(tmp_path / "state")}
    params = StdioServerParameters(command=SRE, args=["mcp", "--snapshot", str(EXAMPLE)],
                                   env=env)

    async def session(client: Client) -> tuple[set[str], CallToolResult]:
        names = {tool.name for tool in (await client.list_tools()).tools}
        return names, await client.call_tool("diagnose", {"namespace": "shop"})

    names, diagnosis = run(session, params)
    assert names == READ_TOOLS | ANSWER_TOOLS
    assert (diagnosis.structured_content or {})["root_cause"]["object"] == \
        "StatefulSet/shop/postgres"


# --- over streamable HTTP: a bearer token or a 401 --------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "SRE_STATE_DIR": str(tmp_path / "state"), "SRE_MCP__PORT": str(port),
           "SRE_MCP__TOKEN": "t0ken-for-the-test"}
    process = subprocess.Popen([SRE, "mcp", "--http", "--snapshot", str(EXAMPLE)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stderr.read().decode()  # type: ignore[union-attr]
                                         if process.stderr else "sre mcp did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr:
            process.stderr.close()


def test_http_without_the_token_is_a_401(http_server: str) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "curl", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken-for-the-test"},
                 {"Authorization": "Basic dDBrZW4tZm9yLXRoZS10ZXN0"}):
        response = httpx.post(http_server, json=initialize, headers={**headers, **auth})
        assert response.status_code == 401, auth
        assert "SRE_MCP__TOKEN" in response.json()["error"]
    assert httpx.get(http_server).status_code == 401


@pytest.mark.parametrize("host", ["127.0.0.1:{port}@evil.example", "[::1]evil.example",
                                  "127.0.0.1:{port}/x", "::1", "127.0.0.1 :{port}"])
def test_http_with_a_host_no_browser_sends_is_a_400(http_server: str, host: str) -> None:
    """A `Host` that is not a host name and port is refused before the token or the SDK's
    own allow-list (which takes `127.0.0.1:*` for any text after `127.0.0.1:`) judge it."""
    port = http_server.rsplit(":", 1)[1].split("/")[0]
    response = httpx.post(http_server, json={}, headers={
        "Host": host.format(port=port), "Authorization": "Bearer t0ken-for-the-test",
        "Accept": "application/json, text/event-stream"})
    assert response.status_code == 400
    assert "not a host name" in response.json()["error"]


def test_http_with_a_non_ascii_token_is_a_401(http_server: str) -> None:
    response = httpx.post(http_server, json={}, headers={
        "Authorization": "Bearer t0ken-for-the-t\u00e9st".encode("latin-1")})
    assert response.status_code == 401


def test_http_with_the_token_serves_the_tools(http_server: str) -> None:
    async def main() -> tuple[set[str], CallToolResult]:
        async with httpx2.AsyncClient(headers={"Authorization": "Bearer t0ken-for-the-test"},
                                      timeout=60) as http:
            async with Client(streamable_http_client(http_server, http_client=http)) as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                return names, await client.call_tool("pods", {"namespace": "shop"})

    names, pods = anyio.run(main)
    assert names == READ_TOOLS | ANSWER_TOOLS
    assert "postgres-0: CrashLoopBackOff" in text(pods)


def test_http_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {**os.environ, "SRE_STATE_DIR": str(tmp_path / "state")}
    env.pop("SRE_MCP__TOKEN", None)
    done = subprocess.run([SRE, "mcp", "--http", "--snapshot", str(EXAMPLE)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SRE_MCP__TOKEN" in done.stderr


# --- against the real apiserver --------------------------------------------------------------

@pytest.fixture(scope="module")
def seeded(seed_scenario: Callable[[Scenario], Scenario]) -> tuple[str, str]:
    """Two namespaces seeded alike (secrets in env, ConfigMap and logs; an OOMKilled worker):
    the one the allow-list names, and one it does not."""
    cluster = load(DATA / "tools-cluster.yaml")
    return seed_scenario(cluster).namespaces[0], seed_scenario(cluster).namespaces[0]


SECRETS = ["ghp_16C7e42F292c6912E7710c838347Ae178B4a", "s3cr3tPassw0rd",
           "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3b3JrZXIifQ", "hunter2-Sup3rS3cret",
           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]
LEAKY_LOG = ("2026-11-29T10:00:02Z ERROR login to db failed: password=hunter2-Sup3rS3cret\n"
             "2026-11-29T10:00:03Z ERROR retrying with aws_secret_access_key="
             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")


def _live_calls(ns: str) -> list[tuple[str, dict[str, Any]]]:
    return [("find", {"query": "wrker"}), ("pods", {"namespace": ns}),
            ("workloads", {"namespace": ns}), ("events", {"namespace": ns}), ("nodes", {}),
            ("services", {"namespace": ns}), ("storage", {"namespace": ns}),
            ("autoscalers", {"namespace": ns}), ("quotas", {"namespace": ns}),
            ("ingresses", {"namespace": ns}), ("network_policies", {"namespace": ns}),
            ("metrics", {"namespace": ns}),
            ("describe", {"kind": "Deployment", "name": "web", "namespace": ns}),
            ("describe", {"kind": "ConfigMap", "name": "web-config", "namespace": ns}),
            ("logs", {"namespace": ns, "pod": "worker-0", "previous": True}),
            ("logs", {"namespace": ns, "pod": "web-5d8c7b9f6-abcde"}),
            ("diagnose", {"namespace": ns}),
            ("ask", {"question": f"why is worker-0 crashing in namespace {ns}?"}),
            ("search_runbooks", {"query": "OOMKilled"})]


def test_live_every_tool_answers_and_secrets_stay_hidden(
        settings: Settings, apiserver: ApiServer, readonly_cluster: tools.Cluster,
        seeded: tuple[str, str]) -> None:
    tools_ns, _ = seeded
    apiserver.kubelet.set_log(tools_ns, "web-5d8c7b9f6-abcde", "web", LEAKY_LOG)
    calls = _live_calls(tools_ns)

    async def call_all(client: Client) -> list[CallToolResult]:
        return [await client.call_tool(name, args) for name, args in calls]

    with served(settings, readonly_cluster, [tools_ns]) as server:
        results = run(call_all, server)
    assert {name for name, _ in calls} == READ_TOOLS | ANSWER_TOOLS
    for (name, _args), result in zip(calls, results, strict=True):
        assert not result.is_error, (name, text(result))
        shown = text(result) + json.dumps(result.structured_content or {})
        for secret in SECRETS:
            assert secret not in shown, (name, secret)
    by_call = {(name, json.dumps(args)): text(result)
               for (name, args), result in zip(calls, results, strict=True)}
    previous = by_call[("logs", json.dumps({"namespace": tools_ns, "pod": "worker-0",
                                            "previous": True}))]
    assert "FATAL out of memory" in previous and "Bearer [REDACTED]" in previous
    current = by_call[("logs", json.dumps({"namespace": tools_ns,
                                           "pod": "web-5d8c7b9f6-abcde"}))]
    assert "login to db failed: password=[REDACTED]" in current  # the line stays, not the value
    assert "aws_secret_access_key=[REDACTED]" in current
    assert (results[-3].structured_content or {})["healthy"] is False  # diagnose
    assert "worker" in (results[-2].structured_content or {})["root_cause"]["object"]  # ask


def test_live_allow_list_hides_other_namespaces(
        settings: Settings, readonly_cluster: tools.Cluster, seeded: tuple[str, str]) -> None:
    allowed, other = seeded
    missing = "tools-000000"  # a namespace that does not exist, shaped like both

    async def probe(client: Client) -> dict[str, CallToolResult]:
        return {
            "pods_other": await client.call_tool("pods", {"namespace": other}),
            "pods_missing": await client.call_tool("pods", {"namespace": missing}),
            "describe_other": await client.call_tool("describe", {
                "kind": "Deployment", "name": "web", "namespace": other}),
            "logs_other": await client.call_tool("logs", {"namespace": other, "pod": "worker-0",
                                                          "previous": True}),
            "events_other": await client.call_tool("events", {"namespace": other}),
            "pods_all": await client.call_tool("pods", {}),
            "events_all": await client.call_tool("events", {}),
            "find": await client.call_tool("find", {"query": "worker"}),
            "diagnose_other": await client.call_tool("diagnose", {"namespace": other}),
            "diagnose_missing": await client.call_tool("diagnose", {"namespace": missing}),
            "ask_other": await client.call_tool("ask", {
                "question": f"why is worker-0 crashing in namespace {other}?"}),
        }

    with served(settings, readonly_cluster, [allowed]) as server:
        seen = run(probe, server)
    # The other namespace reads exactly as one that does not exist.
    assert text(seen["pods_other"]) == text(seen["pods_missing"])
    assert "not_found" in text(seen["pods_other"])
    def as_missing(result: CallToolResult) -> str:  # a near miss may name the allowed one
        return text(result).replace(other, missing).replace(f"; the closest is {allowed}", "")

    assert as_missing(seen["diagnose_other"]) == as_missing(seen["diagnose_missing"])
    assert "FATAL out of memory" not in text(seen["logs_other"])
    assert f"/{allowed}/worker" in text(seen["find"])  # the allowed one is found
    for key, result in seen.items():
        # The caller's own words may come back ("no namespace named X"); nothing else may.
        shown = (text(result) + json.dumps(result.structured_content or {})).replace(
            f"why is worker-0 crashing in namespace {other}?", "").replace(
            f"no namespace named {other}", "")
        assert other not in shown, (key, shown[:500])
    assert (seen["diagnose_other"].structured_content or {})["root_cause"] is None
    # Asked about the hidden worker-0, the answer may only be about the allowed one (a near miss).
    cause = (seen["ask_other"].structured_content or {})["root_cause"]
    assert cause is None or cause["object"] == f"Pod/{allowed}/worker-0"


def test_live_the_guard_holds_under_the_mcp_tools(
        settings: Settings, apiserver: ApiServer, admin_client: k8s.ApiClient,
        seeded: tuple[str, str], tmp_path: Path) -> None:
    """As a user RBAC lets do anything: every tool called, nothing in the cluster changes, and
    the client under the tools refuses a write before sending it."""
    tools_ns, _ = seeded
    admin = tools.open_cluster(kubeconfig=str(apiserver.write_kubeconfig(tmp_path / "kc")))
    core = k8s.CoreV1Api(admin_client)

    def versions() -> list[tuple[str, str]]:
        pods = core.list_namespaced_pod(tools_ns).items
        maps = core.list_namespaced_config_map(tools_ns).items
        return sorted((o.metadata.name, o.metadata.resource_version) for o in [*pods, *maps])

    before = versions()
    calls = _live_calls(tools_ns)

    async def call_all(client: Client) -> list[CallToolResult]:
        return [await client.call_tool(name, args) for name, args in calls]

    try:
        with served(settings, admin) as server:
            results = run(call_all, server)
        assert not any(result.is_error for result in results)
        assert versions() == before
        live = admin.inner  # the `Redacted` wrapper's live backend, as the tools read it
        with pytest.raises(ReadOnlyViolation):
            k8s.CoreV1Api(live._api).delete_namespaced_pod("worker-0", tools_ns)  # type: ignore[attr-defined]
        with pytest.raises(ReadOnlyViolation):
            k8s.CoreV1Api(live._api).read_namespaced_secret("db-credentials", tools_ns)  # type: ignore[attr-defined]
        assert core.read_namespaced_pod("worker-0", tools_ns).metadata.name == "worker-0"
    finally:
        admin.close()
