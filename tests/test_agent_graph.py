"""The agent's graph, offline (no model): its drawing, the scenario library answered exactly as
the engine answers it, progress from the stream, and conversation memory across turns and
processes."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agent_fakes import no_network  # noqa: F401
from harness.scenarios import all_scenarios, load, write_snapshot_dir
from pydantic import SecretStr

import tools
from assistant import cli
from assistant.agent import Agent, MemoryConfigError, build, open_memory
from assistant.agent.followups import intent_of
from assistant.diagnosis import Diagnosis
from assistant.engine import diagnose
from assistant.investigation import Investigator, Progress, Request
from assistant.settings import MemorySettings, Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from accuracy import verdict  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "wrong-port"
SCENARIOS = all_scenarios()
pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("SRE_MODEL__PROVIDER", "SRE_MEMORY__POSTGRES_URL", "SRE_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return Settings(state_dir=tmp_path / "state")


def test_graph_drawing_matches_snapshot() -> None:
    assert build().get_graph().draw_mermaid() == (DATA / "agent-graph.mmd").read_text()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_offline_agent_answers_like_the_engine(path: Path, tmp_path: Path,
                                               settings: Settings) -> None:
    scenario = load(path)
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "snap"))
    agent = Agent(settings, cluster)
    for question in scenario.questions[:2]:
        alone = diagnose(cluster, question)
        answered = agent.investigate(Request(question=question))
        assert verdict(scenario.expect, answered) == verdict(scenario.expect, alone)
        if intent_of(question) == "diagnose":  # follow-up asks add what they asked for
            assert answered.model_dump_json() == alone.model_dump_json()


def test_progress_comes_from_the_stream(settings: Settings) -> None:
    seen: list[Progress] = []
    agent = Agent(settings, tools.open_cluster(snapshot=EXAMPLE))
    agent.investigate(Request(question="why is analytics-api crashing?"), seen.append)
    started = [p.step for p in seen if p.kind == "step_started"]
    assert started == ["scope", "investigate", "analyze", "recall", "compose"]
    assert any(p.kind == "tool_called" and "describe analytics-api" in p.detail for p in seen)
    assert any(p.kind == "finding" and "analytics-api" in p.detail for p in seen)
    assert seen[-1].kind == "step_finished" and seen[-1].step == "compose"


def _ask(settings: Settings, question: str, thread: str = "t") -> Diagnosis:
    """One turn in a fresh process' worth of objects: new memory handle, new agent."""
    with open_memory(settings) as memory:
        agent = Agent(settings, tools.open_cluster(snapshot=EXAMPLE), checkpointer=memory)
        return agent.investigate(Request(question=question, thread=thread))


def test_follow_ups_reuse_the_target_across_restarts(settings: Settings) -> None:
    first = _ask(settings, "why is analytics-api crashing?")
    assert first.root_cause and first.root_cause.object == "Deployment/data/analytics-api"

    logs = _ask(settings, "show me its previous logs")
    assert logs.target and logs.target.name == "analytics-api"
    assert logs.summary.startswith("Previous logs:")
    assert any(e.source == "log" and "previous log" in e.detail and "OperationalError" in e.detail
               for e in logs.evidence)

    changed = _ask(settings, "what changed?")
    assert changed.summary.startswith("What changed:")
    details = [e.detail for e in changed.evidence if e.source == "spec"]
    assert any("revision 5" in d and "revision 6" in d for d in details)
    assert any("image" in d and "3.0.4" in d and "3.1.0" in d for d in details)
    assert any("DB_PORT" in d for d in details)

    other = _ask(settings, "and the other pod?")
    assert other.summary.startswith("There is no other pod of this workload")


def test_threads_do_not_share_memory(settings: Settings) -> None:
    _ask(settings, "why is analytics-api crashing?", thread="a")
    elsewhere = _ask(settings, "show me its previous logs", thread="b")
    assert elsewhere.target is None


def test_cli_thread_option_continues_a_conversation(settings: Settings, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    base = ["--snapshot", str(EXAMPLE), "--json", "--thread", "demo"]
    assert cli.run(["ask", "why is analytics-api crashing?", *base]) == 0
    capsys.readouterr()
    assert cli.run(["ask", "what changed?", *base]) == 0
    answer = Diagnosis.model_validate_json(capsys.readouterr().out)
    assert answer.summary.startswith("What changed:")
    assert (tmp_path / "state" / "memory.sqlite").exists()


def test_cli_unknown_provider_is_bad_input(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SRE_MODEL__PROVIDER", "mystery")
    monkeypatch.setenv("SRE_MODEL__NAME", "some-model")  # past the missing-name check
    with pytest.raises(SystemExit) as exit_:
        cli.main(["ask", "why?", "--snapshot", str(EXAMPLE)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "openai, anthropic, ollama, openai-compatible" in err


def test_agent_is_an_investigator(settings: Settings) -> None:
    investigator: Investigator = Agent(settings, tools.open_cluster(snapshot=EXAMPLE))
    assert investigator.investigate(Request(question="what is wrong in data?")).healthy is False


def test_postgres_memory_without_its_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                            settings: Settings) -> None:
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres", None)
    postgres = settings.model_copy(update={"memory": MemorySettings(
        postgres_url=SecretStr("postgresql://sre@127.0.0.1:1/sre"))})
    with pytest.raises(MemoryConfigError, match="postgres extra"), open_memory(postgres):
        pass


def test_a_new_process_continues_the_conversation(tmp_path: Path) -> None:
    env = {**os.environ, "SRE_STATE_DIR": str(tmp_path / "state")}
    env.pop("SRE_MODEL__PROVIDER", None)
    base = ["--snapshot", str(EXAMPLE), "--json", "--thread", "restart"]

    def ask(question: str) -> Diagnosis:
        done = subprocess.run([sys.executable, "-m", "assistant", "ask", question, *base],
                              env=env, capture_output=True, text=True, timeout=120, check=True)
        return Diagnosis.model_validate_json(done.stdout)

    assert ask("why is analytics-api crashing?").target is not None
    follow_up = ask("show me its previous logs")
    assert follow_up.target and follow_up.target.name == "analytics-api"
    assert follow_up.summary.startswith("Previous logs:")


def _open_when_all_are_ready(settings: Settings, ready: Any, opened: Any) -> None:
    ready.wait()
    try:
        with open_memory(settings):
            opened.put("opened")
    except Exception as e:  # noqa: BLE001 - the parent asserts on what the worker met
        opened.put(repr(e))


def test_workers_starting_together_all_open_one_new_memory_file(tmp_path: Path) -> None:
    """`sre slack` starts its workers at once, each opening the same SQLite file. SQLite refused
    one of two connections switching a new file to WAL together ("database is locked"), which
    killed a worker on a loaded machine."""
    forked = multiprocessing.get_context("fork")
    for round_ in range(30):
        settings = Settings(state_dir=tmp_path / f"state-{round_}")
        ready, opened = forked.Barrier(4), forked.Queue()
        workers = [forked.Process(target=_open_when_all_are_ready, args=(settings, ready, opened))
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        said = [opened.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        assert said == ["opened"] * 4, f"round {round_}: {said}"
