"""Wall time of `sre runbooks search` from a warm index: what a person at a terminal waits.

    .venv/bin/python bench/runbooks_search.py [--runs 20] [--index-dir DIR] [--json]

Each run is a fresh process (`sre runbooks search QUERY`, its output discarded), so start-up
counts: imports, settings, reading the runbooks and the index, loading the embedding model, the
search itself. The index is built first if `--index-dir` holds none (default: a temporary
directory, indexed once and not counted), then one untimed run warms the file cache. Queries
rotate through a paraphrase, a pasted error, an alert name and one the library does not cover.
Prints p50/p95/max in seconds and the search mode the command reported (hybrid, or lexical if the
model is missing: that would not be the number to quote).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERIES = (
    "pods of the new release cannot pull their image",
    "x509: certificate signed by unknown authority",
    "KubeQuotaFullyUsed",
    "helm release stuck in pending-upgrade",
)


def sre() -> list[str]:
    script = Path(sys.executable).with_name("sre")
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


def search(query: str, env: dict[str, str], *, json_output: bool = False) -> tuple[float, str]:
    command = [*sre(), "runbooks", "search", query, *(["--json"] if json_output else [])]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--index-dir", type=Path, help="a local index (built here if missing)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    scratch = None if args.index_dir else Path(tempfile.mkdtemp(prefix="sre-search-bench-"))
    index_dir = args.index_dir or scratch
    assert index_dir is not None
    env = {**os.environ, "SRE_KNOWLEDGE__INDEX_DIR": str(index_dir)}
    try:
        if not (index_dir / "chroma.sqlite3").exists():
            print(f"indexing the runbooks into {index_dir} (not timed)", file=sys.stderr)
            subprocess.run([*sre(), "runbooks", "index"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        _, out = search(QUERIES[0], env, json_output=True)  # warms the file cache; not timed
        mode = json.loads(out)["mode"]
        times = [search(QUERIES[n % len(QUERIES)], env)[0] for n in range(args.runs)]
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    summary = {"runs": args.runs, "mode": mode, "p50": round(statistics.median(times), 3),
               "p95": round(percentile(times, 0.95), 3), "max": round(max(times), 3)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"sre runbooks search, warm index, {args.runs} runs ({mode}): "
              f"p50 {summary['p50']:.3f} s  p95 {summary['p95']:.3f} s  "
              f"max {summary['max']:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
