"""Numbers as evidence at scale: the plans' PromQL for one workload of N pods, asked of a real
Prometheus (Debian's, on loopback, series backfilled with promtool) and of the snapshot's
OpenMetrics files (the offline evaluator), per symptom.

    .venv/bin/python bench/metrics.py [--pods 50] [--rounds 5]

Prints the series and samples, the backfill and start-up time, then per symptom the median time
of `metric_evidence` on each backend and whether both gave the same readings; exits 1 if not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harness.prometheus import start_prometheus  # noqa: E402
from harness.series import expand  # noqa: E402

from knowledge.metrics import SYMPTOMS, metric_evidence  # noqa: E402
from tools import SnapshotMetrics, connect_prometheus  # noqa: E402
from tools.openmetrics import write_openmetrics  # noqa: E402

NS, WORKLOAD = "shop", "checkout"


def _specs(pods: list[str]) -> list[dict[str, object]]:
    specs: list[dict[str, object]] = []
    for i, pod in enumerate(pods):
        where = f'namespace="{NS}", pod="{pod}"'
        c = f'{where}, container="app"'
        specs += [
            {"series": f"container_cpu_cfs_throttled_periods_total{{{c}}}", "counter": i % 10},
            {"series": f"container_cpu_cfs_periods_total{{{c}}}", "counter": 10},
            {"series": f"container_cpu_usage_seconds_total{{{c}}}", "counter": 0.01 * (i % 50)},
            {"series": f"container_memory_working_set_bytes{{{c}}}", "gauge": 4e8 + 1e6 * i},
            {"series": f'kube_pod_container_resource_limits{{{c}, resource="memory"}}',
             "gauge": 536870912},
            {"series": f'kube_pod_container_resource_limits{{{c}, resource="cpu"}}',
             "gauge": 0.5},
            {"series": f"kube_pod_container_status_restarts_total{{{c}}}",
             "steps": [[0, 0], [1800, i % 3]]},
            {"series": f'http_requests_total{{{where}, code="200"}}', "counter": 20},
            {"series": f'http_requests_total{{{where}, code="503"}}', "counter": i % 4},
        ]
        specs += [{"series": f'http_request_duration_seconds_bucket{{{where}, le="{le}"}}',
                   "counter": rate}
                  for le, rate in (("0.1", 5), ("0.5", 12), ("1", 18), ("2.5", 20),
                                   ("+Inf", 20))]
    return specs


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pods = [f"{WORKLOAD}-7d9f8b6c4-{i:05d}" for i in range(args.pods)]
    end = float(int(time.time()) // 60 * 60 - 120)
    series = expand(_specs(pods), end)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        samples = write_openmetrics(series, directory / "metrics" / f"{NS}.om")
        size = (directory / "metrics" / f"{NS}.om").stat().st_size
        print(f"{args.pods} pods: {len(series)} series, {samples} samples, "
              f"{size / 1e6:.1f} MB of OpenMetrics")
        started = time.perf_counter()
        server = start_prometheus([directory / "metrics" / f"{NS}.om"])
        print(f"promtool backfill + prometheus ready: {time.perf_counter() - started:.2f} s")
        agree = True
        try:
            live = connect_prometheus(server.url)
            snapshot = SnapshotMetrics(directory)
            started = time.perf_counter()
            snapshot.now()
            print(f"snapshot files read: {time.perf_counter() - started:.2f} s")
            print(f"{'symptom':<12} {'live ms':>8} {'snapshot ms':>12} {'items':>6}  same")
            for symptom in SYMPTOMS:
                times: dict[str, list[float]] = {"live": [], "snapshot": []}
                answers = {}
                for _ in range(args.rounds):
                    for name, metrics in (("live", live), ("snapshot", snapshot)):
                        started = time.perf_counter()
                        answers[name] = metric_evidence(metrics, symptom, NS, WORKLOAD, pods,
                                                        at=end + 7)
                        times[name].append((time.perf_counter() - started) * 1000)
                same = [e.reading for e in answers["live"].evidence] == [
                    e.reading for e in answers["snapshot"].evidence]
                agree &= same
                print(f"{symptom:<12} {statistics.median(times['live']):>8.1f} "
                      f"{statistics.median(times['snapshot']):>12.1f} "
                      f"{len(answers['live'].evidence):>6}  {'yes' if same else 'NO'}")
            live.close()
        finally:
            server.stop()
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
