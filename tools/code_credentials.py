"""Credentials passed by position to a call in code a log or a config quotes:
`DriverManager.getConnection(url, "app", "x")`, `new NetworkCredential("app", "x")`,
`requests.get(url, auth=("bob", "x"))`, `ftp.login("bob", "x")`, `r.SetBasicAuth("u", "x")`,
and the same pair as data: `{"auth": ["app", "x"]}`.

One table says, for each call's name, which argument is its secret (counted from 0); only a
quoted literal there is hidden (`getConnection(url, user, pw)` names variables, which stay).
"""

from __future__ import annotations

import re

from .secret_names import credential_shaped, is_secret_value
from .secret_tokens import REDACTED

# The last word of a call's name (`DriverManager.getConnection`, `new mysqli`), lowercased: the
# argument that holds the password. Qualified names where the last word alone is everyday
# (`pymysql.connect`, not every `connect`).
CALLS: dict[str, int] = {
    "networkcredential": 1, "usernamepasswordcredentials": 1, "passwordauthentication": 1,
    "httpbasicauth": 1, "httpdigestauth": 1, "httpproxyauth": 1, "basicauth": 1,
    "setbasicauth": 1, "basic_auth": 1, "credentials.basic": 1, "basicauthenticator": 1,
    "login": 1, "simple_bind_s": 1, "simple_bind": 1, "bind_s": 1, "authenticate": 1,
    "plainauth": 2,  # Go's smtp.PlainAuth(identity, user, password, host)
    "drivermanager.getconnection": 2, "datasource.getconnection": 1, "pdo": 2,
    "mysqli": 2, "mysqli_connect": 2, "mysql_connect": 2, "mysqli_real_connect": 3,
    "pymysql.connect": 2, "mysqldb.connect": 2, "mysql.connector.connect": 2,
    "redis.redis": 3, "redis.strictredis": 3,
}
# A key whose tuple or list is a user and a password: `auth=("bob", "x")`, `"auth": ["app", "x"]`;
# the second must look like a credential (`"auth": ["oidc", "ldap"]` lists methods).
_PAIR_KEYS = frozenset({"auth", "credentials", "basic_auth", "basicauth"})


def redact_code_calls(text: str) -> str:
    """`text` with the password argument of each call of the table hidden."""
    if "(" not in text and "[" not in text or ('"' not in text and "'" not in text) or (
            not _GATE.search(text.lower())):
        return text
    out: list[str] = []
    at = scanned = 0  # what is written out; what the calls read so far spanned
    for m in _CALL.finditer(text):
        if m.start() < scanned:
            continue  # a call among the arguments of one read already
        key = m.group("key")
        position = 1 if key else CALLS.get(_call_name(m.group("name")))
        if position is None:
            continue
        spans, scanned = _literal_arguments(text, m.end())
        span = spans[position] if position < len(spans) else None
        if span is None or span[0] < at:
            continue
        start, end = span
        value = text[start:end]
        if not is_secret_value(value) or (key and not credential_shaped(value)):
            continue
        out += (text[at:start], REDACTED)
        at = end
    return "".join(out) + text[at:] if out else text


def _call_name(name: str) -> str:
    """The table's key for a call's name: its last word, or its last two when those are in the
    table (`DriverManager.getConnection`), with `new`, quotes and `=`/`:` dropped."""
    words = [w for w in re.split(r"[.\s]+", name.strip("\"' \t=:").lower()) if w and w != "new"]
    two = ".".join(words[-2:])
    if two in CALLS:
        return two
    if words and words[-1] in ("getconnection", "connect", "redis", "strictredis"):
        return two  # everyday alone: only qualified
    return words[-1] if words else ""


def _literal_arguments(text: str, pos: int) -> tuple[list[tuple[int, int] | None], int]:
    """Where each top-level argument's quoted literal is (its inside), None for an argument that
    is not one (a variable, a call), from `pos` after the opening bracket to its closing one;
    and where the arguments end (at most `_LONGEST` characters on)."""
    spans: list[tuple[int, int] | None] = []
    current: tuple[int, int] | None = None
    first = True  # no token yet in this argument
    depth = 0
    end = min(len(text), pos + _LONGEST)
    for m in _TOKEN.finditer(text, pos, end):
        token = m.group()
        if token in "([{":
            depth += 1
        elif token in ")]}":
            if depth == 0:
                spans.append(current if not first else None)
                return spans, m.end()
            depth -= 1
        elif token == "," and depth == 0:
            spans.append(current)
            current, first = None, True
            continue
        elif depth == 0 and first and token[:1] in "\"'":
            current = (m.start() + 1, m.end() - 1)
        if token.strip():
            first = False
    return spans, end


_LONGEST = 1024
_CALL = re.compile(
    r"(?<![\w.])(?P<name>(?:new[ \t]+)?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)[ \t]*\(|"
    r"(?P<q>[\"']?)(?P<key>\b(?:" + "|".join(sorted(_PAIR_KEYS)) + r"))(?P=q)"
    r"[ \t]*[=:][ \t]*[(\[]",
    re.IGNORECASE)
_GATE = re.compile("|".join(sorted({re.escape(name.rsplit(".", 1)[-1])
                                     for name in (*CALLS, *_PAIR_KEYS)})))
_TOKEN = re.compile(r"\"(?:[^\"\\\n]|\\.){0,512}\"|'(?:[^'\\\n]|\\.){0,512}'|[()\[\]{},]"
                    r"|[^\"'()\[\]{},]+")
