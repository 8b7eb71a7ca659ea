"""`sre mcp`: the MCP server over stdio (an editor or desktop agent starts it) or streamable
HTTP (`--http`, endpoint `/mcp`, every request with `Authorization: Bearer <SRE_MCP__TOKEN>`).

    sre mcp --snapshot examples/cascade          # stdio: the client's config names the command
    SRE_MCP__TOKEN=... sre mcp --http            # http://127.0.0.1:8090/mcp

Over stdio, stdout carries the protocol alone: logs go to stderr. Over HTTP, a request without
the token is a 401 and one whose Host is not a plain host name and port a 400, before the SDK
sees it; the SDK's own Host and Origin checks stop DNS rebinding while it listens on loopback.
"""

from __future__ import annotations

import json
import logging

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from tools import Cluster
from tools.restricting import Restricted

from .. import logs
from ..exiting import EXIT_BAD_INPUT, EXIT_OK, Failure
from ..gating import host_name, same_secret
from ..service import ConfigError, open_investigator
from ..settings import MCPSettings, Settings
from .toolset import build

log = logging.getLogger(__name__)

PATH = "/mcp"


class BearerGate:
    """ASGI middleware: HTTP requests need a plain `Host` (`gating.host_name`: a host name and
    port, else a 400) and `Authorization: Bearer <token>` (compared in constant time, else a
    401), each refusal `{"error": sentence}`. Lifespan messages pass through."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if host_name(headers.get(b"host", b"").decode("latin-1")) is None:
                await _refuse(send, 400, "The Host header is not a host name and port.")
                return
            if not same_secret(headers.get(b"authorization", b""), self.expected):
                await _refuse(send, 401, "This MCP server needs `Authorization: Bearer "
                                         "<token>` (SRE_MCP__TOKEN).",
                              [(b"www-authenticate", b'Bearer realm="sre-assistant"')])
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, sentence: str,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": sentence}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), *(headers or []),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def restrict(cluster: Cluster, config: MCPSettings) -> Cluster:
    """`cluster` as the MCP tools may read it: only the allow-listed namespaces, when set."""
    return cluster if config.namespaces is None else Restricted(cluster, config.namespaces)


def _token(config: MCPSettings) -> str:
    if config.token is None or not config.token.get_secret_value():
        raise Failure(EXIT_BAD_INPUT, "sre mcp --http needs SRE_MCP__TOKEN (the bearer token "
                                      "clients send); over stdio none is needed")
    return config.token.get_secret_value()


def http_app(server: MCPServer, config: MCPSettings) -> ASGIApp:
    """The streamable HTTP app behind the bearer gate; refuses to exist without a token."""
    token = _token(config)
    return BearerGate(server.streamable_http_app(streamable_http_path=PATH, host=config.host),
                      token)


def run_from_cli(settings: Settings, cluster: Cluster, *, http: bool) -> int:
    """`sre mcp [--http]`: serve until the client leaves (stdio) or until interrupted."""
    config = settings.mcp
    if http:
        _token(config)  # refused before anything is opened
    logs.configure(settings)  # stderr (stdout is stdio's), redacted, SRE_LOG__FORMAT
    readable = restrict(cluster, config)
    if config.namespaces is not None:
        log.info("MCP tools read namespaces %s only", ", ".join(config.namespaces) or "(none)")
    try:  # the set-up's errors only: nothing in the block raises ConfigError
        with open_investigator(settings, readable) as service:
            server = build(readable, service.investigator, service.runbooks(), config)
            if not http:
                anyio.run(server.run_stdio_async)
                return EXIT_OK
            uvicorn.Server(uvicorn.Config(http_app(server, config), host=config.host,
                                          port=config.port, log_config=None)).run()
    except ConfigError as e:
        raise Failure(EXIT_BAD_INPUT, str(e)) from e
    return EXIT_OK
