"""`sre slack`: the HTTP server (Slack events in HTTP mode, Alertmanager webhooks, health), and
the Socket Mode connection when the mode is `socket`.

    POST /slack/events   Slack's Events API, slash commands and button clicks (HTTP mode)
    POST /alerts         Alertmanager webhook (version 4)
    GET  /healthz        200 once serving (liveness)
    GET  /readyz         200 when the cluster and Slack answer now, else 503 saying which not
    GET  /metrics        Prometheus metrics (`observing`); with `metrics_token` set, only for
                         `Authorization: Bearer <token>`

A signed slash command is acknowledged by the event loop itself (an empty 200) and dispatched
to Bolt afterwards: the ack never waits for a thread. Bodies past `MAX_BODY` are a 413 and JSON
nested past `bounding.MAX_DEPTH` a 400, before Bolt or the alert intake parses them. A Slack
request is judged by its signature first, on the raw bytes: unsigned, stale or wrongly signed
is a 401 before anything decodes it; a signed body Bolt cannot read (not UTF-8, not JSON) a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tools import Cluster

from .. import logs, tracing
from ..bounding import BodyLimits
from ..gating import same_secret
from ..investigation import EngineInvestigator
from ..observing import Metrics
from ..service import readiness
from ..settings import Settings
from .app import SlackApp, build
from .investigating import InvestigatorFactory
from .messaging import SlackError
from .runbooks import RunbookSearch, knowledge_search
from .store import StoreConfigError

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # bytes; Slack's payloads and Alertmanager's groups are far smaller


_TEXT_FIELDS = ("type", "text", "channel", "user", "ts", "thread_ts", "team")


def _well_shaped(body: object) -> bool:
    """Whether a parsed Slack body has the shapes the listeners read: an object; its `event`
    and `user` objects; its `actions` a list of objects; their text fields strings."""
    if not isinstance(body, dict):
        return False
    event = body.get("event", {})
    if not isinstance(event, dict) or not isinstance(body.get("user", {}), (dict, str)):
        return False
    actions = body.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return False
    return all(isinstance(event.get(k, ""), str) for k in _TEXT_FIELDS)


def http_app(slack: SlackApp, *, events: bool = True, metrics_token: str | None = None
             ) -> FastAPI:
    """The ASGI app; Bolt's dispatch runs in a thread so one slow ack never blocks another."""
    api = FastAPI(title="sre-assistant slack", docs_url=None, redoc_url=None, openapi_url=None)
    api.add_middleware(BodyLimits, limits={"/slack/events": MAX_BODY, "/alerts": MAX_BODY})

    if events:
        @api.post("/slack/events")
        async def slack_events(request: Request) -> Response:
            body = await request.body()
            if slack.verifier is None or not signed_by_slack(slack.verifier, body,
                                                             request.headers):
                return JSONResponse({"error": "not a signed Slack request: the "
                                              "X-Slack-Request-Timestamp or X-Slack-Signature "
                                              "header is missing, stale or wrong"},
                                    status_code=401)
            try:  # Bolt decodes UTF-8 and parses JSON here (ValueErrors), then reads the
                bolt_request = to_bolt_request(request, body)  # body as an object: a list or
            except (ValueError, RecursionError, AttributeError, TypeError):  # a string fails
                return JSONResponse({"error": "A signed Slack request whose body is not the "
                                              "UTF-8 JSON or form data Slack sends."},
                                    status_code=400)
            if not _well_shaped(bolt_request.body):
                return JSONResponse({"error": "A signed Slack request whose body is not shaped "
                                              "as Slack sends it (an object, with an object "
                                              "`event`, text fields as strings)."},
                                    status_code=400)
            if _is_command(request, body):
                # A signed /sre command: Slack gets its 200 now, from the event loop; Bolt
                # dispatches it on its own threads (its listener's ack() is then a no-op).
                slack.dispatch_later(bolt_request)
                return Response(status_code=200)
            bolt_response = await run_in_threadpool(slack.bolt.dispatch, bolt_request)
            return to_starlette_response(bolt_response)

    @api.post("/alerts")
    async def alerts(request: Request) -> Response:
        body = await request.body()
        status, doc = await run_in_threadpool(slack.alerts.receive, body,
                                              request.headers.get("authorization"))
        return JSONResponse(doc, status_code=status)

    @api.get("/healthz")
    async def healthz() -> Response:  # liveness: the process serves
        return PlainTextResponse("ok")

    @api.get("/readyz")
    async def readyz() -> Response:  # readiness: the cluster and Slack both answer now
        cluster = slack.investigations.cluster
        problem = await run_in_threadpool(readiness, cluster)
        said = {"cluster": str(problem) if problem else f"ok ({cluster.source})"}
        try:
            await run_in_threadpool(slack.messenger.check_token)
            said["slack"] = "ok"
        except SlackError as e:
            said["slack"] = f"{e.code}: {e.explanation}"
        ready = problem is None and said["slack"] == "ok"
        return JSONResponse(said, status_code=200 if ready else 503)

    @api.get("/metrics")
    async def metrics(request: Request) -> Response:
        if metrics_token is not None and not same_secret(
                request.headers.get("authorization", "").encode("latin-1"),  # as sent
                f"Bearer {metrics_token}"):
            return JSONResponse({"error": "the metrics need SRE_SLACK__METRICS_TOKEN: send "
                                          "Authorization: Bearer <token>"}, status_code=401)
        body, content_type = slack.investigations.metrics.exposition()
        return Response(body, media_type=content_type)

    return api


_STAMP = re.compile(r"[0-9]{1,12}")
_FRESH = 5 * 60  # seconds: Slack's own replay window


def signed_by_slack(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]
                    ) -> bool:
    """Whether Slack signed `body` in the last five minutes (`v0=` HMAC-SHA256 of
    `v0:<timestamp>:<body>` with the signing secret), judged on the raw bytes before anything
    decodes or parses them: any header value, any body, is a yes or a no, never an error."""
    stamp = headers.get("x-slack-request-timestamp", "")
    if not _STAMP.fullmatch(stamp) or abs(verifier.clock.now() - int(stamp)) > _FRESH:
        return False
    signed = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(verifier.signing_secret.encode(), signed,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(),
                               headers.get("x-slack-signature", "").encode("latin-1"))


def _is_command(request: Request, body: bytes) -> bool:
    return (request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded") and b"command=" in body[:200]
        and b"payload=" not in body[:200])


SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005


def favour_acks() -> None:
    """Let the event loop that acknowledges Slack's requests take the interpreter back from
    the investigation threads within 1 ms instead of 5 (`sys.setswitchinterval`): 50
    concurrent `/sre` on 2 loaded cores, ack p99 13-274 ms (median of 6 runs 188) at 5 ms,
    14-215 ms (median 70) at 1 ms (bench/slack.py). Process-wide: `sre slack` calls it."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def connect_socket_mode(slack: SlackApp, app_token: str) -> SocketModeHandler:
    """Dial Slack (Socket Mode); events then arrive over the socket, not POST /slack/events."""
    handler = SocketModeHandler(slack.bolt, app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    return handler


class HttpServer:
    """uvicorn in a background thread on an already bound socket (port 0: any free port)."""

    def __init__(self, api: FastAPI, host: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        config = uvicorn.Config(api, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> HttpServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the HTTP server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def missing_settings(settings: Settings) -> list[str]:
    """The settings `sre slack` cannot start without, as environment variable names."""
    config = settings.slack
    needed = {"SRE_SLACK__BOT_TOKEN": config.bot_token}
    if config.mode == "socket":
        needed["SRE_SLACK__APP_TOKEN"] = config.app_token
    else:
        needed["SRE_SLACK__SIGNING_SECRET"] = config.signing_secret
    return [name for name, value in needed.items() if value is None]


def run_from_cli(settings: Settings, cluster: Cluster) -> int:
    """`sre slack`: serve until interrupted; 2 when a needed setting is missing."""
    from ..exiting import EXIT_BAD_INPUT, Failure
    from ..service import ConfigError, open_investigator
    from ..service.processes import started

    missing = missing_settings(settings)
    if missing:
        raise Failure(EXIT_BAD_INPUT, "sre slack needs " + ", ".join(missing)
                      + " (see README, Slack)")
    logs.configure(settings)
    favour_acks()
    metrics = Metrics()
    try:  # one memory (threads continue across restarts) and one runbook index for the process
        with open_investigator(settings, cluster) as service, \
                tracing.opened(settings.tracing) as traces, ExitStack() as stack:
            metrics.tracing = traces
            metrics.watch_model(service.model, settings.model.provider)
            factory: InvestigatorFactory = service.investigator_for
            children = started(settings, cluster, count=settings.slack.workers,
                               metrics=metrics) if settings.slack.worker_processes else None
            if children is not None:
                stack.callback(children.close)
                factory = children
            return serve(settings, cluster, knowledge_search(service.runbooks()), factory,
                         metrics)
    except (ConfigError, StoreConfigError) as e:
        raise Failure(EXIT_BAD_INPUT, str(e)) from e
    except SlackError as e:
        raise Failure(EXIT_BAD_INPUT, f"Slack: {e.code}: {e.explanation}") from e


def serve(settings: Settings, cluster: Cluster, runbook_search: RunbookSearch | None = None,
          investigator: InvestigatorFactory = EngineInvestigator,
          metrics: Metrics | None = None) -> int:
    """Run until interrupted. Returns the exit code."""
    config = settings.slack
    slack = build(settings, cluster, investigator, runbook_search, metrics)
    socket_mode = None
    if config.mode == "socket" and config.app_token is not None:
        socket_mode = connect_socket_mode(slack, config.app_token.get_secret_value())
    token = config.metrics_token.get_secret_value() if config.metrics_token else None
    api = http_app(slack, events=socket_mode is None, metrics_token=token)
    server = uvicorn.Server(uvicorn.Config(api, host=config.host, port=config.port,
                                           log_level="info",
                                           log_config=None))  # logs.configure's handler
    try:
        server.run()
    finally:
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        slack.close()
    return 0
