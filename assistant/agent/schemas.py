"""What the model may answer: small pydantic schemas whose `Literal`s are the only choices.

Each is sent as a forced tool (or a JSON schema), so even a small local model answers in shape.
"""

from __future__ import annotations

from typing import Literal, cast

from pydantic import BaseModel, Field, create_model

ToolName = Literal["describe", "events", "logs", "previous_logs", "services", "storage",
                   "nodes", "quotas", "network_policies", "autoscalers", "done"]
MetricsToolName = Literal["describe", "events", "logs", "previous_logs", "services", "storage",
                          "nodes", "quotas", "network_policies", "autoscalers",
                          "prometheus_query", "done"]
ObjectKind = Literal["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
                     "Service", "Node", "PersistentVolumeClaim"]


class NextStep(BaseModel):
    """Choose the next read-only look at the cluster, or `done` when the evidence suffices."""

    tool: ToolName = Field(description="the read-only tool to run next, or done")
    kind: ObjectKind = Field(default="Pod", description="kind of the object, for describe")
    name: str = Field(default="", description="name of the pod or object to look at")


# With a Prometheus configured the model may also ask it one PromQL expression: the same schema,
# under the same name (the forced tool is named for it), with one more tool and its query.
NextStepWithMetrics = cast(type[NextStep], create_model(
    "NextStep", __base__=NextStep, __doc__=NextStep.__doc__,
    tool=(MetricsToolName, Field(description="the read-only tool to run next, or done")),
    query=(str, Field(default="", description=(
        'for prometheus_query: one PromQL expression; every selector must carry '
        'namespace="<the namespace in scope>"')))))


def next_step_schema(metrics: bool) -> type[NextStep]:
    """The NextStep the model is offered: with prometheus_query only when Prometheus is set."""
    return NextStepWithMetrics if metrics else NextStep


class ProposedStep(BaseModel):
    step: str = Field(description="what a human should do, one sentence")
    command: str | None = Field(default=None, description="a kubectl command, or null")
    risk: Literal["low", "medium", "high"] = "low"


class Explanation(BaseModel):
    """The answer for the human, resting only on the numbered evidence."""

    summary: str = Field(description="two sentences: what is wrong and why")
    cites: list[int] = Field(description="numbers of the evidence items the summary rests on")
    remediation: list[ProposedStep] = Field(default_factory=list, max_length=4,
                                            description="proposed steps for a human")
