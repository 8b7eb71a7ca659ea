"""Values hidden by the key that names them: `key=value`, `key: value`, JSON (escaped to any
depth, or with the value on the next line), `--flag value`, XML elements and `name=/value=`
pairs, YAML block scalars, `name:`/`value:` env lists, `kubectl describe` output, connection
strings, SQL (`PASSWORD '...'`, `IDENTIFIED BY`), config directives (`requirepass`,
`proxy_set_header X-Api-Key`), then prose (`keyed_prose`). A line that starts with such a key
loses the rest of the line. An everyday name (`key`, `session`, `sid`) hides only a value shaped
like a credential (`secret_names.weak_name`).

Every rule starts from a key hint (`key_hints`, on lowercased text) and is tried only where one
is, with keys and values bounded in length, so the whole costs time linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .key_hints import KEY, SPACE, has_key_hint, sub_at_keys
from .key_hints import KEY as _KEY
from .key_hints import SPACE as _S
from .key_words import PASSWORD_HINTS
from .keyed_prose import CREDENTIAL_SHAPE, redact_prose
from .positional_values import NAME_REFERENCE
from .secret_names import (
    about_a_secret,
    credential_shaped,
    is_secret_value,
    keep_head,
    keep_quotes,
    names_password,
    sensitive_name,
    slash_led_secret,
    weak_name,
    weak_secret,
)
from .secret_tokens import REDACTED, looks_random

__all__ = ["KEY", "SPACE", "has_key_hint", "redact_generated", "redact_keyed",
           "redact_keyed_structure", "redact_value_then_name", "sub_at_keys"]  # KEY, SPACE,
# has_key_hint and redact_value_then_name for `spread_values`


def redact_keyed_structure(text: str, lower: str) -> str:
    """The keyed rules that may span lines (XML elements, YAML block scalars, env lists, JSON
    values on the next line, `kubectl describe` output)."""
    if "</" in text:
        text = _XML_ELEMENT.sub(_keep_key(inline=False), text)
    if "\n" in text and ("|" in text or ">" in text):
        text = sub_at_keys(_YAML_BLOCK, _redact_block, text, text.lower(), line=True,
                            weak=False)
    if "value" in lower or "key" in lower or "name" in lower:
        text = _NAMED_VALUE.sub(_SUB_ASSIGNMENT_LINE, text)
    if "\n" in text and ('":' in text or "':" in text):
        text = sub_at_keys(_NEXT_LINE_VALUE, _SUB_ASSIGNMENT_LINE, text, text.lower(), weak=False)
    if "\n----" in text:
        text = _DESCRIBED.sub(_redact_described, text)
    if ('"-' in text or "'-" in text) and "," in text:
        text = sub_at_keys(_FLAG_ITEM, _SUB_ASSIGNMENT_LINE, text, text.lower(), weak=False)
    if "[" in text and "," in text and "-" in text:
        text = sub_at_keys(_FLOW_FLAG_ITEM, _SUB_ASSIGNMENT_LINE, text, text.lower(), weak=False)
    if "name" in lower and "value" in lower:
        text = _VALUE_THEN_NAME.sub(_SUB_ASSIGNMENT_LINE, text)
    if "<<" in text and "\n" in text:
        text = sub_at_keys(_HEREDOC, _redact_heredoc, text, text.lower(), line=True,
                            weak=False)
    if "&" in text and "*" in text:
        text = _redact_anchored(text)
    return text  # values on the lines below their key: `spread_values`, line by line


_PASSWORD_HINT = re.compile(r"pass|pw|" + PASSWORD_HINTS)
_LINE_ASSIGNMENT = re.compile(
    rf"^(?P<head>{_S}*(?:-{_S}+|export{_S}+)?(?P<q>[\"']?)(?P<key>{_KEY})(?P=q)"
    rf"{_S}*(?:::?=|:::=|[?+]=|::|:=|[:=：＝])(?!=|//){_S}*)(?P<pw>[^\s\"'|>]\S*(?:{_S}+(?![\w.-]+=)\S+)*){_S}*$",
    re.IGNORECASE | re.MULTILINE,
)
# What wraps a value in code and reprs: `SecretStr('x')`, `Some("x")`, `Optional[x]`, `b'x'`.
# Possessive: once a wrapper is read, the value is what it wraps.
_WRAP = r"(?P<wrap>[A-Za-z_][\w.:]{0,40}[(\[](?:[bBrRuU]{1,2}(?=[\"']))?|[bBrRuU]{1,2}(?=[\"']))?+"
_ASSIGNMENT = re.compile(
    rf"(?<![A-Za-z0-9_.-])(?P<head>(?P<q>\\*[\"']?)(?P<key>{_KEY})(?P=q)"
    rf"(?P<sep>{_S}*(?:=>|::?=|\?=|[:=：＝]|{_S}->)(?!=|//){_S}*){_WRAP})"
    r"(?P<pw>\"\"\"[^\n]{1,8192}?\"\"\"|'''[^\n]{1,8192}?'''"  # TOML's multi-line strings
    r"|\"(?:[^\"\\\n]|\\.){0,8192}\"|'(?:[^'\\\n]|\\.){0,8192}'"
    r"|\{[^{}\s\"'$]{1,1024}\}(?![^\s,;&\]}])"  # `password={x}`, not `{{ .x }}` nor JSON
    r"|\[[^\[\]\s\"',]{1,1024}\](?![^\s,;&\]}])"  # Go's map[X-Api-Key:[x]], `password=[x]`
    r"|(?P<bs>\\+)\"(?:(?!(?P=bs)\").){0,8192}(?P=bs)\""  # values are bounded: no quadratic
    r"|<[^<>\n]{1,64}>|\$\([^()\n]{1,256}\)|\$\{[^{}\n]{1,256}\}"  # placeholders, $(cat f)
    r"|\((?=[a-z ]{1,40}\))[a-z ]{1,40}\)"  # (hidden), (see above)
    r"|[\"'][^\"'\n]{1,1024}$"  # a quote never closed: to the end of the line
    r"|[^\s\"'`,;&{\[](?:(?!\\[nrt])[^\s\"'`,;&]|[,;&](?![\s\"'{\[]|$|[\w.\[\]-]+[=:])){0,1024}"
    r"(?:(?!\\[nrt])[^\s\"'`,;&]){0,65536}+)",  # past 1024 characters, the rest of the run too
    re.IGNORECASE,
)
# A password's value may hold spaces: to the end of the line, or to the next `key=`. Words and
# their number are bounded, so a try reads a few kilobytes at most.
_PASSPHRASE = re.compile(  # not in a query string (`?a=b&password=x`)
    rf"(?<![A-Za-z0-9_.?&-])(?P<head>(?P<q>[\"']?)(?P<key>{_KEY})(?P=q)"
    rf"(?P<sep>{_S}*(?:=>|::?=|\?=|[:=：＝])(?![=/]){_S}*))"
    rf"(?P<pw>(?!\$[({{])[^\s\"'`|>{{\[(<][^\s&;,=]{{0,128}}+"
    rf"(?:{_S}+(?!-|[\w.-]{{1,64}}[=:])\S{{1,128}}+){{1,32}})"
    rf"(?={_S}*$|{_S}+(?:-|[\w.-]{{1,64}}[=:])|{_S}+\S)",  # or 32 words: hidden, the rest kept
    re.IGNORECASE,
)
_SPACED_LINE = re.compile(  # .properties `db.password Pa55`, Dockerfile `ENV K V`, csh `setenv K V`
    rf"^(?P<head>{_S}*(?:(?:ENV|setenv|set){_S}+)?(?P<key>{_KEY}){_S}+)(?P<pw>[^\s=:]\S{{0,256}})"
    rf"{_S}*$",
    re.IGNORECASE | re.MULTILINE,
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
    # and their variants: {"Name": "/prod/db/password", "Type": "SecureString", "Value": "V"},
    # CloudFormation's {"ParameterKey": "DBPassword", "ParameterValue": "V"}, <key>K</key><value>
    rf"(?P<head>\b[a-z]{{0,24}}(?:name|key)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
    rf"(?:[\w.-]{{0,64}}/){{0,16}}(?P<key>{_KEY})\\?[\"']?"
    r"(?:[ \t]*,[ \t]*\\?\"\w{1,32}\\?\"[ \t]*:[ \t]*\\?\"[^\"\\\n]{0,64}\\?\"){0,2}"
    r"[ \t]*,?[ \t]*(?:\r?\n[ \t]*)?\\?[\"']?[a-z]{0,24}value\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
    r"|\b(?:name|key)[ \t]*=[ \t]*[\"'](?P<key2>" + _KEY + r")[\"'][^<>\n]{0,200}>"
    r"|<(?P<tag>key|name)>[ \t]*(?:[\w.-]{0,64}/){0,16}(?P<key3>" + _KEY
    + r")[ \t]*</(?P=tag)>\s{0,64}<value>)"
    r"(?P<pw>[^\s\"'\\<>|][^\"'\\\r\n<>]*)",  # not a block scalar's `|`: its body is below
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
_DESCRIBED = re.compile(  # `kubectl describe configmap`: KEY:, a line of dashes, the value
    r"(?P<head>^(?P<key>[\w.-]+):[ \t]*\r?\n-{4}[ \t]*\r?\n)"
    r"(?P<pw>.*?)(?=\r?\n(?:[\w.-]+:[ \t]*\r?\n-{4}|[ \t]*\r?\n|BinaryData\b|Events:)|\Z)",
    re.MULTILINE | re.DOTALL,
)
_VALUE_THEN_NAME = re.compile(  # {"value": "x", "name": "DB_PASSWORD"}, `- value: x\n  name: K`
    r"(?P<head>\bvalue\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?)(?P<pw>[^\"'\\\n<>]{1,1024}?)"
    r"(?=\\?[\"']?[ \t]*,?[ \t]*\r?\n?[ \t]*\\?[\"']?name\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
    rf"(?P<key>{_KEY})(?![\w.-]))",
    re.IGNORECASE,
)
_FLAG_ITEM = re.compile(
    rf"(?P<head>(?P<q>\\*[\"'])--?(?P<key>{_KEY})(?P=q)[ \t]*,[ \t]*(?:\r?\n[ \t]*)?(?P=q))"
    r"(?P<pw>[^\"'\\\n]{1,1024})(?=(?P=q))",
    re.IGNORECASE,
)
_FLOW_FLAG_ITEM = re.compile(  # YAML's flow sequence: `args: [--db-password, x, --port, '5432']`
    rf"(?P<head>(?:(?<=[\[,])|(?<=[\[,][ \t])|(?<=[\[,][ \t]{{2}}))--?(?P<key>{_KEY})[ \t]*,[ \t]*)"
    r"(?P<pw>[^\s\"',\[\]{}][^\s,\[\]{}]{0,1023})(?=[ \t]*[,\]])",
    re.IGNORECASE,
)
_CONN_STRING_PASSWORD = re.compile(
    r"(?P<head>;[ \t]*(?:password|pwd)[ \t]*=[ \t]*)(?P<pw>\{(?:[^}\n]|\}\}){0,1024}\}|[^;\n\"']+)",
    re.IGNORECASE
)
_SQL_PASSWORD = re.compile(
    r"(?P<head>\b(?:password[ \t]*\([ \t]*|(?:password|identified(?:[ \t]+with[ \t]+\w+)?"
    r"[ \t]+by)[ \t]+))"
    r"(?P<pw>'(?:[^'\\\n]|\\.|''){0,1024}'|\"(?:[^\"\\\n]|\\.|\"\"){0,1024}\")",
    re.IGNORECASE,
)
_DIRECTIVE = re.compile(  # redis.conf, keepalived, .netrc, HAProxy userlists
    r"(?P<head>(?:(?:^[ \t]*|\bconfig[ \t]+set[ \t]+)"  # redis' `CONFIG SET requirepass x` too
    r"(?:requirepass|masterauth|auth_pass|rpcpassword)"
    r"|\blogin[ \t]+\S+[ \t]+password|\binsecure-password)[ \t]+)"
    r"(?P<pw>\"[^\"\n]*\"|'[^'\n]*'|[^\s;]+)",
    re.IGNORECASE | re.MULTILINE,
)
_DIRECTIVE_HINTS = re.compile(r"requirepass|masterauth|auth_pass|rpcpassword|login|insecure-pas")
_HEADER_DIRECTIVE = re.compile(  # nginx, HAProxy, Envoy: a header set to a literal
    rf"(?P<head>\b(?:proxy_set_header|add_header|grpc_set_header|more_set_headers|set-header"
    rf"|add-header)[ \t]+[\"']?(?P<key>{_KEY})[\"']?[ \t]+[\"']?)(?P<pw>[^\s\"';]+)",
    re.IGNORECASE,
)
def _keep_key(*, inline: bool) -> Callable[[re.Match[str]], str]:
    """Replacement for assignments: hide `pw` when `key` names a secret; keep its quotes."""

    def replace(m: re.Match[str]) -> str:
        pw = m.group("pw")
        escapes = len(pw) - len(pw.lstrip("\\"))
        if escapes and pw[escapes : escapes + 1] == '"':
            open_ = close = pw[: escapes + 1]
            inner = pw[escapes + 1 : -(escapes + 1)]
        elif pw[:3] in ('"""', "'''") and len(pw) >= 6 and pw.endswith(pw[:3]):
            open_, close, inner = pw[:3], pw[:3], pw[3:-3]  # TOML's multi-line strings
        elif pw[:1] in "\"'":
            closed = len(pw) > 1 and pw[-1] == pw[0]
            open_, close, inner = pw[0], pw[0] if closed else "", pw[1:-1] if closed else pw[1:]
        elif len(pw) > 2 and pw[0] + pw[-1] in ("{}", "[]"):
            open_, close, inner = pw[0], pw[-1], pw[1:-1]
        else:
            inner = pw.rstrip(")]}>")
            open_, close = "", pw[len(inner) :]
        key = m.group("key") or m.groupdict().get("key2") or m.groupdict().get("key3") or ""
        if inner.startswith("{{") and (literal := _TEMPLATE_LITERAL.search(inner)) and (
                sensitive_name(key) and is_secret_value(literal.group("pw"))):
            return (m.group("head") + open_ + inner[: literal.start("pw")] + REDACTED
                    + inner[literal.end("pw") :] + close)
        if not (sensitive_name(key) or _query_key(m, key) or (
                weak_name(key) and weak_secret(key, inner))) or not (is_secret_value(
                inner) and is_secret_value(pw) or slash_led_secret(key, inner)):
            return m.group()
        if inner.isdigit() and len(inner) < 16 and key.lower().endswith("seed"):
            return m.group()  # a random generator's `seed=42`, not a wallet's
        if about_a_secret(m.string[max(0, m.start("key") - 64) : m.start("key")]):
            return m.group()  # "Politique de mot de passe : 12 caractères minimum"
        if _BLOCK_INDICATOR.fullmatch(inner):
            return m.group()  # `password: |`: the value is on the lines below
        if NAME_REFERENCE.fullmatch(pw) or NAME_REFERENCE.fullmatch(inner):
            return m.group()  # `secretRef: {name: db-credentials}`: a Secret's name
        if inner in ("[", "{"):  # `"tokens": [`, `"password": {`: what it holds is below
            return m.group()  # (`open_values`)
        if m.string.endswith("checksum/", 0, m.start("key")) and _DIGEST.fullmatch(inner):
            return m.group()  # Helm's `checksum/secret: <sha256>` restarts pods on a change
        call = m.groupdict().get("wrap") or _CALL.match(inner)
        if call and _LOOKUP.search((call if isinstance(call, str) else call.group()).lower()):
            return m.group()  # a lookup call in the text names where the value comes from
        words = inner.split()
        if len(words) > 1 and not is_secret_value(words[0]):
            return m.group()  # "password=*** rejected by server"
        if inline and ":" in (m.groupdict().get("sep") or ""):
            if m.string[m.start() - 1 : m.start()] == ":" and m.group("sep") == ":":
                return m.group()  # arn:aws:secretsmanager:...:secret:prod/db, urn:...
            if inner.isalpha() and not _at_key_position(m) and (
                    inner.islower() or not looks_random(inner)) and not (
                    names_password(key) and not _WORD_AFTER.match(m.string, m.end())):
                return m.group()  # prose: "failed to refresh token: context deadline"
            if inner.isalpha() and (inner.islower() or not looks_random(inner)) \
                    and not names_password(key) \
                    and _WORD_AFTER.match(m.string, m.end()):
                return m.group()  # a component's message: "auth: login succeeded for ..."
        if m.re is _LINE_ASSIGNMENT and len(words) > 2 and ":" in m.group("head") \
                and not names_password(key) and not any(map(credential_shaped, words)):
            return m.group()  # "sealed-secrets: unsealed db-credentials in namespace shop"
        if m.re is _PASSPHRASE and len(words) > 1:
            if not names_password(key) or (
                    ":" in m.group("sep") and not _at_key_position(m)
                    and all(w.isalpha() and w.islower() for w in words)):
                return m.group()  # a token's value has no spaces; "password: not set"
        return m.group("head") + open_ + REDACTED + close

    return replace


_DIGEST = re.compile(r"[0-9a-f]{32,128}")
# A template that writes a literal (Ansible's `{{ 'x' | password_hash('sha512') }}`, Helm's
# `{{ "x" | b64enc }}`, `{{ .Values.pw | default "x" }}`): the literal is the secret.
_TEMPLATE_LITERAL = re.compile(
    r"(?:^\{\{-?[ \t]*|\bdefault[ \t]+)(?P<q>['\"])(?P<pw>[^'\"\n]{1,256})(?P=q)")
_BLOCK_INDICATOR = re.compile(r"[|>][-+0-9]{0,2}")
_LOOKUP = re.compile(r"env|get|lookup|read|load|file|fetch|input|prompt|resolve|ref\b")
_CALL = re.compile(r"[A-Za-z_][\w.]{0,40}[(\[]")
_WORD_AFTER = re.compile(r"[ \t]+[A-Za-z][\w.-]*+(?![:=])")  # prose; not `Host:db`


# Keys that hold a credential in a URL's query string though not in a log's prose: Google's
# `?key=`, OAuth's `?code=`, a probe's `/healthz?key=`.
_QUERY_KEYS = frozenset({"key", "code", "k", "apikey", "api-key", "access-key"})


def _query_key(m: re.Match[str], key: str) -> bool:
    return key.lower() in _QUERY_KEYS and m.string[m.start() - 1 : m.start()] in ("?", "&") and (
        m.group("sep") if "sep" in m.re.groupindex else "=").strip() == "="


def _at_key_position(m: re.Match[str]) -> bool:
    before = m.string[m.string.rfind("\n", 0, m.start()) + 1 : m.start()].rstrip(" \t")
    return not before or before[-1] in _KEY_POSITION


def _redact_described(m: re.Match[str]) -> str:
    if not sensitive_name(m.group("key"), broad=True) or not is_secret_value(m.group("pw")):
        return m.group()
    return m.group("head") + REDACTED


def _redact_block(m: re.Match[str]) -> str:
    if not sensitive_name(m.group("key")) or not is_secret_value(m.group("pw")):
        return m.group()
    ending = "\n" if m.group("pw").endswith("\n") else ""
    return f"{m.group('head')}{m.group('indent')}  {REDACTED}{ending}"


_SUB_ASSIGNMENT_LINE = _keep_key(inline=False)
_SUB_ASSIGNMENT = _keep_key(inline=True)
_KEYED_RULES = ((_LINE_ASSIGNMENT, _SUB_ASSIGNMENT_LINE, True),
                (_PASSPHRASE, _SUB_ASSIGNMENT, False),
                (_ASSIGNMENT, _SUB_ASSIGNMENT, False),
                (_FLAG_VALUE, _SUB_ASSIGNMENT_LINE, False))


def redact_keyed(text: str, lower: str) -> str:
    """The one-line rules that start from a key name, then prose."""
    original = text
    if ";" in text:
        text = _CONN_STRING_PASSWORD.sub(keep_head, text)
    if ("'" in text or '"' in text) and ("password" in lower or "identified" in lower):
        text = _SQL_PASSWORD.sub(keep_quotes, text)
    if _DIRECTIVE_HINTS.search(lower):
        text = _DIRECTIVE.sub(keep_quotes, text)
    if "header" in lower:
        text = _HEADER_DIRECTIVE.sub(_SUB_ASSIGNMENT_LINE, text)
    if "{" in text and "value" in lower:
        text = sub_at_keys(_NESTED_VALUE, _SUB_ASSIGNMENT_LINE, text, text.lower())
    if text is not original:
        lower = text.lower()
    for pattern, replace, line in _KEYED_RULES:
        if pattern is _FLAG_VALUE and "-" not in text:
            continue
        if pattern is _PASSPHRASE and (" " not in text or not _PASSWORD_HINT.search(lower)):
            continue
        redacted = sub_at_keys(pattern, replace, text, lower, line=line,
                               long_keys=pattern is _ASSIGNMENT)
        if redacted is not text:
            text, lower = redacted, redacted.lower()
    if (" " in text or "\t" in text) and len(text.split(None, 3)) <= 3:  # KEY VALUE, ENV K V
        text = sub_at_keys(_SPACED_LINE, _redact_spaced, text, lower, line=True)
    if "&" in text and ":" in text:
        text = _NAMED_ANCHOR.sub(_redact_named_anchor, text)
    return redact_prose(text, lower if text is original else text.lower())


_UPSTREAM_PASS = ("proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass",
                  "memcached_pass")


def _redact_spaced(m: re.Match[str]) -> str:
    """A key and its value with only a space between: a password key that is no English word
    (`db.password`, `DB_PASSWORD`), and a value shaped like a credential; any secret's key
    (fluentd's `shared_key`) before a value that looks like one (`credential_shaped`)."""
    key, pw = m.group("key"), m.group("pw")
    if key.lower().endswith(_UPSTREAM_PASS) or "://" in pw:
        return m.group()  # nginx `proxy_pass http://backend:8080;`
    named = names_password(key) or (sensitive_name(key) and (
        key.isupper() or "\t" in m.group() or credential_shaped(pw)))
    declared = m.group("head").lstrip()[:3].lower() in ("env", "set")  # Dockerfile, csh
    if not (named and ("." in key or "_" in key or "\t" in m.group() or declared)
            and is_secret_value(pw)
            and CREDENTIAL_SHAPE.match(pw)):
        return m.group()
    return m.group("head") + REDACTED


def redact_value_then_name(text: str) -> str:
    """`{"value": "x", "name": "DB_PASSWORD"}`, `- value: x` over `name: API_TOKEN`: the value
    of an env entry written before its name, hidden when the name is a secret's."""
    return _VALUE_THEN_NAME.sub(_SUB_ASSIGNMENT_LINE, text)


def redact_generated(text: str) -> str:
    """Terraform state: what a `random_password` or `random_string` resource generated (its
    `result`, `bcrypt_hash`), whatever the key's name says."""
    out: list[str] = []
    pos = 0
    for m in _RANDOM_RESOURCE.finditer(text):
        if m.start() < pos:
            continue
        end = text.find('"type"', m.end())
        end = len(text) if end < 0 else end
        out += (text[pos : m.end()], _GENERATED.sub(rf"\g<head>{REDACTED}", text[m.end() : end]))
        pos = end
    return "".join(out) + text[pos:] if out else text


_RANDOM_RESOURCE = re.compile(r'"type"[ \t]*:[ \t]*"random_(?:password|string)"')
_GENERATED = re.compile(r'(?P<head>"(?:result|bcrypt_hash)"[ \t]*:[ \t]*")[^"\\\n]+(?=")')
_HEREDOC = re.compile(  # HCL and shell: `secret_value = <<EOT`, the value's lines, `EOT`
    rf"^(?P<head>{_S}*(?P<key>{_KEY}){_S}*=?{_S}*<<[-~]?(?P<q>[\"']?)(?P<tag>[A-Za-z_]\w{{0,31}})"
    rf"(?P=q){_S}*\r?\n)(?P<pw>(?:(?!{_S}*(?P=tag){_S}*\r?$)[^\n]*\n){{1,1000}}?)"
    rf"(?={_S}*(?P=tag){_S}*\r?$)",
    re.IGNORECASE | re.MULTILINE,
)


def _redact_heredoc(m: re.Match[str]) -> str:
    if not sensitive_name(m.group("key")) or not is_secret_value(m.group("pw")):
        return m.group()
    return f"{m.group('head')}{REDACTED}\n"


_ALIAS = re.compile(rf"(?P<key>{_KEY})[\"']?{_S}*:{_S}*\*(?P<anchor>[\w.-]{{1,64}})", re.IGNORECASE)


def _redact_anchored(text: str) -> str:
    """YAML: the scalar anchored as `&pw x` and used as `db_password: *pw` is the secret."""
    anchors = {m.group("anchor") for m in _ALIAS.finditer(text) if sensitive_name(m.group("key"))}
    for anchor in anchors:
        text = re.sub(rf"(?P<head>&{re.escape(anchor)}{_S}+)(?P<pw>[^\s#\[{{|>][^\n#]*?)"
                      rf"(?={_S}*(?:#|\r?$))", keep_quotes, text, flags=re.MULTILINE)
    return text


# A YAML anchor named like a secret (`x-db: &db_password x`): its value is one, used below or not
# (a log streams the anchor before its alias).
_NAMED_ANCHOR = re.compile(
    rf"(?P<head>:{_S}+&(?P<key>{_KEY}){_S}+)(?P<pw>[^\s#\[{{|>*&][^\n#]*?)(?={_S}*(?:#|\r?$))",
    re.IGNORECASE | re.MULTILINE)


def _redact_named_anchor(m: re.Match[str]) -> str:
    return keep_quotes(m) if sensitive_name(m.group("key")) else m.group()
