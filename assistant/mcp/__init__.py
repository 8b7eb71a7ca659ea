"""The MCP server: the assistant's read-only tools, `diagnose`, `ask` and runbook search for
editors and desktop agents (Claude Desktop, Cursor, VS Code), over stdio or streamable HTTP.

    server = build(cluster, agent, runbooks, settings.mcp)    # an `mcp` MCPServer
    app = http_app(server, settings.mcp)                       # ASGI, bearer token required

`sre mcp` runs it (`serving.run_from_cli`) with the same guard, redaction and namespace
allow-list as every other interface.
"""

from .serving import BearerGate, http_app, restrict, run_from_cli
from .toolset import BUSY, READ_ONLY, build

__all__ = ["BUSY", "READ_ONLY", "BearerGate", "build", "http_app", "restrict", "run_from_cli"]
