"""Set-up, once per process, of what every interface answers with.

    with open_investigator(settings, cluster) as service:
        diagnosis = service.investigator.investigate(request)       # the CLI, MCP
        agent = service.investigator_for(restricted)                 # Slack: one per channel
        hits = service.runbooks().search("disk full")                # /sre runbook, search tools

One conversation memory (SQLite, or Postgres when set; only with `memory=True`), one model and
one runbook index (the recall of answers and the runbook search share it). Offline and without
memory (a one-shot `sre diagnose`), the engine answers directly and the runbooks are recalled
after it: the graph would add nothing but its start-up. A setting that cannot be used (a
Postgres URL without its driver, a model provider that does not exist) raises `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools import Cluster, Metrics

from ..diagnosis import Diagnosis
from ..investigation import EngineInvestigator, Investigator, OnProgress, Request
from ..measuring import open_metrics
from ..recalling import Recaller
from ..settings import Settings
from .errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from knowledge import RunbookIndex


class _EngineWithRunbooks:
    """The engine, then the runbooks for what it found, and what the runbook search noted."""

    def __init__(self, cluster: Cluster, recaller: Recaller, metrics: Metrics | None) -> None:
        self.engine, self.recaller = EngineInvestigator(cluster, metrics), recaller

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        result = self.engine.investigate(request, on_progress)
        if result.healthy is False:
            result = result.model_copy(update={"runbooks": self.recaller(result)})
        return _with_notes(result, self.recaller)


class _Noted:
    """An investigator whose answers carry the runbook search's notes (fell back to words)."""

    def __init__(self, inner: Investigator, recaller: Recaller) -> None:
        self.inner, self.recaller = inner, recaller

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        return _with_notes(self.inner.investigate(request, on_progress), self.recaller)


def _with_notes(result: Diagnosis, recaller: Recaller) -> Diagnosis:
    notes = [f"runbooks: {note}" for note in recaller.notes
             if f"runbooks: {note}" not in result.notes]
    return result.model_copy(update={"notes": [*result.notes, *notes]}) if notes else result


@dataclass
class Service:
    """What `open_investigator` opened: the investigator over the process's cluster, and the
    means to make one over another view of it (a channel's allowed namespaces)."""

    settings: Settings
    cluster: Cluster
    recaller: Recaller
    memory: BaseCheckpointSaver[Any] | None
    model: BaseChatModel | None
    engine_only: bool
    metrics: Metrics | None = None  # Prometheus, or the snapshot's series; None: not configured

    @property
    def investigator(self) -> Investigator:
        return self.investigator_for(self.cluster)

    def investigator_for(self, cluster: Cluster) -> Investigator:
        if self.engine_only:
            return _EngineWithRunbooks(cluster, self.recaller, self.metrics)
        from ..agent import Agent

        return _Noted(Agent(self.settings, cluster, checkpointer=self.memory, model=self.model,
                            recall=self.recaller, metrics=self.metrics), self.recaller)

    def runbooks(self) -> RunbookIndex:
        """The one runbook index of the process (opened on first use)."""
        return self.recaller.index()


@contextmanager
def open_investigator(settings: Settings, cluster: Cluster, *, memory: bool = True,
                      snapshot: Path | None = None) -> Iterator[Service]:
    """The service over `cluster`; closes memory, index and metrics when the block ends.
    Metrics are the snapshot's series when `snapshot` is the directory `cluster` reads, else
    the Prometheus of `settings.prometheus` (none when unset). Raises `ConfigError` for an
    unusable memory or model setting (only the set-up: what the caller raises inside the block
    passes through unchanged)."""
    with ExitStack() as stack:
        recaller = stack.enter_context(Recaller(settings))
        metrics = open_metrics(settings, snapshot)
        if metrics is not None:
            stack.callback(metrics.close)
        engine_only = settings.model.provider is None and not memory
        saver, model = None, None
        if not engine_only:  # LangGraph and the model's client: only when the agent answers
            from ..agent import MemoryConfigError, ModelConfigError, open_memory
            from ..agent.models import chat_model

            try:
                saver = stack.enter_context(open_memory(settings)) if memory else None
                model = chat_model(settings.model, timeout=settings.agent.wall_time)
            except (MemoryConfigError, ModelConfigError) as e:
                raise ConfigError(str(e)) from e
        yield Service(settings, cluster, recaller, saver, model, engine_only, metrics)
