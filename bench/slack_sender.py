"""N concurrent signed `/sre` commands from their own process, as Slack sends them (never from
the app's interpreter): `python bench/slack_sender.py URL SECRET FAKE_URL N TEXT CHANNEL`
prints one JSON list of [user, seconds] (each command's ack latency)."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.slack_api import FakeSlack, SlackSender  # noqa: E402


def main() -> None:
    url, secret, fake_url, count, text, channel = sys.argv[1:7]
    fake = FakeSlack.__new__(FakeSlack)  # only its URL: the sender names response_urls on it
    fake.url = fake_url  # type: ignore[misc]
    sender = SlackSender(url, secret, fake)
    users = [f"U{i:04d}" for i in range(int(count))]
    sys.stdin.readline()  # "go": the app is warm and the clock runs

    def send(user: str) -> list[object]:
        sent = sender.command(text, channel=channel, user=user)
        if sent.status != 200:
            raise SystemExit(f"{user}: HTTP {sent.status} {sent.body}")
        return [user, sent.seconds]

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        print(json.dumps(list(pool.map(send, users))), flush=True)


if __name__ == "__main__":
    main()
