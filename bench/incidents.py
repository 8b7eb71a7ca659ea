"""The offline engine on the blind incident corpus (tests/incidents/, snapshot backend).

    .venv/bin/python bench/incidents.py                  # per incident: pass/fail and why; totals
    .venv/bin/python bench/incidents.py --dir DIR        # another corpus (a held-out batch)
    .venv/bin/python bench/incidents.py --markdown       # the per-family table for bench/README.md

Every question of an incident is asked (the on-call phrasing and the pasted alert alike); an
incident passes only when all of them do. Scoring is `bench/accuracy.verdict`. Times are per
question, engine only (the snapshot is written once per incident, outside the timing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import verdict  # noqa: E402
from harness.scenarios import INCIDENT_DIR, all_incidents, load, write_snapshot_dir  # noqa: E402

import tools  # noqa: E402
from assistant.engine import diagnose  # noqa: E402


def run(directory: Path) -> tuple[list[tuple[str, str, bool, str]], list[float]]:
    """(name, family, passed, why) per incident, and the seconds each question took."""
    rows: list[tuple[str, str, bool, str]] = []
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in all_incidents(directory):
            incident = load(path)
            cluster = tools.open_cluster(
                snapshot=write_snapshot_dir(incident, Path(tmp) / incident.name))
            why = ""
            for number, question in enumerate(incident.questions, 1):
                start = time.perf_counter()
                result = diagnose(cluster, question)
                times.append(time.perf_counter() - start)
                ok, reason = verdict(incident.expect, result)
                if not ok and not why:
                    got = (f"{result.root_cause.category} {result.root_cause.object}"
                           if result.root_cause else f"healthy={result.healthy}")
                    want = (f"{incident.expect.get('category')} {incident.expect.get('object')}"
                            if not incident.expect.get("healthy") else "healthy")
                    why = f"q{number}: {reason}; want {want}; got {got}"
            rows.append((incident.name, incident.family, not why, why))
    return rows, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=INCIDENT_DIR)
    parser.add_argument("--markdown", action="store_true", help="per-family table only")
    args = parser.parse_args()
    rows, times = run(args.dir)
    families: dict[str, list[bool]] = defaultdict(list)
    for _, family, passed, _ in rows:
        families[family].append(passed)
    passed = sum(r[2] for r in rows)
    if args.markdown:
        print("| family | passed |\n|---|---|")
        for family, results in sorted(families.items()):
            print(f"| {family} | {sum(results)}/{len(results)} |")
        print(f"| **all** | **{passed}/{len(rows)}** |")
        return 0
    width = max((len(r[0]) for r in rows), default=10)
    for name, _family, ok, why in rows:
        print(f"{name.ljust(width)}  {'pass' if ok else 'FAIL'}  {why}")
    print()
    for family, results in sorted(families.items()):
        print(f"{family:24} {sum(results)}/{len(results)}")
    if times:
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"\n{passed}/{len(rows)} incidents pass ({passed / len(rows):.0%}); "
              f"{len(times)} questions, p50 {statistics.median(times) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms per question")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
