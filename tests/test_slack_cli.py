"""`sre slack` as a user starts it: a subprocess configured by environment variables, serving
until interrupted; and a clear exit 2 when a needed setting is missing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from fakes.slack_api import FakeSlack, SlackSender
from fakes.slack_env import DEFAULT_SCENARIOS, SECRET, merged
from harness.scenarios import write_snapshot_dir

from assistant import cli

SRE = str(Path(sys.executable).with_name("sre"))


def test_missing_settings_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith("SRE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path))
    snapshot = write_snapshot_dir(merged(DEFAULT_SCENARIOS), tmp_path / "snap")
    with pytest.raises(SystemExit) as ended:
        cli.main(["slack", "--snapshot", str(snapshot)])
    assert ended.value.code == 2
    assert "sre slack needs SRE_SLACK__BOT_TOKEN, SRE_SLACK__SIGNING_SECRET" in \
        capsys.readouterr().err


def test_sre_slack_serves_commands_and_runbooks(tmp_path: Path) -> None:
    snapshot = write_snapshot_dir(merged(DEFAULT_SCENARIOS), tmp_path / "snap")
    fake = FakeSlack().start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SRE_")},
           "SRE_SLACK__BOT_TOKEN": "xoxb-test", "SRE_SLACK__SIGNING_SECRET": SECRET,
           "SRE_SLACK__API_BASE_URL": fake.api_url, "SRE_SLACK__PORT": str(port),
           "SRE_SLACK__CHANNEL_NAMESPACES": '{"*": ["shop"]}',
           "SRE_STATE_DIR": str(tmp_path / "state")}
    process = subprocess.Popen([SRE, "slack", "--snapshot", str(snapshot)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        fake.wait_for(lambda: _healthy(url), timeout=30, what="sre slack to serve")
        sender = SlackSender(url, SECRET, fake)
        assert sender.command("diagnose checkout -n shop", channel="C0ANY").status == 200
        root = fake.wait_for(lambda: fake.posts(top_level=True))[0]
        answer = fake.wait_for(lambda: [m for m in fake.posts(thread_ts=root.ts)
                                        if m.buttons()])[0]
        assert "DATABASE_URL" in answer.all_text()
        sender.command("runbook required environment variable missing", channel="C0ANY")
        reply = fake.wait_for(fake.responses)[0]
        assert "crashloop-missing-env.md" in "".join(b["text"]["text"] for b in reply["blocks"])
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        fake.stop()
    assert "Application shutdown complete" in output


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False
