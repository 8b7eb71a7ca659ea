"""How large one Kubernetes list may be, whether an API server sends it or a snapshot file holds
it, and a file read that keeps to a limit.

A list is parsed whole, and its objects take several times its bytes in memory: past
`MAX_LIST_BYTES` (a namespace of several thousand pods), an answer or a file is refused with a
sentence naming it, rather than read until memory runs out. Real snapshots are a few MB.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_LIST_BYTES = 64 * 1024 * 1024


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
