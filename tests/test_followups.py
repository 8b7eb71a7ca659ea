"""Answers shaped by the question (issue 13, item 3), through the CLI as a user types them: a
follow-up asking for logs, events, a describe or what changed gets that content, as it is, with
a short reference back to the diagnosis, not the diagnosis again."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import cli
from assistant.diagnosis import Diagnosis

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cascade"


@pytest.fixture
def ask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))

    def run(question: str, *flags: str) -> str:
        assert cli.run(["ask", question, "--snapshot", str(EXAMPLE), "--thread", "t",
                        *flags]) == 0
        return capsys.readouterr().out

    return run


def test_previous_logs_of_a_pod_that_never_restarted_offer_its_current_log(
        ask) -> None:  # type: ignore[no-untyped-def]
    first = ask("why is the frontend returning 502?")
    assert first.startswith("Problem: StatefulSet shop/postgres is OOMKilled")
    out = ask("show me the previous logs of frontend")
    lines = out.splitlines()
    assert lines[0].startswith("No previous log: frontend-") and "has not restarted" in lines[0]
    assert "Current log of container nginx in pod frontend-" in out
    fence = lines.index("```")
    assert lines[fence + 1:].index("```") > 0  # the log, fenced, line by line
    assert "About the diagnosis: Problem: StatefulSet shop/postgres is OOMKilled" in out
    assert "Proposed remediation" not in out and "Evidence" not in out


def test_logs_events_and_describe_are_shown_as_they_are(
        ask) -> None:  # type: ignore[no-untyped-def]
    ask("why is api crashing?")
    logs = Diagnosis.model_validate_json(ask("show me its previous logs", "--json"))
    assert logs.reply is not None and logs.reply.kind == "previous_logs"
    assert logs.reply.heading.startswith("Previous logs: api-")
    assert logs.reply.heading.endswith("container api")
    assert "connection refused" in logs.reply.excerpts[0].text
    events = Diagnosis.model_validate_json(ask("and the events?", "--json"))
    assert events.reply is not None and events.reply.kind == "events"
    assert "Back-off restarting failed container" in events.reply.excerpts[0].text
    described = Diagnosis.model_validate_json(ask("describe it", "--json"))
    assert described.reply is not None and described.reply.kind == "describe"
    assert described.reply.excerpts[0].object == "Deployment/shop/api"
    fresh = Diagnosis.model_validate_json(ask("why is the frontend returning 502?", "--json"))
    assert fresh.reply is None  # a diagnosis question is diagnosed again


def test_its_logs_after_an_answer_about_a_whole_namespace_are_the_root_causes(
        ask) -> None:  # type: ignore[no-untyped-def]
    first = ask("why is checkout failing?")  # no workload is named checkout: the namespace
    assert first.startswith("Problem: StatefulSet shop/postgres is OOMKilled")
    out = ask("show me its previous logs")
    assert out.splitlines()[0] == "Previous logs: postgres-0, container postgres"
    assert "database system was not properly shut down" in out  # the run the OOM killed
    assert "Events of" not in out and "No previous log" not in out
