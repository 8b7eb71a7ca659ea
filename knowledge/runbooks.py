"""Runbooks as data: Markdown files with optional front matter, split into sections.

A runbook is a Markdown file. Front matter (between `---` lines) is optional:

    ---
    title: "OOMKilled (exit code 137): container exceeds its memory limit"
    applies_to:
      categories: [oom_killed]          # ids from knowledge/categories.yaml
      reasons: [OOMKilled, CrashLoopBackOff]
      kinds: [Pod, Deployment]
    severity: high
    ---

Each `## ` heading starts a section (the text before the first one is "Overview"). Broken front
matter is not fatal: the file is read as plain Markdown and a warning names it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import SourceMissing

OVERVIEW = "Overview"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_FENCE = re.compile(r"^\s*(```|~~~)")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML has it: ten times faster on a library's front matter."""


@dataclass(frozen=True)
class Section:
    heading: str
    text: str  # the body, without the heading line


@dataclass(frozen=True)
class Runbook:
    path: str  # what citations show: "knowledge/runbooks/x.md" or the file under a team dir
    title: str
    digest: str  # sha256 of the file's bytes: unchanged files are not re-embedded
    sections: tuple[Section, ...]
    categories: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    severity: str = ""


@dataclass
class Library:
    """The runbooks read from a set of directories, and what was odd about them."""

    runbooks: list[Runbook] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@cache
def categories() -> dict[str, str]:
    """The engine's root-cause categories (knowledge/categories.yaml): id -> description."""
    text = resources.files("knowledge").joinpath("categories.yaml").read_text(encoding="utf-8")
    return {str(k): str(v) for k, v in (yaml.safe_load(text) or {}).items()}


def bundled_dir() -> Path:
    """The runbooks shipped with the project."""
    return Path(str(resources.files("knowledge").joinpath("runbooks")))


def read_library(directories: Sequence[Path], *, bundled: bool = True) -> Library:
    """Every `*.md` file under the bundled runbooks (if `bundled`) and `directories`."""
    library = Library()
    sources = [(bundled_dir(), "knowledge/runbooks")] if bundled else []
    for directory in directories:
        expanded = directory.expanduser()
        if not expanded.is_dir():
            raise SourceMissing(f"runbooks directory {directory} does not exist or is not a "
                                f"directory; fix SRE_KNOWLEDGE__RUNBOOKS_DIRS")
        sources.append((expanded, str(expanded)))
    seen: set[str] = set()
    for root, shown in sources:
        for file in sorted(root.rglob("*.md")):
            path = f"{shown}/{file.relative_to(root).as_posix()}"
            if path in seen:
                continue
            seen.add(path)
            library.runbooks.append(parse(path, file.read_bytes(), library.warnings))
    return library


def parse(path: str, data: bytes, warnings: list[str]) -> Runbook:
    """One runbook from a file's bytes; problems are appended to `warnings`, never raised."""
    text = data.decode("utf-8", errors="replace")
    meta: dict[str, Any] = {}
    found = _FRONT_MATTER.match(text)
    if found:
        text = text[found.end():]
        meta = _front_matter(path, found.group(1), warnings)
    applies = meta.get("applies_to")
    applies = applies if isinstance(applies, dict) else {}
    sections = split_sections(text)
    title = _text(meta.get("title")) or _first_heading(text) or Path(path).stem
    return Runbook(
        path=path, title=title, digest=hashlib.sha256(data).hexdigest(), sections=sections,
        categories=_names(applies.get("categories")), reasons=_names(applies.get("reasons")),
        kinds=_names(applies.get("kinds")), severity=_text(meta.get("severity")))


def split_sections(text: str) -> tuple[Section, ...]:
    """Sections at `## ` headings outside code fences; the intro (minus `# title`) first."""
    heading, lines, sections = OVERVIEW, list[str](), list[Section]()
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append(Section(heading, "\n".join(lines).strip()))
            heading, lines = line[3:].strip(), []
        elif not fenced and heading == OVERVIEW and line.startswith("# "):
            continue
        else:
            lines.append(line)
    sections.append(Section(heading, "\n".join(lines).strip()))
    return tuple(s for s in sections if s.text)


def _front_matter(path: str, block: str, warnings: list[str]) -> dict[str, Any]:
    try:
        meta = yaml.load(block, Loader=_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        warnings.append(f"{path}: front matter is not valid YAML{where}; indexed as plain "
                        f"Markdown")
        return {}
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        warnings.append(f"{path}: front matter is not a mapping; indexed as plain Markdown")
        return {}
    return meta


def _first_heading(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value if v is not None and str(v))
    return ()
