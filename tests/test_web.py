"""The web chat: the real app over HTTP (uvicorn on loopback), the real offline agent with SQLite
memory, a snapshot cluster from scenarios, and Debian's chromium driven headless by Playwright.

Chromium comes from `make browser` (scripts/install-chromium.sh); Playwright never downloads one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fakes.slack_env import DEFAULT_SCENARIOS, merged
from fakes.web_env import WebEnv
from harness.scenarios import write_snapshot_dir
from playwright.sync_api import Browser, Locator, Page

import tools
from assistant.diagnosis import Diagnosis
from assistant.investigation import EngineInvestigator, OnProgress, Progress, Request
from assistant.settings import Settings
from assistant.slack import HttpServer
from assistant.web import MAX_QUESTION, Asking, web_app

ANSWER_TIMEOUT = 30_000  # ms
SESSION = "test-session-0001"

# Planted in a container log: if any of it were parsed as HTML, it would set the flag.
PAYLOAD = ("<img src=x onerror=\"window.__pwned='img'\">"
           "<script>window.__pwned='script'</script>")

# Records the order in which progress lines and answers reach the page.
ORDER_RECORDER = """
window.__order = [];
new MutationObserver((records) => {
  for (const record of records) for (const node of record.addedNodes) {
    if (node.nodeType !== 1) continue;
    if (node.classList.contains("progress-line")) window.__order.push("progress");
    if (node.classList.contains("answer")) window.__order.push("answer");
  }
}).observe(document, {subtree: true, childList: true});
"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (empty localStorage); fails the test on any page error."""
    context = browser.new_context()
    context.add_init_script(ORDER_RECORDER)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert errors == []


@pytest.fixture
def env(tmp_path: Path) -> Iterator[WebEnv]:
    with WebEnv(tmp_path) as running:
        yield running


def ask(page: Page, question: str) -> Locator:
    """Type `question`, send it, and return its turn once the answer (or failure) is shown."""
    turns = page.locator(".turn")
    before = turns.count()
    page.fill("#question", question)
    page.click("#send")
    turn = turns.nth(before)
    turn.locator(".answer, .failure").wait_for(timeout=ANSWER_TIMEOUT)
    return turn


# --- in the browser ------------------------------------------------------------------------------

def test_a_question_shows_progress_then_the_answer(env: WebEnv, page: Page) -> None:
    page.goto(env.url)
    turn = ask(page, "why is checkout failing?")
    assert turn.locator(".question").text_content() == "why is checkout failing?"
    assert turn.locator(".progress-line").count() >= 3
    # the progress folds away once the answer is there (still there to open)
    steps = turn.locator("details.steps")
    assert steps.get_attribute("open") is None
    assert "scope: resolving the target" in (steps.text_content() or "")
    order = page.evaluate("window.__order")
    assert order[0] == "progress" and order[-1] == "answer" and order.count("answer") == 1
    answer = turn.locator(".answer")
    # first the verdict in one line: object, cause, confidence
    first = answer.locator(":scope > *").first
    assert first.inner_text() == "Problem: Deployment shop/checkout is missing env " \
        "(90% confidence)"
    assert answer.inner_text().count("DATABASE_URL is not set") == 1  # said once
    headings = answer.locator(":scope > *").all_inner_texts()
    remediation = next(i for i, t in enumerate(headings) if t.startswith("Remediation"))
    evidence = next(i for i, t in enumerate(headings) if t.startswith("Evidence"))
    assert remediation < evidence
    commands = answer.locator("pre.command")
    assert commands.count() >= 1
    assert "kubectl set env deployment/checkout -n shop DATABASE_URL=<value>" in \
        commands.all_inner_texts()
    labels = answer.locator(".remediation .label")
    assert labels.count() == commands.count()
    assert set(labels.all_text_contents()) == {"proposed, not executed"}
    assert answer.locator(".runbooks li").count() >= 1  # cited from the bundled runbooks
    assert page.locator(".working").count() == 0
    assert page.locator("#error").is_hidden()


def test_a_follow_up_in_the_same_session_is_answered_from_memory(env: WebEnv,
                                                                 page: Page) -> None:
    page.goto(env.url)
    first = ask(page, "why is payment-processing-worker crashing?")
    assert "KeyError" in first.locator(".answer").inner_text()
    session = page.evaluate("localStorage.getItem('sre-assistant.session')")
    page.reload()  # the session lives in localStorage, not in the page
    assert page.evaluate("localStorage.getItem('sre-assistant.session')") == session
    restored = page.locator(".turn")  # the transcript is back after the reload
    assert restored.count() == 1 and "KeyError" in restored.first.inner_text()
    follow_up = ask(page, "show me its previous logs")
    assert "Previous logs: payment-processing-worker-" in \
        follow_up.locator(".summary").inner_text()
    log = follow_up.locator("pre.excerpt").first  # the log itself, as it is
    assert "KeyError: 'currency'" in log.inner_text()
    assert follow_up.locator(".excerpt-title").first.inner_text().startswith(
        "Previous log of container worker in pod payment-processing-worker-")
    assert "About the diagnosis: Problem: Deployment payments/payment-processing-worker" in \
        follow_up.locator(".about").inner_text()
    assert follow_up.locator(".remediation").count() == 0  # not the diagnosis again
    # a new conversation forgets the target: the same words no longer point anywhere
    page.click("#new")
    assert page.evaluate("localStorage.getItem('sre-assistant.session')") != session
    fresh = ask(page, "show me its previous logs")
    assert "Previous logs: payment-processing-worker-" not in fresh.inner_text()


def test_evidence_stays_collapsed_until_clicked(env: WebEnv, page: Page) -> None:
    page.goto(env.url)
    answer = ask(page, "why is checkout failing?").locator(".answer")
    evidence = answer.locator("details.evidence")
    assert evidence.get_attribute("open") is None
    first = evidence.locator("li").first
    assert not first.is_visible()
    evidence.locator("summary").click()
    assert evidence.get_attribute("open") is not None
    assert first.is_visible()
    assert "DATABASE_URL is not set" in evidence.inner_text()


def test_html_in_cluster_text_is_shown_as_text_and_never_runs(tmp_path: Path,
                                                              page: Page) -> None:
    scenario = merged(DEFAULT_SCENARIOS)

    def plant(logs: dict[str, str]) -> dict[str, str]:
        return {key: log.replace("DATABASE_URL is not set", f"DATABASE_URL is not set {PAYLOAD}")
                for key, log in logs.items()}

    planted = replace(scenario, logs=plant(scenario.logs),
                      previous_logs=plant(scenario.previous_logs))
    assert planted.logs != scenario.logs
    with WebEnv(tmp_path, scenario=planted) as env:
        page.goto(env.url)
        answer = ask(page, "why is checkout failing?").locator(".answer")
        answer.locator("details.evidence summary").click()
        page.wait_for_timeout(300)  # time for an onerror to fire, were there an <img>
        assert PAYLOAD in answer.locator("details.evidence").inner_text()
        assert page.locator(".answer img, .answer script").count() == 0
        assert page.evaluate("window.__pwned") is None


def test_an_empty_question_shows_the_servers_error(env: WebEnv, page: Page) -> None:
    page.goto(env.url)
    page.fill("#question", "   ")
    page.click("#send")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=ANSWER_TIMEOUT)
    assert "The question is empty" in error.inner_text()
    assert page.locator(".turn").count() == 0
    ask(page, "why is checkout failing?")  # the next good question clears it
    assert error.is_hidden()


def test_a_namespace_outside_the_allow_list_is_not_revealed(tmp_path: Path,
                                                            page: Page) -> None:
    with WebEnv(tmp_path, namespaces=["shop"]) as env:
        page.goto(env.url)
        turn = ask(page, "why is payment-processing-worker crashing?")
        shown = turn.locator(".answer").inner_text() + turn.locator(".progress").inner_text()
        for secret in ("payments", "payment-processing-worker", "KeyError", "currency"):
            assert secret not in shown, secret
        # a question naming another namespace is refused, not answered about `shop`
        for question in ("what is going on in namespace payments?",
                         "why is the worker crashing in payments?",
                         "is coredns ok? -n kube-system"):
            page.fill("#question", question)
            page.click("#send")
            error = page.locator("#error")
            error.wait_for(state="visible", timeout=ANSWER_TIMEOUT)
            assert error.inner_text() == ("Sorry, I can't look into that from this chat. "
                                          "Namespaces readable here: shop."), question
            assert page.locator(".turn").count() == 1  # nothing was investigated
        # "in production" is not a namespace of this cluster: answered as usual
        allowed = ask(page, "why is checkout failing in production?")
        assert "DATABASE_URL" in allowed.locator(".answer").inner_text()


def test_an_unreachable_cluster_is_one_sentence_in_the_page(tmp_path: Path,
                                                            page: Page) -> None:
    with WebEnv(tmp_path, cluster=_unreachable(tmp_path)) as env:
        page.goto(env.url)
        failure = ask(page, "why is checkout failing?").locator(".failure")
        assert failure.inner_text().startswith("I could not read the cluster")
        assert "Traceback" not in page.content()


# --- over plain HTTP -----------------------------------------------------------------------------

def _events(response: httpx.Response) -> list[tuple[str, str]]:
    frames = response.text.split("\n\n")
    assert frames[-1] == ""  # every frame ends with a blank line
    events = []
    for frame in frames[:-1]:
        lines = frame.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") \
            and lines[1].startswith("data: "), frame
        events.append((lines[0].removeprefix("event: "), lines[1].removeprefix("data: ")))
    return events


def _ask(url: str, body: object) -> httpx.Response:
    return httpx.post(f"{url}/api/ask", content=json.dumps(body), timeout=60,
                      headers={"content-type": "application/json"})


def test_ask_streams_progress_events_then_the_diagnosis(env: WebEnv) -> None:
    response = _ask(env.url, {"question": "why is checkout failing?", "session": SESSION})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = _events(response)
    names = [name for name, _ in events]
    assert names[-1] == "diagnosis" and set(names[:-1]) == {"progress"} and len(names) > 3
    steps = [Progress.model_validate_json(data).step for _, data in events[:-1]]
    assert steps[0] == "scope" and "compose" in steps
    diagnosis = Diagnosis.model_validate_json(events[-1][1])
    assert diagnosis.root_cause is not None
    assert diagnosis.root_cause.object == "Deployment/shop/checkout"


def test_ask_threads_a_session_through_the_agents_memory(env: WebEnv) -> None:
    _ask(env.url, {"question": "why is payment-processing-worker crashing?", "session": SESSION})
    follow_up = _events(_ask(env.url, {"question": "show me its previous logs",
                                       "session": SESSION}))
    assert Diagnosis.model_validate_json(follow_up[-1][1]).summary.startswith(
        "Previous logs: payment-processing-worker-")
    other = _events(_ask(env.url, {"question": "show me its previous logs",
                                   "session": "another-session"}))
    assert not Diagnosis.model_validate_json(other[-1][1]).summary.startswith("Previous logs:")


@pytest.mark.parametrize(("body", "says"), [
    ({"question": "", "session": SESSION}, "The question is empty"),
    ({"question": " \n\t ", "session": SESSION}, "The question is empty"),
    ({"session": SESSION}, "The question is empty"),
    ({"question": 42, "session": SESSION}, "The question is empty"),
    ({"question": "x" * (MAX_QUESTION + 1), "session": SESSION}, "too long: 4001 characters"),
    ({"question": "why?"}, "session id"),
    ({"question": "why?", "session": "short"}, "session id"),
    ({"question": "why?", "session": "../../etc"}, "session id"),
    (["why?"], "must be a JSON object"),
    ("why?", "must be a JSON object"),
])
def test_bad_input_is_a_400_with_a_sentence(env: WebEnv, body: object, says: str) -> None:
    response = _ask(env.url, body)
    assert response.status_code == 400
    assert says in response.json()["error"]


def test_a_question_of_exactly_the_limit_is_taken(env: WebEnv) -> None:
    response = _ask(env.url, {"question": "why is checkout failing? " + "x" * (MAX_QUESTION - 25),
                              "session": SESSION})
    assert response.status_code == 200
    assert _events(response)[-1][0] == "diagnosis"


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b"", b'{"question": "why?", "session": '])
def test_malformed_json_is_a_400_not_a_crash(env: WebEnv, raw: bytes) -> None:
    response = httpx.post(f"{env.url}/api/ask", content=raw,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]
    assert httpx.get(f"{env.url}/healthz").text == "ok"  # still serving


def test_an_oversized_body_is_refused(env: WebEnv) -> None:
    response = httpx.post(f"{env.url}/api/ask", content=b"x" * (65 * 1024))
    assert response.status_code == 413
    chunked = httpx.post(f"{env.url}/api/ask",  # no Content-Length: counted as it arrives
                         content=iter([b"x" * 16384] * 8))
    assert chunked.status_code == 413 and "too large" in chunked.json()["error"]


def test_an_unreachable_cluster_is_an_error_event(tmp_path: Path) -> None:
    with WebEnv(tmp_path, cluster=_unreachable(tmp_path)) as env:
        response = _ask(env.url, {"question": "why is checkout failing?", "session": SESSION})
        alive, ready = httpx.get(f"{env.url}/healthz"), httpx.get(f"{env.url}/readyz")
    assert (alive.status_code, alive.text) == (200, "ok")  # the process lives; not ready:
    assert ready.status_code == 503
    assert ready.json()["cluster"].startswith("I could not read the cluster (context c): ")
    assert response.status_code == 200
    name, data = _events(response)[-1]
    assert name == "error"
    said = json.loads(data)["error"]  # where it read from, what failed, nothing changed
    assert said.startswith("I could not read the cluster (context c): ")
    assert "http://127.0.0.1:" in said and said.endswith("Nothing was changed.")
    assert "Traceback" not in said and "token" not in said


def test_the_page_and_health(env: WebEnv) -> None:
    assert httpx.get(f"{env.url}/healthz").text == "ok"
    ready = httpx.get(f"{env.url}/readyz")
    assert ready.status_code == 200 and ready.json()["cluster"].startswith("ok (snapshot ")
    page = httpx.get(f"{env.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy
    assert "innerHTML" not in page.text and "http" not in page.text.split("<script>")[1]
    assert httpx.get(f"{env.url}/api/ask").status_code == 405


def test_two_sessions_are_answered_at_once(env: WebEnv) -> None:
    answers: dict[str, str] = {}

    def one(session: str, question: str) -> None:
        events = _events(_ask(env.url, {"question": question, "session": session}))
        answers[session] = Diagnosis.model_validate_json(events[-1][1]).summary

    threads = [threading.Thread(target=one, args=(f"session-{n:04d}", question))
               for n, question in enumerate(["why is checkout failing?",
                                             "why is payment-processing-worker crashing?"] * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 4
    assert "DATABASE_URL" in answers["session-0000"] and "KeyError" in answers["session-0001"]


def test_a_full_queue_is_a_503_and_the_loop_keeps_serving(tmp_path: Path) -> None:
    release, started = threading.Event(), threading.Event()
    cluster = tools.open_cluster(snapshot=write_snapshot_dir(merged(DEFAULT_SCENARIOS),
                                                             tmp_path / "snapshot"))

    class Slow:  # holds the only worker until released
        def investigate(self, request: Request,
                        on_progress: OnProgress | None = None) -> Diagnosis:
            started.set()
            release.wait(timeout=30)
            return EngineInvestigator(cluster).investigate(request, on_progress)

    asking = Asking(Slow(), workers=1, queue_limit=0)
    server = HttpServer(web_app(asking), "127.0.0.1", 0).start()
    try:
        first: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: first.append(_ask(
            server.url, {"question": "why is checkout failing?", "session": SESSION})))
        waiting.start()
        assert started.wait(timeout=10)
        busy = _ask(server.url, {"question": "why is checkout failing?", "session": SESSION})
        assert busy.status_code == 503 and "busy" in busy.json()["error"]
        assert httpx.get(f"{server.url}/healthz").text == "ok"  # the loop is not blocked
        release.set()
        waiting.join(timeout=30)
        assert _events(first[0])[-1][0] == "diagnosis"
    finally:
        release.set()
        server.stop()
        asking.shutdown(wait=True)
        cluster.close()


@pytest.mark.parametrize("allowed_by", ["SRE_WEB__NAMESPACES", "-n"])
def test_sre_web_serves_the_chat(tmp_path: Path, allowed_by: str) -> None:
    snapshot = write_snapshot_dir(merged(DEFAULT_SCENARIOS), tmp_path / "snapshot")
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "SRE_STATE_DIR": str(tmp_path / "state"), "SRE_WEB__PORT": str(port)}
    flags = ["-n", "shop"] if allowed_by == "-n" else []
    if allowed_by != "-n":
        env[allowed_by] = "shop"
    process = subprocess.Popen([sys.executable, "-m", "assistant", "web", "--snapshot",
                                str(snapshot), *flags], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if httpx.get(f"{url}/healthz").text == "ok":
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "sre web did not start in 30 s"
                time.sleep(0.1)
        events = _events(_ask(url, {"question": "why is checkout failing?", "session": SESSION}))
        assert "DATABASE_URL" in Diagnosis.model_validate_json(events[-1][1]).summary
        hidden = _ask(url, {"question": "what is wrong in namespace payments?",
                            "session": SESSION})
        assert hidden.status_code == 403  # another namespace: refused, nothing investigated
        assert hidden.json() == {"error": "Sorry, I can't look into that from this chat. "
                                          "Namespaces readable here: shop."}
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    # uvicorn shuts down cleanly, then re-raises the signal it caught (as for `sre slack`)
    assert process.returncode == -signal.SIGTERM, stderr
    assert "Application shutdown complete" in stderr
    assert "web chat reads namespaces shop only" in stderr


def test_server_help_lists_only_flags_that_do_something() -> None:
    def usage(command: str) -> str:
        return subprocess.run([sys.executable, "-m", "assistant", command, "--help"],
                              capture_output=True, text=True, check=True).stdout

    assert "--json" not in usage("slack") and "--namespace" not in usage("slack")
    web = usage("web")
    assert "--json" not in web and "the only namespaces the chat may read" in web


def test_web_settings_default_to_loopback_and_read_an_allow_list(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert (Settings().web.host, Settings().web.port, Settings().web.namespaces) == \
        ("127.0.0.1", 8080, None)
    monkeypatch.setenv("SRE_WEB__NAMESPACES", "shop, data")
    assert Settings().web.namespaces == ["shop", "data"]
    monkeypatch.setenv("SRE_WEB__NAMESPACES", '["shop"]')
    assert Settings().web.namespaces == ["shop"]


def _free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return port


def _unreachable(tmp_path: Path) -> tools.Cluster:
    """A live cluster whose API server address has nothing listening."""
    port = _free_port()
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return tools.open_cluster(kubeconfig=str(config), timeouts=tools.Timeouts(1.0, 1.0))
