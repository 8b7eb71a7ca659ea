"""Secrets a program takes by where they sit among its words, not by a `key=` before them: one
table for a container's `command`/`args` items (`scrubbing`) and for the same command written
as one line of a log or a shell script (`redact_program_words`).

Each program's rules say which word is its secret: the item after a flag (`zip -P x`,
`snmpwalk -c x`, `docker login -p x`), the rest of a flag glued to it (`7z -px`, `mysql -px`),
a positional word after its subcommand (`vault login x`, `mc alias set NAME URL USER x`,
`htpasswd -b FILE USER x`, `net user NAME x`), the password of `user/x@db` (`sqlplus`), or the
value after its name, as `key=value` but with a space between (`aws configure set
aws_secret_access_key x`, `rclone config create NAME s3 secret_access_key x`,
`npm config set //host/:_authToken x`, `jq --arg token x`). Whatever the program, a word that
names a secret followed by one shaped like a credential (`db_password x`) is the same pair.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .secret_names import (
    credential_shaped,
    is_secret_value,
    login_password,
    names_community,
    names_login,
    sensitive_name,
)
from .secret_tokens import REDACTED

_Hidden = dict[int, tuple[int, int]]  # a word's index: the part of it to hide


@dataclass(frozen=True)
class _Rule:
    after: tuple[str, ...] = ()  # the subcommand's words that come first (`alias set`)
    flags: frozenset[str] = frozenset()  # the item after one of these is the secret
    glued: str = ""  # a flag glued to its secret (`-p` of `7z -px`)
    position: int | None = None  # which positional word after `after` (-1: the last one)
    least: int = 1  # how many positional words there must be
    needs: str = ""  # a letter one of the short flags must hold (`htpasswd -b`)
    pairs: bool = False  # after `after`, a name then its value (`config set NAME VALUE`)
    pair_flags: frozenset[str] = frozenset()  # a flag, a name, its value (`jq --arg NAME V`)
    user_slash: bool = False  # the first positional word is `user/password[@db]`
    shaped: bool = False  # the secret must look like a credential (SNMP's `public`)


def _flags(*flags: str, shaped: bool = False) -> tuple[_Rule, ...]:
    return (_Rule(flags=frozenset(flags), shaped=shaped),)


_LOGIN = (_Rule(after=("login",), flags=frozenset({"-p"})),)
_CONFIG_SET = (_Rule(after=("config", "set"), pairs=True),)
_GLUED_P = (_Rule(glued="-p"),)
_USER_SLASH = (_Rule(user_slash=True),)

PROGRAMS: dict[str, tuple[_Rule, ...]] = {
    "redis-cli": (*_flags("-a"), *_CONFIG_SET, _Rule(after=("auth",), position=-1)),
    "redis-benchmark": _flags("-a"),
    "sshpass": (*_flags("-p"), *_GLUED_P),
    **dict.fromkeys(("mongo", "mongosh", "mongodump", "mongorestore", "mongoexport",
                     "mongoimport", "rabbitmqadmin", "twine", "psexec", "psexec.exe"),
                    _flags("-p")),
    **dict.fromkeys(("sqlcmd", "bcp", "mosquitto_pub", "mosquitto_sub", "mosquitto_rr",
                     "ipmitool"), _flags("-P")),
    **dict.fromkeys(("ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami",
                     "ldappasswd", "ldapcompare", "ldapmodrdn"), _flags("-w")),
    "openssl": _flags("-passin", "-passout", "-pass", "-k"),
    **dict.fromkeys(("zip", "unzip", "zipcloak"), _flags("-P")),
    **dict.fromkeys(("influx", "cqlsh"), _flags("-p")),
    **dict.fromkeys(("snmpwalk", "snmpget", "snmpbulkwalk", "snmpset", "snmpgetnext",
                     "snmptable", "snmpbulkget", "snmptrap", "snmpdf", "snmpstatus"),
                    (*_flags("-c", shaped=True), *_flags("-A", "-X"))),
    **dict.fromkeys(("7z", "7za", "7zr", "rar", "unrar"), _GLUED_P),
    **dict.fromkeys(("mysql", "mysqldump", "mysqlimport", "mysqlshow",
                     "mysqlcheck", "mysqlpump", "mysqlbinlog", "mysqlsh", "mariadb",
                     "mariadb-dump", "mariadb-admin"), _GLUED_P),
    **dict.fromkeys(("docker", "podman", "buildah", "skopeo", "nerdctl", "oras", "az", "oc",
                     "cf", "helm", "crane"), _LOGIN),
    **dict.fromkeys(("xfreerdp", "wfreerdp", "xfreerdp3"), (_Rule(glued="/p:"),)),
    "cmdkey": (_Rule(glued="/pass:"),),
    "schtasks": _flags("/RP", "/rp"),
    "vault": (_Rule(after=("login",), position=0),
              _Rule(after=("operator", "unseal"), position=0)),
    "gh": (_Rule(after=("secret", "set"), flags=frozenset({"--body", "-b"})),),
    "doctl": (_Rule(after=("auth", "init"), flags=frozenset({"-t"})),),
    **dict.fromkeys(("useradd", "usermod"), _flags("-p")),
    "mysqladmin": (*_GLUED_P, _Rule(after=("password",), position=0)),
    "rdesktop": _flags("-p"),
    "htpasswd": (_Rule(position=-1, least=2, needs="b"),),
    "mc": (_Rule(after=("alias", "set"), position=3),
           _Rule(after=("config", "host", "add"), position=3),
           _Rule(after=("admin", "user", "add"), position=2)),
    **dict.fromkeys(("net", "net.exe"), (_Rule(after=("user",), position=1),
                                         _Rule(after=("use",), position=-1, least=2,
                                               shaped=True))),  # `net use \\srv\share x`
    "rabbitmqctl": (_Rule(after=("add_user",), position=1),
                    _Rule(after=("change_password",), position=1),
                    _Rule(after=("authenticate_user",), position=1)),
    "aws": (_Rule(after=("configure", "set"), pairs=True),),
    "rclone": (_Rule(after=("config", "create"), pairs=True),
               _Rule(after=("config", "update"), pairs=True)),
    **dict.fromkeys(("npm", "yarn", "pnpm"), _CONFIG_SET),
    "git": (_Rule(after=("config",), pairs=True),),
    "consul": (_Rule(after=("kv", "put"), pairs=True),),
    "etcdctl": (_Rule(after=("put",), pairs=True),),
    **dict.fromkeys(("jq", "gojq", "jaq"),
                    (_Rule(pair_flags=frozenset({"--arg", "--argjson"})),)),
    **dict.fromkeys(("sqlplus", "sql", "rman", "expdp", "impdp", "exp", "imp", "sqlldr",
                     "dgmgrl"), _USER_SLASH),
    # Config directives written as a command's words: snmpd's `rocommunity x 10.0.0.0/8`,
    # nslcd's and slapd's `bindpw x`, redis' `sentinel auth-pass mymaster x`, tinyproxy's
    # `BasicAuth bob x`; Windows' `setx API_TOKEN x`; `ssh-keygen -N x`; PowerShell's
    # `ConvertTo-SecureString x -AsPlainText`.
    **dict.fromkeys(("rocommunity", "rwcommunity", "rocommunity6", "rwcommunity6", "bindpw",
                     "rootpw", "masterauth", "requirepass"), (_Rule(position=0),)),
    "community": (_Rule(position=0, shaped=True),),
    "sentinel": (_Rule(after=("auth-pass",), position=1),),
    "basicauth": (_Rule(position=1, least=2),),
    "setx": (_Rule(pairs=True),),
    "ssh-keygen": _flags("-N", "-P"),
    "convertto-securestring": (_Rule(position=0, flags=frozenset({"-string", "-String"})),),
}


def program_name(word: str) -> str:
    """The table's name for a command word (`/usr/bin/zip`, `C:\\bin\\net.exe`), or ``."""
    base = word.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return base if base in PROGRAMS else base.lower() if base.lower() in PROGRAMS else ""


def starts_program(word: str) -> bool:
    """Whether a word after a command's name starts another program's words: the name alone
    (`sudo htpasswd`) or in a `bin` directory, not a file named like one
    (`/etc/nginx/htpasswd`)."""
    return bool(program_name(word)) and ("/" not in word or _IN_BIN.search(word) is not None)


def hidden_words(program: str, words: Sequence[str]) -> _Hidden:
    """Which of a program's words (those after its name) hold a secret, and where in each: by
    the program's rules, then the pairs any command may hold (`db_password x`)."""
    hidden: _Hidden = {}
    for rule in PROGRAMS.get(program, ()):
        _apply(rule, words, hidden)
    for i in range(len(words) - 1):
        if i + 1 in hidden or i in hidden:
            continue
        if (_SECRET_FLAG.fullmatch(words[i]) or _OPEN_ASSIGNMENT.fullmatch(words[i])) and (
                sensitive_name(words[i]) and not words[i + 1].startswith("--")):
            # `--password x`, `/password x`, `sc config svc password= x`
            _hide(hidden, i + 1, words[i + 1], 0, False)
        elif _SECRET_FLAG.fullmatch(words[i]) and (pair := _flag_login(words[i], words[i + 1])):
            hidden[i + 1] = pair  # `--basic-auth bob:x`, `ncat --proxy-auth bob:x`
        elif _SECRET_FLAG.fullmatch(words[i]) and names_community(words[i]) and (
                credential_shaped(words[i + 1])):
            hidden[i + 1] = (0, len(words[i + 1]))  # `--community x`: SNMP's shared secret
        elif _bare_pair(words[i], words[i + 1]):
            hidden[i + 1] = (0, len(words[i + 1]))
    return hidden


def _apply(rule: _Rule, words: Sequence[str], hidden: _Hidden) -> None:
    """Add to `hidden` the words one of a program's rules says hold its secret."""
    start = _after(rule.after, words)
    if start is None or (rule.needs and not any(
            _SHORT_FLAGS.fullmatch(w) and rule.needs in w for w in words)):
        return
    for i in range(start, len(words)):
        word = words[i]
        if word in rule.flags and i + 1 < len(words) and not _is_flag(words[i + 1]):
            _hide(hidden, i + 1, words[i + 1], 0, rule.shaped)
        elif rule.glued and word.startswith(rule.glued) and len(word) > len(rule.glued):
            _hide(hidden, i, word, len(rule.glued), rule.shaped)
        elif word in rule.pair_flags and i + 2 < len(words) and sensitive_name(words[i + 1]):
            _hide(hidden, i + 2, words[i + 2], 0, rule.shaped)
    positional = [i for i in range(start, len(words)) if not _is_flag(words[i])
                  and not _KEY_VALUE.match(words[i])]
    if rule.position is not None and len(positional) >= max(rule.least, rule.position + 1):
        i = positional[rule.position]
        _hide(hidden, i, words[i], 0, rule.shaped)
    if rule.pairs:
        for before, i in zip(positional, positional[1:], strict=False):
            if before + 1 == i and before not in hidden and sensitive_name(words[before]):
                _hide(hidden, i, words[i], 0, rule.shaped)
    if rule.user_slash and positional and (m := _USER_SLASH_WORD.fullmatch(
            words[positional[0]])):
        _hide(hidden, positional[0], words[positional[0]], m.start("pw"), rule.shaped,
              m.end("pw"))


def _after(words_first: tuple[str, ...], words: Sequence[str]) -> int | None:
    """Where the words after a subcommand (`alias set`) start; None without it."""
    if not words_first:
        return 0
    n = len(words_first)
    for i in range(len(words) - n + 1):
        if tuple(w.lower() for w in words[i : i + n]) == words_first:
            return i + n
    return None


def _hide(hidden: _Hidden, i: int, word: str, start: int, shaped: bool,
          end: int | None = None) -> None:
    if word.startswith("pass:", start):  # openssl's `-passin pass:x`
        start += 5
    value = word[start:end]
    if is_secret_value(value) and (not shaped or credential_shaped(value)):
        hidden[i] = (start, len(word) if end is None else end)


def _flag_login(flag: str, value: str) -> tuple[int, int] | None:
    """The password half of `user:x` after a flag that takes a login (`--auth`,
    `--basic-auth`, `--proxy-auth`, `--http-user`)."""
    name = flag.lstrip("-/")
    if not (names_login(name) or name.lower().rsplit("-", 1)[-1] == "auth"):
        return None
    pair = login_password(value)
    return (pair.start("pw"), pair.end("pw")) if pair else None


def _bare_pair(name: str, value: str) -> bool:
    """A word naming a secret, then one shaped like a credential: `secret_access_key x`."""
    return not _is_flag(name) and _NAME_WORD.fullmatch(name) is not None and sensitive_name(
        name) and not _is_flag(value) and credential_shaped(value)


def _is_flag(word: str) -> bool:
    """`-p`, `--user`, Windows' `/add` (not a path: `/etc/x`)."""
    return word.startswith("-") or (word.startswith("/") and "/" not in word[1:]
                                    and len(word) > 1 and word[1:2].isalpha())


def redact_program_words(text: str) -> str:
    """A command line in a log or a script (`influx setup -u admin -p x`): each known
    program's words judged as a container's `command` would be."""
    if "[" in text and ("-" in text or "/" in text):
        text = _FLOW_LIST.sub(_redact_flow_list, text)
    if " /" in text:
        text = _WINDOWS_FLAG.sub(_redact_windows_flag, text)
    if _NAMES.isdisjoint(text.lower().translate(_WORD_EDGES).split()):
        return text  # most lines: no program of the table
    out: list[str] = []
    at = pos = 0
    while m := _PROGRAM.search(text, pos):
        words, pos = _command_words(text, m.end())
        hidden = hidden_words(program_name(m.group("name")), [w for w, _ in words])
        at = _hide_words(text, words, hidden, at, out)
    return "".join(out) + text[at:] if out else text


def command_program(line: str) -> str:
    """The table's name of the first program a line runs (`mysql -h db \\`), or ``."""
    if _NAMES.isdisjoint(line.lower().translate(_WORD_EDGES).split()):
        return ""
    m = _PROGRAM.search(line)
    return program_name(m.group("name")) if m else ""


def redact_continued(program: str, line: str) -> str:
    """A line that goes on with a program's words after a `\\` (`mysql -h db \\` then
    `  -px`): its words judged as that program's."""
    words, _ = _command_words(line, 0)
    hidden = hidden_words(program, [w for w, _ in words])
    out: list[str] = []
    at = _hide_words(line, words, hidden, 0, out)
    return "".join(out) + line[at:] if out else line


def _hide_words(text: str, words: list[tuple[str, int]], hidden: _Hidden, at: int,
                out: list[str]) -> int:
    """Append `text` up to each hidden part of `words` and REDACTED to `out`; where it is."""
    for i in sorted(hidden):
        start, end = hidden[i]
        out += (text[at : words[i][1] + start], REDACTED)
        at = words[i][1] + end
    return at


def _redact_windows_flag(m: re.Match[str]) -> str:
    """`app.exe /password x` in a log, whatever the program; the value shaped like a credential
    (`POST /token 200` is a request)."""
    if not sensitive_name(m.group("key")) or not credential_shaped(m.group("pw")):
        return m.group()
    return m.group("head") + REDACTED


def _redact_flow_list(m: re.Match[str]) -> str:
    """A command's words as a YAML or JSON list in a log (`args: [--db-password, x]`)."""
    words = [(i.group("v"), i.start("v")) for i in _FLOW_ITEM.finditer(m.group())]
    names = [w for w, _ in words]
    program = program_name(names[0]) if names else ""
    hidden = hidden_words(program, names[1:] if program else names)
    if program:
        hidden = {i + 1: span for i, span in hidden.items()}
    if not hidden:
        return m.group()
    out: list[str] = []
    at = _hide_words(m.group(), words, hidden, 0, out)
    return "".join(out) + m.group()[at:]


def _command_words(text: str, pos: int) -> tuple[list[tuple[str, int]], int]:
    """The words of the command whose name ends at `pos`, unquoted, each with where it starts,
    up to the end of the command (`|`, `;`, `&`, a closing `)` or backquote) or the next
    program's name; and where they end."""
    words: list[tuple[str, int]] = []
    for m in _WORD.finditer(text, pos):
        if m.group("end") is not None or len(words) >= _MOST_WORDS:
            return words, m.start()
        group = "dq" if m.group("dq") is not None else "sq" if m.group("sq") is not None \
            else "bare"
        if group == "bare" and starts_program(m.group(group)):
            return words, m.start()
        words.append((m.group(group), m.start(group)))
    return words, len(text)


_NAMES = frozenset(PROGRAMS)
# What may come right before a program's name: a path, a quote, a shell's punctuation.
_WORD_EDGES = str.maketrans(dict.fromkeys("/\\\"'`();|&=", " "))
_MOST_WORDS = 64
_WINDOWS_FLAG = re.compile(r"(?P<head>(?<=[ \t])/(?P<key>[A-Za-z][\w.-]{0,63})[ \t]+)"
                           r"(?P<pw>[^\s/\"'][^\s\"']{0,255})")
_FLOW_LIST = re.compile(r"\[(?=[ \t]*[\"']?[-/\w])[^\[\]\n]{1,4096}\]")
_FLOW_ITEM = re.compile(r"(?:^\[|,)[ \t]*(?P<q>[\"']?)(?P<v>[^,\"'\]\n]*?)(?P=q)[ \t]*(?=,|\]$)")
_WORD = re.compile(r"[ \t]*(?:(?P<end>[|;&)`\n]|\$\(|$)|\"(?P<dq>[^\"\n]*)\"|'(?P<sq>[^'\n]*)'"
                   r"|(?P<bare>[^\s\"'|;&)`]+))")
_PROGRAM = re.compile(
    r"(?<![\w.:@/\\-])(?:[\w.-]*[/\\])*(?P<name>"
    + "|".join(map(re.escape, sorted(PROGRAMS, key=len, reverse=True)))
    + r")(?=[ \t])", re.IGNORECASE)
_SECRET_FLAG = re.compile(r"--?[A-Za-z][\w.-]*|/[A-Za-z][\w.-]*")  # and Windows' `/password`
_OPEN_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.-]*=")  # its value is the next word
_IN_BIN = re.compile(r"(?:^|/)s?bin/[^/]+$")
_SHORT_FLAGS = re.compile(r"-[A-Za-z]{1,8}")
_KEY_VALUE = re.compile(r"[A-Za-z_][\w.-]*=(?!=)")  # `username=bob`: the keyed rules' own
_NAME_WORD = re.compile(r"[A-Za-z_/][\w./:@-]{1,127}")
_USER_SLASH_WORD = re.compile(r"[\w$#.]{1,128}/(?P<pw>[^\s/@\"']{1,256})(?:@\S*)?")
