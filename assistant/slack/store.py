"""What the Slack app remembers across restarts, in one SQLite file under `state_dir`.

- alert groups: Alertmanager group -> the thread it lives in, its status and fingerprints, so a
  re-fire or a resolve lands in the same thread and a restart never posts an alert twice;
- answers: the request and the diagnosis behind each posted answer (for "Show evidence" and
  "Re-run");
- feedback: one vote per user per answer;
- conversations: threads the bot answers in (a follow-up there needs no @mention);
- seen events: Events API ids already handled (Slack retries; none is worked twice).

Each call opens its own connection, so the store is safe to use from any thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_groups (
    group_key TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT, status TEXT NOT NULL,
    fingerprints TEXT NOT NULL, fired INTEGER NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, thread_ts TEXT NOT NULL,
    request TEXT NOT NULL, diagnosis TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL, user TEXT NOT NULL, helpful INTEGER NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (answer_id, user));
CREATE TABLE IF NOT EXISTS conversations (
    channel TEXT NOT NULL, thread_ts TEXT NOT NULL, started REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts));
CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, at REAL NOT NULL);
"""
SEEN_EVENTS_KEPT = 24 * 3600.0


@dataclass
class AlertGroup:
    group_key: str
    channel: str
    ts: str | None
    status: str  # "firing" | "resolved"
    fingerprints: list[str]
    fired: int  # how many firing notifications arrived


@dataclass
class StoredAnswer:
    id: str
    channel: str
    thread_ts: str
    request: str  # Request JSON
    diagnosis: str  # Diagnosis JSON


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    # --- events --------------------------------------------------------------------------

    def first_sight(self, event_id: str) -> bool:
        """True the first time `event_id` is seen (then never again, for a day)."""
        now = time.time()
        with self._db() as db:
            db.execute("DELETE FROM seen_events WHERE at < ?", (now - SEEN_EVENTS_KEPT,))
            cursor = db.execute("INSERT OR IGNORE INTO seen_events VALUES (?, ?)",
                                (event_id, now))
            return cursor.rowcount == 1

    # --- alert groups --------------------------------------------------------------------

    def claim_alert_group(self, group_key: str, channel: str) -> tuple[AlertGroup, bool]:
        """The group's record, and whether this call created it (then the caller posts)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM alert_groups WHERE group_key = ?",
                             (group_key,)).fetchone()
            if row is None:
                db.execute("INSERT INTO alert_groups VALUES (?, ?, NULL, 'firing', '[]', 0, ?)",
                           (group_key, channel, time.time()))
                db.execute("COMMIT")
                return AlertGroup(group_key, channel, None, "firing", [], 0), True
            db.execute("COMMIT")
            return _group(row), False

    def save_alert_group(self, group: AlertGroup) -> None:
        with self._db() as db:
            db.execute("UPDATE alert_groups SET channel = ?, ts = ?, status = ?, fingerprints = ?,"
                       " fired = ?, updated = ? WHERE group_key = ?",
                       (group.channel, group.ts, group.status, json.dumps(group.fingerprints),
                        group.fired, time.time(), group.group_key))

    def forget_alert_group(self, group_key: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM alert_groups WHERE group_key = ?", (group_key,))

    # --- answers and feedback ------------------------------------------------------------

    def save_answer(self, answer: StoredAnswer) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                       (answer.id, answer.channel, answer.thread_ts, answer.request,
                        answer.diagnosis, time.time()))

    def answer(self, answer_id: str) -> StoredAnswer | None:
        with self._db() as db:
            row = db.execute("SELECT id, channel, thread_ts, request, diagnosis FROM answers"
                             " WHERE id = ?", (answer_id,)).fetchone()
        return StoredAnswer(*row) if row else None

    def record_feedback(self, answer_id: str, user: str, helpful: bool) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                       (answer_id, user, int(helpful), time.time()))

    def feedback(self, answer_id: str) -> dict[str, bool]:
        with self._db() as db:
            rows = db.execute("SELECT user, helpful FROM feedback WHERE answer_id = ?",
                              (answer_id,)).fetchall()
        return {user: bool(helpful) for user, helpful in rows}

    # --- conversations -------------------------------------------------------------------

    def start_conversation(self, channel: str, thread_ts: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO conversations VALUES (?, ?, ?)",
                       (channel, thread_ts, time.time()))

    def in_conversation(self, channel: str, thread_ts: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT 1 FROM conversations WHERE channel = ? AND thread_ts = ?",
                             (channel, thread_ts)).fetchone()
        return row is not None


def _group(row: tuple[str, str, str | None, str, str, int, float]) -> AlertGroup:
    key, channel, ts, status, fingerprints, fired, _ = row
    return AlertGroup(key, channel, ts, status, json.loads(fingerprints), fired)
