"""What the servers (`sre slack`, `sre web`) tell about their own work: Prometheus metrics for
`GET /metrics`, one log record per investigation, and OpenTelemetry spans when tracing is on.

    metrics = Metrics()                               # a registry of its own, none global
    metrics.watch_cluster(cluster)                    # API requests, counted at the live client
    investigator = metrics.observed(agent, "web")     # verdicts, durations, steps (and spans)
    metrics.watch_model(agent.model, "openai")        # model calls and tokens
    body, content_type = metrics.exposition()

Only the servers import this module: the CLI's one-shot path never loads prometheus_client.
Every label value is one of a fixed set (an interface, a verdict, a step, a plural of a kind the
tools read): no question, name or log text ever becomes a label.

    sre_investigations_total{interface, verdict}          healthy|unhealthy|unknown|
                                                           cluster_error|error
    sre_investigation_duration_seconds{interface}         histogram, the whole investigation
    sre_step_duration_seconds{step}                       histogram, per graph step
    sre_queue_depth{interface}                            waiting for a worker
    sre_investigations_running{interface}
    sre_queue_rejections_total{interface}                 refused: workers and queue full
    sre_cluster_requests_total{verb, resource}            sent by the live client
    sre_cluster_request_errors_total{verb, resource, reason}
    sre_cluster_request_duration_seconds{verb}            histogram, until the answer's status
    sre_alerts_received_total{status}                     webhooks, firing|resolved
    sre_alerts_deduplicated_total                         notifications that changed nothing
    sre_model_calls_total{provider, outcome}              ok|error
    sre_model_tokens_total{provider, direction}           prompt|completion
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

import tools
from tools.live import LiveCluster

from .diagnosis import Diagnosis
from .engine import ClusterUnavailable
from .investigation import Investigator, OnProgress, Progress, Request
from .service.errors import ClusterUnavailable as Unreadable

if TYPE_CHECKING:
    from .tracing import Tracing

log = logging.getLogger(__name__)

Interface = Literal["slack", "web", "alerts"]
Increment = tuple[Literal["cluster_request", "model_call"], tuple[str | int | float, ...]]
"""One count a worker process made, as (`Metrics` method, its arguments)."""
STEPS = frozenset({"scope", "investigate", "analyze", "recall", "compose"})
_STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def verdict(diagnosis: Diagnosis) -> str:
    """`healthy`, `unhealthy` (something explains the symptom) or `unknown` (could not tell)."""
    return {True: "healthy", False: "unhealthy", None: "unknown"}[diagnosis.healthy]


class Metrics:
    """The servers' metrics, in a registry of their own (tests and apps never share one)."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` twins
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.investigations = Counter(
            "sre_investigations", "Investigations answered, by interface and verdict.",
            ["interface", "verdict"], registry=r)
        self.investigation_seconds = Histogram(
            "sre_investigation_duration_seconds", "Wall time of one investigation.",
            ["interface"], buckets=_RUN_BUCKETS, registry=r)
        self.step_seconds = Histogram(
            "sre_step_duration_seconds", "Wall time of one step of the agent's graph.",
            ["step"], buckets=_STEP_BUCKETS, registry=r)
        self.queue_depth = Gauge(
            "sre_queue_depth", "Investigations waiting for a worker.", ["interface"], registry=r)
        self.running = Gauge(
            "sre_investigations_running", "Investigations a worker is running.", ["interface"],
            registry=r)
        self.rejections = Counter(
            "sre_queue_rejections", "Investigations refused because workers and queue were full.",
            ["interface"], registry=r)
        self.cluster_requests = Counter(
            "sre_cluster_requests", "Requests sent to the Kubernetes API server (all GET).",
            ["verb", "resource"], registry=r)
        self.cluster_errors = Counter(
            "sre_cluster_request_errors", "Requests to the API server that did not succeed.",
            ["verb", "resource", "reason"], registry=r)
        self.cluster_seconds = Histogram(
            "sre_cluster_request_duration_seconds", "Time until the API server's answer began.",
            ["verb"], buckets=_REQUEST_BUCKETS, registry=r)
        self.alerts = Counter(
            "sre_alerts_received", "Alertmanager notifications received (valid webhooks).",
            ["status"], registry=r)
        self.alerts_deduplicated = Counter(
            "sre_alerts_deduplicated",
            "Alertmanager notifications for a group already handled: no new investigation.",
            registry=r)
        self.model_calls = Counter(
            "sre_model_calls", "Calls to the language model.", ["provider", "outcome"],
            registry=r)
        self.model_tokens = Counter(
            "sre_model_tokens", "Tokens the language model read (prompt) and wrote (completion).",
            ["provider", "direction"], registry=r)
        self.tracing: Tracing | None = None
        for interface in ("slack", "web", "alerts"):  # present at 0 before the first request
            self.queue_depth.labels(interface)
            self.running.labels(interface)
            self.rejections.labels(interface)

    def exposition(self) -> tuple[bytes, str]:
        """The text `GET /metrics` answers, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4  # every Prometheus reads it

    # --- what is watched ---------------------------------------------------------------------

    def observed(self, investigator: Investigator, interface: Interface) -> Investigator:
        """`investigator`, counted and timed (and traced, when `tracing` is set)."""
        return _Observed(investigator, self, interface)

    def queue(self, interface: Interface) -> Queue:
        """The gauges of one interface's bounded pool."""
        return Queue(self, interface)

    def watch_cluster(self, cluster: tools.Cluster) -> bool:
        """Count the requests of the live client under `cluster`'s wrappers (`Narrowed`,
        `Redacted`, `Restricted` hold theirs in `inner`). False for a snapshot: no requests."""
        reader: object = cluster
        while not isinstance(reader, LiveCluster) and hasattr(reader, "inner"):
            reader = reader.inner
        if not isinstance(reader, LiveCluster):
            return False
        reader.observe(self.cluster_request)
        return True

    def cluster_request(self, verb: str, resource: str, outcome: str, seconds: float) -> None:
        """One request to the API server (the live client reports each)."""
        self.cluster_requests.labels(verb, resource).inc()
        self.cluster_seconds.labels(verb).observe(seconds)
        if outcome != "ok":
            self.cluster_errors.labels(verb, resource, outcome).inc()

    def model_call(self, provider: str, outcome: str, prompt: int = 0, completion: int = 0
                   ) -> None:
        """One call to the language model (`ok` or `error`) and the tokens it read and wrote."""
        self.model_calls.labels(provider, outcome).inc()
        if prompt:
            self.model_tokens.labels(provider, "prompt").inc(prompt)
        if completion:
            self.model_tokens.labels(provider, "completion").inc(completion)

    def add(self, increments: list[Increment]) -> None:
        """Count what a worker process counted (`Tally.taken`)."""
        for name, args in increments:
            if name == "cluster_request":
                self.cluster_request(*args)  # type: ignore[arg-type]
            elif name == "model_call":
                self.model_call(*args)  # type: ignore[arg-type]

    def watch_model(self, model: BaseChatModel | None, provider: str | None) -> None:
        """Count `model`'s calls and tokens (a LangChain callback on the model itself, so every
        binding of it, forced tool calls included, reports)."""
        if model is None:
            return
        handler = _ModelCalls(self, provider or "unknown")
        callbacks = model.callbacks
        if callbacks is None or isinstance(callbacks, list):
            model.callbacks = [*(callbacks or []), handler]
        else:
            callbacks.add_handler(handler)


class Queue:
    """One interface's pool: `waiting()` at submit, `running()` when a worker takes it,
    `finished()` after; `rejected()` when nothing could be queued."""

    def __init__(self, metrics: Metrics, interface: Interface) -> None:
        self.depth = metrics.queue_depth.labels(interface)
        self.busy = metrics.running.labels(interface)
        self.refused = metrics.rejections.labels(interface)

    def waiting(self) -> None:
        self.depth.inc()

    @contextmanager
    def running(self) -> Iterator[None]:
        self.depth.dec()
        self.busy.inc()
        try:
            yield
        finally:
            self.busy.dec()

    def rejected(self) -> None:
        self.refused.inc()


class _Observed:
    """An `Investigator` that counts, times and logs what the one it wraps does. Step times
    come from the progress the graph reports (`step_started` .. `step_finished`). A request
    that carries an alert's labels counts as interface `alerts`, whoever passed it on."""

    def __init__(self, inner: Investigator, metrics: Metrics, interface: Interface) -> None:
        self.inner, self.metrics, self.interface = inner, metrics, interface

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        metrics, started = self.metrics, time.monotonic()
        interface: Interface = "alerts" if request.alert_labels else self.interface
        trace = metrics.tracing.investigation(interface) if metrics.tracing else None
        steps: dict[str, float] = {}

        def watch(progress: Progress) -> None:
            step, now = progress.step if progress.step in STEPS else "other", time.monotonic()
            if progress.kind == "step_started":
                steps[step] = now
            elif progress.kind == "step_finished" and step in steps:
                began = steps.pop(step)
                metrics.step_seconds.labels(step).observe(now - began)
                if trace is not None:
                    trace.step(step, began, now)
            if on_progress is not None:
                on_progress(progress)

        outcome = "error"
        root = None
        try:
            diagnosis = self.inner.investigate(request, watch)
            outcome = verdict(diagnosis)
            root = diagnosis.root_cause.category if diagnosis.root_cause else None
            return diagnosis
        except (ClusterUnavailable, Unreadable, tools.ApiError, tools.SnapshotError):
            outcome = "cluster_error"  # Unreadable: as a worker process tells it
            raise
        finally:
            seconds = time.monotonic() - started
            metrics.investigations.labels(interface, outcome).inc()
            metrics.investigation_seconds.labels(interface).observe(seconds)
            if trace is not None:
                trace.end(outcome, started, time.monotonic())
            log.info("%s investigation of %r: %s in %.2f s", interface, request.question,
                     outcome, seconds,
                     extra={"interface": interface, "verdict": outcome,
                            "seconds": round(seconds, 3), "conversation": request.thread,
                            "root_cause": root})


class _ModelCalls(BaseCallbackHandler):
    """Counts one model's calls and tokens as LangChain reports them (usage metadata)."""

    def __init__(self, metrics: Metrics, provider: str) -> None:
        self.metrics = metrics
        self.provider = provider

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, parent_run_id: UUID | None = None,
                   **kwargs: Any) -> None:
        prompt = completion = 0
        for generations in response.generations:
            for generation in generations:
                message = generation.message if isinstance(generation, ChatGeneration) else None
                usage = message.usage_metadata if isinstance(message, AIMessage) else None
                if usage:
                    prompt += usage.get("input_tokens", 0)
                    completion += usage.get("output_tokens", 0)
        self.metrics.model_call(self.provider, "ok", prompt, completion)

    def on_llm_error(self, error: BaseException, *, run_id: UUID,
                     parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self.metrics.model_call(self.provider, "error")


class Tally(Metrics):
    """The metrics of a worker process (`service.processes`): the cluster requests and model
    calls it counts are also kept as increments, which the server's `Metrics.add` counts again
    for its `/metrics`."""

    def __init__(self) -> None:
        super().__init__()
        self._made: list[Increment] = []

    def cluster_request(self, verb: str, resource: str, outcome: str, seconds: float) -> None:
        self._made.append(("cluster_request", (verb, resource, outcome, seconds)))

    def model_call(self, provider: str, outcome: str, prompt: int = 0, completion: int = 0
                   ) -> None:
        self._made.append(("model_call", (provider, outcome, prompt, completion)))

    def taken(self) -> list[Increment]:
        """The increments since the last call."""
        made, self._made = self._made, []
        return made
