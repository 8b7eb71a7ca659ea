"""The offline engine on the blind incident corpus (tests/incidents/, snapshot backend).

    .venv/bin/python bench/incidents.py                  # per incident: pass/fail and why; totals
    .venv/bin/python bench/incidents.py --dir DIR        # another corpus (a held-out batch)
    .venv/bin/python bench/incidents.py --markdown       # the per-family table for bench/README.md
    .venv/bin/python bench/incidents.py --prometheus     # also with a real Prometheus: with/without

With `--prometheus` every incident is scored twice: without metrics, and with a real Prometheus
(`tests/harness/prometheus.py`, `make prometheus`) holding the incident's series (`metrics:`),
or none when it carries none, configured as SRE_PROMETHEUS__URL would configure it.

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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import verdict  # noqa: E402
from harness.prometheus import start_prometheus  # noqa: E402
from harness.scenarios import (  # noqa: E402
    INCIDENT_DIR,
    Scenario,
    all_incidents,
    load,
    write_metric_files,
    write_snapshot_dir,
)

import tools  # noqa: E402
from assistant.engine import diagnose  # noqa: E402

Row = tuple[str, str, bool, str]  # name, family, passed, why not
NUMBERED: set[str] = set()  # incidents an answer of which cites a number (with its PromQL)


def run(directory: Path, prometheus: bool = False
        ) -> tuple[list[Row], list[float], list[Row]]:
    """(name, family, passed, why) per incident, the seconds each question took (without
    metrics), and with `prometheus` the same rows scored with a real Prometheus."""
    rows: list[Row] = []
    measured: list[Row] = []
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        empty = None
        for path in all_incidents(directory):
            incident = load(path)
            cluster = tools.open_cluster(
                snapshot=write_snapshot_dir(incident, Path(tmp) / incident.name))
            rows.append((incident.name, incident.family,
                         *_score(incident, cluster, None, times)))
            if not prometheus:
                continue
            if incident.metrics:  # its own Prometheus, its series ending as a scrape's would
                files = write_metric_files(incident, Path(tmp) / f"{incident.name}-live",
                                           end=time.time() + 10)
                with _prometheus(files) as metrics:
                    measured.append((incident.name, incident.family,
                                     *_score(incident, cluster, metrics, [])))
                continue
            if empty is None:  # configured, holding nothing: every series is missing
                empty = stack.enter_context(_prometheus([]))
            measured.append((incident.name, incident.family,
                             *_score(incident, cluster, empty, [])))
    return rows, times, measured


@contextmanager
def _prometheus(files: list[Path]) -> Iterator[tools.Metrics]:
    server = start_prometheus(files)
    metrics = tools.connect_prometheus(server.url)
    try:
        yield metrics
    finally:
        metrics.close()
        server.stop()


def _score(incident: Scenario, cluster: tools.Cluster, metrics: tools.Metrics | None,
           times: list[float]) -> tuple[bool, str]:
    """Whether every question of the incident passes, and why the first that fails does not."""
    why = ""
    for number, question in enumerate(incident.questions, 1):
        start = time.perf_counter()
        result = diagnose(cluster, question, metrics=metrics)
        times.append(time.perf_counter() - start)
        if metrics is not None and any(e.source == "metrics" for e in result.evidence):
            NUMBERED.add(incident.name)
        ok, reason = verdict(incident.expect, result)
        if not ok and not why:
            got = (f"{result.root_cause.category} {result.root_cause.object}"
                   if result.root_cause else f"healthy={result.healthy}")
            want = (f"{incident.expect.get('category')} {incident.expect.get('object')}"
                    if not incident.expect.get("healthy") else "healthy")
            why = f"q{number}: {reason}; want {want}; got {got}"
    return not why, why


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=INCIDENT_DIR)
    parser.add_argument("--markdown", action="store_true", help="per-family table only")
    parser.add_argument("--prometheus", action="store_true",
                        help="score with a real Prometheus holding each incident's series too")
    args = parser.parse_args()
    rows, times, measured = run(args.dir, args.prometheus)
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
    if measured:
        _with_and_without(rows, measured, width)
        return 0
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


def _with_and_without(rows: list[Row], measured: list[Row], width: int) -> None:
    """Per incident, the verdict without metrics and with Prometheus; then both totals."""
    print(f"{'incident'.ljust(width)}  without  with Prometheus (+: cites a number)")
    for (name, _, bare, why), (_, _, metered, why_with) in zip(rows, measured, strict=True):
        numbered = "+" if name in NUMBERED else " "
        print(f"{name.ljust(width)}  {'pass' if bare else 'FAIL':7}  "
              f"{'pass' if metered else 'FAIL'}{numbered}  {why_with or why}")
    print(f"\nwithout Prometheus: {sum(r[2] for r in rows)}/{len(rows)} incidents pass; "
          f"with Prometheus: {sum(r[2] for r in measured)}/{len(measured)} "
          f"({len(NUMBERED)} cite a number with its query)")


if __name__ == "__main__":
    raise SystemExit(main())
