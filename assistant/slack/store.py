"""What the Slack app remembers across restarts and shares across replicas.

- alert groups: Alertmanager group -> the thread it lives in, its status and its alerts' (each
  by fingerprint: firing or resolved, since when), so a re-fire or a resolve lands in the same
  thread and a restart never posts an alert twice;
- answers: the request and the diagnosis behind each posted answer (for "Show evidence" and
  "Re-run");
- feedback: one vote per user per answer;
- conversations: threads the bot answers in (a follow-up there needs no @mention);
- seen events: Events API ids already handled (Slack retries; none is worked twice).

    store = open_store(settings)   # SQLite under state_dir; Postgres with memory.postgres_url

One replica keeps them in a SQLite file under `state_dir`. Several replicas keep them in the
Postgres database of conversation memory (`memory.postgres_url`), where the claims that must
happen once are single statements: `INSERT ... ON CONFLICT DO NOTHING` creates an alert group
or marks an event seen for exactly one caller, whichever replica it runs in, and webhooks for
one group take turns under `alert_group_lock`. The engines (`databases`) differ in nothing else
the store sees.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ..settings import Settings
from .databases import (
    Database,
    SqliteDatabase,
    StoreConfigError,
    postgres_database,
)

__all__ = ["AlertGroup", "Store", "StoreConfigError", "StoredAnswer", "open_store"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS alert_groups (
    group_key TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT, status TEXT NOT NULL,
    fingerprints TEXT NOT NULL, fired INTEGER NOT NULL, updated DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, thread_ts TEXT NOT NULL,
    request TEXT NOT NULL, diagnosis TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL, "user" TEXT NOT NULL, helpful INTEGER NOT NULL,
    at DOUBLE PRECISION NOT NULL, PRIMARY KEY (answer_id, "user"))""",
    """CREATE TABLE IF NOT EXISTS conversations (
    channel TEXT NOT NULL, thread_ts TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel, thread_ts))""",
    "CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)",
)
SEEN_EVENTS_KEPT = 24 * 3600.0


@dataclass
class AlertGroup:
    group_key: str
    channel: str
    ts: str | None
    status: str  # "firing" | "resolved"
    alerts: dict[str, dict[str, str]]  # fingerprint -> {"status": ..., "since": startsAt}
    fired: int  # how many firing notifications arrived
    updated: float = 0.0  # when a webhook last changed it (time.time())


@dataclass
class StoredAnswer:
    id: str
    channel: str
    thread_ts: str
    request: str  # Request JSON
    diagnosis: str  # Diagnosis JSON


class Store:
    """The tables, on whichever `Database`; every method is one short session."""

    def __init__(self, database: Database) -> None:
        self.database = database
        database.create(_SCHEMA)

    # --- events --------------------------------------------------------------------------

    def first_sight(self, event_id: str) -> bool:
        """True the first time `event_id` is seen, by any replica (then never again, for a day)."""
        now = time.time()
        with self.database.session() as db:
            db.run("DELETE FROM seen_events WHERE at < ?", now - SEEN_EVENTS_KEPT)
            cursor = db.run("INSERT INTO seen_events VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                            event_id, now)
            return cursor.rowcount == 1

    # --- alert groups --------------------------------------------------------------------

    def alert_group_lock(self, group_key: str) -> AbstractContextManager[None]:
        """Held while one webhook for the group is handled: the next waits, in any replica."""
        return self.database.alert_group_lock(group_key)

    def claim_alert_group(self, group_key: str, channel: str) -> tuple[AlertGroup, bool]:
        """The group's record, and whether this call created it (then the caller posts)."""
        with self.database.session() as db:
            created = db.run("INSERT INTO alert_groups VALUES (?, ?, NULL, 'firing', '[]', 0, ?)"
                             " ON CONFLICT (group_key) DO NOTHING",
                             group_key, channel, time.time()).rowcount == 1
            if created:
                return AlertGroup(group_key, channel, None, "firing", {}, 0, time.time()), True
            row = db.run("SELECT * FROM alert_groups WHERE group_key = ?", group_key).fetchone()
        return _group(row), False

    def save_alert_group(self, group: AlertGroup) -> None:
        with self.database.session() as db:
            db.run("UPDATE alert_groups SET channel = ?, ts = ?, status = ?, fingerprints = ?,"
                   " fired = ?, updated = ? WHERE group_key = ?",
                   group.channel, group.ts, group.status, json.dumps(group.alerts),
                   group.fired, time.time(), group.group_key)

    def forget_alert_group(self, group_key: str) -> None:
        with self.database.session() as db:
            db.run("DELETE FROM alert_groups WHERE group_key = ?", group_key)

    # --- answers and feedback ------------------------------------------------------------

    def save_answer(self, answer: StoredAnswer) -> None:
        with self.database.session() as db:
            db.run("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                   " channel = excluded.channel, thread_ts = excluded.thread_ts,"
                   " request = excluded.request, diagnosis = excluded.diagnosis,"
                   " created = excluded.created",
                   answer.id, answer.channel, answer.thread_ts, answer.request,
                   answer.diagnosis, time.time())

    def answer(self, answer_id: str) -> StoredAnswer | None:
        with self.database.session() as db:
            row = db.run("SELECT id, channel, thread_ts, request, diagnosis FROM answers"
                         " WHERE id = ?", answer_id).fetchone()
        return StoredAnswer(*row) if row else None

    def answers_in(self, channel: str, thread_ts: str) -> list[StoredAnswer]:
        """The answers posted in a thread, oldest first."""
        with self.database.session() as db:
            rows = db.run("SELECT id, channel, thread_ts, request, diagnosis FROM answers"
                          " WHERE channel = ? AND thread_ts = ? ORDER BY created",
                          channel, thread_ts).fetchall()
        return [StoredAnswer(*row) for row in rows]

    def record_feedback(self, answer_id: str, user: str, helpful: bool) -> None:
        with self.database.session() as db:
            db.run("INSERT INTO feedback VALUES (?, ?, ?, ?) ON CONFLICT (answer_id, \"user\")"
                   " DO UPDATE SET helpful = excluded.helpful, at = excluded.at",
                   answer_id, user, int(helpful), time.time())

    def feedback(self, answer_id: str) -> dict[str, bool]:
        with self.database.session() as db:
            rows = db.run("SELECT \"user\", helpful FROM feedback WHERE answer_id = ?",
                          answer_id).fetchall()
        return {user: bool(helpful) for user, helpful in rows}

    # --- conversations -------------------------------------------------------------------

    def start_conversation(self, channel: str, thread_ts: str) -> None:
        with self.database.session() as db:
            db.run("INSERT INTO conversations VALUES (?, ?, ?)"
                   " ON CONFLICT (channel, thread_ts) DO NOTHING", channel, thread_ts, time.time())

    def in_conversation(self, channel: str, thread_ts: str) -> bool:
        with self.database.session() as db:
            row = db.run("SELECT 1 FROM conversations WHERE channel = ? AND thread_ts = ?",
                         channel, thread_ts).fetchone()
        return row is not None


def open_store(settings: Settings) -> Store:
    """The configured store: Postgres when `memory.postgres_url` is set, else SQLite under
    `state_dir`. Raises `StoreConfigError` when it cannot be opened (never with the password)."""
    url = settings.memory.postgres_url
    database: Database
    if url is not None:
        database = postgres_database(url.get_secret_value())
    else:
        database = SqliteDatabase(settings.state_dir.expanduser() / settings.slack.state_file)
    return Store(database)


def _group(row: tuple[Any, ...]) -> AlertGroup:
    key, channel, ts, status, fingerprints, fired, updated = row
    alerts = json.loads(fingerprints)
    if isinstance(alerts, list):  # written before alerts kept their status: all were firing
        alerts = {f: {"status": "firing", "since": ""} for f in alerts}
    return AlertGroup(key, channel, ts, status, alerts, fired, float(updated))
