"""Conversation memory: a LangGraph checkpointer keyed by `Request.thread`.

SQLite under the state directory by default; Postgres when `memory.postgres_url` is set (the
`postgres` extra installs its checkpointer). A new process on the same file or database loses no
conversation.

Exceptions:

    MemoryConfigError (ValueError)   the configured memory cannot be opened: a sentence that
                                     names where and why, never the password; the driver's error
                                     is its `__cause__` (none for a malformed URL, whose
                                     parser error would quote the password)
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from ..postgres import CHECK, MALFORMED, describe, refusal
from ..settings import Settings


class MemoryConfigError(ValueError):
    """The conversation memory cannot be opened from the settings."""


def sqlite_path(settings: Settings) -> Path:
    return (settings.memory.sqlite_path or settings.state_dir / "memory.sqlite").expanduser()


@contextmanager
def open_memory(settings: Settings) -> Iterator[BaseCheckpointSaver[Any]]:
    """The configured checkpointer, open for the duration of the `with` block."""
    if settings.memory.postgres_url is not None:
        with _postgres(settings.memory.postgres_url.get_secret_value()) as saver:
            yield saver
        return
    path = sqlite_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), check_same_thread=False)
    except (OSError, sqlite3.Error) as e:
        raise MemoryConfigError(f"cannot open conversation memory at {path}") from e
    try:
        saver = SqliteSaver(connection)
        _set_up(saver, path)
        yield saver
    finally:
        connection.close()


def _set_up(saver: SqliteSaver, path: Path) -> None:
    """Creates the tables, one process at a time: workers start together, and SQLite refuses
    one of two connections switching a new file to WAL at once ("database is locked") without
    waiting for the other."""
    try:
        with open(path.with_name(f"{path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            saver.setup()
    except (OSError, sqlite3.Error) as e:
        raise MemoryConfigError(f"cannot set up conversation memory at {path}: {e}") from e


@contextmanager
def _postgres(url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError as e:
        raise MemoryConfigError("Postgres memory needs the postgres extra: "
                                "pip install 'sre-assistant[postgres]'") from e
    where = describe(url)
    if where is None:
        raise MemoryConfigError(MALFORMED) from None
    with ExitStack() as stack:
        try:
            saver = stack.enter_context(PostgresSaver.from_conn_string(url))
        except psycopg.Error as e:
            raise MemoryConfigError(f"cannot open conversation memory in Postgres ({where}): "
                                    f"{refusal(e)}; {CHECK}") from e
        try:
            saver.setup()
        except psycopg.Error as e:
            raise MemoryConfigError(
                f"cannot create the conversation memory tables in Postgres ({where}): the "
                f"server refused (SQLSTATE {e.sqlstate or 'unknown'}); {CHECK}, and that the "
                f"user may create tables in that database") from e
        yield saver
