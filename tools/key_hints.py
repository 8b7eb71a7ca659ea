"""The words a secret's key holds, and where to try a key-led rule: `has_key_hint` gates every
keyed rule on lowercased text, `KEY` is a whole run of name characters holding such a word (then
`secret_names` judges it), and `sub_at_keys` tries a pattern only where a key may start, so a
rule costs time linear in the text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from itertools import islice

from .key_words import HINTS as WORD_HINTS
from .secret_names import is_secret_value, sensitive_name
from .secret_tokens import REDACTED


def has_key_hint(lower: str) -> bool:
    """Whether lowercased text holds a word a sensitive key contains: the keyed rules' gate."""
    if len(lower) > _REMEMBERED:
        return _KEY_HINT.search(lower) is not None
    return bool(_hints_in(lower, weak=True))


# A line's hints are looked for once, not by every rule: the hints' pattern holds hundreds of
# words (`key_words`), and the regex engine tries them at every character (10 us a line).
_REMEMBERED = 4096  # longer texts are not kept alive by the cache


@functools.lru_cache(maxsize=64)
def _hints_in(lower: str, *, weak: bool) -> tuple[int, ...]:
    """Where the hints of lowercased text start (the weak ones too when `weak`)."""
    return tuple(hint.start() for hint in (_KEY_HINT if weak else _STRONG_HINT).finditer(lower))


def dense_with_hints(lower: str, every: int) -> bool:
    """Whether lowercased text holds a key hint for every `every` characters or fewer: no log
    line or config line reads like that (`password` 2,048 times), and the keyed rules, which
    try a key at each hint, would cost time quadratic in it."""
    wanted = len(lower) // every
    return wanted > 0 and sum(1 for _ in islice(_KEY_HINT.finditer(lower), wanted)) >= wanted


_S = r"[^\S\n]"  # a space on the line: blanks, tabs, no-break spaces
# Words a sensitive key contains, grouped by first letter (the regex engine tries fewer).
# Words of other languages and misspellings: `key_words`.
_STRONG_HINTS = (r"p(?:ass|w|sk|sw|in)|s(?:ecret|ig|ess)|token|key|c(?:red|srf|ookie|onn)|auth"
                 r"|dsn|mnemonic|honeycomb|t?otp|bearer|code|hmac|pepper|seed|signing|xsrf|jks|pfx|"
                 + WORD_HINTS)
# Everyday words that name a secret only with a value shaped like one (`secret_names.weak_name`),
# or say one follows (`seed phrase:`, `recovery words:`): the rules that span lines, run on a
# whole text, skip them (`sub_at_keys(..., weak=False)`).
_WEAK_HINTS = r"sid|sas|salt|nonce|refresh|access|phrase|words|jwt"
_HINTS = rf"(?:{_STRONG_HINTS}|{_WEAK_HINTS})"
_KEY_HINT = re.compile(_HINTS)  # on lowercased text
_STRONG_HINT = re.compile(_STRONG_HINTS)
# A key is a whole run of name characters holding a hint, then `sensitive_name` judges it. Both
# sides are bounded: an unbounded key made each try scan the rest of a long run (quadratic).
_KEY_MAX = 64
_KEY = rf"[A-Za-z0-9_.-]{{0,{_KEY_MAX}}}?{_HINTS}[A-Za-z0-9_.-]{{0,{_KEY_MAX}}}"
KEY, SPACE, HINTS = _KEY, _S, _HINTS  # what other modules build their keys and lines from


_LONG_KEY_VALUE = re.compile(  # the value after a key too long to try whole
    r"[\"']?[ \t]*(?:=>|:=|[:=])(?![=/])[ \t]*"
    r"(?P<pw>\"(?:[^\"\\\n]|\\.){0,8192}\"|'[^'\n]{0,8192}'|[^\s\"'`,;&]{1,65536}+)")
_RUN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_RUN = re.compile(r"[A-Za-z0-9_.-]*")
_KEPT_MAX = 256  # a kept match this short is tried again at the hints inside it


def sub_at_keys(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str,
                 lower: str, *, line: bool = False, long_keys: bool = False,
                 weak: bool = True) -> str:
    """`pattern.sub(replace, text)` for a pattern whose key holds a key hint: tried only where
    a hint is (at the start of its run of name characters, or of its `line`), once per run or
    line however many hints it holds, and never on a run too long to be a key. Each try is
    bounded (`_KEY_MAX`), so the whole costs time linear in the text."""
    if len(lower) != len(text):  # a few characters change length when lowercased
        return pattern.sub(replace, text)
    out: list[str] = []
    pos = covered = 0
    hints = _hints_in(lower, weak=weak) if len(lower) <= _REMEMBERED else (
        hint.start() for hint in (_KEY_HINT if weak else _STRONG_HINT).finditer(lower))
    for at in hints:
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
            if covered - start > 2 * _KEY_MAX + 2 or at - start > _KEY_MAX:  # no key is so long
                if long_keys and covered >= pos:  # but its end may name a secret
                    value = _LONG_KEY_VALUE.match(text, covered)
                    if value and sensitive_name(text[covered - _KEY_MAX : covered]) and (
                            is_secret_value(value.group("pw").strip("\"'"))):
                        out += (text[pos : value.start("pw")], REDACTED)
                        pos = value.end()
                continue
            begin = start
            while begin > max(0, start - 8) and text[begin - 1] in "\\\"'":
                begin -= 1  # `"key"`, `\"key\"`, `\\\"key\\\"` (JSON in JSON in JSON)
            starts = tuple(range(begin, start + 1))
        for begin in starts:
            m = pattern.match(text, begin) if begin >= pos else None
            if m:
                replaced = replace(m)
                if replaced != m.group() or m.end() - m.start() > _KEPT_MAX:
                    out += (text[pos : m.start()], replaced)
                    pos = m.end()
                break  # a short match kept: a key may sit in its value (`Logger : pw: x`)
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)
