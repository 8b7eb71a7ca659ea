"""Where the live backend connects (`tools.kubeconfigs`): a kubeconfig that cannot be used is
one sentence naming what to fix, said before any request; no server is needed to say it.

The CLI's exit code and one-line stderr for the same shapes are tested through the `sre`
command in tests/test_errors.py and tests/test_limits.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import tools
from tools import ConfigurationError, kubeconfigs


def _write(path: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9", **cluster}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": user}]}))
    return path


def _problem(kubeconfig: str) -> str:
    with pytest.raises(ConfigurationError) as refused:
        tools.connect(kubeconfig=kubeconfig)
    said = str(refused.value)
    assert "\n" not in said
    return said


@pytest.mark.parametrize("shape", ["link to itself", "dangling link", "fifo", "directory"])
def test_a_path_that_is_no_file_is_no_kubeconfig_and_is_never_opened(
        tmp_path: Path, shape: str) -> None:
    path = tmp_path / "config"
    if shape == "link to itself":
        os.symlink(path.name, path)
    elif shape == "dangling link":
        os.symlink(tmp_path / "gone", path)
    elif shape == "fifo":
        os.mkfifo(path)  # were it opened, the read would wait forever
    else:
        path.mkdir()
    said = _problem(str(path))
    assert said == f"no kubeconfig at {path}; pass --kubeconfig or --snapshot"


@pytest.mark.parametrize(("key", "where"), [("tokenFile", "user"), ("client-key", "user"),
                                             ("certificate-authority", "cluster")])
@pytest.mark.parametrize("shape", ["/dev/zero", "fifo", "large"])
def test_a_credential_file_that_is_endless_or_huge_is_refused_unread(
        tmp_path: Path, key: str, where: str, shape: str) -> None:
    named = tmp_path / "named"
    if shape == "fifo":
        os.mkfifo(named)  # the client would wait on it forever
    elif shape == "large":
        with named.open("wb") as handle:
            handle.truncate(2 * 1024 * 1024)
    name = "/dev/zero" if shape == "/dev/zero" else str(named)  # /dev/zero: memory runs out
    cluster, user = ({key: name}, {"token": "t"}) if where == "cluster" else ({}, {key: name})
    said = _problem(str(_write(tmp_path / "config", cluster, user)))
    assert f"names {key} {name}, which is not a regular file of at most 1 MiB" in said


@pytest.mark.parametrize(("cluster", "user", "says"), [
    ({}, {"tokenFile": "/nonexistent/token"},
     "names a file that cannot be read (/nonexistent/token: No such file or directory)"),
    ({}, {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "false"}},
     "its user's credential plugin failed (exec: process returned 1)"),
    ({"proxy-url": "socks9://proxy:1080"}, {"token": "t"},
     "the kubeconfig's proxy-url 'socks9://proxy:1080' is not an http(s) or socks URL"),
    ({"server": "https://admin:hunter2@127.0.0.1:9"}, {"token": "t"},
     "server address for 127.0.0.1 holds credentials (user:password@)"),
    ({"proxy-url": "socks5://proxy:1080"}, {"token": "t"},
     "is a SOCKS proxy, which needs the PySocks package this install does not have"),
], ids=["token-file", "exec-fails", "proxy-scheme", "userinfo", "socks-without-pysocks"])
def test_credentials_or_a_proxy_that_cannot_be_used_are_one_sentence(
        tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any], says: str) -> None:
    assert says in _problem(str(_write(tmp_path / "config", cluster, user)))


@pytest.mark.parametrize(("user", "command"), [
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
               "command": "/bin/sh", "args": ["-c", "sleep 60 & sleep 60"]}}, "/bin/sh"),
    ({"auth-provider": {"name": "gcp", "config": {"cmd-path": "/bin/sleep", "cmd-args": "60"}}},
     "/bin/sleep"),
], ids=["exec", "auth-provider-cmd-path"])
def test_a_credential_plugin_that_never_answers_is_stopped_and_named(
        tmp_path: Path, user: dict[str, Any], command: str) -> None:
    """A plugin that waits forever (on a login, a network) holds the CLI no longer than the
    request timeout; the sentence names the plugin's command."""
    started = time.monotonic()
    said = _problem_within(str(_write(tmp_path / "config", {}, user)), seconds=1)
    assert time.monotonic() - started < 10
    assert f"credential plugin failed ({command} gave no answer within 1 s and was stopped)" in said


def test_a_stopped_plugin_leaves_no_process_of_its_own_behind(tmp_path: Path) -> None:
    """A plugin is often a script that runs the real login tool; stopping the script alone
    would leave that tool waiting (and holding its terminal) after the CLI gave up."""
    child = tmp_path / "child.pid"
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "/bin/sh",
                     "args": ["-c", f"sleep 300 & echo $! > {child}; wait"]}}
    said = _problem_within(str(_write(tmp_path / "config", {}, user)), seconds=1)
    assert "gave no answer within 1 s and was stopped" in said
    pid = int(child.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), f"the plugin's child {pid} still runs"


def _alive(pid: int) -> bool:
    """The process runs (a zombie waiting for its parent's wait does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _problem_within(kubeconfig: str, *, seconds: float) -> str:
    with pytest.raises(ConfigurationError) as refused:
        tools.connect(kubeconfig=kubeconfig, timeouts=tools.Timeouts(total=seconds))
    return str(refused.value)


def test_no_kubeconfig_outside_a_cluster_says_how_to_give_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    with pytest.raises(ConfigurationError, match="not running in a cluster: set KUBECONFIG"):
        kubeconfigs.load(kubeconfig=None, context=None, in_cluster_env={})


def test_a_usable_kubeconfig_names_its_context_as_the_source(tmp_path: Path) -> None:
    configuration, source = kubeconfigs.load(
        kubeconfig=str(_write(tmp_path / "config", {}, {"token": "t"})), context=None,
        in_cluster_env=None)
    assert (configuration.host, source) == ("https://127.0.0.1:9", "context c")


def _laughs(levels: int) -> str:
    """`levels` anchors, each a list of nine aliases of the one before: 9**levels values."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join([*lines, f"clusters: *l{levels - 1}", f"users: *l{levels - 1}", ""])


@pytest.mark.parametrize(("text", "says"), [
    (_laughs(7), "holds more than 100,000 values once its YAML aliases (*name) are expanded"),
    (_laughs(12), "holds more than 100,000 values once its YAML aliases (*name) are expanded"),
    ("clusters: &a [*a]\n", "has a YAML alias (*a) to no finished anchor"),
    ("clusters: " + "[" * 100 + "]" * 100 + "\n", "nests deeper than 64 levels"),
    ("clusters: " + "[" * 100_000 + "]" * 100_000 + "\n", "nests deeper than 64 levels"),
    ("clusters: &n [" + "c, " * 999 + "c]\nusers: [" + ", ".join(["*n"] * 1000) + "]\n",
     "holds more than 100,000 values"),  # each alias counts, not only nested ones
    ("a: &a " + "x" * 1000 + "\nb: [" + ",".join(["*a"] * 200_000) + "]\n",
     "holds more than 100,000 values"),  # 25 s in the client's loader
], ids=["aliases-9^7", "aliases-9^12", "recursive-alias", "100-deep", "100000-deep",
        "a-thousand-aliases-of-a-thousand", "200000-aliases-of-one-line"])
def test_a_kubeconfig_too_large_once_expanded_is_refused_before_the_client_loads_it(
        tmp_path: Path, text: str, says: str) -> None:
    config = tmp_path / "config"
    config.write_text(text)
    said = _problem(str(config))
    assert said.startswith(f"kubeconfig {config} ") and says in said


def test_a_kubeconfig_past_4_mib_is_refused_unread(tmp_path: Path) -> None:
    config = tmp_path / "config"
    with config.open("wb") as handle:
        handle.write(b"clusters: []\n")
        handle.truncate(5 * 1024 * 1024)
    assert _problem(str(config)) == (
        f"kubeconfig {config} is larger than 4 MiB; a kubeconfig is a few KB (`kubectl config "
        "view --minify --flatten` writes one holding only the current context)")


@pytest.mark.parametrize("megabytes", [3.9, 15])
def test_a_kubeconfig_with_a_huge_token_is_answered_in_seconds(
        tmp_path: Path, megabytes: float) -> None:
    """A 15 MB token held the CLI 50 s while PyYAML's pure-Python loader read the file five
    times: now it is refused at once, and one just under the limit is loaded in seconds."""
    config = tmp_path / "config"
    config.write_text(_write(config, {}, {"token": "t"}).read_text().replace(
        "token: t", "token: " + "A" * int(megabytes * 1024 * 1024)))
    started = time.monotonic()
    if megabytes > 4:
        assert "is larger than 4 MiB" in _problem(str(config))
    else:
        kubeconfigs.load(kubeconfig=str(config), context=None, in_cluster_env=None)
    assert time.monotonic() - started < (1 if megabytes > 4 else 15)


def test_a_kubeconfig_sharing_a_user_through_an_anchor_still_loads(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: &who {token: t}}, {name: v, user: *who}]\n"
        "contexts: [{name: a, context: {cluster: c, user: u}},\n"
        "           {name: b, context: {cluster: c, user: v}}]\n")
    configuration, source = kubeconfigs.load(kubeconfig=str(config), context=None,
                                             in_cluster_env=None)
    assert (source, configuration.api_key) == ("context b", {"BearerToken": "Bearer t"})
