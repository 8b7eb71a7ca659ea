"""The Chroma store, for real: embedded (`PersistentClient`) and a `chroma run` server on
loopback; the real int8 all-MiniLM-L6-v2 model (assembled by `knowledge.provisioning`).

What a user notices: indexing is incremental (unchanged runbooks are not embedded again, the
count proves it), deleted runbooks stop being cited, filters hold, every hit cites a file and a
section that exist, a missing model or a corrupted index says what to do.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.cli import run
from knowledge import (
    IndexUnreadable,
    ModelUnavailable,
    StoreLocation,
    StoreUnreachable,
    index_runbooks,
    open_index,
    read_library,
)
from knowledge.embedding import Embedder, load_embedder
from knowledge.provisioning import provision
from knowledge.runbooks import bundled_dir

SAMPLE = ("oomkilled-memory-limit.md", "image-pull-tag-not-found.md", "tls-unknown-authority.md",
          "pending-untolerated-taint.md", "service-selector-mismatch.md")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return provision()  # the pinned model; cached in ~/.cache after the first run


@pytest.fixture(scope="session")
def embedder(model_dir: Path) -> Embedder:
    return load_embedder(model_dir)


@pytest.fixture
def runbooks_dir(tmp_path: Path) -> Path:
    """Five real runbooks in a directory of their own (embedding all 61 takes minutes)."""
    directory = tmp_path / "runbooks"
    directory.mkdir()
    for name in SAMPLE:
        shutil.copy(bundled_dir() / name, directory / name)
    return directory


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`chroma run` on a free loopback port, as a deployment with several replicas uses it."""
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path_factory.mktemp("chroma")),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat",
                                            timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, "chroma run exited"
                assert time.monotonic() < deadline, "chroma run did not answer in 30 s"
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _check_incremental(location: StoreLocation, runbooks_dir: Path, model_dir: Path,
                       embedder: Embedder) -> None:
    library = read_library([runbooks_dir], bundled=False)
    total = sum(len(r.sections) for r in library.runbooks)
    first = index_runbooks(library, location, model_dir, embedder=embedder)
    assert len(first.added) == 5 and first.embedded == total == first.chunks

    again = index_runbooks(library, location, model_dir, embedder=embedder)
    assert (again.added, again.updated, again.removed) == ([], [], [])
    assert len(again.unchanged) == 5 and again.embedded == 0

    changed = runbooks_dir / "tls-unknown-authority.md"
    changed.write_text(changed.read_text() + "\n## Escalate\nPage the platform team.\n")
    (runbooks_dir / "image-pull-tag-not-found.md").unlink()
    (runbooks_dir / "kafka.md").write_text("# Kafka consumer lag\n\n## Symptoms\n"
                                           "consumer group lag keeps growing\n")
    library = read_library([runbooks_dir], bundled=False)
    third = index_runbooks(library, location, model_dir, embedder=embedder)
    tls = next(r for r in library.runbooks if r.path.endswith("tls-unknown-authority.md"))
    assert third.updated == [tls.path] and third.added == [f"{runbooks_dir}/kafka.md"]
    assert third.removed == [f"{runbooks_dir}/image-pull-tag-not-found.md"]
    assert third.embedded == len(tls.sections) + 1

    with open_index(library, location, model_dir) as index:
        assert index.mode == "hybrid" and index.notes == []
        hits = index.search("ImagePullBackOff manifest unknown", k=10).hits
        top = index.search("Escalate: page the platform team", k=1).hits[0]
    assert all("image-pull-tag-not-found" not in hit.path for hit in hits)
    assert (top.path, top.section) == (tls.path, "Escalate")


def test_embedded_index_is_incremental_and_forgets_deleted_runbooks(
        tmp_path: Path, runbooks_dir: Path, model_dir: Path, embedder: Embedder) -> None:
    _check_incremental(StoreLocation(tmp_path / "index"), runbooks_dir, model_dir, embedder)


def test_a_chroma_server_serves_every_replica(
        chroma_server: tuple[str, int], runbooks_dir: Path, tmp_path: Path, model_dir: Path,
        embedder: Embedder) -> None:
    host, port = chroma_server
    location = StoreLocation(tmp_path / "unused", host=host, port=port,
                             collection=f"runbooks-{tmp_path.name[-8:].strip('_')}x")
    _check_incremental(location, runbooks_dir, model_dir, embedder)
    assert not (tmp_path / "unused").exists()
    library = read_library([runbooks_dir], bundled=False)
    replicas = [open_index(library, location, model_dir) for _ in range(2)]
    answers = [r.search("consumer group lag", k=1).hits[0].path for r in replicas]
    for replica in replicas:
        replica.close()
    assert answers == [f"{runbooks_dir}/kafka.md"] * 2


def test_an_unreachable_chroma_server_is_a_clear_error(tmp_path: Path, model_dir: Path) -> None:
    location = StoreLocation(tmp_path, host="127.0.0.1", port=_free_port())
    with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{location.port} does not answer"):
        open_index(read_library([]), location, model_dir)


def test_hybrid_search_filters_and_cites_real_sections(
        request: pytest.FixtureRequest, tmp_path: Path, runbooks_dir: Path, model_dir: Path,
        embedder: Embedder) -> None:
    library = read_library([runbooks_dir], bundled=False)
    location = StoreLocation(tmp_path / "index")
    index_runbooks(library, location, model_dir, embedder=embedder)
    index = open_index(library, location, model_dir)
    request.addfinalizer(index.close)

    for query, expected in [("exit code 137", "oomkilled-memory-limit.md"),
                            ("x509: certificate signed by unknown authority",
                             "tls-unknown-authority.md")]:
        result = index.search(query, k=3)
        assert result.mode == "hybrid" and Path(result.hits[0].path).name == expected, query
    # Dense retrieval ranks a paraphrase that shares no word with the runbook first; whether the
    # search also answers it is the abstain rule's call (it holds back: such a query shares
    # nothing the rule can check, and in the full library its first hit is mostly wrong).
    paraphrase = index.search("my container keeps dying because it uses too much RAM", k=3)
    assert Path(paraphrase.nearest[0].path).name == "oomkilled-memory-limit.md"

    for hit in index.search("pods are not scheduled", k=5).hits:
        text = Path(hit.path).read_text()
        assert f"## {hit.section}" in text or hit.section == "Overview"
        assert hit.text.splitlines()[0] in text

    only = index.search("pods are not scheduled", k=5, categories=["untolerated_taint"]).hits
    assert [Path(h.path).name for h in only] == ["pending-untolerated-taint.md"]
    services = index.search("traffic", k=5, kinds=["svc"]).hits
    assert {Path(h.path).name for h in services} == {"service-selector-mismatch.md"}


def test_without_the_model_search_falls_back_to_lexical_and_says_why(
        tmp_path: Path, runbooks_dir: Path, model_dir: Path, embedder: Embedder) -> None:
    library = read_library([runbooks_dir], bundled=False)
    location = StoreLocation(tmp_path / "index")
    index_runbooks(library, location, model_dir, embedder=embedder)
    empty = tmp_path / "no-model"
    empty.mkdir()
    with open_index(library, location, empty) as index:
        result = index.search("ImagePullBackOff", k=1)
    assert result.mode == "lexical"
    assert any(f"embedding model not found in {empty}" in n for n in result.notes)
    assert Path(result.hits[0].path).name == "image-pull-tag-not-found.md"
    with pytest.raises(ModelUnavailable, match="missing model.onnx"):
        index_runbooks(library, StoreLocation(tmp_path / "other"), empty)


def test_a_model_with_another_sha256_is_refused(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(ModelUnavailable, match="sha256 8199be6f699a.*expected 000000000000"):
        load_embedder(model_dir, "0" * 64)


def test_the_cli_indexes_searches_and_recovers_from_a_corrupted_index(
        tmp_path: Path, runbooks_dir: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SRE_KNOWLEDGE__CHROMA_HOST", raising=False)
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SRE_KNOWLEDGE__BUNDLED", "false")
    monkeypatch.setenv("SRE_KNOWLEDGE__RUNBOOKS_DIRS", str(runbooks_dir))
    monkeypatch.setenv("SRE_KNOWLEDGE__MODEL_DIR", str(model_dir))

    assert run(["runbooks", "index", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["added"]) == 5 and report["embedded"] == report["sections"]

    assert run(["runbooks", "search", "x509", "-k", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["mode"] == "hybrid" and err == ""

    database = tmp_path / "state" / "runbook-index" / "chroma.sqlite3"
    from chromadb.api.shared_system_client import SharedSystemClient
    SharedSystemClient.clear_system_cache()  # a new process would not share the old handle
    database.write_bytes(b"not a database" * 100)
    assert run(["runbooks", "search", "x509"]) == 2
    err = capsys.readouterr().err
    assert "is unreadable" in err and "sre runbooks index --rebuild" in err
    with pytest.raises(IndexUnreadable):
        open_index(read_library([runbooks_dir], bundled=False),
                   StoreLocation(tmp_path / "state" / "runbook-index"), model_dir)

    assert run(["runbooks", "index", "--rebuild"]) == 0
    assert "5 added" in capsys.readouterr().out
    assert run(["runbooks", "search", "x509", "-k", "1"]) == 0
    assert "tls-unknown-authority.md" in capsys.readouterr().out


def test_the_cli_refuses_to_index_without_the_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SRE_KNOWLEDGE__MODEL_DIR", str(tmp_path))
    assert run(["runbooks", "index"]) == 2
    err = capsys.readouterr().err
    assert f"embedding model not found in {tmp_path}" in err and "make model" in err
    assert not (tmp_path / "state" / "runbook-index").exists()


def test_the_cli_warns_about_broken_front_matter_and_searches_lexically_without_the_model(
        tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "redis.md").write_text("---\ntitle: [unclosed\n---\n# Redis evictions\n\n"
                                   "## Symptoms\nevicted_keys keeps growing\n")
    monkeypatch.delenv("SRE_KNOWLEDGE__CHROMA_HOST", raising=False)
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SRE_KNOWLEDGE__BUNDLED", "false")
    monkeypatch.setenv("SRE_KNOWLEDGE__RUNBOOKS_DIRS", str(team))
    monkeypatch.setenv("SRE_KNOWLEDGE__MODEL_DIR", str(model_dir))
    assert run(["runbooks", "index"]) == 0
    out, err = capsys.readouterr()
    assert "1 added" in out
    assert f"warning: {team}/redis.md: front matter is not valid YAML" in err

    empty = tmp_path / "no-model"
    empty.mkdir()
    monkeypatch.setenv("SRE_KNOWLEDGE__MODEL_DIR", str(empty))
    assert run(["runbooks", "search", "evicted_keys", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["mode"] == "lexical"
    assert (result["hits"][0]["path"], result["hits"][0]["section"]) == (
        f"{team}/redis.md", "Symptoms")
    assert f"embedding model not found in {empty}" in err and "searched lexically" in err
