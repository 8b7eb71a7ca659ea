"""A real kube-apiserver (v1.20.2) and etcd on loopback, plus a fake kubelet for `pods/log`.

There is no scheduler, controller-manager or kubelet: tests create nodes and pods themselves and
write their status through the `status` subresource (see `seeding`). The processes run in their own
sessions and die with the test process: `stop()`, an atexit handler, and (where `setpriv` exists)
a parent-death signal for when the test process is killed outright.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from kubernetes import client as k8s

from .certs import Pki, make_pki
from .kubelet import FakeKubelet

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-apiserver.sh"
ADMIN_USER = "harness-admin"
READONLY_USER = "sre-readonly"
# Users with no bindings (only system:authenticated); tests bind them as they need.
UNBOUND_USERS = (READONLY_USER, "sre-partial", "sre-assistant", "sre-team")  # tests bind these
_READY_TIMEOUT = 60.0
_STOP_TIMEOUT = 10.0
_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it

_live: set[subprocess.Popen[bytes]] = set()
_atexit_registered = False


class HarnessError(RuntimeError):
    """The test cluster could not be started."""


@dataclass
class ApiServer:
    url: str  # https://127.0.0.1:PORT
    ca_file: Path
    admin_token: str  # user "harness-admin", group system:masters
    readonly_token: str  # user "sre-readonly", only system:authenticated; no bindings
    kubelet: FakeKubelet
    workdir: Path
    tokens: dict[str, str] = field(default_factory=dict, repr=False)  # user -> token, every user
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    def write_kubeconfig(
        self, path: Path, token: str | None = None, context: str = "harness"
    ) -> Path:
        """Write a kubeconfig with one context (cluster and user named like it), made current."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca_file)},
                }
            ],
            "users": [{"name": context, "user": {"token": token or self.admin_token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def client(self, token: str | None = None) -> k8s.ApiClient:
        """An official-client `ApiClient` for a token (the admin token by default)."""
        configuration = k8s.Configuration()
        configuration.host = self.url
        configuration.ssl_ca_cert = str(self.ca_file)
        configuration.api_key = {"authorization": f"Bearer {token or self.admin_token}"}
        return k8s.ApiClient(configuration)

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each running process (etcd, kube-apiserver), from /proc."""
        sizes: dict[str, int] = {}
        for name, process in self.processes.items():
            if process.poll() is not None:
                continue
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[name] = int(line.split()[1]) * 1024
        return sizes

    def stop(self) -> None:
        """Stop kube-apiserver, then etcd, then the fake kubelet. Safe to call twice."""
        for process in reversed(self.processes.values()):
            _terminate(process)
        self.kubelet.stop()


def start_apiserver(workdir: Path) -> ApiServer:
    """Start etcd, kube-apiserver and a fake kubelet; return once /readyz answers ok."""
    binary = _apiserver_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    pki = make_pki(workdir / "pki")
    users = {user: secrets.token_hex(16) for user in (ADMIN_USER, *UNBOUND_USERS)}
    tokens = workdir / "tokens.csv"
    tokens.write_text(
        "".join(
            f'{token},{user},{user},"system:masters"\n' if user == ADMIN_USER
            else f"{token},{user},{user}\n"
            for user, token in users.items()
        )
    )
    tokens.chmod(0o600)
    kubelet = FakeKubelet(pki.kubelet.cert, pki.kubelet.key, pki.ca.cert)
    last_error: HarnessError | None = None
    for attempt in range(_ATTEMPTS):
        client_port, peer_port, secure_port = _free_ports(3)
        run_dir = workdir / f"run-{attempt}"
        etcd = _start_etcd(run_dir, client_port, peer_port)
        apiserver = _start_kube_apiserver(
            binary, run_dir, pki, tokens, f"http://127.0.0.1:{client_port}", secure_port
        )
        server = ApiServer(
            url=f"https://127.0.0.1:{secure_port}",
            ca_file=pki.ca.cert,
            admin_token=users[ADMIN_USER],
            readonly_token=users[READONLY_USER],
            kubelet=kubelet,
            workdir=workdir,
            tokens=users,
            processes={"etcd": etcd, "kube-apiserver": apiserver},
        )
        try:
            _wait_ready(server, run_dir)
        except HarnessError as e:
            for process in (apiserver, etcd):
                _terminate(process)
            last_error = e
            continue
        return server
    kubelet.stop()
    assert last_error is not None
    raise last_error


def _apiserver_binary() -> Path:
    """The cached kube-apiserver; scripts/build-apiserver.sh builds it only when it is missing."""
    result = subprocess.run(
        [str(BUILD_SCRIPT)], stdout=subprocess.PIPE, check=True, text=True, cwd=REPO_ROOT
    )
    binary = Path(result.stdout.strip().splitlines()[-1])
    if not os.access(binary, os.X_OK):
        raise HarnessError(f"{BUILD_SCRIPT} printed {binary}, which is not an executable")
    return binary


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start_etcd(run_dir: Path, client_port: int, peer_port: int) -> subprocess.Popen[bytes]:
    etcd = shutil.which("etcd")
    if etcd is None:
        raise HarnessError("etcd is not installed (Debian package etcd-server)")
    client_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    args = [
        etcd,
        "--name=harness",
        f"--data-dir={run_dir / 'etcd'}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=harness={peer_url}",
        "--logger=zap",
    ]
    if "--unsafe-no-fsync" in _help_text(etcd):
        args.append("--unsafe-no-fsync")
    return _spawn(args, run_dir / "etcd.log")


def _start_kube_apiserver(
    binary: Path, run_dir: Path, pki: Pki, tokens: Path, etcd_url: str, secure_port: int
) -> subprocess.Popen[bytes]:
    args = [
        str(binary),
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={secure_port}",
        "--insecure-port=0",
        f"--etcd-servers={etcd_url}",
        f"--cert-dir={run_dir / 'apiserver-certs'}",
        f"--tls-cert-file={pki.apiserver.cert}",
        f"--tls-private-key-file={pki.apiserver.key}",
        f"--client-ca-file={pki.ca.cert}",
        f"--token-auth-file={tokens}",
        "--authorization-mode=RBAC",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        "--service-cluster-ip-range=10.0.0.0/16",
        # pods/log: the apiserver dials the node's InternalIP (the Hostname address would be the
        # node name, which does not resolve) and authenticates with a client certificate.
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-certificate-authority={pki.ca.cert}",
        f"--kubelet-client-certificate={pki.kubelet_client.cert}",
        f"--kubelet-client-key={pki.kubelet_client.key}",
        "--profiling=false",
    ]
    return _spawn(args, run_dir / "kube-apiserver.log")


def _help_text(executable: str) -> str:
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_terminate_all)
        _atexit_registered = True
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # setpriv makes the kernel kill the child when this process dies, even by SIGKILL.
    prefix = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*prefix, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _live.add(process)
    return process


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    _live.discard(process)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)  # start_new_session: the group id is the child's pid
    except ProcessLookupError:
        pass


def _terminate_all() -> None:
    for process in list(_live):
        _terminate(process)


def _wait_ready(server: ApiServer, run_dir: Path) -> None:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    request = urllib.request.Request(
        f"{server.url}/readyz", headers={"Authorization": f"Bearer {server.admin_token}"}
    )
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        for name, process in server.processes.items():
            if process.poll() is not None:
                raise HarnessError(
                    f"{name} exited with {process.returncode}; log tail:\n{_log_tail(run_dir)}"
                )
        try:
            with urllib.request.urlopen(request, context=context, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise HarnessError(f"kube-apiserver not ready in {_READY_TIMEOUT:.0f}s:\n{_log_tail(run_dir)}")


def _log_tail(run_dir: Path, lines: int = 20) -> str:
    parts = []
    for log in sorted(run_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"== {log.name} ==\n" + "\n".join(tail))
    return "\n".join(parts)
