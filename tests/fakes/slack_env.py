"""A running Slack app for tests and the bench: the real Bolt app over real HTTP (uvicorn on a free
loopback port), the fake Slack Web API, and a snapshot cluster made from scenario files.

    with SlackEnv(tmp_path) as env:
        env.sender.command("diagnose checkout -n shop", channel=SHOP)
        env.fake.wait_for(...)

The default cluster holds two scenarios: `shop` (checkout crash-loops, DATABASE_URL missing)
and `payments` (payment-processing-worker crash-loops on an exception). Channel SHOP may read
`shop` only; channel SRE every namespace; INCIDENTS (the incident channel) every namespace.
With `postgres_url` the app keeps its state in that database: two envs on one URL and one
`fake` are two replicas of one deployment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.scenarios import SCENARIO_DIR, Scenario, load, write_snapshot_dir
from slack_bolt.adapter.socket_mode import SocketModeHandler

import tools
from assistant.diagnosis import Diagnosis
from assistant.investigation import EngineInvestigator, Investigator, OnProgress, Request
from assistant.settings import MemorySettings, Settings, SlackSettings
from assistant.slack import HttpServer, SlackApp, build, connect_socket_mode, http_app
from assistant.slack.investigating import InvestigatorFactory
from assistant.slack.runbooks import RunbookSearch
from fakes.slack_api import FakeSlack, SlackSender

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SHOP, SRE, INCIDENTS, ELSEWHERE, WATCHED = "C0SHOP", "C0SRE", "C0INCIDENT", "C0OTHER", "C0WATCH"
DEFAULT_SCENARIOS = ("crashloop-missing-env", "crashloop-app-exception")


def merged(names: tuple[str, ...]) -> Scenario:
    """Several scenarios as one cluster (their namespaces and nodes differ)."""
    parts = [load(SCENARIO_DIR / f"{name}.yaml") for name in names]
    first = parts[0]
    return replace(first, name="+".join(names),
                   objects=[o for p in parts for o in p.objects],
                   logs={k: v for p in parts for k, v in p.logs.items()},
                   previous_logs={k: v for p in parts for k, v in p.previous_logs.items()},
                   namespaces=sorted({n for p in parts for n in p.namespaces}))


@dataclass
class Recorder:
    """The engine behind the seam, remembering every request and the namespaces it could see."""

    requests: list[Request] = field(default_factory=list)
    visible: list[list[str]] = field(default_factory=list)

    def factory(self, cluster: tools.Cluster) -> Investigator:
        recorder, engine = self, EngineInvestigator(cluster)

        class Recording:
            def investigate(self, request: Request,
                            on_progress: OnProgress | None = None) -> Diagnosis:
                recorder.requests.append(request)
                recorder.visible.append(cluster.namespaces())
                return engine.investigate(request, on_progress)

        return Recording()


class SlackEnv:
    def __init__(self, state_dir: Path, *, snapshot: Path | None = None,
                 fake: FakeSlack | None = None, runbook_search: RunbookSearch | None = None,
                 investigator: InvestigatorFactory | None = None,
                 postgres_url: str | None = None, **slack: Any) -> None:
        self.state_dir = state_dir
        self.investigator = investigator
        self.runbook_search = runbook_search
        self.snapshot = snapshot or write_snapshot_dir(merged(DEFAULT_SCENARIOS),
                                                       state_dir / "snapshot")
        self.fake = fake or FakeSlack().start()
        self.own_fake = fake is None
        options: dict[str, Any] = {
            "bot_token": "xoxb-test", "signing_secret": SECRET,
            "api_base_url": self.fake.api_url, "incident_channel": INCIDENTS,
            "watched_channels": [WATCHED],
            "channel_namespaces": {SHOP: ["shop"], SRE: ["*"], INCIDENTS: ["*"],
                                   WATCHED: ["*"]},
            "port": 0, **slack}
        self.settings = Settings(state_dir=state_dir / "state",
                                 memory=MemorySettings(postgres_url=postgres_url),
                                 slack=SlackSettings(**options))
        self.recorder = Recorder()
        self.cluster = tools.open_cluster(snapshot=self.snapshot)
        self.app: SlackApp | None = None
        self.server: HttpServer | None = None
        self.port = 0  # the first start picks one; a restart keeps it (a Service in front)
        self.socket_mode: SocketModeHandler | None = None

    def start(self) -> SlackEnv:
        self.app = build(self.settings, self.cluster, self.investigator or self.recorder.factory,
                         self.runbook_search)
        socket_mode = self.settings.slack.mode == "socket"
        self.server = HttpServer(http_app(self.app, events=not socket_mode), "127.0.0.1",
                                 self.port).start()
        self.port = self.server.port
        self.sender = SlackSender(self.server.url, SECRET, self.fake)
        if socket_mode:
            self.socket_mode = connect_socket_mode(self.app, "xapp-test")
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def restart(self) -> None:
        """A new app object on the same state directory and port (what a pod restart is)."""
        self.stop_app()
        self.start()

    def stop_app(self) -> None:
        if self.socket_mode is not None:
            self.socket_mode.close()  # type: ignore[no-untyped-call]
            self.socket_mode = None
        if self.server is not None:
            self.server.stop()
        if self.app is not None:
            self.app.investigations.shutdown(wait=True)

    def close(self) -> None:
        self.stop_app()
        self.cluster.close()
        if self.own_fake:
            self.fake.stop()

    def __enter__(self) -> SlackEnv:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
