"""What every interface (CLI, Slack, web chat, alert intake) hands the assistant, and what it
streams back while it works.

    request = Request(question="why is checkout failing?", namespace="shop",
                      thread="slack:C0123:1700000000.000100")
    diagnosis = investigator.investigate(request, on_progress=print)

`Investigator` is the seam between the interfaces and the reasoning behind them: the LangGraph
agent implements it; `EngineInvestigator` is the engine alone (no model, no memory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from tools import Cluster, Metrics

from . import engine
from .diagnosis import Diagnosis

ProgressKind = Literal["step_started", "step_finished", "tool_called", "finding", "note"]


class Request(BaseModel):
    """One question to the assistant, from any interface."""

    question: str
    target: str | None = None  # "KIND/NAME" or a fuzzy NAME; None: resolve from the question
    namespace: str | None = None
    thread: str | None = None  # conversation key: "slack:C0123:1700000000.000100", "web:SID"
    user: str | None = None
    alert_labels: dict[str, str] = Field(default_factory=dict)  # from Alertmanager, when an alert


class Progress(BaseModel):
    """A step of work the interfaces can show while the answer is not there yet."""

    kind: ProgressKind
    step: str  # "scope", "investigate", "analyze", "recall", "compose"
    detail: str = ""  # "listing pods in shop", "Deployment/shop/checkout: crash-looping"


OnProgress = Callable[[Progress], None]


class Investigator(Protocol):
    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        """Answer one request. Raises only for an unreachable or forbidden cluster."""
        ...


class EngineInvestigator:
    """The diagnosis engine behind the `Investigator` seam: no model, no conversation memory."""

    def __init__(self, cluster: Cluster, metrics: Metrics | None = None) -> None:
        self.cluster, self.metrics = cluster, metrics

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        notify = on_progress or (lambda progress: None)
        notify(Progress(kind="step_started", step="analyze", detail="reading the cluster"))
        diagnosis = engine.diagnose(self.cluster, request.question, request.target,
                                    request.namespace, metrics=self.metrics)
        notify(Progress(kind="step_finished", step="analyze",
                        detail=diagnosis.root_cause.object if diagnosis.root_cause else "done"))
        return diagnosis
