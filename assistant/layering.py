"""The interfaces' layering, checked: `python -m assistant.layering` (exit 1 on a breach).

    nothing imports `cli`; no server (slack, web, mcp) imports another, and nothing below the
    interfaces (service, graph, engine, renderers) imports one. The one exception is the entry
    point: `cli` starts the servers (`sre slack`, `sre web`, `sre mcp`) by their `run_from_cli`.

Read from the source (every `import` and `from ... import`, at any depth), not from a run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SERVERS = ("slack", "web", "mcp")


def _unit(path: Path) -> str:
    """`slack` for assistant/slack/app.py, `cli` for assistant/cli.py, `service` for ..."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return parts[0]


def _imported(path: Path) -> set[str]:
    """The `assistant` units `path` imports (relative or absolute)."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(ROOT.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            names = [".".join([*module, a.name]) for a in node.names] if not node.module \
                else [".".join(module)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "assistant" and len(parts) > 1:
                found.add(parts[1])
    return found


def breaches() -> list[str]:
    said = []
    for path in sorted(ROOT.rglob("*.py")):
        unit = _unit(path)
        if unit in ("__main__", "layering"):
            continue  # `python -m assistant` runs the CLI: that is its one job
        for imported in sorted(_imported(path) - {unit}):
            if imported == "cli" or (imported in SERVERS and unit != "cli"):
                said.append(f"{path.relative_to(ROOT.parent)} imports assistant.{imported}")
    return said


def main() -> int:
    found = breaches()
    for line in found:
        print(line)
    print(f"{len(found)} layering breach(es)" if found else "layering ok: no interface imports "
          "another, nothing imports cli")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
