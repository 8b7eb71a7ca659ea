"""Investigations for the web chat: a bounded pool of worker threads, each running one `Request`
through the `Investigator`, its progress flowing back to the event loop as `Event`s.

    asking = Asking(agent, workers=4, queue_limit=20)
    events = asking.submit(request)          # None when the pool and its queue are full
    async for event in drain(events): ...    # progress..., then one `diagnosis` or `error`

The worker never touches the event loop's objects directly: every event crosses over through
`loop.call_soon_threadsafe` into an `asyncio.Queue`, so the loop is never blocked and never raced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import tools

from ..engine import ClusterUnavailable
from ..investigation import Investigator, Progress, Request
from ..observing import Metrics

log = logging.getLogger(__name__)

EventName = Literal["progress", "diagnosis", "error"]

CLUSTER_DOWN = ("I could not read the cluster: it is unreachable or refused my credentials. "
                "Nothing was changed; the server's log says which.")
BUG = ("Something went wrong on my side while investigating; it is logged. Nothing was "
       "changed. Please ask again.")


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
    """Runs requests on `workers` threads; at most `queue_limit` more wait their turn. Each is
    counted and timed in `metrics` (a registry of its own unless one is given)."""

    def __init__(self, investigator: Investigator, *, workers: int, queue_limit: int,
                 metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        self.investigator = self.metrics.observed(investigator, "web")
        self.queue = self.metrics.queue("web")
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="web-ask")
        self.slots = threading.BoundedSemaphore(workers + queue_limit)

    def submit(self, request: Request) -> asyncio.Queue[Event] | None:
        """Start `request`; its events arrive on the returned queue, the last one final.
        None when the pool is full (then nothing runs). Call from the event loop."""
        if not self.slots.acquire(blocking=False):
            self.queue.rejected()
            return None
        events: asyncio.Queue[Event] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def send(event: Event) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, event)
            except RuntimeError:  # the loop is closed: the server stopped, no one listens
                log.debug("dropped %s event after shutdown", event.name)

        self.queue.waiting()
        future = self.pool.submit(self._run, request, send)
        future.add_done_callback(self._release)
        return events

    def _release(self, future: Future[None]) -> None:
        self.slots.release()

    def _run(self, request: Request, send: Send) -> None:
        def on_progress(progress: Progress) -> None:
            send(Event("progress", progress.model_dump_json()))

        try:
            with self.queue.running():
                diagnosis = self.investigator.investigate(request, on_progress)
        except (ClusterUnavailable, tools.ApiError, tools.SnapshotError):
            log.exception("cluster unavailable for %s", request.thread)
            send(error(CLUSTER_DOWN))
            return
        except Exception:  # the worker's boundary: a bug is logged and the page told
            log.exception("investigation failed for %s", request.thread)
            send(error(BUG))
            return
        send(Event("diagnosis", diagnosis.model_dump_json()))

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=not wait)


async def drain(events: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    """The events of one request, up to and including its final one."""
    while True:
        event = await events.get()
        yield event
        if event.final:
            return
