"""One line on a terminal that says what an investigation is doing while it runs, rewritten in
place and erased before the answer prints.

    with ProgressLine(sys.stderr) as line:          # silent unless stderr is a terminal
        diagnosis = investigator.investigate(request, on_progress=line)

Only stderr carries it: `--json` output on stdout stays one JSON document, and a redirected
stderr (a log file, CI) gets nothing.
"""

from __future__ import annotations

import shutil
from typing import TextIO

from tools import redact_text

from .investigation import Progress

_ERASE = "\r\033[K"


class ProgressLine:
    """An `OnProgress` that draws `sre: <step>: <detail>` on a terminal stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = _is_terminal(stream)
        self.drawn = False

    def __call__(self, progress: Progress) -> None:
        if not self.shown:
            return
        text = redact_text(" ".join(f"sre: {progress.step}: {progress.detail}".split()))
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 10)
        if len(text) > width:
            text = text[:width - 1] + "\u2026"
        self.stream.write(_ERASE + text)
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write(_ERASE)
            self.stream.flush()
            self.drawn = False

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False
