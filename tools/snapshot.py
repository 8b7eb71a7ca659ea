"""The snapshot backend: reads what `kubectl cluster-info dump -o json --output-directory` writes.

Layout (ARCHITECTURE.md, "The snapshot format"): `DIR/nodes.json`, `DIR/<ns>/<plural>.json`,
`DIR/<ns>/<pod>/logs.txt` with framed per-container logs, plus our extensions. A file that is
missing makes its kind unknown (`KindUnavailable`), never an error; an entry that is no regular
file (a dangling or looping link, a FIFO), a file that is not JSON, or whose objects do not
have the shape Kubernetes gives them (`shapes`), is a `SnapshotError` naming the file and the
field; so is a directory holding no list at all, and a file past `sizes.MAX_LIST_BYTES`
(refused before it is read) or `sizes.MAX_LIST_VALUES` (before it is parsed). Log lines past
16 KiB are cut, as the live reader cuts them; of a log file past 4 MiB (or 40,000 lines) its
first and last 2 MiB are read, and the container's lines start by saying what was not.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .errors import KindUnavailable, NotFound, SnapshotError
from .kinds import Kind, info
from .reading import Obj
from .selectors import field_matcher, label_matcher
from .shapes import shape_problem
from .sizes import MAX_LIST_BYTES, mib, read_at_most, too_many_values

_FRAME = re.compile(
    r"^==== (START|END) (previous )?logs for container (\S+) of pod ([^/\s]+)/(\S+) ====$"
)
LOG_FILE = "logs.txt"
PREVIOUS_LOG_FILE = "previous-logs.txt"
_UNREADABLE = "Request log error"
_MAX_LINE = 16 * 1024  # characters of one log line kept; the rest is cut
_CUT_END = 256  # characters kept from the end of a cut line


class SnapshotCluster:
    """Reads a snapshot directory; files are parsed once, on first use."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SnapshotError(str(root), "not a directory")
        if not any(child.suffix == ".json" or (child.is_dir() and any(child.glob("*.json")))
                   for child in root.iterdir()):
            raise SnapshotError(str(root), "holds no Kubernetes lists (*.json), at the top or in "
                                           "a namespace directory; `sre snapshot DIR` writes one")
        self.root = root
        self._cache: dict[Path, list[Obj]] = {}

    @property
    def source(self) -> str:
        return f"snapshot {self.root}"

    def close(self) -> None:
        self._cache.clear()

    def _load(self, path: Path) -> list[Obj]:
        if path not in self._cache:
            try:
                data = read_at_most(path, MAX_LIST_BYTES)
                if data is None:
                    raise SnapshotError(str(path), f"larger than {mib(MAX_LIST_BYTES)}, more than "
                                        "one Kubernetes list may hold")
                crowded = too_many_values(data)
                if crowded:
                    raise SnapshotError(str(path), crowded)
                doc = json.loads(data)
            except ValueError as e:
                raise SnapshotError(str(path), f"not valid JSON ({e})") from e
            except RecursionError as e:
                raise SnapshotError(str(path), "nested too deeply to be a Kubernetes list") from e
            except OSError as e:
                raise SnapshotError(str(path), f"cannot be read ({e.strerror})") from e
            if not isinstance(doc, dict) or not isinstance(doc.get("items") or [], list):
                raise SnapshotError(str(path), "not a Kubernetes list object")
            items: list[Obj] = doc.get("items") or []
            problem = shape_problem(items)
            if problem:
                raise SnapshotError(str(path), problem)
            self._cache[path] = items
        return self._cache[path]

    def namespaces(self) -> list[str]:
        listed = self.root / info("Namespace").snapshot_file
        if _held(listed):
            return sorted(item["metadata"]["name"] for item in self._load(listed))
        return sorted(
            child.name for child in self.root.iterdir()
            if child.is_dir() and (child / "pods.json").exists()
        )

    def _namespace_dir(self, namespace: str) -> Path:
        folder = self.root / namespace
        if not folder.is_dir() and namespace not in self.namespaces():
            raise NotFound(f"no namespace named {namespace} in {self.source}")
        return folder

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Obj]:
        entry = info(kind)
        if not entry.namespaced:
            files = [self.root / entry.snapshot_file]
        elif namespace:
            files = [self._namespace_dir(namespace) / entry.snapshot_file]
        else:
            files = [self.root / ns / entry.snapshot_file for ns in self.namespaces()]
        present = [path for path in files if _held(path)]
        if not present:
            where = f" for namespace {namespace}" if namespace and entry.namespaced else ""
            what = "pod metrics" if kind == "PodMetrics" else (
                "node metrics" if kind == "NodeMetrics" else entry.plural)
            raise KindUnavailable(f"the snapshot has no {what}{where}")
        match_labels = label_matcher(labels)
        match_fields = field_matcher(fields)
        result: list[Obj] = []
        for path in present:
            for item in self._load(path):
                item_labels = (item.get("metadata") or {}).get("labels") or {}
                if match_labels(item_labels) and match_fields(item):
                    result.append(item)
        return result

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        entry = info(kind)
        for item in self.list(kind, namespace if entry.namespaced else None):
            if item.get("metadata", {}).get("name") == name:
                return item
        where = f" in namespace {namespace}" if namespace and entry.namespaced else ""
        raise NotFound(f"no {entry.kind} named {name}{where}")

    def log_lines(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> Iterator[str]:
        path = self.root / namespace / pod / (PREVIOUS_LOG_FILE if previous else LOG_FILE)
        which = "previous logs" if previous else "logs"
        if not os.path.lexists(path):
            raise NotFound(f"the snapshot holds no {which} for pod {namespace}/{pod}")
        if not path.is_file():
            raise SnapshotError(str(path), "not a file; kubectl writes each pod's logs to a file")
        try:
            head, skipped, tail = _log_ends(path)
        except OSError as e:
            raise SnapshotError(str(path), f"cannot be read ({e.strerror})") from e
        section = _Section(namespace, pod, container, which)
        first = list(section.read(_text_lines(head)))
        last = _text_lines(tail)
        was_inside = section.inside
        spans_gap = bool(skipped) and (section.resume(last) or was_inside)
        if spans_gap:
            yield (f"[sre: {mib(skipped)} in the middle of {path.name} not read; read are its "
                   f"first and last {mib(_LOG_WINDOW)}, {_WINDOW_LINES:,} lines at most]")
        yield from first
        yield from section.read(last)
        if not section.found:
            unread = (f" in the first and last {mib(_LOG_WINDOW)} of its {path.name}, of which "
                      f"{mib(skipped)} in the middle is not read") if skipped else ""
            raise NotFound(f"the snapshot holds no {which} for container {container} of pod "
                           f"{namespace}/{pod}{unread}")


@dataclass
class _Section:
    """One container's lines in a pod's log file, which frames each container's lines between
    `==== START logs for container C of pod NS/POD ====` and its `==== END ... ====`."""

    namespace: str
    pod: str
    container: str
    which: str  # "logs" or "previous logs"
    inside: bool = False
    found: bool = False

    def read(self, lines: Iterable[str]) -> Iterator[str]:
        """The lines of `lines` inside the section; a line kubectl wrote for a log it could not
        read is `NotFound` saying so."""
        for line in lines:
            frame = _FRAME.match(line)
            if frame:
                self._cross(frame)
            elif self.inside:
                if line.startswith(_UNREADABLE):
                    raise NotFound(f"kubectl could not read these {self.which}: {line}")
                yield line

    def resume(self, lines: list[str]) -> bool:
        """Whether `lines`, read after a part of the file that was not, start inside the
        section: told by their first frame when it ends the section (the START was not read)."""
        frame = next(filter(None, map(_FRAME.match, lines)), None)
        if frame is not None and frame.group(1) == "END":
            self.inside = self._ours(frame)
            self.found = self.found or self.inside
        return self.inside

    def _cross(self, frame: re.Match[str]) -> None:
        self.inside = frame.group(1) == "START" and self._ours(frame)
        self.found = self.found or self.inside

    def _ours(self, frame: re.Match[str]) -> bool:
        _, _, name, namespace, pod = frame.groups()
        return (name, namespace, pod) == (self.container, self.namespace, self.pod)


def _held(path: Path) -> bool:
    """Whether the snapshot holds `path`: False when there is no such entry at all; an entry
    that is no regular file (a dangling or looping link, a directory, a FIFO that would be read
    forever) is a `SnapshotError` naming it, never taken for a kind the snapshot lacks."""
    if not os.path.lexists(path):
        return False
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise SnapshotError(str(path), f"cannot be read ({e.strerror})") from e
    if not stat.S_ISREG(mode):
        raise SnapshotError(str(path), "not a file; a snapshot holds each list in a JSON file")
    return True


def _bounded_lines(handle: TextIO) -> Iterator[str]:
    """The file's lines without their newline, each cut at `_MAX_LINE` characters, in bounded
    memory however long a line is."""
    while True:
        raw = handle.readline(_MAX_LINE)
        if not raw:
            return
        if raw.endswith("\n"):
            yield raw.rstrip("\n").rstrip("\r")
            continue
        if len(raw) < _MAX_LINE:  # the last line, with no newline
            yield raw.rstrip("\r")
            return
        end = ""  # the last characters of what is cut: a secret's key there (its value on
        while (rest := handle.readline(_MAX_LINE)) and not rest.endswith("\n"):  # the next
            end = (end + rest)[-_CUT_END:]  # line) still reaches the redactor
        end = (end + rest.rstrip("\n").rstrip("\r"))[-_CUT_END:]
        yield raw[:_MAX_LINE - _CUT_END] + " [line cut] " + end


_LOG_WINDOW = 2 * 1024 * 1024  # bytes read from each end of a long log file: what `sre snapshot`
_WINDOW_LINES = 20_000  # keeps of a container's log; lines read from each end at most


def _log_ends(path: Path) -> tuple[bytes, int, bytes]:
    """A log file's first lines, how many bytes after them are not read, and its last lines: at
    most `_LOG_WINDOW` bytes and `_WINDOW_LINES` lines from each end, so a 20 GB log or one of
    200 million empty lines is read in a moment and in bounded memory. A line the end's window
    starts inside is not read: its start, with a secret's key, is not there to hide the value."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= 2 * _LOG_WINDOW:  # read whole: only its lines may be too many
            data = handle.read(2 * _LOG_WINDOW)
            cut = _after_lines(data, _WINDOW_LINES)
            keep = cut + _last_lines(data[cut:], _WINDOW_LINES)
            return data[:cut], keep - cut, data[keep:]
        head = handle.read(_LOG_WINDOW)
        handle.seek(size - _LOG_WINDOW)
        tail = handle.read(_LOG_WINDOW)
    cut = _after_lines(head, _WINDOW_LINES)
    keep = max(_last_lines(tail, _WINDOW_LINES), tail.find(b"\n") + 1 or len(tail))
    return head[:cut], size - cut - (len(tail) - keep), tail[keep:]


def _after_lines(data: bytes, count: int) -> int:
    """Where `data`'s first `count` lines end."""
    at = -1
    for _ in range(count):
        at = data.find(b"\n", at + 1)
        if at < 0:
            return len(data)
    return at + 1


def _last_lines(data: bytes, count: int) -> int:
    """Where `data`'s last `count` lines start."""
    at = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(count):
        at = data.rfind(b"\n", 0, at)
        if at < 0:
            return 0
    return at + 1


def _text_lines(data: bytes) -> list[str]:
    """`data`'s lines as text, each cut as `_bounded_lines` cuts it."""
    # Only `\n` ends a line: a lone `\r` (`password=\rx`) is no line break to a log
    # reader, and must not part a key from its value; `\r\n` loses its `\r`.
    return list(_bounded_lines(io.StringIO(data.decode("utf-8", "replace"), newline="\n")))
