"""Write a scenario of the library as a bundled example snapshot (what `make demo` reads).

    .venv/bin/python scripts/make-example.py cascade-db-oom-api-frontend examples/cascade
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness.scenarios import load, write_snapshot_dir  # noqa: E402


def main(name: str, directory: str) -> None:
    target = Path(directory)
    shutil.rmtree(target, ignore_errors=True)
    write_snapshot_dir(load(ROOT / "tests" / "scenarios" / f"{name}.yaml"), target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
