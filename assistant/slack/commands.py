"""What `/sre TEXT` (or an @mention) asks for: a typed command, or help saying why.

    parse("diagnose deploy/checkout -n shop")  # Diagnose("deploy/checkout", "shop")
    parse("diganose checkout")  # Help("unknown command `diganose`", suggestion="diagnose")
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass

SUBCOMMANDS = ("diagnose", "ask", "runbook", "help")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_TARGET = re.compile(r"^([A-Za-z]+/)?[a-z0-9][-a-z0-9.]*$")
_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")

USAGE = (
    "`/sre diagnose [TARGET] [-n NAMESPACE]`: find what is wrong, with the root cause "
    "(TARGET is `deploy/checkout`, `checkout` or nothing for the whole namespace)\n"
    "`/sre ask QUESTION`: e.g. `/sre ask why is checkout crashing in shop?`\n"
    "`/sre runbook QUERY`: search the team's runbooks\n"
    "`/sre help`: this message\n"
    "Mention me in a channel (`@sre why is checkout failing?`) and keep talking in the thread."
)


@dataclass(frozen=True)
class Diagnose:
    target: str | None
    namespace: str | None

    @property
    def question(self) -> str:
        return f"diagnose {self.target or ''}".strip()

    def describe(self) -> str:
        what = self.target or "everything"
        return f"{what} in {self.namespace}" if self.namespace else what


@dataclass(frozen=True)
class Ask:
    question: str


@dataclass(frozen=True)
class Runbook:
    query: str


@dataclass(frozen=True)
class Help:
    problem: str | None = None
    suggestion: str | None = None


Command = Diagnose | Ask | Runbook | Help


def strip_mentions(text: str) -> str:
    """The text of a message without `<@U0123>` mentions."""
    return _MENTION.sub(" ", text).strip()


def parse(text: str) -> Command:
    """The command in `/sre TEXT`; `Help` (with the problem) for anything else."""
    text = (text or "").strip()
    if not text:
        return Help()
    word, _, rest = text.partition(" ")
    word = word.lower()
    rest = rest.strip()
    if word in ("help", "-h", "--help", "?"):
        return Help()
    if word == "ask":
        return Ask(rest) if rest else Help("`ask` needs a question", "ask")
    if word == "runbook":
        return Runbook(rest) if rest else Help("`runbook` needs something to look for",
                                               "runbook")
    if word == "diagnose":
        return _diagnose(rest)
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1, cutoff=0.6)
    if close:
        return Help(f"unknown command `{_clip(word)}`", close[0])
    return Help(f"I did not understand `{_clip(text)}`")


def parse_mention(text: str) -> Command:
    """An @mention: a subcommand when it starts with one, otherwise a free question."""
    text = strip_mentions(text)
    word = text.partition(" ")[0].lower()
    if word in SUBCOMMANDS:
        return parse(text)
    if not re.search(r"[A-Za-z]{2,}", text):
        return Help()
    return Ask(text)


def _diagnose(rest: str) -> Command:
    try:
        words = shlex.split(rest)
    except ValueError:
        return Help(f"I could not read `{_clip(rest)}` (an unclosed quote?)", "diagnose")
    target: str | None = None
    namespace: str | None = None
    while words:
        word = words.pop(0)
        if word in ("-n", "--namespace"):
            if not words:
                return Help("`-n` needs a namespace", "diagnose")
            namespace = words.pop(0)
        elif word.startswith("--namespace="):
            namespace = word.partition("=")[2]
        elif word.startswith("-n") and len(word) > 2:
            namespace = word[2:]
        elif target is None and _TARGET.match(word):
            target = word
        else:
            return Help(f"unexpected `{_clip(word)}`", "diagnose")
    if namespace is not None and not _NAMESPACE.match(namespace):
        return Help(f"`{_clip(namespace)}` is not a namespace name", "diagnose")
    return Diagnose(target, namespace)


def _clip(text: str, limit: int = 60) -> str:
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
