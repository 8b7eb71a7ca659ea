"""Alertmanager webhooks into the incident channel, over real HTTP: one thread per alert group,
re-fires and resolves in it, across a restart of the app; malformed payloads refused clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.alertmanager import alert, post, webhook
from fakes.slack_env import INCIDENTS, SlackEnv


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SlackEnv]:
    with SlackEnv(tmp_path) as running:
        yield running


POD = "checkout-5f7d9c8b6-h2x7q"
OTHER_POD = "checkout-5f7d9c8b6-p8k4z"


def test_fire_restart_refire_resolve_stays_in_one_thread(env: SlackEnv) -> None:
    fake = env.fake
    status, doc = post(env, webhook("firing", [alert(POD)]))
    assert (status, doc["status"]) == (202, "investigating")
    root = fake.wait_for(lambda: fake.posts(channel=INCIDENTS, top_level=True))[0]
    assert "*FIRING* `KubePodCrashLooping`" in root.all_text()
    assert f"namespace=shop pod={POD} container=checkout" in root.all_text()
    answer = fake.wait_for(lambda: [m for m in fake.posts(thread_ts=root.ts) if m.buttons()])
    assert "DATABASE_URL" in answer[0].all_text()
    request = env.recorder.requests[0]
    assert request.question == f"KubePodCrashLooping namespace=shop pod={POD} container=checkout"
    assert request.alert_labels["pod"] == POD and request.namespace == "shop"
    assert request.thread == f"slack:{INCIDENTS}:{root.ts}"

    env.restart()  # a new app object on the same state directory

    status, doc = post(env, webhook("firing", [alert(POD)]))
    assert (status, doc["status"], doc["thread"]) == (200, "updated", root.ts)
    assert len(fake.posts(channel=INCIDENTS, top_level=True)) == 1
    assert "notified 2 times" in root.all_text()
    fake.wait_for(lambda: [m for m in fake.posts(thread_ts=root.ts)
                           if "Firing again" in m.all_text()])
    assert len(env.recorder.requests) == 1  # same alerts: not investigated again

    post(env, webhook("firing", [alert(POD), alert(OTHER_POD)]))
    fake.wait_for(lambda: len([m for m in fake.posts(thread_ts=root.ts) if m.buttons()]) == 2)
    assert "1 new alert(s) joined" in "".join(m.all_text() for m in fake.posts(thread_ts=root.ts))

    env.sender.event({"type": "message", "channel": INCIDENTS, "user": "U0BOB",
                      "ts": "9.000100", "thread_ts": root.ts, "text": "is the node ok?"})
    fake.wait_for(lambda: len([m for m in fake.posts(thread_ts=root.ts) if m.buttons()]) == 3)
    assert {r.thread for r in env.recorder.requests} == {f"slack:{INCIDENTS}:{root.ts}"}

    status, doc = post(env, webhook("resolved", [alert(POD, "resolved"),
                                                 alert(OTHER_POD, "resolved")]))
    assert (status, doc["status"]) == (200, "resolved")
    assert "*RESOLVED* `KubePodCrashLooping`" in root.all_text()
    assert [m for m in fake.posts(thread_ts=root.ts) if "Resolved at" in m.all_text()]
    assert len(fake.posts(channel=INCIDENTS, top_level=True)) == 1
    assert post(env, webhook("resolved", [alert(POD, "resolved")]))[0] == 200
    assert len([m for m in fake.posts(thread_ts=root.ts) if "Resolved at" in m.all_text()]) == 1


def test_separate_groups_get_separate_threads_and_unknown_resolves_are_ignored(
        env: SlackEnv) -> None:
    post(env, webhook("firing", [alert(POD)]))
    post(env, webhook("firing", [alert(POD)], group_key='{}:{alertname="Other"}'))
    tops = env.fake.wait_for(lambda: len(env.fake.posts(top_level=True)) == 2
                             and env.fake.posts(top_level=True))
    assert tops[0].ts != tops[1].ts
    status, doc = post(env, webhook("resolved", [alert(POD, "resolved")], group_key="never"))
    assert (status, doc["status"]) == (200, "ignored")


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "body is not JSON: Expecting property name enclosed in double quotes"),
    (b"\xff\xfe", "body is not JSON"),
    (b"[]", "not an Alertmanager webhook (version 4): body:"),
    ({"version": "3", "groupKey": "k", "status": "firing", "alerts": [alert(POD)]},
     "version: Input should be '4'"),
    ({"version": "4", "groupKey": "k", "status": "firing", "alerts": []}, "alerts: List should"),
    ({"version": "4", "groupKey": "k", "status": "firing",
      "alerts": [{"status": "firing"}]}, "alerts.0.labels: Field required"),
    ({"version": "4", "groupKey": "k", "status": "burning", "alerts": [alert(POD)]},
     "status: Input should be 'firing' or 'resolved'"),
])
def test_malformed_payloads_are_400_with_the_reason(env: SlackEnv, body: bytes | dict[str, Any],
                                                    message: str) -> None:
    status, doc = post(env, body)
    assert status == 400
    assert message in doc["error"]
    assert env.fake.posts() == []


def test_bearer_token_when_configured(tmp_path: Path) -> None:
    with SlackEnv(tmp_path, alerts_token="s3cret") as env:
        assert post(env, webhook("firing", [alert(POD)]))[0] == 401
        assert post(env, webhook("firing", [alert(POD)]),
                    {"Authorization": "Bearer wrong"})[0] == 401
        status, _ = post(env, webhook("firing", [alert(POD)]),
                         {"Authorization": "Bearer s3cret"})
        assert status == 202


def test_slack_down_makes_alertmanager_retry(env: SlackEnv) -> None:
    env.fake.fail("chat.postMessage", "internal_error", status=500, times=1)
    status, doc = post(env, webhook("firing", [alert(POD)]))
    assert status == 503 and "could not post to Slack" in doc["error"]
    status, doc = post(env, webhook("firing", [alert(POD)]))  # Alertmanager's retry
    assert (status, doc["status"]) == (202, "investigating")
    assert len(env.fake.posts(top_level=True)) == 1


def test_alerts_outside_the_incident_channels_allow_list_are_not_investigated(
        tmp_path: Path) -> None:
    with SlackEnv(tmp_path, channel_namespaces={INCIDENTS: ["payments"]}) as env:
        assert post(env, webhook("firing", [alert(POD)]))[0] == 202
        root = env.fake.wait_for(lambda: env.fake.posts(top_level=True))[0]
        note = env.fake.wait_for(lambda: env.fake.posts(thread_ts=root.ts))[0]
        assert "Not investigated: this channel is not allowed to read" in note.all_text()
        assert env.recorder.requests == []
