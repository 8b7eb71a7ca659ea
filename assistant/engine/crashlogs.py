"""What a crashed container's log says: the line a signature recognises, the application's
own stack frame, a traceback's exception line, the dependency it talks to. Previous log first
(the crash), then the current one."""

from __future__ import annotations

import re
from collections.abc import Iterator

from knowledge import SignatureMatch, best_match, match_line, seconding
from tools import Obj
from tools.logs import LogExcerpt, is_error_line
from tools.summaries import meta

from .view import ClusterView


def excerpts(view: ClusterView, pod: Obj, container: str) -> Iterator[LogExcerpt]:
    """The container's previous log (the crash), then its current one, where readable."""
    namespace, name = meta(pod).get("namespace", ""), meta(pod)["name"]
    for previous in (True, False):
        log = view.log(namespace, name, container, previous)
        if log is not None:
            yield log


def log_cause(view: ClusterView, pod: Obj, container: str) -> SignatureMatch | None:
    for log in excerpts(view, pod, container):
        lines = [line.text for line in log.errors] + [line.text for line in log.tail[-5:]]
        found = best_match(lines)
        if found:
            return found
    return None


def seconding_line(view: ClusterView, pod: Obj, container: str,
                   cause: SignatureMatch) -> SignatureMatch | None:
    """`knowledge.seconding` over the log that `cause` came from."""
    for log in excerpts(view, pod, container):
        lines = [line.text for line in log.errors] + [line.text for line in log.tail[-5:]]
        if cause.line in lines:
            return seconding(cause, [m for m in map(match_line, lines) if m is not None])
    return None


_FRAME = re.compile(r"^\s+at ((?:[\w$]+\.)+[\w$<>]+\([\w.]+:\d+\))|"
                    r'^\s*File "([^"]+)", line (\d+), in (\S+)')
_LIBRARY_FRAME = re.compile(r"^(?:java\.|javax\.|jdk\.|sun\.|kotlin\.|scala\.|"
                            r"org\.springframework\.|org\.apache\.|io\.netty\.)")
_SHORT_FIELD = re.compile(r"^\s*[\w ]{1,24}:\s*\S{0,16}\s*$")  # "Error Code : 0"
_TRACEBACK = "Traceback (most recent call last):"


def _log_lines(view: ClusterView, pod: Obj, container: str) -> list[str]:
    """The error and last lines of the previous log (the crash), else the current one."""
    for log in excerpts(view, pod, container):
        if log.total_lines:
            kept = {line.number: line.text for line in [*log.errors, *log.tail]}
            return [kept[number] for number in sorted(kept)]
    return []


def frame_after(view: ClusterView, pod: Obj, container: str, line: str) -> str | None:
    """The application's own stack frame nearest below the exception `line`."""
    lines = _log_lines(view, pod, container)
    start = lines.index(line) + 1 if line in lines else 0
    python: str | None = None
    for text in lines[start:]:
        found = _FRAME.match(text)
        if found and found.group(1) and not _LIBRARY_FRAME.match(found.group(1)):
            return found.group(1)
        if found and found.group(2) and "site-packages" not in found.group(2):
            python = f"{found.group(4)} ({found.group(2)}:{found.group(3)})"
        if python and not found and not text.startswith((" ", "\t")):
            break
    return python


def telling_lines(view: ClusterView, pod: Obj, container: str) -> list[str]:
    """What an unrecognised failure says: a traceback's exception line, else the last errors."""
    lines = _log_lines(view, pod, container)
    if _TRACEBACK in lines:
        after = lines[len(lines) - 1 - lines[::-1].index(_TRACEBACK):]
        final = [t for t in after[1:] if t.strip() and not t.startswith((" ", "\t"))]
        if final:
            return [final[0].strip()]
    errors = [t.strip() for t in lines
              if is_error_line(t) and not _FRAME.match(t) and not _SHORT_FIELD.match(t)]
    if not errors:  # no line says "error": a failed run's last words are its reason
        return [t.strip() for t in lines if t.strip() and not _FRAME.match(t)][-2:]
    said = errors[-2:]
    record = _record_of(view, pod, container, said[-1])
    if record:  # one error told over indented lines: the record, whole, is what it says
        return [record]
    detail = _detail_after(view, pod, container, said[-1])
    return [*said, *detail]


RECORD_CHARS = 320  # a folded record longer than this is cut: its head says what failed


def _record_of(view: ClusterView, pod: Obj, container: str, error: str) -> str | None:
    """An error logged as one record over indented lines (Vault's "error authenticating:"
    then `| Code: 403. Errors: | * service account name not authorized`), folded into one
    line from its unindented head to its last indented line; None when `error` is no part
    of such a record."""
    for log in excerpts(view, pod, container):
        kept = {line.number: line.text for line in log.tail}
        at = next((n for n, t in kept.items() if t.strip() == error), None)
        if at is None:
            continue
        start = at
        while start - 1 in kept and _indented(kept[start]) and kept[start - 1].strip():
            start -= 1
        end = at
        while end + 1 in kept and _indented(kept[end + 1]):
            end += 1
        body = [kept[n].strip().lstrip("|*- ").strip() for n in range(start + 1, end + 1)]
        if _indented(kept[start]) or len(body) < 2 or any(_FRAME.match(kept[n])
                                                          for n in range(start, end + 1)):
            return None
        folded = " ".join([kept[start].strip(), *(b for b in body if b)])
        return folded if len(folded) <= RECORD_CHARS else folded[:RECORD_CHARS] + " [...]"
    return None


def _indented(text: str) -> bool:
    return text[:1] in (" ", "\t") and bool(text.strip())


_NEW_RECORD = re.compile(r"^\s*(?:\d{4}-\d\d-\d\d|\d\d:\d\d|\[|\{|[IWEF]\d{4}|"
                         r"(?:INFO|DEBUG|WARN|WARNING|TRACE|NOTICE)\b|level=|ts=|time=)")
DETAIL_LINES = 2  # the lines a tool prints under its error, before the next record


def _detail_after(view: ClusterView, pod: Obj, container: str, error: str) -> list[str]:
    """The plain lines right under an error line that belong to it, as a person reads them:
    a CLI's explanation ("Migration checksum mismatch for migration version 42"), not the next
    timestamped record, a stack frame or a blank line."""
    for log in excerpts(view, pod, container):
        kept = {line.number: line.text for line in [*log.head, *log.errors, *log.tail]}
        at = next((n for n, t in kept.items() if t.strip() == error), None)
        if at is None:
            continue
        detail = []
        for number in range(at + 1, at + 1 + DETAIL_LINES):
            text = kept.get(number, "")
            if not text.strip() or _NEW_RECORD.match(text) or _FRAME.match(text) or \
                    is_error_line(text):
                break
            detail.append(text.strip())
        return detail
    return []


_HOST_IN_LOG = re.compile(r"([a-z0-9-]+(?:\.[a-z0-9-]+)*\.svc(?:\.cluster\.local)?(?::\d+)?)")
URL = re.compile(r"https?://([\w.-]+)")
_HOST_QUOTED = re.compile(r'host "([\w.-]+)"')
_PORT = re.compile(r"\bport (\d+)")


_LOCAL = re.compile(r"^(?:0\.0\.0\.0|127\.|localhost\b|\[?::)")


def server_in_log(view: ClusterView, pod: Obj, container: str) -> str | None:
    """The host of the last URL a log calls that is not the app itself (the storage account
    `https://stinvoices.blob.core.windows.net/...` whose answer is a refusal)."""
    for log in excerpts(view, pod, container):
        hosts = [m.group(1) for line in [*log.head, *log.errors, *log.tail]
                 for m in URL.finditer(line.text) if not _LOCAL.match(m.group(1))]
        if hosts:
            return hosts[-1]
    return None


def dependency_in_log(view: ClusterView, pod: Obj, container: str) -> str | None:
    """host[:port] of the dependency a log talks about, when the failing line does not say."""
    for log in excerpts(view, pod, container):
        lines = [line.text for line in [*log.errors, *log.head, *log.tail]]
        text = "\n".join(lines)
        quoted, port = _HOST_QUOTED.search(text), _PORT.search(text)
        if quoted:
            return quoted.group(1) + (f":{port.group(1)}" if port else "")
        found: list[str] = [m for line in lines for m in _HOST_IN_LOG.findall(line)]
        if found:
            with_port = [f for f in found if ":" in f]
            return (with_port or found)[-1]
    return None


# a line announcing environment variables the app needs, a list of their names below it
# ("Mastodon now requires that these variables are set:", "missing required env vars:")
_REQUIRES_VARS = re.compile(
    r"(?=[^\n]*\b(?:requires?|required|must|needs?|missing|not set|unset|undefined)\b)"
    r"[^\n]*\b(?:variables?|env(?:ironment)?(?: vars?)?|settings)\b[^\n]{0,80}:\s*$",
    re.IGNORECASE)
_LISTED_VAR = re.compile(r"^\s*(?:[-*•]\s*)?((?-i:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+))\s*[,;.]?\s*$")
LISTED_VARS = 16  # names read below such a line


def required_vars(view: ClusterView, pod: Obj, container: str) -> list[str]:
    """The environment variables a log lists under a line that says they must be set
    ("Mastodon now requires that these variables are set:" over
    "- ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"), less those the container sets itself."""
    spec: Obj = next((c for c in (pod.get("spec") or {}).get("containers") or []
                 if c.get("name") == container), {})
    own = {e.get("name") for e in spec.get("env") or []}
    for log in excerpts(view, pod, container):
        kept = {line.number: line.text for line in [*log.head, *log.errors, *log.tail]}
        for number in sorted(kept):
            if not _REQUIRES_VARS.search(kept[number]):
                continue
            listed: list[str] = []
            for below in range(number + 1, number + 1 + LISTED_VARS):
                text = kept.get(below)
                if text is None or (not text.strip() and listed):
                    break
                found = _LISTED_VAR.match(text)
                if text.strip() and found is None:
                    break
                if found and found.group(1) not in own:
                    listed.append(found.group(1))
            if listed:
                return listed
    return []
