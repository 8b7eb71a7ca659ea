"""A local fake of Slack's Socket Mode endpoint: a minimal WebSocket server (RFC 6455, text
frames, ping/pong, close) that greets with `hello`, sends envelopes and records the acks.

    socket = FakeSocketMode().start()       # the fake Web API answers apps.connections.open
    envelope = socket.send("slash_commands", {...})
    socket.wait_for_ack(envelope)

slack_sdk's client speaks plain `ws://` to ports other than 443, which is what this serves.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class FakeSocketMode:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}/link"
        self.acks: dict[str, dict[str, Any]] = {}
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        if self._conn is not None:
            self._conn.close()
        self.listener.close()

    def connected(self) -> bool:
        return self._conn is not None

    def send(self, kind: str, payload: dict[str, Any], **extra: Any) -> str:
        envelope_id = f"env-{next(self._ids)}"
        self._frame(json.dumps({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                "accepts_response_payload": kind != "events_api", **extra}))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while envelope_id not in self.acks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for {envelope_id}")
            time.sleep(0.01)
        return self.acks[envelope_id]

    # --- the server side -----------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self._handshake(conn):
                self._conn = conn
                self._frame(json.dumps({"type": "hello", "num_connections": 1,
                                        "connection_info": {"app_id": "A0SRE"}}))
                self._read(conn)

    def _handshake(self, conn: socket.socket) -> bool:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return False
            request += chunk
        headers = dict(line.split(": ", 1) for line in
                       request.decode().split("\r\n")[1:] if ": " in line)
        key = {k.lower(): v for k, v in headers.items()}["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        return True

    def _frame(self, text: str, opcode: int = 0x1) -> None:
        data = text.encode()
        if len(data) < 126:
            head = struct.pack("!BB", 0x80 | opcode, len(data))
        elif len(data) < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, len(data))
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, len(data))
        with self._send_lock:
            assert self._conn is not None, "no Socket Mode client is connected"
            self._conn.sendall(head + data)

    def _read(self, conn: socket.socket) -> None:
        buffer = b""

        def take(n: int) -> bytes:
            nonlocal buffer
            while len(buffer) < n:
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buffer += chunk
            out, buffer = buffer[:n], buffer[n:]
            return out

        try:
            while True:
                first, second = take(2)
                opcode, length = first & 0x0F, second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", take(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", take(8))[0]
                mask = take(4) if second & 0x80 else b"\0\0\0\0"
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(take(length)))
                if opcode == 0x8:
                    return
                if opcode == 0x9:
                    self._frame(payload.decode(errors="replace"), opcode=0xA)
                elif opcode == 0x1:
                    message = json.loads(payload)
                    if "envelope_id" in message:
                        self.acks[message["envelope_id"]] = message
        except (ConnectionError, OSError):
            return
        finally:
            self._conn = None
