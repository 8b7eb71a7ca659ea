"""Alertmanager webhooks into the incident channel, over real HTTP, with hand-made payloads for
the cases a real Alertmanager makes hard to time (tests/test_alert_chain.py is the real chain):
one thread per alert group, every alert investigated and one root cause answered once, what
changed said in the thread, duplicates and a slower peer's old news quiet, across a restart of
the app; malformed payloads refused clearly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fakes.alertmanager import alert, post, replicas_mismatch, webhook
from fakes.slack_api import Posted
from fakes.slack_env import INCIDENTS, SlackEnv

from assistant.slack import alerts
from assistant.slack.store import AlertGroup


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SlackEnv]:
    with SlackEnv(tmp_path) as running:
        yield running


POD = "checkout-7d9f8b6c4-x2k9p"  # the two pods of crashloop-missing-env's checkout
OTHER_POD = "checkout-7d9f8b6c4-q8w5m"
RUNBOOK = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"


def answers(env: SlackEnv, thread_ts: str, count: int) -> list[Posted]:
    fake = env.fake
    return fake.wait_for(
        lambda: len([m for m in fake.posts(thread_ts=thread_ts) if m.buttons()]) >= count
        and [m for m in fake.posts(thread_ts=thread_ts) if m.buttons()],
        what=f"{count} answer(s) in thread {thread_ts}")


def notes(env: SlackEnv, thread_ts: str, text: str) -> list[Posted]:
    return [m for m in env.fake.posts(thread_ts=thread_ts) if text in m.all_text()]


def test_fire_restart_refire_resolve_stays_in_one_thread(env: SlackEnv) -> None:
    fake = env.fake
    status, doc = post(env, webhook("firing", [alert(POD)]))
    assert (status, doc["status"]) == (202, "investigating")
    root = fake.wait_for(lambda: fake.posts(channel=INCIDENTS, top_level=True))[0]
    assert "*FIRING* `KubePodCrashLooping`" in root.all_text()
    assert f"namespace=shop pod={POD} container=app" in root.all_text()
    assert "kube-state-metrics" not in root.all_text()  # who reported it is not what it is about
    assert "DATABASE_URL" in answers(env, root.ts, 1)[0].all_text()
    request = env.recorder.requests[0]
    assert request.question == (f"KubePodCrashLooping namespace=shop pod={POD} container=app "
                                "reason=CrashLoopBackOff")
    assert request.alert_labels["pod"] == POD and request.namespace == "shop"
    assert request.thread == f"slack:{INCIDENTS}:{root.ts}"

    env.restart()  # a new app object on the same state directory

    status, doc = post(env, webhook("firing", [alert(POD)]))  # a duplicate: nothing changed
    assert (status, doc["status"], doc["thread"]) == (200, "duplicate", root.ts)
    assert len(fake.posts(channel=INCIDENTS, top_level=True)) == 1
    assert len(env.recorder.requests) == 1

    status, doc = post(env, webhook("firing", [alert(POD), alert(OTHER_POD)]))
    assert (status, doc["status"], doc["thread"]) == (200, "updated", root.ts)
    assert "notified 2 times" in root.all_text() and OTHER_POD in root.all_text()
    assert len(notes(env, root.ts, "Firing again")) == 1
    assert "1 new alert(s) joined" in notes(env, root.ts, "Firing again")[0].all_text()
    same = env.fake.wait_for(lambda: notes(env, root.ts, "the same root cause as above"))
    assert "*1 alert, the same root cause as above*: `missing_env` on `Deployment/shop/checkout`" \
        in same[0].all_text() and OTHER_POD in same[0].all_text()  # named, not answered again
    assert len(answers(env, root.ts, 1)) == 1
    assert env.recorder.requests[1].alert_labels["pod"] == OTHER_POD  # only the new one

    env.sender.event({"type": "message", "channel": INCIDENTS, "user": "U0BOB",
                      "ts": "9.000100", "thread_ts": root.ts, "text": "is the node ok?"})
    answers(env, root.ts, 2)
    assert {r.thread for r in env.recorder.requests} == {f"slack:{INCIDENTS}:{root.ts}"}

    status, doc = post(env, webhook("firing", [alert(POD), alert(OTHER_POD, "resolved")]))
    assert (status, doc["status"]) == (200, "updated")
    assert "1 alert(s) resolved" in notes(env, root.ts, "resolved at")[0].all_text()
    status, doc = post(env, webhook("resolved", [alert(POD, "resolved"),
                                                 alert(OTHER_POD, "resolved")]))
    assert (status, doc["status"]) == (200, "resolved")
    assert "*RESOLVED* `KubePodCrashLooping`" in root.all_text()
    assert len(notes(env, root.ts, "Resolved at")) == 1
    assert len(fake.posts(channel=INCIDENTS, top_level=True)) == 1
    assert post(env, webhook("resolved", [alert(POD, "resolved")]))[0] == 200
    assert len(notes(env, root.ts, "Resolved at")) == 1
    assert len(env.recorder.requests) == 3


def test_every_alert_is_investigated_and_one_root_cause_answers_them_together(
        env: SlackEnv) -> None:
    post(env, webhook("firing", [alert(POD), alert(OTHER_POD), replicas_mismatch("checkout")]))
    root = env.fake.wait_for(lambda: env.fake.posts(channel=INCIDENTS, top_level=True))[0]
    text = root.all_text()
    assert "*FIRING* `KubePodCrashLooping`, `KubeDeploymentReplicasMismatch` · 3 alert(s)" in text
    assert f"<{RUNBOOK}|Runbook>" in text and "Pod is crash looping." in text
    assert f"Pod shop/{OTHER_POD} (app) is in waiting state" in text  # each description
    assert "namespace=shop deployment=checkout" in text
    answer = answers(env, root.ts, 1)[0]
    assert "DATABASE_URL" in answer.all_text()
    assert sorted(r.question.split()[0] + " " + r.question.split()[2]
                  for r in env.recorder.requests) == [
        "KubeDeploymentReplicasMismatch deployment=checkout",
        f"KubePodCrashLooping pod={OTHER_POD}", f"KubePodCrashLooping pod={POD}"]
    heading = notes(env, root.ts, "root cause*")
    assert len(heading) == 1 and "*3 alerts, 1 root cause*" in heading[0].all_text()
    progress = env.fake.wait_for(lambda: notes(env, root.ts, "3 alerts, 1 root cause: "))
    assert "missing_env on Deployment/shop/checkout" in progress[0].all_text()


def test_the_same_first_notification_twice_at_once_opens_one_quiet_thread(
        env: SlackEnv) -> None:
    start = threading.Barrier(2)

    def deliver(_: int) -> tuple[int, dict[str, Any]]:
        start.wait()
        return post(env, webhook("firing", [alert(POD)]))

    with ThreadPoolExecutor(2) as pool:
        replies = sorted((s, d["status"]) for s, d in pool.map(deliver, range(2)))
    assert replies == [(200, "duplicate"), (202, "investigating")]
    root = env.fake.wait_for(lambda: env.fake.posts(channel=INCIDENTS, top_level=True))[0]
    answers(env, root.ts, 1)
    assert notes(env, root.ts, "Firing again") == [] and "notified" not in root.all_text()
    assert len(env.recorder.requests) == 1


def test_a_slower_peers_older_notification_changes_nothing(env: SlackEnv) -> None:
    post(env, webhook("firing", [alert(POD)]))
    root = env.fake.wait_for(lambda: env.fake.posts(channel=INCIDENTS, top_level=True))[0]
    post(env, webhook("resolved", [alert(POD, "resolved")]))
    assert "*RESOLVED*" in root.all_text()
    status, doc = post(env, webhook("firing", [alert(POD)]))  # the same episode, late
    assert (status, doc["status"]) == (200, "duplicate")
    assert "*RESOLVED*" in root.all_text() and notes(env, root.ts, "Firing again") == []
    again = alert(POD) | {"startsAt": "2026-11-29T11:00:00Z"}  # a new episode: it fires again
    status, doc = post(env, webhook("firing", [again]))
    assert (status, doc["status"]) == (200, "updated")
    assert "after it had resolved" in notes(env, root.ts, "Firing again")[0].all_text()
    status, doc = post(env, webhook("resolved", [alert(POD, "resolved")]))  # the old episode's
    assert (status, doc["status"]) == (200, "duplicate")
    assert "*FIRING*" in root.all_text()
    env.fake.wait_for(lambda: notes(env, root.ts, "the same root cause as above"))


def test_alerts_about_the_exporter_are_about_the_object(env: SlackEnv) -> None:
    """A deployment alert carries kube-state-metrics' own pod, container and job: the question
    names the deployment only (no Job named kube-state-metrics, no exporter pod)."""
    post(env, webhook("firing", [replicas_mismatch("checkout")]))
    root = env.fake.wait_for(lambda: env.fake.posts(channel=INCIDENTS, top_level=True))[0]
    assert "DATABASE_URL" in answers(env, root.ts, 1)[0].all_text()
    request = env.recorder.requests[0]
    assert request.question == "KubeDeploymentReplicasMismatch namespace=shop deployment=checkout"
    assert "could not look into" not in "".join(m.all_text()
                                                for m in env.fake.posts(thread_ts=root.ts))


def test_separate_groups_get_separate_threads_and_unknown_resolves_are_ignored(
        env: SlackEnv) -> None:
    post(env, webhook("firing", [alert(POD)]))
    post(env, webhook("firing", [alert(POD)], group_key='{}:{namespace="payments"}'))
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
        for not_ascii in ("Bearer \u00e9", "Bearer s3cr\u00e9t"):  # a 401, never a 500
            assert post(env, webhook("firing", [alert(POD)]),
                        {"Authorization": not_ascii})[0] == 401
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


def test_a_repeat_after_the_duplicate_window_updates_the_message_only(
        env: SlackEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    post(env, webhook("firing", [alert(POD)]))
    root = env.fake.wait_for(lambda: env.fake.posts(channel=INCIDENTS, top_level=True))[0]
    answers(env, root.ts, 1)
    before = len(env.fake.posts(thread_ts=root.ts))
    monkeypatch.setattr(alerts, "DUPLICATE_WINDOW", 0.0)  # as if repeat_interval had passed
    status, doc = post(env, webhook("firing", [alert(POD)]))
    assert (status, doc["status"]) == (200, "unchanged")
    assert "notified 2 times" in root.all_text()
    assert len(env.fake.posts(thread_ts=root.ts)) == before  # the thread stays quiet
    assert len(env.recorder.requests) == 1


def test_a_notification_about_many_objects_investigates_the_first_ten(env: SlackEnv) -> None:
    pods = [f"checkout-7d9f8b6c4-{n:05d}" for n in range(12)]
    post(env, webhook("firing", [alert(pod) for pod in pods]))
    root = env.fake.wait_for(lambda: env.fake.posts(channel=INCIDENTS, top_level=True))[0]
    assert "…and 2 more alert(s)" in root.all_text()
    note = env.fake.wait_for(lambda: notes(env, root.ts, "the first 10 were investigated"))
    assert "about 12 objects" in note[0].all_text()
    answers(env, root.ts, 1)
    assert len(env.recorder.requests) == 10


def test_a_group_remembers_a_bounded_number_of_resolved_alerts() -> None:
    group = AlertGroup("k", INCIDENTS, "1.0", "firing", {
        f"fp-{n}": {"status": "resolved", "since": "2026-11-29T09:00:00Z"} for n in range(600)},
        3)
    group.alerts["fp-old-firing"] = {"status": "firing", "since": "2026-11-29T09:00:00Z"}
    hook = alerts.Webhook.model_validate(webhook("firing", [alert(POD)]))
    found = alerts.changes(hook, group)
    assert [a.labels["pod"] for a in found.joined] == [POD]
    assert len(group.alerts) == alerts.MAX_REMEMBERED
    assert group.alerts["fp-old-firing"]["status"] == "firing" and f"fp-{POD}" in group.alerts
    assert "fp-0" not in group.alerts and "fp-599" in group.alerts  # the oldest went first
