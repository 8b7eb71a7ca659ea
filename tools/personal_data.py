"""Personal data, hidden only when the settings ask (`redaction.pii`): e-mail addresses keep
their domain, card numbers go when they pass the Luhn check."""

from __future__ import annotations

import re

from .secret_tokens import REDACTED

_EMAIL = re.compile(
    r"(?<![\w.%+/-])(?P<local>[A-Za-z0-9][\w.%+-]{0,63})"
    r"@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b"
)
_NOT_PERSONAL = re.compile(r"git|noreply|no-reply|.*\.gserviceaccount\.com|.*\.svc|.*\.local")
_CARD = re.compile(r"(?<![\w.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-])")


def redact_personal_data(text: str) -> str:
    """E-mail local parts (not service accounts, `git@`, `noreply`) and card numbers that pass
    the Luhn check."""
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
