"""Log signatures: data (signatures.yaml) that recognise a cause in a container's log line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Signature:
    id: str
    category: str
    priority: int
    pattern: re.Pattern[str]
    cause: str
    target: int | str | None  # the group holding a dependency's host[:port], or a template
    # of groups ("{0}:{1}" when the line names host and port apart)
    itself: bool = False  # the line says the logging workload is the slow or failing part
    unnamed: str | None = None  # the cause when none of the pattern's groups matched
    var: str | None = None  # missing_env: the env name the app reads, from the groups
    env: re.Pattern[str] | None = None  # the env names that hold the dependency it is about
    short_names: bool = False  # a bare name is a target too (a Service's short DNS name)
    speaker: str | None = None  # the software that says this to its clients (PgBouncer): when
    # the line names no host, the workload running its image is the dependency


@dataclass(frozen=True)
class SignatureMatch:
    signature: Signature
    line: str
    groups: tuple[str, ...]  # the non-empty groups, in order (the whole match when none)
    bare: bool = False  # no group of the pattern matched

    @property
    def cause(self) -> str:
        values = list(self.groups) + ["?"] * 4
        template = self.signature.unnamed if self.bare and self.signature.unnamed else \
            self.signature.cause
        text = template.format(*values)
        return text.replace(" (?)", "").replace(" ?", "")

    @property
    def variable(self) -> str:
        """The env variable a missing_env line is about (.NET's `Connection string 'X'` is
        read from `ConnectionStrings__X`)."""
        template = self.signature.var
        return template.format(*self.groups) if template else self.groups[0]

    @property
    def target(self) -> str | None:
        index = self.signature.target
        if isinstance(index, str):
            value = index.format(*self.groups, *["?"] * 4)
            return None if "?" in value or " " in value else value
        if index is None or index >= len(self.groups):
            return None
        value = self.groups[index]
        if self.signature.short_names and _SHORT_NAME.fullmatch(value):
            return value  # "getaddrinfo ENOTFOUND geoip": a Service name without its namespace
        return value if ("." in value or ":" in value) and " " not in value else None


_SHORT_NAME = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")


@cache
def signatures() -> tuple[Signature, ...]:
    """All signatures, highest priority first."""
    text = resources.files("knowledge").joinpath("signatures.yaml").read_text(encoding="utf-8")
    entries = yaml.safe_load(text)
    loaded = [
        Signature(id=e["id"], category=e["category"], priority=int(e["priority"]),
                  pattern=re.compile(e["pattern"], re.IGNORECASE | re.MULTILINE),
                  cause=e["cause"], target=e.get("target"), itself=bool(e.get("itself")),
                  unnamed=e.get("unnamed"), var=e.get("var"),
                  short_names=bool(e.get("short_names")), speaker=e.get("speaker"),
                  env=re.compile(e["env"], re.IGNORECASE) if e.get("env") else None)
        for e in entries
    ]
    return tuple(sorted(loaded, key=lambda s: -s.priority))


def match_line(line: str) -> SignatureMatch | None:
    """The highest-priority signature that recognises `line`, if any. A line of structured
    logging (JSON) is read with its escaped quotes unescaped, as the app wrote the message."""
    text = line.replace('\\"', '"') if '\\"' in line else line
    for signature in signatures():
        found = signature.pattern.search(text)
        if found:
            named = tuple(g for g in found.groups() if g)
            return SignatureMatch(signature, line, named or (found.group(0),), bare=not named)
    return None


_HOST = re.compile(r"\b(?:host|addr|server|upstream)=\S|\b[\w-]+(?:\.[\w-]+)+:\d{2,5}\b")


def _names_host(found: SignatureMatch) -> bool:
    """Whether a matched line says which dependency it is about (host:port, host=)."""
    return found.target is not None or _HOST.search(found.line) is not None


def seconding(best: SignatureMatch, matched: list[SignatureMatch]) -> SignatureMatch | None:
    """The last of `matched` that another signature recognises as the same kind of failure as
    `best`: the server's refusal (`AuthenticationFailed`) beside the specific reason (the
    signed token expired, the key signs differently), shown with it."""
    others = [m for m in matched if m.signature.category == best.signature.category
              and m.signature.id != best.signature.id and m.line != best.line]
    return others[-1] if others else None


def best_match(lines: list[str]) -> SignatureMatch | None:
    """The most telling match over several lines: highest priority, then one that names the
    dependency (host:port), then the latest line."""
    best: SignatureMatch | None = None
    for line in lines:
        found = match_line(line)
        if found and (best is None or found.signature.priority > best.signature.priority or (
                found.signature.priority == best.signature.priority
                and (_names_host(found) or not _names_host(best)))):
            best = found
    return best
