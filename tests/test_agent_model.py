"""The agent in model mode, with a scripted chat model at our boundary (agent_fakes): the model
picks read-only steps and writes the explanation through forced tool calls; the graph keeps the
limits, vets the answer, redacts and fences what it sends, and falls back to the offline answer
when the model is down, slow or keeps replying out of shape."""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_fakes import PLANTED, ScriptedChatModel, call, no_network, plant_secrets  # noqa: F401
from harness.scenarios import SCENARIO_DIR, Scenario, load, write_snapshot_dir
from langchain_core.messages import AIMessage, HumanMessage

import tools
from assistant.agent import Agent, chat_model
from assistant.agent.models import ask
from assistant.agent.schemas import Explanation
from assistant.diagnosis import Diagnosis
from assistant.engine import diagnose
from assistant.investigation import Progress, Request
from assistant.settings import AgentSettings, ModelSettings, Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from accuracy import verdict  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_network")
QUESTION = "why is comment-service crash looping?"
GOOD = {"summary": "comment-service crash-loops: MODERATION_API_URL is not set.", "cites": [1]}
_FENCED = re.compile(r'<cluster-data trust="untrusted".*?</cluster-data>', re.S)


@pytest.fixture
def scenario() -> Scenario:
    return plant_secrets(load(SCENARIO_DIR / "prompt-injection-in-logs.yaml"))


@pytest.fixture
def cluster(scenario: Scenario, tmp_path: Path) -> tools.Cluster:
    return tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "snap"))


def _settings(**limits: Any) -> Settings:
    return Settings(model=ModelSettings(provider="openai-compatible", name="scripted",
                                        base_url="http://127.0.0.1:9/v1"),
                    agent=AgentSettings(**limits))


def _run(cluster: tools.Cluster, model: ScriptedChatModel, question: str = QUESTION,
         **limits: Any) -> tuple[Diagnosis, Agent, list[Progress]]:
    seen: list[Progress] = []
    agent = Agent(_settings(**limits), cluster, model=model)
    answer = agent.investigate(Request(question=question, thread="t"), seen.append)
    return answer, agent, seen


def test_model_picks_steps_and_writes_the_explanation(cluster: tools.Cluster,
                                                      scenario: Scenario) -> None:
    model = ScriptedChatModel(script=[
        call("NextStep", tool="previous_logs", name="comment-service"),
        call("NextStep", tool="done"),
        call("Explanation", **GOOD, remediation=[
            {"step": "Set it", "risk": "medium", "command":
             "kubectl set env deployment/comment-service -n web MODERATION_API_URL=<url>"}]),
    ])
    answer, agent, seen = _run(cluster, model)
    assert model.script == []
    assert [b["tool_choice"] for b in model.bindings] == ["NextStep", "NextStep", "Explanation"]
    assert answer.summary == GOOD["summary"]
    assert verdict(scenario.expect, answer) == (True, "")
    assert answer.root_cause == diagnose(cluster, QUESTION).root_cause
    assert any(r.command and "MODERATION_API_URL=<url>" in r.command for r in answer.remediation)
    assert any(p.kind == "tool_called" and p.detail == "previous_logs comment-service"
               for p in seen)
    assert agent.tokens_sent("t") == 300


def test_injected_command_is_evidence_never_a_proposal(cluster: tools.Cluster,
                                                       scenario: Scenario) -> None:
    model = ScriptedChatModel(script=[
        call("NextStep", tool="logs", name="comment-service"),
        call("NextStep", tool="done"),
        call("Explanation", **GOOD, remediation=[
            {"step": "As the log says", "command": "kubectl delete ns prod", "risk": "high"},
            {"step": "Clean up", "command": "kubectl get pods -n web; kubectl delete ns prod"},
            {"step": "Run kubectl delete namespace prod", "command": None}]),
    ])
    answer, _, _ = _run(cluster, model)
    assert verdict(scenario.expect, answer) == (True, "")
    proposed = " ".join(f"{r.step} {r.command}" for r in answer.remediation).lower()
    assert "delete" not in proposed
    assert any("dropped 3 proposed step(s)" in n for n in answer.notes)
    sent = model.sent_text()
    assert "ignore previous instructions" in sent  # shown to the model, as data
    for prompt in model.prompts:
        for message in prompt:
            outside = _FENCED.sub("", str(message.content))
            assert "delete ns prod" not in outside


def test_offline_answer_to_the_injection_proposes_nothing_it_asks(cluster: tools.Cluster,
                                                                  scenario: Scenario) -> None:
    answer = Agent(Settings(), cluster).investigate(Request(question=QUESTION))
    assert verdict(scenario.expect, answer) == (True, "")
    assert all("delete" not in (r.command or "") for r in answer.remediation)


def test_planted_secrets_never_reach_the_model(cluster: tools.Cluster) -> None:
    model = ScriptedChatModel(script=[
        call("NextStep", tool="previous_logs", name="comment-service"),
        call("NextStep", tool="describe", kind="Deployment", name="comment-service"),
        call("NextStep", tool="done"), call("Explanation", **GOOD)])
    _run(cluster, model)
    sent = model.sent_text()
    assert "[REDACTED]" in sent
    assert not [secret for secret in PLANTED if secret in sent]


def test_ask_redacts_every_message_itself() -> None:
    model = ScriptedChatModel(script=[call("Explanation", **GOOD)])
    ask(model, "openai", [HumanMessage(f"password={PLANTED[0]} token {PLANTED[1]}")],
        Explanation)
    assert not [secret for secret in PLANTED if secret in model.sent_text()]


def test_invalid_reply_is_retried_once_with_the_errors(cluster: tools.Cluster) -> None:
    model = ScriptedChatModel(script=[
        call("NextStep", tool="done"),
        call("Explanation", summary="comment-service is broken", cites="the logs"),
        call("Explanation", **GOOD)])
    answer, _, _ = _run(cluster, model)
    assert answer.summary == GOOD["summary"]
    retry = str(model.prompts[-1][-1].content)
    assert "did not match the Explanation schema" in retry and "cites" in retry


def test_reply_invalid_twice_gives_the_offline_answer(cluster: tools.Cluster) -> None:
    bad = call("Explanation", summary=None, cites="none")
    model = ScriptedChatModel(script=[call("NextStep", tool="done"), bad, bad])
    answer, _, _ = _run(cluster, model)
    assert answer.summary == diagnose(cluster, QUESTION).summary
    assert any("did not validate, twice" in n for n in answer.notes)


def test_unsupported_summary_is_flagged_not_shown(cluster: tools.Cluster) -> None:
    model = ScriptedChatModel(script=[
        call("NextStep", tool="done"),
        call("Explanation", summary="The node ran out of disk.", cites=[])])
    answer, _, _ = _run(cluster, model)
    assert answer.summary == diagnose(cluster, QUESTION).summary
    assert any(n.startswith("unsupported claim of the model") and "out of disk" in n
               for n in answer.notes)


def test_the_graph_owns_the_step_limit(cluster: tools.Cluster) -> None:
    model = ScriptedChatModel(script=[
        call("NextStep", tool="events"), call("NextStep", tool="services"),
        call("Explanation", **GOOD)])
    answer, _, seen = _run(cluster, model, max_steps=2)
    assert model.script == []
    assert [b["tool_choice"] for b in model.bindings] == ["NextStep", "NextStep", "Explanation"]
    assert any(p.detail == "step limit reached" for p in seen)


def test_the_graph_owns_the_token_limit(cluster: tools.Cluster) -> None:
    model = ScriptedChatModel(script=[call("NextStep", tool="events")])
    answer, _, _ = _run(cluster, model, max_tokens=100)
    assert model.script == []  # one call of 100 tokens: 2/3 of the limit ends the investigation,
    # all of it leaves compose no room (limits are checked before each call)
    assert any("token limit" in n for n in answer.notes)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback HTTP endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _real_model_settings(base_url: str, timeout: float, wall_time: float) -> Settings:
    return Settings(model=ModelSettings(provider="openai-compatible", name="qwen",
                                        base_url=base_url, timeout=timeout),
                    agent=AgentSettings(wall_time=wall_time))


def test_model_endpoint_down_gives_the_offline_answer(cluster: tools.Cluster) -> None:
    settings = _real_model_settings(f"http://127.0.0.1:{_closed_port()}/v1", 5, 30)
    start = time.monotonic()
    answer = Agent(settings, cluster).investigate(Request(question=QUESTION))
    assert time.monotonic() - start < 10
    assert answer.summary == diagnose(cluster, QUESTION).summary
    assert any("the model did not answer" in n and "ConnectionError" in n for n in answer.notes)


def test_slow_model_is_cut_by_the_wall_time(cluster: tools.Cluster, silent_server: str) -> None:
    settings = _real_model_settings(silent_server, timeout=60, wall_time=2)
    start = time.monotonic()
    answer = Agent(settings, cluster).investigate(Request(question=QUESTION))
    assert time.monotonic() - start < 6
    assert answer.summary == diagnose(cluster, QUESTION).summary
    assert any("the model did not answer" in n and "Timeout" in n for n in answer.notes)


def test_model_setup_needs_a_name_and_a_url() -> None:
    with pytest.raises(ValueError, match="model.name"):
        chat_model(ModelSettings(provider="openai"))
    with pytest.raises(ValueError, match="base_url"):
        chat_model(ModelSettings(provider="openai-compatible", name="x"))


def test_a_100_mb_log_reaches_the_model_cut_to_budget(scenario: Scenario,
                                                      tmp_path: Path) -> None:
    line = '{"level":"info","msg":"request served","id":%d,"trace":"' + "ab" * 1000 + '"}\n'
    big = "".join(line % i for i in range(52_000))
    assert len(big) > 100 * 1024 * 1024
    for key in scenario.previous_logs:
        scenario.previous_logs[key] = big + scenario.previous_logs[key]
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "big"))
    model = ScriptedChatModel(script=[
        call("NextStep", tool="previous_logs", name="comment-service"),
        call("NextStep", tool="done"), call("Explanation", **GOOD)])
    # the turn's wall time is lifted: this is about what reaches the model, not about speed
    # (bench/redaction.py measures that), and a busy machine must not change the answer
    answer, _, _ = _run(cluster, model, tool_budget=2500, wall_time=1800)
    assert answer.summary == GOOD["summary"]
    longest = max(len(str(m.content)) for prompt in model.prompts for m in prompt)
    assert longest < 12_000
    assert "[logs] ok: previous log" in model.sent_text()


def test_alert_labels_name_the_target(cluster: tools.Cluster) -> None:
    request = Request(question="KubePodCrashLooping firing",
                      alert_labels={"namespace": "web", "deployment": "comment-service"})
    answer = Agent(Settings(), cluster).investigate(request)
    assert answer.target is not None and answer.target.name == "comment-service"
    assert answer.root_cause and answer.root_cause.category == "missing_env"


@pytest.mark.parametrize(("provider", "cls"), [
    ("openai", "ChatOpenAI"), ("anthropic", "ChatAnthropic"), ("ollama", "ChatOllama"),
    ("openai-compatible", "ChatOpenAI")])
def test_each_provider_sets_up_without_calling_out(provider: str, cls: str) -> None:
    settings = ModelSettings.model_validate({
        "provider": provider, "name": "m", "base_url": "http://127.0.0.1:9/v1",
        "api_key": "sk-test-not-a-real-key", "timeout": 7})
    model = chat_model(settings, timeout=30)
    assert type(model).__name__ == cls
    dumped = model.model_dump() if model is not None else {}
    if provider != "ollama":
        assert dumped.get("max_retries") == 0


def test_ollama_gets_a_json_schema_instead_of_a_forced_tool() -> None:
    model = ScriptedChatModel(script=[
        AIMessage(content='{"summary": "comment-service lacks MODERATION_API_URL", "cites": [1]}')])
    reply = ask(model, "ollama", [HumanMessage("explain")], Explanation)
    assert reply.value is not None and reply.value.cites == [1]
    assert model.bindings[0]["format"]["title"] == "Explanation"
    assert "tool_choice" not in model.bindings[0]


def test_commands_inside_step_words_are_vetted_too() -> None:
    from assistant.agent.schemas import ProposedStep
    from assistant.agent.vetting import Scope, vet_remediation

    kept, refused = vet_remediation([
        ProposedStep(step="Run kubectl delete pod x to restart it"),
        ProposedStep(step="Ask the owning team which URL the moderation API has"),
        ProposedStep(step="kubectl describe deployment comment-service -n web")],
        Scope("web", frozenset({("Deployment", "comment-service")})))
    assert len(refused) == 1 and [k.step[:3] for k in kept] == ["Ask", "kub"]
