"""Bounded log reading: error lines first, then head and tail, whatever the log's size.

A 100 MB log is streamed once through fixed-size buffers: repeated error lines fold into one
with a count, and the excerpt says plainly what was cut.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from pydantic import BaseModel

_ERROR = re.compile(
    r"\b(error|err|fatal|panic|exception|traceback|failed|failure|refused|denied|unauthorized|"
    r"forbidden|timeout|timed out|cannot|can't|could not|unable|not found|no such|x509|oom|"
    r"killed|segfault|critical|crit|severe|unreachable|expired|invalid|slow|warn|warning|deadline|"
    r"retry(?:ing)?|read-only|no space|sqlstate|\w+exception|\w+error(?:detail)?)\b|"
    r"^\s+at \S+\(|"
    r"^\s*file \".*\", line \d+",
)  # matched against the lowered line: twice as fast as re.IGNORECASE on a 100 MB log
_VARIABLE = re.compile(r"\d+|0x[0-9a-f]+|[0-9a-f]{8,}", re.IGNORECASE)
_TIMESTAMP = re.compile(r"^\S*\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*\s*")


class LogLine(BaseModel):
    number: int  # 1-based line number in the log
    text: str
    repeats: int = 1  # how many lines had this shape (numbers and ids folded)
    last: int = 0  # the line number of the last line of this shape (0: the first is the last)
    context: list[str] = []  # the lines that continue it (a DETAIL or STATEMENT, a stack frame)


class LogExcerpt(BaseModel):
    errors: list[LogLine]  # distinct error-like lines, in order of first appearance
    head: list[LogLine]
    tail: list[LogLine]
    total_lines: int
    total_bytes: int
    truncated: bool  # the scan stopped at the byte limit
    cut: str  # what was left out, in words

    def render(self, budget: int) -> str:
        """A compact text form no longer than `budget` characters: errors, then the tail."""
        parts = [self.cut]
        if self.errors:
            parts.append("error lines:")
            parts += [_fmt(line) for line in self.errors]
        if self.head and self.total_lines > len(self.tail):
            parts.append("first lines:")
            parts += [_fmt(line) for line in self.head]
        if self.tail:
            parts.append("last lines:")
            parts += [_fmt(line) for line in self.tail]
        return fit("\n".join(parts), budget)


def _fmt(line: LogLine) -> str:
    repeat = f" (x{line.repeats})" if line.repeats > 1 else ""
    return f"  {line.number}: {line.text}{repeat}"


def fit(text: str, budget: int) -> str:
    """Cut `text` to `budget` characters, saying how much was cut."""
    if len(text) <= budget:
        return text
    keep = max(budget - 40, 0)
    return text[:keep] + f"\n... [{len(text) - keep} more characters cut]"


CONTEXT_LINES = 3  # continuation lines kept after the first line of each error shape
# A line that continues the one before: PostgreSQL's DETAIL/STATEMENT, a stack frame, a cause.
CONTINUATION = re.compile(r"\b(?:DETAIL|STATEMENT|HINT|CONTEXT|QUERY):\s|^\s+at\s|^Caused by:|"
                          r"^(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\b")  # a Java cause

# a stack frame ("\tat com.acme.Foo.bar(Foo.java:42)", "... 8 more"): context of the error above
# it, not an error of its own, so a long trace does not use up the distinct errors kept
FRAME = re.compile(r"\s+at\s|\s*\.\.\. \d+ more")


def is_error_line(line: str) -> bool:
    return bool(_ERROR.search(line.lower()))


def shape(line: str) -> str:
    """A line with its timestamp, numbers and ids folded, for de-duplication."""
    return _VARIABLE.sub("#", _TIMESTAMP.sub("", line)).strip()


_DEEPER = re.compile(r"Caused by: ([^\n\\]{1,240})|\"(?:message|msg|error|reason|code)\"\s*:\s*"
                     r"\"([^\"\\]{1,240})\"")


def _cut(raw: str, limit: int) -> str:
    """A long line's first `limit` characters, the deepest cause past them, and its end: a Java
    stack trace logged as one JSON field tells its real cause last (`Caused by:`), a JSON error
    its nested `cause` (`"message":"unable to get local issuer certificate"`, `"code":...`), a
    Go error chain its innermost one at the end (`...: dial tcp 10.0.0.4:9000: i/o timeout`)."""
    told = list(dict.fromkeys(a or b for a, b in _DEEPER.findall(raw, limit)))[-4:]
    end = raw[max(limit, len(raw) - _END_CHARS):]
    end = end if end not in told else ""
    return raw[:limit] + " [...]" + "".join(f" {t} [...]" for t in told) + (
        f" {end.lstrip()}" if end.strip() else "")


_END_CHARS = 160  # of a cut line, the end kept: where a Go error chain names the innermost cause


def excerpt(
    lines: Iterable[str],
    *,
    max_errors: int = 30,
    head: int = 5,
    tail: int = 25,
    max_line_chars: int = 500,
    max_scan_bytes: int = 512 * 1024 * 1024,
) -> LogExcerpt:
    """Scan `lines` once, in memory bounded by the limits, keeping what explains a failure."""
    errors: dict[str, LogLine] = {}
    extra_error_shapes = 0
    first: list[tuple[int, str]] = []  # plain tuples while scanning: a model per line is slow
    last: deque[tuple[int, str]] = deque(maxlen=tail)
    total_lines = total_bytes = 0
    truncated = False
    opened: LogLine | None = None  # the error line whose continuation lines are being kept
    for number, raw in enumerate(lines, start=1):
        total_lines = number
        total_bytes += len(raw) + 1
        text = raw if len(raw) <= max_line_chars else _cut(raw, max_line_chars)
        if len(first) < head:
            first.append((number, text))
        last.append((number, text))
        continues = opened is not None and CONTINUATION.search(raw) is not None
        if opened is not None and continues and len(opened.context) < CONTEXT_LINES:
            opened.context.append(text)
        elif not continues:
            opened = None
        if is_error_line(raw) and not (continues and FRAME.match(raw)):
            key = shape(text)
            if key in errors:
                errors[key].repeats += 1
                errors[key].last = number
                opened = opened if continues else errors[key]  # its trace follows again
            elif len(errors) < max_errors:
                errors[key] = LogLine(number=number, text=text)
                opened = opened if continues else errors[key]
            else:
                extra_error_shapes += 1
        if total_bytes >= max_scan_bytes:
            truncated = True
            break
    tail_lines = [LogLine(number=n, text=t) for n, t in last]
    head_lines = [LogLine(number=n, text=t) for n, t in first
                  if not tail_lines or n < tail_lines[0].number]
    kept = len(head_lines) + len(tail_lines)
    folded = sum(line.repeats - 1 for line in errors.values())
    words = [f"{total_lines} lines ({total_bytes} bytes)"]
    if total_lines == 0:
        words = ["the log is empty"]
    elif kept < total_lines:
        words.append(
            f"showing {len(errors)} distinct error lines, the first {len(head_lines)} "
            f"and the last {len(tail_lines)} lines"
        )
    if folded:
        words.append(f"{folded} repeated error lines folded")
    if extra_error_shapes:
        words.append(f"{extra_error_shapes} further error lines not shown")
    if truncated:
        words.append(f"scan stopped after {max_scan_bytes} bytes")
    return LogExcerpt(
        errors=list(errors.values()), head=head_lines, tail=tail_lines,
        total_lines=total_lines, total_bytes=total_bytes, truncated=truncated,
        cut="; ".join(words),
    )
