"""Who may reach the web chat (issue 15): Host and Origin checks, a token, a trusted proxy
header. Probes are data (tests/data/web_access_probes.yaml), sent over real HTTP to the real
app; the token's way into the page is walked in a real headless chromium."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fakes.web_env import WebEnv
from playwright.sync_api import Browser

PROBES = yaml.safe_load((Path(__file__).parent / "data" / "web_access_probes.yaml").read_text())


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, WebEnv]]:
    running: dict[str, WebEnv] = {}
    try:
        for name, options in PROBES["configs"].items():
            running[name] = WebEnv(tmp_path_factory.mktemp(name), **options).start()
        yield running
    finally:
        for env in running.values():
            env.close()


def _id(probe: dict[str, Any]) -> str:
    headers = ",".join(f"{k}={v}" for k, v in probe["headers"].items())
    return f"{probe['config']}-{probe['method']}-{probe['path']}-{headers}"


@pytest.mark.parametrize("probe", PROBES["probes"], ids=_id)
def test_access_probe(probe: dict[str, Any], servers: dict[str, WebEnv]) -> None:
    env = servers[probe["config"]]
    port = env.url.rsplit(":", 1)[1]
    headers = {k: v.format(port=port).encode("latin-1")  # each character one byte, as sent
               for k, v in probe["headers"].items()}
    body = json.dumps({"question": "", "session": "probe-session-1"})
    response = httpx.request(probe["method"], env.url + probe["path"], headers=headers,
                             content=body if probe["method"] == "POST" else None,
                             follow_redirects=False, timeout=30)
    assert response.status_code == probe["status"], response.text[:300]
    if "says" in probe:
        assert probe["says"] in response.json()["error"]
    if probe["status"] == 303:  # the token is traded for a cookie, and leaves the address
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_two_host_headers_are_refused(servers: dict[str, WebEnv]) -> None:
    """A request naming two hosts is refused, whichever comes first (RFC 9112: a 400)."""
    env = servers["default"]
    port = int(env.url.rsplit(":", 1)[1])
    for first, second in ((f"127.0.0.1:{port}", "evil.example"),
                          ("evil.example", f"127.0.0.1:{port}")):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:  # (httpx
            conn.sendall(f"GET / HTTP/1.1\r\nHost: {first}\r\nHost: {second}\r\n"  # sends
                         "Connection: close\r\n\r\n".encode())  # one Host only)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.split()[1] == b"400", answer[:300]
        assert b"more than one Host" in rest


def test_the_page_opened_with_its_token_link_answers_in_a_browser(
        servers: dict[str, WebEnv], browser: Browser) -> None:
    env = servers["token"]
    token = PROBES["configs"]["token"]["token"]
    page = browser.new_page()
    try:
        refused = page.goto(env.url)
        assert refused is not None and refused.status == 401
        page.goto(f"{env.url}/?token={token}")
        assert page.url == env.url + "/"  # no token left in the address bar
        page.fill("#question", "why is checkout failing?")
        page.click("#send")
        answer = page.locator(".turn .answer")
        answer.wait_for(timeout=60_000)
        assert "DATABASE_URL" in answer.inner_text()
    finally:
        page.close()
