"""Investigations in worker processes, so that the process that answers users (Slack's acks, the
web chat's events) never shares its interpreter, and its lock, with their work.

    children = Children(Recipe(settings, Opening.of(cluster, settings)), count=4,
                        metrics=metrics)                  # started here, ready when it returns
    investigator = children.viewing({"shop"})             # an `Investigator` over that view
    pool = Pool(investigator, "slack", workers=4, queue_limit=100, metrics=metrics)
    ...
    children.close()

Each child opens the cluster and the service (`open_investigator`) once, from picklable
inputs (`Recipe`), and takes one request at a time over a pipe from the thread of the server
that waits for it: progress as it goes, then the `Diagnosis` or the error a user is told, with
what the child counted (cluster requests, model calls: `observing.Tally`) for the server's
`/metrics`. Conversation memory is the database both open (SQLite or Postgres), so a follow-up
continues whichever child takes it. A child that dies is an `InternalError` for its request
and is replaced. Children start by `forkserver` (the server has threads by then, and a fork
would copy their locks) and run at a lower CPU priority than the server (`NICENESS`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from tools import Cluster
from tools.restricting import Restricted

from ..diagnosis import Diagnosis
from ..investigation import Investigator, OnProgress, Progress, Request
from ..settings import Settings
from .errors import (
    CLUSTER_ERRORS,
    BadInput,
    ClusterUnavailable,
    ConfigError,
    InternalError,
    InvestigationError,
    wrapped,
)
from .recipes import Opening, Recipe

if TYPE_CHECKING:
    from ..observing import Increment, Metrics, Tally

log = logging.getLogger(__name__)

NICENESS = 10
"""Added to each child's nice value: when the CPUs are busy, the server (acks) goes first."""
START_TIMEOUT = 120.0  # seconds for a child to open the cluster and the service


class Children:
    """`count` worker processes; `viewing(namespaces)` is an `Investigator` that runs each
    request in one of them, blocking its caller (a thread of the `Pool`) until the answer.
    `ConfigError` when a child cannot start (its sentence says why)."""

    def __init__(self, recipe: Recipe, *, count: int, metrics: Metrics | None = None) -> None:
        self.recipe, self.metrics = recipe, metrics
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([__name__, "assistant.agent"])
        self._idle: queue.Queue[_Child] = queue.Queue()
        self._all: set[_Child] = set()
        self._lock = threading.Lock()
        self._closed = False
        started = [self._start() for _ in range(count)]
        try:
            for child in started:
                child.ready(START_TIMEOUT)
                self._idle.put(child)
        except InvestigationError:
            self.close()
            raise

    def __call__(self, cluster: Cluster) -> Investigator:
        """As an `InvestigatorFactory`: `cluster` is the server's, or a `Restricted` view."""
        return self.viewing(cluster.allowed if isinstance(cluster, Restricted) else None)

    def viewing(self, namespaces: Collection[str] | None) -> Investigator:
        """An investigator over `namespaces` of the cluster (None: all of it)."""
        return _View(self, None if namespaces is None else frozenset(namespaces))

    @property
    def pids(self) -> list[int]:
        return sorted(c.process.pid or 0 for c in self._all)

    def investigate(self, request: Request, on_progress: OnProgress | None,
                    namespaces: frozenset[str] | None) -> Diagnosis:
        child = self._idle_child()
        try:
            return child.investigate(request, namespaces, on_progress, self._count)
        except _Died as e:
            log.error("an investigation worker (pid %s) died during %s: %s",
                      child.process.pid, request.thread, e)
            self._lost(child)
            raise InternalError() from None
        finally:
            if child.process.is_alive() and child in self._all:
                self._idle.put(child)

    def _idle_child(self) -> _Child:
        while True:
            try:
                child = self._idle.get(timeout=1.0)
            except queue.Empty:
                if self._closed:  # no child will come back
                    raise InternalError() from None
                continue
            if child.process.is_alive():
                return child
            log.error("an idle investigation worker (pid %s) exited with code %s",
                      child.process.pid, child.process.exitcode)
            self._lost(child)

    def _lost(self, child: _Child) -> None:
        """Forget `child` (dead, or not answering) and start another in the background."""
        child.stop()
        with self._lock:
            self._all.discard(child)
        threading.Thread(target=self._replace, name="investigation-worker-start",
                         daemon=True).start()

    def close(self) -> None:
        """Stop every child (each finishes the request it has, if any, for a moment)."""
        with self._lock:
            self._closed = True
            children, self._all = list(self._all), set()
        for child in children:
            child.stop()

    def _start(self) -> _Child:
        child = _Child(self._context, self.recipe)
        with self._lock:
            self._all.add(child)
        return child

    def _replace(self) -> None:
        with self._lock:
            if self._closed:
                return
        child = self._start()
        try:
            child.ready(START_TIMEOUT)
        except InvestigationError as e:
            log.error("a replacement investigation worker could not start: %s", e)
            return
        self._idle.put(child)

    def _count(self, increments: list[Increment]) -> None:
        if self.metrics is not None:
            self.metrics.add(increments)


class _View:
    def __init__(self, children: Children, namespaces: frozenset[str] | None) -> None:
        self.children, self.namespaces = children, namespaces

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        return self.children.investigate(request, on_progress, self.namespaces)


class _Died(Exception):
    """The child stopped answering: it exited, or never said it was ready."""


class _Child:
    """One worker process and the server's end of its pipe."""

    def __init__(self, context: Any, recipe: Recipe) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(recipe, theirs),
                                       name="sre-investigation", daemon=True)
        self.process.start()
        theirs.close()

    def ready(self, timeout: float) -> None:
        try:
            said = self._receive(timeout)
        except _Died as e:
            raise ConfigError(f"an investigation worker could not start: {e}") from None
        if said[0] == "failed":
            raise _rebuilt(said[1])

    def investigate(self, request: Request, namespaces: frozenset[str] | None,
                    on_progress: OnProgress | None,
                    count: Callable[[list[Increment]], None]) -> Diagnosis:
        try:
            self.connection.send(("investigate", request, namespaces))
        except OSError as e:
            raise _Died(f"its pipe is closed ({e})") from None
        while True:
            said = self._receive(None)
            if said[0] == "progress":
                if on_progress is not None:
                    on_progress(said[1])
                continue
            count(said[2])
            if said[0] == "done":
                diagnosis: Diagnosis = said[1]
                return diagnosis
            raise _rebuilt(said[1])

    def _receive(self, timeout: float | None) -> Any:
        ready = wait([self.connection, self.process.sentinel], timeout)
        if self.connection in ready:
            try:
                return self.connection.recv()
            except (EOFError, OSError):
                pass
        if not ready:
            raise _Died(f"no answer in {timeout:.0f} s")
        self.process.join(1.0)
        raise _Died(f"it exited with code {self.process.exitcode}")

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)
        self.connection.close()


# --- errors across the pipe: (class name, sentence, forbidden) ---------------------------------

_KINDS: dict[str, type[InvestigationError]] = {
    "ClusterUnavailable": ClusterUnavailable, "ConfigError": ConfigError, "BadInput": BadInput}


def _portable(error: InvestigationError) -> tuple[str, str, bool]:
    return (type(error).__name__, str(error),
            isinstance(error, ClusterUnavailable) and error.forbidden)


def _rebuilt(said: tuple[str, str, bool]) -> InvestigationError:
    name, sentence, forbidden = said
    if name == "ClusterUnavailable":
        return ClusterUnavailable(sentence, forbidden=forbidden)
    kind = _KINDS.get(name)
    return kind(sentence) if kind is not None else InternalError()


# --- the child ------------------------------------------------------------------------------------

def _serve(recipe: Recipe, connection: Connection) -> None:
    """A child's life: open once, then answer requests until told to stop (None) or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the server stops us
    os.nice(NICENESS)
    with ExitStack() as stack:
        try:
            investigator_for, tally, source = _opened(recipe, stack)
        except InvestigationError as e:
            connection.send(("failed", _portable(e)))
            return
        connection.send(("ready",))
        made: dict[frozenset[str] | None, Investigator] = {}
        for request, namespaces in _requests(connection):
            if not _say(connection, _answer(request, namespaces, made, investigator_for, tally,
                                            source, connection)):
                return  # the server is gone


def _answer(request: Request, namespaces: frozenset[str] | None,
            made: dict[frozenset[str] | None, Investigator],
            investigator_for: Callable[[frozenset[str] | None], Investigator], tally: Tally,
            source: str, connection: Connection) -> tuple[Any, ...]:
    """What the child says after `request`: ("done", diagnosis, counts) or ("failed", ...)."""
    def progress(step: Progress) -> None:
        _say(connection, ("progress", step))

    try:
        if namespaces not in made:
            made[namespaces] = investigator_for(namespaces)
        diagnosis = made[namespaces].investigate(request, progress)
    except InvestigationError as e:
        return ("failed", _portable(e), tally.taken())
    except CLUSTER_ERRORS as e:
        log.warning("cluster unavailable for %s: %s", request.thread, e)
        return ("failed", _portable(wrapped(e, source)), tally.taken())
    except Exception as e:  # the child's boundary: a bug is logged, the user told plainly
        log.exception("investigation failed for %s", request.thread)
        return ("failed", _portable(wrapped(e)), tally.taken())
    return ("done", diagnosis, tally.taken())


def _say(connection: Connection, message: tuple[Any, ...]) -> bool:
    """Send `message` to the server; False when it is gone (then no one listens)."""
    try:
        connection.send(message)
    except OSError:
        return False
    return True


def _requests(connection: Connection) -> Iterator[tuple[Request, frozenset[str] | None]]:
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if message is None:
            return
        _, request, namespaces = message
        yield request, namespaces


def _opened(recipe: Recipe, stack: ExitStack
            ) -> tuple[Callable[[frozenset[str] | None], Investigator], Tally, str]:
    """Redaction, logs, the cluster, the service and the metrics, as the server set them up."""
    from tools.redacting import configure as configure_redaction

    from .. import logs
    from ..observing import Tally
    from .opening import open_investigator

    settings = recipe.settings
    configure_redaction(pii=settings.redaction.pii,
                        extra_prefixes=settings.redaction.extra_prefixes)
    logs.configure(settings)
    tally = Tally()
    try:
        cluster = recipe.opening.open()
    except CLUSTER_ERRORS as e:
        raise wrapped(e) from e
    stack.callback(cluster.close)
    tally.watch_cluster(cluster)
    service = stack.enter_context(open_investigator(settings, cluster))
    tally.watch_model(service.model, settings.model.provider)
    make = recipe.make or (lambda s, c: s.investigator_for(c))

    def investigator_for(namespaces: frozenset[str] | None) -> Investigator:
        return make(service, cluster if namespaces is None else Restricted(cluster, namespaces))

    return investigator_for, tally, cluster.source


def started(settings: Settings, cluster: Cluster, *, count: int, metrics: Metrics | None
            ) -> Children | None:
    """A server's `count` children over `cluster`; None when they cannot open that cluster
    again (it was not opened as `sre` opens one, or with `--kubeconfig` only): then, as the log
    says, investigations run in threads of the server. `ConfigError` as `Children`."""
    try:
        return Children(Recipe(settings, Opening.of(cluster, settings)), count=count,
                        metrics=metrics)
    except (ValueError, ClusterUnavailable) as e:
        log.warning("investigations run in threads of this process: %s", e)
        return None
