"""Investigations for the web chat: a bounded pool of worker threads, each running one `Request`
through the `Investigator`, its progress flowing back to the event loop as `Event`s.

    asking = Asking(agent, workers=4, queue_limit=20)
    events = asking.submit(request)          # None when the pool and its queue are full
    async for event in drain(events): ...    # progress..., then one `diagnosis` or `error`

Workers (the service's `Pool`) never touch the event loop's objects directly: every event
crosses over through `loop.call_soon_threadsafe` into an `asyncio.Queue`, so the loop is never
blocked and never raced. Errors are the service's (`service.errors`), said as they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..diagnosis import Diagnosis
from ..investigation import Investigator, Progress, Request
from ..observing import Metrics
from ..rendering import link_of, path_steps, verdict_line
from ..service import InvestigationError, Outcome, Pool

log = logging.getLogger(__name__)

EventName = Literal["progress", "diagnosis", "error"]


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event: its name and its JSON text (one line)."""

    name: EventName
    data: str

    @property
    def final(self) -> bool:
        return self.name != "progress"

    def encode(self) -> bytes:
        return f"event: {self.name}\ndata: {self.data}\n\n".encode()


Send = Callable[[Event], None]


def error(sentence: str) -> Event:
    return Event("error", json.dumps({"error": sentence}))


class Asking:
    """The service's `Pool` for the web chat: each request's progress and outcome become
    `Event`s on an `asyncio.Queue` of the event loop. Counted in `metrics` (a registry of its
    own unless one is given)."""

    def __init__(self, investigator: Investigator, *, workers: int, queue_limit: int,
                 metrics: Metrics | None = None, source: str | None = None,
                 runbook_base_url: str | None = None) -> None:
        self.pool = Pool(investigator, "web", workers=workers, queue_limit=queue_limit,
                         metrics=metrics, source=source)
        self.metrics = self.pool.metrics
        self.runbook_base_url = runbook_base_url

    def submit(self, request: Request) -> asyncio.Queue[Event] | None:
        """Start `request`; its events arrive on the returned queue, the last one final.
        None when the pool is full (then nothing runs). Call from the event loop."""
        events: asyncio.Queue[Event] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def send(event: Event) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, event)
            except RuntimeError:  # the loop is closed: the server stopped, no one listens
                log.debug("dropped %s event after shutdown", event.name)

        def on_progress(progress: Progress) -> None:
            send(Event("progress", progress.model_dump_json()))

        def on_done(outcome: Outcome) -> None:
            if isinstance(outcome, InvestigationError):
                send(error(str(outcome)))
            else:
                send(Event("diagnosis", json.dumps(self.shown(outcome))))

        return events if self.pool.submit(request, on_progress, on_done) else None

    def shown(self, diagnosis: Diagnosis) -> dict[str, Any]:
        """The diagnosis as JSON, with what the page shows first computed once, here: the
        verdict line, the causal path's objects and states, and runbook links."""
        doc = diagnosis.model_dump(mode="json")
        doc["verdict"] = verdict_line(diagnosis)
        doc["path"] = path_steps(diagnosis)
        for runbook in doc["runbooks"]:
            runbook["link"] = link_of(runbook["path"], runbook["section"],
                                      self.runbook_base_url)
        return doc

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)


async def drain(events: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    """The events of one request, up to and including its final one."""
    while True:
        event = await events.get()
        yield event
        if event.final:
            return
