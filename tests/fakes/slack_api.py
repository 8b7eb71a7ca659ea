"""A local fake of the Slack Web API that records every call, and a client that talks to an app
the way Slack does (signed requests).

    fake = FakeSlack().start()               # WebClient(base_url=fake.api_url)
    fake.fail("chat.postMessage", "ratelimited", status=429, retry_after=1)
    slack = SlackSender(app_url, SIGNING_SECRET, fake)
    slack.command("/sre", "diagnose checkout -n shop", channel="C1")
    fake.wait_for(lambda: fake.posts(thread_ts=...))

It keeps the state a user would see: every message by channel and ts, with its latest
text and blocks after updates, and what was sent to each `response_url`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")
BOT_USER = "UBOT0SRE"


@dataclass
class Call:
    method: str  # "chat.postMessage", or "response_url"
    args: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class Posted:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    updates: int = 0
    at: float = field(default_factory=time.monotonic)  # when it was posted

    def all_text(self) -> str:
        """Everything a reader sees in the message: text of every block, then the fallback."""
        return "\n".join(_texts(self.blocks)) + "\n" + self.text

    def buttons(self) -> dict[str, str]:
        """action_id -> value of every button."""
        return {e["action_id"]: e["value"] for b in self.blocks if b["type"] == "actions"
                for e in b["elements"]}


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for value in node.values() for t in _texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, Posted] = {}  # ts -> message
        self.socket_url: str | None = None  # what apps.connections.open hands out
        self._failures: dict[str, list[tuple[str, int, int | None]]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                status, headers, body = fake._handle(self.path, self.headers.get(
                    "Content-Type", ""), raw)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                data = json.dumps(body).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = self.url + "/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- scripting -----------------------------------------------------------------------

    def fail(self, method: str, error: str, *, times: int = 1, status: int = 200,
             retry_after: int | None = None) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(error, status, retry_after)] * times)

    # --- what happened -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self, *, channel: str | None = None, thread_ts: str | None = None,
              top_level: bool = False) -> list[Posted]:
        with self._lock:
            found = list(self.messages.values())
        return [m for m in found if (channel is None or m.channel == channel)
                and (thread_ts is None or m.thread_ts == thread_ts)
                and (not top_level or m.thread_ts is None)]

    def responses(self) -> list[dict[str, Any]]:
        return [c.args for c in self.calls_to("response_url")]

    def wait_for(self, probe: Callable[[], T], timeout: float = 15.0, what: str = "") -> T:
        """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or probe}; calls: "
                                     f"{[c.method for c in self.calls]}")
            time.sleep(0.02)

    # --- the server side -----------------------------------------------------------------

    def _handle(self, path: str, content_type: str, raw: str
                ) -> tuple[int, dict[str, str], dict[str, Any]]:
        args = _decode(content_type, raw)
        if path.startswith("/response/"):
            with self._lock:
                self.calls.append(Call("response_url", {**args, "path": path}, 200))
            return 200, {}, {"ok": True}
        method = path.removeprefix("/api/")
        with self._lock:
            queued = self._failures.get(method)
            if queued:
                error, status, retry_after = queued.pop(0)
                self.calls.append(Call(method, args, status))
                headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                return status, headers, {"ok": False, "error": error}
            self.calls.append(Call(method, args, 200))
            return 200, {}, self._answer(method, args)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": self.url, "team": "test", "user": "sre",
                    "team_id": "T0TEST", "user_id": BOT_USER, "bot_id": "B0SRE"}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postMessage":
            ts = f"{1700000000 + next(self._ts)}.000100"
            self.messages[ts] = Posted(args["channel"], ts, args.get("thread_ts"),
                                       args.get("text", ""), args.get("blocks") or [])
            return {"ok": True, "channel": args["channel"], "ts": ts,
                    "message": {"text": args.get("text", ""), "ts": ts}}
        if method == "chat.update":
            message = self.messages.get(args["ts"])
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.text, message.blocks = args.get("text", ""), args.get("blocks") or []
            message.updates += 1
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        return {"ok": True}


def _decode(content_type: str, raw: str) -> dict[str, Any]:
    if "json" in content_type:
        return dict(json.loads(raw or "{}"))
    args: dict[str, Any] = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
    if isinstance(args.get("blocks"), str):
        args["blocks"] = json.loads(args["blocks"])
    return args


# --- talking to the app as Slack does ----------------------------------------------------------

def sign(secret: str, body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Sent:
    status: int
    body: str
    seconds: float


class SlackSender:
    """Sends slash commands, events and button clicks to an app, signed like Slack signs them."""

    def __init__(self, app_url: str, secret: str, fake: FakeSlack) -> None:
        self.events_url = app_url + "/slack/events"
        self.secret = secret
        self.fake = fake
        self._ids = itertools.count(1)

    def send(self, body: str, content_type: str, *, timestamp: int | None = None,
             secret: str | None = None, headers: dict[str, str] | None = None) -> Sent:
        stamp = int(time.time()) if timestamp is None else timestamp
        request = urllib.request.Request(self.events_url, data=body.encode(), method="POST",
                                         headers={"Content-Type": content_type,
                                                  "X-Slack-Request-Timestamp": str(stamp),
                                                  "X-Slack-Signature": sign(
                                                      secret or self.secret, body, stamp),
                                                  **(headers or {})})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Sent(response.status, response.read().decode(),
                            time.monotonic() - started)
        except urllib.error.HTTPError as e:
            with e:
                return Sent(e.code, e.read().decode(), time.monotonic() - started)

    def command(self, text: str, *, channel: str = "C0SHOP", user: str = "U0ALICE",
                **options: Any) -> Sent:
        n = next(self._ids)
        form = {"command": "/sre", "text": text, "channel_id": channel, "user_id": user,
                "team_id": "T0TEST", "user_name": "alice", "channel_name": "shop",
                "response_url": f"{self.fake.url}/response/{n}", "trigger_id": f"trig{n}",
                "api_app_id": "A0SRE", "token": "legacy"}
        return self.send(urllib.parse.urlencode(form), "application/x-www-form-urlencoded",
                         **options)

    def event(self, event: dict[str, Any], *, event_id: str | None = None,
              **options: Any) -> Sent:
        body = {"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0SRE",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",  # unique, as Slack's
                "event_time": int(time.time()), "event": {"event_ts": event.get("ts"), **event},
                "authorizations": [{"team_id": "T0TEST", "user_id": BOT_USER, "is_bot": True}]}
        return self.send(json.dumps(body), "application/json", **options)

    def click(self, action_id: str, value: str, *, channel: str, message_ts: str,
              user: str = "U0ALICE") -> Sent:
        n = next(self._ids)
        payload = {"type": "block_actions", "team": {"id": "T0TEST"},
                   "user": {"id": user, "name": "alice"}, "api_app_id": "A0SRE",
                   "channel": {"id": channel}, "container": {"type": "message",
                                                             "message_ts": message_ts},
                   "message": {"ts": message_ts}, "trigger_id": f"trig{n}",
                   "response_url": f"{self.fake.url}/response/{n}",
                   "actions": [{"action_id": action_id, "value": value, "type": "button",
                                "block_id": f"answer:{value}", "action_ts": str(time.time())}]}
        return self.send(urllib.parse.urlencode({"payload": json.dumps(payload)}),
                         "application/x-www-form-urlencoded")
