"""The interfaces sit on one service and never import one another (issue 13): the check anyone
can run, `python -m assistant.layering`, passes on the tree, and fails on a breach. And only
the entry point touches the process environment; settings come from `Settings`."""

from __future__ import annotations

import ast
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


def _environment_reads(path: Path) -> list[str]:
    """Where `path` touches the process environment: `os.environ`, `os.getenv`, `os.putenv`,
    or any of them imported by name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "os" and node.attr in ("environ", "getenv", "putenv"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name in ("environ", "getenv", "putenv") for a in node.names):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_the_entry_point_touches_the_environment() -> None:
    """Settings are read once, by `Settings` (pydantic reads the environment for it). The CLI is
    the one module that touches it itself, three times, each said why in a comment there:
    argcomplete's `_ARGCOMPLETE`, the runbook search's settings read without pydantic, and
    OpenBLAS' thread count set before numpy is imported."""
    reads = [read for package in ("assistant", "tools", "knowledge")
             for path in sorted((ROOT / package).rglob("*.py"))
             for read in _environment_reads(path)]
    assert [read.split(":")[0] for read in reads] == ["assistant/cli.py"] * 3, reads
