"""Scale benchmark: `sre diagnose -n NS` on 1,000 and 5,000 pods beside `kubectl get`.

    .venv/bin/python -m bench.scale                      # or: make bench-scale
    .venv/bin/python -m bench.scale --sizes 1000 --reps 3 --profile

Starts the test harness's real kube-apiserver on loopback, seeds one namespace per size (see
`cluster`), then, as the read-only user bound to deploy/rbac.yaml, times in the same run:
- `sre diagnose -n NS --json` as a subprocess (start-up included), and its peak RSS;
- the same diagnosis in-process, by phase, with the API requests it sent;
- `kubectl get pods,events -n NS -o json` (/usr/bin/kubectl).
Prints medians, the ratio sre/kubectl (goal: at most 1.5), and checks that the requests do not
grow with the pods and that the diagnosis names each failing workload's cause. Exit code 1 when
a check fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

import yaml  # noqa: E402
from harness import ApiServer, make_node, start_apiserver  # noqa: E402

from . import measuring  # noqa: E402
from .cluster import Seeded, Seeder  # noqa: E402

RBAC = measuring.REPO / "deploy" / "rbac.yaml"
USER = "sre-assistant"
GOAL = 1.5
NODES = 10
STARTUP = ("assistant.cli", "assistant.agent")  # what `sre diagnose` imports before any work


def _readonly_kubeconfig(server: ApiServer, seeder: Seeder, workdir: Path) -> Path:
    """A kubeconfig for `sre-assistant`, bound only to the project's read-only ClusterRole."""
    role = next(d for d in yaml.safe_load_all(RBAC.read_text()) if d["kind"] == "ClusterRole")
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    seeder.call("POST", f"{rbac}/clusterroles", role)
    seeder.call("POST", f"{rbac}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": USER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": role["metadata"]["name"]},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}]})
    return server.write_kubeconfig(workdir / "kubeconfig", token=server.tokens[USER])


@dataclass
class Row:
    seeded: Seeded
    sre: float  # median seconds, `sre diagnose` subprocess
    kubectl: float  # median seconds, `kubectl get pods,events -o json`
    inproc: float  # median seconds, in-process diagnosis
    phases: dict[str, float]
    requests: int
    log_reads: int
    rss: int  # peak bytes, sre subprocess
    kubectl_rss: int
    diagnosis: dict[str, Any]


def _measure(seeded: Seeded, kubeconfig: Path, reps: int) -> Row:
    ns = seeded.namespace
    sre_argv = measuring.sre_argv(kubeconfig, ns)
    kubectl_argv = measuring.kubectl_argv(kubeconfig, ns)
    measuring.run(kubectl_argv)  # warm-up: discovery cache, page cache, apiserver watch cache
    measuring.run(sre_argv)
    sre, kubectl, inproc = [], [], []
    for _ in range(reps):  # interleaved, so both see the same machine
        kubectl.append(measuring.run(kubectl_argv))
        sre.append(measuring.run(sre_argv))
        inproc.append(measuring.in_process(kubeconfig, ns))
    return Row(
        seeded=seeded,
        sre=statistics.median(r.seconds for r in sre),
        kubectl=statistics.median(r.seconds for r in kubectl),
        inproc=statistics.median(r.total for r in inproc),
        phases={name: statistics.median(r.phases[name] for r in inproc)
                for name in inproc[0].phases},
        requests=inproc[-1].requests, log_reads=inproc[-1].log_reads,
        rss=max(r.peak_rss for r in sre), kubectl_rss=max(r.peak_rss for r in kubectl),
        diagnosis=json.loads(sre[-1].output))


def _table(rows: list[Row]) -> list[str]:
    header = ("pods", "events", "sre diagnose s", "in-process s", "kubectl s", "ratio",
              "in-process ratio", "API requests", "log reads", "sre peak RSS MB",
              "kubectl RSS MB")
    lines = [(f"{r.seeded.pods:,}", str(r.seeded.events), f"{r.sre:.2f}", f"{r.inproc:.2f}",
              f"{r.kubectl:.2f}", f"{r.sre / r.kubectl:.2f}x", f"{r.inproc / r.kubectl:.2f}x",
              str(r.requests), str(r.log_reads), f"{r.rss / 2**20:.0f}",
              f"{r.kubectl_rss / 2**20:.0f}") for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    out += ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return out


def _phases(rows: list[Row]) -> list[str]:
    out = ["in-process breakdown (median s):"]
    for r in rows:
        out.append(f"  {r.seeded.pods:>6,} pods: "
                   + "  ".join(f"{name} {value:.3f}" for name, value in r.phases.items()))
    return out


def _causes(r: Row) -> tuple[bool, list[str]]:
    """Whether the diagnosis names each failing workload with its expected category."""
    root = r.diagnosis.get("root_cause") or {}
    lines = [f"  {r.seeded.pods:,} pods, namespace {r.seeded.namespace}: root cause "
             f"{root.get('category')} {root.get('object')}: {root.get('explanation')}"]
    found = {(f["object"], f["category"]): f for f in r.diagnosis.get("findings") or []}
    ok = r.diagnosis.get("healthy") is False
    for ref, category in r.seeded.expected().items():
        finding = found.get((ref, category))
        ok = ok and finding is not None
        lines.append(f"    {'ok  ' if finding else 'MISS'} {category:<22} {ref}: "
                     + (finding["summary"] if finding else "not found"))
    return ok, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="pods per namespace, comma-separated")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (median)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one in-process diagnosis of the largest size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(tmp)
        print(f"starting kube-apiserver + etcd in {workdir} ...", file=sys.stderr)
        server = start_apiserver(workdir / "kube")
        try:
            seeder = Seeder(server)
            kubeconfig = _readonly_kubeconfig(server, seeder, workdir)
            with server.client() as admin:
                nodes = [make_node(admin, server.kubelet.port, f"node-{i:02d}")["metadata"]
                         ["name"] for i in range(NODES)]
            rows = []
            for size in sizes:
                print(f"seeding {size:,} pods ...", file=sys.stderr)
                seeded = seeder.seed(size, nodes)
                print(f"timing {seeded.namespace} ({args.reps} reps) ...", file=sys.stderr)
                rows.append(_measure(seeded, kubeconfig, args.reps))
            if args.profile:
                print(measuring.profile(kubeconfig, rows[-1].seeded.namespace))
            startup = {module: measuring.import_seconds(module, 3) for module in STARTUP}
        finally:
            server.stop()
    print()
    print("\n".join(_table(rows)))
    print()
    print("\n".join(_phases(rows)))
    print("start-up (median of 3): " + "; ".join(
        f"python -c 'import {module}' {seconds:.2f} s" for module, seconds in startup.items()
        if seconds is not None))
    print("sre subprocess minus in-process engine (start-up, imports, agent graph, runbook "
          "recall, output): " + ", ".join(f"{r.sre - r.inproc:.2f} s" for r in rows))
    flat = len({r.requests for r in rows}) == 1
    print(f"API requests per diagnosis: {', '.join(str(r.requests) for r in rows)} "
          f"({'constant' if flat else 'GROWING'} with pods; list-based: one list per kind, "
          "plus one log read per failing container that needs its log)")
    ratio_ok = all(r.sre <= GOAL * r.kubectl for r in rows)
    print(f"goal sre <= {GOAL}x kubectl: {'met' if ratio_ok else 'NOT met'} (subprocess); "
          f"{'met' if all(r.inproc <= GOAL * r.kubectl for r in rows) else 'NOT met'} "
          "(in-process engine)")
    print("root causes found:")
    causes_ok = True
    for r in rows:
        ok, lines = _causes(r)
        causes_ok = causes_ok and ok
        print("\n".join(lines))
    return 0 if flat and causes_ok and ratio_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
