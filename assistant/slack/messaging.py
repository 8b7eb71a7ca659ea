"""The boundary to the Slack Web API: post, update and reply, with Slack's errors made ours.

    SlackError                  a Web API call failed
    +-- SlackUnavailable        rate limited past the retries, 5xx, network (retryable)
    +-- SlackRefused            Slack answered "no": channel_not_found, not_in_channel,
                                invalid_auth, invalid_blocks... (permanent; `explanation` says
                                what an admin does about it)

429 answers are retried by the client itself, after the `Retry-After` Slack sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

log = logging.getLogger(__name__)

_EXPLAINED = {
    "channel_not_found": "the channel does not exist, or it is private and the bot is not in "
                         "it: invite the bot (/invite @sre) or fix the channel ID in settings",
    "not_in_channel": "the bot is not a member of the channel: /invite @sre in that channel",
    "is_archived": "the channel is archived: unarchive it or configure another channel",
    "invalid_auth": "the bot token is not valid: check SRE_SLACK__BOT_TOKEN",
    "not_authed": "no bot token was sent: set SRE_SLACK__BOT_TOKEN",
    "account_inactive": "the bot token belongs to a deleted user or an uninstalled app",
    "missing_scope": "the app lacks an OAuth scope: compare it with deploy/slack-manifest.yaml",
    "message_not_found": "the message to update is gone (deleted in Slack)",
    "cant_update_message": "the message was not posted by this bot",
    "msg_too_long": "the message is longer than Slack accepts (a bug in splitting)",
    "invalid_blocks": "Slack refused the Block Kit layout (a bug in rendering)",
}
_RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
              "request_timeout"}


class SlackError(Exception):
    """A Slack Web API call failed."""

    retryable = False

    def __init__(self, method: str, code: str, explanation: str) -> None:
        super().__init__(f"{method}: {code}: {explanation}")
        self.method = method
        self.code = code
        self.explanation = explanation


class SlackUnavailable(SlackError):
    retryable = True


class SlackRefused(SlackError):
    pass


def make_client(token: str | None, base_url: str | None) -> WebClient:
    """A Web API client that waits out 429s (Retry-After) and retries dropped connections."""
    handlers = [ConnectionErrorRetryHandler(max_retry_count=2),
                RateLimitErrorRetryHandler(max_retry_count=3)]
    if base_url:
        return WebClient(token=token, base_url=base_url, retry_handlers=handlers)
    return WebClient(token=token, retry_handlers=handlers)


@dataclass
class Message:
    """One Slack message: blocks and the plain text Slack shows in notifications."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class Messenger:
    """Posts and updates messages; every failure leaves as a `SlackError`."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def check_token(self) -> str:
        """The bot's user id, if Slack accepts the token (`auth.test`)."""
        response = self._call("auth.test", self.client.auth_test, {})
        return str(response.get("user_id", ""))

    def post(self, channel: str, message: Message, thread_ts: str | None = None) -> str:
        """Post `message`; returns its ts."""
        kwargs: dict[str, Any] = {"channel": channel, "text": message.text,
                                  "unfurl_links": False, "unfurl_media": False}
        if message.blocks:
            kwargs["blocks"] = message.blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = self._call("chat.postMessage", self.client.chat_postMessage, kwargs)
        return str(response["ts"])

    def update(self, channel: str, ts: str, message: Message) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "ts": ts, "text": message.text,
                                  "blocks": message.blocks}
        self._call("chat.update", self.client.chat_update, kwargs)

    def _call(self, method: str, function: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return function(**kwargs)
        except SlackApiError as e:
            code = str(e.response.get("error") or e.response.status_code)
            explanation = _EXPLAINED.get(code, "see the Slack API documentation for this error")
            if code in _RETRYABLE or e.response.status_code >= 500 \
                    or e.response.status_code == 429:
                raise SlackUnavailable(method, code, "Slack is busy or failing; try later") \
                    from e
            where = f" in channel {kwargs['channel']}" if kwargs.get("channel") else ""
            log.warning("Slack refused %s%s: %s: %s", method, where, code, explanation)
            raise SlackRefused(method, code, explanation) from e
        except (SlackClientError, OSError) as e:
            raise SlackUnavailable(method, type(e).__name__, "Slack could not be reached") \
                from e
