"""Secrets that config files, device configs and dumps write after their key in a syntax of their
own, with no `key=value` or `key: value`: a router's `enable secret 5 <hash>`, `username admin
privilege 15 password 0 <pw>`, `snmp-server community <pw> RO` and SNMPv3's `auth sha <key>`;
HAProxy's `stats auth admin:<pw>`; OpenVPN's credentials on one line (`auth-user-pass inline:
user <pw>`); strongSwan's `: PSK "<pw>"`; ZooKeeper's and Kafka's JAAS `user_<name>="<pw>"`; a
pgbouncer `userlist.txt` line (`"admin" "<pw>"`); `sed 's/DB_PASSWORD_PLACEHOLDER/<pw>/'`; a
comparison with a literal (`if ($arg_token != "<pw>")`, `token == "<pw>"`); Erlang's and
Elixir's `{password, <<"<pw>">>}`; PHP's `var_dump` (`["db_pass"]=> string(8) "<pw>"`); and
password hashes in crypt's format wherever they are (`$2b$12$...`, `$6$salt$hash`, `$apr1$...`)
and PostgreSQL's SCRAM verifiers, which can be cracked offline. On a whole text, Terraform's
`variable` and `output` blocks marked `sensitive = true` lose their literal
(`redact_sensitive_blocks`).

Each rule sits behind a cheap substring check: `redact_config_values` costs nothing on most lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .key_hints import KEY, SPACE, sub_at_keys
from .secret_names import credential_shaped, is_secret_value, sensitive_name
from .secret_tokens import REDACTED

_S = SPACE


def redact_config_values(text: str, lower: str, *, keyed: bool) -> str:
    """The rules whose hint is in `lower`; `keyed`: whether `lower` holds a key hint."""
    if "$" in text and _CRYPT_HINT.search(text):
        text = _SCRAM.sub(_hide_hash, _CRYPT.sub(_hide_hash, text))
    if _DEVICE_HINT.search(lower):
        text = _DEVICE.sub(_hide_device_secret, text)
    if "snmp" in lower and ("auth" in lower or "priv" in lower):
        text = _SNMP_V3.sub(_hide_any, text)
    if "stats" in lower and "auth" in lower:
        text = _STATS_AUTH.sub(_hide_any, text)
    if "auth-user-pass" in lower:
        text = _OPENVPN_PAIR.sub(_hide_any, text)
    if ":" in text and _IPSEC_HINT.search(text):
        text = _IPSEC.sub(_hide_any, text)
    if "user_" in lower and "=" in text:
        text = _JAAS_USER.sub(_hide_jaas(jaas="loginmodule" in lower), text)
    if text.count('"') >= 4 and _USERLIST.match(text):
        text = _USERLIST.sub(_hide_listed, text)
    if not keyed:
        return text
    if "sed" in lower or "s/" in text:
        text = _SED.sub(_hide_substituted, text)
    if "==" in text or "!=" in text:
        text = sub_at_keys(_COMPARED, _hide_named, text, text.lower())
    if "{" in text and "," in text:
        text = _TUPLE.sub(_hide_named, text)
    if "string(" in lower:
        text = _VAR_DUMP.sub(_hide_named, text)
    if "variable" in lower and "default" in lower:
        text = _HCL_VARIABLE.sub(_hide_named, text)
    return text


def redact_sensitive_blocks(text: str, lower: str) -> str:
    """Terraform's `variable` and `output` blocks marked `sensitive = true`: the literal string
    their `default` or `value` holds, whatever the block's name (`variable "db" {`)."""
    if "sensitive" not in lower or "variable" not in lower and "output" not in lower:
        return text
    return _SENSITIVE_BLOCK.sub(_hide_sensitive_block, text)


def _hide_sensitive_block(m: re.Match[str]) -> str:
    if not _MARKED_SENSITIVE.search(m.group("body")):
        return m.group()
    return m.group("head") + _BLOCK_LITERAL.sub(_hide_any, m.group("body"))


def _hide_any(m: re.Match[str]) -> str:
    """Hide `pw` (keeping its quotes) when it says something: the syntax alone names it."""
    pw = m.group("pw")
    quoted = len(pw) > 1 and pw[0] in "\"'" and pw[-1] == pw[0]
    inner = pw[1:-1] if quoted else pw
    if not is_secret_value(inner):
        return m.group()
    hidden = pw[0] + REDACTED + pw[0] if quoted else REDACTED
    return m.string[m.start() : m.start("pw")] + hidden + m.string[m.end("pw") : m.end()]


def _hide_device_secret(m: re.Match[str]) -> str:
    """`_hide_any`, but SNMP's default community `public` stays: a finding, not a secret."""
    return m.group() if m.group("pw") == "public" or m.group("pw").lower() in _PROSE_WORDS \
        else _hide_any(m)


def _hide_named(m: re.Match[str]) -> str:
    """`_hide_any`, when the key names a secret."""
    key = m.group("key").strip("\"':")
    return _hide_any(m) if sensitive_name(key, broad=True) else m.group()


def _hide_hash(m: re.Match[str]) -> str:
    return m.group("head") + REDACTED


def _hide_jaas(*, jaas: bool) -> Callable[[re.Match[str]], str]:
    """A JAAS `user_<name>="<pw>"` option: inside a `...LoginModule` entry, or alone on its line
    as a JAAS file writes it (not `user_agent="curl/8.0"`)."""

    def replace(m: re.Match[str]) -> str:
        if m.group("name").lower() in _USER_ATTRIBUTES:
            return m.group()
        if not jaas and not _ALONE_ON_LINE.fullmatch(_line_of(m)):
            return m.group()
        return _hide_any(m)

    return replace


def _line_of(m: re.Match[str]) -> str:
    start = m.string.rfind("\n", 0, m.start()) + 1
    end = m.string.find("\n", m.end())
    return m.string[start : len(m.string) if end < 0 else end]


def _hide_listed(m: re.Match[str]) -> str:
    """A `"user" "password"` line: hidden when the second is a hash or shaped like a password."""
    pw = m.group("pw")
    if not (_PASSWORD_HASH.match(pw) or credential_shaped(pw)):
        return m.group()
    return _hide_any(m)


def _hide_substituted(m: re.Match[str]) -> str:
    """`s/DB_PASSWORD_PLACEHOLDER/<pw>/`: what replaces a placeholder named for a secret."""
    name = _NOT_NAME.sub("_", m.group("key")).strip("_")
    if not name or not sensitive_name(name, broad=True) or m.group("pw").startswith(("$", "\\")):
        return m.group()
    return _hide_any(m)


# Hashes in crypt's format: bcrypt `$2b$12$<53>`, md5crypt `$1$`, Apache's `$apr1$`, sha-crypt
# `$5$`/`$6$` (`rounds=N$` allowed), yescrypt `$y$`, scrypt `$7$`, argon2, pbkdf2 (passlib);
# PostgreSQL's `SCRAM-SHA-256$4096:<salt>$<stored key>:<server key>`.
_CRYPT_HINT = re.compile(r"\$(?:2[abxy]?|1|5|6|7|y|gy|apr1|md5|sha1|argon2|pbkdf2|scrypt)|SCRAM-")
_CRYPT = re.compile(
    r"(?<![\w$])(?P<head>\$(?:2[abxy]?\$\d{2}\$(?=[./A-Za-z0-9]{20})"
    r"|(?:1|5|6|7|y|gy|apr1|md5|sha1|sha256|sha512|scrypt|argon2(?:id|i|d)|pbkdf2(?:-sha\d+)?)"
    r"\$(?=[^\s:\"']{0,256}\$[./A-Za-z0-9+=]{8})))[^\s:\"',;]+(?:,[a-z]=[^\s:\"',;]+)*")
_SCRAM = re.compile(
    r"(?P<head>\bSCRAM-SHA-256\$)\d{1,7}:[A-Za-z0-9+/=]{1,512}\$[A-Za-z0-9+/=]{1,512}:[A-Za-z0-9+/=]+")
_PASSWORD_HASH = re.compile(r"\"(?:md5[0-9a-f]{32}|SCRAM-SHA-256\$)")
# ("Username or password is incorrect": prose, not `username admin password x`)
_PROSE_WORDS = frozenset({"is", "was", "are", "were", "not", "must", "cannot", "can", "will",
                          "required", "incorrect", "invalid", "wrong", "missing", "expired",
                          "has", "have", "had", "reset", "changed", "needs", "expires",
                          "updated", "policy", "mismatch"})
_DEVICE_HINT = re.compile(r"secret|password|key|community")
_DEVICE = re.compile(  # Cisco IOS, NX-OS, ASA: the number before the value says its encoding
    r"(?:^[ \t]*enable[ \t]+(?:secret|password)|^[ \t]*(?:secret|password)(?=[ \t]+\d[ \t])"
    r"|\busername[ \t]+(?!(?:or|and|and/or|nor)[ \t])\S{1,64}[ \t]+"
    r"(?:privilege[ \t]+\d{1,2}[ \t]+)?(?:secret|password)"
    r"|\b(?:tacacs|radius)-server[ \t]+(?:host[ \t]+\S{1,255}[ \t]+)?key"
    r"|\bkey-string|\bsnmp-server[ \t]+community"
    r"|\b(?:message-digest-key[ \t]+\d{1,3}[ \t]+md5|authentication-key))"
    r"[ \t]+(?:\d[ \t]+)?(?P<pw>[^\s=:]\S*)",
    re.MULTILINE | re.IGNORECASE)
_SNMP_V3 = re.compile(  # `snmp-server user u g v3 auth sha <key> priv aes 128 <key>`, snmpd.conf
    r"(?<=[ \t])(?:auth[ \t]+(?:md5|sha\d*)|priv[ \t]+(?:3?des|aes(?:[ \t]+\d{3})?))[ \t]+"
    r"(?P<pw>[^\s]+)", re.IGNORECASE)
_STATS_AUTH = re.compile(r"\bstats[ \t]+auth[ \t]+[^\s:]{1,64}:(?P<pw>\S+)")  # HAProxy
_OPENVPN_PAIR = re.compile(  # a log's one-line form of `<auth-user-pass>`: `...: user pw`
    r"\bauth-user-pass\b[^\n:]{0,64}:[ \t]*[^\s:]{1,64}[ \t]+(?P<pw>[^\s)]+)", re.IGNORECASE)
_IPSEC_HINT = re.compile(r":[ \t]*(?:PSK|XAUTH|EAP|NTLM)[ \t]")
_IPSEC = re.compile(  # strongSwan's ipsec.secrets: `[ids] : PSK "x"`
    r"(?:^|[ \t]):[ \t]*(?:PSK|XAUTH|EAP|NTLM)[ \t]+(?P<pw>\"[^\"\n]*\"|'[^'\n]*'|\S+)",
    re.MULTILINE)
_JAAS_USER = re.compile(r"(?<![\w.-])user_(?P<name>[\w.-]{1,64})[ \t]*=[ \t]*(?P<pw>\"[^\"\n]*\")")
_USER_ATTRIBUTES = frozenset({"id", "name", "agent", "email", "type", "role", "group", "home",
                              "uid", "gid", "dn", "filter", "attribute", "base", "ip", "key"})
_ALONE_ON_LINE = re.compile(r"[ \t]*user_[\w.-]+[ \t]*=[ \t]*\"[^\"\n]*\"[ \t]*;?[ \t]*\r?")
_USERLIST = re.compile(  # pgbouncer's userlist.txt: `"user" "password or hash"`
    r"^[ \t]*\"[^\"\s]{1,64}\"[ \t]+(?P<pw>\"[^\"\n]{1,1024}\")[ \t]*\r?$", re.MULTILINE)
_SED = re.compile(
    r"(?<![\w-])s(?P<d>[/|#,:@!])(?P<key>[^\n]{1,128}?)(?P=d)(?P<pw>[^\n]{1,1024}?)(?P=d)")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_COMPARED = re.compile(
    rf"(?P<head>[\"']?(?P<key>{KEY})[\"'}}]?{_S}*(?:===?|!==?){_S}*)"
    r"(?P<pw>\"[^\"\n]{1,1024}\"|'[^'\n]{1,1024}')", re.IGNORECASE)
_TUPLE = re.compile(  # Erlang's `{password, <<"x">>}`, `{"password", "x"}`
    r"\{[ \t]*(?P<key>:?[A-Za-z_][\w.-]{0,63}|'[^'\n]{1,64}'|\"[^\"\n]{1,64}\")[ \t]*,[ \t]*"
    r"(?:<<)?(?P<pw>\"[^\"\n]{1,1024}\")(?:>>)?[ \t]*\}")
_HCL_VARIABLE = re.compile(  # one line: `variable "db_password" { default = "x" }`
    rf"\bvariable{_S}+\"(?P<key>{KEY})\"{_S}*\{{[^{{}}\n]{{0,256}}?\bdefault{_S}*={_S}*"
    r"(?P<pw>\"[^\"\n]{1,1024}\")")
# A block's body up to its closing brace, one level of nested blocks (`validation { }`) inside.
_SENSITIVE_BLOCK = re.compile(
    rf"(?P<head>^{_S}*(?:variable|output){_S}+\"[\w.-]{{1,128}}\"{_S}*\{{)"
    r"(?P<body>(?:[^{}]|\{[^{}]{0,1024}\}){0,4096}?)(?=\})", re.MULTILINE)
_MARKED_SENSITIVE = re.compile(rf"^{_S}*sensitive{_S}*={_S}*true\b", re.MULTILINE)
_BLOCK_LITERAL = re.compile(
    rf"^{_S}*(?:default|value){_S}*={_S}*(?P<pw>\"(?:[^\"\\\n]|\\.){{1,1024}}\")", re.MULTILINE)
_VAR_DUMP = re.compile(  # PHP: `["db_pass"]=> string(8) "x"`
    r"\[(?P<key>\"[\w.-]{1,64}\"|'[\w.-]{1,64}')\][ \t]*=>[ \t]*(?:\r?\n[ \t]*)?"
    r"string\(\d{1,9}\)[ \t]*(?P<pw>\"[^\"\n]{0,1024}\")")
