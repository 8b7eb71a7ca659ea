"""`sre web`: the web chat on uvicorn, with the agent's memory (follow-ups in a browser session)
and runbook recall opened once for the process.

    sre web --snapshot examples/cascade      # then open http://127.0.0.1:8080
"""

from __future__ import annotations

import logging
from contextlib import ExitStack

import uvicorn

from tools import Cluster
from tools.restricting import Restricted

from .. import logs, tracing
from ..investigation import Investigator
from ..observing import Metrics
from ..settings import Settings, WebSettings
from .app import web_app
from .asking import Asking

log = logging.getLogger(__name__)


def restrict(cluster: Cluster, config: WebSettings) -> Cluster:
    """`cluster` as the web chat may read it: only the allow-listed namespaces, when set."""
    return cluster if config.namespaces is None else Restricted(cluster, config.namespaces)


def run_from_cli(settings: Settings, cluster: Cluster) -> int:
    """`sre web`: serve until interrupted."""
    from ..exiting import EXIT_BAD_INPUT, Failure
    from ..service import ConfigError, open_investigator
    from ..service.processes import started

    logs.configure(settings)
    metrics = Metrics()
    metrics.watch_cluster(cluster)
    try:  # one memory (sessions continue across restarts) and one runbook index
        with open_investigator(settings, restrict(cluster, settings.web)) as service, \
                tracing.opened(settings.tracing) as traces, ExitStack() as stack:
            metrics.tracing = traces
            metrics.watch_model(service.model, settings.model.provider)
            investigator = service.investigator
            children = started(settings, cluster, count=settings.web.workers,
                               metrics=metrics) if settings.web.worker_processes else None
            if children is not None:
                stack.callback(children.close)
                investigator = children.viewing(settings.web.namespaces)
            return serve(settings, investigator, metrics, source=cluster.source,
                         cluster=service.cluster, whole=cluster)
    except ConfigError as e:
        raise Failure(EXIT_BAD_INPUT, str(e)) from e


def serve(settings: Settings, investigator: Investigator, metrics: Metrics | None = None, *,
          source: str | None = None, cluster: Cluster | None = None,
          whole: Cluster | None = None) -> int:
    """Run until interrupted. Returns the exit code."""
    config = settings.web
    asking = Asking(investigator, workers=config.workers, queue_limit=config.queue_limit,
                    metrics=metrics, source=source,
                    runbook_base_url=settings.knowledge.runbook_base_url)
    app = web_app(asking, config, cluster, whole)
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port,
                                           log_level="info",
                                           log_config=None))  # logs.configure's handler
    if config.namespaces is not None:
        log.info("web chat reads namespaces %s only", ", ".join(config.namespaces) or "(none)")
    try:
        server.run()
    finally:
        asking.shutdown(wait=False)
    return 0
