"""The interfaces sit on one service and never import one another (issue 13): the check anyone
can run, `python -m assistant.layering`, passes on the tree, and fails on a breach."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant import layering

ROOT = Path(__file__).resolve().parent.parent


def test_the_tree_has_no_breach() -> None:
    done = subprocess.run([sys.executable, "-m", "assistant.layering"], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout
    assert "layering ok" in done.stdout


@pytest.mark.parametrize("line", ["from ..web import asking", "from assistant.web import app",
                                  "from ..cli import main", "import assistant.mcp.serving"])
def test_a_server_importing_another_is_a_breach(tmp_path: Path, line: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "assistant"
    (root / "slack").mkdir(parents=True)
    (root / "web").mkdir()
    (root / "slack" / "app.py").write_text(line + "\n")
    (root / "web" / "app.py").write_text("from ..service import Pool\n")
    monkeypatch.setattr(layering, "ROOT", root)
    found = layering.breaches()
    assert len(found) == 1 and found[0].startswith("assistant/slack/app.py imports assistant.")
