"""The blind incident corpus (tests/incidents/), on both backends.

Every incident loads as a snapshot and into the real apiserver. Every question of it is scored
on the snapshot (`bench/accuracy.verdict`), the first on the live apiserver too, and the two
backends must agree. Incidents the engine does not answer yet are listed in
`tests/incidents/not-yet.txt` with the reason; they are strict expected failures, so one that
starts passing fails here until it leaves the list. A case is fixed in the engine, never in
the incident file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from harness.scenarios import INCIDENT_DIR, Scenario, all_incidents, load, write_snapshot_dir

import tools
from assistant.engine import diagnose
from tools.restricting import Restricted

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from accuracy import verdict  # noqa: E402

INCIDENTS = all_incidents()
NOT_YET = {line.split("#")[0].strip(): line.partition("#")[2].strip()
           for line in (INCIDENT_DIR / "not-yet.txt").read_text(encoding="utf-8").splitlines()
           if line.split("#")[0].strip()}


def _cases() -> list[object]:
    return [pytest.param(path, id=path.stem, marks=[pytest.mark.xfail(
        strict=True, reason=NOT_YET[path.stem])] if path.stem in NOT_YET else [])
        for path in INCIDENTS]


def test_every_listed_failure_is_an_incident() -> None:
    assert INCIDENTS
    assert set(NOT_YET) <= {p.stem for p in INCIDENTS}


@pytest.mark.parametrize("path", _cases())
def test_incident_on_snapshot_and_live(path: Path, tmp_path: Path,
                                       seed_scenario: Callable[[Scenario], Scenario],
                                       readonly_cluster: tools.Cluster) -> None:
    incident = load(path)
    snapshot = tools.open_cluster(snapshot=write_snapshot_dir(incident, tmp_path / "snap"))
    first = None
    for question in incident.questions:
        offline = diagnose(snapshot, question)
        first = first or offline
        ok, why = verdict(incident.expect, offline)
        assert ok, f"snapshot, {question[:80]!r}: {why}\n{offline.summary}"
    renamed = seed_scenario(incident)
    question = renamed.questions[0]
    for old, new in zip(incident.namespaces, renamed.namespaces, strict=True):
        # as a whole name (prose, key="value", the Slack template's `value`, a first word):
        # `orders-api` is a workload, `orders.cdc` a topic, neither the namespace `orders`
        question = re.sub(rf"(?<![\w.-]){re.escape(old)}(?![\w-]|\.\w)", new, question)
    # The shared apiserver holds every test's namespaces: the live run sees only this
    # incident's, as a channel's allow-list would, and is otherwise asked the same question.
    live = diagnose(Restricted(readonly_cluster, renamed.namespaces), question)
    ok, why = verdict(renamed.expect, live)
    assert ok, f"live: {why}\n{live.summary}"
    assert first is not None and live.healthy == first.healthy


def test_recovered_errors_answer_only_the_question_that_quotes_them(tmp_path: Path) -> None:
    """Old restarts and start-up errors the app says it recovered from are "history" when the
    question quotes them; a question about some other failure is not answered by them."""
    incident = load(INCIDENT_DIR / "baremetal-minio-old-restarts-scary-logs.yaml")
    snapshot = tools.open_cluster(snapshot=write_snapshot_dir(incident, tmp_path / "snap"))
    quoted = diagnose(snapshot, "minio keeps logging 'connection refused', is it broken?")
    assert quoted.healthy and "history" in quoted.summary
    assert "recovered" in quoted.summary
    other = diagnose(snapshot, "why is checkout failing with 502 errors in storage?")
    assert "history" not in other.summary
    assert not other.healthy
