"""Objects a reader cannot find in a bucket because the workload that writes them fails: the
portal's NoSuchKey for invoices/2026/11/INV-118734.pdf, and the renderer, configured with the
same bucket, refused on every PutObject. The writer is found by its configuration (an env
value that is the bucket's name), wherever it runs."""

from __future__ import annotations

import re

from tools import Obj
from tools.summaries import meta

from ..diagnosis import Finding
from .view import ClusterView
from .workloads import workload_ref

# an object store's answer that the object is not there (S3, MinIO, GCS, Azure Blob)
_MISSING_OBJECT = re.compile(r"\bNoSuchKey\b|The specified key does not exist|\bBlobNotFound\b|"
                             r"No such object: ", re.IGNORECASE)
_BUCKET = re.compile(r"\"?\b(?:bucket|BucketName|bucket_name|container)\"?\s*[:=]\s*\"?"
                     r"([a-z0-9][a-z0-9.-]{1,62})|\b(?:s3|gs)://([a-z0-9][a-z0-9.-]{1,62})/")
MAX_READERS = 6


def missing_objects(view: ClusterView, readers: list[Obj]) -> set[str]:
    """The buckets the readers' logs say an object is missing from."""
    found: set[str] = set()
    for pod in readers[:MAX_READERS]:
        for container in (pod.get("spec") or {}).get("containers") or []:
            log = view.log(meta(pod).get("namespace", ""), meta(pod)["name"],
                           container.get("name", ""), False)
            for line in [*log.errors, *log.tail] if log is not None else []:
                if _MISSING_OBJECT.search(line.text) and (named := _BUCKET.search(line.text)):
                    found.add(next(g for g in named.groups() if g))
    return found


def writers(view: ClusterView, buckets: set[str], readers: list[Obj]) -> dict[str, str]:
    """{workload: bucket} of the other workloads configured with one of these buckets (an env
    value that is its name, or an s3:// URL in it); their namespaces join the view."""
    names = {(meta(p).get("namespace"), meta(p)["name"]) for p in readers}
    found: list[tuple[Obj, str]] = []
    for pod in view.everywhere("Pod") if buckets else []:
        if (meta(pod).get("namespace"), meta(pod)["name"]) in names:
            continue
        values = [str(env.get("value") or "") for container in (pod.get("spec") or {}).get(
            "containers") or [] for env in container.get("env") or [] if isinstance(env, dict)]
        bucket = next((b for b in sorted(buckets) for value in values
                       if value == b or f"://{b}/" in f"{value}/"), None)
        if bucket is not None:
            found.append((pod, bucket))
    view.widen(sorted({meta(p).get("namespace") or "" for p, _ in found}))
    readers_of = {workload_ref(view, p) for p in readers}
    return {ref: bucket for pod, bucket in found
            if (ref := workload_ref(view, pod)) not in readers_of}


def writer_pods(view: ClusterView, refs: dict[str, str]) -> list[Obj]:
    """One pod of each writing workload, whose log says why the objects are missing."""
    seen: set[str] = set()
    pods = []
    for pod in view.items("Pod"):
        ref = workload_ref(view, pod)
        if ref in refs and ref not in seen:
            seen.add(ref)
            pods.append(pod)
    return pods


def link_writers(findings: list[Finding], refs: dict[str, str], reader: str | None) -> None:
    """The writer's failure explains the reader's missing objects (in place)."""
    for finding in findings:
        bucket = refs.get(finding.object)
        if bucket is None or finding.facts.get("writes"):
            continue
        finding.facts["writes"] = bucket
        if reader is not None and reader not in finding.related:
            finding.related.append(reader)
        finding.explanation += (f"; it writes the objects of bucket {bucket}, which "
                                f"{'the reader' if reader is None else reader} finds missing "
                                "(NoSuchKey)")
