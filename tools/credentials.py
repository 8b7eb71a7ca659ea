"""Credentials recognised by the shape around them, with or without a key: private keys (PEM
blocks, PuTTY lines; certificates are public and stay), URL userinfo, chat webhooks, Oracle
`user/pw@db` logins (and `user/pw@` before any TNS descriptor or Easy Connect address),
MySQL's glued `-p'pw'` (other programs' flags: `program_secrets`), passwords piped to
`--password-stdin`, `AUTH` commands, `Authorization:` headers of any scheme, `Bearer` and
`Basic` credentials, JWTs, session cookies.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator

from .secret_names import (
    is_secret_value,
    keep_head,
    keep_quotes,
    login_password,
    names_login,
    sensitive_name,
)
from .secret_tokens import REDACTED, known_token, looks_random


def redact_private_keys(text: str, lower: str) -> str:
    """PEM private-key blocks, whole, across lines (one cut off before its END: to the end of the
    text); PuTTY `Private-Lines`."""
    if "-----begin" in lower and "private key" in lower:
        text = _PEM.sub(lambda m: m.group("head") + REDACTED + (m.group("end") or ""), text)
    if "-----end" in lower and "private key" in lower and "\n" in text:
        text = _body_above_end(text)
    if "Private-Lines:" in text:
        text = _PUTTY_PRIVATE.sub(lambda m: m.group("head") + REDACTED + "\n", text)
    return text


def _body_above_end(text: str) -> str:
    """A private key's base64 lines right above its END marker when its BEGIN line was lost (a
    log cut, a prefix rewritten): walked back from each marker a line at a time, so a text of
    base64 lines with no END costs what its length does."""
    out: list[str] = []
    pos = 0
    for end in _PEM_END.finditer(text):
        start = end.start()
        for _ in range(_BODY_LINES):
            if start <= pos or text[start - 1] != "\n":
                break
            above = max(pos, text.rfind("\n", pos, start - 1) + 1)
            if not key_body_line(text[above : start - 1]):
                break
            start = above
        if start < end.start():
            out += [text[pos:start], REDACTED, "\n"]
            pos = end.start()
    return "".join(out) + text[pos:] if out else text


def key_body_line(line: str) -> bool:
    """Whether a line is base64 as a key's body has it: a digit, `+`, `/` or mixed case in it
    (not a word such as `STATUS`)."""
    body = line.strip()
    return _BODY_LINE.fullmatch(body) is not None and (
        not body.isalpha() or not (body.islower() or body.isupper()))


def held_key_bodies(lines: Iterable[str]) -> Iterator[str]:
    """Lines as a log gives them, a private key's body lines held until the line below them
    says what they were: hidden above an END marker whose BEGIN line was lost (as
    `redact_private_keys` does on a whole text), given back as they were otherwise. At most
    `_BODY_LINES` are held."""
    held: list[str] = []
    for line in lines:
        if key_body_line(line) and len(held) < _BODY_LINES:
            held.append(line)
            continue
        if held and line.lstrip().startswith("-----") and _PEM_END.search(line):
            held = [REDACTED] * len(held)
        yield from held
        held = []
        yield line
    yield from held


def redact_credentials(text: str, lower: str) -> str:
    """The one-line rules above, each behind a cheap substring check of `lower`."""
    if "://" in text:
        if "@" in text:
            text = _URL_CREDENTIALS.sub(keep_head, text)
            text = _URL_TOKEN_USER.sub(_redact_token_user, text)
        if "hooks.slack.com" in lower or "/webhook" in lower:
            text = _SLACK_WEBHOOK.sub(rf"\1{REDACTED}", text)
        if "/hooks/" in text:
            text = _MATTERMOST_HOOK.sub(rf"\1{REDACTED}", text)
    if ":" in text and "@" in text:
        text = _USERINFO.sub(_redact_userinfo, text)
    if "/" in text and "@" in text and ("oracle" in lower or _ORACLE_HINTS.search(lower)):
        text = _ORACLE_LOGIN.sub(keep_head, text)
    if "/" in text and ("@(" in text or "@//" in text or _AT_HOST_PORT.search(text)):
        text = _CONNECT_IDENTIFIER.sub(keep_head, text)
    if "-u" in text or "-U" in text:
        text = _CURL_USER.sub(keep_head, text)
    if (" -" in text or "\t-" in text or "/user:" in lower) and (
            _CLI_HINTS.search(lower) or "-U " in text):
        text = _CLI_PASSWORD.sub(keep_quotes, text)
    if "|" in text and ("stdin" in lower or "chpasswd" in lower):
        text = _PIPED_PASSWORD.sub(keep_quotes, text)
    if ":" in text and _LOGIN_HINTS.search(lower):
        text = _LOGIN_VALUE.sub(_redact_login_value, text)
    if "AUTH" in text:
        text = _AUTH_COMMAND.sub(_redact_auth_command, text)
    if text.count(":") >= 4 and "\n" not in text:
        text = _PGPASS.sub(_redact_pgpass, text)
    if ".auth(" in lower:
        text = _AUTH_CALL.sub(keep_quotes, text)
    if "authorization" in lower:
        text = _AUTH_HEADER.sub(_redact_authorization, text)
    if "bearer" in lower:
        text = _BEARER.sub(_redact_bearer, text)
    if "basic" in lower:
        text = _BASIC.sub(_redact_basic, text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "cookie" in lower:
        text = _COOKIE.sub(_redact_cookies, text)
    return text


_PEM = re.compile(  # any case: a lowercased dump is still a key
    r"(?P<head>-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----)"
    r"(?:.*?(?P<end>-----END (?P=label)-----)|.*)",
    re.DOTALL | re.IGNORECASE,
)
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----", re.IGNORECASE)
_BODY_LINE = re.compile(r"[A-Za-z0-9+/]{4,76}={0,2}")
_BODY_LINES = 128
_USERINFO = re.compile(  # no scheme: `app:pw@db.shop.svc:5432`, Go's `app:pw@tcp(db:3306)/x`
    r"(?<![\w.:/@-])(?P<head>[\w.-]{1,64}:)(?P<pw>[^\s\"'<>@:/\\]{1,256})"
    r"(?=@(?:(?:tcp|unix)\(|[\w-]{1,63}(?:\.[\w-]{1,63})+(?::\d{1,5})?(?![\w.-])"
    r"|[\w-]{1,63}:\d{2,5}(?![\w.-])"  # or a host without dots and its port
    r"|(?!sha\d|v\d)[A-Za-z][\w-]{0,62}(?=[\s/,;)\"']|$)))",  # or alone: `app:pw@db-primary`
)
_PUTTY_PRIVATE = re.compile(
    r"(?P<head>^Private-Lines:[ \t]*\d+[ \t]*\r?\n)(?P<pw>(?:[A-Za-z0-9+/=]+(?:\r?\n|$))+)",
    re.MULTILINE,
)
_URL_CREDENTIALS = re.compile(  # the password ends at the first `@` followed by a host
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s\"'<>\[\]]*:)(?!\d{1,5}(?:[/?#]|$))"
    r"(?P<pw>[^\s\"'<>\\]+?)(?=@[\w.\[\]:-]*(?:[/?(),;\s\"'<>\\]|$))"
)
_URL_TOKEN_USER = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<pw>[\w-]{12,})(?=@)")
# A user name is one case with perhaps digits (`jdoe`, `alice2024`, `Deploy-Bot`, `x-access-token`);
# a token mixes both cases with digits (`https://Xk9mQ2vLp7wR@github.com/org/repo.git`).
_MIXED_TOKEN = re.compile(r"(?=[^_-]*[a-z])(?=[^_-]*[A-Z])(?=[^_-]*\d)[A-Za-z0-9]{12,}")
_SLACK_WEBHOOK = re.compile(  # Slack, Teams (outlook.office.com, *.webhook.office.com)
    r"((?:hooks\.slack\.com/(?:services|workflows|triggers)|\.office(?:365)?\.com/webhook(?:b2)?)/)"
    r"[\w/@.-]+")
_MATTERMOST_HOOK = re.compile(r"(/hooks/)[a-z0-9]{26}(?![\w-])")
_ORACLE_LOGIN = re.compile(  # jdbc:oracle:thin:scott/tiger@db, sqlplus scott/tiger@orcl
    r"(?P<head>(?:\bjdbc:oracle:(?:thin|oci8?):|\b(?:sqlplus|expdp|impdp|exp|imp|rman|sqlldr)"
    r"(?:[ \t]+-\w+)*[ \t]+(?:target[ \t]*=?[ \t]*)?)[\w$#.]+/)(?P<pw>[^\s@/\\\"']+)(?=@)",
    re.IGNORECASE,
)
# `user/pw@` before what only a database's connect identifier looks like, whatever the program:
# a TNS descriptor `@(DESCRIPTION=...)`, Easy Connect `@//db:1521/SVC` or `@db:1521/SVC`.
_CONNECT_IDENTIFIER = re.compile(
    r"(?<![\w$#./:@-])(?P<head>[A-Za-z_][\w$#.]{0,127}/)(?P<pw>[^\s@/\\\"'()]{1,256})"
    r"(?=@(?:\(|//|[\w.-]{1,253}:\d{2,5}/\w))")
_AT_HOST_PORT = re.compile(r"@[\w.-]{1,253}:\d{2,5}/")
_CURL_USER = re.compile(  # -u/-U attached or not, --(proxy-)user; not `docker run -u 1000:1000`
    r"(?<!\S)(?P<head>(?:-[uU](?:[ \t]+|=)?|--(?:proxy-)?user(?:[ \t]+|=))"
    r"(?!\d+:\d+(?:\s|$))[^\s:\"'=-][^\s:\"']*:)(?P<pw>[^\s\"']+)"
)
_CLI_PASSWORD = re.compile(  # the other programs' flags: `program_secrets`
    r"(?P<head>\bmysql(?:dump|admin)?\b[^\n]{0,200}?[ \t]-p"
    r"|(?<!\S)-pass(?:in|out)?[ \t]+pass:"
    r"|(?<!\S)-U[ \t]+[^\s%\"']+%"
    r"|\bnet[ \t]+use\b[^\n]{0,200}?/user:\S+[ \t]+)"
    r"(?P<pw>'[^'\n]*'|\"[^\"\n]*\"|[^\s\"'/][^\s\"']*)"
)
_PIPED_PASSWORD = re.compile(  # echo 'pw' | docker login --password-stdin; echo u:pw | chpasswd
    r"(?P<head>\b(?:echo|printf)(?:[ \t]+-[neE]+)?(?:[ \t]+[\"']?%s(?:\\n)?[\"']?)?[ \t]+)"
    r"(?P<pw>'[^'\n]*'|\"[^\"\n]*\"|[^\s|'\"]+)"
    r"(?=[ \t]*\|[^\n]{0,200}(?:-stdin|chpasswd|/dev/stdin))"
)
_LOGIN_VALUE = re.compile(  # SMTP_LOGIN=app:pw, "oauth_client": "id:secret"
    r"(?<![\w.-])(?P<key>[A-Za-z][\w.-]{0,63})(?P<sep>[\"']?[ \t]*[=:][ \t]*[\"']?)"
    r"(?P<pair>[\w.@+-]{1,64}:[^\s:/@\"',;]{4,256})(?=[\s\"',;]|$)")
_LOGIN_HINTS = re.compile(r"login|client|user|account|usr")
_AUTH_COMMAND = re.compile(  # redis MONITOR `"AUTH" "pw"`, SMTP/IMAP `AUTH PLAIN <base64>`
    r"(?P<head>\"?\bAUTH\"?[ \t]+(?:(?:PLAIN|LOGIN|XOAUTH2)[ \t]+|\"[^\"\s]*\"[ \t]+(?=\"))?)"
    r"(?P<pw>\"[^\"\n]+\"|[^\s\"]+)"
)
_AUTH_CALL = re.compile(  # mongo shell: db.auth("user", "pw")
    r"(?P<head>\.auth\([ \t]*([\"'])[^\"'\n]*\2[ \t]*,[ \t]*)(?P<pw>\"[^\"\n]*\"|'[^'\n]*')"
)
_ORACLE_HINTS = re.compile(r"sqlplus|expdp|impdp|\bexp\b|\bimp\b|rman|sqlldr")
_CLI_HINTS = re.compile(r"mysql|pass:|-U |net use")
_AUTH_PARAM = r"[\w.-]{1,64}[ \t]*=[ \t]*(?:\"[^\"\n]{0,1024}\"|[^\s\"',\]]{1,1024})"
_AUTH_PARAMS = re.compile(
    r"(?P<name>[\w.-]+)(?P<eq>[ \t]*=[ \t]*)(?P<value>\"[^\"\n]*\"|[^\s\",\]]+)")
# Parameters of Digest, SigV4 and the like that name, not prove: they stay.
_AUTH_PARAMS_SHOWN = frozenset({"username", "realm", "uri", "algorithm", "qop", "nc",
                                "credential", "signedheaders", "keyid", "headers", "created",
                                "expires", "domain", "stale", "charset", "userhash"})
_AUTH_HEADER = re.compile(  # any scheme (GenieKey, Splunk, SSWS, Api-Key...), Go's map[K:[V]]
    r"(?P<head>(?:\b|(?<=\\[rn]))(?:proxy-)?authorization\\?[\"']?[ \t]*[:=](?:\\?[ \t])*"
    r"\[?\\?[\"']?)"  # after an escaped newline too (`\r\nAuthorization:\ Token\ x`)
    r"(?P<scheme>[A-Za-z][\w.-]{0,31}(?:\\?[ \t])+(?=[^\s\"'\\,;\]]))?"
    rf"(?P<pw>{_AUTH_PARAM}(?:(?:[ \t]*,[ \t]*|[ \t]+){_AUTH_PARAM})*|[^\s\"'\\,;\]]+)",
    re.IGNORECASE,
)
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "ntlm", "apikey",
                           "api-key", "aws4-hmac-sha256", "geniekey", "splunk", "ssws", "key",
                           "dsn", "hmac", "signature", "oauth", "mac", "hoba", "vapid"})
_BEARER = re.compile(  # HAProxy escapes its spaces: `Bearer\\ x`
    r"(?P<head>\bbearer(?:\\?[ \t])+)(?P<pw>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_BASIC = re.compile(
    r"(?P<head>\bbasic[ \t]+)(?P<pw>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_COOKIE = re.compile(r"(?P<head>\b(?:set-)?cookie[ \t]*:[ \t]*)(?P<pw>[^\n\"'\\]+)",
                     re.IGNORECASE)
_COOKIE_PAIR = re.compile(r"(?P<name>[^\s=;,]+)=(?P<value>[^;\s,]*)")
_SESSION_COOKIE = re.compile(r"sid|sess|token|auth|jwt|remember|login|[xc]srf", re.IGNORECASE)
_COOKIE_ATTRIBUTES = frozenset({"path", "domain", "expires", "max-age", "samesite", "priority"})


def _redact_login_value(m: re.Match[str]) -> str:
    pair = login_password(m.group("pair")) if names_login(m.group("key")) else None
    if not pair:
        return m.group()
    return m.group()[: m.start("pair") - m.start() + pair.start("pw")] + REDACTED


def _redact_basic(m: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(m.group("pw"), validate=True)
    except (binascii.Error, ValueError):
        return m.group()
    return m.group("head") + REDACTED if b":" in decoded else m.group()


def _redact_auth_command(m: re.Match[str]) -> str:
    inner = m.group("pw").strip('"').rstrip(".,:;!")
    before = m.string[: m.start()].rstrip(" \t")
    command = not before or before.endswith((">", "\n", '"'))  # `127.0.0.1:6379> AUTH pw`
    if inner.isalpha() and (inner.islower() or inner.isupper()) and not (
            command and len(inner) >= 8 and inner.lower() not in _AUTH_WORDS):
        return m.group()  # AUTH failed:, AUTH OK
    return keep_quotes(m)


_AUTH_WORDS = frozenset({"required", "succeeded", "successful", "rejected", "disabled",
                         "complete", "completed", "mechanism", "mechanisms"})
_PGPASS = re.compile(  # ~/.pgpass: hostname:port:database:username:password
    r"^(?P<head>[ \t]*[\w.*-]*[A-Za-z.*][\w.*-]*:(?:\d{1,5}|\*):[\w.*-]+:[\w.*@-]+:)"
    r"(?P<pw>[^\s:][^\s]{0,1024})[ \t]*$")


def _redact_pgpass(m: re.Match[str]) -> str:
    return m.group() if m.group("pw").isdigit() else keep_head(m)


def _redact_authorization(m: re.Match[str]) -> str:
    """The whole credential after `Authorization:`, whatever its scheme; the scheme word stays.
    Not "authorization: denied" nor "authorization failed for user bob": a lowercase word after
    an unknown scheme word, or alone, is prose."""
    scheme, pw = (m.group("scheme") or "").strip(), m.group("pw")
    if scheme.lower() not in _AUTH_SCHEMES and pw.isalpha() and pw.islower():
        return m.group()
    if not is_secret_value(pw):
        return m.group()
    if "=" in pw and _AUTH_PARAMS.match(pw):
        return m.group("head") + (m.group("scheme") or "") + _AUTH_PARAMS.sub(_auth_param, pw)
    return m.group("head") + (m.group("scheme") or "") + REDACTED


def _auth_param(p: re.Match[str]) -> str:
    if p.group("name").lower() in _AUTH_PARAMS_SHOWN or not is_secret_value(p.group("value")):
        return p.group()
    quote = '"' if p.group("value").startswith('"') else ""
    return p.group("name") + p.group("eq") + quote + REDACTED + quote


def _redact_bearer(m: re.Match[str]) -> str:
    pw = m.group("pw")
    if pw.isalpha() and len(pw) < 24:  # "Bearer authentication failed"
        return m.group()
    return m.group("head") + REDACTED


def _redact_token_user(m: re.Match[str]) -> str:
    """`https://<key>@o450.ingest.sentry.io`, `https://<token>@github.com/org/repo.git`: a user
    name that is a key, not a name (`https://alice@bitbucket.org`, `ssh://git@host` stay)."""
    user = m.group("pw")
    if re.fullmatch(r"[0-9a-f]{32,}", user) or known_token().fullmatch(user) or (
            looks_random(user)) or _MIXED_TOKEN.fullmatch(user):
        return m.group("head") + REDACTED
    return m.group()


def _redact_cookies(m: re.Match[str]) -> str:
    def pair(p: re.Match[str]) -> str:
        name, value = p.group("name"), p.group("value")
        if name.lower() in _COOKIE_ATTRIBUTES or not is_secret_value(value):
            return p.group()
        if _SESSION_COOKIE.search(name) or sensitive_name(name) or (
                len(value) >= 16 and re.search(r"\d", value) and re.search(r"[A-Za-z]", value)):
            return f"{name}={REDACTED}"
        return p.group()

    return m.group("head") + _COOKIE_PAIR.sub(pair, m.group("pw"))


def _redact_userinfo(m: re.Match[str]) -> str:
    """Not `12:30@host.example.com` nor a digest's `sha256:...@...`: the password is no number."""
    if m.group("pw").isdigit():
        return m.group()
    return keep_head(m)
