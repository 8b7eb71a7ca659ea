"""A crash on a schema the database does not have (a column, a table) while the Job that
migrates that schema failed: the Job is the cause, and its log says why the change did not
apply (a lock, a conflicting type, a column dropped earlier)."""

from __future__ import annotations

import re

from tools.refs import ObjectRef

from ..diagnosis import Finding
from .crashlogs import excerpts
from .servers import set_cause
from .view import ClusterView

_MISSING = re.compile(
    r"Undefined column name (\w+)|column \"?([\w.]+)\"? (?:of relation \S+ )?does not exist|"
    r"relation \"([\w.]+)\" does not exist|Unknown column '([\w.]+)'|"
    r"Table '([\w.]+)' doesn't exist|no such (?:table|column): ([\w.]+)|"
    r"unconfigured table (\w+)|Invalid (?:column|object) name '([\w.]+)'", re.IGNORECASE)


def failed_migration(view: ClusterView, findings: list[Finding]) -> None:
    """Hang a crash that names a missing column or table on the failed Job, in the same
    namespace, whose log names the same one (in place)."""
    jobs = [f for f in findings if f.category == "job_failed"]
    for crash in findings if jobs else []:
        if crash.category != "app_exception" or crash.caused_by is not None:
            continue
        missing = _missing(view, crash)
        if missing is None:
            continue
        name, line = missing
        namespace = ObjectRef.parse(crash.object).namespace
        job = next((j for j in jobs if ObjectRef.parse(j.object).namespace == namespace
                    and any(name in e.detail for e in j.evidence)), None)
        if job is not None:
            crash.explanation += (f"; it fails on {name}, which the schema Job "
                                  f"{ObjectRef.parse(job.object).name} did not create: {line}")
            set_cause(crash, job)


def _missing(view: ClusterView, crash: Finding) -> tuple[str, str] | None:
    """(the column or table the crashed container's log says is missing, its words)."""
    container = crash.facts.get("container")
    for ref in crash.related:
        pod = ObjectRef.parse(ref)
        found = view.find("Pod", pod.name, pod.namespace) if pod.kind == "Pod" else None
        for log in excerpts(view, found, container) if found and container else []:
            for text in (line.text for line in [*log.errors, *log.tail]):
                match = _MISSING.search(text)
                if match:
                    name = next(g for g in match.groups() if g).rsplit(".", 1)[-1]
                    return name, match.group(0)
    return None
