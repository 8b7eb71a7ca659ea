"""Values a log spreads over the lines below their key, for logs read a line at a time (and the
lines of any text): a YAML value, block or list under a secret key (`password: |`,
`password:`), the members of a mapping or list under one (`secrets:` over `- name: db` and
`value: x`; TOML's `[[secrets]]`), an env entry's `value:` below its `name:` (or above it:
`values_named_below`), JSON's `"name"`/`"value"` siblings, an XML element's text below its tag
(`<Password` whose `>` comes lines below; `<add key="DbPassword"` over `value="x"`), a flag's
value on the next line or after a backslash, a `.properties` value continued with `\\`.

Columns tell what lies below a key, and the shape of the prefix before it (a timestamp differs
in its digits, not its punctuation) tells a log's own prefix from prose that happens to end in
`token:`; a constant-width prefix changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from .keyed_values import KEY as _KEY
from .keyed_values import SPACE as _S
from .keyed_values import has_key_hint, redact_value_then_name
from .open_values import ABOUT_A_SECRET
from .program_secrets import command_program, redact_continued
from .secret_names import credential_shaped, is_secret_value, sensitive_name
from .secret_tokens import REDACTED


class SpreadValues:
    """What the lines read so far opened: `hide(line)` takes each line in order, before the
    one-line rules, and hides what the lines above it opened."""

    def __init__(self) -> None:
        self._kind = ""  # "block", "members", "env", "open tag", "flag"...: what is open
        self._column = 0  # the key's column (the dash's, for an env entry or a list item)
        self._left = 0  # lines it may still take
        self._first = False  # the first line below a block's key: a mapping there closes it
        self._tag = ""  # the word that ends a heredoc
        self._program = ""  # the program whose words a `\\` continues

    def hide(self, line: str) -> str:
        if self._kind:
            hidden = self._hide_below(line)
            if self._kind not in ("", "new value") or hidden is not line:
                return hidden  # (below a reset, other lines may open something)
        if len(line) >= _LONG:
            self._open_cut(line)
            return line
        end = line.rstrip()[-4:]
        named = "ame" in line or "ey:" in line or "EY:" in line  # name, NAME, key:, KEY:
        words = line.rstrip(" \t\\,\"'").rsplit(None, 1)
        flag = bool(words) and words[-1].lstrip("\"'").startswith("-")
        continued = end.endswith("\\")
        block = _BLOCK_END.search(end) is not None
        alone = len(words) == 1 and len(line) <= 128  # `DB_PASSWORD`, alone on its line
        prints = len(line) <= 512 and ("-password" in line or "base64" in line)
        heredoc = "<<" in end or "<<" in line[-40:]
        reset = len(line) <= 512 and ("assword" in line or "ASSWORD" in line) and (
            _RESET.search(line) is not None)
        expects = "expect" in line
        table = end.endswith("]") and line.lstrip().startswith("[")
        tag_line = "<" in line[-256:]
        tag = tag_line and not end.endswith(">")  # `<Password` or `<Password id="x"`
        if not (named or flag or continued or block or alone or prints or heredoc or reset
                or expects or tag_line or table) or not (
                expects or continued or has_key_hint(line.lower())):
            return line  # most lines: nothing opens there
        if heredoc and (opener := _OPENS_HEREDOC.search(line)) and sensitive_name(
                opener.group("key")):
            self._open("heredoc", opener.start("key"), line)
            self._tag = opener.group("tag")
        elif block and (opener := _OPENS_BLOCK.search(line)) and sensitive_name(
                opener.group("key")):
            self._open("block", opener.start("key"), line)
        elif table and (opener := _OPENS_TABLE.match(line)) and sensitive_name(
                opener.group("key")):  # TOML's `[[secrets]]` over `value = "x"`
            self._open("table", 0, line)
        elif named and (opener := _OPENS_ENV.search(line)) and sensitive_name(
                opener.group("key"), broad=True):
            self._open("env", opener.start("dash"), line)
        elif named and (opener := _OPENS_XML_NAME.search(line)) and sensitive_name(
                opener.group("key"), broad=True):  # Hadoop's `<name>...Password</name>`
            self._open("xml value", opener.start("name"), line)
        elif (block or tag) and (opener := _OPENS_ELEMENT.search(line)) and (
                sensitive_name(opener.group("key")) or not opener.group("end") and (
                    _names_secret(opener.group("attributes")))):
            # `<Password>` alone, its text on the lines below; `<Password` whose `>` is below;
            # `<add key="DbPassword"` whose `value="x"` is below
            self._open("element" if opener.group("end") else "open tag",
                       opener.start("key") - 1, line)
            self._left = 64 if opener.group("end") else 8
        elif tag_line and (opener := _OPENS_ELEMENT.search(line)) and _names_secret(
                opener.group("attributes")):  # .NET's `<setting name="DbPassword" ...>`
            self._open("xml value", opener.start("key") - 1, line)  # over `<value>x</value>`
        elif named and (opener := _OPENS_NAMED.search(line)) and sensitive_name(
                opener.group("key"), broad=True):
            self._open("sibling", opener.start("name"), line)
        elif flag and (opener := _OPENS_FLAG.search(line)) and sensitive_name(
                opener.group("key")):
            continued = opener.group("continued") is not None  # the value starts the next line
            self._open("next" if continued else "flag",
                       0 if continued else opener.start("item"), line)
        elif continued and (opener := _CONTINUED_LINE.search(line)) and (
                sensitive_name(opener.group("key"))):
            shell = _SHELL_ASSIGNS.fullmatch(line[: opener.start("key")]) is not None
            self._open("continued", 0 if shell else opener.start("key"), line)
        elif continued and (program := command_program(line)):  # `mysql -h db \\`
            self._open("program", 0, line)
            self._program = program
        elif (block and len(line) <= 512 and _ANNOUNCES.search(line)) or (
                alone and _NAME_ALONE.fullmatch(words[0]) and sensitive_name(words[0])) or (
                prints and _PRINTS_SECRET.search(line)):
            self._open("announced", 0, line)
            self._left = 3  # blank lines may come between
        elif expects and _EXPECTS_PROMPT.search(line):  # expect's answer: `send "x\r"` below
            self._open("send", 0, line)
            self._left = 3
        elif reset:  # elasticsearch-reset-password: `New value: x` below
            self._open("new value", 0, line)
            self._left = 3
        return line

    def _open_cut(self, line: str) -> None:
        """A line a reader cut (16 KiB) may end inside a keyed value: its rest starts the next
        line, with no key before it."""
        tail = line[-256:].removesuffix(" [line cut]")
        hint = _KEY_HINT_AT.search(tail.lower())
        if hint is None:
            return
        opener = _CUT_OPEN.search(tail, max(0, hint.start() - 70))
        if opener and sensitive_name(opener.group("key")):
            self._open("cut", 0, "")

    def _open(self, kind: str, column: int, line: str = "") -> None:
        self._kind, self._column, self._left, self._first = kind, column, 64, True
        prefix = line[:column].rstrip(" \t-\"'")  # a prefix before the indentation, if any
        self._prefix = _shape(prefix)

    def _tag_closed(self, line: str) -> str:
        """A line below `<Password`: attributes pass until the `>` that ends the tag; the text
        after it, up to the closing tag, is the element's (and so are the lines below, if the
        `>` ends its line)."""
        close = _TAG_END.search(line)
        if close is None or _ATTRIBUTE_VALUE.search(line, 0, close.end()):
            self._kind = "" if close is not None or not self._left else self._kind
            return _ATTRIBUTE_VALUE.sub(_hide_attribute, line, 0 if close is None else 1)
        start = close.end()
        self._kind = "element" if not line[start:].strip() and line[start - 2] != "/" else ""
        end = line.find("<", start)
        end = len(line.rstrip()) if end < 0 else end
        if line[start - 2] == "/" or not line[start:end].strip():
            return line  # `<Password ... />`: no text
        return line[:start] + REDACTED + line[end:]

    def _under(self, line: str, start: int) -> bool:
        """Whether `line` has the opener's prefix (its shape: a timestamp differs in its
        digits), then only indentation up to `start`: not prose that happens to follow."""
        width = len(self._prefix)
        return _shape(line[:width]) == self._prefix and not line[width:start].strip(" \t-")

    def _hide_below(self, line: str) -> str:
        self._left -= 1
        first, self._first = self._first, False
        column = self._column
        if self._kind == "cut":
            self._kind = ""
            run = _CUT_VALUE.match(line)  # the rest of a cut value, or a value below its key
            return line[:run.start("value")] + REDACTED + line[run.end():] if run else line
        if self._kind == "open tag":  # attributes up to the line with the tag's `>`
            return self._tag_closed(line)
        if self._kind == "program":  # a command's words continued after a `\\`
            if not line.rstrip().endswith("\\") or not self._left:
                self._kind = ""
            return redact_continued(self._program, line)
        if self._kind == "heredoc":  # every line up to the one that ends it (`EOT`)
            words = line.split()
            if words[-1:] == [self._tag] or not self._left:
                self._kind = ""
                return line
            width = len(self._prefix)
            keep = width if width and _shape(line[:width]) == self._prefix else 0
            return line[:keep] + (" " if keep else "") + REDACTED if line.strip() else line
        if self._kind == "new value":  # `New value: x` below "Password ... reset."
            value, self._kind = _NEW_VALUE.match(line), self._kind if self._left else ""
            if value is None or not is_secret_value(value.group("pw")):
                return line  # a blank line (or a runtime's prefix alone) may come between
            self._kind = ""
            return line[: value.start("pw")] + REDACTED + line[value.end("pw") :]
        if self._kind == "send":
            sent, self._kind = _SEND.search(line), self._kind if self._left else ""
            if sent is None:
                return line
            self._kind = ""  # the first `send` answers the prompt
            if not is_secret_value(sent.group("pw")):
                return line
            return line[: sent.start("pw")] + REDACTED + line[sent.end("pw") :]
        if self._kind == "announced":  # the credential alone on a line below its announcement
            if not line.strip():
                if not self._left:
                    self._kind = ""
                return line
            self._kind = ""
            value = _ANNOUNCED_VALUE.fullmatch(line)
            if value is None or not is_secret_value(value.group("pw")) or (
                    value.group("pw").endswith(":")) or (
                    _OBJECT_NAME.fullmatch(value.group("pw")) and not _HEX.search(line)):
                return line  # `Tokens:` over `default-token-x2k9p`: a name
            return line[: value.start("pw")] + REDACTED + line[value.end("pw") :]
        if not line[column:].strip():
            if not self._left:
                self._kind = ""
            return line
        start = len(line) - len(line[column:].lstrip())  # the first character at or after it
        if not self._under(line, start):
            self._kind = ""
            return line
        if self._kind == "continued":
            if not line.endswith("\\") or not self._left:
                self._kind = ""
            return line[:start] + REDACTED
        if self._kind == "xml value":  # `<value>x</value>` below `<name>...Password</name>`
            self._kind = ""
            value = _XML_VALUE.match(line, start)
            if value is None or not is_secret_value(value.group("pw")):
                return line
            return line[: value.start("pw")] + REDACTED + line[value.end("pw") :]
        if self._kind == "element":  # the element's text, up to its closing tag
            if line.startswith("<", start):
                self._kind = ""
                return line
            end = line.find("<", start)
            end = len(line.rstrip()) if end < 0 else end
            return line[:start] + REDACTED + line[end:]
        if self._kind == "sibling":  # {"name": "DB_PASSWORD", and "value": "x" on the next line
            self._kind = ""
            value = _SIBLING_VALUE.match(line, column)
            if value is None or not is_secret_value(value.group("pw")):
                return line
            return line[: value.start("pw")] + REDACTED + line[value.end("pw") :]
        if self._kind in ("flag", "next"):
            if self._kind == "next" and not line[:1].isspace():
                self._kind = ""  # a prefix (a timestamp...) comes first: no telling where
                return line
            self._kind = ""
            item = _FLAG_ITEM_LINE.match(line, column)
            if item is None or not is_secret_value(item.group("pw")):
                return line
            return line[: item.start("pw")] + REDACTED + line[item.end("pw") :]
        if self._kind == "block" and start == column and line.startswith("- ", start) and (
                not _MAPPING_LINE.match(line, start)):  # `apiKeys:` then `- x` at its column
            return line[: start + 2] + REDACTED
        if self._kind == "block" and first and _MAPPING_LINE.match(line, start) and (
                start > column or line.startswith("- ", start)):
            self._kind = "members"  # `secrets:` over `- name: db`, `password:` over `minLength:`
        if self._kind in ("members", "table"):
            return self._members(line, start, column)
        if start == column or not self._left:  # not below the key: what it opened is over
            self._kind = ""
            return line
        if self._kind == "env":
            value = _ENV_VALUE.match(line, start)
            if value is None:
                return line
            rest = value.group("rest")
            if rest and not _BLOCK_INDICATOR.fullmatch(rest):
                self._kind = ""
                return line if not is_secret_value(rest) else (
                    line[: value.start("rest")] + REDACTED + line[value.end("rest") :])
            self._kind, self._column, self._first = "block", start, True
            return line
        return line[:start] + REDACTED

    def _members(self, line: str, start: int, column: int) -> str:
        """A line of the mapping or list of mappings under a secret's key (`secrets:` over
        `- name: db` and `value: x`, or over `db: x`; TOML's `[[secrets]]`): a member's value
        hidden when it is a `value`, or looks like a credential under a key that is no name,
        path or type (`password:` over `minLength: 12`, `secret:` over `name: db-credentials`
        stay). The members end at a line back at the key's column."""
        if self._kind == "table" and line.lstrip().startswith("[") or (
                self._kind == "members" and start <= column and not line.startswith("- ", start)):
            self._kind = ""
            return line
        member = _MEMBER_LINE.match(line, start)
        if member is None:
            return line
        pw = member.group("pw")
        quoted = len(pw) > 1 and pw[0] in "\"'" and pw[-1] == pw[0]
        inner = pw[1:-1] if quoted else pw
        key = member.group("key")
        if not is_secret_value(inner) or not (key.lower() in _VALUE_MEMBERS or (
                credential_shaped(inner) and not ABOUT_A_SECRET.search(key))):
            return line
        begin, end = member.span("pw")
        return line[: begin + quoted] + REDACTED + line[end - quoted :]


_LONG = 4096  # a line this long may be one a reader cut (at 16 KiB): its value goes on below
_CUT_OPEN = re.compile(
    rf"(?P<key>{_KEY})[\"']?{_S}*(?:=>|:=|[:=]){_S}*[\"']?[^\s\"',;&]*$", re.IGNORECASE)
_KEY_HINT_AT = re.compile(r"pass|pw|token|secret|key|auth|cred|sig|dsn|cookie|session")
_CUT_VALUE = re.compile(r"[ \t\"']*(?P<value>[^\s\"',;&]+)")
# A line that announces a credential printed alone below it: Jenkins' "Please use the following
# password to proceed to installation:", Elasticsearch's "Password for the elastic user (...):",
# `argocd admin initial-password`, `kubectl get secret ... | base64 -d`.
_ANNOUNCES = re.compile(
    r"\b(?:password|passwd|passphrase|passcode|token|secret|api[ _-]?key|access[ _-]?key"
    r"|credentials?)\b[^\n:]{0,200}:[ \t]*$", re.IGNORECASE)
_RESET = re.compile(r"\bpassword\b[^\n]{0,200}\b(?:reset|changed|generated|rotated)\b[ \t.!]*$",
                    re.IGNORECASE)
_NEW_VALUE = re.compile(r"[^\n]{0,200}?\bnew[ \t_-]?(?:value|password)[ \t]*:[ \t]*"
                        r"(?P<pw>[^\s\"'][^\s]{3,255})[ \t]*$", re.IGNORECASE)
_EXPECTS_PROMPT = re.compile(  # an `expect` script waiting for a password prompt
    r"\bexpect[ \t]+(?:-\w+[ \t]+)*\"?[^\"\n]{0,128}(?:assword|asscode|passphrase|secret"
    r"|token)[^\"\n]{0,128}\"?[ \t]*$", re.IGNORECASE)
_SEND = re.compile(r"\bsend[ \t]+(?:-\S+[ \t]+)*\"(?P<pw>(?:[^\"\\\n]|\\[^rn\n]){1,256})"
                   r"(?:\\[rn])?\"")
_NAME_ALONE = re.compile(r"[A-Za-z_][\w.-]{0,127}")
_PRINTS_SECRET = re.compile(
    r"\b[\w-]*(?:initial|admin|root|get|show|reset|generate)[-_]?(?:password|passwd|token)\b"
    r"|\b(?:secret|password|token)\b[^\n]{0,300}\|[ \t]*base64[ \t]+(?:-d|--decode|-D)\b",
    re.IGNORECASE)
_OBJECT_NAME = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)+")
_HEX = re.compile(r"[0-9a-f]{16,}")
_ANNOUNCED_VALUE = re.compile(r"[ \t]*(?P<pw>[^\s#<>\[\]{}()\"'][^\s]{5,255})[ \t]*")


def _shape(text: str) -> str:
    return _ALNUM.sub("a", text)


_ALNUM = re.compile(r"[A-Za-z0-9]")
_BLOCK_END = re.compile(r"[:|>][-+0-9]{0,2}$")
_OPENS_BLOCK = re.compile(
    rf"(?:^|{_S})(?:-{_S}+)?[\"']?(?P<key>{_KEY})[\"']?{_S}*:{_S}*(?:[|>][-+0-9]{{0,2}}{_S}*)?$",
    re.IGNORECASE)
_OPENS_HEREDOC = re.compile(  # HCL and shell: `secret_value = <<EOT`
    rf"(?:^|{_S})[\"']?(?P<key>{_KEY})[\"']?{_S}*=?{_S}*<<[-~]?[\"']?(?P<tag>[A-Za-z_]\w{{0,31}})"
    rf"[\"']?{_S}*$", re.IGNORECASE)
_OPENS_ENV = re.compile(
    rf"(?:^|{_S})(?P<dash>-){_S}+(?:name|key){_S}*:{_S}*[\"']?(?P<key>{_KEY})[\"']?{_S}*$",
    re.IGNORECASE)
_OPENS_FLAG = re.compile(
    rf"(?:^|{_S})(?P<item>(?:-{_S}+)?[\"']?--?(?P<key>{_KEY})[\"']?)(?P<continued>{_S}+\\)?"
    rf",?{_S}*$", re.IGNORECASE)
_OPENS_NAMED = re.compile(
    rf"(?P<name>[\"']name[\"']){_S}*:{_S}*[\"'](?P<key>{_KEY})[\"'],?{_S}*$", re.IGNORECASE)
_OPENS_XML_NAME = re.compile(
    rf"(?P<name><name>){_S}*(?P<key>[^<>\s]{{1,256}}){_S}*</name>{_S}*$", re.IGNORECASE)
_XML_VALUE = re.compile(rf"<value>{_S}*(?P<pw>[^<\s][^<\n]{{0,4095}}?){_S}*</value>",
                        re.IGNORECASE)
_OPENS_ELEMENT = re.compile(  # `<Password>` ending its line, or `<Password` whose `>` is below
    rf"(?:^|{_S})<(?P<key>[A-Za-z_][\w.:-]{{0,127}})(?P<attributes>{_S}[^<>\n]{{0,256}})?(?P<end>>)?"
    rf"{_S}*$")
# `<add key="DbPassword"` over `value="x" />`: the attribute that names, the one that holds.
_NAMING_ATTRIBUTE = re.compile(
    rf"(?<![\w.:-])(?:key|name|id)[ \t]*=[ \t]*[\"'](?P<key>{_KEY})[\"']", re.IGNORECASE)
_ATTRIBUTE_VALUE = re.compile(
    r"(?<![\w.:-])(?:value|val)[ \t]*=[ \t]*(?P<q>[\"'])(?P<pw>[^\"'\n]{1,1024})(?P=q)",
    re.IGNORECASE)
_TAG_END = re.compile(r"^[^<>\"']*(?:(?:\"[^\"\n]*\"|'[^'\n]*')[^<>\"']*)*>")  # past quotes
_SIBLING_VALUE = re.compile(rf"[\"']value[\"']{_S}*:{_S}*[\"'](?P<pw>[^\"'\n]{{1,1024}})[\"']",
                            re.IGNORECASE)
_CONTINUED_LINE = re.compile(rf"(?:^|{_S})(?P<key>(?!-){_KEY})(?:{_S}*[=:]|{_S}+\\$)",
                             re.IGNORECASE)
# What a shell or a Dockerfile writes before a variable it sets (`export DB_PASSWORD=\\`): the
# value on the line below is at any indentation.
_SHELL_ASSIGNS = re.compile(r"[ \t]*(?:(?:export|declare(?:[ \t]+-\w+)*|readonly|local|set|setenv"
                            r"|ENV|ARG)[ \t]+)?", re.IGNORECASE)
_OPENS_TABLE = re.compile(rf"{_S}*\[\[?{_S}*(?P<key>{_KEY}){_S}*\]\]?{_S}*$")
_MEMBER_LINE = re.compile(
    rf"(?:-{_S}+)?[\"']?(?P<key>[\w.-]{{1,128}})[\"']?{_S}*[:=]{_S}*"
    rf"(?P<pw>\"[^\"\n]{{1,1024}}\"|'[^'\n]{{1,1024}}'|[^\s#\"'|>{{\[][^\n#]{{0,1023}}?){_S}*,?{_S}*$")
_VALUE_MEMBERS = frozenset({"value", "val", "data", "secret", "content"})
_ENV_VALUE = re.compile(rf"(?:value|val|data){_S}*:{_S}*(?P<rest>[^\n]*?){_S}*$", re.IGNORECASE)
_BLOCK_INDICATOR = re.compile(r"[|>][-+0-9]{0,2}")
_MAPPING_LINE = re.compile(r"[ \t]*(?:-[ \t]+)?[\w.\"'-]{1,128}[ \t]*:(?:[ \t]|$)")
_FLAG_ITEM_LINE = re.compile(rf"{_S}*(?:-{_S}+)?[\"']?(?P<pw>[^\s\"'#-][^\s\"']*)")


def _names_secret(attributes: str | None) -> bool:
    """Whether a tag's attributes name a secret (`key="DbPassword"`, `name="api_token"`)."""
    named = _NAMING_ATTRIBUTE.search(attributes) if attributes else None
    return named is not None and sensitive_name(named.group("key"), broad=True)


def _hide_attribute(m: re.Match[str]) -> str:
    """`value="x"` on a line below the tag's name attribute: `x` hidden."""
    if not is_secret_value(m.group("pw")):
        return m.group()
    return m.string[m.start():m.start("pw")] + REDACTED + m.group("q")


def values_named_below(lines: Iterable[str]) -> Iterator[str]:
    """Lines as a log gives them, an env entry's `- value: x` held until the line below says
    its `name:` (`DB_PASSWORD`: the value hidden). One line is held at most."""
    held: str | None = None
    for line in lines:
        if held is not None:
            first, line = _value_then_name(held, line)
            held = None
            yield first
        if _VALUE_FIRST.search(line):
            held = line
            continue
        yield line
    if held is not None:
        yield held


def _value_then_name(held: str, line: str) -> tuple[str, str]:
    """The held `value:` line and the line below, the value hidden if that line names a secret;
    a log prefix both lines have (a timestamp: the same shape) set aside first."""
    prefix = _LOG_PREFIX.match(held)
    width = prefix.end() if prefix else 0
    if not width or _shape(line[:width]) != _shape(held[:width]):
        width = 0
    pair = redact_value_then_name(f"{held[width:]}\n{line[width:]}")
    first, _, second = pair.partition("\n")
    return held[:width] + first, line[:width] + second


_LOG_PREFIX = re.compile(r"(?:\[?\d[\w:.,+/-]*\]?[ \t]+){1,3}")
_VALUE_FIRST = re.compile(  # `- value: x`, `{"value": "x",` ending its line
    r"\bvalue\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[^\"'\\\n<>]{1,1024}?\\?[\"']?,?[ \t]*$",
    re.IGNORECASE)
