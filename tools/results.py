"""What the tools return: typed results with a status, and a compact text form with a budget.

An expected failure (403, 404, an unserved kind, an unreachable server) is a result, not an
exception: `status` says which, and `message` is a sentence a human can act on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from .logs import LogExcerpt, fit
from .refs import ObjectRef
from .summaries import EventSummary, NodeSummary, PodSummary, WorkloadSummary

Status = Literal["ok", "not_found", "forbidden", "unreachable", "unavailable", "unauthorized"]


class ToolResult(BaseModel):
    tool: str
    status: Status = "ok"
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def lines(self) -> list[str]:
        return []

    def text(self, budget: int = 3000) -> str:
        """The result for a model or a human, cut to `budget` characters."""
        head = [f"[{self.tool}] {self.status}" + (f": {self.message}" if self.message else "")]
        return fit("\n".join(head + (self.lines() if self.ok else [])), budget)


class Match(BaseModel):
    kind: str
    namespace: str | None
    name: str
    score: float  # 100 = exact


class FindResult(ToolResult):
    query: str = ""
    matches: list[Match] = []

    @property
    def exact(self) -> Match | None:
        return next((m for m in self.matches if m.score >= 100), None)

    def lines(self) -> list[str]:
        return [f"{ObjectRef(m.kind, m.namespace, m.name)} (score {m.score:.0f})"
                for m in self.matches]


class ObjectLine(BaseModel):
    kind: str
    namespace: str | None
    name: str
    summary: str


class ObjectList(ToolResult):
    items: list[ObjectLine] = []

    def lines(self) -> list[str]:
        return [f"{ObjectRef(i.kind, i.namespace, i.name)}: {i.summary}" for i in self.items]


class PodList(ToolResult):
    pods: list[PodSummary] = []

    def lines(self) -> list[str]:
        return [p.line() for p in self.pods]


class WorkloadList(ToolResult):
    workloads: list[WorkloadSummary] = []

    def lines(self) -> list[str]:
        return [w.line() for w in self.workloads]


class EventList(ToolResult):
    events: list[EventSummary] = []
    folded: int = 0  # events merged into others as duplicates

    def lines(self) -> list[str]:
        note = [f"({self.folded} duplicate events folded)"] if self.folded else []
        return [e.line() for e in self.events] + note


class DescribeResult(ToolResult):
    kind: str = ""
    namespace: str | None = None
    name: str = ""
    summary: str = ""
    owners: list[str] = []  # nearest first: ReplicaSet/x, then Deployment/y
    children: list[str] = []  # pods of a workload, endpoints of a service...
    references: list[str] = []  # what it mounts or selects: "ConfigMap/app-config", "PVC/data"
    events: list[EventSummary] = []
    raw: dict[str, Any] = {}  # the object as read (redacted)

    def lines(self) -> list[str]:
        out = [f"{ObjectRef(self.kind, self.namespace, self.name)}: {self.summary}"]
        if self.owners:
            out.append("owned by: " + " -> ".join(self.owners))
        if self.children:
            out.append("children: " + "; ".join(self.children))
        if self.references:
            out.append("uses: " + ", ".join(self.references))
        out += ["events:"] + [f"  {e.line()}" for e in self.events] if self.events else []
        return out


class LogResult(ToolResult):
    namespace: str = ""
    pod: str = ""
    container: str = ""
    previous: bool = False
    excerpt: LogExcerpt | None = None

    def text(self, budget: int = 3000) -> str:
        which = "previous log" if self.previous else "log"
        head = f"[logs] {self.status}: {which} of {self.namespace}/{self.pod}/{self.container}"
        if not self.ok or self.excerpt is None:
            return fit(f"{head}: {self.message}", budget)
        return head + "\n" + self.excerpt.render(max(budget - len(head) - 1, 0))


class NodeList(ToolResult):
    nodes: list[NodeSummary] = []

    def lines(self) -> list[str]:
        return [n.line() for n in self.nodes]


class ServiceSummary(BaseModel):
    namespace: str
    name: str
    type: str
    selector: dict[str, str]
    ports: list[str]  # "80->8080/TCP"
    ready: list[str]  # "10.1.0.5:8080 (pod api-x)"
    not_ready: list[str]
    endpoints_known: bool
    matching_pods: list[str]

    def line(self) -> str:
        sel = ",".join(f"{k}={v}" for k, v in self.selector.items()) or "none"
        eps = (f"{len(self.ready)} ready, {len(self.not_ready)} not ready endpoints"
               if self.endpoints_known else "endpoints unknown")
        return (f"service {self.name} ({self.type}) selector {sel}, ports "
                f"{', '.join(self.ports)}: {eps}; pods matching: {len(self.matching_pods)}")


class ServiceList(ToolResult):
    services: list[ServiceSummary] = []

    def lines(self) -> list[str]:
        return [s.line() for s in self.services]


class StorageResult(ToolResult):
    claims: list[str] = []
    volumes: list[str] = []
    classes: list[str] = []
    unknown: list[str] = []

    def lines(self) -> list[str]:
        return ([f"pvc {c}" for c in self.claims] + [f"pv {v}" for v in self.volumes]
                + [f"storageclass {s}" for s in self.classes]
                + [f"unknown: {u}" for u in self.unknown])


class TextList(ToolResult):
    """Objects whose compact form is one line each (HPAs, quotas, ingresses, policies, metrics)."""

    entries: list[str] = []

    def lines(self) -> list[str]:
        return self.entries
