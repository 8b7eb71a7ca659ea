"""Every scenario of the library, on both backends: the snapshot the loader writes, and the real
apiserver the seeder fills. Each must yield the expected root cause and phrases, and both
backends must agree. A new failure mode is a new file in tests/scenarios/, not new test code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from harness.scenarios import Scenario, all_scenarios, load, write_snapshot_dir

import tools
from assistant.engine import diagnose

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from accuracy import verdict  # noqa: E402

SCENARIOS = all_scenarios()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_on_snapshot_and_live(path: Path, tmp_path: Path,
                                       seed_scenario: Callable[[Scenario], Scenario],
                                       readonly_cluster: tools.Cluster) -> None:
    scenario = load(path)
    snapshot = tools.open_cluster(snapshot=write_snapshot_dir(scenario, tmp_path / "snap"))
    for question in scenario.questions[:2]:
        offline = diagnose(snapshot, question)
        ok, why = verdict(scenario.expect, offline)
        assert ok, f"snapshot, {question!r}: {why}\n{offline.summary}"
    renamed = seed_scenario(scenario)
    question = renamed.questions[0]
    for old, new in zip(scenario.namespaces, renamed.namespaces, strict=True):
        question = question.replace(f" {old}", f" {new}")
    # The shared apiserver holds every test's namespaces: a bare name in a question is
    # ambiguous there, so the live run is scoped to the scenario's namespace, as `-n` would.
    live = diagnose(readonly_cluster, question, namespace=_namespace_of(renamed.target))
    ok, why = verdict(renamed.expect, live)
    assert ok, f"live: {why}\n{live.summary}"
    first = diagnose(snapshot, scenario.questions[0])
    assert live.healthy == first.healthy
    if first.root_cause and live.root_cause:
        assert live.root_cause.category == first.root_cause.category
        assert renamed.expect["object"] == live.root_cause.object


def _namespace_of(target: str | None) -> str | None:
    parts = (target or "").split("/")
    if parts[0] == "Namespace":
        return parts[1]
    return parts[1] if len(parts) == 3 and parts[1] != "-" else None
