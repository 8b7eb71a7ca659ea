"""Conversation memory in a real PostgreSQL server (the `postgres` fixture, see
tests/harness/postgres.py): a follow-up is answered from it by a new agent on a new connection
(what a restart or another replica is), threads stay apart, the conversation is visible in the
database, and a wrong password or a missing server is one clear sentence, not a driver
traceback."""

from __future__ import annotations

import socket
import traceback
import uuid
from pathlib import Path

import psycopg
import pytest
from agent_fakes import no_network  # noqa: F401
from fakes.slack_env import DEFAULT_SCENARIOS, merged
from harness import PostgresServer
from harness.scenarios import write_snapshot_dir
from psycopg import sql
from pydantic import SecretStr

import tools
from assistant import cli
from assistant.agent import Agent, MemoryConfigError, open_memory
from assistant.diagnosis import Diagnosis
from assistant.investigation import Request
from assistant.settings import MemorySettings, Settings

WORKER = "payment-processing-worker"
pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two incidents in one cluster: `shop` (checkout, env missing), `payments` (the worker)."""
    return write_snapshot_dir(merged(DEFAULT_SCENARIOS), tmp_path_factory.mktemp("snapshot"))


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(state_dir=tmp_path / "state",
                    memory=MemorySettings(postgres_url=SecretStr(url)))


@pytest.fixture
def settings(postgres: PostgresServer, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Memory in a fresh database of the real server; no model."""
    for name in ("SRE_MODEL__PROVIDER", "SRE_MEMORY__POSTGRES_URL", "SRE_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return _settings(tmp_path, postgres.create_database())


def _ask(settings: Settings, snapshot: Path, question: str, thread: str) -> Diagnosis:
    """One turn as a fresh process would take it: a new connection, a new agent."""
    with open_memory(settings) as memory:
        agent = Agent(settings, tools.open_cluster(snapshot=snapshot), checkpointer=memory)
        return agent.investigate(Request(question=question, thread=thread))


def _assert_previous_logs_of_the_worker(answer: Diagnosis) -> None:
    assert answer.target and answer.target.name == WORKER
    assert answer.summary.startswith("Previous logs:")
    assert answer.reply is not None and answer.reply.kind == "previous_logs"
    assert "KeyError: 'currency'" in answer.reply.excerpts[0].text
    assert any(e.source == "log" and e.detail.startswith("previous log")
               and "unhandled error while processing" in e.detail for e in answer.evidence)


def test_a_follow_up_is_answered_from_postgres_after_a_restart(settings: Settings,
                                                               snapshot: Path) -> None:
    first = _ask(settings, snapshot, f"why is {WORKER} crashing?", "slack:C0SRE:1")
    assert first.root_cause and first.root_cause.object == f"Deployment/payments/{WORKER}"

    _assert_previous_logs_of_the_worker(
        _ask(settings, snapshot, "show me its previous logs", "slack:C0SRE:1"))

    url = settings.memory.postgres_url
    assert url is not None
    with psycopg.connect(url.get_secret_value()) as connection:
        threads = connection.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
    assert threads == [("slack:C0SRE:1",)]


def test_another_replica_continues_the_conversation(settings: Settings, snapshot: Path) -> None:
    with open_memory(settings) as one, open_memory(settings) as two:
        replica_one = Agent(settings, tools.open_cluster(snapshot=snapshot), checkpointer=one)
        replica_two = Agent(settings, tools.open_cluster(snapshot=snapshot), checkpointer=two)
        replica_one.investigate(Request(question=f"why is {WORKER} crashing?", thread="web:42"))
        _assert_previous_logs_of_the_worker(
            replica_two.investigate(Request(question="show me its previous logs",
                                            thread="web:42")))


def test_threads_do_not_share_memory(settings: Settings, snapshot: Path) -> None:
    _ask(settings, snapshot, f"why is {WORKER} crashing?", "cli:a")
    _ask(settings, snapshot, "why is checkout crashing?", "cli:b")

    assert _ask(settings, snapshot, "show me its previous logs", "cli:c").target is None
    b = _ask(settings, snapshot, "show me its previous logs", "cli:b")
    assert b.target and b.target.name == "checkout"
    assert "DATABASE_URL is not set" in b.summary
    _assert_previous_logs_of_the_worker(
        _ask(settings, snapshot, "show me its previous logs", "cli:a"))


def test_a_wrong_password_is_one_clear_sentence(postgres: PostgresServer,
                                                tmp_path: Path) -> None:
    wrong = _settings(tmp_path, postgres.url(password="not-the-password"))
    with pytest.raises(MemoryConfigError) as error, open_memory(wrong):
        pass
    message = str(error.value)
    assert message == (
        f"cannot open conversation memory in Postgres (database postgres on "
        f"127.0.0.1:{postgres.port} as user sre): it refused the user name or password; "
        f"check memory.postgres_url (SRE_MEMORY__POSTGRES_URL)")
    assert "not-the-password" not in message
    assert isinstance(error.value.__cause__, psycopg.OperationalError)


def test_no_server_is_one_clear_sentence(tmp_path: Path) -> None:
    port = _closed_port()
    absent = _settings(tmp_path, f"postgresql://sre:s3cret@127.0.0.1:{port}/memory")
    with pytest.raises(MemoryConfigError) as error, open_memory(absent):
        pass
    assert str(error.value) == (
        f"cannot open conversation memory in Postgres (database memory on 127.0.0.1:{port} as "
        f"user sre): no Postgres server is listening there; check memory.postgres_url "
        f"(SRE_MEMORY__POSTGRES_URL)")


def test_a_user_who_may_not_create_tables_is_told_so(postgres: PostgresServer,
                                                     tmp_path: Path) -> None:
    url = postgres.create_database()  # owned by `sre`; Postgres 15+ lets others no CREATE there
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.url(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'reader-pw'")
                           .format(sql.Identifier(role)))
    database = url.rsplit("/", 1)[1]
    reader = _settings(tmp_path, f"postgresql://{role}:reader-pw@127.0.0.1:{postgres.port}/"
                                 f"{database}")
    with pytest.raises(MemoryConfigError) as error, open_memory(reader):
        pass
    assert str(error.value) == (
        f"cannot create the conversation memory tables in Postgres (database {database} on "
        f"127.0.0.1:{postgres.port} as user {role}): the server refused (SQLSTATE 42501); "
        f"check memory.postgres_url (SRE_MEMORY__POSTGRES_URL), and that the user may create "
        f"tables in that database")


def test_a_malformed_url_never_shows_its_password(tmp_path: Path) -> None:
    with pytest.raises(MemoryConfigError) as error, open_memory(
            _settings(tmp_path, "postgresql://sre:s3cret@[::1")):
        pass
    assert "is not a valid Postgres URL" in str(error.value)
    assert "s3cret" not in "".join(traceback.format_exception(error.value))


def test_the_cli_says_why_and_exits_2(postgres: PostgresServer, snapshot: Path,
                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SRE_MODEL__PROVIDER", raising=False)
    monkeypatch.setenv("SRE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SRE_MEMORY__POSTGRES_URL", postgres.url(password="wrong"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["ask", f"why is {WORKER} crashing?", "--snapshot", str(snapshot),
                  "--thread", "demo"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        f"sre: cannot open conversation memory in Postgres (database postgres on "
        f"127.0.0.1:{postgres.port} as user sre): it refused the user name or password; "
        f"check memory.postgres_url (SRE_MEMORY__POSTGRES_URL)\n")


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
