"""Investigations in the background, on the service's bounded `Pool`: one `Job` (one
`Request`) or one `AlertJob` (a request per object the alerts of a notification are about),
each through the investigator of its channel's view of the cluster, updating the progress
message and posting the answers in the thread. An `AlertJob` answers alerts with the same root
cause together: "3 alerts, 1 root cause".

The pool holds `workers` threads and at most `queue_limit` waiting jobs; past that `submit`
says no and the user is told to try again. `sre slack` gives a `service.processes.Children` as
the factory: the investigations then run in its worker processes, over the channel's view.
Errors are the service's (`service.errors`), said in the progress message as they are.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tools import Cluster

from ..diagnosis import Diagnosis
from ..investigation import Investigator, OnProgress, Progress, Request
from ..observing import Interface, Metrics
from ..service import InvestigationError, Lazy, Pool
from . import blocks
from .access import Access
from .messaging import Messenger, SlackError
from .store import Store, StoredAnswer

log = logging.getLogger(__name__)

InvestigatorFactory = Callable[[Cluster], Investigator]
"""Makes the investigator for one request, given the (channel-restricted) cluster."""

PROGRESS_INTERVAL = 1.0  # seconds between two progress updates of the same message


class _Unset:
    """The pool's default investigator: Slack always names one (its channel's view)."""

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        raise AssertionError("Slack submits every job with its own investigator")


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
    """Slack's side of the service's `Pool`: the progress message updated as work goes, the
    answers posted in the thread, an error said in the progress message."""

    def __init__(self, messenger: Messenger, store: Store, cluster: Cluster,
                 factory: InvestigatorFactory, *, workers: int, queue_limit: int,
                 metrics: Metrics | None = None, runbook_base_url: str | None = None) -> None:
        self.runbook_base_url = runbook_base_url
        self.messenger = messenger
        self.store = store
        self.cluster = cluster
        self.factory = factory
        self.pool = Pool(_Unset(), "slack", workers=workers, queue_limit=queue_limit,
                         metrics=metrics, source=cluster.source)
        self.metrics = self.pool.metrics

    def submit(self, job: Job | AlertJob) -> bool:
        """Queue `job`; False when the queue is full (then nothing runs)."""
        readable = job.access.restrict(self.cluster)
        investigator = Lazy(lambda: self.factory(readable))  # made on the worker
        asked = job.asked if isinstance(job, AlertJob) else [Asked(job.request, [])]
        last = 0.0

        def on_progress(progress: Progress) -> None:
            nonlocal last
            job.steps.append(f"{progress.step}: {progress.detail}" if progress.detail
                             else progress.step)
            if time.monotonic() - last >= PROGRESS_INTERVAL:
                last = time.monotonic()
                self._quietly(self.messenger.update, job.channel, job.progress_ts,
                              blocks.progress(job.headline, job.steps))

        def on_done(outcome: list[Diagnosis] | InvestigationError) -> None:
            self._finish(job, asked, outcome)

        return self.pool.submit_all([a.request for a in asked], on_progress, on_done,
                                    investigator=investigator, interface=job.interface)

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)

    def _finish(self, job: Job | AlertJob, asked: list[Asked],
                outcome: list[Diagnosis] | InvestigationError) -> None:
        if isinstance(outcome, InvestigationError):
            said = f":warning: {outcome}"
            self._quietly(self.messenger.update, job.channel, job.progress_ts,
                          blocks.progress(job.headline, job.steps, done=said))
            return
        answered = list(zip(asked, outcome, strict=True))
        if isinstance(job, AlertJob):
            said = self._answer_alerts(job, answered)
        else:
            diagnosis = answered[0][1]
            self._answer(job.channel, job.thread_ts, job.request, diagnosis)
            said = blocks.answered(diagnosis)
        self._quietly(self.messenger.update, job.channel, job.progress_ts,
                      blocks.progress(job.headline, job.steps, done=said))

    def _answer(self, channel: str, thread_ts: str, request: Request, diagnosis: Diagnosis,
                heading: str | None = None) -> None:
        answer_id = uuid.uuid4().hex[:16]
        self.store.save_answer(StoredAnswer(  # before posting: its buttons can be pressed at once
            id=answer_id, channel=channel, thread_ts=thread_ts,
            request=request.model_dump_json(), diagnosis=diagnosis.model_dump_json()))
        messages = blocks.answer(diagnosis, answer_id,
                                 runbook_base_url=self.runbook_base_url)
        if heading:
            messages.insert(0, blocks.notice(heading))
        for message in messages:
            self._quietly(self.messenger.post, channel, message, thread_ts)

    def _answer_alerts(self, job: AlertJob, answered: list[tuple[Asked, Diagnosis]]) -> str:
        """One answer per root cause, naming the alerts it explains (a root cause the thread
        has an answer for already is only named); the outcome in a line."""
        causes: dict[str, list[tuple[Asked, Diagnosis]]] = {}
        for asked, diagnosis in answered:
            causes.setdefault(_cause_key(asked, diagnosis), []).append((asked, diagnosis))
        earlier = {_cause_key(None, Diagnosis.model_validate_json(a.diagnosis))
                   for a in self.store.answers_in(job.channel, job.thread_ts)}
        for key, group in causes.items():
            alerts = [name for asked, _ in group for name in asked.alerts]
            first_asked, diagnosis = group[0]
            if key in earlier:
                self._quietly(self.messenger.post, job.channel, blocks.notice(
                    blocks.alerts_heading(alerts, diagnosis, answered=True)), job.thread_ts)
                continue
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


def _cause_key(asked: Asked | None, diagnosis: Diagnosis) -> str:
    """Answers with one root cause (category and object) go together; others stand alone."""
    if diagnosis.root_cause is not None:
        return f"{diagnosis.root_cause.category} {diagnosis.root_cause.object}"
    return f"alone {asked.request.question if asked else id(diagnosis)}"
