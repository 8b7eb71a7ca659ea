"""Redaction: the one gate every cluster-read value passes before a model, Slack, the web, a log
or a snapshot file sees it.

Names stay, values go: `DB_PASSWORD=[REDACTED]` still tells a human the variable was set.

First what hides a key is undone (terminal colours, JSON-escaped `\\/` and `\\u0077`, string
literals joined in code: `"pass" + "word=x"`). Then the rules, each behind a cheap substring
check; those that span lines run on the whole text, the others line by line:
- `credentials`: private keys, URL userinfo, command-line passwords, HTTP authorization, JWTs,
  cookies: credentials known by the shape around them;
- `program_secrets`: what a program takes by its position or its flag (`zip -P x`,
  `vault login x`, `aws configure set aws_secret_access_key x`), one table with the object path;
- `code_credentials`: the password a call in code takes by its position
  (`DriverManager.getConnection(url, "app", x)`, `auth=("bob", x)`), one table of call names;
- `table_columns`: a table's cells below a header that names a secret (`| user | password |`),
  the header's columns carried from line to line;
- `keyed_values`: values of keys that name a secret (`secret_names` judges the key), in every
  shape a config, a log or a dump writes them;
- percent-encoded runs, judged decoded;
- `secret_tokens`: vendor tokens and random-looking runs, whatever surrounds them;
- `personal_data`, when configured: e-mail local parts and card numbers.

`tools.scrubbing.redact_object` applies them to the fields of Kubernetes objects where values
live (env, args, ConfigMap data, labels, annotations, messages) and replaces Secret data outright.

    >>> redact_text("connecting to postgres://app:hunter2@db:5432/orders")
    'connecting to postgres://app:[REDACTED]@db:5432/orders'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote

from .code_credentials import redact_code_calls
from .config_values import redact_config_values, redact_sensitive_blocks
from .credentials import held_key_bodies, redact_credentials, redact_private_keys
from .heredocs import hide_here_string, hide_inline_heredoc
from .key_hints import dense_with_hints
from .key_words import NON_LATIN, NON_LATIN_WORD
from .keyed_values import has_key_hint, redact_generated, redact_keyed, redact_keyed_structure
from .log_records import join_partial_records
from .open_values import OpenValues
from .personal_data import redact_personal_data
from .positional_values import redact_expect_send, redact_positional
from .program_secrets import redact_program_words
from .secret_commands import redact_commands
from .secret_names import fold_char, is_secret_value, sensitive_name
from .secret_tokens import PREFIXES_FILE, REDACTED, known_token, redact_runs, use_prefixes
from .spread_values import SpreadValues, values_named_below
from .table_columns import TableColumns

__all__ = ["LAST_APPLIED", "PREFIXES_FILE", "REDACTED", "configure", "is_secret_value",
           "redact_label", "redact_line", "redact_lines", "redact_text", "redact_value",
           "sensitive_name"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class _Policy:
    pii = False


def configure(*, pii: bool = False, extra_prefixes: Iterable[str] = ()) -> None:
    """Set what redaction hides beyond secrets, once, at the entry point (from the settings'
    `redaction` section): personal data (`pii`), and token prefixes of the user's own
    (`extra_prefixes`, such as `acme_live_`: the prefix followed by 8+ token characters)."""
    _Policy.pii = pii
    use_prefixes(extra_prefixes)
    _redact_short.cache_clear()


def redact_text(text: str) -> str:
    """Free text (log lines, messages, annotation and ConfigMap values) with secrets hidden.

    The rules that span lines (PEM blocks, XML elements, YAML block scalars and env lists) run on
    the whole text; the others line by line, each behind its own cheap check, so a long text
    costs what its lines cost. Certificates are public and their dates matter (x509 expiry):
    their bodies are left alone."""
    text = _normalize(text)
    if (not text.isascii() or "&" in text or "%" in text or "\\" in text or "></" in text
            or "<!--" in text or _CONCATENATION.search(text)) \
            and _DISGUISE_HINT.search(text):
        plain, starts = _undisguised(text)
        if plain != text:
            return _map_back(text, plain, starts, _redact_plain(plain))
    return _redact_plain(text)


def _redact_plain(text: str) -> str:
    if "\n" not in text:
        if "<t" in text or "<T" in text:  # an HTML table on one line
            text = TableColumns().hide(text)
        return _redact_line(text, text.lower(), structure=True)
    text = _redact_structure(text, text.lower())
    if "-----BEGIN CERTIFICATE-----" not in text and " PUBLIC KEY-----" not in text:
        return _redact_lines(text)
    parts = _certificate_split(text)
    return "".join(_redact_certificate(part) if i % 2 else _redact_lines(part)
                   for i, part in enumerate(parts))


def _certificate_split(text: str) -> list[str]:
    """The text around certificate and public key blocks, then each block (from a BEGIN to the
    first END after it), alternately: one pass over the markers, so a text of BEGIN lines with
    no END costs what its length does (a regex looking ahead for END from each one was
    quadratic: 8,000 such lines took 8 s)."""
    parts, pos, begin = [], 0, -1
    for mark in _CERTIFICATE_MARK.finditer(text):
        if mark.group(1) == "BEGIN":
            begin = mark.start() if begin < 0 else begin
        elif begin >= 0:
            parts += [text[pos:begin], text[begin:mark.end()]]
            pos, begin = mark.end(), -1
    parts.append(text[pos:])
    return parts


def _redact_certificate(block: str) -> str:
    """A certificate or public key block: its markers and base64 body lines stay; any other line
    inside it (`password=x` between the markers) gets the rules of every line."""
    return "\n".join(line if _certificate_line(line) else _redact_line(line, line.lower())
                     for line in block.split("\n"))


def _certificate_line(line: str) -> bool:
    """A certificate's marker or base64 body line, not a vendor token alone on its line."""
    return _CERTIFICATE_LINE.fullmatch(line) is not None and not known_token().fullmatch(
        line.strip())


@functools.lru_cache(maxsize=8192)
def _redact_short(text: str) -> str:
    return redact_text(text)


def redact_value(text: str) -> str:
    """`redact_text` for object fields: env values, args and messages repeat across replicas."""
    return _redact_short(text) if len(text) <= 512 else redact_text(text)


# Kube-state-metrics labels that name a Secret (`kube_secret_info{secret="db-credentials"}`).
_NAMING_LABELS = frozenset({"secret", "secrets"})


def redact_label(name: str, value: str) -> str:
    """A metric label's value, judged with its name as a key would be: kube-state-metrics turns
    annotations and labels into `annotation_db_password="..."`, `label_api_token="..."`. The
    `secret` label of `kube_secret_*` series holds a Secret's name and stays."""
    if name not in _NAMING_LABELS and sensitive_name(name) and is_secret_value(value):
        return REDACTED
    return redact_value(value)


def redact_line(line: str) -> str:
    """One log line. The same rules as `redact_text`; a PEM block split over lines is caught
    line by line, its base64 body lines being random-looking tokens (`redact_lines` hides them
    all). A line a log repeats (a stack frame, a health check) is judged once (`redact_value`)."""
    return redact_value(line)


def redact_lines(lines: Iterable[str]) -> Iterator[str]:
    """`redact_line` for each line of a log, and what spreads over lines, as a log prints it a
    line at a time, each line with its own prefix (a timestamp, a pod name, docker's JSON):
    values below their key (`spread_values`); the body of a private key, whose
    lines lose the base64 run that starts where `-----BEGIN` did on its line, short or low in
    entropy (the DER header, the last line), and so do the lines a PuTTY key's `Private-Lines: N`
    counts; the body of a certificate or public key, whose lines stay, as in `redact_text`. At
    most 128 lines each, when the END line is lost. An env entry's `value:` above its `name:`
    waits for the line below (`values_named_below`), and so do base64 lines for an END marker
    whose BEGIN line was lost (`held_key_bodies`)."""
    at, left, public = 0, 0, False  # where a block's body starts; lines left; a certificate?
    spread, opened, tables = SpreadValues(), OpenValues(), TableColumns()
    for line in values_named_below(held_key_bodies(join_partial_records(lines))):
        line = tables.hide(opened.hide(spread.hide(line)))
        if left:
            left -= 1
            body = _body(line, at)
            if "-----END" in line.upper():
                left = 0
            elif public and body and body.end() == len(line.rstrip("\\n\",}")) \
                    and "=" not in body.group().rstrip("=") \
                    and not known_token().fullmatch(body.group()):  # `=` only as padding
                yield line  # a certificate's line: public, and its dates matter
                continue
            elif body and not public:
                line = line[: body.start()] + REDACTED + line[body.end() :]
        out = redact_line(line)
        begin = _BLOCK_BEGIN.search(line) if "-----" in line else None
        if begin and "-----END" not in line[begin.end() :].upper():
            at, left, public = begin.start(), _BLOCK_LINES, "PRIVATE" not in begin.group().upper()
        elif "Private-Lines:" in line and (counted := _PUTTY_LINES.search(line)):
            at, left, public = counted.start(), min(int(counted.group(1)), _BLOCK_LINES), False
        yield out


def _body(line: str, at: int) -> re.Match[str] | None:
    """A private key's base64 body line: the run at the BEGIN line's column (or ending the
    line) that ends the line, not a word of a log line that came between (`WARN interleaved`)."""
    body = _KEY_BODY.match(line, at)
    if body is not None and body.end() == len(line.rstrip().rstrip("\\n\",}")):
        return body
    body = _trailing_body(line, at)  # a prefix a little wider or narrower
    return None if body is None or body.group().isalpha() and body.group().islower() else body


def _trailing_body(line: str, at: int) -> re.Match[str] | None:
    """The base64 run that ends the line, when the line's prefix is a little wider or narrower
    than the BEGIN line's (`10:00:00.7` then `10:00:00.14`)."""
    run = _TRAILING_BODY.search(line, max(0, at - 16))
    return run if run and abs(run.start() - at) <= 16 else None


_CERTIFICATE_MARK = re.compile(  # and public keys: public, like certificates
    r"-----(BEGIN|END) (?:CERTIFICATE|(?:RSA |EC )?PUBLIC KEY)-----")
_CERTIFICATE_LINE = re.compile(r"\s*(?:-----(?:BEGIN|END) [A-Z ]+-----|[A-Za-z0-9+/]+={0,2})\s*")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ESCAPED_NAME_CHAR = re.compile(r"\\u00(2[dD]|2[eE]|3[0-9]|[46][0-9a-fA-F]|[57][0-9aA]|5[fF])")
# What may stand between a key and its value, spelled out or encoded: `password—x`, `token%3Dx`,
# `密码为x` (any other script), `token"x"` (typographic quotes, undisguised).
_SEPARATOR = re.compile(r"[=:\s：＝%\"'<]|[^\x00-\x7f]")
_BLOCK_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?|CERTIFICATE"
                          r"|(?:RSA |EC )?PUBLIC KEY)-----", re.IGNORECASE)
_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]+")
_PUTTY_LINES = re.compile(r"Private-Lines:[ \t]*(\d{1,3})[ \t]*$")
_TRAILING_BODY = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/=]+(?=\s*$)")
_BLOCK_LINES = 128  # an 8192-bit RSA key has 100 body lines; an END line lost stops here
_ENCODED_SEPARATOR = re.compile(r"%(?:25)*(?:3d|3a|40)")  # `=`, `:`, `@`, encoded once or more
_ENCODED_RUN = re.compile(r"[\w.~+/=-]*(?:%[0-9A-Fa-f]{2}[\w.~+/=-]*)+")


def _normalize(text: str) -> str:
    r"""Undo what hides a key from the rules: terminal colours (`\x1b[33mpassword\x1b[0m=`),
    JSON-escaped slashes in URLs (`mongodb:\/\/`), letters (`pass\u0077ord`) and `@`."""
    if "\x1b[" in text:
        text = _ANSI.sub("", text)
    if ":\\/\\/" in text:
        text = text.replace("\\/", "/")
    if "\\u00" in text:
        text = _ESCAPED_NAME_CHAR.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


# What may disguise a key: any non-ASCII character (zero-width and soft hyphens, fullwidth forms,
# Cyrillic or Greek look-alikes, typographic quotes), an HTML character reference (zero-padded
# too, `&#0000061;`, and `&shy;` inside a key), a percent-encoded letter. And an escaped
# separator or quote (`password\u003a x`, `\u0022password\u0022`, `password\x3dx`), a C octal
# escape of a letter or a separator (`pass\167ord`, `password\075x`), a JSON-escaped tab between
# a key and its value (`password\tx`), an empty element or a comment inside a word
# (`pass<b></b>word`). A word of another script (`пароль`, `密码`) reads as what it means
# (`key_words`).
# Two string literals joined in code (`"pass" + "word=x"`, `"Blue" +` over `"bird42"`, PHP's
# `.`, Lua's `..`, SQL's `||`, VB's `&`): read as the one string they make.
_CONCATENATION = re.compile(  # the quote first: the regex engine skips to quotes
    r"[\"'](?<=[^\s\"'\\][\"'])[ \t]*(?:\+|\.\.?|\|\||&)[ \t]*(?:\r?\n[ \t]*)?[\"'](?=[^\s\"'])")
_DISGUISE_HINT = re.compile(rf"{_CONCATENATION.pattern}"
                            r"|[^\x00-\x7f]|&#[xX]?0*[0-9a-fA-F]{1,7};|%[4-7][0-9a-fA-F]"
                            r"|\\(?:u00|x)[2-7][0-9a-fA-F]|\\[01][0-7]{2}|\\t(?=\w)"
                            r"|&(?:quot|apos|lt|gt|equals|colon|shy|zwn?j|nbsp);"
                            r"|(?<=[A-Za-z])<(?:[a-z]{1,10}></[a-z]{1,10}>|!--[^<>]{0,64}-->)")
_DISGUISE = re.compile(rf"(?P<word>{NON_LATIN_WORD.pattern})|(?P<joined>{_CONCATENATION.pattern})"
                       r"|[^\x00-\x7f]"
                       r"|&#(?:[xX]0*(?P<hex>[0-9a-fA-F]{1,6})|0*(?P<dec>[0-9]{1,7}));"
                       r"|%(?P<pct>[4-7][0-9a-fA-F])|\\(?:u00|x)(?P<esc>[2-7][0-9a-fA-F])"
                       r"|\\(?P<oct>[01][0-7]{2})|(?P<tab>\\t)(?=\w)"
                       r"|&(?P<named>quot|apos|lt|gt|equals|colon|shy|zwn?j|nbsp);"  # HTML, XML
                       r"|(?<=[A-Za-z])(?P<empty><(?P<tag>[a-z]{1,10})></(?P=tag)>|<!--[^<>]{0,64}-->)"
                       r"(?=[A-Za-z])")
_NAMED_ENTITY = {"quot": '"', "apos": "'", "lt": "<", "gt": ">", "equals": "=", "colon": ":",
                 "shy": "", "zwj": "", "zwnj": "", "nbsp": " "}
# Typographic quotes read as ASCII ones (`Passwort »x«`, `« x »`, `「x」`, `【x】`): `«` and `»`
# only as a pair, a lone `»` being a separator (`password » x`).
_QUOTES = {**dict.fromkeys("「」『』【】“”„‟〈〉《》〔〕", '"'), **dict.fromkeys("‘’‚‛", "'")}
_PAIRED_QUOTES = {**_QUOTES, "«": '"', "»": '"'}


def _undisguised(text: str) -> tuple[str, list[int]]:
    """`text` with what disguises a key undone (`p\u0430ss\u200bword`, `ｐａｓｓ`, `pass&#119;ord`,
    `pass%77ord`, `password\\x3d`), and where each of its characters starts in `text`. Only
    letters, digits and `_.-=:` are decoded from references, and quotes and `@` too from `\\u00XX`
    and `\\xXX` escapes: what a key, its separator and its quotes are made of."""
    out: list[str] = []
    starts: list[int] = []
    pos = 0
    quotes = _PAIRED_QUOTES if "«" in text and "»" in text else _QUOTES
    for m in _DISGUISE.finditer(text):
        out.append(text[pos : m.start()])
        starts.extend(range(pos, m.start()))
        char = m.group()
        if m.group("word"):
            plain = NON_LATIN[char.lower()]
        elif len(char) == 1:
            plain = quotes.get(char) or fold_char(char)
        elif m.group("named"):
            plain = _NAMED_ENTITY[m.group("named")]
        elif m.group("tab"):
            plain = "\t"
        elif m.group("empty") or m.group("joined"):
            plain = ""  # an empty element or a comment inside a word (`pass<b></b>word`), or
            # what joins two string literals (`"pass" + "word"`)
        else:
            code = int(m.group("hex") or m.group("dec") or m.group("pct") or m.group("esc")
                       or m.group("oct"), 10 if m.group("dec") else 8 if m.group("oct") else 16)
            allowed = "_.-=:\"'@" if m.group("esc") else "_.-=:"  # what JSON or C escapes
            plain = chr(code) if code < 0x80 and (chr(code).isalnum() or chr(code) in allowed) \
                else char
        out.append(plain)
        starts.extend([m.start()] * len(plain))
        pos = m.end()
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    return "".join(out), starts


def _map_back(text: str, plain: str, starts: list[int], redacted: str) -> str:
    """`text` with the spans the redactor hid in its undisguised form `plain` hidden, every other
    character shown as it was written (the key keeps its disguise)."""
    if redacted == plain:
        return text
    pieces = redacted.split(REDACTED)
    out: list[str] = []
    at = 0  # in plain
    for i, piece in enumerate(pieces):
        if i == 0:
            found = 0 if plain.startswith(piece) else -1
        elif i == len(pieces) - 1:
            found = len(plain) - len(piece) if plain.endswith(piece) else -1
            found = found if found >= at else -1
        else:
            found = plain.find(piece, at)
        if found < 0:  # the redactor rewrote more than it hid (a %-encoded run, decoded)
            written = _redact_plain(text)  # as written, if that hides as much
            return written if written.count(REDACTED) >= redacted.count(REDACTED) else redacted
        if i:
            out.append(REDACTED)
        begin = starts[found] if found < len(starts) else len(text)
        end_at = found + len(piece)
        end = starts[end_at] if end_at < len(starts) else len(text)
        out.append(text[begin:end] if piece else "")
        at = end_at
    return "".join(out)


def _redact_lines(text: str) -> str:
    spread, opened, tables = SpreadValues(), OpenValues(), TableColumns()
    return "\n".join([_redact_line(hidden, hidden.lower()) for hidden in
                      map(tables.hide, map(opened.hide, map(spread.hide, values_named_below(
                          _records(text)))))])


def _records(text: str) -> Iterable[str]:
    lines = text.split("\n")
    return join_partial_records(lines) if " P " in text or '{"log":' in text else lines


def _redact_structure(text: str, lower: str, keyed: bool | None = None) -> str:
    """The rules that may span lines. `keyed`: whether `lower` holds a key hint, when the caller
    knows."""
    text = redact_private_keys(text, lower)
    text = redact_expect_send(text, lower)
    text = redact_sensitive_blocks(text, lower)
    if "random_" in lower:
        text = redact_generated(text)
    if not (has_key_hint(lower) if keyed is None else keyed):
        return text
    return redact_keyed_structure(text, lower)


# A long line holding a secret key word every few characters is hidden whole: judging each
# key in it costs time quadratic in the line (`key` 5,461 times took 5.6 s), and no real line
# reads like that.
DENSE_LINE = 2048
DENSE_EVERY = 12


def _redact_line(text: str, lower: str, *, structure: bool = False) -> str:
    """The rules that stay on one line, then random-looking runs and personal data."""
    if text.endswith("\r"):  # a CRLF line (an FTP or SMTP dump): judged without its CRs
        bare = text.rstrip("\r")
        return _redact_line(bare, lower[: len(bare)], structure=structure) + text[len(bare) :]
    if len(text) < 20 and not _SEPARATOR.search(text):
        return text  # every rule needs a separator or a 20-character token
    if len(text) >= DENSE_LINE and dense_with_hints(lower, DENSE_EVERY):
        return f"[REDACTED: a line of {len(text)} characters dense with secret key words]"
    keyed = has_key_hint(lower) or "identified" in lower  # SQL's `IDENTIFIED BY "pw"`
    if structure:
        redacted = _redact_structure(text, lower, keyed)
        if redacted is not text:
            text, lower = redacted, redacted.lower()
            keyed = has_key_hint(lower) or "identified" in lower
    if "<<<" in text:  # `chpasswd <<< 'app:x'`: a here-string on a line that names a secret
        text = hide_here_string(text)
        lower = text.lower()
    if "\\n" in text and ("<<" in text or "\\u003c" in text):  # a here-document inside one
        # JSON string
        text = hide_inline_heredoc(text)
        lower = text.lower()
    original = text
    text = redact_credentials(text, lower)
    text = redact_commands(text, lower if text is original else text.lower(), keyed=keyed)
    text = redact_config_values(text, lower if text is original else text.lower(), keyed=keyed)
    text = redact_program_words(text)
    if "%" in text and _ENCODED_SEPARATOR.search(lower):
        text = _ENCODED_RUN.sub(_redact_encoded, text)
    lower = lower if text is original else text.lower()
    positioned = redact_positional(text, lower, keyed=keyed)
    if positioned is not text:
        text, lower = positioned, positioned.lower()
    text = redact_code_calls(text)
    if keyed:
        text = redact_keyed(text, lower)
    text = redact_runs(text)
    return redact_personal_data(text) if _Policy.pii else text


def _redact_encoded(m: re.Match[str]) -> str:
    """A percent-encoded run (`redirect=%2Flogin%3Fpassword%3Dx`): redacted decoded, if the
    decoded text holds a secret; else left as it was."""
    plain = unquote(m.group())
    for _ in range(3):  # encoded twice or more (`%253D`): judged as the server would end up
        if "%" not in plain or not _ENCODED_SEPARATOR.search(plain.lower()):
            break
        plain = unquote(plain)
    redacted = _redact_line(plain, plain.lower())
    return m.group() if redacted == plain else redacted
