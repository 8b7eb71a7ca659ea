"""Two replicas of the Slack app on one Postgres database (the real server of the `postgres`
fixture) and one fake Slack: a webhook or an event delivered to both at once is worked once, and
what one replica posted the other continues."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from fakes.alertmanager import alert, post, webhook
from fakes.slack_api import BOT_USER, FakeSlack, Posted
from fakes.slack_env import INCIDENTS, SRE, SlackEnv
from harness import PostgresServer

from assistant.settings import MemorySettings, Settings
from assistant.slack import blocks
from assistant.slack.store import StoreConfigError, open_store

T = TypeVar("T")
POD = "checkout-5f7d9c8b6-h2x7q"
OTHER_POD = "checkout-5f7d9c8b6-p8k4z"


@pytest.fixture
def replicas(postgres: PostgresServer, tmp_path: Path) -> Iterator[tuple[SlackEnv, SlackEnv]]:
    url = postgres.create_database()
    fake = FakeSlack().start()
    try:
        with SlackEnv(tmp_path / "a", fake=fake, postgres_url=url) as a, \
                SlackEnv(tmp_path / "b", fake=fake, postgres_url=url) as b:
            yield a, b
    finally:
        fake.stop()


def at_once(replicas: tuple[SlackEnv, SlackEnv], send: Callable[[SlackEnv], T]) -> list[T]:
    """`send` to both replicas at the same moment; their answers, in replica order."""
    start = threading.Barrier(len(replicas))

    def together(env: SlackEnv) -> T:
        start.wait()
        return send(env)

    with ThreadPoolExecutor(len(replicas)) as pool:
        return list(pool.map(together, replicas))


def answers(fake: FakeSlack, thread_ts: str, count: int) -> list[Posted]:
    return fake.wait_for(
        lambda: len([m for m in fake.posts(thread_ts=thread_ts) if m.buttons()]) >= count
        and [m for m in fake.posts(thread_ts=thread_ts) if m.buttons()],
        what=f"{count} answer(s) in thread {thread_ts}")


def test_an_alert_sent_to_both_replicas_lives_in_one_thread(
        replicas: tuple[SlackEnv, SlackEnv]) -> None:
    fake = replicas[0].fake
    replies = at_once(replicas, lambda env: post(env, webhook("firing", [alert(POD)])))
    assert sorted((status, doc["status"]) for status, doc in replies) == [
        (200, "duplicate"), (202, "investigating")]  # the other waited: nothing new to say
    root = fake.wait_for(lambda: fake.posts(channel=INCIDENTS, top_level=True))[0]
    assert {doc["thread"] for _, doc in replies} == {root.ts}
    assert "DATABASE_URL" in answers(fake, root.ts, 1)[0].all_text()
    assert "notified" not in root.all_text()
    assert not [m for m in fake.posts(thread_ts=root.ts) if "Firing again" in m.all_text()]
    first, other = (0, 1) if replies[0][0] == 202 else (1, 0)
    assert [len(env.recorder.requests) for env in replicas] == [
        1 if i == first else 0 for i in range(2)]

    status, doc = post(replicas[other], webhook("firing", [alert(POD), alert(OTHER_POD)]))
    assert (status, doc["status"], doc["thread"]) == (200, "updated", root.ts)
    fake.wait_for(lambda: [m for m in fake.posts(thread_ts=root.ts)  # its cause: answered
                           if "the same root cause as above" in m.all_text()])
    assert len(replicas[other].recorder.requests) == 1  # a new alert joined: investigated there
    assert "notified 2 times" in root.all_text()
    assert "1 new alert(s) joined" in "".join(m.all_text() for m in fake.posts(thread_ts=root.ts))

    resolved = webhook("resolved", [alert(POD, "resolved"), alert(OTHER_POD, "resolved")])
    assert sorted((s, d["status"]) for s, d in at_once(replicas, lambda env: post(env, resolved))
                  ) == [(200, "duplicate"), (200, "resolved")]
    assert "*RESOLVED* `KubePodCrashLooping`" in root.all_text()
    notes = [m for m in fake.posts(thread_ts=root.ts) if "Resolved at" in m.all_text()]
    assert len(notes) == 1
    assert len(fake.posts(channel=INCIDENTS, top_level=True)) == 1


def test_an_event_sent_to_both_replicas_is_answered_once_and_its_buttons_work_on_either(
        replicas: tuple[SlackEnv, SlackEnv]) -> None:
    fake = replicas[0].fake
    event = {"type": "app_mention", "channel": SRE, "user": "U0BOB", "ts": "1.000100",
             "text": f"<@{BOT_USER}> why is checkout failing?"}
    sent = at_once(replicas, lambda env: env.sender.event(event, event_id="Ev0TWICE"))
    assert [s.status for s in sent] == [200, 200]
    answer = answers(fake, "1.000100", 1)[0]
    assert "DATABASE_URL" in answer.all_text()
    assert sum(len(env.recorder.requests) for env in replicas) == 1
    assert len([m for m in fake.posts(thread_ts="1.000100") if m.buttons()]) == 1

    answer_id = answer.buttons()[blocks.HELPFUL]  # pressed in a replica that did not answer
    for env in replicas:
        env.sender.click(blocks.HELPFUL, answer_id, channel=SRE, message_ts=answer.ts)
    said = fake.wait_for(lambda: len(fake.responses()) >= 2 and fake.responses())
    assert {r["text"] for r in said} == {"Thanks <@U0ALICE>: recorded this answer as helpful."}
    assert replicas[0].app is not None and replicas[1].app is not None
    assert replicas[0].app.store.feedback(answer_id) == {"U0ALICE": True}
    assert replicas[1].app.store.in_conversation(SRE, "1.000100")


def test_a_wrong_password_is_one_clear_sentence(postgres: PostgresServer,
                                                tmp_path: Path) -> None:
    wrong = postgres.url(password="not-the-password")
    with pytest.raises(StoreConfigError) as error:
        open_store(Settings(state_dir=tmp_path, memory=MemorySettings(postgres_url=wrong)))
    assert str(error.value) == (
        f"cannot open the Slack app's state in Postgres (database postgres on "
        f"127.0.0.1:{postgres.port} as user sre): it refused the user name or password; "
        f"check memory.postgres_url (SRE_MEMORY__POSTGRES_URL)")
    assert isinstance(error.value.__cause__, psycopg.OperationalError)


def test_a_malformed_url_never_shows_its_password(tmp_path: Path) -> None:
    malformed = MemorySettings(postgres_url="postgresql://sre:s3cret@[::1")
    with pytest.raises(StoreConfigError) as error:
        open_store(Settings(state_dir=tmp_path, memory=malformed))
    assert "is not a valid Postgres URL" in str(error.value)
    assert "s3cret" not in "".join(traceback.format_exception(error.value))
