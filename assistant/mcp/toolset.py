"""The MCP tools: the read-only tools of `tools.Toolbox` (the ones the agent calls), and
`diagnose`, `ask` and `search_runbooks` over the agent and the knowledge base.

    server = build(cluster, agent, runbooks, config)   # an `mcp` MCPServer, not yet serving

Each tool is a typed method whose signature and docstring are its schema; every one is marked
read-only (`readOnlyHint`), and none can change anything: there is no tool for apply, delete,
scale, exec, port-forward or Secrets; every cluster read goes through the guard
(`tools/guard.py`: GET only) and the redactor (`tools.Redacted`), and their text is redacted
once more on its way out, as the agent's is; with `SRE_MCP__NAMESPACES` the cluster is the
allow-listed one (`tools/restricting.py`), where other namespaces read as if they did not exist.

Expected failures are data: a missing or forbidden object is a tool result saying so; a cluster
that cannot be read at all, or a full queue, is a tool error (`isError`) with one sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import version
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

import tools
from knowledge import KnowledgeError, RunbookIndex
from tools import Cluster, Kind, Toolbox, ToolResult, redact_text

from ..diagnosis import Diagnosis
from ..engine import ClusterUnavailable
from ..investigation import Investigator, Progress, Request
from ..rendering import to_markdown
from ..runbooks import MAX_K, result_json, result_text
from ..settings import MCPSettings

log = logging.getLogger(__name__)

BUDGET = 6000  # characters of one tool's text, as `sre tool` prints by default
MAX_QUESTION = 4000  # characters, as the web chat takes
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)
BUSY = ("I am busy with other investigations; ask again in a minute. Nothing was read or "
        "changed.")
INSTRUCTIONS = (
    "A read-only SRE for Kubernetes. Start with `diagnose` (a namespace or a workload) or `ask` "
    "(a free-form question); they return the root cause, the evidence and proposed commands "
    "that a human runs. The other tools read one thing each, redacted and bounded. Nothing here "
    "can change the cluster.")

Namespace = Annotated[str | None, Field(description="namespace; none: every namespace allowed")]
NeededNamespace = Annotated[str, Field(description="the namespace")]
Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION)]
Conversation = Annotated[str | None, Field(
    pattern=r"^[A-Za-z0-9_-]{1,64}$",
    description="a conversation id: follow-ups with the same id reuse its target")]


class ClusterTools:
    """The read-only tools, one small method each; a fresh `Toolbox` per call (the cluster
    changes between calls)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def _box(self) -> Toolbox:
        return Toolbox(self.cluster)

    def find(self, query: str, kind: Kind | None = None, namespace: Namespace = None) -> str:
        """Find objects by a possibly misspelled name, across kinds and namespaces."""
        return _text(self._box().find(query, kind=kind, namespace=namespace))

    def pods(self, namespace: Namespace = None) -> str:
        """Pods with their status, readiness, restarts, node and owner."""
        return _text(self._box().pods(namespace))

    def workloads(self, namespace: Namespace = None) -> str:
        """Deployments, StatefulSets, DaemonSets, Jobs, CronJobs: readiness and conditions."""
        return _text(self._box().workloads(namespace))

    def events(self, namespace: Namespace = None, kind: Kind | None = None,
               name: str | None = None, warnings_only: bool = False) -> str:
        """Events, newest first, duplicates folded; of one object when `name` is given."""
        return _text(self._box().events(namespace, kind=kind, name=name,
                                        warnings_only=warnings_only))

    def nodes(self) -> str:
        """Nodes: readiness, pressure conditions, taints, allocatable resources."""
        return _text(self._box().nodes())

    def services(self, namespace: NeededNamespace, name: str | None = None) -> str:
        """Services with their selectors, ports and ready endpoints."""
        return _text(self._box().services(namespace, name))

    def storage(self, namespace: NeededNamespace) -> str:
        """PersistentVolumeClaims with their volumes and storage classes."""
        return _text(self._box().storage(namespace))

    def autoscalers(self, namespace: NeededNamespace) -> str:
        """HorizontalPodAutoscalers: targets, current and desired replicas, conditions."""
        return _text(self._box().autoscalers(namespace))

    def quotas(self, namespace: NeededNamespace) -> str:
        """ResourceQuotas and LimitRanges: used and hard limits."""
        return _text(self._box().quotas(namespace))

    def ingresses(self, namespace: NeededNamespace) -> str:
        """Ingresses: hosts, paths and the Services they send to."""
        return _text(self._box().ingresses(namespace))

    def network_policies(self, namespace: NeededNamespace) -> str:
        """NetworkPolicies: which pods they select, and what traffic they admit."""
        return _text(self._box().network_policies(namespace))

    def metrics(self, namespace: Namespace = None) -> str:
        """CPU and memory in use (metrics.k8s.io), per pod, or per node without a namespace."""
        return _text(self._box().metrics(namespace))

    def describe(self, kind: Kind, name: str, namespace: Namespace = None) -> str:
        """One object with its events, owner chain, children and what it mounts or selects;
        ConfigMap values are redacted and Secrets are never read."""
        return _text(self._box().describe(kind, name, namespace))

    def logs(self, namespace: NeededNamespace, pod: str, container: str | None = None,
             previous: bool = False) -> str:
        """A container's log, or its previous instance's (`previous`): error lines first,
        then the tail, bounded and redacted."""
        return _text(self._box().logs(namespace, pod, container, previous=previous))

    def all(self) -> list[Callable[..., str]]:
        return [self.find, self.pods, self.workloads, self.events, self.nodes, self.services,
                self.storage, self.autoscalers, self.quotas, self.ingresses,
                self.network_policies, self.metrics, self.describe, self.logs]


def _text(result: ToolResult) -> str:
    return redact_text(result.text(BUDGET))


class Answers:
    """`diagnose`, `ask` and `search_runbooks`. Investigations run on worker threads, at most
    `workers` at once and `queue_limit` more waiting; the agent's progress goes to the client
    as MCP progress notifications."""

    def __init__(self, investigator: Investigator, runbooks: RunbookIndex,
                 config: MCPSettings) -> None:
        self.investigator, self.runbooks = investigator, runbooks
        self.workers, self.admit = config.workers, config.workers + config.queue_limit
        self.admitted = 0  # investigations running or waiting; touched on the event loop only
        self._running: anyio.Semaphore | None = None

    async def diagnose(self, ctx: Context, target: Annotated[str | None, Field(
            description="KIND/NAME, a (fuzzy) NAME, or none for the whole namespace")] = None,
                       namespace: Namespace = None) -> CallToolResult:
        """Find what is wrong, ranked, with the root cause, its evidence and proposed (never
        executed) remediation, for a workload or a whole namespace."""
        question = f"diagnose {target or ''}".strip()
        return await self._investigate(ctx, Request(question=question, target=target,
                                                    namespace=namespace))

    async def ask(self, ctx: Context, question: Question, namespace: Namespace = None,
                  conversation: Conversation = None) -> CallToolResult:
        """Answer a free-form question about the cluster ("why is checkout failing?"); the
        target is resolved from the text, near-miss names included."""
        thread = f"mcp:{conversation}" if conversation else None
        return await self._investigate(ctx, Request(question=question.strip(),
                                                    namespace=namespace, thread=thread))

    def search_runbooks(self, query: Annotated[str, Field(min_length=1, max_length=1000)],
                        k: Annotated[int, Field(ge=1, le=MAX_K)] = 5) -> CallToolResult:
        """Search the team's runbooks for a symptom, an error line or an alert name; says "no
        runbook matches" rather than citing noise."""
        try:
            result = self.runbooks.search(query, k)
        except KnowledgeError as e:
            raise ToolError(f"runbook search failed: {e}") from e
        return CallToolResult(content=[TextContent(type="text", text=result_text(result))],
                              structured_content=result_json(result))

    async def _investigate(self, ctx: Context, request: Request) -> CallToolResult:
        if self.admitted >= self.admit:
            raise ToolError(BUSY)
        if self._running is None:
            self._running = anyio.Semaphore(self.workers)
        self.admitted += 1
        try:
            async with self._running:
                diagnosis = await anyio.to_thread.run_sync(self._run, ctx, request)
        finally:
            self.admitted -= 1
        return CallToolResult(content=[TextContent(type="text", text=to_markdown(diagnosis))],
                              structured_content=diagnosis.model_dump(mode="json"))

    def _run(self, ctx: Context, request: Request) -> Diagnosis:
        """On a worker thread: the investigation, its progress sent back through the loop."""
        steps = 0

        def on_progress(progress: Progress) -> None:
            nonlocal steps
            steps += 1
            message = redact_text(f"{progress.step}: {progress.detail}".rstrip(": "))
            anyio.from_thread.run(ctx.report_progress, steps, None, message)

        try:
            return self.investigator.investigate(request, on_progress)
        except (ClusterUnavailable, tools.ApiError, tools.SnapshotError) as e:
            log.warning("cluster unreadable for an MCP %s: %s", request.question[:40], e)
            raise ToolError(f"I could not read the cluster: {e}. Nothing was changed.") from e


def build(cluster: Cluster, investigator: Investigator, runbooks: RunbookIndex,
          config: MCPSettings) -> MCPServer:
    """The MCP server with every tool registered; serve it with `serving`."""
    server: MCPServer = MCPServer("sre-assistant", version=version("sre-assistant"),
                                  instructions=INSTRUCTIONS, log_level="WARNING")
    answers = Answers(investigator, runbooks, config)
    functions: list[Callable[..., Any]] = [*ClusterTools(cluster).all(), answers.diagnose,
                                           answers.ask, answers.search_runbooks]
    for function in functions:
        server.add_tool(function, annotations=READ_ONLY, structured_output=False)
    return server
