"""Secrets that command lines, protocol traces and code hand over without a `key=` before them
(a program's own password flag or position is `program_secrets`'): `lftp -u user,pw`,
`config set <key> <value>` (aws, npm, redis' `CONFIG SET`), IMAP `LOGIN u pw`, FTP
`PASS pw`, Redis `AUTH user pw`, MySQL `SET PASSWORD ... = 'pw'`, MongoDB's
`changeUserPassword("u", "pw")`, a setter or a pair in code (`setPassword("pw")`,
`["password", "pw"]`, PHP's `define('DB_PASSWORD', 'pw')` and `print_r`'s `[password] => pw`),
a token as a URL's user (`nats://TOKEN@nats:4222`) and in the websocket
subprotocol header. Each rule runs behind a cheap check on the lowercased line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .keyed_prose import CREDENTIAL_SHAPE, redact_pair
from .keyed_prose import PAIR as _PAIR
from .secret_names import is_secret_value, sensitive_name
from .secret_tokens import REDACTED, known_token, looks_random


def redact_commands(text: str, lower: str, *, keyed: bool = True) -> str:
    """Each rule whose hint is in `lower`; `text` itself when none hides anything. `keyed`:
    whether `lower` holds a key hint (`key_hints`), without which most rules have nothing to
    find; the others are looked for first, one substring check each."""
    if not keyed and not any(hint in lower for hint in _UNKEYED_HINTS):
        return text  # most lines
    found = [hint for hint in _BY_HINT if hint in lower]  # substring checks: cheaper than a regex
    for i in sorted({i for hint in found for i in _BY_HINT[hint]}):
        _, pattern, judge = _RULES[i]
        text = pattern.sub(judge, text)
    return text


def _hide(shape: bool) -> Callable[[re.Match[str]], str]:
    """Hide `pw` when it says something (and, with `shape`, looks like a credential)."""

    def replace(m: re.Match[str]) -> str:
        pw = m.group("pw")
        inner = pw.rstrip(".,;)")
        key = m.groupdict().get("key")
        if key is not None and not sensitive_name(key):
            return m.group()
        if len(inner) < 4 or not is_secret_value(inner) or (
                shape and not CREDENTIAL_SHAPE.match(inner)):
            return m.group()
        return (m.string[m.start():m.start("pw")] + REDACTED + pw[len(inner):]
                + m.string[m.end("pw"):m.end()])

    return replace


def _url_user(m: re.Match[str]) -> str:
    """A URL's user that is a token: random-looking, a vendor's, or a long run of letters and
    digits (`nats://TOKEN@nats:4222`, `https://TOKEN:x-oauth-basic@github.com`)."""
    user = m.group("pw")
    if looks_random(user) or known_token().fullmatch(user) or _LONG_KEY.fullmatch(user):
        return m.group("head") + REDACTED
    return m.group()


_LONG_KEY = re.compile(r"(?=[a-z]*\d)(?=\d*[a-z])[0-9a-z]{20,}", re.IGNORECASE)
_ARG = r"(?P<pw>[^\s\"'`|;&<>][^\s\"'`|;&]{0,1023})"
_QUOTED = r"(?P<q>[\"'])(?P<pw>[^\"'\n]{1,1024})(?P=q)"
_BEFORE = r"[^\n|;&]{0,512}?(?<=[ \t])"  # the program's other arguments, lazily
_RULES: tuple[tuple[tuple[str, ...], re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (("lftp",), re.compile(rf"\blftp[ \t]{_BEFORE}-u[ \t]+[^\s,]{{1,128}},{_ARG}"),
     _hide(False)),
    (("config",),  # `aws configure set K V`, redis' `CONFIG SET K V`, `npm config set K V`
     re.compile(rf"(?i:\bconfig(?:ure)?[ \t]+set)[ \t]+(?P<key>[\w.:/-]{{1,128}})[ \t]+{_ARG}"),
     _hide(False)),
    (("login ",),  # IMAP: `a1 LOGIN user pw`
     re.compile(r"(?<![\w-])LOGIN[ \t]+[^\s\"']{1,128}[ \t]+(?P<pw>[^\s\"'][^\s]{0,1023})"
                r"(?=[ \t]*$)", re.MULTILINE), _hide(True)),
    (("pass ",),  # FTP: `PASS pw`, the whole rest of the line
     re.compile(r"(?:^|(?<=[\s>:]))PASS[ \t]+(?P<pw>[^\s/]{4,1024})[ \t]*$", re.MULTILINE),
     _hide(True)),
    (("auth ",),  # Redis 6 ACL: `AUTH user pw`
     re.compile(rf"(?<![\w-])AUTH[ \t]+[\w.@-]{{1,64}}[ \t]+{_ARG}(?=[ \t]*(?:$|\"|'))",
                re.MULTILINE), _hide(True)),
    (("set password",),
     re.compile(rf"\bSET[ \t]+PASSWORD[ \t]+(?:FOR[ \t]+[^=\n]{{1,256}}?)?=[ \t]*"
                rf"(?:PASSWORD[ \t]*\([ \t]*)?{_QUOTED}", re.IGNORECASE), _hide(False)),
    (("userpassword", "createuser"),
     re.compile(rf"\b(?:changeUserPassword|createUser)[ \t]*\([ \t]*([\"'])[^\"'\n]{{0,256}}\1"
                rf"[ \t]*,[ \t]*{_QUOTED}"), _hide(False)),
    (("password(", "secret(", "token(", "key("),
     re.compile(rf"\b(?:set|with|update|change)_?(?P<key>[A-Za-z]\w{{0,40}})\([ \t]*{_QUOTED}"
                r"[ \t]*\)", re.IGNORECASE), _hide(True)),
    # `["password", "pw"]`, `("password", "pw")`, PHP's `define( 'DB_PASSWORD', 'pw' )`
    (('["', "['", '("', "('", '[ "', '( "', "[ '", "( '"),
     re.compile(r"[\[(][ \t]*(?P<q0>[\"'])(?P<key>[\w.-]{1,64})(?P=q0)[ \t]*,[ \t]*"
                r"(?P<q>[\"'])(?P<pw>[^\"'\n]{1,1024})(?P=q)[ \t]*[\])]"), _hide(True)),
    (("] =>",),  # PHP's print_r: `[password] => pw`
     re.compile(r"\[(?P<key>[\w.-]{1,64})\][ \t]*=>[ \t]*(?P<pw>[^\s\[(][^\n]{0,1023}?)"
                r"(?=[ \t]*$)", re.MULTILINE), _hide(True)),
    (("....",),  # HikariCP's configuration dump: `password........"pw"`
     re.compile(r"\b(?P<key>[A-Za-z][\w-]{0,63})\.{4,}[ \t]*\"?(?P<pw>[^\"\s]{1,1024})"),
     _hide(False)),
    (("</name>",),  # XML-RPC: `<name>password</name><value><string>pw</string>`
     re.compile(r"<name>(?P<key>[\w.-]{1,64})</name>[ \t]*<value>[ \t]*(?:<string>)?"
                r"(?P<pw>[^<\n]{1,1024})<"), _hide(False)),
    (("securestring",),  # PowerShell: `ConvertTo-SecureString 'pw' -AsPlainText`
     re.compile(rf"(?i:convertto-securestring)[ \t]+(?:-String[ \t]+)?{_QUOTED}"),
     _hide(False)),
    (("sudo",),  # `echo pw | sudo -S ...`
     re.compile(r"\becho[ \t]+(?P<pw>[^\s|;&]{1,1024})[ \t]*\|[ \t]*sudo[ \t]+(?:-\w+[ \t]+)*-S\b"),
     _hide(True)),
    (("net use",),  # Windows: `net use Z: \\server\share pw /user:admin`
     re.compile(r"(?i:\bnet[ \t]+use)[ \t]+(?:[A-Za-z]:[ \t]+)?\\\\\S+[ \t]+"
                r"(?P<pw>[^\s/][^\s]{0,1023})"),
     _hide(True)),
    (("login:",), _PAIR, redact_pair),  # "Default login: admin/pw" (no key hint)
    (("sec-websocket-protocol",),
     re.compile(r"(?i:sec-websocket-protocol)[ \t]*:[ \t]*(?:[\w.-]{1,64}[ \t]*,[ \t]*){0,8}?"
                r"(?i:access[_-]?token|bearer|token|authorization)[ \t]*,[ \t]*"
                r"(?P<pw>[^\s,]{1,4096})"), _hide(False)),
    (("with-token",),
     re.compile(r"--with-token[ \t]*<<<?[ \t]*(?P<pw>[^\s\"'][^\s]{0,1023})"), _hide(False)),
    (("@",),
     re.compile(r"(?<=[A-Za-z0-9])(?P<head>://)(?P<pw>[A-Za-z0-9_~-]{16,512})"
                r"(?=(?::[^\s@/]{0,256})?@[\w.-])"), _url_user),
)
# The rules' hints that no key hint implies: program names, IMAP's LOGIN, a URL's user.
_UNKEYED_HINTS = ("lftp", "login ", "createuser", "@", "securestring", "sudo", "net use",
                  "login:")
_BY_HINT: dict[str, list[int]] = {}
for _i, _rule in enumerate(_RULES):
    for _h in _rule[0]:
        _BY_HINT.setdefault(_h, []).append(_i)
