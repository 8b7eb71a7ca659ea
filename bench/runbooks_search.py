"""Wall time of `sre runbooks search` from a warm index: what a person at a terminal waits.

    .venv/bin/python bench/runbooks_search.py [--runs 20] [--index-dir DIR] [--json]
    .venv/bin/python bench/runbooks_search.py --against /tmp/before   # a checkout to compare

Each run is a fresh process (`sre runbooks search QUERY`, its output discarded), so start-up
counts: imports, settings, reading the runbooks and the index, loading the embedding model, the
search itself. The index is built first if `--index-dir` holds none (default: a temporary
directory, indexed once and not counted), then one untimed run warms the file cache. Queries
rotate through a paraphrase, a pasted error, an alert name and one the library does not cover.
Prints p50/p95/max in seconds and the search mode the command reported (hybrid, or lexical if the
model is missing: that would not be the number to quote), and the load average (on a shared
machine the numbers move with it).

`--against DIR` (another checkout of this project, e.g. `git worktree add /tmp/before HEAD~3`)
times both, alternately, run for run and with the same query, so that both see the same load;
both run as `python -c` from their own tree, and the bench says whether their `--json` answers
were the same.
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
from typing import Any

QUERIES = (
    "pods of the new release cannot pull their image",
    "x509: certificate signed by unknown authority",
    "KubeQuotaFullyUsed",
    "helm release stuck in pending-upgrade",
)


LAUNCH = "import sys; from assistant.cli import main; main()"
"""How a checkout runs: what the `sre` script does (`main`, so `sys.argv` decides)."""


def sre(tree: Path | None = None) -> list[str]:
    if tree is not None:
        return [sys.executable, "-c", LAUNCH]
    script = Path(sys.executable).with_name("sre")
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


def search(query: str, env: dict[str, str], *, json_output: bool = False,
           tree: Path | None = None) -> tuple[float, str]:
    command = [*sre(tree), "runbooks", "search", query, *(["--json"] if json_output else [])]
    if tree is not None:
        env = {**env, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True,
                          cwd=tree)
    return time.perf_counter() - start, done.stdout


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--index-dir", type=Path, help="a local index (built here if missing)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout, timed alternately with this one")
    args = parser.parse_args(argv)
    scratch = None if args.index_dir else Path(tempfile.mkdtemp(prefix="sre-search-bench-"))
    index_dir = args.index_dir or scratch
    assert index_dir is not None
    env = {**os.environ, "SRE_KNOWLEDGE__INDEX_DIR": str(index_dir)}
    here = Path(__file__).resolve().parents[1] if args.against else None
    trees = {"this": here, **({"against": args.against.resolve()} if args.against else {})}
    times: dict[str, list[float]] = {name: [] for name in trees}
    same = True
    load_before = os.getloadavg()[0]
    try:
        if not (index_dir / "chroma.sqlite3").exists():
            print(f"indexing the runbooks into {index_dir} (not timed)", file=sys.stderr)
            subprocess.run([*sre(), "runbooks", "index"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        modes = {name: json.loads(search(QUERIES[0], env, json_output=True, tree=tree)[1])
                 ["mode"] for name, tree in trees.items()}  # warms the file cache; not timed
        for n in range(args.runs):
            order = list(trees.items()) if n % 2 == 0 else list(trees.items())[::-1]
            answers = set()
            for name, tree in order:
                elapsed, out = search(QUERIES[n % len(QUERIES)], env, json_output=args.against
                                      is not None, tree=tree)
                times[name].append(elapsed)
                answers.add(out)
            same = same and len(answers) == 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    load = (load_before, os.getloadavg()[0])
    numbers = {name: {"mode": modes[name], "p50": round(statistics.median(values), 3),
                      "p95": round(percentile(values, 0.95), 3), "max": round(max(values), 3)}
               for name, values in times.items()}
    summary: dict[str, Any] = {"runs": args.runs, **numbers["this"],
                               "load": [round(x, 2) for x in load]}
    if args.against:
        summary |= {"against": numbers["against"], "same_answers": same}
    if args.json:
        print(json.dumps(summary))
        return 0
    for name in trees:
        where = f" {trees[name]}" if args.against else ""
        line = numbers[name]
        print(f"sre runbooks search{where}, warm index, {args.runs} runs ({line['mode']}): "
              f"p50 {line['p50']:.3f} s  p95 {line['p95']:.3f} s  max {line['max']:.3f} s")
    print(f"load average {load[0]:.2f} at the start, {load[1]:.2f} at the end"
          + (f"; the same answers: {'yes' if same else 'NO'}" if args.against else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
