"""The runbook library and lexical search: no store, no model (see test_runbooks_store.py).

What a user notices: every bundled runbook is complete; exact strings (`x509`,
`ImagePullBackOff`, `exit code 137`) find their runbook; bad input gets a clear sentence;
`sre runbooks search` works from a clean clone, lexically, and says so.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from assistant.cli import run
from assistant.diagnosis import Diagnosis, RootCause
from assistant.recalling import Recaller, recall
from assistant.settings import Settings
from knowledge import BadQuery, SourceMissing, lexical_index, read_library
from knowledge.retrieval import MAX_QUERY_CHARS
from knowledge.runbooks import categories

SECTIONS = ("Symptoms", "Diagnose", "Remediate", "Verify", "Prevent")


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh state dir (so no index) and no team runbooks, whatever the caller's env says."""
    for name in ("SRE_KNOWLEDGE__RUNBOOKS_DIRS", "SRE_KNOWLEDGE__CHROMA_HOST",
                 "SRE_KNOWLEDGE__INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def test_every_bundled_runbook_has_front_matter_and_the_five_sections() -> None:
    library = read_library([])
    known = set(categories())
    assert len(library.runbooks) >= 60 and library.warnings == []
    for runbook in library.runbooks:
        text = (Path("knowledge/runbooks") / Path(runbook.path).name).read_text()
        assert re.match(r"---\ntitle: .+\napplies_to:\n", text), runbook.path
        assert runbook.title and runbook.severity in ("low", "medium", "high", "critical")
        assert runbook.reasons and runbook.kinds, runbook.path
        assert set(runbook.categories) <= known, runbook.path
        headings = [s.heading for s in runbook.sections]
        assert [h for h in headings if h in SECTIONS] == list(SECTIONS), runbook.path
        remediate = next(s for s in runbook.sections if s.heading == "Remediate")
        assert "```" in remediate.text, f"{runbook.path}: Remediate has no commands"


def test_every_engine_category_has_a_runbook() -> None:
    covered = {c for r in read_library([]).runbooks for c in r.categories}
    assert set(categories()) - {"healthy"} <= covered


@pytest.mark.parametrize(("query", "expected"), [
    ("x509", "tls-"),
    ("ImagePullBackOff", "image-pull-"),
    ("exit code 137", "oomkilled-"),
    ("CreateContainerConfigError", "config-missing-"),
])
def test_exact_strings_find_their_runbook_lexically(query: str, expected: str) -> None:
    hits = lexical_index(read_library([])).search(query, k=3).hits
    assert hits and Path(hits[0].path).name.startswith(expected), [h.path for h in hits]


def test_a_team_directory_is_plain_markdown_and_broken_front_matter_is_a_warning(
        tmp_path: Path) -> None:
    (tmp_path / "plain.md").write_text("# Kafka consumer lag\n\n## Fix\nScale the consumers.\n")
    (tmp_path / "broken.md").write_text(
        "---\ntitle: [unclosed\n---\n# Redis evictions\n\n## Symptoms\nevicted_keys grows.\n")
    library = read_library([tmp_path], bundled=False)
    by_name = {Path(r.path).name: r for r in library.runbooks}
    assert by_name["plain.md"].title == "Kafka consumer lag"
    assert by_name["broken.md"].title == "Redis evictions"
    assert [s.heading for s in by_name["broken.md"].sections] == ["Symptoms"]
    assert len(library.warnings) == 1 and "broken.md" in library.warnings[0]
    assert "plain Markdown" in library.warnings[0]
    hit = lexical_index(library).search("evicted_keys", k=1).hits[0]
    assert (hit.path, hit.section) == (f"{tmp_path}/broken.md", "Symptoms")


def test_a_missing_runbooks_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceMissing, match="does-not-exist.*does not exist"):
        read_library([tmp_path / "does-not-exist"])


def test_empty_and_huge_queries() -> None:
    index = lexical_index(read_library([]))
    with pytest.raises(BadQuery, match="empty"):
        index.search(" \n\t ")
    huge = "OOMKilled exit code 137 " + "x" * 10_000
    result = index.search(huge, k=1)
    assert any(f"first {MAX_QUERY_CHARS} characters" in note for note in result.notes)
    assert Path(result.hits[0].path).name.startswith("oomkilled-")


def test_search_from_a_clean_clone_is_lexical_and_says_so(
        isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["runbooks", "search", "node had untolerated taint", "--json", "-k", "2"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["mode"] == "lexical" and len(result["hits"]) == 2
    assert result["hits"][0]["path"] == "knowledge/runbooks/pending-untolerated-taint.md"
    assert result["hits"][0]["section"]
    assert "no runbook index yet" in err and "sre runbooks index" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["runbooks", "search", "  "], "the query is empty"),
    (["runbooks", "search", "oom", "-k", "0"], "-k must be between 1 and 50"),
])
def test_bad_search_input_exits_2(isolated: Path, capsys: pytest.CaptureFixture[str],
                                  argv: list[str], message: str) -> None:
    assert run(argv) == 2
    assert message in capsys.readouterr().err


def test_a_missing_team_directory_exits_2_naming_it(
        isolated: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SRE_KNOWLEDGE__RUNBOOKS_DIRS", f"{isolated}/nope,{isolated}")
    assert run(["runbooks", "search", "oom"]) == 2
    assert f"runbooks directory {isolated}/nope does not exist" in capsys.readouterr().err


def test_runbooks_dirs_setting_takes_a_comma_list_or_json(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRE_KNOWLEDGE__RUNBOOKS_DIRS", "/a, /b")
    assert Settings().knowledge.runbooks_dirs == [Path("/a"), Path("/b")]
    monkeypatch.setenv("SRE_KNOWLEDGE__RUNBOOKS_DIRS", '["/c"]')
    assert Settings().knowledge.runbooks_dirs == [Path("/c")]


def _diagnosis(category: str, obj: str, explanation: str) -> Diagnosis:
    return Diagnosis(question="why?", target=None, healthy=False, summary="s",
                     root_cause=RootCause(category=category, object=obj,
                                          explanation=explanation),
                     evidence=[], remediation=[], confidence=0.9)


@pytest.mark.parametrize(("category", "obj", "explanation", "expected"), [
    ("oom_killed", "StatefulSet/shop/postgres",
     "the container postgres is killed for exceeding its memory limit (1Gi)",
     "oomkilled-memory-limit.md"),
    ("untolerated_taint", "Deployment/ml/trainer",
     "0/3 nodes are available: 3 node(s) had untolerated taint {gpu: true}",
     "pending-untolerated-taint.md"),
    ("service_port_mismatch", "Service/data/analytics-api",
     "targetPort 8080 matches no container port (the container listens on 9090)",
     "service-targetport-mismatch.md"),
])
def test_recall_cites_the_runbooks_for_the_root_cause_category(
        category: str, obj: str, explanation: str, expected: str) -> None:
    index = lexical_index(read_library([]))
    citations = recall(_diagnosis(category, obj, explanation), index)
    assert citations and Path(citations[0].path).name == expected
    assert all(c.section == "Remediate" and c.title and c.score > 0 for c in citations)
    by_path = {r.path: r for r in read_library([]).runbooks}
    assert category in by_path[citations[0].path].categories


def test_recall_for_a_healthy_diagnosis_is_empty() -> None:
    healthy = Diagnosis(question="q", target=None, healthy=True, summary="fine",
                        root_cause=None, evidence=[], remediation=[], confidence=1.0)
    assert recall(healthy, lexical_index(read_library([]))) == []


def test_sre_ask_cites_runbooks_for_the_root_cause_from_a_clean_clone(
        isolated: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SRE_MODEL__PROVIDER", raising=False)
    assert run(["ask", "why is the frontend returning 502?", "--snapshot", "examples/cascade",
                "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    category = answer["root_cause"]["category"]
    runbooks = answer["runbooks"]
    assert runbooks and all(r["path"] and r["section"] and r["score"] > 0 for r in runbooks)
    first = next(r for r in read_library([]).runbooks if r.path == runbooks[0]["path"])
    assert category in first.categories
    assert any("no runbook index yet" in note for note in answer["notes"])


def test_recall_for_a_category_no_runbook_lists_cites_the_closest_by_text(
        tmp_path: Path) -> None:
    (tmp_path / "kafka.md").write_text("# Kafka consumer lag\n\n## Remediate\n"
                                       "Scale the consumer group; lag keeps growing.\n")
    index = lexical_index(read_library([tmp_path]))
    citations = recall(_diagnosis("kafka_lag", "Deployment/data/consumer",
                                  "consumer group lag keeps growing"), index)
    assert (citations[0].path, citations[0].section) == (f"{tmp_path}/kafka.md", "Remediate")


def test_a_corrupted_index_does_not_break_a_diagnosis(
        isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_dir = isolated / "state" / "runbook-index"
    index_dir.mkdir(parents=True)
    (index_dir / "chroma.sqlite3").write_bytes(b"not a database" * 100)
    with Recaller(Settings()) as recaller:
        runbooks = recaller(_diagnosis("oom_killed", "Pod/shop/api-1", "OOMKilled"))
    assert Path(runbooks[0].path).name.startswith("oomkilled-")
    assert any("is unreadable" in n and "sre runbooks index --rebuild" in n
               for n in recaller.notes)
    assert run(["runbooks", "search", "OOMKilled"]) == 2
    assert "sre runbooks index --rebuild" in capsys.readouterr().err


READ_BY_THE_SEARCH = [
    {},
    {"SRE_STATE_DIR": "/var/lib/sre", "SRE_KNOWLEDGE__BUNDLED": "False",
     "SRE_KNOWLEDGE__RUNBOOKS_DIRS": " /etc/runbooks , /srv/more,,"},
    {"sre_knowledge__index_dir": "~/idx", "SRE_KNOWLEDGE__CHROMA_HOST": "chroma.db",
     "SRE_KNOWLEDGE__CHROMA_PORT": "8001", "SRE_KNOWLEDGE__COLLECTION": "team",
     "SRE_KNOWLEDGE__MODEL_DIR": "/models/m", "SRE_KNOWLEDGE__MODEL_SHA256": "ab" * 32},
    {"SRE_KNOWLEDGE__BUNDLED": "off", "SRE_KNOWLEDGE__INDEX_DIR": "",
     "SRE_KNOWLEDGE__CHROMA_HOST": "", "SRE_KNOWLEDGE__EMBEDDING_THREADS": "2"},
    {"SRE_MODEL__TIMEOUT": "soon", "SRE_KNOWLEDGE__BUNDLED": "Y"},  # a setting it never reads
]
LEFT_TO_SETTINGS = [
    {"SRE_KNOWLEDGE": '{"bundled": false}'},
    {"SRE_KNOWLEDGE__RUNBOOKS_DIRS": '["/etc/runbooks"]'},
    {"SRE_KNOWLEDGE__BUNDLED": "maybe"},
    {"SRE_KNOWLEDGE__BUNDLED": " true"},
    {"SRE_KNOWLEDGE__CHROMA_PORT": "8_000"},
    {"SRE_KNOWLEDGE__CHROMA_PORT": "http"},
    {"SRE_STATE_DIR": "/a", "sre_state_dir": "/b"},
]


@pytest.mark.parametrize("environ", READ_BY_THE_SEARCH + LEFT_TO_SETTINGS)
def test_the_search_reads_its_settings_as_settings_does(
        monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    """`sre runbooks search` reads its settings without pydantic: what it reads is what
    `Settings()` reads, and what it is not sure of it leaves to `Settings()`."""
    from pydantic import ValidationError

    from assistant.runbooks import SearchSettings, search_settings

    for name in [n for n in os.environ if n.lower().startswith("sre_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    quick = search_settings(environ)
    assert (quick is not None) == (environ in READ_BY_THE_SEARCH)
    if quick is None:
        return
    monkeypatch.delenv("SRE_MODEL__TIMEOUT", raising=False)  # it stops Settings(), not a search
    try:
        full = SearchSettings.of(Settings())
    except ValidationError:
        pytest.fail("the search read a setting Settings refuses")
    assert quick == full
