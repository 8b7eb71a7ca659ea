"""Model-mode runs of scenarios against recorded HTTP traffic (vcrpy cassettes), shared by the
replay tests, the bench and the recorder.

Cassettes live in tests/cassettes/model/<scenario>.yaml, recorded from a real OpenAI-compatible
server (llama.cpp's, Qwen2.5-Coder-0.5B-Instruct Q4_K_M) by `make cassettes-model`. Replays
match requests on method, URL and wire format (model, forced tool, tool schema, message roles),
not on prompt text, which carries ages that move with the clock.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vcr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import verdict  # noqa: E402
from agent_fakes import plant_secrets  # noqa: E402
from harness.scenarios import SCENARIO_DIR, load, write_snapshot_dir  # noqa: E402

import tools  # noqa: E402
from assistant.agent import Agent  # noqa: E402
from assistant.diagnosis import Diagnosis  # noqa: E402
from assistant.investigation import Progress, Request  # noqa: E402
from assistant.settings import AgentSettings, ModelSettings, Settings  # noqa: E402

CASSETTES = ROOT / "tests" / "cassettes" / "model"
BASE_URL = "http://127.0.0.1:18080/v1"  # the recorder serves the model here
MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"
# Scenarios recorded in model mode; the first carries planted secrets and an injected command.
RECORDED = ("prompt-injection-in-logs", "oomkilled-memory-limit", "crashloop-missing-env")
SECRET_HEADERS = ["authorization", "api-key", "x-api-key", "openai-organization", "cookie"]


def _wire(body: bytes | str | None) -> Any:
    if not body:
        return None
    data = json.loads(body)
    tools_ = [(t["function"]["name"], t["function"]["parameters"]) for t in data.get("tools", [])]
    return (data.get("model"), data.get("tool_choice"), tools_,
            [m.get("role") for m in data.get("messages", [])])


def _same_wire_format(r1: Any, r2: Any) -> None:
    assert _wire(r1.body) == _wire(r2.body), "the request's wire format changed"


def recorder(record_mode: str) -> vcr.VCR:
    machine = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode=record_mode,
                      filter_headers=SECRET_HEADERS, decode_compressed_response=True,
                      match_on=["method", "scheme", "host", "port", "path", "wire"])
    machine.register_matcher("wire", _same_wire_format)
    return machine


@dataclass
class Run:
    scenario: str
    answer: Diagnosis
    progress: list[Progress]
    tokens: int
    seconds: float
    steps: int  # LangGraph supersteps of the turn
    passed: bool  # bench/accuracy.verdict on the scenario's expectation

    @property
    def tool_calls(self) -> int:
        return sum(1 for p in self.progress if p.kind == "tool_called")

    @property
    def model_steps(self) -> int:
        return sum(1 for p in self.progress if p.kind == "tool_called" and p.step == "investigate"
                   and p.detail.split(" ")[0] != "describe")


def settings(wall_time: float = 900.0) -> Settings:
    return Settings(model=ModelSettings(provider="openai-compatible", name=MODEL,
                                        base_url=BASE_URL, timeout=600),
                    agent=AgentSettings(wall_time=wall_time, max_steps=2))


def run(name: str, record_mode: str = "none", model: bool = True) -> Run:
    """One scenario's first question through the agent; in model mode, through the cassette."""
    scenario = load(SCENARIO_DIR / f"{name}.yaml")
    if name == RECORDED[0]:
        scenario = plant_secrets(scenario)
    with tempfile.TemporaryDirectory() as tmp:
        cluster = tools.open_cluster(snapshot=write_snapshot_dir(scenario, Path(tmp) / "snap"))
        agent = Agent(settings() if model else Settings(), cluster)
        seen: list[Progress] = []
        start = time.perf_counter()
        if model:
            with recorder(record_mode).use_cassette(f"{name}.yaml"):
                answer = agent.investigate(Request(question=scenario.questions[0],
                                                   thread=name), seen.append)
        else:
            answer = agent.investigate(Request(question=scenario.questions[0], thread=name),
                                       seen.append)
        seconds = time.perf_counter() - start
        history = agent.graph.get_state_history({"configurable": {"thread_id": name}})
        steps = sum(1 for snapshot in history if snapshot.metadata
                    and snapshot.metadata.get("source") == "loop")
        passed, _ = verdict(scenario.expect, answer)
        return Run(name, answer, seen, agent.tokens_sent(name), seconds, steps, passed)
