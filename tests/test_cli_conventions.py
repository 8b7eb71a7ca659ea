"""The conventions people expect of a CLI, through the installed `sre` command: `--version`, shell
completion (argcomplete), a progress line on a terminal's stderr (never in `--json` stdout),
`KUBECONFIG` lists merged as kubectl merges them (against the real apiserver), and any model
provider LangChain's `init_chat_model` accepts.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from harness import ApiServer

from assistant.agent import ModelConfigError, chat_model
from assistant.settings import TESTED_PROVIDERS, ModelSettings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "cascade"
SRE = str(Path(sys.executable).with_name("sre"))
KUBECTL = "/usr/bin/kubectl"


def sre(*args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SRE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_version() -> None:
    done = sre("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"sre {version('sre-assistant')}"


# --- shell completion ------------------------------------------------------------------------

def complete(line: str, tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    """What the shell would offer after `line` (argcomplete's protocol, as bash drives it)."""
    out = tmp_path / "completions"
    done = subprocess.run([SRE], capture_output=True, text=True, timeout=60, env={
        **os.environ, **(env or {}), "_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\n",
        "COMP_LINE": line, "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}, pass_fds=())
    assert done.returncode == 0, done.stderr
    return [word.strip() for word in out.read_text().split("\n") if word.strip()]


def test_completes_commands(tmp_path: Path) -> None:
    assert complete("sre d", tmp_path) == ["diagnose"]
    assert {"ask", "diagnose", "snapshot", "tool", "slack", "web", "mcp", "runbooks"} <= set(
        complete("sre ", tmp_path))


def test_completes_namespaces_and_workloads_from_a_snapshot(tmp_path: Path) -> None:
    at = f"sre diagnose --snapshot {EXAMPLE}"
    assert complete(f"{at} -n ", tmp_path) == ["shop"]
    offered = complete(f"{at} -n shop ", tmp_path)
    assert {"api", "frontend", "postgres"} <= set(offered)
    assert complete(f"{at} -n shop deploy/", tmp_path) == ["deploy/api", "deploy/frontend"]
    assert complete(f"{at} -n shop sts/po", tmp_path) == ["sts/postgres"]


def test_completes_namespaces_from_the_live_cluster(tmp_path: Path, readonly_kubeconfig: Path,
                                                    namespace: str) -> None:
    offered = complete(f"sre diagnose --kubeconfig {readonly_kubeconfig} -n {namespace[:4]}",
                       tmp_path)
    assert namespace in offered
    assert all(name.startswith(namespace[:4]) for name in offered)


def test_completion_of_an_unreachable_cluster_offers_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kubeconfig"
    assert complete(f"sre diagnose --kubeconfig {missing} -n ", tmp_path) == []


# --- the progress line -----------------------------------------------------------------------

def test_progress_line_on_a_terminal_never_in_json_stdout() -> None:
    main, tty = pty.openpty()
    try:
        process = subprocess.Popen(
            [SRE, "diagnose", "-n", "shop", "--snapshot", str(EXAMPLE), "--json"],
            stdout=subprocess.PIPE, stderr=tty, env={**os.environ, "COLUMNS": "200"})
        os.close(tty)
        stdout, _ = process.communicate(timeout=120)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal's other side closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert process.returncode == 0
    assert json.loads(stdout)["root_cause"]["object"] == "StatefulSet/shop/postgres"
    assert b"sre: analyze" not in stdout and b"\r" not in stdout
    assert b"sre: analyze: reading the cluster" in shown
    assert shown.endswith(b"\r\x1b[K")  # erased before the answer: the prompt stays clean


def test_no_progress_line_when_stderr_is_not_a_terminal() -> None:
    done = sre("diagnose", "-n", "shop", "--snapshot", str(EXAMPLE))
    assert done.returncode == 0
    assert "sre: analyze" not in done.stderr and "\r" not in done.stderr
    assert "postgres" in done.stdout


# --- KUBECONFIG with several files, against the real apiserver -------------------------------

@pytest.fixture
def two_kubeconfigs(tmp_path: Path, apiserver: ApiServer,
                    readonly_kubeconfig: Path) -> tuple[Path, Path]:
    """`first.yaml` defines only a `decoy` context (nothing listens there) and makes `harness`
    current; `second.yaml` defines `harness` (the real apiserver) and makes `decoy` current.
    kubectl takes the first current-context set: `harness`, defined in the second file."""
    first = tmp_path / "first.yaml"
    first.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "harness",
        "clusters": [{"name": "decoy", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "decoy", "user": {"token": "decoy"}}],
        "contexts": [{"name": "decoy", "context": {"cluster": "decoy", "user": "decoy"}}]}))
    second = tmp_path / "second.yaml"
    config = yaml.safe_load(readonly_kubeconfig.read_text())
    config["current-context"] = "decoy"
    second.write_text(yaml.safe_dump(config))
    return first, second


def test_kubeconfig_list_is_merged_as_kubectl_merges_it(
        two_kubeconfigs: tuple[Path, Path], tmp_path: Path, namespace: str) -> None:
    first, second = two_kubeconfigs
    listed = os.pathsep.join([str(tmp_path / "missing.yaml"), str(first), str(second)])
    env = {"KUBECONFIG": listed}
    kubectl = subprocess.run([KUBECTL, "config", "current-context"], capture_output=True,
                             text=True, timeout=30, env={**os.environ, **env})
    assert kubectl.stdout.strip() == "harness"
    # The current context, as kubectl picks it: the first file's, defined in the second file.
    done = sre("tool", "pods", "-n", namespace, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[pods] ok")
    # A context named on the command line, from the second file.
    assert sre("tool", "nodes", "--context", "harness", env=env).returncode == 0
    # The first file's context is known too: it is only unreachable.
    decoy = sre("tool", "pods", "-n", namespace, "--context", "decoy", env=env)
    assert decoy.returncode == 3, decoy.stderr
    assert "no context" not in decoy.stderr


def test_kubeconfig_list_names_every_file_when_a_context_is_unknown(
        two_kubeconfigs: tuple[Path, Path]) -> None:
    first, second = two_kubeconfigs
    done = sre("tool", "nodes", "--context", "nope",
               env={"KUBECONFIG": os.pathsep.join([str(first), str(second)])})
    assert done.returncode == 3
    assert "known contexts: decoy, harness" in done.stderr
    assert str(first) in done.stderr and str(second) in done.stderr


# --- model providers -------------------------------------------------------------------------

def test_tested_providers_are_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for provider in TESTED_PROVIDERS:
        assert f"`{provider}`" in readme


@pytest.mark.parametrize(("provider", "package"), [("google_genai", "langchain-google-genai"),
                                                   ("bedrock_converse", "langchain-aws"),
                                                   ("mistralai", "langchain-mistralai")])
def test_other_init_chat_model_providers_pass_through(provider: str, package: str) -> None:
    """Not refused as unknown: LangChain is asked, and says which package it needs."""
    with pytest.raises(ModelConfigError, match=f"pip install {package}$"):
        chat_model(ModelSettings(provider=provider, name="some-model", api_key="k"))


def test_a_provider_init_chat_model_does_not_know_is_bad_input() -> None:
    done = sre("ask", "why is api crashing?", "--snapshot", str(EXAMPLE),
               env={"SRE_MODEL__PROVIDER": "no-such-provider", "SRE_MODEL__NAME": "m"})
    assert done.returncode == 2
    assert "unknown model provider 'no-such-provider'" in done.stderr
    assert "tested: openai, anthropic, ollama, openai-compatible" in done.stderr


def test_a_missing_provider_package_is_named_by_the_cli() -> None:
    done = sre("ask", "why is api crashing?", "--snapshot", str(EXAMPLE),
               env={"SRE_MODEL__PROVIDER": "google_genai", "SRE_MODEL__NAME": "gemini-2.5"})
    assert done.returncode == 2
    assert "pip install langchain-google-genai" in done.stderr
