"""A deadline for one request to the API server: from sending it to its answer's last byte.

urllib3's timeouts bound each wait on the socket (to connect, for the next bytes), not the whole
request: a server that trickles its answer, a byte before each read timeout, holds a request
for ever. A `Deadline` is a urllib3 `Timeout` (so it travels with the request, through the
pool manager and the pool, to the connection it goes out on) that also shuts that connection's
socket down when the time is up. Whatever read is waiting then ends (urllib3's own
`HTTPResponse.shutdown` interrupts a read the same way), and the reader tells the user the
server did not answer in time.

    deadline = Deadline(connect=5, read=30, total=60)
    try:
        response = pool.request("GET", url, timeout=deadline, preload_content=False)
        deadline.hold(response)
        body = response.read()
    finally:
        deadline.cancel()
    deadline.expired  # True when the connection was cut

The pool calls `watch(connection, timeout)` for each request it makes (`guard`'s pools do). A
reader that works on what came between reads (a long log it scans) stops the clock meanwhile
(`pause`, `resume`): the deadline is the server's, not the reader's.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import urllib3

_LOOK_AGAIN = 0.05  # seconds: a connection still connecting at the deadline has no socket yet


class _Watch:
    """The one clock of a deadline, shared by the copies urllib3 makes of it: it runs from the
    start, stops while the reader is busy with what it received (`pause`), and cuts the
    connection when it has run `total` seconds. Pausing costs no timer: when the timer fires
    early (the clock stood still a while), it is set again for what is left."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.expired = False
        self._left = total  # seconds, when the clock last stopped or started
        self._since: float | None = time.monotonic()  # None while paused
        self._connection: Any = None
        self._answer: Any = None
        self._timer: threading.Timer | None = None
        self._done = False
        self._lock = threading.Lock()

    def watch(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection
            if self._timer is None and not self._done:
                self._arm(self._remaining())

    def hold(self, answer: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            self._answer = answer

    def pause(self) -> None:
        with self._lock:
            self._left = self._remaining()
            self._since = None

    def resume(self) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()

    def cancel(self) -> None:
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()

    def _remaining(self) -> float:
        running = 0.0 if self._since is None else time.monotonic() - self._since
        return self._left - running

    def _arm(self, seconds: float) -> None:
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            left = self._remaining()
            if left > 0 or self._since is None:  # it stood still meanwhile, or stands now
                self._arm(max(left, _LOOK_AGAIN))
                return
            self.expired = True
            if self._answer is not None:  # its connection may have handed the socket over
                try:
                    self._answer.shutdown()
                except (ValueError, RuntimeError, OSError):
                    pass  # released or closed: nothing is waiting on it
                return
            sock = getattr(self._connection, "sock", None)
            if sock is None:  # connecting, or handing the socket to the answer being read
                self._arm(_LOOK_AGAIN)
                return
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):  # closed already, or no socket of the system's
                pass  # (a recording library's stand-in): nothing is waiting on it


class Deadline(urllib3.Timeout):
    """urllib3's connect and read timeouts, and `total` seconds for the whole request, from now
    until `cancel()` (call it once the answer is read, or the request failed); the time the
    reader pauses the clock for is not counted."""

    def __init__(self, *, connect: float, read: float, total: float,
                 _watch: _Watch | None = None) -> None:
        super().__init__(connect=connect, read=read)
        self._watch = _watch or _Watch(total)

    def clone(self) -> Deadline:
        """urllib3 copies the timeout it is given; a copy keeps the one deadline."""
        return Deadline(connect=self._connect, read=self._read,  # type: ignore[arg-type]
                        total=self._watch.total, _watch=self._watch)

    @property
    def seconds(self) -> float:
        return self._watch.total

    @property
    def expired(self) -> bool:
        """Whether the time ran out and the connection was cut."""
        return self._watch.expired

    def hold(self, answer: urllib3.BaseHTTPResponse) -> None:
        """Cut `answer` (the request's response, its body still to read) when time is up: a
        connection that will close hands its socket to the answer."""
        self._watch.hold(answer)

    def pause(self) -> None:
        """Stop the clock while the reader works on what came (a long log it scans)."""
        self._watch.pause()

    def resume(self) -> None:
        """Run the clock again: the reader waits for the server."""
        self._watch.resume()

    def cancel(self) -> None:
        self._watch.cancel()


def watch(connection: Any, timeout: object) -> None:
    """Hold the request about to go out on `connection` to `timeout`'s deadline, if it has one
    (what a pool calls before each request)."""
    if isinstance(timeout, Deadline):
        timeout._watch.watch(connection)
