"""A fake kubelet that serves container logs, so the real `pods/log` subresource works.

kube-apiserver answers `GET .../pods/NAME/log` by calling the kubelet of the pod's node at
`https://<node InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>/containerLogs/NS/POD/CONTAINER`
with the log options as query parameters. This server answers that call from logs registered with
`FakeKubelet.set_log`, with the kubelet's own semantics for `tailLines`, `limitBytes` and
`timestamps`, and the kubelet's own error statuses and messages (pkg/kubelet/server/server.go and
pkg/kubelet/kubelet_pods.go of v1.20).
"""

from __future__ import annotations

import io
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

_CHUNK = 64 * 1024
_TAIL_BLOCK = 1024  # the kubelet's tail.blockSize


@dataclass(frozen=True)
class _Log:
    source: bytes | Path
    timestamp: str  # RFC3339Nano, fixed width, as the kubelet prints it


@dataclass(frozen=True)
class _Error:
    status: int
    message: str


_Entry = _Log | _Error
_Key = tuple[str, str, str, bool]  # namespace, pod, container, previous


class _BadRequest(ValueError):
    """A query the kubelet rejects: (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_bool(value: str) -> bool:
    # Kubernetes query parameters decode booleans with strconv.ParseBool.
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False", ""):
        return False
    raise _BadRequest(400, '{"message": "Unable to decode query."}')


def _parse_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _BadRequest(400, '{"message": "Unable to decode query."}') from None


@dataclass(frozen=True)
class _Options:
    previous: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    timestamps: bool = False

    @classmethod
    def from_query(cls, query: str) -> _Options:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        tail = params.get("tailLines", params.get("tail"))
        options = cls(
            previous=_parse_bool(params.get("previous", "false")),
            tail_lines=None if tail in (None, "all") else _parse_int(tail),
            limit_bytes=_parse_int(params["limitBytes"]) if "limitBytes" in params else None,
            timestamps=_parse_bool(params.get("timestamps", "false")),
        )
        if (options.tail_lines is not None and options.tail_lines < 0) or (
            options.limit_bytes is not None and options.limit_bytes < 1
        ):
            raise _BadRequest(422, '{"message": "Invalid request."}')
        return options


def _tail_start(f: BinaryIO, n: int | None) -> int:
    """Offset where the last `n` lines start; a port of the kubelet's FindTailLineStartIndex.

    Like the kubelet, an unterminated last line is not counted as a line.
    """
    if n is None:
        return 0
    size = f.seek(0, io.SEEK_END)
    left, count, buf = 0, 0, b""
    right = size
    while right > 0 and count <= n:
        left = max(right - _TAIL_BLOCK, 0)
        f.seek(left)
        buf = f.read(right - left)
        count += buf.count(b"\n")
        right = left
    while count > n:
        idx = buf.index(b"\n") + 1
        buf = buf[idx:]
        left += idx
        count -= 1
    return left


@contextmanager
def _open(source: bytes | Path) -> Iterator[BinaryIO]:
    if isinstance(source, Path):
        with source.open("rb") as f:
            yield f
    else:
        yield io.BytesIO(source)


def _chunks(source: bytes | Path, options: _Options, timestamp: str) -> Iterator[bytes]:
    """The response body, streamed: tail first, then timestamps, then the byte limit."""
    remaining = options.limit_bytes
    with _open(source) as f:
        f.seek(_tail_start(f, options.tail_lines))
        pieces: Iterator[bytes]
        if options.timestamps:
            prefix = timestamp.encode() + b" "
            pieces = (prefix + line for line in f)
        else:
            pieces = iter(lambda: f.read(_CHUNK), b"")
        for piece in pieces:
            if remaining is not None:
                piece = piece[:remaining]
                remaining -= len(piece)
            yield piece
            if remaining == 0:
                return


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 60

    def setup(self) -> None:
        super().setup()
        tls = self.request
        assert isinstance(tls, ssl.SSLSocket)
        tls.do_handshake()

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request line on stderr; requests are recorded instead."""

    def do_GET(self) -> None:
        kubelet = self.server.kubelet
        kubelet.requests.append(self.path)
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/")]
        if len(parts) != 5 or parts[1] != "containerLogs":
            self._send_text(404, "404 page not found\n")
            return
        namespace, pod, container = parts[2:]
        try:
            options = _Options.from_query(url.query)
        except _BadRequest as e:
            self._send_text(e.status, e.message)
            return
        entry = kubelet.lookup(namespace, pod, container, options.previous)
        if isinstance(entry, _Error):
            self._send_text(entry.status, entry.message)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in _chunks(entry.source, options, entry.timestamp):
                self.wfile.write(chunk)
        except (ConnectionError, ssl.SSLError):
            return  # the apiserver hung up (its own limit or a cancelled request)

    def _send_text(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, kubelet: FakeKubelet, context: ssl.SSLContext) -> None:
        super().__init__((kubelet.host, 0), _Handler)
        self.kubelet = kubelet
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )

    def handle_error(self, request: object, client_address: object) -> None:
        """Failed handshakes and dropped connections are the client's business, not noise."""


class FakeKubelet:
    """An HTTPS server on loopback that answers the kubelet's `containerLogs` endpoint.

    It requires a client certificate issued by `ca_file`, as a kubelet does; kube-apiserver
    presents one through `--kubelet-client-certificate`.
    """

    def __init__(self, cert_file: Path, key_file: Path, ca_file: Path) -> None:
        self.host = "127.0.0.1"
        self.requests: list[str] = []  # path and query of every request, in order
        self._logs: dict[_Key, _Entry] = {}
        self._lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.load_verify_locations(ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
        self._server = _Server(self, context)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-kubelet", daemon=True
        )
        self._thread.start()

    def set_log(
        self,
        namespace: str,
        pod: str,
        container: str,
        log: str | bytes | Path,
        previous: bool = False,
    ) -> None:
        """Serve `log` for that container; a `Path` is streamed from disk on every request."""
        source = log.encode() if isinstance(log, str) else log
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
        with self._lock:
            self._logs[(namespace, pod, container, previous)] = _Log(source, stamp)

    def set_log_error(
        self,
        namespace: str,
        pod: str,
        container: str,
        message: str,
        status: int = 400,
        previous: bool = False,
    ) -> None:
        """Answer that container's logs with an error, e.g. the kubelet's 400
        `container "app" in pod "web" is waiting to start: ContainerCreating`."""
        with self._lock:
            self._logs[(namespace, pod, container, previous)] = _Error(status, message)

    def clear(self) -> None:
        with self._lock:
            self._logs.clear()
        self.requests.clear()

    def lookup(self, namespace: str, pod: str, container: str, previous: bool) -> _Entry:
        """The registered entry, or the error a kubelet gives for what is not there."""
        with self._lock:
            entry = self._logs.get((namespace, pod, container, previous))
            if entry is not None:
                return entry
            known = {(ns, p, c) for ns, p, c, _ in self._logs}
        if (namespace, pod, container) in known:
            if previous:
                return _Error(
                    400, f'previous terminated container "{container}" in pod "{pod}" not found'
                )
            return _Error(400, f'container "{container}" in pod "{pod}" is not available')
        if any(ns == namespace and p == pod for ns, p, _ in known):
            return _Error(404, f'container "{container}" not found in pod "{pod}"')
        return _Error(404, f'pod "{pod}" does not exist')

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
