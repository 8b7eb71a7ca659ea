"""Values hidden by where they sit rather than by an `=` after their key: a key with an odd
wrapper (`password resolved to [x]`, `password -- x`, `password (x)`), a list under a secret's
key (`tokens=["x"]`) or a flat mapping there (`{"tokens": {"github": "x"}}`), a command's
positional secret (`openssl passwd x`, `echo -n x | base64`, `ssm put-parameter --value x`),
SQL's `INSERT ... (password) VALUES ('x')`, a quoted key and its quoted value (redis `"CONFIG"
"SET" "masterauth" "x"`), `{"type":"basic","value":"x"}`, `login admin/x`, ftp's `user bob x`,
and a hex key after a key word (`HMAC key loaded: <hex>`).

Every value must look like a credential (`credential_shaped`) unless the rule alone says so.
Each rule sits behind a cheap substring check: `redact_positional` costs nothing on most lines.
"""

from __future__ import annotations

import re

from .key_hints import HINTS, KEY, SPACE, sub_at_keys
from .secret_names import credential_shaped, is_secret_value, sensitive_name
from .secret_tokens import REDACTED

_S = SPACE


def redact_positional(text: str, lower: str, *, keyed: bool) -> str:
    """The one-line positional rules; `keyed`: whether `lower` holds a key hint."""
    if keyed:
        if _WRAPPED_GATE.search(lower):
            text = sub_at_keys(_ODD_WRAPPER, _hide_wrapped, text, text.lower())
        if "[" in text and _LIST_GATE.search(lower):
            text = sub_at_keys(_KEYED_LIST, _hide_list, text, text.lower())
        if "{" in text and _MAPPING_GATE.search(lower):
            text = sub_at_keys(_KEYED_MAPPING, _hide_mapping, text, text.lower())
        if '" "' in text or "' '" in text:
            text = sub_at_keys(_QUOTED_PAIR, _hide_shaped, text, text.lower())
        if "\\:" in text or "\\=" in text or "\\ " in text:
            text = sub_at_keys(_ESCAPED_KEY, _hide_named, text, text.lower())
        if "values" in lower and "insert" in lower:
            text = _SQL_INSERT.sub(_hide_inserted, text)
        if "type" in lower and "value" in lower:
            text = _TYPED_VALUE.sub(_hide_head, text)
        if _RECORD_GATE.search(lower):
            text = _NAMED_RECORD.sub(_hide_recorded, text)
    if "passwd" in lower and "openssl" in lower:
        text = _OPENSSL_PASSWD.sub(_hide_head, text)
    if "base64" in lower and "echo" in lower:
        text = _ECHO_ENCODED.sub(_hide_shaped, text)
    if "put-parameter" in lower:
        text = _PARAMETER_VALUE.sub(_hide_head, text)
    if "login" in lower or "credential" in lower or "logon" in lower:
        text = _LOGIN_PAIR.sub(_hide_shaped, text)
    if "user" in lower:
        text = _FTP_USER.sub(_hide_shaped, text)
    if _HEX_KEY_HINT.search(lower) and _LONG_HEX.search(text):
        text = _HEX_AFTER_KEY.sub(_hide_hex, text)
    return text


# Cheap first checks on lowercased text: a key's word, the rest of its name, then the wrapper.
_WRAPPED_GATE = re.compile(
    rf"{HINTS}[\w.-]{{0,64}}['\"]?"
    rf"(?:{_S}+resolved{_S}+to|{_S}*(?:--|==|\|)|{_S}+(?:[\[(<`]|\\\"))")
_LIST_GATE = re.compile(rf"{HINTS}[\w.-]{{0,64}}\\*['\"]?{_S}*[:=]{_S}*\[")
_MAPPING_GATE = re.compile(rf"{HINTS}[\w.-]{{0,64}}\\*['\"]?{_S}*[:=]{_S}*\{{")
_CLOSE = {"[": "]", "(": ")", "<": ">", "`": "`", '\\"': '\\"'}
_ODD_WRAPPER = re.compile(  # Spring's "Property 'x.password' resolved to [x]", `password -- x`
    rf"(?P<head>(?P<q>['\"]?)(?P<key>{KEY})(?P=q)"
    rf"(?:{_S}+resolved{_S}+to{_S}*|{_S}*(?:--|==|\|){_S}*|{_S}+(?=[\[(<`]|\\\")))"
    r"(?P<pw>\[[^\]\n]{1,256}\]?|\([^)\n]{1,256}\)|<[^>\n]{1,256}>|`[^`\n]{1,256}`"
    r"|\\\"[^\"\\\n]{1,256}\\\"|[^\s\[(<`\\|-][^\s|]{0,255})",
    re.IGNORECASE)


def _hide_wrapped(m: re.Match[str]) -> str:
    pw = m.group("pw")
    open_ = '\\"' if pw.startswith('\\"') else pw[:1] if pw[:1] in _CLOSE else ""
    close = _CLOSE.get(open_, "")
    inner = pw[len(open_):]
    if close and inner.endswith(close):
        inner = inner[: -len(close)]
    else:
        close = ""
    if not sensitive_name(m.group("key")) or not credential_shaped(inner):
        return m.group()
    return m.group("head") + open_ + REDACTED + close


# A list under a secret's key, on one line: `{"passwords": ["x", "y"]}`, `tokens=[x]`.
_KEYED_LIST = re.compile(
    rf"(?P<head>(?P<q>\\*['\"]?)(?P<key>{KEY})(?P=q){_S}*[:=]{_S}*)\[(?P<items>[^\[\]\n]{{1,4096}})\]",
    re.IGNORECASE)
# Kubernetes' reference to a Secret by its name (`{name: regcred}`): the name, not its value.
NAME_REFERENCE = re.compile(
    r"[ \t]*\{[ \t]*([\"']?)name\1[ \t]*:[ \t]*[\"']?[\w.-]{1,253}[\"']?[ \t]*\}")
_ITEM = re.compile(r"(?P<q>\\*[\"'])(?P<v>(?:(?!(?P=q)).){1,1024}?)(?P=q)|(?P<bare>[^\s,\"']+)")


def _list_key(key: str) -> bool:
    """A secret's key, or its plural (`tokens`, `api_keys`)."""
    return sensitive_name(key) or (key[-1:] in "sS" and sensitive_name(key[:-1]))


def _hide_list(m: re.Match[str]) -> str:
    if not _list_key(m.group("key")) or NAME_REFERENCE.match(m.group("items")):
        return m.group()  # `imagePullSecrets: [{name: regcred}]` names Secrets
    strong = sensitive_name(m.group("key"))

    def item(i: re.Match[str]) -> str:
        value = i.group("v") if i.group("q") else i.group("bare")
        if not is_secret_value(value) or not (strong or credential_shaped(value)):
            return i.group()
        return f"{i.group('q')}{REDACTED}{i.group('q')}" if i.group("q") else REDACTED

    items = _ITEM.sub(item, m.group("items"))
    return f"{m.group('head')}[{items}]"


# A flat mapping under a secret's key, on one line: `{"tokens": {"github": "x"}}`,
# `secrets = { db = "x" }`, YAML's `passwords: {db: x}`.
_KEYED_MAPPING = re.compile(
    rf"(?P<head>(?P<q>\\*['\"]?)(?P<key>{KEY})(?P=q){_S}*[:=]{_S}*)\{{(?P<members>[^{{}}\n]{{1,4096}})\}}",
    re.IGNORECASE)
_MEMBER = re.compile(
    rf"(?P<head>(?P<mq>\\*[\"']?)(?P<member>[\w.-]{{1,64}})(?P=mq){_S}*[:=]{_S}*)"
    r"(?:(?P<q>\\*[\"'])(?P<v>(?:(?!(?P=q)).){1,1024}?)(?P=q)|(?P<bare>[^\s,\"'}]+))")
# Members that say which secret or where it is, not what it is (`{"password": {"name": "db"}}`).
_NOT_THE_SECRET = re.compile(
    r"(?:name|path|file|ref|mode|type|kind|version|namespace|user|username|login|host|port|url"
    r"|uri|region|email|id|enabled|length|ttl)$", re.IGNORECASE)


def _hide_mapping(m: re.Match[str]) -> str:
    """The members of a mapping under a secret's key: any value under the secret's own name
    (`password: {db: x}`), one shaped like a credential under its plural (`tokens`)."""
    if not _list_key(m.group("key")) or NAME_REFERENCE.match("{" + m.group("members") + "}"):
        return m.group()
    strong = sensitive_name(m.group("key"))

    def member(i: re.Match[str]) -> str:
        value = i.group("v") if i.group("q") else i.group("bare")
        if _NOT_THE_SECRET.search(i.group("member")) or not is_secret_value(value) or not (
                strong or credential_shaped(value)):
            return i.group()
        quote = i.group("q") or ""
        return f"{i.group('head')}{quote}{REDACTED}{quote}"

    return f"{m.group('head')}{{{_MEMBER.sub(member, m.group('members'))}}}"


# A quoted key, then its quoted value: redis MONITOR `"CONFIG" "SET" "masterauth" "x"`.
_QUOTED_PAIR = re.compile(
    rf"(?P<head>(?P<q>[\"'])(?P<key>{KEY})(?P=q){_S}+(?P=q))(?P<pw>[^\"'\n]{{1,1024}})(?=(?P=q))",
    re.IGNORECASE)
# A .properties key with an escaped `:`, `=` or space: `spring.datasource.password\:x=x`.
_ESCAPED_KEY = re.compile(
    rf"(?P<head>(?P<key>{KEY})(?:\\[:= ][\w.-]{{0,64}})+{_S}*[=:]{_S}*)(?P<pw>\S{{1,1024}})",
    re.IGNORECASE)


def _hide_named(m: re.Match[str]) -> str:
    if not sensitive_name(m.group("key")) or not is_secret_value(m.group("pw")):
        return m.group()
    return m.group("head") + REDACTED


def _hide_shaped(m: re.Match[str]) -> str:
    key = m.groupdict().get("key")
    if key is not None and not sensitive_name(key):
        return m.group()
    pw = m.group("pw")
    quote = pw[0] if pw[:1] in "\"'" and pw[-1:] == pw[0] and len(pw) > 1 else ""
    inner = pw[1:-1] if quote else pw
    if not credential_shaped(inner):
        return m.group()
    return m.group("head") + quote + REDACTED + quote


def _hide_head(m: re.Match[str]) -> str:
    pw = m.group("pw")
    quote = pw[0] if pw[:1] in "\"'" and pw[-1:] == pw[0] and len(pw) > 1 else ""
    inner = pw[1:-1] if quote else pw
    if not is_secret_value(inner):
        return m.group()
    return m.group("head") + quote + REDACTED + quote + m.string[m.end("pw"):m.end()]


_SQL_INSERT = re.compile(
    r"\binsert[ \t]+into[ \t]+[\w.\"`\[\]]{1,128}[ \t]*\((?P<columns>[^()\n]{1,2048})\)[ \t]*"
    r"values[ \t]*\((?P<values>(?:'(?:[^'\n]|'')*'|\"[^\"\n]*\"|[^()'\"\n]|\([^()\n]*\))"
    r"{1,8192})\)",
    re.IGNORECASE)
_SQL_VALUE = re.compile(r"'(?:[^'\n]|'')*'|\"[^\"\n]*\"|\w+\([^()\n]*\)|[^,]+")


def _hide_inserted(m: re.Match[str]) -> str:
    """`INSERT INTO users (name, password) VALUES ('bob', 'x')`: the values of secret columns."""
    columns = [c.strip(" \t\"`[]") for c in m.group("columns").split(",")]
    secret = {i for i, c in enumerate(columns) if sensitive_name(c)}
    if not secret:
        return m.group()
    out: list[str] = []
    at = index = 0
    text = m.group("values")
    for value in _SQL_VALUE.finditer(text):
        stripped = value.group().strip()
        if not stripped:
            continue
        if index in secret and stripped[:1] in "'\"" and is_secret_value(stripped[1:-1]):
            begin = value.start() + value.group().index(stripped) + 1
            out += (text[at:begin], REDACTED)
            at = begin + len(stripped) - 2
        index += 1
    out.append(text[at:])
    return m.group()[: m.start("values") - m.start()] + "".join(out) + ")"


_TYPED_VALUE = re.compile(  # {"type":"basic","value":"x"}: the type says what the value is
    r"(?P<head>[\"']type[\"'][ \t]*:[ \t]*[\"'](?:basic|bearer|password|secret|token|api[_-]?key"
    r"|apikey|digest|credentials?|private[_-]?key)[\"'][ \t]*,[ \t]*[\"']value[\"'][ \t]*:[ \t]*)"
    r"(?P<pw>\"[^\"\n]{1,1024}\"|'[^'\n]{1,1024}')",
    re.IGNORECASE)
# A key/value record whose key field names a secret: `{"key": "db_password", "val": "x"}`,
# `{"variable": "API_TOKEN", "value": "x"}`, `[{"k": "secret", "v": "x"}]`.
_RECORD_KEYS = r"(?:key|name|variable|var|k|field|param|parameter|setting|option)"
_RECORD_VALUES = r"(?:val|value|v|data)"
_RECORD_GATE = re.compile(rf"[\"']{_RECORD_KEYS}[\"'][ \t]*:")
_NAMED_RECORD = re.compile(
    rf"(?P<head>[\"']{_RECORD_KEYS}[\"'][ \t]*:[ \t]*(?P<q>[\"'])(?P<key>[\w.-]{{1,128}})(?P=q)"
    rf"[ \t]*,[ \t]*[\"']{_RECORD_VALUES}[\"'][ \t]*:[ \t]*)"
    r"(?P<pw>\"[^\"\n]{1,1024}\"|'[^'\n]{1,1024}'|-?\d[\d.]{0,63})",
    re.IGNORECASE)


def _hide_recorded(m: re.Match[str]) -> str:
    return _hide_head(m) if sensitive_name(m.group("key")) else m.group()


def redact_expect_send(text: str, lower: str) -> str:
    """An `expect` script's answer to a password prompt: `expect "Password:"` then
    `send "x\\r"`, on one line (`;`) or the next."""
    if "send" not in lower or "expect" not in lower:
        return text
    return _EXPECT_SEND.sub(_hide_sent, text)


def _hide_sent(m: re.Match[str]) -> str:
    if not _PROMPT_WORD.search(m.group("prompt")) or not is_secret_value(m.group("pw")):
        return m.group()
    return m.group("head") + REDACTED + m.string[m.end("pw"):m.end()]


_EXPECT_SEND = re.compile(
    r"(?P<head>\bexpect[ \t]+(?:-\w+[ \t]+)*(?P<prompt>\"[^\"\n]{1,256}\"|\S{1,256})"
    r"(?:[ \t]*;[ \t]*|[ \t]*\r?\n[ \t]*)send[ \t]+(?:-\S+[ \t]+)*\")"
    r"(?P<pw>(?:[^\"\\\n]|\\[^rn])*)(?:\\[rn])?\"")
_PROMPT_WORD = re.compile(r"assword|asscode|passphrase|secret|token|pin\b|PIN", re.IGNORECASE)


_OPENSSL_PASSWD = re.compile(  # `openssl passwd -1 -salt ab x`: the password is the last word
    r"(?P<head>\bopenssl[ \t]+passwd(?:[ \t]+-(?:salt[ \t]+\S+|\S+))*[ \t]+)"
    r"(?P<pw>'[^'\n]{1,256}'|\"[^\"\n]{1,256}\"|[^\s)'\"-][^\s)]{0,255})")
_ECHO_ENCODED = re.compile(  # `echo -n x | base64`: what a script encodes for a Secret
    r"(?P<head>\becho[ \t]+(?:-[neE]{1,3}[ \t]+)*)(?P<pw>'[^'\n]{1,256}'|\"[^\"\n]{1,256}\""
    r"|[^\s|'\"$][^\s|]{0,255})(?=[ \t]*\|[ \t]*base64\b(?![ \t]+(?:-d|--decode|-D)\b))")
_PARAMETER_VALUE = re.compile(  # `aws ssm put-parameter --name x --value y`
    r"(?P<head>\bput-parameter\b[^\n]{0,512}?[ \t]--value(?:[ \t]+|=))"
    r"(?P<pw>'[^'\n]{1,1024}'|\"[^\"\n]{1,1024}\"|[^\s'\"]{1,1024})")
_LOGIN_PAIR = re.compile(  # `login admin/x`, `credentials admin:x`, `logon as root/x`
    r"(?P<head>\b(?:log(?:in|on)|credentials?)[ \t]+(?:as[ \t]+)?[\w.@-]{1,64}[/:])"
    r"(?P<pw>[^\s/:@\"',;]{4,256})(?![\w/:@])",
    re.IGNORECASE)
# ftp's `user NAME PASSWORD` command, alone on its line (a heredoc, a script) or in lftp's
# `-e 'user bob x; ls'`: the password shaped like a credential ("user bob logged in" stays).
_FTP_USER = re.compile(
    r"(?P<head>(?:^|(?<=[;'\"]))[ \t]*(?:quote[ \t]+)?user[ \t]+[^\s;'\"]{1,128}[ \t]+)"
    r"(?P<pw>[^\s;'\"]{1,256})(?=[ \t]*(?:$|[;'\"]))", re.IGNORECASE | re.MULTILINE)
# A hex key a few words after a key word: `HMAC key loaded: <hex>`, `dd_api_key <hex>`; not a
# digest, a fingerprint or an id (`commit 3f9a...`, `sha256 <hex>`, `trace_id=<hex>`).
_HEX_KEY_HINT = re.compile(r"key|secret|token|hmac")
_LONG_HEX = re.compile(r"[0-9a-fA-F]{32}")
_HEX_AFTER_KEY = re.compile(
    r"(?P<head>(?<![\w./-])(?P<key>[A-Za-z][\w.-]{0,63})"
    r"(?P<gap>(?:[ \t]+[A-Za-z][\w-]{0,23}){0,2}?)"
    r"[\"']?[ \t]*[:=]?[ \t]*[\"']?)(?P<pw>[0-9a-fA-F]{32,128})(?![\w+/=-])")
_NOT_A_KEY = frozenset({"sha", "sha1", "sha256", "sha512", "md5", "digest", "fingerprint",
                        "checksum", "hash", "id", "commit", "etag", "uuid", "trace", "span"})


def _hide_hex(m: re.Match[str]) -> str:
    words = [m.group("key"), *m.group("gap").split()]
    if any(w.lower().rstrip(":=") in _NOT_A_KEY for w in words):
        return m.group()
    pairs = [*words, *("_".join(words[i : i + 2]) for i in range(len(words) - 1))]
    if not any(sensitive_name(w) for w in pairs):
        return m.group()
    return m.group("head") + REDACTED
