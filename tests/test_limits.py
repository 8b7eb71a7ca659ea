"""Errors and limits (issue 15): what a clumsy user or an attacker sends comes back as a clear
error with the right exit code or HTTP status, never a traceback, a 500 or unbounded work.

The probes are data (tests/data/limit_probes.yaml); the parts are real: the CLI as a
subprocess, the Slack app and the web chat over real HTTP, the test kube-apiserver with a
namespace-scoped user.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.alertmanager import alert as make_alert
from fakes.alertmanager import post, webhook
from fakes.slack_env import INCIDENTS, SECRET, SlackEnv
from fakes.web_env import WebEnv
from harness import ApiServer, request_json
from harness.scenarios import SCENARIO_DIR, load, write_snapshot_dir
from kubernetes import client as k8s

import tools
from assistant import engine
from assistant.slack.blocks import MAX_SECTION, MAX_TEXT

PROBES = yaml.safe_load((Path(__file__).parent / "data" / "limit_probes.yaml").read_text())
SRE = [sys.executable, "-m", "assistant"]


def sre(*args: str | bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SRE, *args], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})


def _one_clear_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("sre: ") and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- an API address that answers, but not as Kubernetes -----------------------------------------

@pytest.fixture
def impostor() -> Iterator[tuple[ThreadingHTTPServer, dict[str, Any]]]:
    """A loopback HTTP server answering every GET with the probe's status, type and body."""
    answer: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = answer["body"]
            self.send_response(answer["status"])
            self.send_header("Content-Type", answer["type"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("probe", PROBES["api_answers"], ids=lambda p: p["name"])
def test_an_api_address_that_is_not_kubernetes_exits_3_with_one_line(
        probe: dict[str, Any], impostor: tuple[ThreadingHTTPServer, dict[str, Any]],
        tmp_path: Path) -> None:
    server, answer = impostor
    body = nested(probe["deep"]) if "deep" in probe else probe["body"]
    answer.update(status=probe["status"], type=probe["type"], body=body.encode("latin-1"))
    port = server.server_address[1]
    config = tmp_path / "kc"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    done = sre("diagnose", "-n", "shop", "--kubeconfig", str(config))
    assert done.returncode == 3, done.stderr
    line = _one_clear_line(done)
    assert probe["says"] in line
    assert f"127.0.0.1:{port}" in line  # which address is wrong


# --- snapshot files with shapes Kubernetes never writes -----------------------------------------

@pytest.fixture(scope="module")
def good_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = load(SCENARIO_DIR / "crashloop-missing-env.yaml")
    return write_snapshot_dir(scenario, tmp_path_factory.mktemp("good") / "snap")


def _break(root: Path, probe: dict[str, Any], pod: str) -> Path:
    path = root / probe["file"].format(pod=pod)
    if "link" in probe:  # `self`: a link to itself (a loop); else where it points
        path.unlink()
        os.symlink(path.name if probe["link"] == "self" else probe["link"], path)
    elif probe.get("fifo"):  # read forever, were it opened
        path.unlink()
        os.mkfifo(path)
    elif probe.get("directory"):
        path.unlink(missing_ok=True)
        path.mkdir(parents=True)
    elif "deep" in probe:
        path.write_text(nested(probe["deep"]))
    elif "replace" in probe:
        path.write_text(probe["replace"])
    else:
        doc = json.loads(path.read_text())
        if "append" in probe:
            item = probe["append"]
            if "nest" in probe:
                item["spec"]["x"] = json.loads(nested(probe["nest"]))
            doc["items"].append(item)
        else:
            change = probe["set"]
            node = doc["items"][change["item"]]
            *parents, last = change["path"]
            for key in parents:
                node = node[key]
            node[last] = change["value"]
        path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("probe", PROBES["snapshot_shapes"], ids=lambda p: p["name"])
def test_a_malformed_snapshot_file_exits_2_naming_the_file_and_the_field(
        probe: dict[str, Any], good_snapshot: Path, tmp_path: Path) -> None:
    root = tmp_path / "snap"
    subprocess.run(["cp", "-r", str(good_snapshot), str(root)], check=True)
    pods = json.loads((root / "shop" / "pods.json").read_text())["items"]
    pod = pods[0]["metadata"]["name"]
    broken = _break(root, probe, pod)
    command = [arg.format(pod=pod) for arg in probe.get("command", ["diagnose", "-n", "shop"])]
    done = sre(*command, "--snapshot", str(root))
    assert done.returncode == 2, done.stderr
    line = _one_clear_line(done)
    assert str(broken) in line and probe["says"] in line


def test_a_directory_holding_no_list_is_not_a_snapshot(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "README").write_text("not a snapshot")
    for where in (str(tmp_path), ""):  # `--snapshot ""` is the current directory
        done = subprocess.run([*SRE, "diagnose", "--snapshot", where], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path,
                              env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
                                   "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        assert done.returncode == 2, done.stdout
        assert "holds no Kubernetes lists" in _one_clear_line(done)


KUBECONFIG_USERS = [  # a user whose credentials cannot be had, and what the one line says
    ({"tokenFile": "/nonexistent/token"}, "/nonexistent/token: No such file or directory"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "false"}},
     "credential plugin failed (exec: process returned 1)"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
               "command": "/nonexistent/kubelogin"}}, "credential plugin failed"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "echo",
               "args": ["not json"]}}, "credential plugin failed"),
]


@pytest.mark.parametrize(("cluster", "user", "says"), [
    *(({}, user, says) for user, says in KUBECONFIG_USERS),
    ({"proxy-url": "socks9://proxy:1080"}, {"token": "t"}, "proxy-url 'socks9://proxy:1080'"),
], ids=["token-file", "exec-fails", "exec-missing", "exec-not-json", "proxy-scheme"])
def test_a_kubeconfig_whose_credentials_cannot_be_had_exits_3_with_one_line(
        cluster: dict[str, Any], user: dict[str, Any], says: str, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9", **cluster}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": user}]}))
    done = sre("tool", "pods", "-n", "default", "--kubeconfig", str(kubeconfig))
    assert done.returncode == 3, done.stderr
    assert says in _one_clear_line(done)


def test_the_good_snapshot_itself_is_answered(good_snapshot: Path) -> None:
    """The probes above break one file each of a snapshot that is otherwise read fine."""
    done = sre("diagnose", "-n", "shop", "--snapshot", str(good_snapshot), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["root_cause"]["object"] == "Deployment/shop/checkout"


def test_a_200_megabyte_single_line_log_is_read_in_bounded_memory(tmp_path: Path) -> None:
    pod_dir = tmp_path / "shop" / "chatty"
    pod_dir.mkdir(parents=True)
    (tmp_path / "shop" / "pods.json").write_text('{"kind": "PodList", "items": []}')
    frame = "==== {} logs for container app of pod shop/chatty ====\n"
    with (pod_dir / "logs.txt").open("w") as handle:
        handle.write(frame.format("START"))
        chunk = "x" * (1024 * 1024)
        for _ in range(200):
            handle.write(chunk)
        handle.write("\nFATAL giving up\n")
        handle.write(frame.format("END"))
    cluster = tools.SnapshotCluster(tmp_path)
    tracemalloc.start()
    lines = list(cluster.log_lines("shop", "chatty", "app"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes"
    assert lines[0].startswith("[sre: 198 MiB in the middle of logs.txt not read; ")
    assert " [line cut] " in lines[1] and len(lines[1]) < 17 * 1024
    assert lines[-1] == "FATAL giving up"


def test_a_secret_key_at_the_end_of_a_cut_line_still_hides_the_value_below_it(
        tmp_path: Path) -> None:
    pod_dir = tmp_path / "shop" / "chatty"
    pod_dir.mkdir(parents=True)
    (tmp_path / "shop" / "pods.json").write_text('{"kind": "PodList", "items": []}')
    frame = "==== {} logs for container app of pod shop/chatty ====\n"
    value = "Qm9x-Tr7u!Zp2Lw8Kc"
    (pod_dir / "logs.txt").write_text(
        frame.format("START") + '{"pad": "' + "z" * 40_000 + '", "db_password":\n'
        + f'"{value}"}}\nINFO done\n' + frame.format("END"))
    lines = list(tools.Redacted(tools.SnapshotCluster(tmp_path)).log_lines("shop", "chatty",
                                                                          "app"))
    assert " [line cut] zzz" in lines[0] and lines[0].endswith('z", "db_password":')
    assert len(lines[0]) < 17 * 1024
    assert value not in "\n".join(lines) and value[:8] not in "\n".join(lines)
    assert lines[-1] == "INFO done"


# --- questions that are not text ---------------------------------------------------------------

@pytest.mark.parametrize("probe", PROBES["questions"], ids=lambda p: p["name"])
def test_a_question_that_is_not_text_is_bad_input_in_the_cli(probe: dict[str, Any],
                                                             good_snapshot: Path) -> None:
    done = sre("ask", bytes(probe["cli"]), "--snapshot", str(good_snapshot))
    assert done.returncode == 2
    assert "the question is not valid UTF-8 text" in _one_clear_line(done)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    with WebEnv(tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.mark.parametrize("probe", PROBES["questions"], ids=lambda p: p["name"])
def test_a_question_that_is_not_text_is_a_400_in_the_web_chat(probe: dict[str, Any],
                                                              web: WebEnv) -> None:
    status, body = _send(web.url, "/api/ask", probe["web"].encode(), "application/json")
    assert status == 400
    assert "not valid text" in json.loads(body)["error"]


# --- HTTP bodies -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackEnv]:
    with SlackEnv(tmp_path_factory.mktemp("slack")) as running:
        yield running


def _send(base: str, path: str, body: bytes, content_type: str,
          headers: dict[str, str] | None = None, chunked: bool = False) -> tuple[int, bytes]:
    """POST like a client that reads an early answer: headers, then the body as far as the
    server takes it, then the response."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", content_type)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.putheader("Transfer-Encoding" if chunked else "Content-Length",
                         "chunked" if chunked else str(len(body)))
    connection.endheaders()
    try:
        for start in range(0, len(body), 64 * 1024):
            piece = body[start:start + 64 * 1024]
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered early and stopped reading: its answer is what counts
    response = connection.getresponse()
    try:
        return response.status, response.read()
    finally:
        connection.close()


def _body(kind: dict[str, Any]) -> tuple[bytes, str, bool]:
    """(body, content type, chunked) for a probe's `body`."""
    if "raw" in kind:
        return kind["raw"].encode("latin-1"), "application/json", False
    if "encoding" in kind:  # U+2241 is `41 22` in UTF-16-LE: a stray `"` read as UTF-8
        text = '["\u2241", ' + nested(kind["deep"]) + "]"
        return text.encode(kind["encoding"]), "application/json", False
    if "deep" in kind:
        return nested(kind["deep"]).encode(), "application/json", False
    if "long_number" in kind:  # past Python's 4300-digit limit for int(): a ValueError
        number = "7" * kind["long_number"]
        return (f'{{"question": "why", "session": "abcdefgh12", "n": {number}}}'.encode(),
                "application/json", False)
    if "deep_form" in kind:
        form = urllib.parse.urlencode({"payload": nested(kind["deep_form"])})
        return form.encode(), "application/x-www-form-urlencoded", False
    size = kind.get("size") or kind["chunked_size"]
    return b'"' + b"x" * (size - 2) + b'"', "application/json", "chunked_size" in kind


def _slack_headers(probe: dict[str, Any], body: bytes) -> dict[str, str]:
    """Slack's headers for a probe: its own `timestamp` and `signature` as given, else now and
    a signature over the raw bytes when `signed`, a wrong one when not."""
    stamp = str(probe.get("timestamp", int(time.time())))
    signature = "v0=" + "0" * 64
    if probe.get("signed"):
        signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body,
                                     hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": probe.get("signature", signature)}


def _probe_id(probe: dict[str, Any]) -> str:
    return "-".join([probe["endpoint"], *map(str, (v for kv in probe["body"].items()
                                                   for v in kv)),
                     *(str(probe[k]) for k in ("type", "timestamp", "signature") if k in probe),
                     *(["signed"] if probe.get("signed") else [])])


@pytest.mark.parametrize("probe", PROBES["http_bodies"], ids=_probe_id)
def test_an_oversized_or_too_deep_body_is_refused_with_a_sentence(
        probe: dict[str, Any], slack: SlackEnv, web: WebEnv) -> None:
    body, content_type, chunked = _body(probe["body"])
    base = web.url if probe["endpoint"] == "/api/ask" else slack.url
    headers = _slack_headers(probe, body) if probe["endpoint"] == "/slack/events" else {}
    status, answer = _send(base, probe["endpoint"], body, probe.get("type", content_type),
                           headers, chunked)
    assert status == probe["status"], answer[:300]
    sentence = json.loads(answer)["error"]
    assert sentence.endswith(".") or "Slack request" in sentence


def test_an_alert_summary_past_slacks_limits_is_cut_with_a_note(slack: SlackEnv) -> None:
    hook = webhook("firing", [make_alert("checkout-5f7d9c8b6-h2x7q")], group_key="{}:{huge}")
    huge = "disk almost full " * 20_000  # 340,000 characters, twice: within the body limit
    hook["commonAnnotations"]["summary"] = hook["alerts"][0]["annotations"]["summary"] = huge
    status, doc = post(slack, hook)
    assert status == 202, doc
    fake = slack.fake
    root = fake.wait_for(lambda: [m for m in fake.posts(channel=INCIDENTS, top_level=True)
                                  if m.ts == doc["thread"]])[0]
    assert root.text.startswith(":rotating_light: *FIRING*") and "disk almost full" in root.text
    assert len(root.text) <= MAX_TEXT and root.text.endswith("more characters)")
    section = root.blocks[0]["text"]["text"]
    assert len(section) <= MAX_SECTION and section.endswith("more characters)")


# --- a namespace-scoped user, on the real apiserver --------------------------------------------

@pytest.fixture
def team(apiserver: ApiServer, admin_client: k8s.ApiClient, namespace: str,
         tmp_path: Path) -> tuple[str, Path]:
    """A namespace the user `sre-team` may read through a RoleBinding, and nothing else; a
    crash-looping pod in it. Returns (namespace, kubeconfig of sre-team)."""
    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces"
    request_json(admin_client, "POST", f"{rbac}/{namespace}/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "read"},
        "rules": [{"apiGroups": ["", "apps", "batch"], "resources": ["*"],
                   "verbs": ["get", "list"]}]})
    request_json(admin_client, "POST", f"{rbac}/{namespace}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "read"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                      "name": "sre-team"}]})
    k8s.CoreV1Api(admin_client).create_namespaced_pod(namespace, {
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "app", "image": "shop/web:1.0"}]}})
    return namespace, apiserver.write_kubeconfig(tmp_path / "kc",
                                                 token=apiserver.tokens["sre-team"])


def test_a_namespace_scoped_user_is_answered_for_the_namespace_they_name(
        team: tuple[str, Path]) -> None:
    namespace, config = team
    done = sre("diagnose", "-n", namespace, "--kubeconfig", str(config), "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    answer = json.loads(done.stdout)
    assert (f"no permission to list namespaces cluster-wide; read namespace(s) {namespace} "
            "instead") in answer["notes"]
    assert any("no permission to list nodes cluster-wide" in n for n in answer["notes"])


def test_a_namespace_scoped_user_asking_cluster_wide_exits_3_saying_to_name_one(
        team: tuple[str, Path]) -> None:
    _, config = team
    done = sre("diagnose", "--kubeconfig", str(config))
    assert done.returncode == 3
    line = _one_clear_line(done)
    assert "no permission to list namespaces cluster-wide" in line
    assert "name one with -n NAMESPACE" in line


def test_a_user_who_may_read_nothing_in_the_named_namespace_exits_3(
        apiserver: ApiServer, namespace: str, tmp_path: Path) -> None:
    config = apiserver.write_kubeconfig(tmp_path / "kc", token=apiserver.tokens["sre-team"])
    done = sre("diagnose", "-n", namespace, "--kubeconfig", str(config))  # no binding here
    assert done.returncode == 3
    assert "no permission to list namespaces cluster-wide" in _one_clear_line(done)


# --- scoping work is bounded whatever the question's length -------------------------------------

def test_a_long_question_of_unknown_words_costs_what_a_short_one_costs(
        apiserver: ApiServer, namespace: str, tmp_path: Path) -> None:
    config = apiserver.write_kubeconfig(tmp_path / "kc")
    words = [f"zq{index:04d}x" for index in range(600)]
    long_question = " ".join(words)[:4000]
    counts = {}
    for name, question in (("short", "why is zqshort failing"), ("long", long_question)):
        cluster = tools.open_cluster(kubeconfig=str(config))
        live = cluster.inner
        assert isinstance(live, tools.LiveCluster)
        engine.diagnose(cluster, question, namespace=namespace)
        counts[name] = live.requests
        cluster.close()
    assert len(long_question) >= 3990
    assert counts["long"] <= counts["short"] + 10, counts
    # the bug made 5,040; what a short question costs grows with what the shared apiserver
    # holds by now (105 after the incident corpus' namespaces, in CI)
    assert counts["long"] < 200, counts


def test_a_question_asks_the_cluster_for_each_list_once(
        apiserver: ApiServer, namespace: str, tmp_path: Path) -> None:
    """Scoping, the read of the scope and the second look at a wider one share what they
    read; an empty namespace is checked to exist once, not after every empty list."""
    cluster = tools.open_cluster(kubeconfig=str(apiserver.write_kubeconfig(tmp_path / "kc")))
    live = cluster.inner
    assert isinstance(live, tools.LiveCluster)
    asked: Counter[str] = Counter()  # by URL: a namespace's list and the cluster's differ
    send = live._send

    def counted(path: str, params: dict[str, str] | None, **how: Any) -> Any:
        asked[path + "?" + "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))] += 1
        return send(path, params, **how)

    live._send = counted  # type: ignore[method-assign]
    engine.diagnose(cluster, "why is zqshort failing", namespace=namespace)
    cluster.close()
    repeated = {path: times for path, times in asked.items() if times > 1}
    assert not repeated, repeated
    assert asked[f"/api/v1/namespaces/{namespace}?"] == 1, asked
