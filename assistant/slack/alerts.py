"""Alertmanager intake: `POST /alerts` with the webhook payload (version 4).

Every alert group lives in one thread of the incident channel, keyed by Alertmanager's
`groupKey` and remembered in the store: the first firing notification posts the alert and
starts an investigation; a re-fire updates that message and notes it in the thread (and
investigates again when new alerts joined the group or it had resolved); a resolve posts a
resolution note. A restart of the app changes none of this: the thread is found again. Nor do
several replicas: webhooks for one group are handled one at a time (the store's alert-group
lock, across replicas with Postgres), and only the one that created the group's record posts.

A payload that is not JSON or not the webhook schema is a 400 with the reason, never a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..investigation import Request
from . import blocks
from .access import AccessPolicy
from .investigating import Investigations, Job, thread_key
from .messaging import Message, Messenger, SlackError
from .store import AlertGroup, Store

log = logging.getLogger(__name__)

SCOPE_LABELS = ("namespace", "pod", "deployment", "statefulset", "daemonset", "job", "cronjob",
                "service", "container", "node")


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str | None = Field(default=None, alias="startsAt")
    ends_at: str | None = Field(default=None, alias="endsAt")
    fingerprint: str = ""


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

    def name(self) -> str:
        return self.common_labels.get("alertname") or self.alerts[0].labels.get(
            "alertname", "alert")

    def question(self) -> str:
        """"KubePodCrashLooping pod=X namespace=Y": what the engine's scoping parses."""
        labels = (self.firing() or self.alerts)[0].labels
        scope = " ".join(f"{k}={labels[k]}" for k in SCOPE_LABELS if k in labels)
        return f"{labels.get('alertname', self.name())} {scope}".strip()


def parse(body: bytes) -> Webhook | str:
    """The webhook in `body`, or why it is not one."""
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as e:
        return f"body is not JSON: {e.msg} at line {e.lineno} column {e.colno}"
    except ValueError:
        return "body is not JSON: not UTF-8 text"
    try:
        return Webhook.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        return f"not an Alertmanager webhook (version 4): {where}: {first['msg']}{more}"


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
        if self.token and not hmac.compare_digest(authorization or "", f"Bearer {self.token}"):
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
        if hook.status == "resolved":
            if created or group.ts is None:
                self.store.forget_alert_group(key)
                return 200, {"status": "ignored", "reason": "no thread for this alert group"}
            if group.status != "resolved":
                self.messenger.post(group.channel, blocks.notice(
                    f":white_check_mark: Resolved at {_now()}."), group.ts)
                group.status = "resolved"
                self.messenger.update(group.channel, group.ts, _root(hook, group))
                self.store.save_alert_group(group)
            else:
                self.investigations.metrics.alerts_deduplicated.inc()
            return 200, {"status": "resolved"}
        fingerprints = sorted(a.fingerprint or json.dumps(a.labels, sort_keys=True)
                              for a in hook.firing())
        if created or group.ts is None:
            group.fired, group.status, group.fingerprints = 1, "firing", fingerprints
            try:
                group.ts = self.messenger.post(channel, _root(hook, group))
            except SlackError:
                self.store.forget_alert_group(key)  # Alertmanager retries; post then
                raise
            self.store.save_alert_group(group)
            self._investigate(hook, group)
            return 202, {"status": "investigating", "thread": group.ts}
        new = sorted(set(fingerprints) - set(group.fingerprints))
        reopened = group.status == "resolved"
        group.fired += 1
        group.status = "firing"
        group.fingerprints = sorted(set(group.fingerprints) | set(fingerprints))
        self.messenger.update(group.channel, group.ts, _root(hook, group))
        note = f":repeat: Firing again at {_now()}: {len(hook.firing())} alert(s) firing"
        note += " after it had resolved." if reopened else "."
        if new:
            note += f" {len(new)} new alert(s) joined the group."
        self.messenger.post(group.channel, blocks.notice(note), group.ts)
        self.store.save_alert_group(group)
        if new or reopened:
            self._investigate(hook, group)
        else:
            self.investigations.metrics.alerts_deduplicated.inc()
        return 200, {"status": "updated", "thread": group.ts}

    def _investigate(self, hook: Webhook, group: AlertGroup) -> None:
        assert group.ts is not None
        labels = (hook.firing() or hook.alerts)[0].labels
        access = self.policy.for_channel(group.channel)
        namespace = labels.get("namespace")
        if not access.readable or not access.permits(namespace):
            self.messenger.post(group.channel, blocks.notice(
                "Not investigated: this channel is not allowed to read where this alert "
                "fired."), group.ts)
            return
        # The alert's thread is a conversation: replies there continue it, no @mention needed.
        self.store.start_conversation(group.channel, group.ts)
        request = Request(question=hook.question(), namespace=namespace,
                          thread=thread_key(group.channel, group.ts),
                          user=f"alertmanager:{hook.receiver}", alert_labels=labels)
        headline = f"Investigating `{blocks.escape(hook.question())}`…"
        progress_ts = self.messenger.post(group.channel, blocks.progress(headline, []),
                                          group.ts)
        job = Job(request, group.channel, group.ts, progress_ts, headline, access,
                  interface="alerts")
        if not self.investigations.submit(job):
            self.messenger.update(group.channel, progress_ts, blocks.notice(
                ":hourglass: Too many investigations are running; this alert was not "
                "investigated. Mention me in this thread to try again."))


def _root(hook: Webhook, group: AlertGroup) -> Message:
    labels = (hook.firing() or hook.alerts)[0].labels
    scope = " ".join(f"{k}={labels[k]}" for k in SCOPE_LABELS if k in labels)
    about = hook.common_annotations.get("summary") or hook.alerts[0].annotations.get(
        "summary", "")
    if group.status == "resolved":
        head = f":white_check_mark: *RESOLVED* `{blocks.escape(hook.name())}`"
    else:
        times = f" (notified {group.fired} times, last at {_now()})" if group.fired > 1 else ""
        head = (f":rotating_light: *FIRING* `{blocks.escape(hook.name())}` · "
                f"{len(hook.firing())} alert(s){times}")
    lines = [head, f"`{blocks.escape(scope)}`" if scope else "", blocks.escape(about)]
    text = "\n".join(line for line in lines if line)
    return blocks.notice(text)


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M UTC")
