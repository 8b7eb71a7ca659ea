"""Alertmanager intake: `POST /alerts` with the webhook payload (version 4).

Every alert group lives in one thread of the incident channel, keyed by Alertmanager's
`groupKey` and remembered in the store with each alert's state (by fingerprint: firing or
resolved, and since when). The first firing notification posts the group (every alert, with its
summary, description and runbook link) and investigates every alert: one investigation per
object the alerts are about (knowledge/alert_labels.yaml says which label names it), answered
together when they share a root cause ("3 alerts, 1 root cause"). Later notifications say what
changed: alerts that joined (investigated), alerts that resolved, the group resolving or firing
again after it had resolved. A notification that changes nothing says nothing: within
`DUPLICATE_WINDOW` of the last one it is a duplicate (an Alertmanager HA peer, a retry) and adds
nothing at all; later it is a repeat and only updates the group's message. A notification older
than what the thread already knows (a slower peer's) changes nothing either.

A restart of the app changes none of this: the thread is found again. Nor do several replicas:
webhooks for one group are handled one at a time (the store's alert-group lock, across replicas
with Postgres), and only the one that created the group's record posts.

A payload that is not JSON or not the webhook schema is a 400 with the reason, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge import alert_labels

from ..gating import same_secret
from ..investigation import Request
from . import blocks
from .access import AccessPolicy
from .investigating import AlertJob, Asked, Investigations, thread_key
from .messaging import Message, Messenger, SlackError
from .store import AlertGroup, Store

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = 60.0  # seconds: an unchanged notification this soon is a duplicate
MAX_INVESTIGATED = 10  # objects investigated for one notification; the others are named
MAX_REMEMBERED = 500  # alerts a group remembers; the oldest resolved ones are forgotten first
_DESCRIPTION = 300  # characters of an alert's description in the group's message
_LINK = re.compile(r"https?://[^\s<>|`]+")


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str | None = Field(default=None, alias="startsAt")
    ends_at: str | None = Field(default=None, alias="endsAt")
    fingerprint: str = ""

    @property
    def key(self) -> str:
        return self.fingerprint or json.dumps(self.labels, sort_keys=True)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")

    def described(self) -> str:
        """"KubePodCrashLooping namespace=shop pod=X": the alert, without who reported it."""
        return alert_labels.describe(self.labels) or self.name


class Webhook(BaseModel):
    """Alertmanager's webhook body (https://prometheus.io/docs/alerting/latest/configuration/)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    alerts: list[Alert] = Field(min_length=1)

    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]

    def names(self) -> list[str]:
        """The alert names in the notification, firing ones first."""
        ordered = self.firing() + [a for a in self.alerts if a.status != "firing"]
        return list(dict.fromkeys(a.name for a in ordered))


def parse(body: bytes) -> Webhook | str:
    """The webhook in `body`, or why it is not one."""
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as e:
        return f"body is not JSON: {e.msg} at line {e.lineno} column {e.colno}"
    except ValueError:
        return "body is not JSON: not UTF-8 text"
    except RecursionError:  # past `bounding`'s depth check, were it ever misled
        return "body is not an Alertmanager webhook: it nests too deep"
    try:
        return Webhook.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        return f"not an Alertmanager webhook (version 4): {where}: {first['msg']}{more}"


@dataclass
class Changes:
    """What a notification tells the thread that it did not know."""

    joined: list[Alert] = field(default_factory=list)  # firing now, unknown or resolved before
    resolved: list[Alert] = field(default_factory=list)  # resolved now, firing before


def changes(hook: Webhook, group: AlertGroup) -> Changes:
    """Compare the notification with the group's alerts, and record it in `group.alerts`. An
    alert's episode is its startsAt: a resolve of an earlier episode, or the firing of an episode
    already resolved, is a slower peer's old news and changes nothing."""
    found = Changes()
    for alert in hook.alerts:
        since = alert.starts_at or ""
        before = group.alerts.get(alert.key)
        if before is not None and before["status"] != alert.status and since:
            if alert.status == "resolved" and before["since"] not in ("", since):
                continue  # the resolve of an earlier episode (this one fires on)
            if alert.status == "firing" and before["since"] == since:
                continue  # an episode already resolved, firing in an older notification
        if alert.status == "firing" and (before is None or before["status"] == "resolved"):
            found.joined.append(alert)
        elif alert.status == "resolved" and before is not None and before["status"] == "firing":
            found.resolved.append(alert)
        group.alerts[alert.key] = {"status": alert.status, "since": since}
    over = len(group.alerts) - MAX_REMEMBERED  # pods come and go: a group's history is bounded
    for key in [k for k, a in group.alerts.items() if a["status"] == "resolved"][:max(over, 0)]:
        del group.alerts[key]
    return found


class AlertIntake:
    def __init__(self, messenger: Messenger, store: Store, investigations: Investigations,
                 policy: AccessPolicy, channel: str | None, token: str | None) -> None:
        self.messenger = messenger
        self.store = store
        self.investigations = investigations
        self.policy = policy
        self.channel = channel
        self.token = token

    def receive(self, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON body for one webhook call."""
        if self.token and not same_secret((authorization or "").encode("latin-1"),  # as sent
                                          f"Bearer {self.token}"):
            return 401, {"error": "missing or wrong bearer token"}
        if not self.channel:
            return 503, {"error": "no incident channel configured (SRE_SLACK__INCIDENT_CHANNEL)"}
        hook = parse(body)
        if isinstance(hook, str):
            return 400, {"error": hook}
        self.investigations.metrics.alerts.labels(hook.status).inc()
        key = hashlib.sha256(hook.group_key.encode()).hexdigest()[:24]
        with self.store.alert_group_lock(key):  # one webhook per group at a time, any replica
            try:
                return self._handle(hook, key, self.channel)
            except SlackError as e:
                status = 503 if e.retryable else 502
                return status, {"error": f"could not post to Slack: {e.code}: {e.explanation}"}

    def _handle(self, hook: Webhook, key: str, channel: str) -> tuple[int, dict[str, Any]]:
        group, created = self.store.claim_alert_group(key, channel)
        if created or group.ts is None:
            if not hook.firing():
                self.store.forget_alert_group(key)
                self.investigations.metrics.alerts_deduplicated.inc()
                return 200, {"status": "ignored", "reason": "no thread for this alert group"}
            return self._open(hook, group, key, channel)
        was_firing = group.status == "firing"
        found = changes(hook, group)
        firing_now = any(a["status"] == "firing" for a in group.alerts.values())
        if not found.joined and not found.resolved and was_firing == firing_now:
            self.investigations.metrics.alerts_deduplicated.inc()
            if time.time() - group.updated < DUPLICATE_WINDOW:
                return 200, {"status": "duplicate", "thread": group.ts}
            if firing_now:  # a repeat: the message says it is still firing, the thread is quiet
                group.fired += 1
                self.messenger.update(group.channel, group.ts, _root(hook, group))
            self.store.save_alert_group(group)
            return 200, {"status": "unchanged", "thread": group.ts}
        group.status = "firing" if firing_now else "resolved"
        if found.joined:
            group.fired += 1
        self.messenger.update(group.channel, group.ts, _root(hook, group))
        for note in _notes(hook, found, was_firing, firing_now):
            self.messenger.post(group.channel, blocks.notice(note), group.ts)
        self.store.save_alert_group(group)
        if found.joined:
            self._investigate(hook, group, found.joined)
        return 200, {"status": "updated" if firing_now else "resolved", "thread": group.ts}

    def _open(self, hook: Webhook, group: AlertGroup, key: str,
              channel: str) -> tuple[int, dict[str, Any]]:
        """The group's first firing notification: its message, then its investigation."""
        changes(hook, group)
        group.fired, group.status = 1, "firing"
        try:
            group.ts = self.messenger.post(channel, _root(hook, group))
        except SlackError:
            self.store.forget_alert_group(key)  # Alertmanager retries; post then
            raise
        self.store.save_alert_group(group)
        self._investigate(hook, group, hook.firing())
        return 202, {"status": "investigating", "thread": group.ts}

    def _investigate(self, hook: Webhook, group: AlertGroup, alerts: list[Alert]) -> None:
        """One investigation per object `alerts` are about, in one job, its answers in the
        thread; alerts where the channel may not read are named, not investigated."""
        assert group.ts is not None
        access = self.policy.for_channel(group.channel)
        allowed = [a for a in alerts if access.readable
                   and access.permits(alert_labels.namespace(a.labels))]
        if len(allowed) < len(alerts):
            self.messenger.post(group.channel, blocks.notice(
                f"Not investigated: this channel is not allowed to read where "
                f"{len(alerts) - len(allowed)} of these alerts fired."), group.ts)
        if not allowed:
            return
        by_object: dict[str, list[Alert]] = {}
        for alert in allowed:
            found = alert_labels.subject(alert.labels)
            where = found.ref if found else alert_labels.namespace(alert.labels) or "cluster"
            by_object.setdefault(where, []).append(alert)
        asked = [Asked(_request(members, hook, group), [a.described() for a in members])
                 for members in list(by_object.values())[:MAX_INVESTIGATED]]
        if len(by_object) > MAX_INVESTIGATED:
            self.messenger.post(group.channel, blocks.notice(
                f"These alerts are about {len(by_object)} objects; the first {MAX_INVESTIGATED} "
                "were investigated. Mention me in this thread to ask about another."), group.ts)
        # The alert's thread is a conversation: replies there continue it, no @mention needed.
        self.store.start_conversation(group.channel, group.ts)
        count = sum(len(a.alerts) for a in asked)
        headline = (f"Investigating `{blocks.escape(asked[0].request.question)}`…"
                    if count == 1 else f"Investigating {count} alerts ({len(asked)} "
                    f"object{'s' if len(asked) != 1 else ''})…")
        progress_ts = self.messenger.post(group.channel, blocks.progress(headline, []),
                                          group.ts)
        job = AlertJob(asked, group.channel, group.ts, progress_ts, headline, access)
        if not self.investigations.submit(job):
            self.messenger.update(group.channel, progress_ts, blocks.notice(
                ":hourglass: Too many investigations are running; these alerts were not "
                "investigated. Mention me in this thread to try again."))


def _request(alerts: list[Alert], hook: Webhook, group: AlertGroup) -> Request:
    """The question for the alerts about one object: their names and what they are about."""
    assert group.ts is not None
    first = alerts[0]
    names = list(dict.fromkeys(a.name for a in alerts))
    question = " ".join(names) + first.described().removeprefix(first.name)
    return Request(question=question.strip(), namespace=alert_labels.namespace(first.labels),
                   thread=thread_key(group.channel, group.ts),
                   user=f"alertmanager:{hook.receiver}", alert_labels=first.labels)


def _notes(hook: Webhook, found: Changes, was_firing: bool, firing_now: bool) -> list[str]:
    """What the thread is told about a notification that changed something."""
    notes = []
    firing = len(hook.firing())
    if found.joined:
        again = "" if was_firing else " after it had resolved"
        note = (f":repeat: Firing again at {_now()}{again}: {firing} alert(s) firing. "
                f"{len(found.joined)} new alert(s) joined the group: "
                + ", ".join(f"`{blocks.escape(a.described())}`"
                            for a in found.joined[:blocks.MAX_ALERTS_LISTED]))
        notes.append(note + ("…" if len(found.joined) > blocks.MAX_ALERTS_LISTED else "."))
    if not firing_now:
        notes.append(f":white_check_mark: Resolved at {_now()}.")
    elif found.resolved:
        notes.append(f":white_check_mark: {len(found.resolved)} alert(s) resolved at {_now()}: "
                     + ", ".join(f"`{blocks.escape(a.described())}`"
                                 for a in found.resolved[:blocks.MAX_ALERTS_LISTED])
                     + f"; {firing} still firing.")
    return notes


def _root(hook: Webhook, group: AlertGroup) -> Message:
    """The group's message: its state, then each alert name with its summary and runbook, and
    each alert with its description."""
    names = hook.names()
    title = ", ".join(f"`{blocks.escape(n)}`" for n in names[:3]) + (
        f" and {len(names) - 3} more" if len(names) > 3 else "")
    if group.status == "resolved":
        head = f":white_check_mark: *RESOLVED* {title}"
    else:
        times = f" (notified {group.fired} times, last at {_now()})" if group.fired > 1 else ""
        head = f":rotating_light: *FIRING* {title} · {len(hook.firing())} alert(s){times}"
    lines = [head]
    grouped_by = " ".join(f"{k}={v}" for k, v in sorted(hook.group_labels.items()))
    if grouped_by:
        lines.append(f"Group: `{blocks.escape(grouped_by)}`")
    shown = 0
    for name in names:
        alerts = [a for a in hook.alerts if a.name == name]
        about = alerts[0].annotations
        summary = about.get("summary") or hook.common_annotations.get("summary", "")
        line = f"*{blocks.escape(name)}*" + (f" · {blocks.escape(summary)}" if summary else "")
        runbook = about.get("runbook_url", "")
        if _LINK.fullmatch(runbook):
            line += f" · <{blocks.escape(runbook)}|Runbook>"
        elif runbook:
            line += f" · runbook: `{blocks.escape(runbook)}`"
        lines.append(line)
        for alert in alerts:
            if shown == blocks.MAX_ALERTS_LISTED:
                break
            shown += 1
            mark = " _(resolved)_" if alert.status == "resolved" and group.status == "firing" \
                else ""
            described = alert.described().removeprefix(alert.name).strip() or alert.name
            text = f"• `{blocks.escape(described)}`{mark}"
            description = alert.annotations.get("description", "")
            if description:
                text += f": {blocks.escape(blocks.cut(description, _DESCRIPTION))}"
            lines.append(text)
    if len(hook.alerts) > shown:
        lines.append(f"…and {len(hook.alerts) - shown} more alert(s)")
    return blocks.notice("\n".join(lines))


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M UTC")
