"""Investigations in the background, for the servers (Slack, web chat): a bounded pool.

    pool = Pool(investigator, "web", workers=4, queue_limit=20, metrics=metrics)
    accepted = pool.submit(request, on_progress, on_done)   # False: full, nothing runs
    ...                                                     # on_done(Diagnosis | error), once

`workers` threads run at most `workers` investigations at once; `queue_limit` more wait. Each
is counted and timed in `metrics` under its interface (`observing`). `on_progress` and
`on_done` are called on the worker's thread; `on_done` gets the `Diagnosis`, or the
`InvestigationError` (`errors`) that a user is told instead: a bug is logged here and reaches
`on_done` as `InternalError`. `submit_all` runs several requests as one job (an Alertmanager
notification's objects) and hands `on_done` their answers in order.

The request path only takes a slot and queues; everything else runs on the workers. A server
hands the pool `processes.Children` as its investigator: each worker thread then only waits for
a worker process, which does the investigation's work outside the server's interpreter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from ..diagnosis import Diagnosis
from ..investigation import Investigator, OnProgress, Progress, Request
from .errors import CLUSTER_ERRORS, InvestigationError, wrapped

if TYPE_CHECKING:  # prometheus_client: only for the servers, never for a one-shot `sre ask`
    from ..observing import Interface, Metrics

log = logging.getLogger(__name__)

Outcome = Diagnosis | InvestigationError
OnDone = Callable[[Outcome], None]
OnAllDone = Callable[[list[Diagnosis] | InvestigationError], None]


class Lazy:
    """An investigator made on first use, on the worker (an agent costs a graph to build)."""

    def __init__(self, make: Callable[[], Investigator]) -> None:
        self._make = make
        self._made: Investigator | None = None

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        if self._made is None:
            self._made = self._make()
        return self._made.investigate(request, on_progress)


class Pool:
    def __init__(self, investigator: Investigator, interface: Interface, *, workers: int,
                 queue_limit: int, metrics: Metrics | None = None, source: str | None = None
                 ) -> None:
        from ..observing import Metrics

        self.metrics = metrics or Metrics()
        self.investigator = investigator
        self.interface: Interface = interface
        self.source = source  # "context prod": named in "could not read the cluster" sentences
        self.queue = self.metrics.queue(interface)
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix=f"{interface}-investigation")
        self._slots = threading.BoundedSemaphore(workers + queue_limit)

    def submit(self, request: Request, on_progress: OnProgress | None, on_done: OnDone, *,
               investigator: Investigator | None = None, interface: Interface | None = None
               ) -> bool:
        """Queue `request`; False when workers and queue are full (then nothing runs)."""
        def done(outcome: list[Diagnosis] | InvestigationError) -> None:
            on_done(outcome[0] if isinstance(outcome, list) else outcome)

        return self.submit_all([request], on_progress, done, investigator=investigator,
                               interface=interface)

    def submit_all(self, requests: Sequence[Request], on_progress: OnProgress | None,
                   on_done: OnAllDone, *, investigator: Investigator | None = None,
                   interface: Interface | None = None) -> bool:
        """Queue `requests` as one job, answered in order on one worker."""
        queue = self.metrics.queue(interface or self.interface)
        if not self._slots.acquire(blocking=False):
            queue.rejected()
            return False
        queue.waiting()
        chosen = self.metrics.observed(investigator or self.investigator,
                                       interface or self.interface)
        future = self._pool.submit(self._run, chosen, list(requests), on_progress, on_done,
                                   interface or self.interface)
        future.add_done_callback(self._release)
        return True

    def _release(self, future: Future[None]) -> None:
        self._slots.release()

    def _run(self, investigator: Investigator, requests: list[Request],
             on_progress: OnProgress | None, on_done: OnAllDone, interface: Interface) -> None:
        def progress(step: Progress) -> None:
            if on_progress is not None:
                on_progress(step)

        outcome: list[Diagnosis] | InvestigationError
        try:
            with self.metrics.queue(interface).running():
                outcome = [investigator.investigate(r, progress) for r in requests]
        except InvestigationError as e:
            outcome = e
        except CLUSTER_ERRORS as e:
            log.warning("cluster unavailable for %s: %s", requests[0].thread, e)
            outcome = wrapped(e, self.source)
        except Exception as e:  # the worker's boundary: a bug is logged, the user told plainly
            log.exception("investigation failed for %s", requests[0].thread)
            outcome = wrapped(e, self.source)
        on_done(outcome)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
