"""Investigations in the background: a bounded pool of workers, each running one `Job` (one
`Request`) or one `AlertJob` (a request per object the alerts of a notification are about)
through the `Investigator`, updating the progress message and posting the answers in the thread.
An `AlertJob` answers alerts with the same root cause together: "3 alerts, 1 root cause".

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

from ..diagnosis import Diagnosis
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


@dataclass
class Asked:
    """One request of an `AlertJob`, with the alerts it answers (how each is named)."""

    request: Request
    alerts: list[str]


@dataclass
class AlertJob:
    asked: list[Asked]
    channel: str
    thread_ts: str
    progress_ts: str
    headline: str
    access: Access
    steps: list[str] = field(default_factory=list)
    interface: Interface = "alerts"


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

    def submit(self, job: Job | AlertJob) -> bool:
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

    def _run(self, job: Job | AlertJob) -> None:
        last = 0.0

        def on_progress(progress: Progress) -> None:
            nonlocal last
            job.steps.append(f"{progress.step}: {progress.detail}" if progress.detail
                             else progress.step)
            if time.monotonic() - last >= PROGRESS_INTERVAL:
                last = time.monotonic()
                self._quietly(self.messenger.update, job.channel, job.progress_ts,
                              blocks.progress(job.headline, job.steps))

        asked = job.asked if isinstance(job, AlertJob) else [Asked(job.request, [])]
        try:
            with self.metrics.queue(job.interface).running():
                investigator = self.factory(job.access.restrict(self.cluster))
                answered = [(a, investigator.investigate(a.request, on_progress))
                            for a in asked]
        except (ClusterUnavailable, tools.ApiError, tools.SnapshotError):
            log.exception("cluster unavailable for %s", asked[0].request.thread)
            self._quietly(self.messenger.update, job.channel, job.progress_ts,
                          blocks.progress(job.headline, job.steps, done=_CLUSTER_DOWN))
            return
        except Exception:  # the worker's boundary: a bug is logged and the user told
            log.exception("investigation failed for %s", asked[0].request.thread)
            self._quietly(self.messenger.update, job.channel, job.progress_ts,
                          blocks.progress(job.headline, job.steps, done=_BUG))
            return
        if isinstance(job, AlertJob):
            outcome = self._answer_alerts(job, answered)
        else:
            diagnosis = answered[0][1]
            self._answer(job.channel, job.thread_ts, job.request, diagnosis)
            outcome = diagnosis.summary
        outcome = outcome if len(outcome) < 600 else outcome[:600] + "…"
        self._quietly(self.messenger.update, job.channel, job.progress_ts,
                      blocks.progress(job.headline, job.steps, done=outcome))

    def _answer(self, channel: str, thread_ts: str, request: Request, diagnosis: Diagnosis,
                heading: str | None = None) -> None:
        answer_id = uuid.uuid4().hex[:16]
        self.store.save_answer(StoredAnswer(  # before posting: its buttons can be pressed at once
            id=answer_id, channel=channel, thread_ts=thread_ts,
            request=request.model_dump_json(), diagnosis=diagnosis.model_dump_json()))
        messages = blocks.answer(diagnosis, answer_id)
        if heading:
            messages.insert(0, blocks.notice(heading))
        for message in messages:
            self._quietly(self.messenger.post, channel, message, thread_ts)

    def _answer_alerts(self, job: AlertJob, answered: list[tuple[Asked, Diagnosis]]) -> str:
        """One answer per root cause, naming the alerts it explains; the outcome in a line."""
        causes: dict[str, list[tuple[Asked, Diagnosis]]] = {}
        for asked, diagnosis in answered:
            causes.setdefault(_cause_key(asked, diagnosis), []).append((asked, diagnosis))
        for group in causes.values():
            alerts = [name for asked, _ in group for name in asked.alerts]
            first_asked, diagnosis = group[0]
            self._answer(job.channel, job.thread_ts, first_asked.request, diagnosis,
                         blocks.alerts_heading(alerts, diagnosis))
        count = sum(len(a.alerts) for a, _ in answered)
        causes_found = [d.root_cause for g in causes.values() for _, d in g[:1] if d.root_cause]
        said = f"{count} alert{'s' if count != 1 else ''}, " + (
            f"{len(causes_found)} root cause{'s' if len(causes_found) != 1 else ''}"
            if causes_found else "no root cause found")
        if len(causes_found) == 1:
            said += f": {causes_found[0].category} on {causes_found[0].object}"
        return said + "."

    @staticmethod
    def _quietly(function: Callable[..., str | None], *args: object) -> str | None:
        """Slack failures in a worker have no one to report to but the log (which says why)."""
        try:
            return function(*args)
        except SlackError as e:
            log.warning("could not %s: %s", e.method, e)
            return None


def _cause_key(asked: Asked, diagnosis: Diagnosis) -> str:
    """Answers with one root cause (category and object) go together; others stand alone."""
    if diagnosis.root_cause is not None:
        return f"{diagnosis.root_cause.category} {diagnosis.root_cause.object}"
    return f"alone {asked.request.question}"
