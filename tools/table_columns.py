"""Values in a table's column whose header names a secret: the header row says `password`, the
rows below hold the values, each in its cell. Markdown and psql (`usename | passwd` over a
`----+----` rule), MySQL's and RST's boxes, kubectl-like columns (`NAME  TOKEN  AGE`), TSV,
CSV (`,` or `;`, quoted or not) and HTML (`<th>password</th>` then `<td>x</td>`).

Read a line at a time, as a log is: a header row opens a table and only its columns are kept
(not the text), so memory stays bounded; a blank line or a row of another shape closes it.
A column is judged as a key is (`secret_names`): a password's column loses every value that says
something, another secret's (`TOKEN`, `api_key`) or an everyday name's (`key`) only values shaped
like a credential, so `kubectl get certificate`'s `SECRET` column (`api-tls`) and
`kubectl get sa`'s `SECRETS` count stay.
"""

from __future__ import annotations

import re

from .secret_names import (
    credential_shaped,
    is_secret_value,
    names_password,
    sensitive_name,
    weak_name,
    weak_secret,
)
from .secret_tokens import REDACTED

_Span = tuple[int, int]


class TableColumns:
    """`hide(line)` takes each line in order and hides the cells of the columns a header row
    above it named a secret."""

    def __init__(self) -> None:
        self._separator = ""  # "|", "\t", ",", ";", " " (aligned columns), or "" (no table)
        self._names: list[str] = []  # the header's column names
        self._starts: list[int] = []  # aligned columns: where each starts
        self._prefix = ""  # the shape of the header's log prefix (a timestamp), if any
        self._html: dict[int, str] = {}  # HTML: secret columns by index, their names
        self._html_column = 0

    def hide(self, line: str) -> str:
        if "<t" in line or "<T" in line or self._html:
            line = self._hide_html(line)
        if self._separator:
            hidden = self._hide_row(line)
            if self._separator:
                return hidden
        if len(line) <= _LONGEST_HEADER:
            self._open(line)
        return line

    def _open(self, line: str) -> None:
        """Open a table when `line` is a header row: its rows are judged by its columns, never
    taken for a header themselves."""
        prefix = _PREFIX.match(line)
        width = prefix.end() if prefix else 0
        body = line[width:]
        if not _HEADER_LINE.fullmatch(body):
            return  # most lines: a header holds names, separators and quotes only
        for separator in _SEPARATORS:
            if separator not in body:
                continue
            spans = _cells(body, separator)
            names = [_unquoted(body[a:b]).strip("*`") for a, b in spans]  # Markdown's **x**
            if len(names) >= 2 and all(map(_NAME.fullmatch, names)):  # a header, secret or not:
                self._separator, self._names = separator, names  # its rows are no headers
                self._starts = [a for a, _ in spans]
                self._prefix = _shape(line[:width])
            return  # the first separator found decides the shape

    def _hide_row(self, line: str) -> str:
        width = len(self._prefix)
        if not line.strip() or _shape(line[:width]) != self._prefix:
            self._separator = ""
            return line
        body = line[width:]
        if _RULE.fullmatch(body):  # `----+----`, `|---|:---|`, `+====+`, `====  ====`
            return line
        spans = _cells(body, self._separator, self._starts)
        if len(spans) != len(self._names):
            self._separator = ""  # another shape: the table is over
            return line
        if not any(map(_secret_column, self._names)):
            return line  # (a table of config keys: its `password` row names no column)
        out: list[str] = []
        at = 0
        for name, (a, b) in zip(self._names, spans, strict=True):
            value = _unquoted(body[a:b])
            if value and _secret_cell(name, value) and not (
                    self._separator == "  " and " " in value):  # aligned: one word a cell
                start = body.index(value, a)
                out += (body[at:start], REDACTED)
                at = start + len(value)
        return line[:width] + "".join(out) + body[at:] if out else line

    def _hide_html(self, line: str) -> str:
        """HTML: `<tr>` starts a row, `<th>` names the next column, `<td>` is its cell (its
        text, inside a `<code>` or `<span>` too)."""
        out: list[str] = []
        at = 0
        for m in _HTML_CELL.finditer(line):
            tag = m.group("tag").lower()
            if tag == "table" or tag == "/table":
                self._html, self._html_column = {}, 0
            elif tag == "tr":
                self._html_column = 0
            elif tag == "th":
                if self._html_column == 0:
                    self._html = {}
                name = _INNER_TAG.sub("", m.group("text") or "").strip()
                if _secret_column(name):
                    self._html[self._html_column] = name
                self._html_column += 1
            else:  # td
                name = self._html.get(self._html_column, "")
                text = _INNER_TAG.split(m.group("text") or "")
                value = "".join(text).strip()
                if name and value and _secret_cell(name, value) and len(
                        [piece for piece in text if piece.strip()]) == 1:
                    start = line.index(value, m.start("text"))
                    out += (line[at:start], REDACTED)
                    at = start + len(value)
                self._html_column += 1
        return "".join(out) + line[at:] if out else line


def _secret_column(name: str) -> bool:
    return sensitive_name(name) or weak_name(name)


def _secret_cell(name: str, value: str) -> bool:
    """Whether a cell below a column named `name` holds its secret: any value that says
    something below a password, a credential's shape below another secret or an everyday
    name."""
    if names_password(name):
        return is_secret_value(value)
    if sensitive_name(name):
        return credential_shaped(value)
    return weak_name(name) and weak_secret(name, value)


def _cells(body: str, separator: str, starts: list[int] | None = None) -> list[_Span]:
    """Where each cell of a row is: split on its separator (outside quotes for CSV), a
    border's empty cells dropped (`| a | b |`); aligned columns cut where the header's start."""
    if separator == "  ":
        return _aligned(body, starts) if starts else [m.span() for m in _WORDS.finditer(body)]
    spans: list[_Span] = []
    at = 0
    pattern = _QUOTED_CELL[separator]
    while at <= len(body):
        m = pattern.match(body, at)
        end = m.end() if m else body.find(separator, at)
        end = len(body) if end < 0 else end
        spans.append((at, end))
        at = end + 1
    if separator == "|":
        if spans and not body[slice(*spans[0])].strip():
            spans.pop(0)
        if spans and not body[slice(*spans[-1])].strip():
            spans.pop()
    return spans


def _aligned(body: str, starts: list[int]) -> list[_Span]:
    """A row of aligned columns, each cell starting at its header's column (or blank there);
    no spans when a word crosses a column's edge."""
    if body[: starts[0]].strip():
        return []
    spans: list[_Span] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(body)
        if start and body[start - 1 : start].strip():
            return []  # a word runs across the edge: not this table's row
        spans.append((start, max(start, min(end, len(body)))))
    return spans


def _unquoted(cell: str) -> str:
    """A cell's text inside its quotes, or Markdown's code quotes."""
    cell = cell.strip()
    return cell[1:-1] if len(cell) >= 2 and cell[0] == cell[-1] and cell[0] in "\"'`" else cell


def _shape(text: str) -> str:
    return _ALNUM.sub("a", text)


_LONGEST_HEADER = 1024
_HEADER_LINE = re.compile(r"[\w .()/|\t;,\"'*`-]+")
_SEPARATORS = ("|", "\t", ";", ",", "  ")  # `  `: aligned columns, two spaces apart or more
_QUOTED_CELL = {sep: re.compile(rf"[ \t]*\"(?:[^\"\n]|\"\")*\"[ \t]*(?=\{sep}|$)")
                for sep in ("|", "\t", ";", ",")}
_WORDS = re.compile(r"\S+(?: \S+)*")  # cells two spaces apart
_NAME = re.compile(r"[^\W\d][\w.()/-]*(?: [\w.()/-]+){0,2}")  # a column's name, up to 3 words
_RULE = re.compile(r"[ \t]*[-=+|:~ \t]*[-=]{3}[-=+|:~ \t]*")
_HTML_CELL = re.compile(r"<(?P<tag>/?table|tr|t[hd])\b[^<>]{0,256}>"
                        r"(?:(?P<text>(?:[^<>\n]|<(?!/?t[dhr]\b|/?table)[^<>\n]{0,128}>){0,1024})"
                        r"(?=</t[hd]>))?", re.IGNORECASE)
_INNER_TAG = re.compile(r"<[^<>\n]{0,128}>")
# A log's prefix: timestamps, `kubectl logs --prefix`'s `[pod/api-58d7c9b6f4-xr7pd/app]`.
_PREFIX = re.compile(r"(?:\[?\d[\w:.,+/-]*\]?[ \t]+|\[[\w:./@-]{1,253}\][ \t]+){1,3}(?=[^\W\d]|\|)")
_ALNUM = re.compile(r"[A-Za-z0-9]")
