"""`sre ask` end to end on the bundled example, as a user runs it (a fresh process each time).

    .venv/bin/python bench/ask.py [RUNS]      # prints p50 and p95 wall time
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [str(ROOT / ".venv" / "bin" / "sre"), "ask", "why is the frontend returning 502?",
           "--snapshot", str(ROOT / "examples" / "cascade")]


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(COMMAND, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(f"sre ask on examples/cascade, {runs} runs: p50 {statistics.median(times):.2f} s, "
          f"p95 {p95:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
