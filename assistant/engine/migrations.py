"""A crash on a schema the database does not have (a column, a table) while the Job that
migrates that schema failed: the Job is the cause, and its log says why the change did not
apply (a lock, a conflicting type, a column dropped earlier). A migration tool that only says
the database is dirty (golang-migrate's "Dirty database version 27") is explained by the
database's own log, whose error names that migration."""

from __future__ import annotations

import re

from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .crashlogs import excerpts
from .pod_issues import pod_ref
from .servers import set_cause
from .speakers import runs
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


_DIRTY = re.compile(r"Dirty database version (\d+)|Detected failed migration to version ([\w.]+)")
_DATABASES = ("postgres", "postgresql", "mysql", "mariadb", "percona-server")
_LEVEL_ERROR = re.compile(r"\b(?:ERROR|FATAL)\b")
MAX_DATABASE_PODS = 6


def dirty_migration(view: ClusterView, findings: list[Finding]) -> None:
    """A migration that left the database dirty, explained by the database's log: the error a
    database in the cluster logged for the statement that names that migration ("-- 000027:
    ..." under "ERROR: CREATE INDEX CONCURRENTLY cannot run inside a transaction block")."""
    for finding in findings:
        if finding.category not in ("init_container", "job_failed"):
            continue
        dirty = next((m for m in (_DIRTY.search(t) for t in [
            finding.explanation, *(e.detail for e in finding.evidence)]) if m), None)
        if dirty is None:
            continue
        version = next(g for g in dirty.groups() if g)
        said = _database_error(view, version)
        if said is not None:
            where, line = said
            finding.explanation += (f"; the database's log ({where}) says why migration "
                                    f"{version} failed: {line}")
            finding.evidence.append(Evidence(source="log", object=where, detail=line))


def _database_error(view: ClusterView, version: str) -> tuple[str, str] | None:
    """(the database pod, its error line) for the statement that names the migration."""
    bare = re.escape(version.lstrip("0") or "0")  # "-- 000027:", "000027_add", "V27__",
    named = re.compile(rf"\b0+{bare}(?:_|\b)|\b(?:version|migration)\s+{bare}\b|"  # "version
                       rf"\bV{bare}__|--\s*{bare}\b", re.IGNORECASE)  # 27", never a pid's [27]
    pods = [p for p in view.everywhere("Pod") if any(runs(p, d) for d in _DATABASES)]
    for pod in pods[:MAX_DATABASE_PODS]:
        for container in (pod.get("spec") or {}).get("containers") or []:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            for line in log.errors if log is not None else []:
                if _LEVEL_ERROR.search(line.text) and any(
                        named.search(text) for text in [line.text, *line.context]):
                    return pod_ref(pod), line.text.strip()[:300]
    return None
