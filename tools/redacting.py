"""Redaction: the one gate every cluster-read value passes before a model, Slack, the web, a log
or a snapshot file sees it.

Names stay, values go: `DB_PASSWORD=[REDACTED]` still tells a human the variable was set.

First what hides a key is undone (terminal colours, JSON-escaped `\\/` and `\\u0077`). Then the
rules, each behind a cheap substring check; those that span lines run on the whole text, the
others line by line:
- PEM private-key blocks, whole, across lines (one cut off before its END: to the end of the text),
  PuTTY private lines; certificates are public and stay;
- credentials in URLs (`scheme://user:[REDACTED]@host`, any character but space and quotes),
  token-only userinfo, Slack webhooks, `curl -u`, the password flags of database, registry and
  directory clients (`mysql -p`, `docker login -p`, `sqlcmd -P`, `ldapsearch -w`,
  `openssl -passin pass:`, `net use /user:`), passwords piped to `--password-stdin`/`chpasswd`,
  `AUTH` commands, `db.auth()`; `Authorization:` headers, `Bearer` tokens, `Basic` credentials,
  JWTs, `Cookie:` session values; percent-encoded runs are judged decoded;
- values of sensitive keys in `key=value`, `key: value`, JSON (escaped to any depth, or with the
  value on the next line), `--flag value`, XML elements and `name=/value=` pairs, YAML block
  scalars, `name:`/`value:` env lists, `kubectl describe` output, connection strings, SQL
  (`PASSWORD '...'`, `IDENTIFIED BY`), config directives (`requirepass`,
  `proxy_set_header X-Api-Key`); a line that starts with such a key loses the rest of the line;
  prose ("the password is X") when X looks like a credential, not a word;
- any run of 20+ token characters (`[A-Za-z0-9+/_~.=%-]`) that is a known vendor token
  (`secret_prefixes.yaml`, plus the user's own prefixes) or random-looking: mixed case, not made
  of words, Shannon entropy >= min(4.0, 0.8 * log2(length)) bits/char. Its `name=` prefix and
  the word-like pieces of a URL path stay. Hashes, UUIDs, digests, hostnames and pod names are
  single-case and stay;
- with `configure(pii=True)`: e-mail local parts and card numbers that pass the Luhn check.

`tools.scrubbing.redact_object` applies them to the fields of Kubernetes objects where values
live (env, args, ConfigMap data, labels, annotations, messages) and replaces Secret data outright.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote

import yaml

REDACTED = "[REDACTED]"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PREFIXES_FILE = Path(__file__).with_name("secret_prefixes.yaml")


# --- policy -----------------------------------------------------------------------------------

class _Policy:
    pii = False
    extra_prefixes: tuple[str, ...] = ()


def configure(*, pii: bool = False, extra_prefixes: Iterable[str] = ()) -> None:
    """Set what redaction hides beyond secrets, once, at the entry point (from the settings'
    `redaction` section): personal data (`pii`), and token prefixes of the user's own
    (`extra_prefixes`, such as `acme_live_`: the prefix followed by 8+ token characters)."""
    _Policy.pii = pii
    _Policy.extra_prefixes = tuple(p for p in extra_prefixes if p)
    _known_token.cache_clear()
    _redact_short.cache_clear()


# --- key names --------------------------------------------------------------------------------

_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STRONG = ("password", "passwd", "passwort", "passphrase", "secret", "token", "apikey",
           "credential", "privatekey", "accesskey", "secretkey", "mnemonic", "seedphrase",
           "sessionid", "userkey")
# A strong word ends a segment, perhaps with a plural or a value suffix: `dbpassword`,
# `passwordhash`, `apikeys`; not `secretsmanager` or `tokenmanager`.
_STRONG_ENDINGS = tuple(w + end for w in _STRONG for end in ("", "s", "hash", "value", "str"))
_NOT_STRONG = frozenset({"tokens", "tokenizer", "tokenize", "tokenized"})
_EXACT = frozenset({"pwd", "pw", "pass", "auth", "dsn", "creds", "signature", "sig", "sessid",
                    "passin", "passout", "privkey", "masterauth", "xsrf", "csrf", "psk", "totp",
                    "pin", "bearer", "kennwort", "contrasena", "senha", "wachtwoord", "haslo",
                    "parola", "salasana", "losenord"})
# Whole names (separators dropped) that hold a secret though no word above says so.
_NAMED_SECRETS = ("motdepasse", "secretkeybase", "erlangcookie", "honeycombteam",
                  "subscriptionkey", "clickhousekey", "insertkey", "connectionstring",
                  "presharedkey", "otpseed", "unlockcode", "accesscode", "adminpin")
_EXACT_BROAD = _EXACT | {"key", "keys", "private", "conn", "jwt", "salt", "cookie", "otp"}
_PASS_WORDS = frozenset({"bypass", "compass", "multipass", "onepass", "singlepass", "firstpass"})
_KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "ssh", "encryption", "decryption", "signing", "master",
    "client", "license", "app", "application", "service", "account", "storage", "webhook",
    "hmac", "aes", "gpg", "pgp", "deploy", "admin", "root", "auth", "session", "crypto", "enc",
    "sign", "shared", "wallet", "signer", "validator", "ingest", "integration", "routing",
    "server", "write", "unseal", "recovery", "consumer", "personal", "user",
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
    "location", "mount", "prefix", "tokens", "stdin", "min", "max", "require", "source",
    "serializer", "deserializer", "issuer", "audience", "store", "domain", "hasher", "origins",
    "template", "cidr", "age", "level", "registry", "hint", "hosts",
})


@functools.lru_cache(maxsize=4096)  # names repeat across every replica of every workload
def sensitive_name(name: str, *, broad: bool = False) -> bool:
    """Whether a key names a secret, in any case (`password`, `PassWord`, `PASSWD`, `pw`).

    In log text the secret word must name the value itself (`access_token`, `passwordHash`,
    `X-Api-Key`, `session_id`; not `tokenManager` or `--auth-local`). Env names and ConfigMap
    keys are `broad`: the word may sit anywhere, and KEY, PRIVATE, CONN and DATABASE_URL-like
    names count too.
    """
    segs = [s.lower() for s in _SEGMENT.findall(name)]
    if not segs:
        return False
    if broad and segs[-1] in _CONN_LAST and _CONN_PREFIXES.intersection(segs):
        return True
    if segs[-1] in _SAFE_LAST:
        return False
    if "".join(segs).endswith(_NAMED_SECRETS):
        return True
    if broad:
        joined = "".join(seg for seg in segs if seg not in _NOT_STRONG)
        return (bool(_EXACT_BROAD.intersection(segs)) or any(w in joined for w in _STRONG)
                or any(_ends_in_pass(seg) for seg in segs))
    if len(segs) > 1 and segs[-2:] == ["session", "id"]:
        return True
    if len(segs) > 1 and (segs[-1] in _VALUE_SUFFIX or segs[-1].isdigit()):
        segs = segs[:-1]  # password_hash, secret_id, password2
    last = segs[-1]
    if last in _EXACT or _ends_in_pass(last) or (
            last not in _NOT_STRONG and any(map(last.endswith, _STRONG_ENDINGS))):
        return True
    if len(segs) > 1:  # PassWord, Pass_Phrase: the word spans two segments
        pair = segs[-2] + last
        if any(w in pair and w not in segs[-2] for w in _STRONG):
            return True
    return last in ("key", "keys") and len(segs) > 1 and segs[-2] in _KEY_QUALIFIERS


def _ends_in_pass(seg: str) -> bool:
    """`storepass`, `keypass`, `requirepass`, `pgpass`; not `bypass`."""
    return len(seg) > 4 and seg.endswith("pass") and seg not in _PASS_WORDS


_PLACEHOLDER = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Z_][A-Z0-9_]*|\$[a-z_][a-z0-9_]*|\{\{.*[\s.].*\}\}|\*+"
    r"|%\(\w+\)s|<[\w -]*>|(?:file|fd):\S+|stdin|SIG[A-Z]{2,8}(?:[ \t]+[a-z][a-z ]*)?"
    r"|.*\[REDACTED(?:\](?![\w!#$%&*+/=?^~-])|$).*",  # what was redacted, not `[REDACTED]pw`
    re.DOTALL,
)
_NOT_SECRET = frozenset({"", "true", "false", "null", "none", "nil", "yes", "no", "redacted",
                         "enabled", "disabled", "on", "off", "required", "optional"})
_FILE_PATH = re.compile(r"(?:/[\w.@~-]+)+/?")
_RELATIVE_PATH = re.compile(r"[a-z0-9_.-]+(?:/[a-z0-9_.-]+){2,}")  # secret/data/shop/db


def is_secret_value(value: str) -> bool:
    """False for values that say nothing (booleans, `$(VAR)` references, templates, `***`,
    what was already redacted) and for paths such as `/var/secrets/google/key.json` or the Vault
    path `secret/data/shop/db`, which SREs need to see."""
    v = value.strip()
    if v.lower() in _NOT_SECRET or _PLACEHOLDER.fullmatch(v):
        return False
    if _RELATIVE_PATH.fullmatch(v):
        return False
    return not (_FILE_PATH.fullmatch(v) and not _looks_random(v))


# --- known token formats ----------------------------------------------------------------------

class _Vendors:
    """The vendor table: literal prefixes (a cheap first check), the patterns they start, and
    the few prefix-less shapes."""

    def __init__(self, table: list[dict[str, object]], extra: tuple[str, ...]) -> None:
        prefixes: list[str] = []
        patterns, shapes = [], []
        for entry in table:
            if "shape" in entry:
                shapes.append(f"(?:{entry['shape']})")
                continue
            given = entry["prefix"]
            literal = [str(p) for p in given] if isinstance(given, list) else [str(given)]
            prefixes += literal
            patterns.append(f"(?:{'|'.join(map(re.escape, literal))})(?:{entry['body']})")
        prefixes += extra
        patterns += [re.escape(p) + r"[\w+/~.=%-]{8,}" for p in extra]
        self.prefixes = tuple(prefixes)
        self.tokens = re.compile("|".join(patterns))
        self.shapes = re.compile("|".join(shapes) or "(?!)")

    def fullmatch(self, run: str) -> bool:
        return bool((run.startswith(self.prefixes) and self.tokens.fullmatch(run))
                    or self.shapes.fullmatch(run))


@functools.cache
def _known_token() -> _Vendors:
    """The vendor table, read at first use, with the user's own prefixes."""
    table = yaml.safe_load(PREFIXES_FILE.read_text(encoding="utf-8"))
    return _Vendors(table, _Policy.extra_prefixes)


# --- text rules -------------------------------------------------------------------------------

_S = r"[^\S\n]"  # a space on the line: blanks, tabs, no-break spaces
_PEM = re.compile(
    r"(?P<head>-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----)"
    r"(?:.*?(?P<end>-----END (?P=label)-----)|.*)",
    re.DOTALL,
)
_URL_CREDENTIALS = re.compile(  # the password ends at the first `@` followed by a host
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s\"'<>\[\]]*:)(?!\d{1,5}(?:[/?#]|$))"
    r"(?P<pw>[^\s\"'<>\\]+?)(?=@[\w.\[\]:-]*(?:[/?(),;\s\"'<>\\]|$))"
)
_URL_TOKEN_USER = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<pw>[\w-]{20,})(?=@)")
_SLACK_WEBHOOK = re.compile(  # Slack, Teams (outlook.office.com, *.webhook.office.com)
    r"((?:hooks\.slack\.com/(?:services|workflows|triggers)|\.office(?:365)?\.com/webhook(?:b2)?)/)"
    r"[\w/@.-]+")
_MATTERMOST_HOOK = re.compile(r"(/hooks/)[a-z0-9]{26}(?![\w-])")
_ORACLE_LOGIN = re.compile(  # jdbc:oracle:thin:scott/tiger@db, sqlplus scott/tiger@orcl
    r"(?P<head>(?:\bjdbc:oracle:(?:thin|oci8?):|\b(?:sqlplus|expdp|impdp|exp|imp|rman|sqlldr)"
    r"(?:[ \t]+-\w+)*[ \t]+(?:target[ \t]*=?[ \t]*)?)[\w$#.]+/)(?P<pw>[^\s@/\\\"']+)(?=@)",
    re.IGNORECASE,
)
_CURL_USER = re.compile(  # not `docker run -u 1000:1000`
    r"(?<!\S)(?P<head>(?:-u|--user)[ \t]+(?!\d+:\d+(?:\s|$))[^\s:\"']+:)(?P<pw>[^\s\"']+)"
)
_CLI_PASSWORD = re.compile(
    r"(?P<head>\b(?:mysql(?:dump|admin)?\b[^\n]{0,200}?[ \t]-p"
    r"|redis-cli\b[^\n]{0,200}?[ \t]-a[ \t]+"
    r"|(?:sshpass|mongosh?|rabbitmqadmin|twine)\b[^\n]{0,200}?[ \t]-p[ \t]+"
    r"|(?:docker|podman|buildah|skopeo|nerdctl|oras|az|oc|cf|helm[ \t]+registry|crane[ \t]+auth)"
    r"[ \t]+login\b[^\n]{0,200}?[ \t]-p[ \t]+"
    r"|(?:sqlcmd|bcp|mosquitto_(?:pub|sub|rr))\b[^\n]{0,200}?[ \t]-P[ \t]*"
    r"|ldap\w*\b[^\n]{0,200}?[ \t]-w[ \t]+"
    r"|htpasswd[ \t]+-\w*b\w*[ \t]+\S+[ \t]+\S+[ \t]+)"
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
_AUTH_COMMAND = re.compile(  # redis MONITOR `"AUTH" "pw"`, SMTP/IMAP `AUTH PLAIN <base64>`
    r"(?P<head>\"?\bAUTH\"?[ \t]+(?:(?:PLAIN|LOGIN|XOAUTH2)[ \t]+|\"[^\"\s]*\"[ \t]+(?=\"))?)"
    r"(?P<pw>\"[^\"\n]+\"|[^\s\"]+)"
)
_AUTH_CALL = re.compile(  # mongo shell: db.auth("user", "pw")
    r"(?P<head>\.auth\([ \t]*([\"'])[^\"'\n]*\2[ \t]*,[ \t]*)(?P<pw>\"[^\"\n]*\"|'[^'\n]*')"
)
_ORACLE_HINTS = re.compile(r"sqlplus|expdp|impdp|\bexp\b|\bimp\b|rman|sqlldr")
_CLI_HINTS = re.compile(r"mysql|redis-cli|sshpass|mongo|rabbitmqadmin|twine|login|sqlcmd|bcp"
                        r"|mosquitto|ldap|pass:|htpasswd|-U |net use")
_AUTH_PARAM = r"[\w.-]{1,64}[ \t]*=[ \t]*(?:\"[^\"\n]{0,1024}\"|[^\s\"',\]]{1,1024})"
_AUTH_PARAMS = re.compile(
    r"(?P<name>[\w.-]+)(?P<eq>[ \t]*=[ \t]*)(?P<value>\"[^\"\n]*\"|[^\s\",\]]+)")
# Parameters of Digest, SigV4 and the like that name, not prove: they stay.
_AUTH_PARAMS_SHOWN = frozenset({"username", "realm", "uri", "algorithm", "qop", "nc",
                                "credential", "signedheaders", "keyid", "headers", "created",
                                "expires", "domain", "stale", "charset", "userhash"})
_AUTH_HEADER = re.compile(  # any scheme (GenieKey, Splunk, SSWS, Api-Key...), Go's map[K:[V]]
    r"(?P<head>\b(?:proxy-)?authorization\\?[\"']?[ \t]*[:=][ \t]*\[?\\?[\"']?)"
    r"(?P<scheme>[A-Za-z][\w.-]{0,31}[ \t]+(?=[^\s\"'\\,;\]]))?"
    rf"(?P<pw>{_AUTH_PARAM}(?:(?:[ \t]*,[ \t]*|[ \t]+){_AUTH_PARAM})*|[^\s\"'\\,;\]]+)",
    re.IGNORECASE,
)
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "ntlm", "apikey",
                           "api-key", "aws4-hmac-sha256", "geniekey", "splunk", "ssws", "key",
                           "dsn", "hmac", "signature", "oauth", "mac", "hoba", "vapid"})
_BEARER = re.compile(r"(?P<head>\bbearer[ \t]+)(?P<pw>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_BASIC = re.compile(
    r"(?P<head>\bbasic[ \t]+)(?P<pw>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_COOKIE = re.compile(r"(?P<head>\b(?:set-)?cookie[ \t]*:[ \t]*)(?P<pw>[^\n\"'\\]+)",
                     re.IGNORECASE)
_COOKIE_PAIR = re.compile(r"(?P<name>[^\s=;,]+)=(?P<value>[^;\s,]*)")
_SESSION_COOKIE = re.compile(r"sid|sess|token|auth|jwt|remember|login|[xc]srf", re.IGNORECASE)
_COOKIE_ATTRIBUTES = frozenset({"path", "domain", "expires", "max-age", "samesite", "priority"})

# Words a sensitive key contains, grouped by first letter (the regex engine tries fewer).
_HINTS = (r"(?:p(?:ass|w|sk|in|arola)|s(?:ecret|ig|ess|enha|alasana)|token|key|c(?:red|srf|ookie"
          r"|on(?:n|trase))|auth|dsn|mnemonic|honeycomb|kennwort|wachtwoord|haslo|losenord|t?otp"
          r"|bearer|code)")
_KEY_HINT = re.compile(_HINTS)  # on lowercased text
# A key is a whole run of name characters holding a hint, then `sensitive_name` judges it. Both
# sides are bounded: an unbounded key made each try scan the rest of a long run (quadratic).
_KEY_MAX = 64
_KEY = rf"[A-Za-z0-9_.-]{{0,{_KEY_MAX}}}?{_HINTS}[A-Za-z0-9_.-]{{0,{_KEY_MAX}}}"
_LINE_ASSIGNMENT = re.compile(
    rf"^(?P<head>{_S}*(?:-{_S}+|export{_S}+)?(?P<q>[\"']?)(?P<key>{_KEY})(?P=q)"
    rf"{_S}*(?:::|:=|[:=：＝])(?![=/]){_S}*)(?P<pw>[^\s\"'|>]\S*(?:{_S}+(?![\w.-]+=)\S+)*){_S}*$",
    re.IGNORECASE | re.MULTILINE,
)
_ASSIGNMENT = re.compile(
    rf"(?<![A-Za-z0-9_.-])(?P<head>(?P<q>\\*[\"']?)(?P<key>{_KEY})(?P=q)"
    rf"(?P<sep>{_S}*(?:=>|:=|[:=：＝])(?![=/]){_S}*))"
    r"(?P<pw>\"(?:[^\"\\\n]|\\.){0,8192}\"|'[^'\n]{0,8192}'"
    r"|(?P<bs>\\+)\"(?:(?!(?P=bs)\").){0,8192}(?P=bs)\""  # values are bounded: no quadratic
    r"|[^\s\"'`,;&{\[](?:(?!\\[nrt])[^\s\"'`,;&]|[,;&](?![\s\"'{\[]|$|[\w.\[\]-]+[=:])){0,1024})",
    re.IGNORECASE,
)
_FLAG_VALUE = re.compile(
    rf"(?<![\w-])(?P<head>--?(?P<key>{_KEY})[ \t]+)"
    r"(?P<pw>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'-]\S{0,1024})",
    re.IGNORECASE,
)
_KEY_POSITION = "{,;([&?:|\"'"
_XML_ELEMENT = re.compile(
    rf"(?P<head><(?P<tag>(?:[\w.-]+:)?(?P<key>{_KEY}))(?:\s[^<>]*)?>)"
    r"(?P<pw><!\[CDATA\[.*?\]\]>|[^<]+)(?=</(?P=tag)>)",
    re.IGNORECASE | re.DOTALL,
)
_NAMED_VALUE = re.compile(  # <add key="K" value="V"/>, {"name":"K","value":"V"}, YAML env lists
    rf"(?P<head>\b(?:name|key)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?(?P<key>{_KEY})\\?[\"']?"
    r"(?:[ \t]*,?[ \t]*|[ \t]*\n[ \t]*)\\?[\"']?value\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
    r"|\b(?:name|key)[ \t]*=[ \t]*[\"'](?P<key2>" + _KEY + r")[\"'][^<>\n]{0,200}>)"
    r"(?P<pw>[^\"'\\\n<>]+)",
    re.IGNORECASE,
)
_YAML_BLOCK = re.compile(
    rf"^(?P<head>(?P<indent>{_S}*)(?:-{_S}+)?[\"']?(?P<key>{_KEY})[\"']?{_S}*:{_S}*[|>][-+0-9]*"
    rf"{_S}*\n)(?P<pw>(?:(?P=indent){_S}+\S[^\n]*(?:\n|$)|{_S}*\n)+)",
    re.IGNORECASE | re.MULTILINE,
)
_NEXT_LINE_VALUE = re.compile(  # "password":\n    "x"
    rf"(?P<head>(?P<q>[\"'])(?P<key>{_KEY})(?P=q)[ \t]*:[ \t]*\r?\n[ \t]*)"
    r"(?P<pw>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*')",
    re.IGNORECASE,
)
_NESTED_VALUE = re.compile(  # "secret": {"value": "x"}
    rf"(?P<head>[\"']?(?P<key>{_KEY})[\"']?[ \t]*:[ \t]*\{{[ \t]*[\"']?"
    r"(?:value|data|plaintext|text)[\"']?[ \t]*:[ \t]*)(?P<pw>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*')",
    re.IGNORECASE,
)
_PUTTY_PRIVATE = re.compile(
    r"(?P<head>^Private-Lines:[ \t]*\d+[ \t]*\r?\n)(?P<pw>(?:[A-Za-z0-9+/=]+(?:\r?\n|$))+)",
    re.MULTILINE,
)
_DESCRIBED = re.compile(  # `kubectl describe configmap`: KEY:, a line of dashes, the value
    r"(?P<head>^(?P<key>[\w.-]+):[ \t]*\r?\n-{4}[ \t]*\r?\n)"
    r"(?P<pw>.*?)(?=\r?\n(?:[\w.-]+:[ \t]*\r?\n-{4}|[ \t]*\r?\n|BinaryData\b|Events:)|\Z)",
    re.MULTILINE | re.DOTALL,
)
_CONN_STRING_PASSWORD = re.compile(
    r"(?P<head>;[ \t]*(?:password|pwd)[ \t]*=[ \t]*)(?P<pw>[^;\n\"']+)", re.IGNORECASE
)
_SQL_PASSWORD = re.compile(
    r"(?P<head>\b(?:password[ \t]*\([ \t]*|(?:password|identified(?:[ \t]+with[ \t]+\w+)?"
    r"[ \t]+by)[ \t]+))"
    r"(?P<pw>'(?:[^'\\\n]|\\.|'')*')",
    re.IGNORECASE,
)
_DIRECTIVE = re.compile(  # redis.conf, keepalived, .netrc, HAProxy userlists
    r"(?P<head>(?:^[ \t]*(?:requirepass|masterauth|auth_pass|rpcpassword)"
    r"|\blogin[ \t]+\S+[ \t]+password|\binsecure-password)[ \t]+)(?P<pw>[^\s;]+)",
    re.IGNORECASE | re.MULTILINE,
)
_DIRECTIVE_HINTS = re.compile(r"requirepass|masterauth|auth_pass|rpcpassword|login|insecure-pas")
_HEADER_DIRECTIVE = re.compile(  # nginx, HAProxy, Envoy: a header set to a literal
    rf"(?P<head>\b(?:proxy_set_header|add_header|grpc_set_header|more_set_headers|set-header"
    rf"|add-header)[ \t]+[\"']?(?P<key>{_KEY})[\"']?[ \t]+[\"']?)(?P<pw>[^\s\"';]+)",
    re.IGNORECASE,
)
_PROSE = re.compile(
    r"(?P<head>\b(?:(?:(?:api|access|secret|private)[ _-]?key|password|passwd|passphrase"
    r"|passcode|secret|token)(?:[ \t]+(?:for|of)[ \t]+(?:the[ \t]+)?(?:user[ \t]+|account[ \t]+)?"
    r"[^\s,;]+)?[ \t]+(?:(?:was[ \t]+|is[ \t]+)?(?:set|changed|reset)[ \t]+to|is[ \t]+now"
    r"|is|was|to)|(?:with|using)[ \t]+(?:the[ \t]+)?(?:password|passwd|passphrase|token"
    r"|api[ _-]?key|secret))[ \t]+)(?P<pw>\"[^\"\n]+\"|'[^'\n]+'|`[^`\n]+`|[^\s\"'`]+)",
    re.IGNORECASE,
)
_PROSE_HINTS = re.compile(r" (?:is|was|to|with|using) ")


def _keep_head(m: re.Match[str]) -> str:
    """Replacement for rules with a `head` to keep and a `pw` to hide (unless it says nothing)."""
    if not is_secret_value(m.group("pw")):
        return m.group()
    return m.group("head") + (m.groupdict().get("scheme") or "") + REDACTED


def _keep_quotes(m: re.Match[str]) -> str:
    """Like `_keep_head`, for a `pw` that may be quoted (`'...'`, `"..."`, CDATA)."""
    pw = m.group("pw")
    open_, close, inner = _unquote(pw)
    if not is_secret_value(inner):
        return m.group()
    return m.group("head") + open_ + REDACTED + close


def _unquote(pw: str) -> tuple[str, str, str]:
    if pw.startswith("<![CDATA[") and pw.endswith("]]>"):
        return "<![CDATA[", "]]>", pw[9:-3]
    if pw.startswith('\\"') and pw.endswith('\\"') and len(pw) >= 4:
        return '\\"', '\\"', pw[2:-2]
    if len(pw) >= 2 and pw[0] in "\"'`" and pw[-1] == pw[0]:
        return pw[0], pw[0], pw[1:-1]
    trailing = len(pw) - len(pw.rstrip(" \t"))
    return "", pw[len(pw) - trailing:], pw[: len(pw) - trailing]


def _keep_key(*, inline: bool) -> Callable[[re.Match[str]], str]:
    """Replacement for assignments: hide `pw` when `key` names a secret; keep its quotes."""

    def replace(m: re.Match[str]) -> str:
        pw = m.group("pw")
        escapes = len(pw) - len(pw.lstrip("\\"))
        if escapes and pw[escapes : escapes + 1] == '"':
            open_ = close = pw[: escapes + 1]
            inner = pw[escapes + 1 : -(escapes + 1)]
        elif pw[:1] in "\"'":
            open_, close, inner = pw[0], pw[0], pw[1:-1]
        else:
            inner = pw.rstrip(")]}>")
            open_, close = "", pw[len(inner) :]
        key = m.group("key") or m.groupdict().get("key2") or ""
        if not sensitive_name(key) or not is_secret_value(inner) or not is_secret_value(pw):
            return m.group()
        if m.string.endswith("checksum/", 0, m.start("key")) and _DIGEST.fullmatch(inner):
            return m.group()  # Helm's `checksum/secret: <sha256>` restarts pods on a change
        if inline and ":" in (m.groupdict().get("sep") or ""):
            if m.string[m.start() - 1 : m.start()] == ":" and m.group("sep") == ":":
                return m.group()  # arn:aws:secretsmanager:...:secret:prod/db, urn:...
            if inner.isalpha() and not _at_key_position(m) and (
                    inner.islower() or not _looks_random(inner)):
                return m.group()  # prose: "failed to refresh token: context deadline"
        return m.group("head") + open_ + REDACTED + close

    return replace


_DIGEST = re.compile(r"[0-9a-f]{32,128}")


def _at_key_position(m: re.Match[str]) -> bool:
    before = m.string[m.string.rfind("\n", 0, m.start()) + 1 : m.start()].rstrip(" \t")
    return not before or before[-1] in _KEY_POSITION


def _redact_basic(m: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(m.group("pw"), validate=True)
    except (binascii.Error, ValueError):
        return m.group()
    return m.group("head") + REDACTED if b":" in decoded else m.group()


def _redact_auth_command(m: re.Match[str]) -> str:
    inner = m.group("pw").strip('"')
    if inner.isalpha() and (inner.islower() or inner.isupper()):  # AUTH failed, AUTH OK
        return m.group()
    return _keep_quotes(m)


_ENCODED_RUN = re.compile(r"[\w.~+/=-]*(?:%[0-9A-Fa-f]{2}[\w.~+/=-]*)+")


def _redact_encoded(m: re.Match[str]) -> str:
    """A percent-encoded run (`redirect=%2Flogin%3Fpassword%3Dx`): redacted decoded, if the
    decoded text holds a secret; else left as it was."""
    plain = unquote(m.group())
    redacted = _redact_line(plain, plain.lower())
    return m.group() if redacted == plain else redacted


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
    """`https://<key>@o450.ingest.sentry.io`: a user name that is a key, not a name."""
    user = m.group("pw")
    if re.fullmatch(r"[0-9a-f]{32,}", user) or _known_token().fullmatch(user) or (
            _looks_random(user)):
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


def _redact_described(m: re.Match[str]) -> str:
    if not sensitive_name(m.group("key"), broad=True) or not is_secret_value(m.group("pw")):
        return m.group()
    return m.group("head") + REDACTED


def _redact_block(m: re.Match[str]) -> str:
    if not sensitive_name(m.group("key")) or not is_secret_value(m.group("pw")):
        return m.group()
    ending = "\n" if m.group("pw").endswith("\n") else ""
    return f"{m.group('head')}{m.group('indent')}  {REDACTED}{ending}"


_CREDENTIAL_SHAPE = re.compile(r"(?=.*\d)(?=.*[A-Za-z])|.*[!@#$%^&*~+?<>|\\]|.+[A-Z]")


def _redact_prose(m: re.Match[str]) -> str:
    """"the password is Summer2024!": a value that looks like a credential, or is quoted; not
    "the password is incorrect" nor "the secret is db-credentials"."""
    pw = m.group("pw")
    open_, close, inner = _unquote(pw)
    if not open_:
        inner = pw.rstrip(".,;:)")
        close = pw[len(inner):]
        if (len(inner) < 4 or "=" in inner or "://" in inner
                or not _CREDENTIAL_SHAPE.match(inner)):
            return m.group()
    if not is_secret_value(inner):
        return m.group()
    return m.group("head") + open_ + REDACTED + close


_SEPARATOR = re.compile(r"[=:\s：＝]")
_SUB_ASSIGNMENT_LINE = _keep_key(inline=False)
_SUB_ASSIGNMENT = _keep_key(inline=True)
_KEYED_RULES = ((_LINE_ASSIGNMENT, _SUB_ASSIGNMENT_LINE, True),
                (_ASSIGNMENT, _SUB_ASSIGNMENT, False),
                (_FLAG_VALUE, _SUB_ASSIGNMENT_LINE, False))


def redact_text(text: str) -> str:
    """Free text (log lines, messages, annotation and ConfigMap values) with secrets hidden.

    The rules that span lines (PEM blocks, XML elements, YAML block scalars and env lists) run on
    the whole text; the others line by line, each behind its own cheap check, so a long text
    costs what its lines cost. Certificates are public and their dates matter (x509 expiry):
    their bodies are left alone."""
    text = _normalize(text)
    if "\n" not in text:
        return _redact_line(text, text.lower(), structure=True)
    text = _redact_structure(text, text.lower())
    if "-----BEGIN CERTIFICATE-----" not in text and " PUBLIC KEY-----" not in text:
        return _redact_lines(text)
    parts = _CERTIFICATE.split(text)
    return "".join(part if i % 2 else _redact_lines(part) for i, part in enumerate(parts))


def _redact_lines(text: str) -> str:
    return "\n".join([_redact_line(line, line.lower()) for line in text.split("\n")])


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ESCAPED_NAME_CHAR = re.compile(r"\\u00(2[dD]|2[eE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF])")


def _normalize(text: str) -> str:
    r"""Undo what hides a key from the rules: terminal colours (`\x1b[33mpassword\x1b[0m=`),
    JSON-escaped slashes in URLs (`mongodb:\/\/`) and letters (`pass\u0077ord`)."""
    if "\x1b[" in text:
        text = _ANSI.sub("", text)
    if ":\\/\\/" in text:
        text = text.replace("\\/", "/")
    if "\\u00" in text:
        text = _ESCAPED_NAME_CHAR.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def _redact_structure(text: str, lower: str, keyed: bool | None = None) -> str:
    """The rules that may span lines (PEM blocks, XML elements, YAML block scalars, env lists).
    `keyed`: whether `lower` holds a key hint, when the caller knows."""
    if "-----begin" in lower and "private key" in lower:
        text = _PEM.sub(lambda m: m.group("head") + REDACTED + (m.group("end") or ""), text)
    if "Private-Lines:" in text:
        text = _PUTTY_PRIVATE.sub(lambda m: m.group("head") + REDACTED + "\n", text)
    if not (_KEY_HINT.search(lower) if keyed is None else keyed):
        return text
    if "</" in text:
        text = _XML_ELEMENT.sub(_keep_key(inline=False), text)
    if "\n" in text and ("|" in text or ">" in text):
        text = _sub_at_keys(_YAML_BLOCK, _redact_block, text, text.lower(), line=True)
    if "value" in lower or "key" in lower or "name" in lower:
        text = _NAMED_VALUE.sub(_SUB_ASSIGNMENT_LINE, text)
    if "\n" in text and ('":' in text or "':" in text):
        text = _sub_at_keys(_NEXT_LINE_VALUE, _SUB_ASSIGNMENT_LINE, text, text.lower())
    if "\n----" in text:
        text = _DESCRIBED.sub(_redact_described, text)
    return text


def _redact_line(text: str, lower: str, *, structure: bool = False) -> str:
    """The rules that stay on one line, then random-looking runs and personal data."""
    if len(text) < 20 and not _SEPARATOR.search(text):
        return text  # every rule needs a separator or a 20-character token
    keyed = bool(_KEY_HINT.search(lower))
    if structure:
        redacted = _redact_structure(text, lower, keyed)
        if redacted is not text:
            text, lower = redacted, redacted.lower()
            keyed = bool(_KEY_HINT.search(lower))
    original = text
    if "://" in text:
        if "@" in text:
            text = _URL_CREDENTIALS.sub(_keep_head, text)
            text = _URL_TOKEN_USER.sub(_redact_token_user, text)
        if "hooks.slack.com" in lower or "/webhook" in lower:
            text = _SLACK_WEBHOOK.sub(rf"\1{REDACTED}", text)
        if "/hooks/" in text:
            text = _MATTERMOST_HOOK.sub(rf"\1{REDACTED}", text)
    if "/" in text and "@" in text and ("oracle" in lower or _ORACLE_HINTS.search(lower)):
        text = _ORACLE_LOGIN.sub(_keep_head, text)
    if "-u" in text:
        text = _CURL_USER.sub(_keep_head, text)
    if (" -" in text or "\t-" in text or "/user:" in lower) and (
            _CLI_HINTS.search(lower) or "-U " in text):
        text = _CLI_PASSWORD.sub(_keep_quotes, text)
    if "|" in text and ("stdin" in lower or "chpasswd" in lower):
        text = _PIPED_PASSWORD.sub(_keep_quotes, text)
    if "AUTH" in text:
        text = _AUTH_COMMAND.sub(_redact_auth_command, text)
    if ".auth(" in lower:
        text = _AUTH_CALL.sub(_keep_quotes, text)
    if "%" in text and ("%3d" in lower or "%3a" in lower or "%40" in lower):
        text = _ENCODED_RUN.sub(_redact_encoded, text)
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
    if keyed:
        if text is not original:
            lower = text.lower()
        text = _redact_keyed(text, lower)
        if _PROSE_HINTS.search(lower):
            text = _PROSE.sub(_redact_prose, text)
    text = _CANDIDATE.sub(_judge_candidate, text)
    return _redact_pii(text) if _Policy.pii else text


_RUN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_RUN = re.compile(r"[A-Za-z0-9_.-]*")


def _sub_at_keys(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str,
                 lower: str, *, line: bool = False) -> str:
    """`pattern.sub(replace, text)` for a pattern whose key holds a key hint: tried only where
    a hint is (at the start of its run of name characters, or of its `line`), once per run or
    line however many hints it holds, and never on a run too long to be a key. Each try is
    bounded (`_KEY_MAX`), so the whole costs time linear in the text."""
    if len(lower) != len(text):  # a few characters change length when lowercased
        return pattern.sub(replace, text)
    out: list[str] = []
    pos = covered = 0
    for hint in _KEY_HINT.finditer(lower):
        at = hint.start()
        if at < pos or at < covered:
            continue
        if line:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            covered = len(text) if end < 0 else end
            starts: tuple[int, ...] = (start,)
        else:
            start, limit = at, max(0, at - 2 * _KEY_MAX)
            while start > limit and text[start - 1] in _RUN_CHARS:
                start -= 1
            covered = _RUN.match(text, at).end()  # type: ignore[union-attr]
            if covered - start > 2 * _KEY_MAX + 2:  # `--` and a key: no key is this long
                continue
            begin = start
            while begin > max(0, start - 8) and text[begin - 1] in "\\\"'":
                begin -= 1  # `"key"`, `\"key\"`, `\\\"key\\\"` (JSON in JSON in JSON)
            starts = tuple(range(begin, start + 1))
        for begin in starts:
            m = pattern.match(text, begin) if begin >= pos else None
            if m:
                out += (text[pos : m.start()], replace(m))
                pos = m.end()
                break
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _redact_keyed(text: str, lower: str) -> str:
    """The one-line rules that start from a key name."""
    original = text
    if ";" in text:
        text = _CONN_STRING_PASSWORD.sub(_keep_head, text)
    if "'" in text and ("password" in lower or "identified" in lower):
        text = _SQL_PASSWORD.sub(_keep_quotes, text)
    if _DIRECTIVE_HINTS.search(lower):
        text = _DIRECTIVE.sub(_keep_head, text)
    if "header" in lower:
        text = _HEADER_DIRECTIVE.sub(_SUB_ASSIGNMENT_LINE, text)
    if "{" in text and "value" in lower:
        text = _sub_at_keys(_NESTED_VALUE, _SUB_ASSIGNMENT_LINE, text, text.lower())
    if text is not original:
        lower = text.lower()
    for pattern, replace, line in _KEYED_RULES:
        if pattern is _FLAG_VALUE and "-" not in text:
            continue
        redacted = _sub_at_keys(pattern, replace, text, lower, line=line)
        if redacted is not text:
            text, lower = redacted, redacted.lower()
    return text


# --- random-looking runs ----------------------------------------------------------------------

_CERTIFICATE = re.compile(  # and public keys: public, like certificates
    r"(-----BEGIN (?:CERTIFICATE|(?:RSA |EC )?PUBLIC KEY)-----.*?"
    r"-----END (?:CERTIFICATE|(?:RSA |EC )?PUBLIC KEY)-----)", re.DOTALL)
_SSH_PUBLIC_KEY = re.compile(r"(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-[\w.@-]+)[ \t]$")
_CANDIDATE = re.compile(r"(?<![\w+/~.=%-])[\w+/~.=%-]{20,}", re.ASCII)
_RUN_KEY = re.compile(r"-{0,2}[A-Za-z_][\w.-]{0,63}=(?=[^=])")
_SLASH = re.compile(r"(/|%2[Ff])")
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
_PIECES = re.compile(r"[-_/+.~=]+")
_SEPARATORS = _PIECES
_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d*)?")
_LOWER_PIECE = re.compile(r"[a-z0-9._~-]*")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def _looks_random(token: str) -> bool:
    """Mixed case, not made of words, high Shannon entropy. Measured on random base62/base64:
    misses ~3.5% of 20-character tokens, ~0.8% at 32, ~0.3% at 40; flags 3 of 11,908
    mixed-case identifiers from the Kubernetes source."""
    if token.islower() or token.isupper():
        return False
    n = len(token)
    chars = set(token)
    if not (chars & _UPPER and chars & _LOWER):
        return False
    pieces = _PIECES.split(token)  # GlobalSign_Root_CA_-_R3, io_k8s_api_core_v1_PodSpec
    if len(pieces) > 1 and all(map(_is_name_piece, pieces)):
        return False
    letters = n - sum(map(len, _SEPARATORS.findall(token)))
    if sum(map(len, _WORD.findall(token))) >= 0.7 * letters:  # CamelCase identifiers, paths
        return False
    entropy = -sum(c / n * math.log2(c / n) for c in Counter(token).values())
    return entropy >= min(4.0, 0.8 * math.log2(n))


def _is_name_piece(piece: str) -> bool:
    """Short, a version, or few case/digit runs (`DigiCert`, `RSA4096`, not `xP1Fz0t9Ob`)."""
    n = len(piece)
    return n <= 4 or bool(_VERSION.fullmatch(piece)) or n >= 3 * len(_SEGMENT.findall(piece))


def _is_path_piece(piece: str) -> bool:
    """`api`, `v1`, `sendMessage`: a piece of a URL path, not of a token."""
    return bool(_LOWER_PIECE.fullmatch(piece)) or (
        piece.isalpha() and sum(map(len, _WORD.findall(piece))) >= 0.8 * len(piece))


def _is_token(core: str) -> bool:
    if _known_token().fullmatch(core):
        return True
    plain = unquote(core) if "%" in core else core
    return _looks_random(plain.rstrip("="))


def _judge_candidate(m: re.Match[str]) -> str:
    """A run of token characters: keep its `name=` prefixes, its trailing dots and the
    lowercase path pieces at either end; hide the rest if it is a token."""
    run = m.group()
    if run.startswith("AAAA") and _SSH_PUBLIC_KEY.search(m.string, max(0, m.start() - 40),
                                                          m.start()):
        return run  # `ssh-ed25519 AAAAC3Nz... user@host`: a public key
    head = ""
    for _ in range(4):  # a=b=c: a few `name=` prefixes at most
        key = _RUN_KEY.match(run) if "=" in run else None
        if not key or not (key.group().islower() or not _looks_random(key.group()[:-1])):
            break
        head, run = head + key.group(), run[key.end():]
    core = run.rstrip(".")
    tail = run[len(core):]
    if "/" not in core and "%2" not in core:
        return head + REDACTED + tail if len(core) >= 20 and _is_token(core) else m.group()
    pieces = _SLASH.split(core)  # pieces at even indexes, separators between
    start, end = 0, len(pieces)
    while start < end and _is_path_piece(pieces[start]):
        start += 2
    while end > start and _is_path_piece(pieces[end - 1]):
        end -= 2
    middle = "".join(pieces[start:end])
    if len(middle) < 16 or not _is_token(middle):
        return m.group()
    return head + "".join([*pieces[:start], REDACTED, *pieces[end:]]) + tail


# --- personal data (opt-in) -------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+/-])(?P<local>[A-Za-z0-9][\w.%+-]{0,63})"
    r"@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b"
)
_NOT_PERSONAL = re.compile(r"git|noreply|no-reply|.*\.gserviceaccount\.com|.*\.svc|.*\.local")
_CARD = re.compile(r"(?<![\w.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-])")


def _redact_pii(text: str) -> str:
    if "@" in text:
        text = _EMAIL.sub(_redact_email, text)
    return _CARD.sub(_redact_card, text)


def _redact_email(m: re.Match[str]) -> str:
    if _NOT_PERSONAL.fullmatch(m.group("local")) or _NOT_PERSONAL.fullmatch(m.group("domain")):
        return m.group()
    return f"{REDACTED}@{m.group('domain')}"


def _redact_card(m: re.Match[str]) -> str:
    digits = [int(c) for c in m.group() if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return m.group()
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
                for i, d in enumerate(reversed(digits)))
    return REDACTED if total % 10 == 0 else m.group()


# --- entry points -----------------------------------------------------------------------------

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
