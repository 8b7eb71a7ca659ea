"""PromQL's values and the arithmetic on them, as Prometheus 2.x does it: instant samples and
ranges, one-to-one vector matching with `on`/`ignoring`, comparison filters, `rate`/`increase`
extrapolation over counter resets, and `histogram_quantile` (tools/promql.py parses and calls).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

Labels = Mapping[str, str]
Points = Sequence[tuple[float, float]]
COMPARISONS = (">", "<", ">=", "<=", "==", "!=")


class Unsupported(ValueError):
    """The expression uses PromQL this evaluator does not know (or is not PromQL at all)."""


@dataclass(frozen=True)
class Sample:
    labels: Labels
    value: float


@dataclass(frozen=True)
class Ranged:
    labels: Labels
    points: Points
    start: float  # the range [start, end] the selector read
    end: float


Value = float | list[Sample] | list[Ranged]

def samples(value: Value, where: str) -> list[Sample]:
    """`value` as an instant vector; `Unsupported` when it is a number or a range."""
    if isinstance(value, list) and all(isinstance(s, Sample) for s in value):
        return cast(list[Sample], value)
    raise Unsupported(f"{where} of something that is not an instant vector")


def without_name(labels: Labels) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != "__name__"}


def _arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _compare(op: str, a: float, b: float) -> bool:
    return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b, "==": a == b,
            "!=": a != b}[op]


def binary(op: str, left: Value, right: Value, on: tuple[str, ...] | None,
            ignoring: tuple[str, ...]) -> Value:
    if isinstance(left, float) and isinstance(right, float):
        if op in COMPARISONS:
            raise Unsupported("a comparison of two numbers without bool")
        return _arithmetic(op, left, right)
    if isinstance(left, float) or isinstance(right, float):
        number = left if isinstance(left, float) else right
        assert isinstance(number, float)
        out = []
        for s in samples(right if isinstance(left, float) else left, f"'{op}'"):
            a, b = (number, s.value) if isinstance(left, float) else (s.value, number)
            if op in COMPARISONS:
                if _compare(op, a, b):
                    out.append(s)
            else:
                out.append(Sample(without_name(s.labels), _arithmetic(op, a, b)))
        return out

    def signature(labels: Labels) -> tuple[tuple[str, str], ...]:
        if on is not None:
            return tuple(sorted((k, v) for k, v in labels.items() if k in on))
        return tuple(sorted((k, v) for k, v in labels.items()
                            if k != "__name__" and k not in ignoring))

    rights: dict[tuple[tuple[str, str], ...], Sample] = {}
    for s in samples(right, f"'{op}'"):
        if signature(s.labels) in rights:
            raise Unsupported("several series on the right side match one signature "
                              "(many-to-one needs group_left/group_right)")
        rights[signature(s.labels)] = s
    out, seen = [], set()
    for s in samples(left, f"'{op}'"):
        key = signature(s.labels)
        match = rights.get(key)
        if match is None:
            continue
        if key in seen:
            raise Unsupported("several series on the left side match one signature "
                              "(many-to-one needs group_left/group_right)")
        seen.add(key)
        if op in COMPARISONS:
            if _compare(op, s.value, match.value):
                out.append(s)
            continue
        labels = dict(key) if on is not None else {
            k: v for k, v in without_name(s.labels).items() if k not in ignoring}
        out.append(Sample(labels, _arithmetic(op, s.value, match.value)))
    return out


def extrapolated(series: Ranged, *, is_rate: bool) -> float | None:
    """Prometheus' extrapolatedRate (2.x) of a counter over the range its selector read."""
    points = series.points
    if len(points) < 2:
        return None
    first_t, first_v = points[0]
    last_t, last_v = points[-1]
    result, previous = 0.0, first_v
    for _, v in points:
        if v < previous:
            result += previous
        previous = v
    result += last_v - first_v
    to_start, to_end = first_t - series.start, series.end - last_t
    sampled = last_t - first_t
    average = sampled / (len(points) - 1)
    if result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    result *= interval / sampled
    return result / (series.end - series.start) if is_rate else result


def histogram_quantile(q: float, vector: list[Sample]) -> list[Sample]:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for s in vector:
        le = s.labels.get("le")
        if le is None:
            continue
        try:
            bound = float(le)
        except ValueError:
            continue
        key = tuple(sorted((k, v) for k, v in without_name(s.labels).items() if k != "le"))
        groups.setdefault(key, []).append((bound, s.value))
    return [Sample(dict(key), _bucket_quantile(q, buckets)) for key, buckets in groups.items()]


def _bucket_quantile(q: float, raw: list[tuple[float, float]]) -> float:
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged: dict[float, float] = {}
    for bound, count in raw:
        merged[bound] = merged.get(bound, 0.0) + count
    buckets = sorted(merged.items())
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]):
        return math.nan
    highest = -math.inf
    for i, (bound, count) in enumerate(buckets):  # ensure monotonic counts
        if count < highest:
            buckets[i] = (bound, highest)
        else:
            highest = count
    observations = buckets[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * (rank / count)
