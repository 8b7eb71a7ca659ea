"""Names enter the tools from people (the CLI) and from models: each namespace, name and container
is held to Kubernetes' naming rules where it enters, before any path is built or sent.

A bad name is a clear `not_found` result for a model (no object can carry it), bad input (exit 2)
for the CLI, and never a request: the live cluster here is a socket that counts connections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.listener import CountingListener

import tools
from assistant.agent.investigating import run as run_step
from assistant.agent.schemas import NextStep
from assistant.cli import main
from tools import Toolbox
from tools.kinds import InvalidName, check_container, check_name, check_namespace

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cascade"
BAD_NAMESPACES = ["a/b", "default/%73ecrets?", "Shop", "shop.", "-shop", "a" * 64, "shöp",
                  "shop\n", "..", "shop%2Fsecrets"]


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    server = CountingListener()
    yield server
    server.close()


@pytest.fixture
def kubeconfig(tmp_path: Path, listener: CountingListener) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{listener.port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return path


@pytest.fixture
def live_box(kubeconfig: Path) -> Iterator[Toolbox]:
    cluster = tools.open_cluster(kubeconfig=str(kubeconfig))
    yield Toolbox(cluster)
    cluster.close()


# --- the rules -----------------------------------------------------------------------------------

def test_names_follow_kubernetes_rules() -> None:
    assert check_namespace("kube-system") == "kube-system"
    assert check_namespace(None) is None and check_namespace("") == ""  # all namespaces
    assert check_name("Pod", "web-5d8c7b9f6-abcde") == "web-5d8c7b9f6-abcde"
    assert check_name("Event", "web.17a2b3c4d5e6f7a8") == "web.17a2b3c4d5e6f7a8"
    assert check_name("Node", "ip-10-0-1-2.eu-west-1.compute.internal")
    assert check_container("app") == "app"
    for namespace in BAD_NAMESPACES:
        with pytest.raises(InvalidName, match="not a valid namespace name"):
            check_namespace(namespace)
    for kind, name in [("Pod", "p/../exec"), ("Pod", "a" * 254), ("Pod", "web_1"),
                       ("Service", "1web"), ("Service", "web.v1"), ("Node", "n1/proxy"),
                       ("Pod", ""), ("Deployment", "Web")]:
        with pytest.raises(InvalidName, match=f"not a valid {kind} name"):
            check_name(kind, name)  # type: ignore[arg-type]
    with pytest.raises(InvalidName, match="unknown kind 'Secret'"):
        check_name("Secret", "db")  # type: ignore[arg-type]
    with pytest.raises(InvalidName, match="not a valid container name"):
        check_container("c.d")


# --- the toolbox: a result a model can read ------------------------------------------------------

@pytest.mark.parametrize("namespace", BAD_NAMESPACES)
def test_a_bad_namespace_is_not_found_and_never_sent(live_box: Toolbox, listener: CountingListener,
                                                     namespace: str) -> None:
    for result in (live_box.pods(namespace), live_box.events(namespace),
                   live_box.workloads(namespace), live_box.storage(namespace),
                   live_box.list_objects("ConfigMap", namespace), live_box.metrics(namespace)):
        assert result.status == "not_found"
        assert "is not a valid namespace name" in (result.message or "")
    assert listener.connections == 0


def test_bad_names_are_not_found_and_never_sent(live_box: Toolbox,
                                                listener: CountingListener) -> None:
    results = [
        live_box.describe("Node", "n1/%70roxy/configz?"),
        live_box.describe("Pod", "p/exec", "shop"),
        live_box.describe("Pod", "..", "shop"),
        live_box.describe("Secret", "db", "shop"),  # type: ignore[arg-type]  # a model's choice
        live_box.services("shop", "web/proxy"),
        live_box.events("shop", kind="Pod", name="p/../../secrets"),
        live_box.logs("shop", "web-1/exec"),
        live_box.logs("shop", "web-1", container="app?command=id"),
        live_box.list_objects("Secret", "shop"),  # type: ignore[arg-type]
    ]
    for result in results:
        assert result.status == "not_found", result
        assert "not a valid" in (result.message or "") or "unknown kind" in (result.message or "")
    assert listener.connections == 0


def test_the_live_backend_checks_names_itself(kubeconfig: Path, listener: CountingListener) -> None:
    cluster = tools.open_cluster(kubeconfig=str(kubeconfig))
    try:
        with pytest.raises(InvalidName):
            cluster.list("Pod", "default/%73ecrets?")
        with pytest.raises(InvalidName):
            cluster.get("Node", "n1/%70roxy/configz?")
        with pytest.raises(InvalidName):
            list(cluster.log_lines("shop", "web-1", "c/../x"))
        with pytest.raises(tools.NotFound):  # a namespaced object needs its namespace
            cluster.get("Pod", "web-1")
    finally:
        cluster.close()
    assert listener.connections == 0


def test_a_name_chosen_by_a_model_is_an_observation(live_box: Toolbox,
                                                    listener: CountingListener) -> None:
    step = NextStep(tool="describe", kind="Node", name="n1/%70roxy/configz?")
    observation = run_step(live_box, step, "shop", 2000, chosen_by="model")
    assert observation["status"] == "not_found"
    assert "is not a valid Node name" in observation["text"]
    assert listener.connections == 0


def test_the_snapshot_backend_gets_the_same_answer() -> None:
    box = Toolbox(tools.open_cluster(snapshot=EXAMPLE))
    assert box.pods("shop").ok
    result = box.logs("../../etc", "passwd")
    assert result.status == "not_found" and "not a valid namespace name" in (result.message or "")


# --- the CLI: bad input, exit 2 ------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["tool", "pods", "-n", "a/b"],
    ["tool", "pods", "-n", "default/%73ecrets?"],
    ["tool", "describe", "node/n1/%70roxy/configz?"],
    ["tool", "describe", "pod/p/../../secrets/db", "-n", "shop"],
    ["tool", "logs", "web-1", "-n", "shop", "--container", "app/../x"],
    ["tool", "logs", "pod/web-1/exec", "-n", "shop"],
    ["tool", "services", "svc/web:80/proxy", "-n", "shop"],
    ["tool", "events", "pod/p%2Fexec", "-n", "shop"],
    ["diagnose", "-n", "Shop/x"],
    ["diagnose", "deploy/CHECKOUT"],
    ["diagnose", "deploy/" + "a" * 300],
    ["ask", "why is it down?", "-n", "shop?watch=true"],
    ["snapshot", "out", "--namespaces", "shop,a/b"],
])
def test_the_cli_calls_a_bad_name_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str],
                                            kubeconfig: Path, listener: CountingListener) -> None:
    with pytest.raises(SystemExit) as ended:
        main([*argv, "--kubeconfig", str(kubeconfig)])
    out, err = capsys.readouterr()
    assert ended.value.code == 2
    assert err.startswith("sre: ") and "is not a valid" in err and len(err.splitlines()) == 1
    assert out == ""
    assert listener.connections == 0


def test_the_cli_still_takes_good_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["tool", "describe", "statefulset/postgres", "-n", "shop", "--snapshot",
              str(EXAMPLE)])
    out, _ = capsys.readouterr()
    assert ended.value.code == 0 and out.startswith("[describe] ok")
