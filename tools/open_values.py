"""Values a line leaves open for the lines below, beyond what `spread_values` knows: a key whose
value starts the next line (`password=` then `x`; JSON's `"secret":` then `"x"`, each line with
its log prefix), a list opened under a secret's key (`"tokens": [` then one item a line), YAML's
complex key (`? password` then `: x`), redis' `CONFIG GET` reply (`1) "requirepass"` then
`2) "x"`), a double-quoted scalar continued below its key (`password: "ab` then `  cd"`), a
triple-quoted string below its key (TOML's `private_key = '''`, Python's `SECRET_KEY`), a block
named for a secret (Terraform's `variable "db_password" {` over `default = "x"`, nginx's
`map $http_x_token $allowed {` over `"x" 1;`), a string literal joined to the one below it
(`password = "ab" +` over `"cd"`), OpenVPN's inline `<auth-user-pass>` (a user,
then its password), PHP's `var_dump` (`["db_pass"]=>` over `string(8) "x"`) and a shell
here-document on a line that names a secret (`cat <<EOF > /etc/app/password`), to its tag.

A value below its key must look like a credential or be quoted; a key alone says nothing of a
line of prose below it.
"""

from __future__ import annotations

import re

from .heredocs import (
    HEREDOC,
    SECRET_FILE,
    closes_inline,
    hide_here_string,
    names_secret,
    unwrapped,
)
from .key_hints import KEY, SPACE, has_key_hint
from .secret_names import credential_shaped, is_secret_value, sensitive_name
from .secret_tokens import REDACTED

_S = SPACE


class OpenValues:
    """`hide(line)` takes each line in order and hides what the lines above it left open."""

    def __init__(self) -> None:
        self._kind = ""  # "value", "list", "complex", "reply", "quoted": what is open
        self._prefix = ""  # the opener's log prefix
        self._strong = True  # a list under a secret's own name, not its plural
        self._left = 0
        self._tag = ""  # what closes a triple-quoted string; the word that opened a block
        self._skip = 0  # lines to pass before the value (OpenVPN's user above its password)
        self._tags: list[str] = []  # the tags of here-documents the same line opened after it
        self._in_variable = False  # a here-document inside a secret's variable block: the
        # block goes on after its tag, and the tag may be indented with spaces (HCL's <<-)
        self._depth = 0  # how many braces of a named block are open (`validation { ... }`)
        self._open_default = 0  # how many brackets a list or map `default` left open
        self._keep = False  # the here-document open is a description (text to keep)

    def hide(self, line: str) -> str:
        if line.endswith("\r"):  # CRLF text: judged without its carriage returns
            bare = line.rstrip("\r")
            return self.hide(bare) + line[len(bare) :]
        if self._kind:
            hidden = self._below(line)
            if hidden is not line or self._kind:
                return hidden
        line = hide_here_string(line)
        stripped = line.rstrip(" \t")
        end, first = stripped[-1:], line.lstrip()[:1]
        kinds = (("value", "list", "mapping") if end in ("=", ":", "[", "{") else ()) + (
            ("quoted",) if line.count('"') % 2 else ()) + (
            ("complex",) if first == "?" else ("reply",) if first.isdigit() else ()) + (
            ("block",) if end == "{" or _commented_head(stripped) else
            ("triple",) if stripped.endswith(_TRIPLE) else ()) + (
            ("pair",) if "auth-user-pass" in line else ()) + (
            ("dumped",) if stripped.endswith("]=>") else ()) + (
            ("joined",) if _joined_below(stripped) else ()) + (
            ("heredoc",) if "<<" in line and HEREDOC.search(unwrapped(line)) else ())
        if not kinds or len(line) > 4096 or not (has_key_hint(line.lower()) or (
                "heredoc" in kinds and SECRET_FILE.search(line))):  # (cat <<EOF > id_rsa)
            return line
        for kind in kinds:  # an opener ends its line: its key is near the end
            if kind == "heredoc":  # `cat <<EOF > /etc/app/password`: the body, to its tag
                tags = [t["q"] or t["bare"] or t["caps"]
                        for t in HEREDOC.finditer(unwrapped(line))]
                if tags and names_secret(line) and not closes_inline(line, tags[-1]):
                    # (one that closes on its own line, after an escaped newline, is hidden
                    # there: `hide_inline_heredoc`)
                    self._kind, self._left, self._tags = kind, _HEREDOC_LINES, tags[1:]
                    self._tag = tags[0]
                    prefix = _LOG_PREFIX.match(line)
                    self._prefix = prefix.group() if prefix else ""
                    break
                continue
            near = {"value": 256, "list": 256, "mapping": 256, "quoted": 1024,
                    "joined": 1024}.get(kind, len(line))
            m = _OPENERS[kind].search(line, max(0, len(line) - near))
            if m and (sensitive_name(m.group("key")) or (
                    kind in ("list", "block") and _plural_secret(m.group("key"))) or (
                    kind == "block" and m.group("key").lower() in _SECRET_HEADERS)):
                self._kind, self._left = kind, 2 if kind in _SHORT else _BLOCK_LINES.get(
                    kind, 64)
                self._depth = 1
                self._tag = m.groupdict().get("tag") or ""
                self._skip = 1 if kind == "pair" and m.group().startswith("<") else 0
                self._strong = sensitive_name(m.group("key"))
                start = m.start("tag" if kind == "block" else "key")
                self._prefix = "" if kind in ("complex", "reply") else (
                    line[:start].rstrip(" \t{[\"'-?<$"))
                break
        return line

    def _below(self, line: str) -> str:
        kind = self._kind
        self._left -= 1
        if self._left <= 0:
            self._kind = ""
        if not line.strip():
            return line
        at = _prefix_end(line, self._prefix)
        if kind == "heredoc":  # its tag alone on a line (after the log's prefix) ends it,
            closing = unwrapped(line[at:]).rstrip()  # (a Docker JSON log's line holds it as
            closing = closing.strip() if self._in_variable else closing.lstrip("\t")  # "EOF\n";
            if self._in_variable:  # (a diff's `-EOT`, `+EOT`)
                closing = closing.lstrip("+-").strip()
            if closing == self._tag:  # tabs: `<<-`), and the next here-document of the
                self._kind, self._tag = ("heredoc", self._tags[0]) if self._tags else ("", "")
                self._tags = self._tags[1:]  # same line starts
                if self._in_variable:  # the variable block goes on after it
                    self._kind, self._tag = "block", "variable"
                    self._left = _BLOCK_LINES["block"]
                    self._in_variable = self._keep = False
                return line
            return line if self._keep else line[: _indent(line, at)] + REDACTED
        if kind in ("triple", "block", "pair"):
            return self._in_block(kind, line, at)
        if kind == "quoted":
            close = line.find('"', at)
            if close < 0:
                return line[: _indent(line, at)] + REDACTED
            self._kind = ""
            return line[: _indent(line, at)] + REDACTED + line[close:]
        if kind == "list":
            if "]" in line[at:]:
                self._kind = ""
            return line[:at] + _ITEM.sub(self._hide_item, line[at:])
        if kind == "mapping":  # `"password": {` over `"value": "x"`: every value it holds
            if "}" in line[at:] or "{" in line[at:]:
                self._kind = ""  # its end, or a mapping inside it: no telling past here
            return line[:at] + _MEMBER.sub(self._hide_member, line[at:])
        self._kind = ""
        pattern = _VALUE_PATTERNS.get(kind, _NEXT_VALUE)
        m = pattern.match(line, at)
        if m is None or _A_KEY.match(line, m.start("pw")):
            return line
        if kind == "joined" and _joined_below(line.rstrip(" \t")):
            self._kind, self._left = kind, 2  # joined again on the line below
        pw = m.group("pw")
        quoted = pw[:1] in "\"'" and pw[-1:] == pw[0] and len(pw) > 1
        inner = pw[1:-1] if quoted else pw
        if not is_secret_value(inner) or not (quoted or credential_shaped(inner)):
            return line
        begin, end = (m.start("pw") + 1, m.end("pw") - 1) if quoted else m.span("pw")
        return line[:begin] + REDACTED + line[end:]

    def _in_block(self, kind: str, line: str, at: int) -> str:
        """A line inside a triple-quoted string, a named block or OpenVPN's inline credentials."""
        if kind == "triple":
            close = line.find(self._tag, at)
            if close < 0:
                return line[: _indent(line, at)] + REDACTED
            self._kind = ""
            body = line[at:close].strip()
            return line[: _indent(line, at)] + REDACTED + line[close:] if body else line
        if kind == "pair":
            if self._skip:
                self._skip -= 1
                self._left += 1
                return line
            self._kind = ""
            value = _NEXT_VALUE.match(line, at)
            if value is None or not is_secret_value(value.group("pw")) or value.group(
                    "pw").startswith("<"):
                return line
            return line[: value.start("pw")] + REDACTED + line[value.end("pw") :]
        here = _HCL_HEREDOC.match(line, at) if self._tag == "variable" and "<<" in line else None
        if here is not None:  # `default = <<EOF` in a secret's variable block: its body (and
            self._kind, self._left, self._tags = "heredoc", _HEREDOC_LINES, []  # then the
            self._tag, self._in_variable = here["tag"], True  # rest of the block); a
            self._keep = not self._open_default and (  # `description` one is text to keep
                here["key"] or "") not in ("default", "value")
            return line
        if not line[at:].lstrip().startswith("-"):  # (a diff's removed line is gone)
            self._depth += _braces(line[at:])  # the block ends at its own closing brace,
        if self._depth <= 0:  # not that of a `validation { }` or `type = object({ })`
            self._kind = ""
        if self._open_default and not _HCL_ITEM.match(line, at):
            self._open_default = 0  # (a log cut inside the default: what follows is not it)
        if self._open_default:  # the lines of a list or map default: every literal in them
            self._open_default = max(0, self._open_default + _brackets(line[at:]))
            return _LITERAL.sub(_hide_literal, line)
        entry = (_HCL_DEFAULT if self._tag == "variable" else _MAP_ENTRY).match(line, at)
        if entry is not None and self._tag == "variable" and entry.group("pw")[:1] in "[{":
            rest = line[entry.start("pw") :]  # `default = ["x"]`, `default = {`: its literals
            self._open_default = max(0, _brackets(rest))
            return line[: entry.start("pw")] + _LITERAL.sub(_hide_literal, rest)
        if entry is None or entry.group("pw").strip("\"'") in _MAP_WORDS or not is_secret_value(
                entry.group("pw").strip("\"'")):
            return line
        pw = entry.group("pw")
        quote = pw[0] if pw[0] in "\"'" and pw[-1] == pw[0] and len(pw) > 1 else ""
        return line[: entry.start("pw")] + quote + REDACTED + quote + line[entry.end("pw") :]

    def _hide_member(self, m: re.Match[str]) -> str:
        if not is_secret_value(m.group("v")) or ABOUT_A_SECRET.search(m.group("member")):
            return m.group()  # a volume's `"secret": {` over `"secretName": "tls"`
        return m.group("head") + REDACTED + m.group("q")

    def _hide_item(self, m: re.Match[str]) -> str:
        value = m.group("v")
        if not is_secret_value(value) or not (self._strong or credential_shaped(value)):
            return m.group()
        return m.group("q") + REDACTED + m.group("q")


def _joined_below(stripped: str) -> bool:
    """Whether a line ends with a string literal and what joins it to the next (`"ab" +`)."""
    literal = stripped.rstrip("+.|&").rstrip(" \t")
    return len(literal) < len(stripped) and literal[-1:] in ("'", '"') and (
        stripped[len(literal):].strip(" \t") in _JOINERS)


def _commented_head(stripped: str) -> bool:
    """`variable "db_password" { # rotated by vault`: a block's head with a comment after it."""
    brace = stripped.rfind("{")
    return brace > 0 and stripped[brace + 1 :].lstrip().startswith(("#", "//")) and \
        _HEAD.search(stripped, max(0, brace - 256), brace) is not None


def _brackets(text: str) -> int:
    """How many more brackets and braces `text` opens than it closes, outside its strings."""
    return _opened(text, "[{", "]}")


def _hide_literal(m: re.Match[str]) -> str:
    return m.group()[0] + REDACTED + m.group()[-1]


def _braces(text: str) -> int:
    """How many more braces `text` opens than it closes, outside its quoted strings."""
    return _opened(text, "{", "}")


def _opened(text: str, openers: str, closers: str) -> int:
    bare = _bare(text)  # (`# the old block ended here }`, `/* } */`, `"}"`)
    return sum(bare.count(c) for c in openers) - sum(bare.count(c) for c in closers)


def _bare(text: str) -> str:
    """`text` without its quoted strings and its comments (`#`, `//`, `/* */` closed on the
    line), read once from left to right: a `"/*"` inside a string opens no comment, a `}` in
    a string of any length counts for nothing."""
    kept: list[str] = []
    at, size = 0, len(text)
    unclosed = ""  # the quotes (and "*" for `/*`) found with no end after them: text now
    while at < size:
        char = text[at]
        if char in "\"'" and char not in unclosed:  # a string: to its closing quote (a
            end = at + 1  # double-quoted one has escapes)
            while end < size and text[end] != char and text[end] != "\n":
                end += 2 if char == '"' and text[end] == "\\" else 1
            if end < size and text[end] == char:
                at = end + 1
                continue
            unclosed += char  # an apostrophe, a cut string: not a string, nor any after it
            kept.append(char)
            at += 1
        elif char == "#" or text.startswith("//", at):
            break  # a comment to the end of the line
        elif text.startswith("/*", at) and "*" not in unclosed:
            close = text.find("*/", at + 2)
            if close < 0:
                unclosed += "*"
                continue
            at = close + 2
        else:
            kept.append(char)
            at += 1
    return "".join(kept)


def _plural_secret(key: str) -> bool:
    return key[-1:] in "sS" and sensitive_name(key[:-1])


def _indent(line: str, at: int) -> int:
    return len(line) - len(line[at:].lstrip(" \t"))


def _shape(text: str) -> str:
    return _ALNUM.sub("a", text)


def _prefix_end(line: str, prefix: str) -> int:
    """Where a line's log prefix of the opener's shape ends, else 0. A prefix's numbers may
    grow (syslog's `tf[9]:` then `tf[12]:`), its level and month change (`INFO` then
    `DEBUG`), its spaces pad (`Jan  9`, `Jan 10`): a prefix that holds a number matches one
    that reads the same with those set aside, ending where a run of the line does. Other
    words stay as written: a secret below shares none with the prefix."""
    width = len(prefix)
    if not width or _shape(line[:width]) == _shape(prefix) and not (
            prefix[-1].isalnum() and line[width : width + 1].isalnum()):  # (`app-9`, `app-12`)
        return width
    head = prefix.rstrip(" \t")
    if len(head) > LOOSE_WIDTH or not any(c.isdigit() for c in head):
        return 0
    want, blanks = _canon(head), width - len(head)  # (a here-document's prefix ends blank)
    ends = [end for end in range(1, min(len(line), width + 16) + 1)  # a prefix ends on no
            if line[end - 1].strip() and line[end : end + 1] in (" ", "\t", "")]  # blank,
    for end in ends[:LOOSE_TRIES]:  # before one (a few tries: each is a regex pass)
        if _canon(line[:end]) == want:
            padded = len(line[end : end + blanks]) - len(line[end : end + blanks].lstrip(" \t"))
            return end + padded if padded == blanks else 0
    return 0


def _canon(text: str) -> str:
    """A log prefix with its level, month, numbers and space runs set aside."""
    return _SPACES.sub(" ", _DIGITS.sub("d", _PREFIX_WORDS.sub("L", text)))


LOOSE_WIDTH = 120  # a prefix longer than this is matched as written only
LOOSE_TRIES = 16  # the blanks of a line where its prefix may end, tried
LEVEL_WORDS = (r"(?i:trace|trc|debug|debu|dbg|info|inf|notice|warn|warning|wrn|error|err|eror|"
               r"fatal|ftl|crit|critical|severe|fine|finer|finest|config|[DIWEF])")
_PREFIX_WORDS = re.compile(r"\b(?:" + LEVEL_WORDS + r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|"
                           r"Oct|Nov|Dec))\b")
_DIGITS = re.compile(r"[0-9]+")
_SPACES = re.compile(r" +")


_ALNUM = re.compile(r"[A-Za-z0-9]")
_OPENERS = dict((
    ("value", re.compile(rf"(?:^|[\s{{,\"'])(?P<key>{KEY})[\"']?{_S}*(?:=|:(?!:)){_S}*$",
                         re.IGNORECASE)),
    ("list", re.compile(rf"(?:^|[\s{{,\"'])(?P<key>{KEY})[\"']?{_S}*[:=]{_S}*\[{_S}*$",
                        re.IGNORECASE)),
    ("mapping", re.compile(  # JSON's `"password": {`, HCL's `secrets = {`
        rf"(?:^|[\s{{,\"'])(?P<key>{KEY})[\"']?{_S}*[:=]{_S}*\{{{_S}*$", re.IGNORECASE)),
    ("complex", re.compile(rf"^{_S}*\?{_S}+[\"']?(?P<key>{KEY})[\"']?{_S}*$", re.IGNORECASE)),
    ("reply", re.compile(rf"^{_S}*\d+\){_S}+\"(?P<key>{KEY})\"{_S}*$", re.IGNORECASE)),
    ("quoted", re.compile(rf"(?:^|[\s{{,])(?P<key>{KEY}){_S}*:{_S}+\"(?:[^\"\\]|\\.)*$",
                          re.IGNORECASE)),
))
_TRIPLE = ('"""', "'''")
_HCL_HEREDOC = re.compile(r"[ \t]*(?:[+-][ \t]*)?(?:(?P<key>[\w-]+)[ \t]*=[ \t]*)?<<-?"
                          r"(?P<tag>[A-Za-z_]\w{0,63})[ \t]*,?[ \t]*(?:(?:#|//)[^\n]*)?$")
# (in a variable block, `default = <<EOF` alone at the end of its line, or an item of a list or
# map default; a `description` or an `error_message` here-document is text a human wrote, kept)
# a line that can be an item of a list or map default: `"x",`, `key = "x"`, `}`, `]`
_HCL_ITEM = re.compile(r'[ \t]*(?:[+-][ \t]*)?(?:[\w"./-]+[ \t]*=[ \t]*)?(?:"(?:[^"\\\n]|\\.)*"|'
                       r'[\w.-]+|<<-?\w+)?[ \t]*[,\]\}\[\{)]*[ \t]*(?:(?:#|//)[^\n]*)?$')
# nginx's variables of the request headers that carry credentials (`map $http_authorization`)
_SECRET_HEADERS = frozenset({"http_authorization", "http_proxy_authorization", "http_cookie"})
_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)+"')  # a non-empty double-quoted literal
_HEAD = re.compile(r"\b(?:variable|map)[ \t]+[\"'$]?[\w.-]+[\"']?(?:[ \t]+\$\w+)?[ \t]*$")
_BLOCK_LINES = {"block": 256, "triple": 64}  # how far a named block's default may be from its head
_HEREDOC_LINES = 256  # a here-document's body hidden at most this long, when its tag is lost
_LOG_PREFIX = re.compile(r"(?:(?:\d{4}[-/]\d\d[-/]\d\d[ \t]+)?\S{0,64}\d\d:\d\d\S{0,64}[ \t]+(?:(?:"
                         r"\[[\w.-]{1,32}\]|" + LEVEL_WORDS + r")[ \t]+)?)?")  # time, level
# (a level by its name or in brackets: `cat <<EOF` or `RUN cat <<EOF` after a time is the
# command)
_JOINERS = ("+", ".", "..", "||", "&")  # what joins a string literal to the one below
_SHORT = ("value", "complex", "reply", "pair", "dumped", "joined")  # a line or two below
_OPENERS.update((
    ("triple", re.compile(rf"(?:^|[\s{{,\"'])(?P<key>{KEY})[\"']?{_S}*[:=]{_S}*[rRbBuUfF]{{0,2}}"
                          rf"(?P<tag>\"\"\"|'''){_S}*$", re.IGNORECASE)),
    ("block", re.compile(rf"(?:^[+-]?|{_S})(?P<tag>variable|map){_S}+[\"'$]?(?P<key>{KEY})[\"']?"
                         rf"(?:{_S}+\$[\w]{{1,64}})?{_S}*\{{{_S}*(?:(?:#|//)[^\n]*)?$")),
    ("dumped", re.compile(rf"\[[\"'](?P<key>{KEY})[\"']\]=>$", re.IGNORECASE)),  # PHP var_dump
    ("joined", re.compile(  # `password = "ab" +`: the literal below is the rest of it
        rf"(?:^|[\s{{,\"'(])(?P<key>{KEY})[\"']?{_S}*(?::=|=>|[:=]){_S}*(?P<q>[\"'])[^\"'\n]*(?P=q)"
        rf"{_S}*(?:\+|\.\.?|\|\||&){_S}*$", re.IGNORECASE)),
    ("pair", re.compile(r"(?P<open><)?\b(?P<key>auth-user-pass)"  # then the user, and its password
                        r"(?(open)>[ \t]*$|\b[^\n]{0,64}:[ \t]*[^\s:]+[ \t]*$)")),
))
# Terraform's `default = "x"` in a variable's block; nginx's `map` entry `"x" 1;` (not `default`).
_HCL_DEFAULT = re.compile(  # (a diff's `-` or `+` before it: a plan, `git diff`)
    rf"{_S}*(?:[+-]{_S}*)?default{_S}*={_S}*"
    rf"(?P<pw>\"(?:[^\"\\\n]|\\.){{1,1024}}\"|\"[^\"\n]{{1,1024}}\"|[^\s\"}}]+)")
_MAP_ENTRY = re.compile(rf"{_S}*(?P<pw>\"(?:[^\"\\\n]|\\.){{1,1024}}\"|\"[^\"\n]{{1,1024}}\"|"
                        rf"'[^'\n]{{1,1024}}'|"
                        rf"[^\s;{{}}#]+){_S}+[^\s;]+{_S}*;")
_MAP_WORDS = frozenset({"default", "hostnames", "include", "volatile"})
_QUOTED = r"\"[^\"\n]{1,1024}\"|'[^'\n]{1,1024}'"
_NEXT_VALUE = re.compile(rf"{_S}*(?P<pw>{_QUOTED}|[^\s\"',}}\]]{{1,1024}})")
_VALUE_PATTERNS = {
    "complex": re.compile(rf"{_S}*:{_S}+(?P<pw>{_QUOTED}|\S{{1,1024}})"),
    "reply": re.compile(rf"{_S}*\d+\){_S}+(?P<pw>\"[^\"\n]{{1,1024}}\")"),
    "dumped": re.compile(rf"{_S}*string\(\d{{1,9}}\){_S}*(?P<pw>\"[^\"\n]{{1,1024}}\")"),
}
_A_KEY = re.compile(r"[\"']?[\w.-]{1,128}[\"']?[ \t]*(?:[:=](?:[ \t]|$)|=)")
_MEMBER = re.compile(r"(?P<head>(?P<mq>[\"']?)(?P<member>[\w.-]{1,64})(?P=mq)[ \t]*[:=][ \t]*"
                     r"(?P<q>[\"']))"
                     r"(?P<v>[^\"'\n]{1,1024})(?P=q)")
ABOUT_A_SECRET = re.compile(r"(?:name|path|file|ref|mode|type|kind|version|namespace)$",
                             re.IGNORECASE)
_ITEM = re.compile(r"(?P<q>[\"'])(?P<v>[^\"'\n]{1,1024})(?P=q)")
