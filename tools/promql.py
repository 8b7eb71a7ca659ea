"""A tiny PromQL evaluator over stored series: the snapshot twin of a live Prometheus.

It evaluates the language the query library (knowledge/promql.yaml) and the usual
kube-prometheus-stack alert expressions are written in, with Prometheus 2.x semantics:
- selectors `name{l="v", l!="v", l=~"re", l!~"re"}`, with a range `[5m]`; an instant selector
  takes each series' latest sample in the 5-minute lookback [t-5m, t], a range one every sample
  in [t-r, t];
- `rate`, `increase` (Prometheus' extrapolation, counter resets), `max_over_time`,
  `min_over_time`, `avg_over_time`, `last_over_time`, `histogram_quantile` (linear
  interpolation within the bucket, monotonic counts), `vector(n)`;
- `sum`, `max`, `min`, `avg`, `count` with `by (...)` / `without (...)` before or after;
- `+ - * /` and the filters `> < >= <= == !=` between vectors (one-to-one, on all labels but the
  name, or `on (...)` / `ignoring (...)`) and numbers; parentheses.
Anything else raises `Unsupported` (saying what), never a wrong number: the caller says it could
not evaluate that expression offline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

LOOKBACK = 300.0  # seconds: Prometheus' default lookback delta

Labels = Mapping[str, str]
Points = Sequence[tuple[float, float]]


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

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<duration>\[\s*[0-9]+[smhdwy](?:[0-9]+[smhdwy])*\s*\])
  | (?P<number>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/<>=(){},])
""", re.VERBOSE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_AGGREGATIONS = ("sum", "max", "min", "avg", "count")
_OVER_TIME: dict[str, Callable[[list[float]], float]] = {
    "max_over_time": max, "min_over_time": min, "last_over_time": lambda v: v[-1],
    "avg_over_time": lambda v: sum(v) / len(v),
}
_COMPARISONS = (">", "<", ">=", "<=", "==", "!=")
_PRECEDENCE = {"==": 1, "!=": 1, ">": 1, "<": 1, ">=": 1, "<=": 1, "+": 2, "-": 2, "*": 3,
               "/": 3}


def _tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:
            raise Unsupported(f"cannot read {text[at:at + 20]!r}")
        at = m.end()
        if m.lastgroup != "space":
            found.append((m.lastgroup or "", m.group()))
    return found


def _duration(text: str) -> float:
    return float(sum(int(n) * _UNITS[u] for n, u in re.findall(r"([0-9]+)([a-z])", text)))


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)),
                  text[1:-1])


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: Labels) -> bool:
        have = labels.get(self.name, "")
        if self.op in ("=~", "!~"):
            hit = re.fullmatch(self.value, have) is not None
            return hit if self.op == "=~" else not hit
        return (have == self.value) == (self.op == "=")


Fetch = Callable[[Sequence[Matcher]], Iterable[tuple[Labels, Points]]]


class Evaluator:
    """Evaluates one expression at time `at` over the series `fetch` returns for matchers."""

    def __init__(self, fetch: Fetch, at: float) -> None:
        self.fetch = fetch
        self.at = at

    def evaluate(self, expression: str) -> Value:
        self._tokens = _tokens(expression)
        self._pos = 0
        value = self._expression(0)
        if self._pos != len(self._tokens):
            raise Unsupported(f"unexpected {self._peek()!r}")
        return value

    # --- parsing and evaluating in one pass -----------------------------------------------------

    def _peek(self) -> str:
        return self._tokens[self._pos][1] if self._pos < len(self._tokens) else ""

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self._pos >= len(self._tokens):
            raise Unsupported("the expression ends too early")
        kind, text = self._tokens[self._pos]
        if expected is not None and text != expected:
            raise Unsupported(f"expected {expected!r}, found {text!r}")
        self._pos += 1
        return kind, text

    def _expression(self, floor: int) -> Value:
        left = self._operand()
        while self._peek() in _PRECEDENCE and _PRECEDENCE[self._peek()] > floor:
            op = self._take()[1]
            if self._peek() == "bool":
                raise Unsupported("the bool modifier")
            on, ignoring = self._matching()
            right = self._expression(_PRECEDENCE[op])
            left = _binary(op, left, right, on, ignoring)
        return left

    def _matching(self) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        if self._peek() in ("on", "ignoring"):
            which = self._take()[1]
            names = self._label_list()
            if self._peek() in ("group_left", "group_right"):
                raise Unsupported("group_left/group_right")
            return (names, ()) if which == "on" else (None, names)
        return None, ()

    def _label_list(self) -> tuple[str, ...]:
        self._take("(")
        names: list[str] = []
        while self._peek() != ")":
            names.append(self._take()[1])
            if self._peek() == ",":
                self._take(",")
        self._take(")")
        return tuple(names)

    def _operand(self) -> Value:
        kind, text = self._take()
        if text == "(":
            value = self._expression(0)
            self._take(")")
            return value
        if text == "-":
            return _binary("*", -1.0, self._operand(), None, ())
        if kind == "number":
            return float(text)
        if kind != "ident":
            raise Unsupported(f"unexpected {text!r}")
        if text in _AGGREGATIONS and self._peek() in ("(", "by", "without"):
            return self._aggregation(text)
        if self._peek() == "(" and text not in ("on", "ignoring"):
            return self._call(text)
        return self._selector(text)

    def _selector(self, name: str | None) -> Value:
        matchers = [Matcher("__name__", "=", name)] if name else []
        if self._peek() == "{":
            self._take("{")
            while self._peek() != "}":
                label = self._take()[1]
                op = self._take()[1]
                kind, value = self._take()
                if op not in ("=", "!=", "=~", "!~") or kind != "string":
                    raise Unsupported(f"label matcher {label}{op}{value}")
                matchers.append(Matcher(label, op, _unquote(value)))
                if self._peek() == ",":
                    self._take(",")
            self._take("}")
        if not matchers:
            raise Unsupported("a selector without a name or matchers")
        if self._pos < len(self._tokens) and self._tokens[self._pos][0] == "duration":
            window = _duration(self._take()[1])
            if self._peek() == "offset":
                raise Unsupported("offset")
            start = self.at - window
            return [Ranged(labels, tuple((t, v) for t, v in points if start <= t <= self.at),
                           start, self.at)
                    for labels, points in self.fetch(matchers)]
        if self._peek() == "offset":
            raise Unsupported("offset")
        found = []
        for labels, points in self.fetch(matchers):
            recent = [v for t, v in points if self.at - LOOKBACK <= t <= self.at]
            if recent:
                found.append(Sample(labels, recent[-1]))
        return found

    def _call(self, function: str) -> Value:
        self._take("(")
        if function == "histogram_quantile":
            q = self._expression(0)
            self._take(",")
            vector = self._expression(0)
            self._take(")")
            if not isinstance(q, float):
                raise Unsupported("histogram_quantile() of a quantile that is not a number")
            return _histogram_quantile(q, _samples(vector, "histogram_quantile()"))
        if function == "vector":
            number = self._expression(0)
            self._take(")")
            if not isinstance(number, float):
                raise Unsupported("vector() of a non-number")
            return [Sample({}, number)]
        argument = self._expression(0)
        self._take(")")
        if not isinstance(argument, list) or not all(isinstance(r, Ranged) for r in argument):
            raise Unsupported(f"{function}() of something that is not a range selector")
        result = []
        for series in cast(list[Ranged], argument):
            # last_over_time keeps the metric name, as Prometheus does; the others drop it
            labels = (dict(series.labels) if function == "last_over_time"
                      else _without_name(series.labels))
            if function in ("rate", "increase"):
                value = _extrapolated(series, is_rate=function == "rate")
            elif function in _OVER_TIME:
                value = _OVER_TIME[function]([v for _, v in series.points]) \
                    if series.points else None
            else:
                raise Unsupported(f"the function {function}()")
            if value is not None:
                result.append(Sample(labels, value))
        return result

    def _aggregation(self, op: str) -> Value:
        grouping: tuple[str, tuple[str, ...]] | None = None
        if self._peek() in ("by", "without"):
            grouping = (self._take()[1], self._label_list())
        self._take("(")
        inner = self._expression(0)
        self._take(")")
        if self._peek() in ("by", "without"):
            grouping = (self._take()[1], self._label_list())
        groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
        for sample in _samples(inner, f"{op}()"):
            if grouping is None:
                key: dict[str, str] = {}
            elif grouping[0] == "by":
                key = {k: v for k, v in sample.labels.items() if k in grouping[1]}
            else:
                key = {k: v for k, v in _without_name(sample.labels).items()
                       if k not in grouping[1]}
            groups.setdefault(tuple(sorted(key.items())), []).append(sample.value)
        combine: dict[str, Callable[[list[float]], float]] = {
            "sum": math.fsum, "max": max, "min": min, "count": lambda v: float(len(v)),
            "avg": lambda v: math.fsum(v) / len(v)}
        return [Sample(dict(key), combine[op](values)) for key, values in groups.items()]


def _samples(value: Value, where: str) -> list[Sample]:
    """`value` as an instant vector; `Unsupported` when it is a number or a range."""
    if isinstance(value, list) and all(isinstance(s, Sample) for s in value):
        return cast(list[Sample], value)
    raise Unsupported(f"{where} of something that is not an instant vector")


def _without_name(labels: Labels) -> dict[str, str]:
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


def _binary(op: str, left: Value, right: Value, on: tuple[str, ...] | None,
            ignoring: tuple[str, ...]) -> Value:
    if isinstance(left, float) and isinstance(right, float):
        if op in _COMPARISONS:
            raise Unsupported("a comparison of two numbers without bool")
        return _arithmetic(op, left, right)
    if isinstance(left, float) or isinstance(right, float):
        number = left if isinstance(left, float) else right
        assert isinstance(number, float)
        out = []
        for s in _samples(right if isinstance(left, float) else left, f"'{op}'"):
            a, b = (number, s.value) if isinstance(left, float) else (s.value, number)
            if op in _COMPARISONS:
                if _compare(op, a, b):
                    out.append(s)
            else:
                out.append(Sample(_without_name(s.labels), _arithmetic(op, a, b)))
        return out

    def signature(labels: Labels) -> tuple[tuple[str, str], ...]:
        if on is not None:
            return tuple(sorted((k, v) for k, v in labels.items() if k in on))
        return tuple(sorted((k, v) for k, v in labels.items()
                            if k != "__name__" and k not in ignoring))

    rights: dict[tuple[tuple[str, str], ...], Sample] = {}
    for s in _samples(right, f"'{op}'"):
        if signature(s.labels) in rights:
            raise Unsupported("several series on the right side match one signature "
                              "(many-to-one needs group_left/group_right)")
        rights[signature(s.labels)] = s
    out, seen = [], set()
    for s in _samples(left, f"'{op}'"):
        key = signature(s.labels)
        match = rights.get(key)
        if match is None:
            continue
        if key in seen:
            raise Unsupported("several series on the left side match one signature "
                              "(many-to-one needs group_left/group_right)")
        seen.add(key)
        if op in _COMPARISONS:
            if _compare(op, s.value, match.value):
                out.append(s)
            continue
        labels = dict(key) if on is not None else {
            k: v for k, v in _without_name(s.labels).items() if k not in ignoring}
        out.append(Sample(labels, _arithmetic(op, s.value, match.value)))
    return out


def _extrapolated(series: Ranged, *, is_rate: bool) -> float | None:
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


def _histogram_quantile(q: float, vector: list[Sample]) -> list[Sample]:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for s in vector:
        le = s.labels.get("le")
        if le is None:
            continue
        try:
            bound = float(le)
        except ValueError:
            continue
        key = tuple(sorted((k, v) for k, v in _without_name(s.labels).items() if k != "le"))
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


def evaluate(expression: str, fetch: Fetch, at: float) -> Value:
    """`expression` evaluated at `at` over the series `fetch` yields (see the module)."""
    return Evaluator(fetch, at).evaluate(expression)


_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "offset",
                       "bool", "and", "or", "unless"})


def metric_names(expression: str) -> list[str]:
    """The metric names `expression` selects, in order of first appearance."""
    tokens = _tokens(expression)
    names: list[str] = []
    braces = 0
    in_list = False  # inside the label list of by/without/on/ignoring
    for i, (kind, text) in enumerate(tokens):
        before = tokens[i - 1][1] if i else ""
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "(" and before in ("by", "without", "on", "ignoring"):
            in_list = True
        elif text == ")":
            in_list = False
        braces += {"{": 1, "}": -1}.get(text, 0)
        if kind != "ident" or braces or in_list or text in _KEYWORDS or after == "(":
            continue
        if text in _AGGREGATIONS and after in ("by", "without"):
            continue
        if text not in names:
            names.append(text)
    return names


def unconfined(expression: str, namespace: str) -> str | None:
    """Why `expression` may read beyond `namespace` (a selector without `namespace="<ns>"`), or
    None when every selector in it is held to that namespace. Metrics of other namespaces stay
    out of reach of whoever may read only this one."""
    try:
        tokens = _tokens(expression)
    except Unsupported as e:
        return str(e)
    names = set(metric_names(expression))
    for i, (kind, text) in enumerate(tokens):
        opens = text == "{" and (i == 0 or tokens[i - 1][1] not in names)
        if kind == "ident" and text in names or opens:
            start = i + 1 if text != "{" else i
            if text != "{" and (start >= len(tokens) or tokens[start][1] != "{"):
                return f"{text} is not held to a namespace: add {{namespace=\"{namespace}\"}}"
            end = next((j for j in range(start, len(tokens)) if tokens[j][1] == "}"), len(tokens))
            inner = [t[1] for t in tokens[start + 1:end]]
            held = any(inner[j:j + 3] == ["namespace", "=", f'"{namespace}"']
                       for j in range(len(inner) - 2))
            if not held:
                shown = text if text != "{" else "a selector"
                return f"{shown} is not held to namespace {namespace}: add " \
                       f"namespace=\"{namespace}\" to its matchers"
    return None
