"""Where the Slack app's tables live: one SQLite file (one replica) or Postgres (several).

    database = SqliteDatabase(path)             # or postgres_database(url)
    database.create(statements)                 # CREATE TABLE IF NOT EXISTS ...
    with database.session() as db:              # one connection, autocommit
        db.run("SELECT ... WHERE id = ?", id)   # `?` everywhere; Postgres gets `%s`
    with database.alert_group_lock(key): ...    # one worker at a time on that alert group

Both engines speak the same SQL (`INSERT ... ON CONFLICT`, quoted `"user"`) but for placeholders.
Each session opens its own connection, so a database is safe to use from any thread.

The alert-group lock: SQLite's is a thread lock, as one process owns the file. Postgres' is an
advisory lock (`pg_advisory_lock`) held by a connection of its own, so every replica sharing
the database takes its turn; closing the connection releases it, and so does a replica's death.

Exceptions:

    StoreConfigError (ValueError)   the database cannot be opened or its tables created: a
                                    sentence naming where and why, never the password; the
                                    driver's error is its `__cause__` (none for a malformed URL)
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..postgres import CHECK, MALFORMED, describe, refusal

if TYPE_CHECKING:
    import psycopg

_LOCKS = 0x53524553  # the first key of this app's advisory locks: "SRES"
_CONNECT_TIMEOUT = 10  # seconds


class StoreConfigError(ValueError):
    """The Slack app's state cannot be opened from the settings."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, statement: str, params: Sequence[Any], /) -> Cursor: ...


class Session:
    """One connection; statements are written with `?` and sent in the engine's style."""

    def __init__(self, connection: Connection, placeholder: str) -> None:
        self._connection = connection
        self._placeholder = placeholder

    def run(self, statement: str, *params: object) -> Cursor:
        return self._connection.execute(statement.replace("?", self._placeholder), params)


class Database(Protocol):
    def create(self, statements: Sequence[str]) -> None:
        """Run the CREATE statements; raises `StoreConfigError` when the engine refuses."""

    def session(self) -> AbstractContextManager[Session]: ...

    def alert_group_lock(self, key: str) -> AbstractContextManager[None]: ...


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def create(self, statements: Sequence[str]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.session() as db:
                db.run("PRAGMA journal_mode=WAL")
                for statement in statements:
                    db.run(statement)
        except (OSError, sqlite3.Error) as e:
            raise StoreConfigError(f"cannot open the Slack app's state at {self.path}") from e

    @contextmanager
    def session(self) -> Iterator[Session]:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield Session(connection, "?")
        finally:
            connection.close()

    @contextmanager
    def alert_group_lock(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield


class PostgresDatabase:
    def __init__(self, url: str, where: str) -> None:
        self._url = url  # with its password: never in a message
        self.where = where  # "database D on HOST:PORT as user U"

    def create(self, statements: Sequence[str]) -> None:
        import psycopg

        try:
            connection = self._connect()
        except psycopg.Error as e:
            raise StoreConfigError(f"cannot open the Slack app's state in Postgres "
                                   f"({self.where}): {refusal(e)}; {CHECK}") from e
        with connection, connection.transaction():
            try:  # replicas starting together: the first creates, the others wait and see
                connection.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCKS,))
                for statement in statements:
                    connection.execute(statement)
            except psycopg.Error as e:
                raise StoreConfigError(
                    f"cannot create the Slack app's tables in Postgres ({self.where}): the "
                    f"server refused (SQLSTATE {e.sqlstate or 'unknown'}); {CHECK}, and that "
                    f"the user may create tables in that database") from e

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._connect() as connection:
            yield Session(connection, "%s")

    @contextmanager
    def alert_group_lock(self, key: str) -> Iterator[None]:
        ident = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
        with self._connect() as connection:  # closing it releases the lock
            connection.execute("SELECT pg_advisory_lock(%s, %s)", (_LOCKS, ident))
            yield

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        return psycopg.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT)


def postgres_database(url: str) -> PostgresDatabase:
    """Raises `StoreConfigError` without the postgres extra or for a malformed URL."""
    try:
        import psycopg  # noqa: F401
    except ImportError as e:
        raise StoreConfigError("the Slack app's state in Postgres needs the postgres extra: "
                               "pip install 'sre-assistant[postgres]'") from e
    where = describe(url)
    if where is None:
        raise StoreConfigError(MALFORMED) from None
    return PostgresDatabase(url, where)
