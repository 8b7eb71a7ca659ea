"""A real Prometheus (Debian's `prometheus`, 2.42) on loopback, holding series backfilled from
OpenMetrics files with `promtool tsdb create-blocks-from openmetrics`, and a bearer-token proxy
that puts it behind a token, as an oauth proxy or a managed Prometheus does.

    server = start_prometheus([Path("metrics/shop.om")])     # or the `prometheus` fixtures
    server.url                                               # http://127.0.0.1:PORT
    server.stop()

Nothing is scraped (the configuration has no scrape jobs): what the server holds is exactly the
files, so a test knows every number it will read. The process dies with the test process
(`stop()`, atexit, and a parent-death signal through `setpriv`).
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .apiserver import HarnessError, _free_ports, _spawn, _terminate

SETUP_COMMAND = "make prometheus"  # runs scripts/install-prometheus.sh
_READY_TIMEOUT = 30.0
_ATTEMPTS = 3


@dataclass
class PrometheusServer:
    url: str
    directory: Path  # data/, prometheus.yml, prometheus.log; removed by stop()
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, lines: int = 20) -> str:
        log = self.directory / "prometheus.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        _terminate(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


def binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus is None or promtool is None:
        raise HarnessError(f"prometheus and promtool are not installed: run `{SETUP_COMMAND}`")
    return prometheus, promtool


def backfill(files: Iterable[Path], data_dir: Path) -> None:
    """Write TSDB blocks of each OpenMetrics file into `data_dir` (promtool's own backfill)."""
    _, promtool = binaries()
    data_dir.mkdir(parents=True, exist_ok=True)
    for path in files:
        done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(path),
                               str(data_dir)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise HarnessError(f"promtool could not backfill {path}:\n{done.stderr[-2000:]}")


def start_prometheus(files: Iterable[Path] = (), web_config: str | None = None,
                     rules: str | None = None) -> PrometheusServer:
    """A fresh Prometheus on a free loopback port, holding the series of `files`; `web_config`
    is its own web.config.yml (TLS, `basic_auth_users`), https when it has `tls_server_config`;
    `rules` a rule file it evaluates (give its groups a short `interval`)."""
    prometheus, _ = binaries()
    directory = Path(tempfile.mkdtemp(prefix="sre-prometheus-"))
    backfill(files, directory / "data")
    config = directory / "prometheus.yml"
    config.write_text("global: {evaluation_interval: 1h}\nscrape_configs: []\n"
                      + ("rule_files: [rules.yml]\n" if rules else ""))
    if rules:
        (directory / "rules.yml").write_text(rules)
    extra, scheme = [], "http"
    if web_config is not None:
        (directory / "web.yml").write_text(web_config)
        extra = [f"--web.config.file={directory / 'web.yml'}"]
        scheme = "https" if "tls_server_config" in web_config else "http"
    for attempt in range(_ATTEMPTS):
        (port,) = _free_ports(1)
        process = _spawn([
            prometheus, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=3650d",
            "--log.level=warn", *extra,
        ], directory / "prometheus.log")
        server = PrometheusServer(f"{scheme}://127.0.0.1:{port}", directory, process)
        if _wait_ready(server):
            return server
        _terminate(process)
        if "address already in use" not in server.log_tail() or attempt == _ATTEMPTS - 1:
            tail = server.log_tail()
            shutil.rmtree(directory, ignore_errors=True)
            raise HarnessError(f"prometheus did not become ready; log tail:\n{tail}")
    raise AssertionError("unreachable")


def _wait_ready(server: PrometheusServer) -> bool:
    """Up when it answers /-/ready: 200, or 401 behind its own basic auth (this probe alone
    skips certificate checks; the tests check them)."""
    deadline = time.monotonic() + _READY_TIMEOUT
    context = ssl._create_unverified_context()
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2,
                                        context=context) as response:
                if response.status == 200:
                    return True
        except urllib.error.HTTPError as e:
            if e.code == 401:
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return False


class BearerProxy:
    """A loopback HTTP proxy to `upstream` that answers 401 unless `Authorization: Bearer
    <token>` is sent; it forwards GETs only and counts every request it receives."""

    def __init__(self, upstream: str, token: str) -> None:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                proxy.requests.append(f"GET {self.path}")
                if self.headers.get("Authorization") != f"Bearer {token}":
                    self._answer(401, b"Unauthorized\n", "text/plain")
                    return
                try:
                    with urllib.request.urlopen(upstream + self.path, timeout=30) as upstream_r:
                        self._answer(upstream_r.status, upstream_r.read())
                except urllib.error.HTTPError as e:
                    self._answer(e.code, e.read())

            def do_POST(self) -> None:  # noqa: N802
                proxy.requests.append(f"POST {self.path}")
                self._answer(405, b"")

        self.requests: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
