"""A live container's log read from both ends, as `sre snapshot` keeps one: its first bytes
(`limitBytes`), and, only when they are not the whole log, its last lines (`tailLines`), with a
line saying that the middle was not read. A log of 10 GB costs two bounded requests and a
moment, not the whole log's transfer and redaction; a log under `LOG_WINDOW` costs one request.

    for line in both_ends(lambda extra: stream_of(path, {**params, **extra})):
        ...

Where the middle is not read, the record the first window ends in and the one the last lines
start in are dropped: a secret's value may stand on a line of its own, told apart only by the
line above or below it (`password: |`, `--db-password \\`, `- name: DB_PASSWORD`), and that line
may be in the part not read, where the redaction cannot see it.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterator
from itertools import islice

from .errors import ApiError
from .sizes import mib

LOG_WINDOW = 2 * 1024 * 1024  # bytes read from each end of a long log at most
WINDOW_LINES = 20_000  # lines kept from each end of a long log at most
TAIL_READ = 64 * 1024 * 1024  # bytes of the last lines' answer read at most (lines can be long)
MAX_LINE = 16 * 1024  # a log "line" longer than this is cut (minified JSON, binary noise)
_CONTINUES = re.compile(r"^[\s>]")  # an indented line, or XML's `>value</Password>`
_UNFINISHED = re.compile(rb"[^\s,;\"'<>(){}\[\]]*$")  # the token a cut line ends in

Fetch = Callable[[dict[str, str]], Iterator[bytes]]
"""The log's bytes, as the API server streams them, for these extra query parameters."""


def both_ends(fetch: Fetch) -> Iterator[str]:
    """The log's lines: all of them when its first `LOG_WINDOW` bytes are the whole log; else
    a line saying the middle was not read (first, as `sre snapshot` puts it, so that a short
    excerpt still says so), its first lines and its last lines (those the first lines already
    hold are not repeated), `WINDOW_LINES` from each end at most. When the last lines cannot be
    read, the first ones are kept, after a line saying why the rest is missing."""
    data, whole = _first(fetch({"limitBytes": str(LOG_WINDOW)}))
    if whole:
        yield from lines(iter([data]))
        return
    first = list(islice(lines(iter([data])), WINDOW_LINES))
    cut: list[bool] = []
    try:
        last = _last(lines(_at_most(fetch({"tailLines": str(WINDOW_LINES)}), TAIL_READ, cut)))
    except ApiError as e:
        yield f"[sre: only the first {len(first):,} lines of this log were read; its end: {e}]"
        yield from first[:_record_start(first, from_end=True)]
        return
    if cut:  # the answer was dropped mid-line, short of the log's end: its last record too
        last = last[:-1]
        last = last[:_record_start(last, from_end=True)]
    shared = None if cut else _shared(first, last)
    if shared is not None:
        yield from first
        yield from last[shared:]
        return
    first = first[:_record_start(first, from_end=True)]
    last = last[_record_start(last, from_end=False):]
    notice = (f"the middle of this log was not read; read are its first {len(first):,} lines "
              f"and its last {len(last):,} ({mib(LOG_WINDOW)} and {WINDOW_LINES:,} lines from "
              "each end at most)")
    yield f"[sre: {notice}]"
    yield from first
    yield "[sre: the middle of this log was not read]"
    yield from last
    if cut:
        yield (f"[sre: the end of this log was not read: its last {WINDOW_LINES:,} lines came "
               f"to more than {mib(TAIL_READ)}]")


def _first(chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    """The log's first `LOG_WINDOW` bytes, up to the last whole line, and whether they are the
    whole log; a line the window cuts is not kept (its start, with a secret's key, may be all
    there is)."""
    data = bytearray()
    try:
        for chunk in chunks:
            data += chunk
            if len(data) >= LOG_WINDOW:
                break
    finally:
        _close(chunks)  # the rest of the answer is not read
    if len(data) < LOG_WINDOW:
        return bytes(data), True
    return bytes(data[:data.rfind(b"\n") + 1]), False


def _at_most(chunks: Iterator[bytes], limit: int, cut: list[bool]) -> Iterator[bytes]:
    """`chunks` until `limit` bytes have come (a server that ignores `tailLines`, or inflates
    a small answer to gigabytes, is not read to its end); `cut` gets True when it stops so."""
    size = 0
    try:
        for chunk in chunks:
            yield chunk
            size += len(chunk)
            if size >= limit:
                cut.append(True)
                return
    finally:
        _close(chunks)


def _close(chunks: Iterator[bytes]) -> None:
    """Drop an answer its reader stopped reading (a generator's `close`)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _last(log: Iterator[str]) -> list[str]:
    """The log's last lines: `WINDOW_LINES` and `LOG_WINDOW` bytes at most."""
    kept: deque[str] = deque()
    size = 0
    for line in log:
        kept.append(line)
        size += len(line) + 1
        while size > LOG_WINDOW or len(kept) > WINDOW_LINES:
            size -= len(kept.popleft()) + 1
    return list(kept)


def _record_start(window: list[str], from_end: bool) -> int:
    """Where the window is cut so that no record is kept whose other part was not read: before
    the last line that starts a record (from the end), or at the first one after the first
    line (from the start); a window with no such line is dropped whole (a secret block of
    300 indented lines has no end within a few hundred lines)."""
    if from_end:
        return next((at for at in range(len(window) - 1, -1, -1)
                     if _starts_record(window, at)), 0)
    return next((at for at in range(1, len(window)) if _starts_record(window, at)),
                len(window))


def _starts_record(window: list[str], at: int) -> bool:
    line = window[at]
    return bool(line) and not _CONTINUES.match(line) and not (
        at > 0 and window[at - 1].rstrip().endswith("\\"))


def _shared(first: list[str], last: list[str]) -> int | None:
    """How many of `last`'s lines `first` already ends with (a log a little longer than one
    window), or None when there is a gap between them: the longest suffix of `first` that is a
    prefix of `last` (a prefix function, linear in their length), among those holding a line
    that `first` holds once; in a log of one line repeated, any place would match."""
    if not first or not last:
        return None
    ids: dict[str, int] = {}
    pattern = [ids.setdefault(line, len(ids)) for line in last]
    text = [ids.get(line, -1) for line in first]
    border = [0] * len(pattern)
    for at in range(1, len(pattern)):
        k = border[at - 1]
        while k and pattern[at] != pattern[k]:
            k = border[k - 1]
        border[at] = k + (pattern[at] == pattern[k])
    k = 0
    for value in text:
        while k and (k == len(pattern) or value != pattern[k]):
            k = border[k - 1]
        if value == pattern[k]:  # (k < len(pattern) here: the loop above sees to it)
            k += 1
    times = Counter(first)
    unique_from = [False] * (len(first) + 1)  # whether first[at:] holds a line it holds once
    for at in range(len(first) - 1, -1, -1):
        unique_from[at] = unique_from[at + 1] or times[first[at]] == 1
    while k:
        if unique_from[len(first) - k]:
            return k
        k = border[k - 1]
    return None


def lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Split a byte stream into text lines. A line past `MAX_LINE` bytes is cut: its first
    part is kept without the token the cut ends in, the rest is dropped (a piece starting in
    the middle of a record would show a secret's value without its key)."""
    pending = b""
    skipping = False
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            if skipping:
                skipping = False
                continue
            yield _text(raw)
        if len(pending) > MAX_LINE:
            if not skipping:
                yield _text(pending)  # cut
            pending = b""
            skipping = True
    if pending and not skipping:
        yield _text(pending)


def _text(raw: bytes) -> str:
    if len(raw) > MAX_LINE:
        return _text(_UNFINISHED.sub(b"", raw[:MAX_LINE])) + " [line cut]"
    return raw.decode("utf-8", "replace").rstrip("\r")
