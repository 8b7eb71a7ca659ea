"""The assistant's own observability: `GET /metrics` on `sre web` and `sre slack` after real
investigations (the real servers as subprocesses, reading the real test apiserver; the Slack app
driven by signed requests and Alertmanager webhooks, answering a local fake of Slack's Web API),
JSON logs that parse and hold no secret, model calls and tokens through the web app, who may
read the metrics, OpenTelemetry spans received by a real OTLP/gRPC endpoint, and an offline
`sre ask` that never loads any of it."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import httpx
from agent_fakes import PLANTED, ScriptedChatModel, call, plant_secrets
from fakes.alertmanager import alert, webhook
from fakes.slack_api import FakeSlack, SlackSender
from fakes.slack_env import SECRET
from harness.scenarios import SCENARIO_DIR, Scenario, load, write_snapshot_dir
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

import tools
from assistant.agent import Agent
from assistant.diagnosis import Diagnosis
from assistant.logs import JsonFormatter, Scrubber, secrets_of
from assistant.observing import STEPS, Metrics
from assistant.settings import ModelSettings, Settings, TracingSettings, WebSettings
from assistant.slack import HttpServer
from assistant.tracing import Tracing
from assistant.web import Asking, web_app

SRE = str(Path(sys.executable).with_name("sre"))
WEB_TOKEN = "Sesame-Web-Token-4242"  # plain words: only the exact-value mask hides it
METRICS_TOKEN = "scrape-me-0a1b2c3d"
BOT_TOKEN = "xoxb-1111-2222-PlantedBotToken"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


# --- helpers ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def samples(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in found.items() if n == name and wanted <= have)


def labels_of(found: Samples, name: str, label: str) -> set[str]:
    return {dict(have)[label] for (n, have), _ in found.items() if n == name}


@contextmanager
def serving(args: list[str], env: dict[str, str], port: int) -> Iterator[list[str]]:
    """`sre ARGS` until the block ends; then SIGINT, and the list holds its stderr lines."""
    lines: list[str] = []
    process = subprocess.Popen([SRE, *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert process.poll() is None, process.communicate()[1]
            try:
                if httpx.get(f"{url}/healthz").text == "ok":
                    break
            except httpx.TransportError:
                threading.Event().wait(0.1)
        else:
            raise AssertionError(f"sre {args[0]} did not start in 30 s")
        yield lines
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        lines.extend(stderr.splitlines())


def base_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "SRE_STATE_DIR": str(tmp_path / "state"), "SRE_LOG__FORMAT": "json", **settings}


def check_json_logs(lines: list[str], secrets: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every line a JSON object with the documented keys, and no secret anywhere in it."""
    records = [json.loads(line) for line in lines]
    assert records, "the server wrote no log"
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    text = "\n".join(lines)
    assert [s for s in secrets if s in text] == []
    return records


def seeded(seed_scenario: Callable[[Scenario], Scenario]) -> tuple[Scenario, str]:
    """checkout crash-loops (DATABASE_URL missing) with passwords and tokens planted in its env
    and logs, in a fresh namespace of the test apiserver."""
    scenario = seed_scenario(plant_secrets(load(SCENARIO_DIR / "crashloop-missing-env.yaml")))
    return scenario, next(ns for ns in scenario.namespaces if ns.startswith("shop"))


def check_steps(found: Samples, count: int) -> None:
    for step in STEPS:
        assert value(found, "sre_step_duration_seconds_count", step=step) == count, step
    assert labels_of(found, "sre_step_duration_seconds_count", "step") == set(STEPS)


def check_cluster_requests(found: Samples) -> None:
    assert value(found, "sre_cluster_requests_total") > 0
    assert labels_of(found, "sre_cluster_requests_total", "verb") <= {"get", "list"}
    assert "pods" in labels_of(found, "sre_cluster_requests_total", "resource")
    assert value(found, "sre_cluster_request_duration_seconds_count") == \
        value(found, "sre_cluster_requests_total")


# --- the web chat ------------------------------------------------------------------------------

def test_sre_web_metrics_and_json_logs_after_a_live_investigation(
        seed_scenario: Callable[[Scenario], Scenario], readonly_kubeconfig: Path,
        tmp_path: Path) -> None:
    _, namespace = seeded(seed_scenario)
    port = _free_port()
    env = base_env(tmp_path, SRE_WEB__PORT=str(port), SRE_WEB__NAMESPACES=namespace,
                   SRE_WEB__TOKEN=WEB_TOKEN)
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {WEB_TOKEN}"}
    question = f"why is checkout failing? password={PLANTED[0]} (token {WEB_TOKEN})"
    with serving(["web", "--kubeconfig", str(readonly_kubeconfig)], env, port) as lines:
        before = samples(httpx.get(f"{url}/metrics", headers=auth).text)
        assert value(before, "sre_investigations_total") == 0
        assert value(before, "sre_queue_depth", interface="web") == 0
        answer = httpx.post(f"{url}/api/ask", headers=auth, timeout=60,
                            json={"question": question, "session": "metrics-test-1"})
        final = answer.text.strip().split("\n\n")[-1]
        assert final.startswith("event: diagnosis"), final
        diagnosis = Diagnosis.model_validate_json(final.split("data: ", 1)[1])
        assert "DATABASE_URL" in diagnosis.summary
        httpx.get(f"{url}/?token={WEB_TOKEN}")  # the link users open: uvicorn logs its path
        assert httpx.get(f"{url}/metrics").status_code == 401  # guarded like the chat
        scraped = httpx.get(f"{url}/metrics", headers=auth)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(scraped.text)
    assert value(found, "sre_investigations_total", interface="web", verdict="unhealthy") == 1
    assert value(found, "sre_investigation_duration_seconds_count", interface="web") == 1
    check_steps(found, 1)
    check_cluster_requests(found)
    assert value(found, "sre_queue_depth", interface="web") == 0
    assert value(found, "sre_investigations_running", interface="web") == 0
    assert value(found, "sre_queue_rejections_total", interface="web") == 0

    records = check_json_logs(lines, (*PLANTED, WEB_TOKEN))
    done = [r for r in records if r["logger"] == "assistant.observing"]
    assert [(r["interface"], r["verdict"]) for r in done] == [("web", "unhealthy")]
    assert "password=[REDACTED]" in done[0]["message"]
    assert any("GET /?token=[REDACTED]" in r["message"] for r in records)
    assert any(r["message"] == "Application shutdown complete." for r in records)


def test_model_calls_and_tokens_through_the_web_app(tmp_path: Path) -> None:
    scenario = load(SCENARIO_DIR / "prompt-injection-in-logs.yaml")
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "snap"))
    settings = Settings(state_dir=tmp_path / "state", model=ModelSettings(
        provider="openai-compatible", name="scripted", base_url="http://127.0.0.1:9/v1"))
    # the model chooses to stop, then is down when asked for the explanation
    model = ScriptedChatModel(script=[call("NextStep", tool="done")])
    model.script.append(ConnectionError("the model server went away"))  # as is, not validated
    agent = Agent(settings, cluster, model=model)
    metrics = Metrics()
    metrics.watch_model(agent.model, settings.model.provider)
    asking = Asking(agent, workers=1, queue_limit=1, metrics=metrics)
    server = HttpServer(web_app(asking), "127.0.0.1", 0).start()
    try:
        answer = httpx.post(f"{server.url}/api/ask", timeout=30, json={
            "question": "why is comment-service crash looping?", "session": "model-test-1"})
        assert "event: diagnosis" in answer.text
        found = samples(httpx.get(f"{server.url}/metrics").text)
    finally:
        server.stop()
        asking.shutdown(wait=True)
        cluster.close()
    assert model.script == []
    provider = "openai-compatible"
    assert value(found, "sre_model_calls_total", provider=provider, outcome="ok") == 1
    assert value(found, "sre_model_calls_total", provider=provider, outcome="error") == 1
    assert value(found, "sre_model_tokens_total", provider=provider, direction="prompt") == 100
    assert value(found, "sre_model_tokens_total", provider=provider,
                 direction="completion") == 10
    assert value(found, "sre_investigations_total", interface="web", verdict="unhealthy") == 1


def test_who_may_read_the_web_chats_metrics(tmp_path: Path) -> None:
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(
        load(SCENARIO_DIR / "crashloop-missing-env.yaml"), tmp_path / "snap"))
    from assistant.investigation import EngineInvestigator

    asking = Asking(EngineInvestigator(cluster), workers=1, queue_limit=0)
    guarded = HttpServer(web_app(asking, WebSettings(token="chat-token-1")), "127.0.0.1",
                         0).start()
    own = HttpServer(web_app(asking, WebSettings(token="chat-token-1",
                                                 metrics_token=METRICS_TOKEN)),
                     "127.0.0.1", 0).start()
    chat, scrape = {"Authorization": "Bearer chat-token-1"}, {
        "Authorization": f"Bearer {METRICS_TOKEN}"}
    pod_address = {"Host": "10.1.2.3:8080"}  # how Prometheus reaches a pod
    try:
        # no metrics token: the chat's own rules (allowed hosts, then its token)
        assert httpx.get(f"{guarded.url}/metrics").status_code == 401
        assert httpx.get(f"{guarded.url}/metrics", headers=chat).status_code == 200
        assert httpx.get(f"{guarded.url}/metrics", headers={**chat, **pod_address}
                         ).status_code == 400
        # a metrics token: that token, from any address, and it opens nothing else
        assert httpx.get(f"{own.url}/metrics", headers={**scrape, **pod_address}
                         ).status_code == 200
        assert httpx.get(f"{own.url}/metrics", headers=chat).status_code == 401
        odd = {"Authorization": "Bearer é".encode()}  # not ASCII: compared as bytes
        assert httpx.get(f"{own.url}/metrics", headers=odd).status_code == 401
        assert httpx.post(f"{own.url}/api/ask", headers=scrape, json={
            "question": "why?", "session": "metrics-test-2"}).status_code == 401
    finally:
        guarded.stop()
        own.stop()
        asking.shutdown(wait=True)
        cluster.close()


# --- the Slack app ----------------------------------------------------------------------------

def test_sre_slack_metrics_after_a_command_and_alerts(
        seed_scenario: Callable[[Scenario], Scenario], readonly_kubeconfig: Path,
        tmp_path: Path) -> None:
    scenario, namespace = seeded(seed_scenario)
    pod = next(o["metadata"]["name"] for o in scenario.objects if o["kind"] == "Pod")
    fake = FakeSlack().start()
    port = _free_port()
    env = base_env(tmp_path, SRE_SLACK__BOT_TOKEN=BOT_TOKEN, SRE_SLACK__SIGNING_SECRET=SECRET,
                   SRE_SLACK__API_BASE_URL=fake.api_url, SRE_SLACK__PORT=str(port),
                   SRE_SLACK__CHANNEL_NAMESPACES=json.dumps({"*": [namespace]}),
                   SRE_SLACK__INCIDENT_CHANNEL="C0INCIDENT",
                   SRE_SLACK__METRICS_TOKEN=METRICS_TOKEN)
    url = f"http://127.0.0.1:{port}"
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    labels = {"namespace": namespace, "pod": pod, "container": "app"}
    firing = webhook("firing", [dict(alert(pod), labels={**alert(pod)["labels"], **labels})])
    firing["commonLabels"]["namespace"] = namespace

    def scraped() -> Samples:
        return samples(httpx.get(f"{url}/metrics", headers=scrape).text)

    try:
        with serving(["slack", "--kubeconfig", str(readonly_kubeconfig)], env, port) as lines:
            sender = SlackSender(url, SECRET, fake)
            assert sender.command(f"ask why is checkout failing? password={PLANTED[0]}",
                                  channel="C0ANY").status == 200
            for _ in range(2):  # Alertmanager repeats a group: the second starts nothing
                assert httpx.post(f"{url}/alerts", json=firing,  # a loaded CI machine: the
                                  timeout=30).status_code in (200, 202)  # answer, not its speed
            fake.wait_for(lambda: value(scraped(), "sre_investigations_total") >= 2,
                          timeout=60, what="two investigations")
            assert httpx.get(f"{url}/metrics").status_code == 401
            found = scraped()
    finally:
        fake.stop()
    assert value(found, "sre_investigations_total", interface="slack", verdict="unhealthy") == 1
    assert value(found, "sre_investigations_total", interface="alerts") == 1
    assert value(found, "sre_alerts_received_total", status="firing") == 2
    assert value(found, "sre_alerts_deduplicated_total") == 1
    check_steps(found, 2)
    check_cluster_requests(found)
    for interface in ("slack", "alerts"):
        assert value(found, "sre_queue_depth", interface=interface) == 0
        assert value(found, "sre_investigations_running", interface=interface) == 0
    records = check_json_logs(lines, (*PLANTED, BOT_TOKEN, SECRET, METRICS_TOKEN))
    done = {r["interface"]: r for r in records if r["logger"] == "assistant.observing"}
    assert set(done) == {"slack", "alerts"}
    assert "password=[REDACTED]" in done["slack"]["message"]


# --- logs, traces, and the offline path ---------------------------------------------------------

def test_a_json_log_line_hides_secrets_in_messages_fields_and_exceptions() -> None:
    settings = Settings(web=WebSettings(token=WEB_TOKEN))
    formatter = JsonFormatter(Scrubber(secrets_of(settings)))
    try:
        raise tools.ServerError(f"the server said: DB_PASSWORD={PLANTED[0]} ({WEB_TOKEN})")
    except tools.ServerError:
        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, __file__, 1, "asked %r", (f"token {PLANTED[1]}",),
            sys.exc_info(), extra={"detail": f"Authorization: Bearer {PLANTED[2]}", "n": 3})
    line = formatter.format(record)
    doc = json.loads(line)
    assert [s for s in (*PLANTED, WEB_TOKEN) if s in line] == []
    assert doc["level"] == "ERROR" and doc["n"] == 3
    assert "DB_PASSWORD=[REDACTED]" in doc["exception"]
    assert doc["detail"].startswith("Authorization: ")


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace endpoint that keeps what it receives."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 (the service's name)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


def test_traces_reach_an_otlp_endpoint_one_span_per_step(tmp_path: Path) -> None:
    collector = _Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(
        load(SCENARIO_DIR / "crashloop-missing-env.yaml"), tmp_path / "snap"))
    metrics = Metrics()
    metrics.tracing = Tracing(TracingSettings(otlp_endpoint=f"http://127.0.0.1:{port}"))
    asking = Asking(Agent(Settings(state_dir=tmp_path / "state"), cluster), workers=1,
                    queue_limit=1, metrics=metrics)
    web = HttpServer(web_app(asking), "127.0.0.1", 0).start()
    try:
        httpx.post(f"{web.url}/api/ask", timeout=30, json={
            "question": f"why is checkout failing? password={PLANTED[0]}",
            "session": "trace-test-1"})
    finally:
        web.stop()
        asking.shutdown(wait=True)
        metrics.tracing.close()  # flushes the batch
        server.stop(grace=None)
        cluster.close()
    by_name = {span.name: span for span in collector.spans}
    assert set(by_name) == {"investigation", *STEPS}
    root = by_name["investigation"]
    attributes = {a.key: a.value.string_value for a in root.attributes}
    assert attributes == {"sre.interface": "web", "sre.verdict": "unhealthy"}
    for step in STEPS:
        span = by_name[step]
        assert span.parent_span_id == root.span_id and span.trace_id == root.trace_id
        assert root.start_time_unix_nano <= span.start_time_unix_nano <= \
            span.end_time_unix_nano <= root.end_time_unix_nano
    assert PLANTED[0].encode() not in b"".join(s.SerializeToString() for s in collector.spans)


def test_an_offline_sre_ask_loads_no_metrics_nor_tracing() -> None:
    root = Path(__file__).resolve().parent.parent
    code = ("import contextlib, io, sys\n"
            "from assistant import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    cli.run(sys.argv[1:])\n"
            "print(sorted({m.split('.')[0] for m in sys.modules}))\n")
    done = subprocess.run([sys.executable, "-c", code, "ask", "why is the frontend returning "
                           "502?", "--snapshot", str(root / "examples" / "cascade")],
                          capture_output=True, text=True, check=True, cwd=root)
    loaded = set(json.loads(done.stdout.strip().replace("'", '"')))
    assert "assistant" in loaded and "tools" in loaded
    assert not loaded & {"prometheus_client", "opentelemetry", "fastapi", "uvicorn", "grpc"}
