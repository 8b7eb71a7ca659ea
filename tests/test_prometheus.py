"""The Prometheus reader against a real Prometheus (Debian's 2.42) on loopback, holding series
backfilled with promtool from the same OpenMetrics files a snapshot keeps; and the snapshot
reader over those files, which must give the same evidence.

Series: tests/data/metrics/checkout-slow.yaml (throttled in 80% of CPU periods, working set at
95% of the memory limit, p99 2.3 s, 5% 5xx) plus 1,000 series of one metric for the bounds.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import urllib3
import yaml
from fakes.listener import CountingListener
from harness.certs import make_pki
from harness.prometheus import BearerProxy, PrometheusServer, start_prometheus
from harness.scenarios import load, write_snapshot_dir
from harness.series import expand
from kubernetes import client as k8s

from knowledge.metrics import (
    NOT_CONFIGURED,
    MetricEvidence,
    MetricsAnswer,
    expression_from_generator_url,
    expression_of_alert,
    library,
    metric_evidence,
    plan_metric_names,
)
from tools import ReadOnlyViolation, Toolbox, open_cluster, open_metrics
from tools.openmetrics import SnapshotMetrics, capture_metrics, read_openmetrics, write_openmetrics
from tools.prometheus import (
    BadQuery,
    Limits,
    LivePrometheus,
    MetricsUnauthorized,
    MetricsUnreachable,
    NotEvaluated,
    NotPrometheus,
    Series,
    check_metrics_request,
    connect_prometheus,
)

DATA = Path(__file__).resolve().parent / "data" / "metrics"
NS, WORKLOAD = "shop", "checkout"
SLOW, CALM = "checkout-7d9f8b6c4-x2k9p", "checkout-7d9f8b6c4-b5n2q"
PODS = [SLOW, CALM]
def _last_sample() -> float:
    """Two minutes ago, on a whole minute: when the data ends."""
    return float(int(time.time()) // 60 * 60 - 120)


END = _last_sample()  # the last sample (set again when the data is written: see snapshot_dir)
AT = END + 7  # evaluation time: not on a sample, so no window edge is ever in question
# kube-prometheus-stack's CPUThrottlingHigh, as its rule file writes it
CPU_THROTTLING_HIGH = (
    'sum(increase(container_cpu_cfs_throttled_periods_total{container!="", }[5m])) by '
    '(container, pod, namespace) / sum(increase(container_cpu_cfs_periods_total{}[5m])) by '
    '(container, pod, namespace) > ( 25 / 100 )')


def _write_series(directory: Path) -> Path:
    specs = yaml.safe_load((DATA / "checkout-slow.yaml").read_text())
    path = directory / "metrics" / f"{NS}.om"
    write_openmetrics(expand(specs, END), path)
    return path


def _write_load(directory: Path) -> Path:
    series = [Series({"__name__": "load_gauge", "namespace": "load", "i": str(i)},
                     ((END - 30, float(i)), (END, float(i))))
              for i in range(1000)]
    # a counter that resets twice in the last ten minutes, scraped every 20 s (not every 15)
    values = [5.0 * k % 180.0 + 3.0 for k in range(60)]
    series.append(Series({"__name__": "resets_total", "namespace": "load"},
                         tuple((END - 20.0 * (59 - k), v) for k, v in enumerate(values))))
    path = directory / "load.om"
    write_openmetrics(series, path)
    return path


@pytest.fixture(scope="module")
def snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The data ends two minutes before it is written, not before the module was collected: in
    # a long run the two are far apart, and `sre snapshot` captures the hour before *now*.
    global END, AT
    END = _last_sample()
    AT = END + 7
    directory = tmp_path_factory.mktemp("snapshot")
    _write_series(directory)
    return directory


@pytest.fixture(scope="module")
def prometheus(snapshot_dir: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[PrometheusServer]:
    load = _write_load(tmp_path_factory.mktemp("load"))
    server = start_prometheus([snapshot_dir / "metrics" / f"{NS}.om", load])
    yield server
    server.stop()


@pytest.fixture
def live(prometheus: PrometheusServer) -> Iterator[LivePrometheus]:
    reader = connect_prometheus(prometheus.url)
    yield reader
    reader.close()


def _by_question(answer: MetricsAnswer, question: str) -> list[MetricEvidence]:
    return [e for e in answer.evidence if e.question == question]


# --- the numbers, with their queries -------------------------------------------------------------

def test_throttling_is_read_as_80_percent_with_its_query(live: LivePrometheus) -> None:
    answer = metric_evidence(live, "throttling", NS, WORKLOAD, PODS, at=AT)
    top = _by_question(answer, "throttling")[0]
    assert top.object == f"Pod/{NS}/{SLOW}"
    assert top.value == pytest.approx(0.80)
    assert top.concerning
    assert top.reading == (f"container app of pod {SLOW} was throttled in 80% of its CPU "
                           "periods (last 5m)")
    assert "container_cpu_cfs_throttled_periods_total" in top.query
    assert "container_cpu_cfs_periods_total" in top.query
    assert f'namespace="{NS}"' in top.query and SLOW in top.query
    calm = _by_question(answer, "throttling")[1]
    assert calm.value == pytest.approx(0.10) and not calm.concerning
    assert top.detail.endswith(f"[PromQL: {top.query}]")
    # the query as shown is the query Prometheus ran: asking it again gives the number
    values = {s.labels["pod"]: s.value for s in live.query(top.query, AT).series}
    assert values == {SLOW: pytest.approx(0.80), CALM: pytest.approx(0.10)}


def test_memory_is_read_as_95_percent_of_the_limit(live: LivePrometheus) -> None:
    answer = metric_evidence(live, "memory", NS, WORKLOAD, PODS, at=AT)
    top = _by_question(answer, "memory")[0]
    assert top.value == pytest.approx(0.95, abs=1e-6)
    assert top.reading == f"container app of pod {SLOW} uses 95% of its memory limit (working set)"
    assert "container_memory_working_set_bytes" in top.query
    assert "kube_pod_container_resource_limits" in top.query
    restarts = _by_question(answer, "restarts")[0]
    assert restarts.object == f"Pod/{NS}/{SLOW}" and round(restarts.value) == 3


def test_latency_p99_is_2_3_seconds(live: LivePrometheus) -> None:
    answer = metric_evidence(live, "latency", NS, WORKLOAD, PODS, at=AT)
    p99 = _by_question(answer, "latency_p99")[0]
    assert p99.value == pytest.approx(2.3)
    assert p99.reading == "checkout answers 99% of requests within 2.3 s (p99, last 5m)"
    assert p99.query.startswith("histogram_quantile(0.99, ")
    assert "http_request_duration_seconds_bucket" in p99.query
    assert _by_question(answer, "request_rate")[0].value == pytest.approx(100)


def test_errors_read_the_5xx_share(live: LivePrometheus) -> None:
    answer = metric_evidence(live, "errors", NS, WORKLOAD, PODS, at=AT)
    ratio = _by_question(answer, "error_ratio")[0]
    assert ratio.value == pytest.approx(0.05)
    assert ratio.reading == "checkout answers 5.0% of its requests with 5xx (last 5m)"


def test_the_firing_alerts_own_expression_is_evaluated(live: LivePrometheus) -> None:
    answer = metric_evidence(live, "throttling", NS, WORKLOAD, PODS,
                             alert_expression=CPU_THROTTLING_HIGH, at=AT)
    alert = _by_question(answer, "alert")
    assert [(e.object, round(e.value, 6)) for e in alert] == [(f"Pod/{NS}/{SLOW}", 0.8)]
    assert alert[0].query == CPU_THROTTLING_HIGH


def test_the_alerts_expression_comes_from_its_generator_url(live: LivePrometheus) -> None:
    # as Alertmanager passes it on: Prometheus' /graph link with the rule's expression
    url = ("http://prometheus-k8s.monitoring:9090/graph?g0.expr=" + urllib.parse.quote_plus(
        CPU_THROTTLING_HIGH) + "&g0.tab=1")
    expression = expression_from_generator_url(url)
    assert expression == CPU_THROTTLING_HIGH
    assert expression_from_generator_url("http://prometheus:9090/graph") is None
    answer = metric_evidence(live, "throttling", NS, WORKLOAD, PODS, alert_expression=expression,
                             at=AT)
    assert "the alert's expression now" in answer.answered


def test_a_symptom_without_series_says_so(live: LivePrometheus) -> None:
    answer = metric_evidence(live, "latency", NS, "inventory", ["inventory-5f6d8-abcde"], at=AT)
    assert answer.evidence == []
    assert any(u.startswith("99th percentile request latency: no series of "
                            "http_request_duration_seconds_bucket") for u in answer.unanswered)


def test_without_prometheus_each_question_says_what_it_needs() -> None:
    answer = metric_evidence(None, "throttling", NS, WORKLOAD, PODS,
                             alert_expression=CPU_THROTTLING_HIGH)
    assert answer.evidence == []
    assert answer.unanswered[0] == (
        "CPU throttled ratio per container (container_cpu_cfs_throttled_periods_total / "
        f"container_cpu_cfs_periods_total): {NOT_CONFIGURED}")
    assert answer.unanswered[-1] == f"the alert's expression now: {NOT_CONFIGURED}"
    memory = metric_evidence(None, "memory", NS, WORKLOAD, PODS)
    assert any("container_memory_working_set_bytes / kube_pod_container_resource_limits"
               in u for u in memory.unanswered)


# --- twins: the snapshot's series give the same evidence -----------------------------------------

@pytest.mark.parametrize("symptom", ["latency", "errors", "throttling", "memory", "saturation",
                                     "not_scaling"])
def test_live_and_snapshot_give_the_same_evidence(live: LivePrometheus, snapshot_dir: Path,
                                                  symptom: str) -> None:
    snapshot = SnapshotMetrics(snapshot_dir)
    alert = CPU_THROTTLING_HIGH if symptom == "throttling" else None
    one = metric_evidence(live, symptom, NS, WORKLOAD, PODS, alert_expression=alert, at=AT)
    two = metric_evidence(snapshot, symptom, NS, WORKLOAD, PODS, alert_expression=alert, at=AT)
    assert one.evidence, one.unanswered
    assert [(e.question, e.object, e.query, e.reading, e.concerning) for e in one.evidence] == [
        (e.question, e.object, e.query, e.reading, e.concerning) for e in two.evidence]
    for a, b in zip(one.evidence, two.evidence, strict=True):
        assert a.value == pytest.approx(b.value, rel=1e-9)
    assert one.unanswered == two.unanswered and one.answered == two.answered


def test_every_library_query_runs_on_both_and_agrees(live: LivePrometheus,
                                                     snapshot_dir: Path) -> None:
    snapshot = SnapshotMetrics(snapshot_dir)
    for query in library().values():
        promql = query.promql.replace("$ns", NS).replace("$pods", "|".join(PODS)).replace(
            "$workload", WORKLOAD)
        want = sorted((sorted(s.labels.items()), s.value) for s in live.query(promql, AT).series)
        got = sorted((sorted(s.labels.items()), s.value)
                     for s in snapshot.query(promql, AT).series)
        assert [w[0] for w in want] == [g[0] for g in got], query.id
        assert want, query.id
        for (_, a), (_, b) in zip(want, got, strict=True):
            assert a == pytest.approx(b, rel=1e-9), query.id


def test_sre_snapshot_capture_reads_back_as_the_live_server(live: LivePrometheus,
                                                            tmp_path: Path) -> None:
    """Live Prometheus -> capture (OpenMetrics) -> snapshot reader, and -> promtool -> a second
    Prometheus: all three give the same evidence."""
    report = capture_metrics(live, tmp_path, [NS, "empty"], plan_metric_names(), at=AT)
    assert report.files == [tmp_path / "metrics" / f"{NS}.om"] and not report.skipped
    captured = read_openmetrics(report.files[0])
    names = {s.labels["__name__"] for s in captured}
    assert names == set(plan_metric_names())  # `up` is not a metric the plans read
    assert report.series == len(captured) == 31
    assert report.files[0].read_text().rstrip().endswith("# EOF")
    second = start_prometheus(report.files)
    try:
        again = connect_prometheus(second.url)
        for symptom in ("throttling", "memory", "latency"):
            answers = [metric_evidence(m, symptom, NS, WORKLOAD, PODS, at=AT)
                       for m in (live, SnapshotMetrics(tmp_path), again)]
            shown = [[(e.object, e.reading, e.query) for e in a.evidence] for a in answers]
            assert shown[0] and shown[0] == shown[1] == shown[2]
        again.close()
    finally:
        second.stop()


def test_snapshot_time_is_its_newest_sample(snapshot_dir: Path) -> None:
    snapshot = SnapshotMetrics(snapshot_dir)
    assert snapshot.now() == END
    assert SnapshotMetrics.present(snapshot_dir)
    with pytest.raises(NotEvaluated, match="offset"):
        snapshot.query("rate(http_requests_total[5m] offset 1h)")
    with pytest.raises(NotEvaluated):
        snapshot.query("topk(3, http_requests_total)")


DIFFERENTIAL = [
    "rate(resets_total[5m])", "increase(resets_total[10m])", "rate(resets_total[1h])",
    'max_over_time(load_gauge{i="7"}[1h])', 'avg_over_time(resets_total[3m])',
    'min_over_time(resets_total[10m])', 'last_over_time(resets_total[10m])',
    'sum without (i) (load_gauge)', "count(load_gauge)", "avg(load_gauge)", "min(load_gauge)",
    'load_gauge{i=~"1.5"} > 150', 'load_gauge{i=~"1.5"} <= 150', "2 * 3 + 1 / 4", "-vector(3)",
    "histogram_quantile(0.9, sum by (le, pod) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
    '{le!="+Inf"}[5m])))',
    "histogram_quantile(1.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    'sum by (pod) (rate(http_requests_total[5m])) / on (pod) sum by (pod) '
    '(rate(http_requests_total{code="500"}[5m]))',
    'sum by (pod, code) (rate(http_requests_total{code="500"}[5m])) / ignoring (code) '
    'sum by (pod) (rate(http_requests_total[5m]))',
    'kube_pod_container_resource_limits{resource="memory"} - 0',
    "sum(rate(container_cpu_usage_seconds_total[5m])) by (pod) * 1000",
    'container_memory_working_set_bytes{container!=""} / 1024 / 1024',
    'max by (pod) (kube_pod_container_status_restarts_total) >= 3',
]


@pytest.mark.parametrize("expression", DIFFERENTIAL)
def test_the_evaluator_agrees_with_prometheus(live: LivePrometheus, snapshot_dir: Path,
                                              tmp_path: Path, expression: str) -> None:
    """The snapshot evaluator against the real server, beyond the library's own queries."""
    load_file = _write_load(tmp_path)
    for path in (snapshot_dir / "metrics").glob("*.om"):
        (tmp_path / "metrics").mkdir(exist_ok=True)
        (tmp_path / "metrics" / path.name).write_text(path.read_text())
    (tmp_path / "metrics" / "load.om").write_text(load_file.read_text())
    want = live.query(expression, AT)
    got = SnapshotMetrics(tmp_path, Limits(series=2000)).query(expression, AT)

    def shown(series: list[Series]) -> list[tuple[list[tuple[str, str]], float]]:
        return sorted((sorted(s.labels.items()), s.value) for s in series)

    assert [labels for labels, _ in shown(want.series)] == [
        labels for labels, _ in shown(got.series)]
    for (_, a), (_, b) in zip(shown(want.series), shown(got.series), strict=True):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9), expression


def test_many_to_one_without_group_left_is_refused_by_both(live: LivePrometheus,
                                                          snapshot_dir: Path) -> None:
    expression = ('sum by (pod, code) (rate(http_requests_total[5m])) / ignoring (code) '
                  'sum by (pod) (rate(http_requests_total[5m]))')
    with pytest.raises(BadQuery, match="many-to-one matching must be explicit"):
        live.query(expression, AT)
    with pytest.raises(NotEvaluated, match="many-to-one needs group_left"):
        SnapshotMetrics(snapshot_dir).query(expression, AT)


# --- read-only, before anything is sent ----------------------------------------------------------

REFUSED = [
    ("POST", "/api/v1/query?query=up"),
    ("PUT", "/api/v1/query"),
    ("DELETE", "/api/v1/series?match[]=up"),
    ("POST", "/api/v1/admin/tsdb/delete_series?match[]=up"),
    ("GET", "/api/v1/admin/tsdb/snapshot"),
    ("POST", "/-/quit"),
    ("GET", "/-/reload"),
    ("GET", "/federate?match[]=up"),
    ("GET", "/api/v1/targets"),
    ("GET", "/api/v1/status/config"),
    ("GET", "/api/v1/query/../admin/tsdb/snapshot"),
    ("GET", "/api/v1/%71uery?query=up"),
    ("GET", "/api/v1/query?query=up&nocache=1"),
    ("GET", "/graph"),
]


@pytest.mark.parametrize(("method", "path"), REFUSED)
def test_anything_but_the_six_reads_is_refused_before_a_connection(method: str,
                                                                   path: str) -> None:
    listener = CountingListener()
    reader = connect_prometheus(f"http://127.0.0.1:{listener.port}")
    try:
        with pytest.raises(ReadOnlyViolation):
            check_metrics_request(method, path)
        with pytest.raises(ReadOnlyViolation):
            reader._pool.request(method, f"http://127.0.0.1:{listener.port}{path}")
        with pytest.raises(ReadOnlyViolation):  # another host, through the same pool
            reader._pool.request("GET", "http://127.0.0.2:9090/api/v1/query?query=up")
        assert listener.connections == 0
    finally:
        reader.close()
        listener.close()


def test_the_six_reads_pass_the_rule_below_a_prefix() -> None:
    for endpoint in ("query", "query_range", "series", "labels", "rules", "alerts"):
        assert check_metrics_request("GET", f"/prom/api/v1/{endpoint}", prefix="/prom") == endpoint
    with pytest.raises(ReadOnlyViolation):
        check_metrics_request("GET", "/api/v1/query", prefix="/prom")


def test_a_body_is_refused_even_on_get() -> None:
    listener = CountingListener()
    reader = connect_prometheus(f"http://127.0.0.1:{listener.port}")
    try:
        with pytest.raises(ReadOnlyViolation, match="no body"):
            reader._pool.urlopen("GET", f"http://127.0.0.1:{listener.port}/api/v1/query",
                                 body=b"query=up")
        assert listener.connections == 0
    finally:
        reader.close()
        listener.close()


# --- errors a human can act on -------------------------------------------------------------------

def _trickling_prometheus(stop: threading.Event) -> socket.socket:
    """A server that answers every request with a status line, then one byte every 0.3 s."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer(client: socket.socket) -> None:
        with client:
            client.recv(65536)
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100000\r\n\r\n{")
            while not stop.wait(0.3):
                try:
                    client.sendall(b" ")
                except OSError:
                    return

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_a_prometheus_that_trickles_its_answer_is_cut_at_the_query_timeout_plus_2_s() -> None:
    """Each byte comes before the read timeout: only the whole read's deadline ends it."""
    stop = threading.Event()
    server = _trickling_prometheus(stop)
    reader = connect_prometheus(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises(MetricsUnreachable, match=r"did not finish answering within 3 s; "
                           "check the network, or raise SRE_PROMETHEUS__TIMEOUT"):
            reader.query("up")
        assert time.monotonic() - started < 6
    finally:
        stop.set()
        reader.close()
        server.close()


def test_401_behind_a_bearer_token_is_a_clear_error(prometheus: PrometheusServer) -> None:
    proxy = BearerProxy(prometheus.url, "right-token")
    try:
        wrong = connect_prometheus(proxy.url, bearer_token="wrong-token")
        with pytest.raises(MetricsUnauthorized, match=r"refused the credentials \(401\): check "
                                                      "SRE_PROMETHEUS__BEARER_TOKEN"):
            wrong.query("up", AT)
        answer = metric_evidence(wrong, "throttling", NS, WORKLOAD, PODS, at=AT)
        assert answer.evidence == []
        assert len(answer.unanswered) == len([q for q in library().values()
                                              if "throttling" in q.symptoms])
        assert all("(401)" in u for u in answer.unanswered)
        assert len(proxy.requests) == 2  # the first refusal ends the plan: no retry storm
        right = connect_prometheus(proxy.url, bearer_token="right-token")
        top = metric_evidence(right, "throttling", NS, WORKLOAD, PODS, at=AT).evidence[0]
        assert top.value == pytest.approx(0.8)
        assert all(r.startswith("GET /api/v1/query?") for r in proxy.requests)
    finally:
        proxy.close()


def test_tls_and_basic_auth_of_prometheus_itself(snapshot_dir: Path, tmp_path: Path) -> None:
    """Prometheus' own web.config.yml: https with a certificate of a private CA, and a bcrypt
    basic-auth user (SRE_PROMETHEUS__CA_FILE, __USERNAME, __PASSWORD)."""
    pki = make_pki(tmp_path / "pki")
    hashed = bcrypt.hashpw(b"s3cret-pass-9", bcrypt.gensalt(rounds=4)).decode()
    server = start_prometheus(
        [snapshot_dir / "metrics" / f"{NS}.om"],
        web_config=f"tls_server_config:\n  cert_file: {pki.kubelet.cert}\n"
                   f"  key_file: {pki.kubelet.key}\nbasic_auth_users:\n  sre: '{hashed}'\n")
    try:
        assert server.url.startswith("https://")
        good = connect_prometheus(server.url, username="sre", password="s3cret-pass-9",
                                  ca_file=str(pki.ca.cert))
        top = metric_evidence(good, "throttling", NS, WORKLOAD, PODS, at=AT).evidence[0]
        assert top.value == pytest.approx(0.8)
        with pytest.raises(MetricsUnauthorized, match="SRE_PROMETHEUS__USERNAME"):
            connect_prometheus(server.url, username="sre", password="wrong",
                               ca_file=str(pki.ca.cert)).query("up", AT)
        with pytest.raises(MetricsUnreachable, match="TLS handshake failed.*CA_FILE"):
            connect_prometheus(server.url, username="sre", password="s3cret-pass-9").query("up")
    finally:
        server.stop()


def test_unreachable_and_not_prometheus_are_told_apart() -> None:
    listener = CountingListener()  # accepts and hangs up
    port = listener.port
    listener.close()
    with pytest.raises(MetricsUnreachable, match="refused or has no route"):
        connect_prometheus(f"http://127.0.0.1:{port}", timeout=2).query("up")
    server = BearerProxy("http://127.0.0.1:1", "t")  # answers 401 text, not JSON, without auth
    try:
        with pytest.raises(MetricsUnauthorized):
            connect_prometheus(server.url).query("up")
    finally:
        server.close()


def test_a_page_that_is_not_prometheus(prometheus: PrometheusServer) -> None:
    with pytest.raises(NotPrometheus, match="check SRE_PROMETHEUS__URL"):
        connect_prometheus(prometheus.url + "/graph").query("up")


def test_a_bad_query_says_what_prometheus_said(live: LivePrometheus) -> None:
    with pytest.raises(BadQuery, match="Prometheus refused the query: .*parse error"):
        live.query("sum(rate(http_requests_total[5m]", AT)


# --- bounded, redacted ---------------------------------------------------------------------------

def test_huge_results_are_bounded(prometheus: PrometheusServer) -> None:
    reader = connect_prometheus(prometheus.url, limits=Limits(series=50, points=20))
    result = reader.query('load_gauge{namespace="load"}', AT)
    assert len(result.series) == 50 and result.dropped_series == 950
    assert result.note == "1000 series, the first 50 kept"
    ranged = reader.query(f'container_cpu_cfs_periods_total{{pod="{SLOW}"}}[1h]', AT)
    assert len(ranged.series[0].points) == 20 and ranged.dropped_points == 240 - 20
    assert ranged.series[0].points[-1][0] == END  # the most recent are kept
    steps = reader.query_range("sum(container_cpu_cfs_periods_total)", END - 3600, END, step=1)
    assert 15 <= len(steps.series[0].points) <= 20  # the step grew from 1 s to fit the bound
    small = connect_prometheus(prometheus.url, limits=Limits(response_bytes=4096))
    with pytest.raises(BadQuery, match="larger than"):
        small.query('load_gauge{namespace="load"}', AT)
    reader.close()
    small.close()


def test_label_values_pass_the_redactor(live: LivePrometheus, snapshot_dir: Path) -> None:
    for reader in (live, SnapshotMetrics(snapshot_dir)):
        (series,) = reader.query(f'up{{pod="{SLOW}"}}', AT).series
        assert "Sup3rS3cretPassw0rd" not in series.labels["scrape_url"]
        assert series.labels["scrape_url"].startswith("postgres://checkout:")
    assert not any("Sup3rS3cret" in str(s) for s in live.series(["up"], END - 600, END))


def test_rules_alerts_labels_series(live: LivePrometheus) -> None:
    assert live.rules() == [] and live.alerts() == []
    assert "container" in live.labels() and "__name__" in live.labels()
    found = live.series([f'kube_pod_container_resource_limits{{pod="{SLOW}"}}'], END - 600, END)
    assert sorted(s["resource"] for s in found) == ["cpu", "memory"]


def test_values_prometheus_writes_as_strings(live: LivePrometheus) -> None:
    (nan,) = live.query("vector(0) / 0", AT).series
    assert math.isnan(nan.value)
    assert live.query("1 + 1", AT).series[0].value == 2.0


def test_urllib3_is_the_only_transport() -> None:
    reader = connect_prometheus("https://prometheus.example:9090/prom", bearer_token="t")
    assert isinstance(reader._pool, urllib3.PoolManager)
    assert reader.source == "Prometheus https://prometheus.example:9090/prom"


# --- the agent's tool ----------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cascade"


def test_prometheus_query_tool_only_when_configured(live: LivePrometheus) -> None:
    cluster = open_cluster(snapshot=EXAMPLE)
    off = Toolbox(cluster).prometheus_query(f'up{{namespace="{NS}"}}', NS)
    assert off.status == "unavailable" and "SRE_PROMETHEUS__URL" in (off.message or "")
    box = Toolbox(cluster, live)
    # over a day: the series end minutes before "now", however late this test runs
    live_now = box.prometheus_query(f'max by (pod) (max_over_time(container_memory_working_set_'
                                    f'bytes{{namespace="{NS}", container="app"}}[1d]))', NS)
    assert live_now.ok and live_now.entries[0].startswith("query: max by (pod)")
    assert f"{{pod='{SLOW}'}} 5.10027e+08" in live_now.entries
    for query in ("up", 'up{namespace="data"}', '{__name__=~".+"}',
                  f'sum(rate(http_requests_total{{namespace="{NS}"}}[5m])) / sum(rate(x[5m]))'):
        refused = box.prometheus_query(query, NS)
        assert refused.status == "forbidden" and "namespace" in (refused.message or ""), query
    bad = box.prometheus_query(f'sum(up{{namespace="{NS}"}}', NS)
    assert bad.status == "unavailable" and "parse error" in (bad.message or "")


def test_the_alert_expression_keeps_to_the_namespace(live: LivePrometheus) -> None:
    answer = metric_evidence(live, "throttling", "payments", "ledger", ["ledger-0"],
                             alert_expression=CPU_THROTTLING_HIGH, at=AT)
    (alert,) = _by_question(answer, "alert")
    assert SLOW not in alert.object and "no longer holds" in alert.reading


def test_open_metrics_picks_the_backend(snapshot_dir: Path, tmp_path: Path) -> None:
    assert isinstance(open_metrics(snapshot=snapshot_dir), SnapshotMetrics)
    assert open_metrics(snapshot=tmp_path) is None  # a snapshot without metrics/: no metrics
    assert open_metrics() is None
    assert isinstance(open_metrics(url="http://127.0.0.1:9"), LivePrometheus)


def test_sre_snapshot_captures_the_series_beside_the_cluster(
        admin_client: k8s.ApiClient, readonly_kubeconfig: Path, prometheus: PrometheusServer,
        live: LivePrometheus, tmp_path: Path) -> None:
    try:
        k8s.CoreV1Api(admin_client).create_namespace({"metadata": {"name": NS}})
    except k8s.ApiException as e:
        assert e.status == 409  # another test made it: namespaces never finish deleting here
    out = tmp_path / "snap"
    env = {**os.environ, "SRE_PROMETHEUS__URL": prometheus.url}
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "snapshot", str(out), "--kubeconfig",
         str(readonly_kubeconfig), "--namespaces", NS, "--json"],
        capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert '"series": 31' in done.stdout
    assert (out / "metrics" / f"{NS}.om").is_file()
    for symptom in ("throttling", "memory", "latency"):  # 5-minute windows: inside the capture
        want = metric_evidence(live, symptom, NS, WORKLOAD, PODS, at=AT)
        got = metric_evidence(open_metrics(snapshot=out), symptom, NS, WORKLOAD, PODS, at=AT)
        assert [e.reading for e in got.evidence] == [e.reading for e in want.evidence]
    skipped = subprocess.run(
        [sys.executable, "-m", "assistant", "snapshot", str(tmp_path / "bare"), "--kubeconfig",
         str(readonly_kubeconfig), "--namespaces", NS, "--no-metrics"],
        capture_output=True, text=True, timeout=120, env=env)
    assert skipped.returncode == 0 and "and 0 metric series" in skipped.stdout
    assert not (tmp_path / "bare" / "metrics").exists()


def test_a_scenario_carries_its_series_to_both_backends(tmp_path: Path) -> None:
    scenario = load(DATA / "scenario-with-series.yaml").renamed({"shop": "t-shop-7"})
    directory = write_snapshot_dir(scenario, tmp_path / "dump")
    assert sorted(p.name for p in (directory / "metrics").iterdir()) == ["cluster.om",
                                                                           "t-shop-7.om"]
    server = start_prometheus(sorted((directory / "metrics").iterdir()))
    try:
        live = connect_prometheus(server.url)
        at = SnapshotMetrics(directory).now() + 7
        answers = [metric_evidence(m, "throttling", "t-shop-7", "pricing",
                                   ["pricing-6c9d7f5b8-q4w7z"], at=at)
                   for m in (live, open_metrics(snapshot=directory))]
        assert [e.reading for e in answers[0].evidence] == [e.reading for e in answers[1].evidence]
        assert answers[0].evidence[0].reading == (
            "container app of pod pricing-6c9d7f5b8-q4w7z was throttled in 90% of its CPU periods "
            "(last 5m)")
        live.close()
    finally:
        server.stop()


def _sre(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from assistant.cli import main

    with pytest.raises(SystemExit) as ended:
        main(list(argv))
    return int(ended.value.code or 0), capsys.readouterr().out


def test_sre_tool_prometheus_query_reads_a_snapshots_series(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = load(DATA / "scenario-with-series.yaml")
    directory = str(write_snapshot_dir(scenario, tmp_path / "dump"))
    query = ('sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{namespace="shop"}[5m]))'
             ' / sum by (pod) (rate(container_cpu_cfs_periods_total{namespace="shop"}[5m]))')
    code, out = _sre(capsys, "tool", "prometheus_query", query, "-n", "shop", "--snapshot",
                     directory)
    assert code == 0 and out.startswith("[prometheus_query] ok")
    assert "{pod='pricing-6c9d7f5b8-q4w7z'} 0.9" in out
    code, out = _sre(capsys, "tool", "prometheus_query", 'up{namespace="data"}', "-n", "shop",
                     "--snapshot", directory)
    assert "[prometheus_query] forbidden: up is not held to namespace shop" in out
    bare = write_snapshot_dir(load(DATA.parent / "tools-cluster.yaml"), tmp_path / "bare")
    code, out = _sre(capsys, "tool", "prometheus_query", query, "-n", "shop", "--snapshot",
                     str(bare))
    assert code == 0 and "unavailable: no Prometheus is configured" in out


def test_the_agent_offers_prometheus_query_only_when_configured(tmp_path: Path) -> None:
    from agent_fakes import ScriptedChatModel, call

    from assistant.agent import Agent
    from assistant.investigation import Request
    from assistant.settings import ModelSettings, Settings

    directory = write_snapshot_dir(load(DATA / "scenario-with-series.yaml"), tmp_path / "dump")
    cluster = open_cluster(snapshot=directory)
    settings = Settings(model=ModelSettings(provider="openai-compatible", name="scripted",
                                            base_url="http://127.0.0.1:9/v1"))
    query = ('sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{namespace="shop"}[5m]))'
             ' / sum by (pod) (rate(container_cpu_cfs_periods_total{namespace="shop"}[5m]))')
    explanation = call("Explanation", summary="pricing is throttled.", cites=[1])

    def offered(model: ScriptedChatModel) -> list[str]:
        schema = model.bindings[0]["tools"][0]["function"]["parameters"]
        return list(schema["properties"]["tool"]["enum"])

    model = ScriptedChatModel(script=[call("NextStep", tool="prometheus_query", query=query),
                                      call("NextStep", tool="done"), explanation])
    Agent(settings, cluster, model=model, metrics=open_metrics(snapshot=directory)).investigate(
        Request(question="why is pricing slow in namespace shop?"))
    assert "prometheus_query" in offered(model)
    assert [b["tool_choice"] for b in model.bindings][:2] == ["NextStep", "NextStep"]
    second = str(model.prompts[1][-1].content)
    assert "prometheus_query" in second and "{pod='pricing-6c9d7f5b8-q4w7z'} 0.9" in second

    model = ScriptedChatModel(script=[call("NextStep", tool="done"), explanation])
    Agent(settings, cluster, model=model).investigate(
        Request(question="why is pricing slow in namespace shop?"))
    assert "prometheus_query" not in offered(model)
    assert "prometheus_query" not in str(model.prompts[0][-1].content)


RULES = f"""groups:
- name: kubernetes-resources
  interval: 1s
  rules:
  - alert: CPUThrottlingHigh
    annotations:
      description: '{{{{ $value | humanizePercentage }}}} throttling of CPU in namespace
        {{{{ $labels.namespace }}}} for container {{{{ $labels.container }}}} in pod
        {{{{ $labels.pod }}}}. Dashboard https://grafana.example/d/x?auth_token=ghp_16C7e42F292c6912E7710c838347Ae178B4a'
      runbook_url: https://runbooks.prometheus-operator.dev/runbooks/kubernetes/cputhrottlinghigh
      summary: Processes experience elevated CPU throttling.
    expr: {CPU_THROTTLING_HIGH}
    labels:
      severity: info
"""


def test_rules_and_alerts_of_a_real_prometheus(tmp_path: Path) -> None:
    # the rule evaluates "now": the series must end inside its 5-minute windows
    directory = tmp_path
    specs = yaml.safe_load((DATA / "checkout-slow.yaml").read_text())
    write_openmetrics(expand(specs, float(int(time.time()) - 20)), directory / f"{NS}.om")
    server = start_prometheus([directory / f"{NS}.om"], rules=RULES)
    try:
        reader = connect_prometheus(server.url)
        (rule,) = reader.rules()
        assert rule["name"] == "CPUThrottlingHigh"  # its query as Prometheus prints it back:
        assert rule["query"].startswith("sum by (container, pod, namespace) (increase(")
        assert expression_of_alert(reader, "CPUThrottlingHigh") == rule["query"]
        assert expression_of_alert(reader, "KubePodCrashLooping") is None
        deadline = time.monotonic() + 20
        while not reader.alerts() and time.monotonic() < deadline:
            time.sleep(0.5)
        (alert,) = reader.alerts()
        assert alert["labels"]["pod"] == SLOW and alert["state"] in ("firing", "pending")
        assert "ghp_16C7e42F292c6912E7710c838347Ae178B4a" not in str(alert)
        assert "ghp_16C7e42F292c6912E7710c838347Ae178B4a" not in str(rule)
        assert "throttling of CPU in namespace shop" in alert["annotations"]["description"]
        answer = metric_evidence(reader, "throttling", NS, WORKLOAD, PODS,
                                 alert_expression=expression_of_alert(reader, "CPUThrottlingHigh"))
        assert [e.object for e in _by_question(answer, "alert")] == [f"Pod/{NS}/{SLOW}"]
        reader.close()
    finally:
        server.stop()
