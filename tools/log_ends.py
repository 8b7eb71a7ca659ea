"""A live container's log read from both ends, as `sre snapshot` keeps one: its first bytes
(`limitBytes`), and, only when they are not the whole log, its last lines (`tailLines`), with a
line saying that the middle was not read. A log of 10 GB costs two bounded requests and a
moment, not the whole log's transfer and redaction; a log under `LOG_WINDOW` costs one request.

    for line in both_ends(lambda extra: stream_of(path, {**params, **extra})):
        ...
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator

from .sizes import mib

LOG_WINDOW = 2 * 1024 * 1024  # bytes read from each end of a long log at most
WINDOW_LINES = 20_000  # lines kept from each end of a long log at most
MAX_LINE = 16 * 1024  # a log "line" longer than this is cut (minified JSON, binary noise)
_MATCHES_TRIED = 100  # places where the last lines may start again inside the first ones

Fetch = Callable[[dict[str, str]], Iterator[bytes]]
"""The log's bytes, as the API server streams them, for these extra query parameters."""


def both_ends(fetch: Fetch) -> Iterator[str]:
    """The log's lines: all of them when its first `LOG_WINDOW` bytes are the whole log; else
    a line saying the middle was not read (first, as `sre snapshot` puts it, so that a short
    excerpt still says so), its first lines and its last lines (those the first lines already
    hold are not repeated), `WINDOW_LINES` from each end at most."""
    first, whole = _first(fetch({"limitBytes": str(LOG_WINDOW)}))
    if whole:
        yield from first
        return
    first = first[:WINDOW_LINES]
    last = _last(lines(fetch({"tailLines": str(WINDOW_LINES)})))
    shared = _shared(first, last)
    if shared is None:
        yield (f"[sre: the middle of this log was not read; read are its first {len(first):,} "
               f"lines and its last {len(last):,} ({mib(LOG_WINDOW)} and {WINDOW_LINES:,} "
               "lines from each end at most)]")
    yield from first
    yield from last[shared or 0:]


def _first(chunks: Iterator[bytes]) -> tuple[list[str], bool]:
    """The lines of the log's first `LOG_WINDOW` bytes, and whether they are the whole log; a
    line the window cuts is not kept (its start, with a secret's key, may be all there is)."""
    data = bytearray()
    try:
        for chunk in chunks:
            data += chunk
            if len(data) >= LOG_WINDOW:
                break
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # the rest of the answer is not read
    whole = len(data) < LOG_WINDOW
    end = len(data) if whole else data.rfind(b"\n") + 1
    return list(lines(iter([bytes(data[:end])]))), whole


def _last(log: Iterator[str]) -> list[str]:
    """The log's last lines, `LOG_WINDOW` bytes at most."""
    kept: deque[str] = deque()
    size = 0
    for line in log:
        kept.append(line)
        size += len(line) + 1
        while size > LOG_WINDOW:
            size -= len(kept.popleft()) + 1
    return list(kept)


def _shared(first: list[str], last: list[str]) -> int | None:
    """How many of `last`'s lines `first` already ends with (a log a little longer than one
    window), or None when there is a gap between them. Only an overlap holding a line that
    the first lines hold once counts: in a log of one line repeated, any place would match."""
    if not first or not last:
        return None
    times = Counter(first)
    starts = [at for at, line in enumerate(first) if line == last[0]][:_MATCHES_TRIED]
    for at in starts:
        overlap = len(first) - at
        if first[at:] == last[:overlap] and any(times[line] == 1 for line in first[at:]):
            return overlap
    return None


def lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Split a byte stream into text lines, cutting any line past `MAX_LINE` bytes."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
        if len(pending) > MAX_LINE:
            yield pending[:MAX_LINE].decode("utf-8", "replace") + " [line cut]"
            pending = b""
    if pending:
        yield pending[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
