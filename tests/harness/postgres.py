"""A throwaway PostgreSQL server on loopback, from the binaries of Debian's `postgresql` package.

    server = start_postgres()              # or the `postgres` fixture in tests/conftest.py
    url = server.create_database()         # a fresh empty database, as a postgresql:// URL
    server.stop()

`initdb` makes a cluster in a new temporary directory (data, unix socket and log all there, fsync
off). The server listens on a free 127.0.0.1 port; TCP logins need user `sre`'s password
(scram-sha-256), so a wrong password is refused as a production server refuses it, while the
unix socket in the temporary directory trusts local users. PostgreSQL will not run as root:
under root, initdb and the server run as the `postgres` user that the package creates. The
server dies with the test process (`stop()`, atexit, and a parent-death signal).
"""

from __future__ import annotations

import atexit
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from .apiserver import HarnessError

SETUP_COMMAND = "make postgres"  # runs scripts/install-postgres.sh
USER = "sre"
_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_READY_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0
_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


@dataclass
class PostgresServer:
    port: int
    password: str = field(repr=False)  # user `sre`, a superuser
    directory: Path  # data/, socket/, postgres.log; removed by stop()
    process: subprocess.Popen[bytes] = field(repr=False)

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{USER}:{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database (`t_<12 hex>`); returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def log_tail(self, lines: int = 20) -> str:
        log = self.directory / "postgres.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the directory. Safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # the postmaster stops its backends
            try:
                self.process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def postgres_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and postgres in it."""
    found = [d for d in Path("/").glob(_BIN_GLOB.lstrip("/"))
             if os.access(d / "initdb", os.X_OK) and os.access(d / "postgres", os.X_OK)]
    if not found:
        raise HarnessError(f"PostgreSQL server binaries (initdb, postgres) are not installed "
                           f"in {_BIN_GLOB}; run `{SETUP_COMMAND}` (scripts/install-postgres.sh "
                           f"installs the Debian package postgresql)")
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def start_postgres() -> PostgresServer:
    """initdb a cluster, start the server, return once it accepts a login."""
    bin_dir = postgres_bin_dir()
    owner = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="sre-pg-"))  # short: unix socket paths are bounded
    _own(directory, owner)
    password = secrets.token_hex(16)
    server: PostgresServer | None = None
    try:
        _initdb(bin_dir, directory, password, owner)
        for _ in range(_ATTEMPTS):
            port = _free_port()
            server = PostgresServer(port, password, directory,
                                    _spawn(bin_dir, directory, port, owner))
            if _wait_ready(server):
                atexit.register(server.stop)
                return server
        assert server is not None
        raise HarnessError(f"PostgreSQL exited {_ATTEMPTS} times at start; log tail:\n"
                           f"{server.log_tail()}")
    except BaseException:
        if server is not None:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _server_user() -> pwd.struct_passwd | None:
    """Under root, the `postgres` user to run as (PostgreSQL refuses root); else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise HarnessError("PostgreSQL will not run as root and there is no `postgres` user to "
                           f"run it as; run `{SETUP_COMMAND}`, whose package creates it") from None


def _as(owner: pwd.struct_passwd | None) -> list[str]:
    """The command prefix that runs as `owner`; a parent-death signal is set after the change of
    user (setpriv sets it last), so the kernel kills the server when the test process dies."""
    if owner is not None:
        return ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}",
                "--clear-groups", "--pdeathsig", "KILL"]
    return ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []


def _own(path: Path, owner: pwd.struct_passwd | None) -> None:
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _initdb(bin_dir: Path, directory: Path, password: str,
            owner: pwd.struct_passwd | None) -> None:
    pwfile = directory / "pwfile"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    _own(pwfile, owner)
    done = subprocess.run(
        [*_as(owner), str(bin_dir / "initdb"), "-D", str(directory / "data"), "-U", USER,
         f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
         "--encoding=UTF8", "--no-locale", "--no-sync"],
        cwd=directory, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    pwfile.unlink()
    if done.returncode != 0:
        raise HarnessError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    (directory / "socket").mkdir()
    _own(directory / "socket", owner)


def _spawn(bin_dir: Path, directory: Path, port: int,
           owner: pwd.struct_passwd | None) -> subprocess.Popen[bytes]:
    settings = {"listen_addresses": "127.0.0.1", "port": str(port),
                "unix_socket_directories": str(directory / "socket"), "fsync": "off",
                "full_page_writes": "off", "synchronous_commit": "off"}
    options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
    with (directory / "postgres.log").open("ab") as log:
        return subprocess.Popen(
            [*_as(owner), str(bin_dir / "postgres"), "-D", str(directory / "data"), *options],
            cwd=directory, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)


def _wait_ready(server: PostgresServer) -> bool:
    """True once a login works; False when the server exited (its port was taken, say)."""
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise HarnessError(f"PostgreSQL not ready in {_READY_TIMEOUT:.0f}s; log tail:\n"
                       f"{server.log_tail()}")
