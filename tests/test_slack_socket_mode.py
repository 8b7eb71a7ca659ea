"""Socket Mode: the same app, reached over a WebSocket that it dials itself (a local fake of
Slack's endpoint), acknowledging each envelope and answering through the Web API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.slack_api import BOT_USER, FakeSlack
from fakes.slack_env import SHOP, SRE, SlackEnv
from fakes.socket_mode import FakeSocketMode


@pytest.fixture
def socket() -> Iterator[FakeSocketMode]:
    fake_socket = FakeSocketMode().start()
    yield fake_socket
    fake_socket.stop()


@pytest.fixture
def env(tmp_path: Path, socket: FakeSocketMode) -> Iterator[SlackEnv]:
    fake = FakeSlack().start()
    fake.socket_url = socket.url
    try:
        with SlackEnv(tmp_path, fake=fake, mode="socket", app_token="xapp-test") as running:
            fake.wait_for(socket.connected, what="the app to dial in")
            yield running
    finally:
        fake.stop()


def test_slash_command_over_socket_mode(env: SlackEnv, socket: FakeSocketMode) -> None:
    started = time.monotonic()
    envelope = socket.send("slash_commands", {
        "command": "/sre", "text": "diagnose checkout -n shop", "channel_id": SHOP,
        "user_id": "U0ALICE", "team_id": "T0TEST", "api_app_id": "A0SRE",
        "response_url": f"{env.fake.url}/response/1", "trigger_id": "t1"})
    socket.wait_for_ack(envelope)
    assert time.monotonic() - started < 3
    root = env.fake.wait_for(lambda: env.fake.posts(channel=SHOP, top_level=True))[0]
    answer = env.fake.wait_for(lambda: [m for m in env.fake.posts(thread_ts=root.ts)
                                        if m.buttons()])[0]
    assert "DATABASE_URL" in answer.all_text()
    assert env.recorder.requests[0].thread == f"slack:{SHOP}:{root.ts}"


def test_socket_mode_retries_are_not_worked_twice(env: SlackEnv, socket: FakeSocketMode
                                                  ) -> None:
    body = {"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0SRE",
            "event_id": "Ev0SOCKET", "event_time": int(time.time()),
            "event": {"type": "app_mention", "channel": SRE, "user": "U0BOB", "ts": "9.000100",
                      "text": f"<@{BOT_USER}> why is checkout failing?", "event_ts": "9.000100"}}
    socket.wait_for_ack(socket.send("events_api", body, retry_attempt=0, retry_reason=""))
    socket.wait_for_ack(socket.send("events_api", body, retry_attempt=1,
                                    retry_reason="timeout"))
    env.fake.wait_for(lambda: [m for m in env.fake.posts(thread_ts="9.000100") if m.buttons()])
    assert len(env.recorder.requests) == 1


def test_http_events_are_not_served_in_socket_mode(env: SlackEnv) -> None:
    assert env.sender.command("help").status == 404
