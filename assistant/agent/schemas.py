"""What the model may answer: small pydantic schemas whose `Literal`s are the only choices.

Each is sent as a forced tool (or a JSON schema), so even a small local model answers in shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ToolName = Literal["describe", "events", "logs", "previous_logs", "services", "storage",
                   "nodes", "quotas", "network_policies", "autoscalers", "done"]
ObjectKind = Literal["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
                     "Service", "Node", "PersistentVolumeClaim"]


class NextStep(BaseModel):
    """Choose the next read-only look at the cluster, or `done` when the evidence suffices."""

    tool: ToolName = Field(description="the read-only tool to run next, or done")
    kind: ObjectKind = Field(default="Pod", description="kind of the object, for describe")
    name: str = Field(default="", description="name of the pod or object to look at")


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
