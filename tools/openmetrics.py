"""The metrics of a snapshot: raw series as OpenMetrics text under `DIR/metrics/`, written by
`sre snapshot` from a live Prometheus and read back by the snapshot twin of the reader.

    DIR/metrics/<namespace>.om     every sample of the series the plans read, last hour

A file is plain OpenMetrics (`# TYPE <name> unknown`, `name{labels} value timestamp`, `# EOF`),
so the same file backfills a real Prometheus (`promtool tsdb create-blocks-from openmetrics`)
and a scenario author can write one by hand. Why raw series and not query results: a snapshot
then answers every query of the library (and an alert's own expression, when the evaluator knows
its PromQL) the way Prometheus would over the same samples, and one test can hold the evaluator
to the real server's numbers.

`SnapshotMetrics` evaluates queries with `promql.Evaluator` at the snapshot's time, which is the
newest sample it holds; rules and alerts are not captured (they are the live server's state).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SnapshotError
from .prometheus import (
    Json,
    Limits,
    Metrics,
    MetricsError,
    NotEvaluated,
    QueryResult,
    Series,
)
from .promql import Matcher, evaluate
from .promvalues import Labels, Points, Ranged, Sample, Unsupported
from .redacting import redact_label
from .sizes import MAX_LIST_BYTES, mib, read_at_most

METRICS_DIR = "metrics"
SUFFIX = ".om"
CAPTURE_WINDOW = 3600.0  # seconds of history `sre snapshot` keeps

_HEAD = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def write_openmetrics(series: Iterable[Series], path: Path) -> int:
    """Write `series` (labels include `__name__`) as one OpenMetrics file; returns samples."""
    families: dict[str, list[Series]] = {}
    for each in series:
        families.setdefault(each.labels["__name__"], []).append(each)
    lines, samples = [], 0
    for name in sorted(families):
        lines.append(f"# TYPE {name} unknown")
        for each in families[name]:
            labels = ",".join(f'{k}="{_escaped(v)}"' for k, v in sorted(each.labels.items())
                              if k != "__name__")
            head = f"{name}{{{labels}}}" if labels else name
            for t, v in each.points:
                lines.append(f"{head} {format_value(v)} {t:.3f}")
                samples += 1
    lines.append("# EOF")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return samples


def read_openmetrics(path: Path) -> list[Series]:
    """The series of one OpenMetrics file (labels redacted), oldest sample first."""
    found: dict[str, list[tuple[float, float]]] = {}  # `name{labels}` as written -> points
    if not path.is_file():  # a FIFO would be read for ever
        raise SnapshotError(str(path), "not a file; a snapshot holds each series file as one")
    try:
        data = read_at_most(path, MAX_LIST_BYTES)
        if data is None:
            raise SnapshotError(str(path), f"larger than {mib(MAX_LIST_BYTES)}, more than a "
                                "snapshot's series file holds")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SnapshotError(str(path), "cannot be read as UTF-8 text") from e
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("# EOF"):
            break
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rsplit(" ", 2)  # a label value may hold spaces; value and time never do
        if len(parts) != 3:
            raise SnapshotError(str(path), f"line {number} is not `name{{labels}} value time`")
        try:
            point = (float(parts[2]), float(parts[1]))
        except ValueError as e:
            raise SnapshotError(str(path), f"line {number}: value or time is not a number") from e
        points = found.get(parts[0])
        if points is None:
            points = found[parts[0]] = []
            _labels(parts[0], path, number)  # the series' first line: check its labels now
        points.append(point)
    return [Series(_labels(head, path, 0), tuple(sorted(points)))
            for head, points in found.items()]


def _labels(head: str, path: Path, number: int) -> dict[str, str]:
    m = _HEAD.fullmatch(head.strip())
    if m is None:
        raise SnapshotError(str(path), f"line {number} is not `name{{labels}} value time`")
    labels = {"__name__": m.group(1)}
    for key, value in _LABEL.findall(m.group(2) or ""):
        labels[key] = redact_label(key, re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n"
                                               else e.group(1), value))
    return labels


class SnapshotMetrics:
    """The `Metrics` of a snapshot directory: its `metrics/*.om` files, evaluated offline."""

    def __init__(self, directory: Path, limits: Limits | None = None) -> None:
        self.directory = directory / METRICS_DIR
        self.limits = limits or Limits()
        self._series: list[Series] | None = None

    @classmethod
    def present(cls, directory: Path) -> bool:
        return any((directory / METRICS_DIR).glob(f"*{SUFFIX}"))

    @property
    def source(self) -> str:
        return f"snapshot {self.directory}"

    def _all(self) -> list[Series]:
        if self._series is None:
            self._series = [s for path in sorted(self.directory.glob(f"*{SUFFIX}"))
                            for s in read_openmetrics(path)]
        return self._series

    def _fetch(self, matchers: Sequence[Matcher]) -> Iterator[tuple[Labels, Points]]:
        for series in self._all():
            if all(m.matches(series.labels) for m in matchers):
                yield series.labels, series.points

    def now(self) -> float:
        return max((s.points[-1][0] for s in self._all() if s.points), default=0.0)

    def query(self, promql: str, at: float | None = None) -> QueryResult:
        at = self.now() if at is None else at
        try:
            value = evaluate(promql, self._fetch, at)
        except Unsupported as e:
            raise NotEvaluated(f"a snapshot cannot evaluate this offline: {e}") from e
        except re.error as e:
            raise NotEvaluated("a label matcher's regular expression is not one Python "
                               "reads the way Prometheus does") from e
        if isinstance(value, float):
            return QueryResult(promql, "scalar", [Series({}, ((at, value),))], at)
        result = QueryResult(promql, "vector", at=at)
        items = value[: self.limits.series]
        result.dropped_series = len(value) - len(items)
        for item in items:
            if isinstance(item, Sample):
                result.series.append(Series(dict(item.labels), ((at, item.value),)))
            else:
                assert isinstance(item, Ranged)
                result.kind = "matrix"
                points = tuple(item.points)[-self.limits.points:]
                result.dropped_points += len(item.points) - len(points)
                result.series.append(Series(dict(item.labels), points))
        return result

    def query_range(self, promql: str, start: float, end: float, step: float) -> QueryResult:
        step = max(step, (end - start) / max(self.limits.points - 1, 1), 1.0)
        merged: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        at = start
        while at <= end:
            for series in self.query(promql, at).series:
                merged.setdefault(tuple(sorted(series.labels.items())), []).append(
                    (at, series.value))
            at += step
        found = [Series(dict(k), tuple(v)) for k, v in merged.items()]
        return QueryResult(promql, "matrix", found[: self.limits.series],
                           dropped_series=max(len(found) - self.limits.series, 0))

    def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]:
        found: dict[tuple[tuple[str, str], ...], None] = {}
        for selector in match:
            for s in self.query(f"{selector}[{max(int(end - start), 1)}s]", end).series:
                found[tuple(sorted(s.labels.items()))] = None
        return [dict(k) for k in found][: self.limits.series]

    def labels(self) -> list[str]:
        return sorted({k for s in self._all() for k in s.labels})

    def rules(self) -> list[Json]:
        return []

    def alerts(self) -> list[Json]:
        return []

    def close(self) -> None:
        pass


@dataclass
class MetricsCapture:
    files: list[Path] = field(default_factory=list)
    series: int = 0
    samples: int = 0
    skipped: list[str] = field(default_factory=list)  # "http_requests_total in shop: ..."


def capture_metrics(metrics: Metrics, directory: Path, namespaces: Iterable[str],
                    names: Iterable[str], window: float = CAPTURE_WINDOW,
                    at: float | None = None) -> MetricsCapture:
    """Write every sample of the `window` seconds before `at` (now) of the metrics `names`, per
    namespace, into `directory/metrics/<namespace>.om` (a namespace with none gets no file)."""
    report = MetricsCapture()
    at = metrics.now() if at is None else at
    wanted = list(dict.fromkeys(names))
    for namespace in namespaces:
        kept: list[Series] = []
        for name in wanted:
            selector = f'{name}{{namespace="{namespace}"}}[{int(window)}s]'
            try:
                result = metrics.query(selector, at)
            except MetricsError as e:
                report.skipped.append(f"{name} in {namespace}: {e}")
                continue
            if result.note:
                report.skipped.append(f"{name} in {namespace}: {result.note}")
            kept += [s for s in result.series if s.points]
        if kept:
            path = directory / METRICS_DIR / f"{namespace}{SUFFIX}"
            report.samples += write_openmetrics(kept, path)
            report.series += len(kept)
            report.files.append(path)
    return report
