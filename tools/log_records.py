"""Log records a container runtime split, joined again before they are judged: the CRI format's
partial records (`<time> stdout P <part>` ... `<time> stdout F <last part>`) and docker
json-file's (`{"log":"<part>"}` with no trailing newline, then the rest). A key in one part and
its value in the next would otherwise each look harmless.

A joined record is written once, where its last part was; a run of partial records is bounded
(`_MAX_PARTS`, `_MAX_CHARS`) and written as it stands past that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

_CRI = re.compile(r"(?P<head>\S{10,40} (?P<stream>stdout|stderr) )(?P<tag>[PF])(?: (?P<body>.*))?$",
                  re.DOTALL)
_DOCKER = '{"log":'
_MAX_PARTS = 64
_MAX_CHARS = 1 << 16


def join_partial_records(lines: Iterable[str]) -> Iterator[str]:
    """`lines` with each run of partial runtime records joined into its full record."""
    run = _Run()
    for line in lines:
        cri = _CRI.match(line) if " P " in line or " F " in line or line.endswith(" P") else None
        docker = _docker_record(line) if line.startswith(_DOCKER) else None
        if run.parts and not (cri and cri.group("stream") == run.stream) and not (
                docker and not run.stream):
            yield run.flush()  # the run ended without its last part
        if cri is not None:
            body = cri.group("body") or ""
            if cri.group("tag") == "P" and run.fits(body):
                run.add(body, cri.group("stream"), cri.group("head") + "P ")
                continue
            if run.parts:
                run.add(body, cri.group("stream"), cri.group("head") + "F ")
                yield run.flush()
                continue
        elif docker is not None:
            text, record = docker
            if not text.endswith("\n") and run.fits(text):
                run.add(text, "", "", record)
                continue
            if run.parts:
                run.add(text, "", "", record)
                yield run.flush()
                continue
        yield line
    if run.parts:
        yield run.flush()


class _Run:
    """Partial records read so far: their bodies, their stream (CRI) or last record (docker)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.stream = ""
        self.head = ""
        self.record: dict[str, object] = {}
        self.size = 0

    def fits(self, body: str) -> bool:
        return self.size + len(body) < _MAX_CHARS and len(self.parts) < _MAX_PARTS

    def add(self, body: str, stream: str, head: str, record: dict[str, object] | None = None
            ) -> None:
        self.parts.append(body)
        self.size += len(body)
        self.stream, self.head, self.record = stream, head, record or {}

    def flush(self) -> str:
        body = "".join(self.parts)
        if self.stream:
            line = self.head + body
        else:
            line = json.dumps({**self.record, "log": body}, separators=(",", ":"),
                              ensure_ascii=False)
        self.parts, self.size, self.stream = [], 0, ""
        return line


def _docker_record(line: str) -> tuple[str, dict[str, object]] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("log"), str):
        return None
    return record["log"], record
