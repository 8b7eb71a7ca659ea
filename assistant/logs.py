"""The servers' logs (`sre slack`, `sre web`) on stderr: text for people, or one JSON object a
line with `SRE_LOG__FORMAT=json` for a log pipeline.

    logs.configure(settings)        # once, at the start of a server; uvicorn's loggers included

Either way every line is redacted before it is written, as cluster text is (`tools.redact_text`:
tokens, passwords, keys, credentials in URLs, `?token=` in an access log line), and the exact
values of the secrets the settings hold (Slack tokens, the web token, the model's API key, the
Postgres URL) are masked too, wherever they appear. A JSON line holds `time` (UTC, ISO 8601),
`level`, `logger`, `message`, `exception` when there is one, and the record's own fields
(`extra=`), each string redacted the same way.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, SecretStr

from tools import redact_text
from tools.redacting import REDACTED

from .settings import LogSettings, Settings

_MIN_SECRET = 4  # characters; shorter configured "secrets" would mask ordinary words
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName", "color_message"}  # uvicorn's ANSI twin of the message
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Scrubber:
    """Redacts a string as cluster text is, then masks the configured secrets' exact values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len,
                              reverse=True)

    def __call__(self, text: str) -> str:
        text = redact_text(text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def secrets_of(model: BaseModel) -> Iterator[str]:
    """Every `SecretStr` value in `model` and its sections (the password of a URL too)."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            yield secret
            if "://" in secret and "@" in secret:  # postgres://user:password@host/db
                yield secret.split("://", 1)[1].rsplit("@", 1)[0].partition(":")[2]
        elif isinstance(value, BaseModel):
            yield from secrets_of(value)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; every string in it scrubbed."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__()
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        if record.exc_info:
            doc["exception"] = self.scrub(self.formatException(record.exc_info))
        if record.stack_info:
            doc["stack"] = self.scrub(self.formatStack(record.stack_info))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in doc:
                doc[key] = self._field(value)
        return json.dumps(doc, ensure_ascii=False)

    def _field(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.scrub(value if isinstance(value, str) else repr(value))


class TextFormatter(logging.Formatter):
    """The usual one-line text, scrubbed."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__(TEXT)
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))


def formatter(config: LogSettings, scrub: Scrubber) -> logging.Formatter:
    return JsonFormatter(scrub) if config.format == "json" else TextFormatter(scrub)


def configure(settings: Settings) -> None:
    """Send every logger's records (uvicorn's too: start it with `log_config=None`) to stderr,
    in the configured format and level, scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings.log, Scrubber(secrets_of(settings))))
    handler.setLevel(settings.log.level)  # also for loggers that set a lower level themselves
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log.level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # whatever configured them
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
