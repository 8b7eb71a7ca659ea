"""Investigations in the background: a bounded pool of workers, each running one `Request`
through the `Investigator`, updating the progress message and posting the answer in the thread.

The pool holds `workers` threads and at most `queue_limit` waiting jobs; past that `submit`
says no and the user is told to try again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import tools
from tools import Cluster

from ..engine import ClusterUnavailable
from ..investigation import Investigator, Progress, Request
from ..observing import Interface, Metrics
from . import blocks
from .access import Access
from .messaging import Messenger, SlackError
from .store import Store, StoredAnswer

log = logging.getLogger(__name__)

InvestigatorFactory = Callable[[Cluster], Investigator]
"""Makes the investigator for one request, given the (channel-restricted) cluster."""

PROGRESS_INTERVAL = 1.0  # seconds between two progress updates of the same message
_CLUSTER_DOWN = (":warning: I could not read the cluster: it is unreachable or refused my "
                 "credentials. Nothing was changed. The app's logs say which.")
_BUG = (":warning: Something went wrong on my side while investigating; it is logged. "
        "Nothing was changed. Press *Re-run* on an earlier answer or ask again.")


@dataclass
class Job:
    request: Request
    channel: str
    thread_ts: str  # the thread the answer goes to
    progress_ts: str  # the message that shows progress, then the outcome
    headline: str
    access: Access
    steps: list[str] = field(default_factory=list)
    interface: Interface = "slack"  # "alerts" for an Alertmanager notification's investigation


def thread_key(channel: str, thread_ts: str) -> str:
    """The conversation key every request from one Slack thread carries."""
    return f"slack:{channel}:{thread_ts}"


class Investigations:
    def __init__(self, messenger: Messenger, store: Store, cluster: Cluster,
                 factory: InvestigatorFactory, *, workers: int, queue_limit: int,
                 metrics: Metrics | None = None) -> None:
        self.messenger = messenger
        self.store = store
        self.cluster = cluster
        self.factory = factory
        self.metrics = metrics or Metrics()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="investigation")
        self.slots = threading.BoundedSemaphore(workers + queue_limit)

    def submit(self, job: Job) -> bool:
        """Queue `job`; False when the queue is full (then nothing runs)."""
        queue = self.metrics.queue(job.interface)
        if not self.slots.acquire(blocking=False):
            queue.rejected()
            return False
        queue.waiting()
        future = self.pool.submit(self._run, job)
        future.add_done_callback(self._release)
        return True

    def _release(self, future: Future[None]) -> None:
        self.slots.release()

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=not wait)

    def _run(self, job: Job) -> None:
        last = 0.0

        def on_progress(progress: Progress) -> None:
            nonlocal last
            job.steps.append(f"{progress.step}: {progress.detail}" if progress.detail
                             else progress.step)
            if time.monotonic() - last >= PROGRESS_INTERVAL:
                last = time.monotonic()
                self._quietly(self.messenger.update, job.channel, job.progress_ts,
                              blocks.progress(job.headline, job.steps))

        try:
            with self.metrics.queue(job.interface).running():
                investigator = self.metrics.observed(
                    self.factory(job.access.restrict(self.cluster)), job.interface)
                diagnosis = investigator.investigate(job.request, on_progress)
        except (ClusterUnavailable, tools.ApiError, tools.SnapshotError):
            log.exception("cluster unavailable for %s", job.request.thread)
            self._quietly(self.messenger.update, job.channel, job.progress_ts,
                          blocks.progress(job.headline, job.steps, done=_CLUSTER_DOWN))
            return
        except Exception:  # the worker's boundary: a bug is logged and the user told
            log.exception("investigation failed for %s", job.request.thread)
            self._quietly(self.messenger.update, job.channel, job.progress_ts,
                          blocks.progress(job.headline, job.steps, done=_BUG))
            return
        answer_id = uuid.uuid4().hex[:16]
        self.store.save_answer(StoredAnswer(  # before posting: its buttons can be pressed at once
            id=answer_id, channel=job.channel, thread_ts=job.thread_ts,
            request=job.request.model_dump_json(), diagnosis=diagnosis.model_dump_json()))
        for message in blocks.answer(diagnosis, answer_id):
            self._quietly(self.messenger.post, job.channel, message, job.thread_ts)
        outcome = diagnosis.summary if len(diagnosis.summary) < 600 else \
            diagnosis.summary[:600] + "…"
        self._quietly(self.messenger.update, job.channel, job.progress_ts,
                      blocks.progress(job.headline, job.steps, done=outcome))

    @staticmethod
    def _quietly(function: Callable[..., str | None], *args: object) -> str | None:
        """Slack failures in a worker have no one to report to but the log (which says why)."""
        try:
            return function(*args)
        except SlackError as e:
            log.warning("could not %s: %s", e.method, e)
            return None
