"""Timing `sre diagnose` (as a subprocess and in-process, by phase) beside `kubectl get`."""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tools
from assistant import engine
from assistant.engine import compose

REPO = Path(__file__).resolve().parents[2]
SRE = REPO / ".venv" / "bin" / "sre"
KUBECTL = "/usr/bin/kubectl"
QUESTION = "diagnose"  # what `sre diagnose -n NS` asks the engine


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes
    output: bytes


def run(argv: list[str]) -> Run:
    """Run a command to completion; its wall time and its peak resident memory (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)  # Popen.wait() would not say the peak RSS
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{argv[0]} exited {process.returncode}: "
                               f"{err.read().decode()[-800:]}")
        out.seek(0)
        return Run(seconds, usage.ru_maxrss * 1024, out.read())


def sre_argv(kubeconfig: Path, namespace: str) -> list[str]:
    return [str(SRE), "diagnose", "-n", namespace, "--kubeconfig", str(kubeconfig), "--json"]


def kubectl_argv(kubeconfig: Path, namespace: str) -> list[str]:
    return [KUBECTL, "--kubeconfig", str(kubeconfig), "get", "pods,events", "-n", namespace,
            "-o", "json"]


@dataclass
class InProcess:
    """One in-process diagnosis, by phase, as `engine.diagnose` runs it, plus the JSON render."""

    phases: dict[str, float] = field(default_factory=dict)
    requests: int = 0
    log_reads: int = 0
    diagnosis: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.phases.values())


def in_process(kubeconfig: Path, namespace: str) -> InProcess:
    result = InProcess()
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        result.phases[name] = now - mark
        mark = now

    cluster = tools.open_cluster(kubeconfig=str(kubeconfig))
    phase("connect")
    scope = engine.resolve(cluster, QUESTION, None, namespace)
    phase("scope")
    view = engine.ClusterView.load(cluster, scope.namespaces)
    phase("list")
    findings = engine.analyze(view)
    phase("analyze")
    diagnosis = compose(QUESTION, scope, view, findings)
    text = diagnosis.model_dump_json(indent=2)
    phase("compose")
    inner = cluster.inner
    result.requests = inner.requests if isinstance(inner, tools.LiveCluster) else 0
    result.log_reads = view.log_reads
    result.diagnosis = json.loads(text)
    cluster.close()
    return result


def profile(kubeconfig: Path, namespace: str, top: int = 30) -> str:
    """cProfile of one in-process diagnosis, the `top` functions by cumulative and own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    in_process(kubeconfig, namespace)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def import_seconds(module: str, reps: int) -> float | None:
    """Median time of `python -c "import MODULE"` (start-up before any work); None if absent."""
    argv = [sys.executable, "-c", f"import {module}"]
    try:
        return statistics.median(run(argv).seconds for _ in range(reps))
    except RuntimeError:
        return None
