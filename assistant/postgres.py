"""What to say when a Postgres URL cannot be used, never with its password in it.

Conversation memory (`agent.memory`) and the Slack app's state (`slack.databases`) share one
database, `memory.postgres_url`; both explain a refusal with these words:

    where = describe(url)      # "database D on HOST:PORT as user U", or None when malformed
    refusal(error)             # "it refused the user name or password", ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

CHECK = "check memory.postgres_url (SRE_MEMORY__POSTGRES_URL)"
MALFORMED = ("memory.postgres_url (SRE_MEMORY__POSTGRES_URL) is not a valid Postgres URL; the "
             "form is postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
# libpq's words (matched, never shown) -> what they mean for the person fixing the setting.
_REFUSALS = (
    ("password authentication failed", "it refused the user name or password"),
    ("no pg_hba.conf entry", "its pg_hba.conf does not let this user in from here"),
    ("does not exist", "the database or the user does not exist there"),
    ("Connection refused", "no Postgres server is listening there"),
    ("timeout expired", "it did not answer in time"),
    ("could not translate host name", "the host name does not resolve"),
)


def describe(url: str) -> str | None:
    """`database D on HOST:PORT as user U`, from the URL without its password; None when the URL
    is malformed (the parser's own error quotes the whole URL, so the caller raises `from None`).
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return None
    user = params.get("user")
    where = (f"database {params.get('dbname') or user or '(default)'} on "
             f"{params.get('host') or '(default host)'}:{params.get('port') or 5432}")
    return f"{where} as user {user}" if user else where


def refusal(error: psycopg.Error) -> str:
    """Why the server could not be used, in words for whoever fixes the setting."""
    text = str(error)
    for words, meaning in _REFUSALS:
        if words in text:
            return meaning
    return "the server could not be reached or refused the connection"
