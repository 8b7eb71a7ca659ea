"""Shell here-documents and here-strings that carry a secret: `cat <<EOF > /etc/app/password`
(its opener, for `OpenValues` to hide the body below it to its tag), one written inside a single
quoted string (`"cmd": "cat <<EOF > ...\\nx\\nEOF"`, hidden from its first escaped newline to
its tag), and `chpasswd <<< 'app:x'`. A Docker JSON log line is read as the text it holds."""

from __future__ import annotations

import re
from bisect import bisect_left

from .secret_names import sensitive_name
from .secret_tokens import REDACTED

# a shell here-document's opener: `<<EOF`, `<<-'END'`, `<<\EOF`, `<< EOF` (a spaced tag in
# capitals only: `cerr << token` is C++), then a blank, `;`, `|`, `&`, `)` or the end; never
# `<<<` (a here-string), `<<<<<<<` (a merge conflict) or `<<EOF>>` (a placeholder)
HEREDOC = re.compile(r"(?<!<)<<(?!<)-?(?:[ \t]*(?P<quote>['\"])(?P<q>\w[\w-]{0,63})"
                      r"(?P=quote)|\\?(?P<bare>[A-Za-z_][\w-]{0,63}|(?<=[\s\\]<<)\d[\w-]{0,63}|"
                      r"(?<=[\s\\]<<-)\d[\w-]{0,63})|"
                      r"[ \t]+(?P<caps>[A-Z_][A-Z0-9_]{0,63}))(?=[ \t;|&)]|$)")
# (a numeric tag only after a blank: `cat <<123`, never a shift such as `1<<20`)
_FILE_SUFFIX = re.compile(r"[_.-]?(?:file|path)$", re.IGNORECASE)  # a file that holds a secret
SECRET_FILE = re.compile(r"\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bkeyfile\b|\bnetrc\b|\bkubeconfig\b|"
                          r"\.kube/config\b|"
                          r"\.(?:pem|key|p12|pfx|jks)\b|\bcredentials\b", re.IGNORECASE)
# `<<EOF`, `<<-\\"EOF\\"`, `<<\\\\EOF`, `<< EOF` (a spaced tag in capitals only: Ruby's
# `tokens << token`), Go's `\\u003c\\u003cEOF`, after a blank, a quote or `;|&(=` (never a shift:
# `1<<20`, `FLAG<<SHIFT`) and not a placeholder (`<<DB_PASSWORD>>`)
_INLINE_HEREDOC = re.compile(
    r"(?:(?<=[\s\"'(;|&=])|^)(?:<<|\\u003c\\u003c)-?(?:(?:\\{1,2}|\\?[\"'])?(?P<tag>[A-Za-z_][\w-]{0,63})|"
    r"[ \t]+(?:\\?[\"'])(?P<quoted>[A-Za-z_][\w-]{0,63})|[ \t]+(?P<caps>[A-Z_][A-Z0-9_]{0,63}))"
    r"(?:\\?[\"'])?(?!>>|\\u003e|[\w-])")
_ESCAPED_BREAK = re.compile(r"(?<!\\)\\n")
_STRING_ENDS = re.compile(r'"[ \t]*(?:[,}\]]|$)')
_HERE_STRING = re.compile(r"(?P<op>(?<!<)<<<(?!<)[ \t]*)(?:'[^'\n]*'|\"[^\"\n]*\"|[^\s;|&]+)")


_DOCKER_LINE = re.compile(r'\{\s*"log"\s*:\s*"(?P<text>(?:[^"\\]|\\.)*?)(?:\\r)?(?:\\n)?"')
_JSON_ESCAPES = {"t": "\t", '"': '"', "\\": "\\", "/": "/", "n": " ", "r": ""}


def unwrapped(text: str) -> str:
    """The text of a Docker JSON log line (`{"log":"EOF\\n","stream":...}`), its escapes
    undone, else the text."""
    found = _DOCKER_LINE.match(text)
    if found is None:
        return text
    return re.sub(r"\\(.)", lambda m: _JSON_ESCAPES.get(m.group(1), m.group(1)), found["text"])


def hide_here_string(line: str) -> str:
    """`chpasswd <<< 'app:x'`: a here-string on a line that names a secret, hidden."""
    return _HERE_STRING.sub(lambda m: m.group("op") + REDACTED, line) \
        if "<<<" in line and names_secret(line) else line


def hide_inline_heredoc(line: str) -> str:
    """`"cmd": "cat <<EOF > /etc/app/password\\nx\\nEOF"`: a here-document written inside one
    quoted string, its lines joined by escaped newlines (JSON, a YAML flow list), hidden from the
    first escaped newline after its opener to its tag (to the tag of the last here-document the
    same line opens; to the line's end when a tag is missing), when the text before it names a
    secret."""
    if "\\n" not in line or ("<<" not in line and "\\u003c" not in line):
        return line
    breaks = [m.start() for m in _ESCAPED_BREAK.finditer(line)]  # each `\\n`, found once
    out, done = [], 0
    for opener in _INLINE_HEREDOC.finditer(line):
        at = bisect_left(breaks, opener.end())
        if opener.start() < done or at == len(breaks) or breaks[at] - opener.end() > 1024:
            continue
        if _STRING_ENDS.match(line, breaks[at] + 2):  # the string ends there (a Docker JSON
            continue  # record's one line): the lines below hold the body
        if not names_secret(line[max(done, opener.start() - 256) : breaks[at] + 2]):
            continue
        tags = [_tag(opener), *(  # (`cat <<A >a; cat <<B >b`: A's body, then B's)
            _tag(o) for o in _INLINE_HEREDOC.finditer(
                line, opener.end(), breaks[at]))]
        start = breaks[at]  # the escaped newline before a body
        for tag in tags:
            closer = _closer(tag).search(line, start)
            stop = closer.start() if closer else len(line)
            if stop > start:  # (a tag right below its opener: an empty body)
                out.append(line[done : start + 2] + REDACTED)
                done = stop
            if closer is None:
                break
            at = bisect_left(breaks, closer.start() + 2)
            if at == len(breaks):
                break
            start = breaks[at]
    return "".join(out) + line[done:] if out else line


def _tag(opener: re.Match[str]) -> str:
    return str(opener["tag"] or opener["quoted"] or opener["caps"])


def closes_inline(line: str, tag: str) -> bool:
    """Whether a here-document's tag closes it on the same line, after an escaped newline."""
    return _closer(tag).search(line) is not None


def _closer(tag: str) -> re.Pattern[str]:
    """A here-document's tag alone after an escaped newline, before the next escape or the end
    of its string."""
    return re.compile(rf"\\n[ \t]*{re.escape(tag)}(?=\\[rn]|\\?[\"']|$)")


def names_secret(line: str) -> bool:
    """Whether a line names a secret or a file that holds one ($PASSWORD_FILE, id_rsa)."""
    return any(sensitive_name(w) or sensitive_name(_FILE_SUFFIX.sub("", w))
               for w in _WORD.findall(line)) or SECRET_FILE.search(line) is not None


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
