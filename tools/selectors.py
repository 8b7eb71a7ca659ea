"""Label and field selectors evaluated client-side, with the API server's syntax.

The live backend passes selectors to the server; the snapshot backend evaluates them here, so
both return the same objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
LabelPredicate = Callable[[Mapping[str, str]], bool]

_SET_EXPR = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_EXPR = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")


class SelectorError(ValueError):
    """A selector string that does not parse."""


def _split_terms(selector: str) -> list[str]:
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term for term in terms if term.strip()]


def _label_equals(key: str, value: str, *, negate: bool) -> LabelPredicate:
    return lambda labels: (labels.get(key) == value) != negate


def _label_in(key: str, wanted: Collection[str], *, negate: bool) -> LabelPredicate:
    return lambda labels: (labels.get(key) in wanted) != negate


def _label_exists(key: str, *, negate: bool) -> LabelPredicate:
    return lambda labels: (key in labels) != negate


def label_matcher(selector: str | None) -> LabelPredicate:
    """A predicate over a label map for `app=web,tier!=db,env in (a,b),!canary`."""
    if not selector or not selector.strip():
        return lambda labels: True
    checks: list[LabelPredicate] = []
    for term in _split_terms(selector):
        eq = _EQ_EXPR.match(term)
        if eq:
            key, op, value = eq.groups()
            checks.append(_label_equals(key, value, negate=op == "!="))
            continue
        expr = _SET_EXPR.match(term)
        if not expr:
            raise SelectorError(f"cannot parse label selector term {term.strip()!r}")
        negate, key, op, values = expr.groups()
        if op:
            wanted = {v.strip() for v in values.split(",") if v.strip()}
            checks.append(_label_in(key, wanted, negate=op == "notin"))
        else:
            checks.append(_label_exists(key, negate=bool(negate)))
    return lambda labels: all(check(labels) for check in checks)


def _field(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_equals(path: str, value: str, *, negate: bool) -> Predicate:
    return lambda obj: (_field(obj, path) == value) != negate


def field_matcher(selector: str | None) -> Predicate:
    """A predicate over an object for `metadata.name=x,status.phase!=Running`."""
    if not selector or not selector.strip():
        return lambda obj: True
    checks: list[Predicate] = []
    for term in _split_terms(selector):
        eq = _EQ_EXPR.match(term)
        if not eq:
            raise SelectorError(f"cannot parse field selector term {term.strip()!r}")
        path, op, value = eq.groups()
        checks.append(_field_equals(path, value, negate=op == "!="))
    return lambda obj: all(check(obj) for check in checks)


def selector_from_match_labels(match: Mapping[str, str] | None) -> str:
    """`{"app": "web"}` -> `app=web` (sorted, stable)."""
    return ",".join(f"{k}={v}" for k, v in sorted((match or {}).items()))


def matches_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether `labels` match a LabelSelector object (`matchLabels` + `matchExpressions`).

    An empty selector matches everything, like the API server's; a missing one matches nothing.
    """
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
