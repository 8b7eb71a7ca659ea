"""The real alert chain: Prometheus scrapes exporters the test controls, evaluates rules that fire
with kube-prometheus-stack's label sets, two Alertmanagers (HA peers whose gossip is late: both
notify) group the alerts and POST them to `sre slack`'s `/alerts` with a bearer token, and the
app talks to the local fake Slack API. What an on-call engineer sees: one thread per group,
every alert investigated and answered by root cause, what changed said once, nothing posted
twice across a restart of the app or the duplicate delivery, the resolve noted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from fakes.alertmanager import fixtures, rendered
from fakes.slack_api import Posted
from fakes.slack_env import INCIDENTS, SlackEnv
from harness.alerting import AlertChain, Exporter, Rule, Target, start_alerting
from harness.apiserver import _free_ports

TOKEN = "alertmanager-bearer-1f3c"
T = TypeVar("T")


def wait_for(check: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def rule(name: str) -> Rule:
    case = fixtures()["alerts"][name]
    return Rule(name, case["expr"], {"severity": case["labels"]["severity"]},
                case["annotations"])


def target(name: str, exporter: Exporter | None) -> Target:
    spec = fixtures()["targets"][name]
    address = exporter.address if exporter else f"127.0.0.1:{_free_ports(1)[0]}"
    return Target(name, address, dict(spec["labels"]), spec["metrics_path"],
                  bool(spec.get("honor_labels")))


def serve(exporter: Exporter, name: str, value: float | None = None) -> None:
    """The series that make alert `name` fire (`value`: each one's value instead)."""
    for metric, labels, default in fixtures()["alerts"][name]["series"]:
        exporter.set(metric, labels, default if value is None else value)


@pytest.fixture
def exporters() -> Iterator[dict[str, Exporter]]:
    running = {name: Exporter().start() for name, spec in fixtures()["targets"].items()
               if not spec.get("down")}
    yield running
    for exporter in running.values():
        exporter.stop()


def test_prometheus_fires_each_alert_with_the_label_set_of_the_fixtures(
        exporters: dict[str, Exporter]) -> None:
    """The label sets tests/test_alert_scoping.py scopes are what a real Prometheus sends:
    the same series, scrape targets (honor_labels) and rules, the alerts Alertmanager got."""
    alerts = fixtures()["alerts"]
    for name, case in alerts.items():
        if case["series"]:
            serve(exporters[case["target"]], name)
    chain = start_alerting([target(n, exporters.get(n)) for n in fixtures()["targets"]],
                           [rule(n) for n in alerts], webhook="http://127.0.0.1:9/alerts",
                           token=TOKEN, external_labels=fixtures()["external_labels"])
    try:
        got = wait_for(lambda: len(chain.firing()) >= len(alerts) and chain.firing(),
                       f"{len(alerts)} alerts in Alertmanager", timeout=60)
        assert chain.rule_health() == []
        assert sorted(a["labels"]["alertname"] for a in got) == sorted(alerts)
        for alert in got:
            case = alerts[alert["labels"]["alertname"]]
            assert alert["labels"] == case["labels"]
            assert alert["annotations"] == rendered(alert["labels"]["alertname"])
    finally:
        chain.stop()


PODS = ("checkout-7d9f8b6c4-x2k9p", "checkout-7d9f8b6c4-q8w5m")  # crashloop-missing-env's
WORKER = "payment-processing-worker-5b8c7f9d64-7rkzt"  # crashloop-app-exception's, in payments


def in_thread(env: SlackEnv, thread_ts: str, text: str) -> list[Posted]:
    return [m for m in env.fake.posts(thread_ts=thread_ts) if text in m.all_text()]


def answered(env: SlackEnv, thread_ts: str) -> list[Posted]:
    return [m for m in env.fake.posts(thread_ts=thread_ts) if m.buttons()]


def settle(chain: AlertChain, quiet: float = 3.0) -> None:
    """Until neither Alertmanager holds an active alert nor delivered anything for `quiet`
    seconds (more than a group interval): nothing is still on its way."""
    last, since = delivered(chain), time.monotonic()
    deadline = since + 30
    while time.monotonic() - since < quiet or chain.firing() or chain.firing(1):
        assert time.monotonic() < deadline, "the Alertmanagers did not settle"
        time.sleep(0.5)
        now = delivered(chain)
        if now != last:
            last, since = now, time.monotonic()


def delivered(chain: AlertChain) -> list[int]:
    """Webhook notifications each Alertmanager delivered (sent and not failed)."""
    return [sent - failed for sent, failed in chain.notifications()]


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[SlackEnv]:
    with SlackEnv(tmp_path, alerts_token=TOKEN) as env:
        yield env


def test_alertmanager_to_slack_one_thread_per_group_through_restart_duplicates_and_resolve(
        slack: SlackEnv) -> None:
    ksm, app = Exporter().start(), Exporter().start()
    crashloop = fixtures()["alerts"]["KubePodCrashLooping"]["series"][0]
    for pod in PODS:  # both pods of checkout crash-loop
        ksm.set(crashloop[0], dict(crashloop[1], pod=pod, uid=f"uid-{pod}"), 1)
    ksm.set(crashloop[0], dict(crashloop[1], namespace="payments", pod=WORKER,
                               container="worker", uid="uid-worker"), 1)  # another group
    serve(ksm, "KubeDeploymentReplicasMismatch")
    app.set("http_requests_total", {"code": "200"}, 42)
    rules = [rule("KubePodCrashLooping"), rule("KubeDeploymentReplicasMismatch"),
             rule("TargetDown")]
    rules[0].expr = rules[0].expr.replace("[5m]", "[2s]")  # the window in seconds, like the rest
    checkout = Target("checkout", app.address, {
        "container": "app", "endpoint": "metrics", "instance": "10.244.1.17:9102",
        "job": "checkout", "namespace": "shop", "pod": PODS[0], "service": "checkout"})
    chain = start_alerting([target("kube-state-metrics", ksm), checkout], rules,
                           webhook=f"{slack.url}/alerts", token=TOKEN, alertmanagers=2,
                           external_labels=fixtures()["external_labels"])
    fake = slack.fake
    try:
        # The group's first notification, from both Alertmanagers: one thread, one answer.
        tops = wait_for(lambda: len(fake.posts(channel=INCIDENTS, top_level=True)) == 2
                        and fake.posts(channel=INCIDENTS, top_level=True), "both groups")
        root, other = sorted(tops, key=lambda m: "Group: `namespace=shop`" not in m.all_text())
        assert "Group: `namespace=payments`" in other.all_text()
        assert "KeyError: 'currency'" in wait_for(  # crashloop-app-exception's root cause
            lambda: answered(slack, other.ts), "the payments answer")[0].all_text()
        wait_for(lambda: min(delivered(chain)) >= 1, "both Alertmanagers' first notification")
        text = root.all_text()
        assert text.startswith(":rotating_light: *FIRING* `") and " · 3 alert(s)" in text
        assert "*KubePodCrashLooping* · Pod is crash looping." in text
        assert "*KubeDeploymentReplicasMismatch* · Deployment has not matched" in text
        assert "Group: `namespace=shop`" in text
        assert "<https://runbooks.prometheus-operator.dev/runbooks/kubernetes/" \
               "kubepodcrashlooping|Runbook>" in text
        assert all(f"Pod shop/{pod} (app) is in waiting state" in text for pod in PODS)
        heading = wait_for(lambda: in_thread(slack, root.ts, "1 root cause*"), "the answer")
        assert "*3 alerts, 1 root cause*" in heading[0].all_text()
        assert "DATABASE_URL" in wait_for(lambda: answered(slack, root.ts), "answer")[0].all_text()
        assert sorted(r.question for r in slack.recorder.requests
                      if r.namespace == "shop") == [
            "KubeDeploymentReplicasMismatch namespace=shop deployment=checkout",
            f"KubePodCrashLooping namespace=shop pod={PODS[1]} container=app "
            "reason=CrashLoopBackOff",
            f"KubePodCrashLooping namespace=shop pod={PODS[0]} container=app "
            "reason=CrashLoopBackOff"]

        # The app is down while the group changes (checkout's metrics endpoint stops
        # answering: TargetDown joins); Alertmanager retries until the restarted app answers.
        slack.stop_app()
        app.up = False
        wait_for(lambda: all(failed >= 1 for _, failed in chain.notifications()),
                 "both Alertmanagers failing to deliver to the stopped app")
        slack.start()
        note = wait_for(lambda: in_thread(slack, root.ts, "Firing again"), "the re-fire note")
        wait_for(lambda: min(delivered(chain)) >= 2, "both Alertmanagers' second notification")
        assert "1 new alert(s) joined the group: `TargetDown namespace=shop service=checkout`" \
            in note[0].all_text()
        assert "notified 2 times" in root.all_text() and "4 alert(s)" in root.all_text()
        same = wait_for(lambda: in_thread(slack, root.ts, "the same root cause as above"),
                        "the new alert named under the answer it shares")
        assert "`TargetDown namespace=shop service=checkout`" in same[0].all_text()
        assert slack.recorder.requests[-1].question == "TargetDown namespace=shop service=checkout"

        # Everything resolves: both Alertmanagers say so, the thread hears it once.
        ksm.clear()
        app.up = True
        wait_for(lambda: "*RESOLVED*" in root.all_text(), "the group resolved")
        settle(chain)
        counts = delivered(chain)
    finally:
        chain.stop()
        ksm.stop()
        app.stop()
    assert len(fake.posts(channel=INCIDENTS, top_level=True)) == 2  # one thread per group
    assert len(in_thread(slack, root.ts, "Resolved at")) == 1
    assert len(in_thread(slack, other.ts, "Resolved at")) == 1
    assert len(answered(slack, other.ts)) == 1 and "*RESOLVED*" in other.all_text()
    assert len(in_thread(slack, root.ts, "Firing again")) == 1
    assert len(answered(slack, root.ts)) == 1 and len(slack.recorder.requests) == 5
    notes = [m.all_text() for m in fake.posts(thread_ts=root.ts)]
    assert len(notes) == len(set(notes))  # nothing said twice
    assert min(counts) >= 3  # each Alertmanager delivered the first, the re-fire, the resolve
