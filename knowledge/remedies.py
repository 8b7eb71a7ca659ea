"""Proposed remediations: data (remedies.yaml) that turns a root cause and its facts into steps
a human applies. Nothing is executed, and nothing from the cluster reaches a command unchecked:
a fact with characters a shell would interpret is written as `<fact>`.

    steps = remedies("oom_killed", {"target": "statefulset/postgres", "ns": "shop", ...})
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, cast

import yaml

Risk = Literal["low", "medium", "high"]
_SAFE = re.compile(r"^[\w./:@=,+-]+$")  # what may go into a command verbatim


@dataclass(frozen=True)
class RemedyStep:
    step: str
    command: str | None
    risk: Risk


@dataclass(frozen=True)
class _Template:
    step: str
    command: str | None
    risk: Risk
    when: tuple[tuple[str, str], ...]

    def applies(self, facts: dict[str, str]) -> bool:
        for key, wanted in self.when:
            value = facts.get(key, "")
            if (wanted == "*" and not value) or (wanted != "*" and value != wanted):
                return False
        return True


@cache
def _catalogue() -> dict[str, tuple[_Template, ...]]:
    text = resources.files("knowledge").joinpath("remedies.yaml").read_text(encoding="utf-8")
    return {
        category: tuple(
            _Template(step=e["step"], command=e.get("command"), risk=cast(Risk, e["risk"]),
                      when=tuple((k, str(v)) for k, v in (e.get("when") or {}).items()))
            for e in entries)
        for category, entries in yaml.safe_load(text).items()
    }


def remedies(category: str, facts: dict[str, str]) -> list[RemedyStep]:
    """The steps for a root-cause category, filled from `facts` (see remedies.yaml)."""
    catalogue = _catalogue()
    templates = catalogue.get(category) or catalogue["_default"]
    return [RemedyStep(step=_fill(t.step, facts, in_command=False),
                       command=_fill(t.command, facts, in_command=True) if t.command else None,
                       risk=t.risk)
            for t in templates if t.applies(facts)]


def _fill(template: str, facts: dict[str, str], *, in_command: bool) -> str:
    values: dict[str, str] = {}
    for _, field, _, _ in string.Formatter().parse(template):
        if not field:
            continue
        value = facts.get(field, "")
        if not value or (in_command and not _SAFE.match(value)):
            value = f"<{field}>"
        values[field] = value
    return template.format_map(values)
