"""Investigations in worker processes (`assistant.service.processes`), as `sre slack` runs them:
the real Slack app over HTTP, signed requests, the fake Slack Web API, the real offline agent
with SQLite memory in each child, a snapshot cluster. The test's investigator names the process
it ran in; one question makes its child die."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.slack_api import BOT_USER, Posted
from fakes.slack_env import SHOP, SRE, SlackEnv
from prometheus_client.parser import text_string_to_metric_families

import tools
from assistant.diagnosis import Diagnosis
from assistant.investigation import Investigator, OnProgress, Request
from assistant.observing import Metrics
from assistant.service import Service
from assistant.service.processes import Children, started
from assistant.service.recipes import Opening, Recipe
from assistant.settings import ModelSettings, Settings
from tools import Cluster

INTERNAL = "Something went wrong on my side while investigating; it is logged."


class _Named:
    """The child's investigator, with the pid it ran in as a note; "segfault" kills the child."""

    def __init__(self, inner: Investigator) -> None:
        self.inner = inner

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        if "segfault" in request.question:
            os._exit(3)  # as a segfault in a native library would: no exception, no answer
        diagnosis = self.inner.investigate(request, on_progress)
        return diagnosis.model_copy(update={"notes": [*diagnosis.notes,
                                                      f"pid {os.getpid()}"]})


def named(service: Service, cluster: Cluster) -> Investigator:
    """The recipe's `make` (a module-level function: the child imports it by name)."""
    return _Named(service.investigator_for(cluster))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[SlackEnv, Children]]:
    env = SlackEnv(tmp_path, workers=2)
    children = Children(Recipe(env.settings, Opening.of(env.cluster, env.settings), named),
                        count=2)
    env.investigator = children
    try:
        with env:
            yield env, children
    finally:
        children.close()


def answers(env: SlackEnv, channel: str, thread_ts: str, count: int = 1) -> list[Diagnosis]:
    """The diagnoses answered in a thread (as stored with their buttons), once `count` are."""
    store = env.app.store if env.app else None
    assert store is not None
    env.fake.wait_for(lambda: len([m for m in env.fake.posts(thread_ts=thread_ts)
                                   if m.buttons()]) >= count, what=f"{count} answer(s)")
    return [Diagnosis.model_validate_json(a.diagnosis)
            for a in store.answers_in(channel, thread_ts)]


def root_of(env: SlackEnv, user: str) -> Posted:
    return env.fake.wait_for(lambda: [m for m in env.fake.posts(channel=SHOP, top_level=True)
                                      if f"<@{user}>" in m.all_text()],
                             what=f"the progress message for {user}")[0]


def test_a_command_is_investigated_in_a_worker_process_with_its_progress_shown(
        env: tuple[SlackEnv, Children]) -> None:
    slack, children = env
    assert slack.sender.command("diagnose checkout -n shop", channel=SHOP,
                                user="U0ONE").status == 200
    root = root_of(slack, "U0ONE")
    [diagnosis] = answers(slack, SHOP, root.ts)
    assert "DATABASE_URL" in diagnosis.summary
    pid = int(next(n for n in diagnosis.notes if n.startswith("pid ")).split()[1])
    assert pid != os.getpid() and pid in children.pids
    progress = slack.fake.wait_for(lambda: [m for m in slack.fake.posts(channel=SHOP)
                                            if m.ts == root.ts and ":white_check_mark:"
                                            in m.all_text()], what="the outcome")[0]
    assert progress.updates >= 2  # the child's steps, then the outcome


def test_a_worker_that_dies_is_an_internal_error_for_its_user_and_is_replaced(
        env: tuple[SlackEnv, Children]) -> None:
    slack, children = env
    before = children.pids
    assert slack.sender.command("ask why does checkout segfault?", channel=SHOP,
                                user="U0CRASH").status == 200
    root = root_of(slack, "U0CRASH")
    said = slack.fake.wait_for(lambda: [m for m in slack.fake.posts(channel=SHOP)
                                        if m.ts == root.ts and INTERNAL in m.all_text()],
                               timeout=30, what="the internal-error sentence")
    assert ":warning:" in said[0].all_text()
    for user in ("U0NEXT1", "U0NEXT2"):  # both children answer again, one of them new
        assert slack.sender.command("diagnose checkout -n shop", channel=SHOP,
                                    user=user).status == 200
        assert "DATABASE_URL" in answers(slack, SHOP, root_of(slack, user).ts)[0].summary
    after = children.pids
    assert len(after) == 2 and len(set(after) - set(before)) == 1


def test_a_follow_up_on_another_worker_continues_the_thread_from_memory(
        env: tuple[SlackEnv, Children]) -> None:
    slack, _ = env
    slack.sender.event({"type": "app_mention", "channel": SRE, "user": "U0BOB",
                        "ts": "1.000100",
                        "text": f"<@{BOT_USER}> why is payment-processing-worker crashing?"})
    [first] = answers(slack, SRE, "1.000100")
    slack.sender.event({"type": "message", "channel": SRE, "user": "U0BOB", "ts": "2.000100",
                        "thread_ts": "1.000100", "text": "show me its previous logs",
                        "channel_type": "channel"})
    second = answers(slack, SRE, "1.000100", count=2)[1]
    pids = [next(n for n in d.notes if n.startswith("pid ")) for d in (first, second)]
    assert pids[0] != pids[1]  # the idle children take turns
    reply = slack.fake.wait_for(lambda: [m for m in slack.fake.posts(thread_ts="1.000100")
                                         if m.buttons()][1:], what="the follow-up")[0]
    assert "About the diagnosis: Problem: Deployment payments/payment-processing-worker is " \
        "crashing" in reply.all_text()  # the other child read the first one's memory


def test_what_a_worker_counts_reaches_the_servers_metrics(tmp_path: Path) -> None:
    env = SlackEnv(tmp_path)
    settings = env.settings.model_copy(update={"model": ModelSettings(
        provider="openai-compatible", name="absent", base_url="http://127.0.0.1:9/v1")})
    metrics = Metrics()
    children = Children(Recipe(settings, Opening.of(env.cluster, settings)), count=1,
                        metrics=metrics)
    try:
        steps: list[object] = []
        diagnosis = children.viewing({"shop"}).investigate(Request(
            question="why is checkout failing?", namespace="shop", thread="metrics-1"),
            steps.append)
    finally:
        children.close()
        env.close()
    assert "DATABASE_URL" in diagnosis.summary  # the engine answered without the model
    assert steps  # progress crossed over as it went
    text = metrics.exposition()[0].decode()
    calls = {tuple(sorted(s.labels.items())): s.value
             for family in text_string_to_metric_families(text) for s in family.samples
             if s.name == "sre_model_calls_total"}
    assert calls[(("outcome", "error"), ("provider", "openai-compatible"))] >= 1


def test_settings_that_cannot_open_the_cluster_stop_the_start(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    opening = Opening(snapshot=tmp_path / "absent")
    with pytest.raises(Exception, match="snapshot unusable") as raised:
        Children(Recipe(settings, opening), count=1)
    assert raised.type.__name__ == "BadInput"


def test_a_worker_killed_while_idle_is_replaced_and_the_next_request_answered(
        tmp_path: Path) -> None:
    env = SlackEnv(tmp_path)
    children = Children(Recipe(env.settings, Opening.of(env.cluster, env.settings), named),
                        count=1)
    try:
        [killed] = children.pids
        os.kill(killed, signal.SIGKILL)  # as the kernel's OOM killer would, between requests
        while children.pids == [killed] and _alive(killed):
            time.sleep(0.05)
        diagnosis = children.viewing({"shop"}).investigate(Request(
            question="why is checkout failing?", namespace="shop", thread="killed-1"))
        assert "DATABASE_URL" in diagnosis.summary
        assert f"pid {killed}" not in diagnosis.notes and children.pids != [killed]
    finally:
        children.close()
        env.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except FileNotFoundError:
        return False


def test_a_workers_requests_to_the_apiserver_reach_the_servers_metrics(
        readonly_kubeconfig: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cluster = tools.open_cluster(kubeconfig=str(readonly_kubeconfig))  # as `--kubeconfig` does
    settings = Settings(state_dir=tmp_path / "state", KUBECONFIG=str(readonly_kubeconfig))
    metrics = Metrics()
    children = started(settings, cluster, count=1, metrics=metrics)
    assert children is not None
    try:
        children.viewing(None).investigate(Request(question="is anything failing?",
                                                   thread="live-1"))
    finally:
        children.close()
    sent = total(metrics, "sre_cluster_requests_total")
    assert sent > 0 and total(metrics, "sre_cluster_request_duration_seconds_count") == sent
    # the kubeconfig in a flag only (not in the settings): the workers could not open it
    # again, so the server says so and investigates in its own threads
    unset = Settings(state_dir=tmp_path / "state")
    with caplog.at_level(logging.WARNING):
        assert started(unset.model_copy(update={"kubeconfig": None}), cluster, count=1,
                       metrics=metrics) is None
    assert "investigations run in threads of this process" in caplog.text
    cluster.close()


def total(metrics: Metrics, name: str) -> float:
    """The sum of one series' samples over all its labels."""
    text = metrics.exposition()[0].decode()
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples if s.name == name)
