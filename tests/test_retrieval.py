"""Runbook search quality on real Chroma with the pinned model: fusion never loses what one side
is sure of, Verify/Prevent do not answer a question, and the search says "no runbook matches"
about what the library does not cover (the labelled queries of bench/retrieval)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from assistant.cli import run
from assistant.slack.runbooks import knowledge_search, runbook_answer
from knowledge import RunbookIndex, StoreLocation, index_runbooks, open_index, read_library
from knowledge.provisioning import provision

ANSWERING = {"Overview", "Symptoms", "Diagnose", "Remediate"}
QUERIES = Path(__file__).parents[1] / "bench" / "retrieval" / "queries.yaml"


@dataclass(frozen=True)
class Query:
    text: str
    expected: str | None
    split: str


def load_queries() -> list[Query]:
    return [Query(str(i["query"]), i["expected"], str(i["split"]))
            for i in yaml.safe_load(QUERIES.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def index_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled runbooks in a real Chroma index, kept in pytest's cache between runs
    (indexing is incremental by content hash: a re-run embeds only what changed); in a
    temporary directory under `-p no:cacheprovider`."""
    cache = getattr(request.config, "cache", None)
    directory = (Path(cache.mkdir("runbook-index-bundled")) if cache is not None
                 else tmp_path_factory.mktemp("runbook-index-bundled"))
    index_runbooks(read_library([]), StoreLocation(directory), provision())
    return directory


@pytest.fixture(scope="module")
def index(index_dir: Path) -> Iterator[RunbookIndex]:
    with open_index(read_library([]), StoreLocation(index_dir), provision()) as opened:
        assert opened.mode == "hybrid", opened.notes
        yield opened


@pytest.mark.parametrize("split", ["tune", "holdout"])
def test_hybrid_finds_the_right_runbook_first_at_least_as_often_as_lexical(
        index: RunbookIndex, split: str) -> None:
    queries = [q for q in load_queries() if q.split == split and q.expected is not None]
    recall_at_1 = {}
    for mode in ("lexical", "hybrid"):
        first = [Path(index.search(q.text, 1, mode=mode).nearest[0].path).name for q in queries]
        recall_at_1[mode] = sum(f == q.expected for f, q in zip(first, queries, strict=True)) / (
            len(queries))
    assert recall_at_1["hybrid"] >= max(0.95, recall_at_1["lexical"]), recall_at_1


def test_search_abstains_on_what_no_runbook_covers_and_answers_what_one_does(
        index: RunbookIndex) -> None:
    queries = load_queries()
    none = [q for q in queries if q.expected is None]
    labelled = [q for q in queries if q.expected is not None]
    abstained = [q.text for q in none if not index.search(q.text, 3).matched]
    answered = [q.text for q in labelled if index.search(q.text, 3).matched]
    # Over both splits the rule abstains on 0.917 and answers 0.990 (README; holdout alone
    # 0.917 and 0.984): the issue asks at least 0.90 and 0.98.
    assert len(abstained) >= 0.90 * len(none), sorted({q.text for q in none} - set(abstained))
    assert len(answered) >= 0.98 * len(labelled), sorted({q.text for q in labelled}
                                                         - set(answered))


def test_an_alert_name_only_one_runbook_lists_stays_first_and_cites_an_answering_section(
        index: RunbookIndex) -> None:
    for alert, expected in [("KubeQuotaFullyUsed", "resourcequota-exceeded.md"),
                            ("etcdDatabaseHighFragmentationRatio",
                             "etcd-database-space-exceeded.md"),
                            ("KubeNodeReadinessFlapping", "node-not-ready.md")]:
        result = index.search(alert, 3)
        assert result.matched and Path(result.hits[0].path).name == expected, alert
        assert result.hits[0].section in ANSWERING, (alert, result.hits[0].section)


def test_the_cli_says_no_runbook_matches_and_shows_the_raw_scores(
        index_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SRE_KNOWLEDGE__CHROMA_HOST", raising=False)
    monkeypatch.setenv("SRE_KNOWLEDGE__INDEX_DIR", str(index_dir))
    monkeypatch.setenv("SRE_KNOWLEDGE__MODEL_DIR", str(provision()))
    question = "how do I give a developer read-only access to one namespace with a RoleBinding"

    assert run(["runbooks", "search", question, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["mode"] == "hybrid" and answer["matched"] is False and answer["hits"] == []
    assert answer["match"] < answer["match_threshold"]
    closest = answer["nearest"][0]
    assert closest["lexical"] >= 0 and 0 < closest["dense"] < 1 and closest["path"]

    assert run(["runbooks", "search", question]) == 0
    assert capsys.readouterr().out.startswith(f"no runbook matches {question!r}")

    assert run(["runbooks", "search", "KubeQuotaFullyUsed", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["matched"] is True
    assert Path(answer["hits"][0]["path"]).name == "resourcequota-exceeded.md"
    assert answer["hits"][0]["lexical"] > 0 and answer["hits"][0]["dense"] > 0


def test_slack_runbook_command_says_no_runbook_matches(index: RunbookIndex) -> None:
    search = knowledge_search(index)
    answer = runbook_answer(search, "terraform apply fails: Error acquiring the state lock")
    assert "No runbook matches" in answer.text
    assert "resourcequota-exceeded.md" in str(runbook_answer(search, "KubeQuotaFullyUsed").blocks)


def test_a_diagnosis_cites_a_runbook_only_for_its_category_or_a_real_match(
        index: RunbookIndex) -> None:
    from assistant.diagnosis import Diagnosis, RootCause
    from assistant.recalling import recall

    def diagnosis(category: str, explanation: str) -> Diagnosis:
        return Diagnosis(question="why?", target=None, healthy=False, summary="s",
                         root_cause=RootCause(category=category, object="Deployment/shop/api",
                                              explanation=explanation),
                         evidence=[], remediation=[], confidence=0.9)

    stuck = diagnosis("helm_release_stuck", "helm release payments is stuck in pending-upgrade: "
                      "another operation (install/upgrade/rollback) is in progress")
    assert recall(stuck, index) == []  # no runbook is about it: none is cited
    oom = recall(diagnosis("oom_killed", "the container api is killed for exceeding its memory "
                           "limit (512Mi)"), index)
    assert oom and Path(oom[0].path).name == "oomkilled-memory-limit.md"
