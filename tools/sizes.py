"""How large one Kubernetes list may be, whether an API server sends it or a snapshot file holds
it, and a file read that keeps to a limit.

A list is parsed whole, and its objects take several times its bytes in memory: past
`MAX_LIST_BYTES` (a namespace of several thousand pods), an answer or a file is refused with a
sentence naming it, rather than read until memory runs out. Real snapshots are a few MB.

What a list takes in memory goes by its values more than its bytes: a parsed value takes 50
to 70 bytes, so 64 MiB of `{},` would take 1.6 GB, where Kubernetes objects, a few hundred
bytes of JSON each, averaging 20 or more to a value, take several times less. Past
`MAX_LIST_VALUES` (16 bytes to a value, at the byte limit) a list is refused before it is parsed.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_LIST_BYTES = 64 * 1024 * 1024
MAX_LIST_VALUES = MAX_LIST_BYTES // 16


def mib(size: int) -> str:
    """`67108864` -> `64 MiB`."""
    return f"{size / 1024 / 1024:g} MiB"


def read_at_most(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than `limit`: told by its size, before
    anything is read, and by reading no more than `limit + 1` bytes (a file still growing)."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size > limit:
            return None
        data = handle.read(limit + 1)
    return None if len(data) > limit else data


def too_many_values(data: bytes | bytearray) -> str | None:
    """What makes the JSON `data` too many values to parse, as words completing a sentence that
    names it (`holds more than 4,194,304 JSON values...`); None when it holds fewer than
    `MAX_LIST_VALUES`. Counted from the bytes that open or part values (`{`, `[`, `,`): a bound
    from above, told in milliseconds before a value is built."""
    count = data.count(b",") + data.count(b"{") + data.count(b"[")
    if count <= MAX_LIST_VALUES:
        return None
    return (f"holds more than {MAX_LIST_VALUES:,} JSON values, fewer than 16 bytes to a value "
            "(a Kubernetes object takes hundreds); parsed, they would take gigabytes")
