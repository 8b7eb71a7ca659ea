"""Redaction: the one gate every cluster-read value passes before a model, Slack, the web, a log
or a snapshot file sees it.

Names stay, values go: `DB_PASSWORD=[REDACTED]` still tells a human the variable was set.

Text rules, each behind a cheap substring check:
- PEM private-key blocks, whole, across lines (one cut off before its END: to the end of the text);
  certificates are public and stay;
- credentials in URLs (`scheme://user:[REDACTED]@host`), Slack webhooks, `curl -u`, `mysql -p`,
  `redis-cli -a`; `Authorization:` headers, `Bearer` tokens, `Basic` credentials; JWTs;
- values of sensitive keys in `key=value`, `key: value`, JSON, escaped JSON, `--flag value`; a line
  that starts with such a key loses the rest of the line;
- any run of 20+ `[A-Za-z0-9+/_-]` in a known token format (GitHub, Slack, AWS, Google, Stripe,
  OpenAI, Anthropic, GitLab, npm, Hugging Face) or random-looking: mixed case, not made of words,
  Shannon entropy >= min(4.0, 0.8 * log2(length)) bits/char. Hashes, UUIDs, digests and pod names
  are single-case and stay.

`tools.scrubbing.redact_object` applies them to the fields of Kubernetes objects where values
live (env, args, ConfigMap data, annotations, messages) and replaces Secret data outright.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections import Counter
from collections.abc import Callable

REDACTED = "[REDACTED]"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# --- key names --------------------------------------------------------------------------------

_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STRONG = ("password", "passwd", "passphrase", "secret", "token", "apikey", "credential",
           "privatekey", "accesskey", "secretkey")
_NOT_STRONG = frozenset({"tokens", "tokenizer", "tokenize", "tokenized"})
_EXACT = frozenset({"pwd", "pass", "auth", "dsn", "creds", "signature"})
_EXACT_BROAD = _EXACT | {"key", "keys", "private", "conn", "jwt", "salt", "cookie", "otp"}
_KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "ssh", "encryption", "signing", "master", "client",
    "license", "app", "service", "account", "storage", "webhook", "hmac", "aes", "gpg", "pgp",
    "deploy", "admin", "root", "auth", "session", "crypto", "enc", "sign", "shared",
})
_CONN_PREFIXES = frozenset({
    "database", "db", "redis", "mongo", "mongodb", "postgres", "postgresql", "pg", "mysql",
    "amqp", "rabbitmq", "broker", "sentry", "conn", "connection",
})
_CONN_LAST = frozenset({"url", "uri", "dsn", "str", "string"})
_VALUE_SUFFIX = frozenset({
    "value", "hash", "b64", "base64", "encoded", "encrypted", "plain", "plaintext", "raw", "text",
    "str", "string", "data", "id", "hex", "bytes",
})
# A name ending in one of these holds something about a secret, not the secret itself.
_SAFE_LAST = frozenset({
    "name", "names", "file", "files", "path", "paths", "dir", "directory", "ref", "url", "uri",
    "endpoint", "host", "hostname", "port", "ttl", "expiry", "expires", "expiration", "timeout",
    "type", "kind", "length", "len", "size", "count", "enabled", "enable", "disabled",
    "required", "mode", "header", "version", "format", "algorithm", "policy", "provider",
    "location", "mount", "prefix", "tokens",
})


@functools.lru_cache(maxsize=4096)  # names repeat across every replica of every workload
def sensitive_name(name: str, *, broad: bool = False) -> bool:
    """Whether a key names a secret.

    In log text the secret word must name the value itself (`access_token`, `passwordHash`,
    `X-Api-Key`; not `tokenManager` or `--auth-local`). Env names and ConfigMap keys are `broad`:
    the word may sit anywhere, and KEY, PRIVATE, CONN and DATABASE_URL-like names count too.
    """
    segs = [s.lower() for s in _SEGMENT.findall(name)]
    if not segs:
        return False
    if broad and segs[-1] in _CONN_LAST and _CONN_PREFIXES.intersection(segs):
        return True
    if segs[-1] in _SAFE_LAST:
        return False
    if broad:
        joined = "".join(seg for seg in segs if seg not in _NOT_STRONG)
        return bool(_EXACT_BROAD.intersection(segs)) or any(word in joined for word in _STRONG)
    if len(segs) > 1 and (segs[-1] in _VALUE_SUFFIX or segs[-1].isdigit()):
        segs = segs[:-1]  # password_hash, secret_id, password2
    last = segs[-1]
    if last in _EXACT or (last not in _NOT_STRONG and any(word in last for word in _STRONG)):
        return True
    return last in ("key", "keys") and len(segs) > 1 and segs[-2] in _KEY_QUALIFIERS


_PLACEHOLDER = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_]\w*|\{\{.*\}\}|\*+|%\(\w+\)s|<[\w -]*>|\[REDACTED.*",
    re.DOTALL,
)
_NOT_SECRET = frozenset({"", "true", "false", "null", "none", "nil", "yes", "no", "redacted"})
_FILE_PATH = re.compile(r"(?:/[\w.@~-]+){2,}/?")


def is_secret_value(value: str) -> bool:
    """False for values that say nothing (booleans, `$(VAR)` references, templates, `***`) and
    for file paths such as `/var/secrets/google/key.json`, which SREs need to see."""
    v = value.strip()
    if v.lower() in _NOT_SECRET or _PLACEHOLDER.fullmatch(v):
        return False
    return not (_FILE_PATH.fullmatch(v) and not _looks_random(v))


# --- text rules -------------------------------------------------------------------------------

_PEM = re.compile(
    r"(?P<head>-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----)"
    r"(?:.*?(?P<end>-----END (?P=label)-----)|.*)",
    re.DOTALL,
)
_URL_CREDENTIALS = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s\"'<>]*:)(?P<pw>[^\s/\"'<>]+)(?=@)"
)
_SLACK_WEBHOOK = re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[\w/-]+")
_CURL_USER = re.compile(  # not `docker run -u 1000:1000`
    r"(?<!\S)(?P<head>(?:-u|--user)[ \t]+(?!\d+:\d+(?:\s|$))[^\s:\"']+:)(?P<pw>[^\s\"']+)"
)
_CLI_PASSWORD = re.compile(  # mysql -pPW, redis-cli -a PW, sshpass -p PW, mongosh -p PW
    r"(?P<head>\b(?:mysql(?:dump|admin)?\b[^\n]*?[ \t]-p|redis-cli\b[^\n]*?[ \t]-a[ \t]+"
    r"|(?:sshpass|mongosh?)\b[^\n]*?[ \t]-p[ \t]+))(?P<pw>[^\s\"']+)"
)
CLI_PASSWORD_FLAG = {"redis-cli": "-a", "sshpass": "-p", "mongo": "-p", "mongosh": "-p"}
_AUTH_HEADER = re.compile(
    r"(?P<head>\b(?:proxy-)?authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?)"
    r"(?P<scheme>(?:bearer|basic|token|digest|negotiate|ntlm|apikey|aws4-hmac-sha256)[ \t]+)?"
    r"(?P<pw>[^\s\"'\\,;]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\bbearer[ \t]+)(?P<pw>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_BASIC = re.compile(
    r"(?P<head>\bbasic[ \t]+)(?P<pw>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")

_KEY_HINT = ("pass", "pwd", "secret", "token", "key", "cred", "auth", "dsn", "signature")
_KEY = rf"[A-Za-z0-9_.-]*?(?:{'|'.join(_KEY_HINT)})[A-Za-z0-9_.-]*"  # then `sensitive_name`
_LINE_ASSIGNMENT = re.compile(
    rf"^(?P<head>[ \t]*(?:-[ \t]+|export[ \t]+)?(?P<q>[\"']?)(?P<key>{_KEY})(?P=q)"
    r"[ \t]*(?::=|[:=])(?!=)[ \t]*)(?P<pw>[^\s\"'|>](?:(?![ \t]+[\w.-]+=)[^\n])*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_ASSIGNMENT = re.compile(
    rf"(?<![A-Za-z0-9_.-])(?P<head>(?P<q>\\?[\"']?)(?P<key>{_KEY})(?P=q)"
    r"(?P<sep>[ \t]*(?:=>|:=|[:=])(?!=)[ \t]*))"
    r"(?P<pw>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|\\\"(?:[^\\\n]|\\[^\"])*\\\"|[^\s\"'`,;&{\[][^\s\"'`,;&]*)",
    re.IGNORECASE,
)
_FLAG_VALUE = re.compile(
    rf"(?<![\w-])(?P<head>--?(?P<key>{_KEY})[ \t]+)(?P<pw>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'-]\S*)",
    re.IGNORECASE,
)
_KEY_POSITION = "{,;([&?:|\"'"

_KNOWN_TOKEN = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|xapp-\d-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|AIza[\w-]{35}"
    r"|[rs]k_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,}|glpat-[\w-]{20,}"
    r"|npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{30,}|sk-(?:ant-|proj-|svcacct-|admin-)?(?=[\w-]*[A-Z])"
    r"[\w-]{20,}"
)
_CERTIFICATE = re.compile(r"(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)", re.DOTALL)
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{20,}={0,2}(?![A-Za-z0-9+/=_-])")
# Short words that CamelCase identifiers are made of (AddOrUpdateTaintOnNode, GetPodByName).
_SHORT_WORDS = sorted(set(
    "in on or to by of as up is at no if id ip do io os get set add new run pod err map key log "
    "max min use has can all any not for the and dir env api app ctx msg req obj val var sub net "
    "tcp udp dns vol dev cpu mem raw job tag top old end out off via too may per cfg src dst tmp "
    "pkg cmd fmt str mgr ref uid gid pid url uri ttl tls ssl rpc sig arg opt buf len num now one "
    "two big bad pvc csi nfs ebs gce aws ctl ops".split()), key=len, reverse=True)
_WORD = re.compile(
    r"[A-Z]?[a-z]{3,}|[A-Z]{2,}(?=[A-Z][a-z]|[^A-Za-z]|$)|(?:"
    + "|".join(w.title() + "|" + w for w in _SHORT_WORDS)
    + r")(?=[A-Z0-9_/-]|$)"
)
_PIECES = re.compile(r"[-_/+]+")
_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d*)?")
_LOWER_PIECE = re.compile(r"[a-z0-9._-]*")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def _looks_random(token: str) -> bool:
    """Mixed case, not made of words, high Shannon entropy. Measured on random base62/base64:
    misses ~3.5% of 20-character tokens, ~0.8% at 32, ~0.3% at 40; flags 3 of 11,908
    mixed-case identifiers from the Kubernetes source."""
    n = len(token)
    chars = set(token)
    if not (chars & _UPPER and chars & _LOWER):
        return False
    pieces = _PIECES.split(token)  # GlobalSign_Root_CA_-_R3, io_k8s_api_core_v1_PodSpec
    if len(pieces) > 1 and all(map(_is_name_piece, pieces)):
        return False
    if sum(map(len, _WORD.findall(token))) >= 0.7 * n:  # CamelCase identifiers, paths
        return False
    entropy = -sum(c / n * math.log2(c / n) for c in Counter(token).values())
    return entropy >= min(4.0, 0.8 * math.log2(n))


def _is_name_piece(piece: str) -> bool:
    """Short, a version, or few case/digit runs (`DigiCert`, `RSA4096`, not `xP1Fz0t9Ob`)."""
    n = len(piece)
    return n <= 4 or bool(_VERSION.fullmatch(piece)) or n >= 3 * len(_SEGMENT.findall(piece))


def _judge_candidate(m: re.Match[str]) -> str:
    token = m.group()
    if _KNOWN_TOKEN.fullmatch(token):
        return REDACTED
    if "/" not in token:
        return REDACTED if _looks_random(token) else token
    # A URL path glued to a token: keep the lowercase path pieces at either end.
    pieces = token.split("/")
    start, end = 0, len(pieces)
    while start < end and _LOWER_PIECE.fullmatch(pieces[start]):
        start += 1
    while end > start and _LOWER_PIECE.fullmatch(pieces[end - 1]):
        end -= 1
    core = "/".join(pieces[start:end])
    if len(core) < 16 or not (_KNOWN_TOKEN.fullmatch(core) or _looks_random(core)):
        return token
    return "/".join([*pieces[:start], REDACTED, *pieces[end:]])


def _keep_head(m: re.Match[str]) -> str:
    """Replacement for rules with a `head` to keep and a `pw` to hide (unless it says nothing)."""
    if not is_secret_value(m.group("pw")):
        return m.group()
    return m.group("head") + (m.groupdict().get("scheme") or "") + REDACTED


def _keep_key(*, inline: bool) -> Callable[[re.Match[str]], str]:
    """Replacement for assignments: hide `pw` when `key` names a secret; keep its quotes."""

    def replace(m: re.Match[str]) -> str:
        pw = m.group("pw")
        if pw.startswith('\\"'):
            open_, close, inner = '\\"', '\\"', pw[2:-2]
        elif pw[:1] in "\"'":
            open_, close, inner = pw[0], pw[0], pw[1:-1]
        else:
            inner = pw.rstrip(")]}>")
            open_, close = "", pw[len(inner) :]
        if not sensitive_name(m.group("key")) or not is_secret_value(inner):
            return m.group()
        if (inline and ":" in (m.groupdict().get("sep") or "") and inner.isalpha()
                and inner.islower() and not _at_key_position(m)):
            return m.group()  # prose such as "failed to refresh token: context deadline"
        return m.group("head") + open_ + REDACTED + close

    return replace


def _at_key_position(m: re.Match[str]) -> bool:
    before = m.string[m.string.rfind("\n", 0, m.start()) + 1 : m.start()].rstrip(" \t")
    return not before or before[-1] in _KEY_POSITION


def _redact_basic(m: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(m.group("pw"), validate=True)
    except (binascii.Error, ValueError):
        return m.group()
    return m.group("head") + REDACTED if b":" in decoded else m.group()


def _redact_bearer(m: re.Match[str]) -> str:
    pw = m.group("pw")
    if pw.isalpha() and len(pw) < 24:  # "Bearer authentication failed"
        return m.group()
    return m.group("head") + REDACTED


_SEPARATOR = re.compile(r"[=:\s]")
_SUB_ASSIGNMENT_LINE = _keep_key(inline=False)
_SUB_ASSIGNMENT = _keep_key(inline=True)


def redact_text(text: str) -> str:
    """Free text (log lines, messages, annotation and ConfigMap values) with secrets hidden."""
    if len(text) < 20 and not _SEPARATOR.search(text):
        return text  # every rule needs a separator or a 20-character token
    lower = text.lower()
    if "-----begin" in lower and "private key" in lower:
        text = _PEM.sub(lambda m: m.group("head") + REDACTED + (m.group("end") or ""), text)
    if "://" in text:
        if "@" in text:
            text = _URL_CREDENTIALS.sub(_keep_head, text)
        if "hooks.slack.com" in lower:
            text = _SLACK_WEBHOOK.sub(rf"\1{REDACTED}", text)
    if "-u" in text:
        text = _CURL_USER.sub(_keep_head, text)
    if " -p" in text or " -a" in text:
        text = _CLI_PASSWORD.sub(_keep_head, text)
    if "authorization" in lower:
        text = _AUTH_HEADER.sub(_keep_head, text)
    if "bearer" in lower:
        text = _BEARER.sub(_redact_bearer, text)
    if "basic" in lower:
        text = _BASIC.sub(_redact_basic, text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if any(hint in lower for hint in _KEY_HINT):
        text = _LINE_ASSIGNMENT.sub(_SUB_ASSIGNMENT_LINE, text)
        text = _ASSIGNMENT.sub(_SUB_ASSIGNMENT, text)
        if "-" in text:
            text = _FLAG_VALUE.sub(_SUB_ASSIGNMENT_LINE, text)
    if "-----BEGIN CERTIFICATE-----" not in text:
        return _CANDIDATE.sub(_judge_candidate, text)
    # Certificates are public and their dates matter (x509 expiry): leave their bodies alone.
    parts = _CERTIFICATE.split(text)
    return "".join(
        part if i % 2 else _CANDIDATE.sub(_judge_candidate, part) for i, part in enumerate(parts)
    )


@functools.lru_cache(maxsize=8192)
def _redact_short(text: str) -> str:
    return redact_text(text)


def redact_value(text: str) -> str:
    """`redact_text` for object fields: env values, args and messages repeat across replicas."""
    return _redact_short(text) if len(text) <= 512 else redact_text(text)


def redact_line(line: str) -> str:
    """One log line. The same rules as `redact_text`; a PEM block split over lines is caught
    line by line, its base64 body lines being random-looking tokens."""
    return redact_text(line)
