"""A running web chat for tests: the real app over real HTTP (uvicorn on a free loopback port),
the real agent offline (no model) with SQLite memory and runbook recall, on a snapshot cluster
made from scenario files.

    with WebEnv(tmp_path, namespaces=["shop"]) as env:
        page.goto(env.url)

The default cluster holds two scenarios: `shop` (checkout crash-loops, DATABASE_URL missing)
and `payments` (payment-processing-worker crash-loops on an exception).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from harness.scenarios import Scenario, write_snapshot_dir

import tools
from assistant.agent import Agent, open_memory
from assistant.recalling import Recaller
from assistant.settings import Settings, WebSettings
from assistant.slack import HttpServer
from assistant.web import Asking, restrict, web_app
from fakes.slack_env import DEFAULT_SCENARIOS, merged


class WebEnv:
    def __init__(self, state_dir: Path, *, scenario: Scenario | None = None,
                 namespaces: list[str] | None = None,
                 cluster: tools.Cluster | None = None, **web: Any) -> None:
        self.settings = Settings(state_dir=state_dir / "state",
                                 web=WebSettings(port=0, namespaces=namespaces, **web))
        if cluster is None:
            snapshot = write_snapshot_dir(scenario or merged(DEFAULT_SCENARIOS),
                                          state_dir / "snapshot")
            cluster = tools.open_cluster(snapshot=snapshot)
        self.cluster = cluster
        self.stack = ExitStack()
        self.server: HttpServer | None = None

    def start(self) -> WebEnv:
        memory = self.stack.enter_context(open_memory(self.settings))
        recaller = self.stack.enter_context(Recaller(self.settings))
        agent = Agent(self.settings, restrict(self.cluster, self.settings.web),
                      checkpointer=memory, recall=recaller)
        self.asking = Asking(agent, workers=2, queue_limit=4, source=self.cluster.source)
        app = web_app(self.asking, self.settings.web, restrict(self.cluster, self.settings.web),
                      whole=self.cluster)
        self.server = HttpServer(app, "127.0.0.1", 0).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.asking.shutdown(wait=True)
        self.stack.close()
        self.cluster.close()

    def __enter__(self) -> WebEnv:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
