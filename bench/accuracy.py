"""Accuracy of the offline engine over the scenario library (snapshot backend).

    .venv/bin/python bench/accuracy.py   # per scenario: expected, got, pass, time; p50/p95
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harness.scenarios import all_scenarios, load, write_snapshot_dir  # noqa: E402

import tools  # noqa: E402
from assistant.diagnosis import Diagnosis  # noqa: E402
from assistant.engine import diagnose  # noqa: E402


def verdict(expect: dict[str, object], result: Diagnosis) -> tuple[bool, str]:
    """Whether `result` answers like `expect` says; and why not.

    A healthy expectation fails on anything but `healthy: true`. A broken one fails on a verdict
    other than `false`, a wrong root category or object, a missing phrase (anywhere in the
    answer), a `must_not` phrase in what a human reads first (summary, root cause, remediation),
    a lesser problem of `also` not reported among the findings, or a forbidden remediation.
    """
    text = result.model_dump_json().lower()
    if expect.get("healthy"):
        if result.healthy is not True:
            got = result.root_cause.category if result.root_cause else result.healthy
            return False, f"expected healthy, got {got}"
    else:
        if result.healthy is not False or result.root_cause is None:
            return False, f"no root cause (healthy={result.healthy})"
        if result.root_cause.category != expect.get("category"):
            return False, f"category {result.root_cause.category}"
        if result.root_cause.object != expect.get("object"):
            return False, f"object {result.root_cause.object}"
    for phrase in expect.get("phrases") or []:  # type: ignore[attr-defined]
        if str(phrase).lower() not in text:
            return False, f"missing phrase {phrase!r}"
    first_read = " ".join([
        result.summary, result.root_cause.explanation if result.root_cause else "",
        *(f"{r.step} {r.command or ''}" for r in result.remediation)]).lower()
    for phrase in expect.get("must_not") or []:  # type: ignore[attr-defined]
        if str(phrase).lower() in first_read:
            return False, f"said {phrase!r}"
    found = {(f.category, f.object) for f in result.findings}
    for also in expect.get("also") or []:  # type: ignore[attr-defined]
        if (also.get("category"), also.get("object")) not in found:
            return False, f"missed the other problem {also.get('object')}"
    for phrase in expect.get("forbidden") or []:  # type: ignore[attr-defined]
        if any(str(phrase).lower() in (r.command or "").lower() + r.step.lower()
               for r in result.remediation):
            return False, f"proposed forbidden {phrase!r}"
    return True, ""


def main() -> int:
    rows, passed = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in all_scenarios():
            scenario = load(path)
            directory = write_snapshot_dir(scenario, Path(tmp) / scenario.name)
            cluster = tools.open_cluster(snapshot=directory)
            question = scenario.questions[0] if scenario.questions else ""
            start = time.perf_counter()
            result = diagnose(cluster, question)
            elapsed = time.perf_counter() - start
            ok, why = verdict(scenario.expect, result)
            passed += ok
            got = (f"{result.root_cause.category} {result.root_cause.object}"
                   if result.root_cause else f"healthy={result.healthy}")
            expected = f"{scenario.expect.get('category')} {scenario.expect.get('object')}"
            rows.append((scenario.name, expected, got, "pass" if ok else f"FAIL {why}",
                         f"{elapsed * 1000:.0f} ms"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)))
    times = sorted(float(r[4].split()[0]) for r in rows)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"\n{passed}/{len(rows)} scenarios pass; p50 {statistics.median(times):.0f} ms, "
          f"p95 {p95:.0f} ms per question")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
