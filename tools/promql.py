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
not evaluate that expression offline. The values and their arithmetic live in promvalues.py.

`metric_names` and `unconfined` read what an expression selects: the metrics `sre snapshot`
captures, and whether every selector is held to one namespace (the agent's `prometheus_query`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from .promvalues import (
    Labels,
    Points,
    Ranged,
    Sample,
    Unsupported,
    Value,
    binary,
    extrapolated,
    histogram_quantile,
    samples,
    without_name,
)

LOOKBACK = 300.0  # seconds: Prometheus' default lookback delta

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
            left = binary(op, left, right, on, ignoring)
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
            return binary("*", -1.0, self._operand(), None, ())
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
            return histogram_quantile(q, samples(vector, "histogram_quantile()"))
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
                      else without_name(series.labels))
            if function in ("rate", "increase"):
                value = extrapolated(series, is_rate=function == "rate")
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
        for sample in samples(inner, f"{op}()"):
            if grouping is None:
                key: dict[str, str] = {}
            elif grouping[0] == "by":
                key = {k: v for k, v in sample.labels.items() if k in grouping[1]}
            else:
                key = {k: v for k, v in without_name(sample.labels).items()
                       if k not in grouping[1]}
            groups.setdefault(tuple(sorted(key.items())), []).append(sample.value)
        combine: dict[str, Callable[[list[float]], float]] = {
            "sum": math.fsum, "max": max, "min": min, "count": lambda v: float(len(v)),
            "avg": lambda v: math.fsum(v) / len(v)}
        return [Sample(dict(key), combine[op](values)) for key, values in groups.items()]


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
