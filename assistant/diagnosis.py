"""The one answer type: a `Diagnosis`, and the `Finding`s it is built from.

Its JSON form is the CLI contract in ARCHITECTURE.md; renderers turn it into terminal text,
Markdown or Block Kit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.refs import ObjectRef

Source = Literal["status", "event", "log", "spec", "metrics", "node"]
Risk = Literal["low", "medium", "high"]


class Evidence(BaseModel):
    source: Source
    object: str  # "Pod/shop/checkout-7d9f8b6c4-x2k9p"
    detail: str  # the status field, event or log line the conclusion rests on


class Remediation(BaseModel):
    """A proposed step for a human; the assistant never runs it."""

    step: str
    command: str | None = None
    risk: Risk = "low"


class RootCause(BaseModel):
    category: str
    object: str  # "Kind/namespace/name", "Kind/-/name" when cluster-scoped
    explanation: str


class RunbookCitation(BaseModel):
    title: str
    path: str
    section: str
    score: float


class Excerpt(BaseModel):
    """What a follow-up asked to see, shown as it is: a log, events, a describe, a history."""

    object: str  # "Pod/shop/checkout-7d9f8b6c4-x2k9p"
    title: str  # "previous log of container app (the run before the last restart)"
    text: str  # shown as a code block, redacted and bounded by the tool


ReplyKind = Literal["logs", "previous_logs", "events", "describe", "changes", "comparison"]


class Reply(BaseModel):
    """The answer to a follow-up that asks for content, not for another diagnosis: shown
    first, with a short reference back (`about`) to the conversation's diagnosis."""

    kind: ReplyKind
    heading: str  # "Previous logs: api-58d7c9b6f4-xr7pd, container api"
    excerpts: list[Excerpt] = Field(default_factory=list)
    about: str  # "About the diagnosis: Problem: StatefulSet shop/postgres is OOMKilled"


class Target(BaseModel):
    kind: str
    namespace: str | None
    name: str

    @property
    def ref(self) -> str:
        return str(ObjectRef(self.kind, self.namespace, self.name))


class Finding(BaseModel):
    """One problem, with what it rests on. `caused_by` links a symptom to a deeper finding."""

    category: str
    object: str
    summary: str  # one line: "checkout: 2/2 pods crash-looping"
    explanation: str  # the cause, in words, specific
    evidence: list[Evidence] = Field(default_factory=list)
    remediation: list[Remediation] = Field(default_factory=list)
    confidence: float = 0.5
    impact: float = 1.0  # for ranking: how much is down, how badly
    ruled_out: list[str] = Field(default_factory=list)
    caused_by: str | None = None  # object of the finding that explains this one
    related: list[str] = Field(default_factory=list)  # other objects involved (pods, services)
    facts: dict[str, str] = Field(default_factory=dict, exclude=True)  # for remediation templates


class Diagnosis(BaseModel):
    question: str
    target: Target | None
    healthy: bool | None  # None: could not tell (unknown target, unreachable data)
    summary: str
    root_cause: RootCause | None
    evidence: list[Evidence]
    remediation: list[Remediation]
    runbooks: list[RunbookCitation] = Field(default_factory=list)
    confidence: float
    ruled_out: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # what was unknown, cut or unavailable
    reply: Reply | None = None  # a follow-up's content (logs, events...); None: a diagnosis
