"""Per-run dependencies of the graph, handed to every node as `runtime.context`.

Built by `Agent` for each turn: the cluster, the chat model (None: offline), the limits, the
runbook recall and the turn's deadline. Nothing here is global; tests build their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from tools import Cluster, Metrics, Toolbox

from ..diagnosis import Diagnosis, RunbookCitation
from ..settings import AgentSettings, Provider

Recall = Callable[[Diagnosis], list[RunbookCitation]]


def no_runbooks(diagnosis: Diagnosis) -> list[RunbookCitation]:
    """The recall used until a runbook index is wired in: none."""
    return []


@dataclass
class Context:
    cluster: Cluster
    model: BaseChatModel | None = None  # None: offline, the engine and templates answer
    provider: Provider | None = None
    limits: AgentSettings = field(default_factory=AgentSettings)
    recall: Recall = no_runbooks
    metrics: Metrics | None = None  # a Prometheus (or a snapshot's series); None: not configured
    started: float = field(default_factory=time.monotonic)

    @property
    def toolbox(self) -> Toolbox:
        return Toolbox(self.cluster, self.metrics)

    def remaining(self) -> float:
        """Seconds left of this turn's wall time."""
        return self.limits.wall_time - (time.monotonic() - self.started)
