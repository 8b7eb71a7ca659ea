"""The Slack app end to end: the real Bolt app served over HTTP, signed requests as Slack sends
them, the fake Slack Web API recording what users would see, the real engine on a snapshot."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fakes.slack_api import BOT_USER, Posted
from fakes.slack_env import ELSEWHERE, SHOP, SRE, WATCHED, Recorder, SlackEnv

import tools
from assistant.agent import Agent, open_memory
from assistant.diagnosis import Diagnosis
from assistant.investigation import Investigator, OnProgress, Request
from assistant.settings import Settings
from assistant.slack import blocks
from assistant.slack.runbooks import knowledge_search


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SlackEnv]:
    with SlackEnv(tmp_path) as running:
        yield running


def answer_in(env: SlackEnv, thread_ts: str, count: int = 1) -> list[Posted]:
    """The answers (messages with buttons) in a thread, once `count` of them are there."""
    return env.fake.wait_for(
        lambda: [m for m in env.fake.posts(thread_ts=thread_ts) if m.buttons()][count - 1:]
        and [m for m in env.fake.posts(thread_ts=thread_ts) if m.buttons()],
        what=f"{count} answer(s) in thread {thread_ts}")


def first_post(env: SlackEnv, channel: str) -> Posted:
    return env.fake.wait_for(lambda: env.fake.posts(channel=channel, top_level=True),
                             what=f"a message in {channel}")[0]


def test_slash_diagnose_answers_at_once_then_in_a_thread(env: SlackEnv) -> None:
    sent = env.sender.command("diagnose deploy/checkout -n shop", channel=SHOP)
    assert sent.status == 200 and sent.body == ""
    assert sent.seconds < 3
    root = first_post(env, SHOP)
    assert "Looking into deploy/checkout in shop" in root.all_text()
    answer = answer_in(env, root.ts)[0]
    text = answer.all_text()
    first = answer.blocks[0]["text"]["text"]  # the verdict in one line, before anything else
    assert first.startswith(":red_circle: *Problem: Deployment shop/checkout is missing env "
                            "(90% confidence)*")
    shown = "\n".join(b["text"]["text"] for b in answer.blocks if b["type"] == "section")
    assert shown.count("DATABASE_URL is not set") == 1  # the root cause said once
    assert "proposed, not executed" in text
    assert text.index("proposed, not executed") < text.index("pieces of evidence")
    assert "```kubectl set env deployment/checkout -n shop DATABASE_URL=&lt;value&gt;```" in text
    assert "Show evidence" in text and "[status]" not in text  # evidence hidden at first
    assert set(answer.buttons()) == {blocks.SHOW_EVIDENCE, blocks.RERUN, blocks.HELPFUL,
                                     blocks.NOT_HELPFUL}
    done = env.fake.wait_for(lambda: "full answer is in the thread" in root.all_text()
                             and root, what="the first message updated with the outcome")
    # the progress folds into the verdict line; the summary is said in the thread only
    assert "Problem: Deployment shop/checkout is missing env" in done.all_text()
    assert "DATABASE_URL" not in done.all_text() and done.updates >= 1
    request = env.recorder.requests[0]
    assert (request.target, request.namespace) == ("deploy/checkout", "shop")
    assert request.thread == f"slack:{SHOP}:{root.ts}"


def test_ask_resolves_the_target_from_the_question(env: SlackEnv) -> None:
    env.sender.command("ask why is payment-processing-worker crashing?", channel=SRE)
    root = first_post(env, SRE)
    assert "why is payment-processing-worker crashing?" in root.all_text()
    text = answer_in(env, root.ts)[0].all_text()
    assert "is crashing" in text and "payment-processing-worker" in text


def test_mention_answers_in_a_thread_and_the_thread_continues(env: SlackEnv) -> None:
    env.sender.event({"type": "app_mention", "channel": SRE, "user": "U0BOB", "ts": "1.000100",
                      "text": f"<@{BOT_USER}> why is checkout failing?"})
    first = answer_in(env, "1.000100")[0]
    assert "DATABASE_URL" in first.all_text()
    env.sender.event({"type": "message", "channel": SRE, "user": "U0BOB", "ts": "2.000100",
                      "thread_ts": "1.000100", "text": "and what about payment-processing-worker?",
                      "channel_type": "channel"})
    both = answer_in(env, "1.000100", count=2)
    assert "payment-processing-worker is crashing" in both[1].all_text()
    threads = {r.thread for r in env.recorder.requests}
    assert threads == {f"slack:{SRE}:1.000100"}
    assert [r.question for r in env.recorder.requests] == [
        "why is checkout failing?", "and what about payment-processing-worker?"]


def test_messages_outside_conversations_are_ignored_but_watched_channels_answer(
        env: SlackEnv) -> None:
    env.sender.event({"type": "message", "channel": SRE, "user": "U0BOB", "ts": "5.000100",
                      "thread_ts": "4.000100", "text": "why is checkout failing?"})
    env.sender.event({"type": "message", "channel": WATCHED, "user": "U0BOB", "ts": "6.000100",
                      "text": "why is checkout failing?"})
    assert "DATABASE_URL" in answer_in(env, "6.000100")[0].all_text()
    assert env.fake.posts(thread_ts="4.000100") == []
    assert len(env.recorder.requests) == 1


def test_buttons_show_evidence_rerun_and_record_feedback(env: SlackEnv) -> None:
    env.sender.command("diagnose checkout -n shop", channel=SHOP)
    root = first_post(env, SHOP)
    answer = answer_in(env, root.ts)[0]
    answer_id = answer.buttons()[blocks.SHOW_EVIDENCE]

    assert env.sender.click(blocks.SHOW_EVIDENCE, answer_id, channel=SHOP,
                            message_ts=answer.ts).status == 200
    env.fake.wait_for(lambda: "*Evidence*" in answer.all_text(), what="evidence shown")
    assert "[status]" in answer.all_text() or "[event]" in answer.all_text()
    assert blocks.HIDE_EVIDENCE in answer.buttons()

    env.sender.click(blocks.HELPFUL, answer_id, channel=SHOP, message_ts=answer.ts)
    env.sender.click(blocks.NOT_HELPFUL, answer_id, channel=SHOP, message_ts=answer.ts,
                     user="U0CAROL")
    said = env.fake.wait_for(lambda: len(env.fake.responses()) >= 2 and env.fake.responses())
    assert {r["text"] for r in said} == {
        "Thanks <@U0ALICE>: recorded this answer as helpful.",
        "Thanks <@U0CAROL>: recorded this answer as not helpful."}
    assert env.app is not None
    assert env.app.store.feedback(answer_id) == {"U0ALICE": True, "U0CAROL": False}

    env.sender.click(blocks.RERUN, answer_id, channel=SHOP, message_ts=answer.ts)
    answers = answer_in(env, root.ts, count=2)
    assert "DATABASE_URL" in answers[1].all_text()
    assert env.recorder.requests[1].thread == env.recorder.requests[0].thread


def test_bad_signature_and_stale_timestamp_are_refused(env: SlackEnv) -> None:
    assert env.sender.command("help", secret="not-the-secret").status == 401
    stale = int(time.time()) - 6 * 60
    assert env.sender.command("help", timestamp=stale).status == 401
    assert env.sender.command("help").status == 200
    assert len(env.fake.wait_for(env.fake.responses)) == 1


def test_retried_events_are_not_worked_twice(env: SlackEnv) -> None:
    event = {"type": "app_mention", "channel": SRE, "user": "U0BOB", "ts": "7.000100",
             "text": f"<@{BOT_USER}> why is checkout failing?"}
    assert env.sender.event(event, event_id="Ev0RETRY").status == 200
    for attempt in ("1", "2"):
        sent = env.sender.event(event, event_id="Ev0RETRY", headers={
            "X-Slack-Retry-Num": attempt, "X-Slack-Retry-Reason": "http_timeout"})
        assert sent.status == 200
    answer_in(env, "7.000100")
    env.sender.event({**event, "ts": "8.000100"})  # a later event still flows afterwards
    answer_in(env, "8.000100")
    assert len(env.recorder.requests) == 2
    assert len([m for m in env.fake.posts(thread_ts="7.000100") if m.buttons()]) == 1


def test_allow_list_refuses_politely_and_restricts_what_is_read(env: SlackEnv) -> None:
    env.sender.command("diagnose payment-processing-worker -n payments", channel=SHOP)
    env.sender.command("diagnose -n no-such-namespace", channel=SHOP)
    said = env.fake.wait_for(lambda: len(env.fake.responses()) >= 2 and env.fake.responses())
    for reply in said:
        assert reply["text"] == ("Sorry, I can't look into that from this channel. "
                                 "Namespaces readable here: `shop`.")
    env.sender.command("diagnose checkout", channel=ELSEWHERE)
    refused = env.fake.wait_for(lambda: len(env.fake.responses()) >= 3 and env.fake.responses())
    assert "not set up to read the cluster" in refused[2]["text"]
    assert env.fake.posts(top_level=True) == [] and env.recorder.requests == []

    env.sender.command("ask why is payment-processing-worker crashing?", channel=SHOP)
    root = first_post(env, SHOP)
    text = answer_in(env, root.ts)[0].all_text()
    assert "payment" not in text.replace("payment-processing-worker crashing", "")
    assert env.recorder.visible == [["shop"]]


def test_a_question_naming_a_namespace_outside_the_allow_list_is_refused_as_n_is(
        env: SlackEnv) -> None:
    refusal = "Sorry, I can't look into that from this channel. Namespaces readable here: `shop`."
    env.sender.command("ask why is payment-processing-worker failing in payments?", channel=SHOP)
    env.sender.command("ask what is wrong in namespace kube-system?", channel=SHOP)
    said = env.fake.wait_for(lambda: len(env.fake.responses()) >= 2 and env.fake.responses())
    assert [reply["text"] for reply in said] == [refusal, refusal]
    env.sender.event({"type": "app_mention", "channel": SHOP, "user": "U0BOB", "ts": "7.000100",
                      "text": f"<@{BOT_USER}> why is payment-processing-worker failing in "
                              "payments?"})
    reply = env.fake.wait_for(lambda: env.fake.posts(channel=SHOP, thread_ts="7.000100"))[0]
    assert reply.text == refusal
    assert env.recorder.requests == []  # nothing was investigated
    env.sender.command("ask why is checkout failing in shop?", channel=SHOP)  # its own: answered
    assert "DATABASE_URL" in answer_in(env, first_post(env, SHOP).ts)[0].all_text()


class _NotKubernetes(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # what a web server that is not an API server says to anything
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"404 page not found")

    def log_message(self, *args: object) -> None:
        pass


def test_an_address_that_is_not_a_kubernetes_api_is_said_with_the_address(
        tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotKubernetes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}"
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "c", "cluster": {"server": address}}],
        "users": [{"name": "u", "user": {"token": "s3cr3t-t0ken-value"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}}]}))
    env = SlackEnv(tmp_path)
    env.cluster = tools.open_cluster(kubeconfig=str(config))
    try:
        with env:
            env.sender.command("diagnose checkout -n shop", channel=SHOP)
            root = first_post(env, SHOP)
            said = env.fake.wait_for(lambda: ":warning:" in root.all_text() and root,
                                     what="the progress message saying why").all_text()
            ready = urllib.request.Request(env.url + "/readyz")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(ready, timeout=5)
            with refused.value:
                status = json.loads(refused.value.read().decode())
    finally:
        server.shutdown()
        server.server_close()
    assert f"I could not read the cluster (context prod): {address}" in said
    assert "not as a Kubernetes API server does" in said and "Nothing was changed" in said
    assert "on my side" not in said and "s3cr3t" not in said
    assert refused.value.code == 503 and status["cluster"].startswith("I could not read")


def test_readyz_says_whether_the_cluster_and_slack_answer(env: SlackEnv) -> None:
    def get(path: str) -> tuple[int, dict[str, str] | str]:
        try:
            with urllib.request.urlopen(env.url + path, timeout=5) as response:
                body = response.read().decode()
                return response.status, json.loads(body) if path == "/readyz" else body
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read().decode())

    assert get("/healthz") == (200, "ok")
    status, said = get("/readyz")
    assert status == 200 and said == {"cluster": f"ok (snapshot {env.snapshot})",
                                      "slack": "ok"}
    env.fake.fail("auth.test", "invalid_auth")
    status, said = get("/readyz")
    assert status == 503 and isinstance(said, dict) and said["slack"].startswith("invalid_auth")
    assert get("/healthz") == (200, "ok")  # alive all the same: a restart would not help


@pytest.mark.parametrize("text", ["", "   ", "!!! ??? ###", "help"])
def test_empty_or_garbled_text_gets_help(env: SlackEnv, text: str) -> None:
    env.sender.command(text, channel=SHOP)
    reply = env.fake.wait_for(env.fake.responses)[0]
    assert reply["response_type"] == "ephemeral"
    assert "/sre diagnose [TARGET] [-n NAMESPACE]" in reply["text"]


def test_unknown_subcommand_suggests_the_closest(env: SlackEnv) -> None:
    env.sender.command("diagnoze checkout", channel=SHOP)
    reply = env.fake.wait_for(env.fake.responses)[0]
    assert "unknown command `diagnoze`" in reply["text"]
    assert "Did you mean `/sre diagnose`?" in reply["text"]


def test_runbook_search_not_configured_is_said(env: SlackEnv) -> None:
    env.sender.command("runbook crashloop", channel=SHOP)
    reply = env.fake.wait_for(env.fake.responses)[0]
    assert "Runbook search is not configured" in reply["text"]


def test_runbook_search_cites_the_knowledge_base(tmp_path: Path) -> None:
    import knowledge

    search = knowledge_search(knowledge.lexical_index(knowledge.read_library([])))
    with SlackEnv(tmp_path, runbook_search=search) as env:
        env.sender.command("runbook required environment variable is missing", channel=SHOP)
        reply = env.fake.wait_for(env.fake.responses)[0]
    text = "".join(b["text"]["text"] for b in reply["blocks"])
    assert "Runbooks for `required environment variable is missing`" in text
    assert "knowledge/runbooks/crashloop-missing-env.md" in text


def test_rate_limit_is_waited_out(env: SlackEnv) -> None:
    env.fake.fail("chat.postMessage", "ratelimited", status=429, retry_after=1)
    env.sender.command("diagnose checkout -n shop", channel=SHOP)
    root = first_post(env, SHOP)
    answer_in(env, root.ts)
    attempts = env.fake.calls_to("chat.postMessage")
    assert attempts[0].status == 429 and attempts[1].status == 200
    assert attempts[1].at - attempts[0].at >= 0.9


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel"])
def test_channel_errors_are_explained(env: SlackEnv, caplog: pytest.LogCaptureFixture,
                                      error: str) -> None:
    env.fake.fail("chat.postMessage", error)
    with caplog.at_level(logging.WARNING, logger="assistant.slack"):
        env.sender.command("diagnose checkout -n shop", channel=SHOP)
        reply = env.fake.wait_for(env.fake.responses)[0]
    assert reply["text"].startswith(":warning: I could not post here: ")
    assert "/invite @sre" in reply["text"]
    logged = [r.getMessage() for r in caplog.records if error in r.getMessage()]
    assert logged and "/invite @sre" in logged[0]
    assert env.recorder.requests == []


def test_a_full_queue_says_so_instead_of_waiting_forever(tmp_path: Path) -> None:
    release, started = threading.Event(), threading.Event()
    recorder = Recorder()

    def slow(cluster: tools.Cluster) -> Investigator:
        inner = recorder.factory(cluster)

        class Slow:
            def investigate(self, request: Request,
                            on_progress: OnProgress | None = None) -> Diagnosis:
                started.set()
                release.wait(timeout=30)
                return inner.investigate(request, on_progress)

        return Slow()

    with SlackEnv(tmp_path, investigator=slow, workers=1, queue_limit=0) as env:
        env.sender.command("diagnose checkout -n shop", channel=SHOP, user="U0FIRST")
        assert started.wait(timeout=10)  # the only worker is busy
        env.sender.command("diagnose checkout -n shop", channel=SHOP, user="U0SECOND")
        busy = env.fake.wait_for(lambda: [m for m in env.fake.posts(top_level=True)
                                          if "busy with other investigations" in m.all_text()])
        assert len(busy) == 1
        release.set()
        first = next(m for m in env.fake.posts(top_level=True) if "U0FIRST" in m.all_text())
        assert "DATABASE_URL" in answer_in(env, first.ts)[0].all_text()
    assert [r.user for r in recorder.requests] == ["U0FIRST"]


def test_a_thread_follow_up_is_answered_from_the_agents_memory_across_a_restart(
        tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "memory")
    with open_memory(settings) as memory, SlackEnv(
            tmp_path, investigator=lambda cluster: Agent(settings, cluster,
                                                         checkpointer=memory)) as env:
        env.sender.event({"type": "app_mention", "channel": SRE, "user": "U0BOB",
                          "ts": "1.000100",
                          "text": f"<@{BOT_USER}> why is payment-processing-worker crashing?"})
        assert "KeyError" in answer_in(env, "1.000100")[0].all_text()
        env.restart()
        env.sender.event({"type": "message", "channel": SRE, "user": "U0BOB", "ts": "2.000100",
                          "thread_ts": "1.000100", "text": "show me its previous logs",
                          "channel_type": "channel"})
        reply = answer_in(env, "1.000100", count=2)[1]
        env.sender.event({"type": "message", "channel": SRE, "user": "U0BOB", "ts": "3.000100",
                          "thread_ts": "1.000100", "text": "and its events?",
                          "channel_type": "channel"})
        events = answer_in(env, "1.000100", count=3)[2]
    follow_up = reply.all_text()
    assert "Previous logs: payment-processing-worker-" in follow_up
    sections = [b["text"]["text"] for b in reply.blocks if b["type"] == "section"]
    # the log itself as a code block, under the container and which run it is
    title = next(i for i, t in enumerate(sections) if t.startswith("*Previous log of container"))
    heading, _, code = sections[title].partition("\n```")
    assert heading.endswith("(the run before its last restart)*")
    assert "KeyError: 'currency'" in code and code.endswith("```")
    # a short reference back, not the diagnosis again
    assert "About the diagnosis: Problem: Deployment payments/payment-processing-worker is " \
        "crashing" in follow_up
    assert "Proposed remediation" not in follow_up and "Show evidence" not in follow_up
    assert events.all_text().count("Events: payment-processing-worker") >= 1
    assert "BackOff" in events.all_text() and "Proposed remediation" not in events.all_text()
