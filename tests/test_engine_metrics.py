"""The engine with numbers: the scenarios that carry series (tests/scenarios/*.yaml with
`metrics:`) answered with their snapshot's series, with a real Prometheus holding the same series
beside the real apiserver, and with no Prometheus at all.

With numbers, the answer says the number that matters and each number is evidence with its
PromQL; both backends give the same readings. Without Prometheus, the answer rests on the spec
and status as before and says which numbers it could not see; it is never "healthy".
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from harness.apiserver import _free_ports
from harness.prometheus import start_prometheus
from harness.scenarios import SCENARIO_DIR, Scenario, load, write_metric_files, write_snapshot_dir

import tools
from assistant import cli
from assistant.diagnosis import Diagnosis
from assistant.engine import diagnose
from tools import Metrics, connect_prometheus, open_metrics
from tools.restricting import Restricted

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from accuracy import verdict  # noqa: E402

THROTTLING = SCENARIO_DIR / "throttling-cpu-limit-measured.yaml"
LATENCY = SCENARIO_DIR / "latency-p99-small-cpu-limit.yaml"
MEMORY = SCENARIO_DIR / "memory-creep-oomkilled.yaml"
# What each answer must say with its numbers (in the summary, first read).
SAID = {
    THROTTLING: ["container scorer of pod fraud-scorer-6b8f4d9c7-m2xkq was throttled in 80% of "
                 "its CPU periods (last 5m)"],
    LATENCY: ["query-api answers 99% of requests within 2.3 s (p99, last 5m)",
              "was throttled in 60% of its CPU periods"],
    MEMORY: ["container renderer of pod invoice-renderer-7c94b6d5f-f6t2w uses 95% of its memory "
             "limit (working set)"],
}
# kube-prometheus-stack's CPUThrottlingHigh, as its rule file writes it
RULES = """groups:
- name: kubernetes-resources
  interval: 1s
  rules:
  - alert: CPUThrottlingHigh
    expr: sum(increase(container_cpu_cfs_throttled_periods_total{container!="", }[5m])) by
      (container, pod, namespace) / sum(increase(container_cpu_cfs_periods_total{}[5m])) by
      (container, pod, namespace) > ( 25 / 100 )
    for: 15m
    labels:
      severity: info
"""


def _metrics_evidence(result: Diagnosis) -> list[str]:
    return [e.detail for e in result.evidence if e.source == "metrics"]


def _readings(result: Diagnosis) -> list[str]:
    """The readings of the metrics evidence, without their queries."""
    return [detail.split(" [PromQL: ")[0] for detail in _metrics_evidence(result)]


@contextmanager
def _snapshot(path: Path, tmp_path: Path) -> Iterator[tuple[Scenario, tools.Cluster, Metrics]]:
    scenario = load(path)
    directory = write_snapshot_dir(scenario, tmp_path / "snap")
    metrics = open_metrics(snapshot=directory)
    assert metrics is not None
    yield scenario, tools.open_cluster(snapshot=directory), metrics
    metrics.close()


@pytest.mark.parametrize("path", [THROTTLING, LATENCY, MEMORY], ids=lambda p: p.stem)
def test_the_snapshots_series_put_the_number_and_its_query_in_the_answer(
        path: Path, tmp_path: Path) -> None:
    with _snapshot(path, tmp_path) as (scenario, cluster, metrics):
        for question in scenario.questions:
            result = diagnose(cluster, question, metrics=metrics)
            ok, why = verdict(scenario.expect, result)
            assert ok, f"{question!r}: {why}\n{result.summary}"
            for reading in SAID[path]:
                assert reading in result.summary, result.summary
            evidence = _metrics_evidence(result)
            assert evidence and all("[PromQL: " in e and e.endswith(")]") for e in evidence)
            assert result.confidence >= 0.9  # the number measures the root cause itself
            assert not [n for n in result.notes if "without Prometheus" in n]


@pytest.mark.parametrize("path", [THROTTLING, LATENCY, MEMORY], ids=lambda p: p.stem)
def test_without_prometheus_the_answer_rests_on_the_spec_and_says_what_it_could_not_see(
        path: Path, tmp_path: Path) -> None:
    scenario = load(path)
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "snap"))
    result = diagnose(cluster, scenario.questions[0])
    ok, why = verdict(scenario.expect, result)
    assert ok, why
    assert not _metrics_evidence(result) and "Measured" not in result.summary
    (note,) = [n for n in result.notes if n.startswith("could not see: ")]
    assert note.endswith("without Prometheus (SRE_PROMETHEUS__URL is not set)")
    wanted = {THROTTLING: "CPU throttled ratio per container",
              LATENCY: "99th percentile request latency",
              MEMORY: "memory working set against the memory limit per container"}[path]
    assert wanted in note


def test_a_slow_service_with_nothing_wrong_in_its_spec_is_never_called_healthy(
        tmp_path: Path) -> None:
    scenario = load(SCENARIO_DIR / "healthy-namespace.yaml")
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "snap"))
    result = diagnose(cluster, "why is frontend slow?")
    assert result.healthy is None and "looks healthy" not in result.summary
    assert any(n.startswith("could not see: ") and "99th percentile request latency" in n
               and "without Prometheus" in n for n in result.notes)


def test_prometheus_without_the_symptoms_series_says_which_are_missing(tmp_path: Path) -> None:
    # the memory scenario's series hold no request histogram: a latency question finds none
    with _snapshot(MEMORY, tmp_path) as (_, cluster, metrics):
        result = diagnose(cluster, "why is invoice-renderer slow?", metrics=metrics)
    assert result.healthy is not True
    (note,) = [n for n in result.notes if "no series of" in n]
    assert "99th percentile request latency" in note
    assert "http_request_duration_seconds_bucket" in note


def test_a_calm_throttled_ratio_weighs_against_a_cpu_limit_cause(tmp_path: Path) -> None:
    scenario = load(THROTTLING)
    calm = [{**spec, "counter": 0.2} if "cfs_throttled" in spec["series"] else spec
            for spec in scenario.metrics]  # 2% of periods throttled instead of 80%
    scenario.metrics[:] = calm
    directory = write_snapshot_dir(scenario, tmp_path / "snap")
    metrics = open_metrics(snapshot=directory)
    result = diagnose(tools.open_cluster(snapshot=directory), scenario.questions[0],
                      metrics=metrics)
    assert result.confidence <= 0.4
    assert any(n.startswith("measured against it: ") and "2.0% of its CPU periods" in n
               for n in result.notes), result.notes


def _back(text: str, renamed: Scenario, scenario: Scenario) -> str:
    for new, old in zip(renamed.namespaces, scenario.namespaces, strict=True):
        text = re.sub(rf"\b{re.escape(new)}\b", old, text)
    return text


@pytest.mark.parametrize("path", [THROTTLING, LATENCY, MEMORY], ids=lambda p: p.stem)
def test_a_real_prometheus_beside_the_real_apiserver_gives_the_same_answer(
        path: Path, tmp_path: Path, seed_scenario: Callable[[Scenario], Scenario],
        readonly_cluster: tools.Cluster) -> None:
    with _snapshot(path, tmp_path) as (scenario, cluster, snapshot_metrics):
        offline = diagnose(cluster, scenario.questions[0], metrics=snapshot_metrics)
    renamed = seed_scenario(scenario)
    # the last sample lands a few seconds after Prometheus is up and asked, as a live scrape's
    # does: every 5-minute window ends within a scrape interval of a sample
    files = write_metric_files(renamed, tmp_path / "live", end=time.time() + 10)
    server = start_prometheus(files, rules=RULES if path == THROTTLING else None)
    try:
        prometheus = connect_prometheus(server.url)
        question = scenario.questions[0]
        live = diagnose(Restricted(readonly_cluster, renamed.namespaces), question,
                        metrics=prometheus)
        ok, why = verdict(renamed.expect, live)
        assert ok, f"live: {why}\n{live.summary}"
        for reading in SAID[path]:
            assert reading in live.summary
        assert [_back(r, renamed, scenario) for r in _readings(live)] == _readings(offline)
        assert live.confidence == offline.confidence
        if path == THROTTLING:  # the alert's own expression, from Prometheus' rules
            alert = diagnose(Restricted(readonly_cluster, renamed.namespaces),
                             scenario.questions[1].replace("payments", renamed.namespaces[0]),
                             metrics=prometheus)
            expressions = [e for e in alert.evidence if "the alert's expression is" in e.detail]
            assert [e.object.split("/")[-1] for e in expressions] == [
                "fraud-scorer-6b8f4d9c7-m2xkq", "fraud-scorer-6b8f4d9c7-w7r4t"]
            assert "is 0.8 now for container=scorer" in expressions[0].detail
            assert "is 0.75 now for container=scorer" in expressions[1].detail
            assert "PromQL: sum by (container, pod, namespace) (increase(" in expressions[0].detail
        prometheus.close()
    finally:
        server.stop()


def _with_a_large_cpu_limit(throttled_per_second: float) -> Scenario:
    """The latency scenario with a 2-core limit, which the spec alone does not suspect."""
    scenario = load(LATENCY)
    scenario.objects[:] = json.loads(json.dumps(scenario.objects).replace(
        '"limits": {"cpu": "200m"', '"limits": {"cpu": "2"'))
    scenario.metrics[:] = [
        {**spec, "gauge": 2} if 'resource="cpu"' in spec["series"] else
        {**spec, "counter": throttled_per_second} if "cfs_throttled" in spec["series"] else spec
        for spec in scenario.metrics]
    return scenario


def test_only_the_numbers_show_the_cause(tmp_path: Path) -> None:
    scenario = _with_a_large_cpu_limit(6)  # still 60% of periods throttled
    directory = write_snapshot_dir(scenario, tmp_path / "snap")
    cluster = tools.open_cluster(snapshot=directory)
    blind = diagnose(cluster, scenario.questions[0])
    assert blind.healthy is None and blind.root_cause is None
    assert any("without Prometheus" in n for n in blind.notes)
    result = diagnose(cluster, scenario.questions[0], metrics=open_metrics(snapshot=directory))
    assert result.root_cause is not None
    assert (result.root_cause.category, result.root_cause.object) == (
        "cpu_throttling", "Deployment/search/query-api")
    assert "api throttled in 60% of its CPU periods (limit 2)" in result.summary
    assert "query-api answers 99% of requests within 2.3 s" in result.summary
    assert result.evidence[0].detail == "container api: limits.cpu 2"
    assert result.remediation and "--limits=cpu=" in (result.remediation[0].command or "")
    assert not [n for n in result.notes if n.startswith(("next: ", "not visible: "))]


def test_numbers_that_explain_nothing_still_answer_what_was_asked(tmp_path: Path) -> None:
    scenario = _with_a_large_cpu_limit(0.2)  # 2% throttled: not the cause
    directory = write_snapshot_dir(scenario, tmp_path / "snap")
    result = diagnose(tools.open_cluster(snapshot=directory), scenario.questions[0],
                      metrics=open_metrics(snapshot=directory))
    assert result.healthy is None and result.root_cause is None
    assert "Measured: query-api answers 99% of requests within 2.3 s" in result.summary
    assert "request latency histograms" not in result.summary + " ".join(result.notes)
    assert "not visible: traces" in result.notes  # what no number shows is still said


def test_sre_ask_on_a_snapshot_reads_its_series(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    directory = write_snapshot_dir(load(LATENCY), tmp_path / "snap")
    assert cli.run(["ask", "why is query-api so slow?", "--snapshot", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "Measured: query-api answers 99% of requests within 2.3 s (p99, last 5m)" in out
    assert "[metrics] `Deployment/search/query-api`: query-api answers 99% of requests within " \
           "2.3 s (p99, last 5m) [PromQL: histogram_quantile(0.99, " in out


def test_sre_ask_reads_the_prometheus_sre_prometheus_url_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        seed_scenario: Callable[[Scenario], Scenario], readonly_kubeconfig: Path) -> None:
    renamed = seed_scenario(load(THROTTLING))
    files = write_metric_files(renamed, tmp_path / "live", end=time.time() + 10)
    server = start_prometheus(files)
    try:
        monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
        base = ["--kubeconfig", str(readonly_kubeconfig), "-n", renamed.namespaces[0], "--json"]
        monkeypatch.setenv("SRE_PROMETHEUS__URL", server.url)
        assert cli.run(["ask", "why is fraud-scorer being CPU throttled?", *base]) == 0
        measured = Diagnosis.model_validate_json(capsys.readouterr().out)
        monkeypatch.delenv("SRE_PROMETHEUS__URL")
        assert cli.run(["ask", "why is fraud-scorer being CPU throttled?", *base]) == 0
        blind = Diagnosis.model_validate_json(capsys.readouterr().out)
    finally:
        server.stop()
    assert "container scorer of pod fraud-scorer-6b8f4d9c7-m2xkq was throttled in 80% of its " \
           "CPU periods (last 5m)" in measured.summary
    assert measured.confidence == 0.9 and blind.confidence == 0.6
    assert not _metrics_evidence(blind) and "Measured" not in blind.summary
    assert any(n.endswith("without Prometheus (SRE_PROMETHEUS__URL is not set)")
               for n in blind.notes)


def test_an_unreachable_prometheus_is_said_once_and_the_spec_answer_stands(
        tmp_path: Path) -> None:
    scenario = load(LATENCY)
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "snap"))
    (port,) = _free_ports(1)  # nothing listens there
    prometheus = connect_prometheus(f"http://127.0.0.1:{port}", timeout=2)
    result = diagnose(cluster, scenario.questions[0], metrics=prometheus)
    ok, why = verdict(scenario.expect, result)
    assert ok, why
    (note,) = [n for n in result.notes if n.startswith("could not see: ")]
    for question in ("CPU throttled ratio per container", "99th percentile request latency",
                     "CPU use against the CPU limit per container"):
        assert question in note
    assert note.endswith(f"Prometheus at http://127.0.0.1:{port} is unreachable: the "
                         "connection was refused or has no route")
