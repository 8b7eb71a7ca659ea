"""The web chat's first screen (issue 13, item 4), in headless chromium at a phone's width: the
verdict line and the causal path above the fold, the progress folded, input locked while a turn
runs, focus in the input on load, runbooks as links. The screenshot it takes is kept as
docs/web-390px.png (written when SRE_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.web_env import WebEnv
from playwright.sync_api import Browser, Page

import tools

ROOT = Path(__file__).resolve().parent.parent
CASCADE = ROOT / "examples" / "cascade"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert errors == []


@pytest.fixture
def cascade(tmp_path: Path) -> Iterator[WebEnv]:
    with WebEnv(tmp_path, cluster=tools.open_cluster(snapshot=CASCADE)) as env:
        env.asking.runbook_base_url = "https://git.example.com/sre/blob/main"
        yield env


def test_the_root_cause_is_above_the_fold_at_390_px(cascade: WebEnv, phone: Page,
                                                    tmp_path: Path) -> None:
    phone.goto(cascade.url)
    assert phone.evaluate("document.activeElement.id") == "question"  # type at once
    phone.keyboard.type("why is the frontend returning 502?")
    phone.keyboard.press("Enter")
    phone.keyboard.press("Enter")  # a second Enter while it runs starts nothing
    assert phone.locator("#question").get_attribute("readonly") is not None
    answer = phone.locator(".turn .answer")
    answer.wait_for(timeout=60_000)
    assert phone.locator(".turn").count() == 1
    assert phone.locator("#question").get_attribute("readonly") is None

    verdict = answer.locator(".verdict")
    assert verdict.inner_text() == "Problem: StatefulSet shop/postgres is OOMKilled " \
        "(95% confidence)"
    chain = answer.locator("ol.chain li")  # drawn left to right, symptom to root
    names = [chain.nth(i).locator(".name").inner_text() for i in range(chain.count())]
    assert names[0] == "frontend" and names[-1] == "postgres" and "api" in names
    assert "OOMKilled" in chain.last.locator(".state").inner_text()
    boxes = [chain.nth(i).bounding_box() for i in range(chain.count())]
    assert all(b is not None for b in boxes)
    form = phone.locator("#ask").bounding_box()
    assert form is not None
    for located in (verdict.bounding_box(), boxes[-1]):  # above the fold and the input
        assert located is not None and 0 <= located["y"]
        assert located["y"] + located["height"] <= form["y"]
    assert phone.locator("details.steps").get_attribute("open") is None  # progress folded
    assert answer.locator("details.evidence").get_attribute("open") is None
    link = answer.locator(".runbooks a").first
    assert link.get_attribute("href", timeout=1000) == \
        "https://git.example.com/sre/blob/main/knowledge/runbooks/oomkilled-memory-limit.md" \
        "#remediate"
    shot = tmp_path / "web-390px.png"
    phone.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("SRE_UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "web-390px.png").write_bytes(shot.read_bytes())
