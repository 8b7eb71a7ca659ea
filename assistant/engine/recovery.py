"""Whether an error a log shows is history: the app said it recovered, logged on without an
error for long after it, or the error was a one-off long before a failure that goes on. An
answer built on an error that is over sends the on-call person after a problem that is gone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from knowledge import SignatureMatch, match_line
from tools.logs import FRAME, LogExcerpt, LogLine, is_error_line

RECOVERED = re.compile(r"\b(?:re-?connected|recovered|restored|back (?:up|online)|"
                        r"connection created|(?:job|task|build|run|upload|sync) succeeded|"
                        r"connection (?:re-?)?established|healthy again|connected to|"
                        r"succeeded (?:at|after) (?:retry|attempt)|ready to accept connections|"
                        r"(?:status|health)\b[^\n]{0,40}\bGREEN\b|node-join|"
                        r"joined the cluster|"
                        r"(?:created|updated|saved|sent|written|completed|done) after "
                        r"(?:\d+ )?(?:retry|retries|attempts?)|"
                        r"authenticat\w* successful|success(?:ful(?:ly)?)? (?:re-?)?\w+|renewed|"
                        r"resumed|rejoined|pipelining replication|caught up|back in sync)\b",
                        re.IGNORECASE)
NEAR_LINES = 25  # a cause printed under a record (a stack's "Caused by") belongs to it
# a line saying the failure is final until someone acts: Kafka Connect kills the task
GAVE_UP = re.compile(r"will not recover until|unrecoverable|giving up|gave up|"
                     r"permanently failed|will not be retried", re.IGNORECASE)


def over(line: LogLine, log: LogExcerpt) -> bool:
    """Whether an error line is history: after it (and after any error that followed), the
    app says it recovered ("reconnected"), runs on for a whole tail without an error, or logs
    on without one for CLEAN_MINUTES; never when it said right after that it gave up."""
    last = line.last or line.number
    after = [t for t in log.tail if t.number > last]
    if any(GAVE_UP.search(t.text) for t in [*log.errors, *log.tail]
           if line.number - NEAR_LINES <= t.number <= last + NEAR_LINES):
        return False  # "Task is being killed and will not recover until manually restarted"
    # (above the line too: the record a stack trace's "Caused by:" belongs to)
    if _recovered_for_good(line, after):
        return True
    later = [t.number for t in after if is_error_line(t.text) and not FRAME.match(t.text)
             and not (RECOVERED.search(t.text) and not ERROR_LEVEL.search(t.text))]
    # ("order created after retry" is no error; an ERROR "... last packet successfully
    # received" is one; the stack frames under the line are the same error)
    clean = [t for t in after if (not later or t.number > max(later))
             and not FRAME.match(t.text)]
    if len(clean) >= 2 and _minutes_between(clean[0].text, clean[-1].text) >= CLEAN_MINUTES:
        return True  # it logged on without an error for long after the last one
    if not later and line.repeats == 1 and clean and _minutes_between(
            line.text, clean[-1].text) >= CLEAN_MINUTES:
        return True  # a one-off, and the app logged on without another long after it
    if not later and clean and _start_up_race(line, log):
        return True
    if later:  # more errors came: history only if the app says it recovered after the last
        return any(RECOVERED.search(t.text) for t in clean)
    if not after:
        return False
    return any(RECOVERED.search(t.text) for t in after) or (
        len(log.tail) >= 10 and last < log.tail[0].number)


def _start_up_race(line: LogLine, log: LogExcerpt) -> bool:
    """A call to the pod's own loopback refused once in the first seconds of the container's
    log, with no error after it: a sidecar that called the app before it listened
    (config-reloader's first reload of Alertmanager)."""
    first = min([*log.head, *log.tail], key=lambda t: t.number, default=None)
    return line.repeats == 1 and _LOOPBACK_REFUSED.search(line.text) is not None and \
        first is not None and 0 <= _minutes_between(first.text, line.text) * 60 <= \
        START_UP_SECONDS and logged_at(first.text) is not None


_LOOPBACK_REFUSED = re.compile(  # (urllib3 writes `host='localhost', port=3000)` apart)
    r"(?:127\.0\.0\.1|localhost|\[::1\])(?::|'?,? port=)\d+[^\n]{0,300}?refused", re.IGNORECASE)
START_UP_SECONDS = 30  # an error this soon after a container's first line is part of its start


def _recovered_for_good(line: LogLine, after: list[LogLine]) -> bool:
    """The app said right after the error that it recovered (a Sentinel client's `new master`
    after a failover) and the error never came back: later warnings of another kind (the stale
    data the outage left) do not make it today's failure."""
    kind = match_line(line.text)
    near = [t for t in after if t.number <= (line.last or line.number) + NEAR_LINES]
    if kind is None or kind.signature.category != "dependency_unreachable" or not any(
            _RECONNECTED.search(t.text) and not ERROR_LEVEL.search(t.text) for t in near):
        return False
    return not any((again := match_line(t.text)) is not None
                   and again.signature.category == kind.signature.category for t in after)


_RECONNECTED = re.compile(r"\b(?:re-?connected|connection (?:re-?)?established|new master|"
                          r"switch-master|failover (?:complete|finished|succeeded))\b",
                          re.IGNORECASE)


# a line logged at error level, whatever words it holds
ERROR_LEVEL = re.compile(r"\b(?:ERROR|FATAL|CRITICAL|SEVERE|PANIC)\b|"
                         r"\"level\":\s*(?:50|60|\"(?:error|fatal|critical)\")|"
                         r"\blevel=(?:error|fatal|crit)", re.IGNORECASE)
CLEAN_MINUTES = 10  # an app that logs on without an error this long after one has recovered
_STAMP = re.compile(r"(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})")  # (Go: 2025/05/18)
_ACCESS_STAMP = re.compile(r"\[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})")  # CLF
_MONTHS = {m: n for n, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"), 1)}
_EPOCH = re.compile(r"\"(?:time|ts|timestamp)\"\s*:\s*(\d{10})(\d{3})?\b")  # pino, zap


def _minutes_between(first: str, last: str) -> float:
    """Minutes between the timestamps two log lines start with (an ISO time, or a JSON log's
    epoch "time":1796611629115); 0 when either has none."""
    seconds = [logged_at(text) for text in (first, last)]
    if seconds[0] is None or seconds[1] is None:
        return 0.0
    return (seconds[1] - seconds[0]) / 60


def logged_at(text: str) -> float | None:
    """The time a log line says it was written, in seconds since the epoch: an ISO time near
    its start, an access log's `[14/Mar/2026:03:52:37 +0000]`, or a JSON log's epoch."""
    stamp = _STAMP.search(text[:80])  # (a JSON log's "@timestamp" comes after a field or two)
    if stamp is not None:
        year, month, day, hour, minute, second = (int(part) for part in stamp.groups())
    elif (access := _ACCESS_STAMP.search(text[:120])) is not None:
        day, year, hour, minute, second = (int(access[i]) for i in (1, 3, 4, 5, 6))
        month = _MONTHS.get(access[2].lower(), 0)
    else:
        epoch = _EPOCH.search(text[:200])
        return float(epoch.group(1)) if epoch is not None else None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    except ValueError:
        return None


def recurring(found: tuple[SignatureMatch, LogLine], best: tuple[SignatureMatch, LogLine]) -> bool:
    """Of two failures of one kind, the one that goes on (later, and repeated more) is today's,
    not the one-off before it ("refused" at a failover, "timeout" ever since)."""
    return (found[0].signature.category == best[0].signature.category
            and (found[1].last or found[1].number) > (best[1].last or best[1].number)
            and found[1].repeats > best[1].repeats)


def superseded(once: LogLine, since: LogLine) -> bool:
    """A one-off error long before a failure that has recurred ever since is history, whatever
    its kind: Grafana's lookup of grafana.com at start-up, days before every login times out."""
    started = (logged_at(once.text), logged_at(since.text))
    return (once.repeats == 1 and since.repeats >= 3 and since.number > once.number
            and started[0] is not None and started[1] is not None
            and (started[1] - started[0]) / 60 >= CLEAN_MINUTES)
