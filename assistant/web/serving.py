"""`sre web`: the web chat on uvicorn, with the agent's memory (follow-ups in a browser session)
and runbook recall opened once for the process.

    sre web --snapshot examples/cascade      # then open http://127.0.0.1:8080
"""

from __future__ import annotations

import logging

import uvicorn

from tools import Cluster
from tools.restricting import Restricted

from ..investigation import Investigator
from ..settings import Settings, WebSettings
from .app import web_app
from .asking import Asking

log = logging.getLogger(__name__)


def restrict(cluster: Cluster, config: WebSettings) -> Cluster:
    """`cluster` as the web chat may read it: only the allow-listed namespaces, when set."""
    return cluster if config.namespaces is None else Restricted(cluster, config.namespaces)


def run_from_cli(settings: Settings, cluster: Cluster) -> int:
    """`sre web`: serve until interrupted."""
    from ..agent import Agent, MemoryConfigError, open_memory
    from ..exiting import EXIT_BAD_INPUT, Failure
    from ..recalling import Recaller

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    try:  # one memory (sessions continue across restarts) and one runbook index
        with open_memory(settings) as memory, Recaller(settings) as recaller:
            agent = Agent(settings, restrict(cluster, settings.web), checkpointer=memory,
                          recall=recaller)
            return serve(settings, agent)
    except MemoryConfigError as e:
        raise Failure(EXIT_BAD_INPUT, str(e)) from e


def serve(settings: Settings, investigator: Investigator) -> int:
    """Run until interrupted. Returns the exit code."""
    config = settings.web
    asking = Asking(investigator, workers=config.workers, queue_limit=config.queue_limit)
    server = uvicorn.Server(uvicorn.Config(web_app(asking, config), host=config.host,
                                           port=config.port, log_level="info"))
    if config.namespaces is not None:
        log.info("web chat reads namespaces %s only", ", ".join(config.namespaces) or "(none)")
    try:
        server.run()
    finally:
        asking.shutdown(wait=False)
    return 0
