"""Bounds on what an HTTP request may carry, for every server the assistant runs (the web chat,
the Slack app's events and alert intake): a body larger than its path allows is a 413, a JSON
body nested deeper than `MAX_DEPTH` is a 400, each with `{"error": sentence}`, before any
handler (or Bolt, or `json.loads`) sees it.

    api.add_middleware(BodyLimits, limits={"/api/ask": 64 * 1024})

The body is read once, at most its limit plus one chunk in memory, and handed on unchanged.
The depth is judged the way any parser may read the body, whatever its content type says: as
UTF-8 and in the encoding `json.loads` detects (UTF-16, UTF-32), whole and field by field as a
form (Slack's slash commands and button clicks, Bolt's `payload=`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 64  # Slack's and Alertmanager's payloads nest about 10 levels
DEFAULT_LIMIT = 1024 * 1024  # bytes, for a path with no limit of its own
_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)  # escapes first: `\"` is no quote


class BodyLimits:
    """ASGI middleware: per-path body size limits (413) and a JSON depth limit (400)."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], DEFAULT_LIMIT)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, f"The request is too large; at most {limit} bytes.")
            return
        body = await _read(receive, limit)
        if body is None:
            await _refuse(send, 413, f"The request is too large; at most {limit} bytes.")
            return
        if too_deep(body):
            await _refuse(send, 400, f"The request nests deeper than {MAX_DEPTH} levels; no "
                                     "valid request does.")
            return
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read, then the client's own messages (a streamed answer waits on them to learn
    that the client left)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _refuse(send: Send, status: int, sentence: str) -> None:
    body = json.dumps({"error": sentence}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def too_deep(body: bytes) -> bool:
    """Whether JSON in `body` nests past `MAX_DEPTH`, in any reading a parser may give it,
    whatever the content type claims: the whole body, and each form field (Bolt parses
    `payload=` in any body, and JSON in any body starting with `{`), read as UTF-8 (Bolt, a
    form) and in the encoding `json.loads` detects from the first bytes (UTF-16, UTF-32)."""
    return any(depth(text) > MAX_DEPTH or any(
        depth(value) > MAX_DEPTH for _, value in parse_qsl(text, keep_blank_values=True))
        for text in _readings(body))


def _readings(body: bytes) -> set[str]:
    return {body.decode("utf-8", "replace"), body.decode(json.detect_encoding(body), "replace")}


def depth(text: str) -> int:
    """How deep `[` and `{` nest in `text`, outside JSON strings; stops counting past the
    limit. Linear, and never recursive, whatever the input."""
    level = deepest = 0
    in_string = False
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char == '"':
            in_string = not in_string
        elif in_string or len(char) == 2:  # inside a string, or an escape: not structure
            continue
        elif char in "[{":
            level += 1
            if level > deepest:
                deepest = level
                if deepest > MAX_DEPTH:
                    return deepest
        else:
            level -= 1
    return deepest
