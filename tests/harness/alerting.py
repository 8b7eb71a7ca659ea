"""The alert path for tests, with real parts: exporters the test controls, a real Prometheus
(Debian's `prometheus`, 2.42) that scrapes them and evaluates alerting rules, and real
Alertmanagers (Debian's `prometheus-alertmanager`, 0.25) that group the alerts and POST them to a
webhook with a bearer token.

    ksm = Exporter().start()                               # GET /metrics: what the test sets
    ksm.set("kube_job_failed", {"namespace": "batch", "job_name": "export"}, 1)
    chain = start_alerting([Target("kube-state-metrics", ksm.address, labels={...})],
                           rules=[Rule("KubeJobFailed", "kube_job_failed > 0")],
                           webhook="http://127.0.0.1:PORT/alerts", token="s3cret",
                           alertmanagers=2)
    chain.firing()                # the alerts Alertmanager holds, with every label it got
    chain.notifications()         # webhook notifications each Alertmanager sent (its metrics)
    chain.stop()

Everything runs fast: scrapes and rule evaluations every second, Prometheus resends firing
alerts every second, and Alertmanager waits 1 s before a group's first notification and 2 s
between two (`Route`). Two Alertmanagers that are not clustered both notify, as HA peers do when
their gossip is late: the webhook sees every notification twice. Processes die with the test
process (`stop()`, atexit, a parent-death signal), as in `apiserver`.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .apiserver import HarnessError, _free_ports, _spawn, _terminate

SETUP_COMMAND = "make prometheus"  # runs scripts/install-prometheus.sh
_READY_TIMEOUT = 30.0
_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it

Labels = dict[str, str]


class Exporter:
    """A scrape target on loopback answering `GET <any path>` with the series set on it, in
    Prometheus' text format; with `up = False` it answers 503, a target that is down."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.up = True
        self.lock = threading.Lock()
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                body = exporter.exposition().encode() if exporter.up else b"unavailable\n"
                self.send_response(200 if exporter.up else 503)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Exporter:
        self.thread.start()
        return self

    def set(self, name: str, labels: Labels, value: float) -> None:
        with self.lock:
            self.series[(name, tuple(sorted(labels.items())))] = value

    def remove(self, name: str, labels: Labels) -> None:
        with self.lock:
            self.series.pop((name, tuple(sorted(labels.items()))), None)

    def clear(self) -> None:
        with self.lock:
            self.series.clear()

    def exposition(self) -> str:
        with self.lock:
            items = sorted(self.series.items())
        lines = []
        for (name, labels), value in items:
            said = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{said}}} {value!r}")
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Target:
    """A scrape job of one target, with the labels the Prometheus operator would give it."""

    job: str  # the scrape job's name (the `job` label unless `labels` sets one)
    address: str  # host:port; a port nothing listens on makes a target that is down
    labels: Labels = field(default_factory=dict)  # instance, endpoint, service, pod...
    metrics_path: str = "/metrics"
    honor_labels: bool = False

    def config(self) -> dict[str, Any]:
        return {"job_name": self.job, "metrics_path": self.metrics_path,
                "honor_labels": self.honor_labels, "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "static_configs": [{"targets": [self.address], "labels": self.labels}]}


@dataclass
class Rule:
    alert: str
    expr: str
    labels: Labels = field(default_factory=dict)  # severity...
    annotations: Labels = field(default_factory=dict)  # summary, description, runbook_url

    def config(self) -> dict[str, Any]:
        return {"alert": self.alert, "expr": self.expr, "for": "0s", "labels": self.labels,
                "annotations": self.annotations}


@dataclass
class Route:
    """Alertmanager's route: kube-prometheus-stack's grouping, with seconds for minutes."""

    group_by: list[str] = field(default_factory=lambda: ["namespace"])
    group_wait: str = "1s"
    group_interval: str = "2s"
    repeat_interval: str = "1h"


@dataclass
class Server:
    """One Prometheus or Alertmanager process on loopback."""

    name: str
    url: str
    directory: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            body = response.read()
        return json.loads(body) if path.startswith("/api/") else body.decode()

    def log_tail(self, lines: int = 20) -> str:
        log = self.directory / f"{self.name}.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        _terminate(self.process)


@dataclass
class AlertChain:
    prometheus: Server
    alertmanagers: list[Server]
    directory: Path

    def firing(self, alertmanager: int = 0) -> list[dict[str, Any]]:
        """The active alerts one Alertmanager holds (labels as Prometheus sent them, external
        labels included), sorted by alert name."""
        alerts: list[dict[str, Any]] = self.alertmanagers[alertmanager].get(
            "/api/v2/alerts?active=true&silenced=false&inhibited=false")
        return sorted(alerts, key=lambda a: json.dumps(a["labels"], sort_keys=True))

    def notifications(self) -> list[tuple[int, int]]:
        """Per Alertmanager: (webhook notifications sent, failed), from its own metrics."""
        counts = []
        for server in self.alertmanagers:
            text = server.get("/metrics")
            counts.append((_metric(text, "alertmanager_notifications_total"),
                           _metric(text, "alertmanager_notifications_failed_total")))
        return counts

    def rule_health(self) -> list[str]:
        """Rules Prometheus could not evaluate, with the error (a typo in a test's rule)."""
        groups = self.prometheus.get("/api/v1/rules")["data"]["groups"]
        return [f"{r['name']}: {r.get('lastError')}" for g in groups for r in g["rules"]
                if r.get("health") == "err"]

    def stop(self) -> None:
        for server in [self.prometheus, *self.alertmanagers]:
            server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _metric(text: str, name: str) -> int:
    """The sum of `name`'s samples for the webhook integration in an exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and 'integration="webhook"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def binaries() -> tuple[str, str]:
    prometheus, alertmanager = shutil.which("prometheus"), shutil.which("prometheus-alertmanager")
    if prometheus is None or alertmanager is None:
        raise HarnessError("prometheus and prometheus-alertmanager are not installed: run "
                           f"`{SETUP_COMMAND}`")
    return prometheus, alertmanager


def start_alerting(targets: list[Target], rules: list[Rule], *, webhook: str, token: str,
                   alertmanagers: int = 1, route: Route | None = None,
                   external_labels: Labels | None = None) -> AlertChain:
    """Alertmanagers POSTing to `webhook` with `Authorization: Bearer <token>`, then a
    Prometheus scraping `targets`, evaluating `rules` and sending to every Alertmanager."""
    prometheus, alertmanager = binaries()
    directory = Path(tempfile.mkdtemp(prefix="sre-alerting-"))
    started: list[Server] = []
    try:
        route = route or Route()
        config = {
            "route": {"receiver": "sre", "group_by": route.group_by,
                      "group_wait": route.group_wait, "group_interval": route.group_interval,
                      "repeat_interval": route.repeat_interval},
            "receivers": [{"name": "sre", "webhook_configs": [{
                "url": webhook, "send_resolved": True, "max_alerts": 0,
                "http_config": {"authorization": {"type": "Bearer", "credentials": token}}}]}],
        }
        for number in range(alertmanagers):
            home = directory / f"alertmanager-{number}"
            home.mkdir()
            (home / "alertmanager.yml").write_text(yaml.safe_dump(config))
            started.append(_start(f"alertmanager-{number}", home, lambda port, home=home: [
                alertmanager, f"--config.file={home / 'alertmanager.yml'}",
                f"--storage.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=", "--log.level=warn"]))
        home = directory / "prometheus"
        home.mkdir()
        (home / "rules.yml").write_text(yaml.safe_dump(
            {"groups": [{"name": "test", "interval": "1s",
                         "rules": [r.config() for r in rules]}]}, sort_keys=False))
        (home / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s", "external_labels": external_labels or {}},
            "rule_files": [str(home / "rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [
                s.url.removeprefix("http://") for s in started]}]}]},
            "scrape_configs": [t.config() for t in targets],
        }, sort_keys=False))
        server = _start("prometheus", home, lambda port: [
            prometheus, f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--rules.alert.resend-delay=1s", "--log.level=warn"])
        return AlertChain(server, started[:alertmanagers], directory)
    except BaseException:
        for server in started:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _start(name: str, home: Path, command: Callable[[int], list[str]]) -> Server:
    """Start `command` on a free port until it is ready (another process may take the port)."""
    for attempt in range(_ATTEMPTS):
        (port,) = _free_ports(1)
        server = Server(name, f"http://127.0.0.1:{port}", home,
                        _spawn(command(port), home / f"{name}.log"))
        if _wait_ready(server):
            return server
        _terminate(server.process)
        if "address already in use" not in server.log_tail() or attempt == _ATTEMPTS - 1:
            raise HarnessError(f"{name} did not become ready; log tail:\n{server.log_tail()}")
    raise AssertionError("unreachable")


def _wait_ready(server: Server) -> bool:
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    return False
