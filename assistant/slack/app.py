"""The Bolt app: `/sre`, @mentions and thread follow-ups, watched channels, and the buttons.

    slack = build(settings, cluster)                      # EngineInvestigator by default
    slack = build(settings, cluster, investigator=lambda c: Agent(c, memory))

Every listener acknowledges first (Slack wants an answer within 3 s), posts the progress
message, and hands the investigation to the bounded pool (`investigating`). Events that Slack
sends again (`X-Slack-Retry-Num`) are recognised by their event id and not worked twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_sdk.signature import SignatureVerifier

import tools
from tools import Cluster

from ..diagnosis import Diagnosis
from ..investigation import EngineInvestigator, Request
from ..observing import Metrics
from ..service.allowing import outside
from ..settings import Settings
from . import blocks, commands
from .access import AccessPolicy
from .alerts import AlertIntake
from .commands import Ask, Diagnose, Help, Runbook
from .investigating import Investigations, InvestigatorFactory, Job, thread_key
from .messaging import Message, Messenger, SlackError, SlackRefused, make_client
from .runbooks import RunbookSearch, runbook_answer
from .store import Store, open_store

log = logging.getLogger(__name__)
_BUSY = ":hourglass: I am busy with other investigations; please try again in a minute."


@dataclass
class SlackApp:
    """Everything `sre slack` runs; `close()` stops the workers. `verifier` (HTTP mode) holds
    the signing secret every request to /slack/events is checked against, before it is parsed
    (and a signed slash command answered at once, and dispatched afterwards)."""

    bolt: App
    store: Store
    investigations: Investigations
    alerts: AlertIntake
    messenger: Messenger
    verifier: SignatureVerifier | None = None
    _later: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="slack-dispatch"))  # one: see `after_ack`

    def dispatch_later(self, request: BoltRequest) -> None:
        self._later.submit(self._dispatch, request)

    def _dispatch(self, request: BoltRequest) -> None:
        response = self.bolt.dispatch(request)
        if response.status >= 400:
            log.warning("a slash command acknowledged early was refused by Bolt: %s %s",
                        response.status, response.body[:200])

    def close(self) -> None:
        self._later.shutdown(wait=False, cancel_futures=True)
        self.investigations.shutdown(wait=False)


def build(settings: Settings, cluster: Cluster,
          investigator: InvestigatorFactory = EngineInvestigator,
          runbook_search: RunbookSearch | None = None,
          metrics: Metrics | None = None) -> SlackApp:
    """The app, ready to serve. Raises `SlackError` when Slack refuses the token or is down,
    `StoreConfigError` when its state (SQLite, or Postgres with several replicas) cannot open.
    Investigations, alerts and `cluster`'s API requests are counted in `metrics`."""
    metrics = metrics or Metrics()
    metrics.watch_cluster(cluster)
    config = settings.slack
    token = config.bot_token.get_secret_value() if config.bot_token else None
    client = make_client(token, config.api_base_url)
    messenger = Messenger(client)
    messenger.check_token()  # a bad token or an unreachable Slack is a SlackError, here
    store = open_store(settings)
    secret = config.signing_secret.get_secret_value() if config.signing_secret else ""
    bolt = App(client=client, signing_secret=secret, name="sre",
               request_verification_enabled=config.mode == "http",
               listener_executor=ThreadPoolExecutor(max_workers=16,
                                                    thread_name_prefix="slack-listener"))
    investigations = Investigations(messenger, store, cluster, investigator,  # counts them
                                    workers=config.workers, queue_limit=config.queue_limit,
                                    metrics=metrics,
                                    runbook_base_url=settings.knowledge.runbook_base_url)
    policy = AccessPolicy(config.channel_namespaces)
    alerts = AlertIntake(messenger, store, investigations, policy, config.incident_channel,
                         config.alerts_token.get_secret_value() if config.alerts_token else None)
    listeners = _Listeners(messenger, store, investigations, policy, set(config.watched_channels),
                           runbook_search)
    listeners.register(bolt)
    verifier = SignatureVerifier(secret) if config.mode == "http" and secret else None
    return SlackApp(bolt, store, investigations, alerts, messenger, verifier)


class _Listeners:
    def __init__(self, messenger: Messenger, store: Store, investigations: Investigations,
                 policy: AccessPolicy, watched: set[str],
                 runbook_search: RunbookSearch | None) -> None:
        self.messenger = messenger
        self.store = store
        self.investigations = investigations
        self.policy = policy
        self.watched = watched
        self.runbook_search = runbook_search
        # Posting the progress message and queueing the job happen here, after the ack, on one
        # thread: a burst of 50 commands would otherwise hold every listener thread on Slack's
        # Web API, and every extra busy thread takes the interpreter from the event loop that
        # acknowledges the next commands (bench/slack.py: ack p99 ~440 -> ~70-140 ms).
        self.after_ack = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-after-ack")

    def register(self, bolt: App) -> None:
        bolt.middleware(self.once_per_event)
        bolt.command("/sre")(self.on_command)
        bolt.event("app_mention")(self.on_mention)
        bolt.event("message")(self.on_message)
        bolt.action(blocks.SHOW_EVIDENCE)(self.on_show_evidence)
        bolt.action(blocks.HIDE_EVIDENCE)(self.on_show_evidence)
        bolt.action(blocks.RERUN)(self.on_rerun)
        bolt.action(blocks.HELPFUL)(self.on_feedback)
        bolt.action(blocks.NOT_HELPFUL)(self.on_feedback)

    def once_per_event(self, body: dict[str, Any], next: Callable[[], BoltResponse],
                       request: Any) -> BoltResponse | None:
        """Slack resends an event it thinks was lost; the event id tells a resend apart."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.store.first_sight(str(event_id)):
            retry = request.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("event %s seen before (retry %s): not worked again", event_id, retry)
            return BoltResponse(status=200, body="")
        return next()

    # --- /sre ----------------------------------------------------------------------------

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()  # Bolt answers Slack now; the rest must not hold a listener thread (below)
        self.after_ack.submit(self._command, command, respond)

    def _command(self, command: dict[str, Any], respond: Respond) -> None:
        channel, user = command["channel_id"], command["user_id"]
        parsed = commands.parse(command.get("text", ""))
        reply = self._immediate(parsed, channel)
        if reply is not None:
            respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral")
            return
        headline = _headline(parsed, user)
        try:
            ts = self.messenger.post(channel, blocks.progress(headline, []))
        except SlackRefused as e:
            respond(text=f":warning: I could not post here: {e.explanation}.",
                    response_type="ephemeral")
            return
        except SlackError:
            respond(text=":warning: Slack is not answering me; please try again shortly.",
                    response_type="ephemeral")
            return
        self._start(parsed, channel, ts, ts, headline, user)

    def _immediate(self, parsed: commands.Command, channel: str) -> Message | None:
        """The reply when no investigation is needed: help, runbooks, a refusal."""
        if isinstance(parsed, Help):
            return blocks.help_message(parsed)
        if isinstance(parsed, Runbook):
            return runbook_answer(self.runbook_search, parsed.query,
                                  self.investigations.runbook_base_url)
        access = self.policy.for_channel(channel)
        namespace = parsed.namespace if isinstance(parsed, Diagnose) else None
        if not access.readable or not access.permits(namespace):
            return blocks.notice(access.refusal())
        if isinstance(parsed, Ask) and access.namespaces is not None and outside(
                parsed.question, access.namespaces, self._known_namespaces()):
            return blocks.notice(access.refusal())  # the same words as for `-n`
        return None

    def _known_namespaces(self) -> list[str]:
        """The whole cluster's namespaces ("in kube-system" names one only if it exists); none
        when the cluster cannot say: the investigation then reports that itself."""
        try:
            return self.investigations.cluster.namespaces()
        except tools.ClusterError:
            return []

    def _start(self, parsed: commands.Command, channel: str, thread_ts: str, progress_ts: str,
               headline: str, user: str | None) -> None:
        self.store.start_conversation(channel, thread_ts)
        request = _request(parsed, thread_key(channel, thread_ts), user)
        job = Job(request, channel, thread_ts, progress_ts, headline,
                  self.policy.for_channel(channel))
        if not self.investigations.submit(job):
            self._safely(self.messenger.update, channel, progress_ts, blocks.notice(_BUSY))

    # --- mentions, follow-ups, watched channels ------------------------------------------

    def on_mention(self, event: dict[str, Any]) -> None:
        self._converse(event, event.get("thread_ts") or event["ts"])

    def on_message(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return  # edits, joins, bots (ourselves included)
        bot = context.get("bot_user_id")
        if bot and f"<@{bot}>" in event.get("text", ""):
            return  # app_mention answers it
        channel, thread = event["channel"], event.get("thread_ts")
        if thread and self.store.in_conversation(channel, thread):
            self._converse(event, thread)
        elif not thread and channel in self.watched:
            self._converse(event, event["ts"])

    def _converse(self, event: dict[str, Any], thread_ts: str) -> None:
        channel = event["channel"]
        parsed = commands.parse_mention(event.get("text", ""))
        reply = self._immediate(parsed, channel)
        if reply is not None:
            self._safely(self.messenger.post, channel, reply, thread_ts)
            return
        headline = _headline(parsed, event.get("user"))
        ts = self._safely(self.messenger.post, channel, blocks.progress(headline, []), thread_ts)
        if ts is not None:
            self._start(parsed, channel, thread_ts, ts, headline, event.get("user"))

    # --- buttons -------------------------------------------------------------------------

    def on_show_evidence(self, ack: Ack, action: dict[str, Any], body: dict[str, Any],
                         respond: Respond) -> None:
        ack()
        stored = self.store.answer(action["value"])
        if stored is None:
            respond(text="That answer is too old to expand; press Re-run.",
                    response_type="ephemeral", replace_original=False)
            return
        diagnosis = Diagnosis.model_validate_json(stored.diagnosis)
        show = action["action_id"] == blocks.SHOW_EVIDENCE
        pages = blocks.answer(diagnosis, stored.id, show_evidence=show,
                              runbook_base_url=self.investigations.runbook_base_url)
        if len(pages) == 1:  # the message the button is on grows (or shrinks) in place
            ts = body["container"]["message_ts"]
            self._safely(self.messenger.update, stored.channel, ts, pages[0])
            return
        for page in pages:  # too long to grow in place: the expanded answer goes in the thread
            self._safely(self.messenger.post, stored.channel, page, stored.thread_ts)

    def on_rerun(self, ack: Ack, action: dict[str, Any], body: dict[str, Any],
                 respond: Respond) -> None:
        ack()
        stored = self.store.answer(action["value"])
        user = body["user"]["id"]
        if stored is None:
            respond(text="That answer is too old to re-run; ask again.",
                    response_type="ephemeral", replace_original=False)
            return
        access = self.policy.for_channel(stored.channel)
        request = Request.model_validate_json(stored.request)
        if not access.readable or not access.permits(request.namespace):
            respond(text=access.refusal(), response_type="ephemeral", replace_original=False)
            return
        request = request.model_copy(update={"user": user})
        headline = f"Re-running for <@{user}>: {request.question}…"
        ts = self._safely(self.messenger.post, stored.channel, blocks.progress(headline, []),
                          stored.thread_ts)
        if ts is None:
            return
        job = Job(request, stored.channel, stored.thread_ts, ts, headline, access)
        if not self.investigations.submit(job):
            self._safely(self.messenger.update, stored.channel, ts, blocks.notice(_BUSY))

    def on_feedback(self, ack: Ack, action: dict[str, Any], body: dict[str, Any],
                    respond: Respond) -> None:
        ack()
        helpful = action["action_id"] == blocks.HELPFUL
        user = body["user"]["id"]
        if self.store.answer(action["value"]) is None:
            respond(text="That answer is too old to rate.", response_type="ephemeral",
                    replace_original=False)
            return
        self.store.record_feedback(action["value"], user, helpful)
        word = "helpful" if helpful else "not helpful"
        respond(text=f"Thanks <@{user}>: recorded this answer as {word}.",
                response_type="ephemeral", replace_original=False)

    @staticmethod
    def _safely(function: Callable[..., str | None], *args: object) -> str | None:
        try:
            return function(*args)
        except SlackError as e:  # logged with its explanation by the messenger
            log.warning("could not %s: %s", e.method, e)
            return None


def _headline(parsed: commands.Command, user: str | None) -> str:
    who = f" for <@{user}>" if user else ""
    if isinstance(parsed, Diagnose):
        return f"Looking into {blocks.escape(parsed.describe())}{who}…"
    assert isinstance(parsed, Ask)
    return f"Looking into “{blocks.escape(parsed.question[:200])}”{who}…"


def _request(parsed: commands.Command, thread: str, user: str | None) -> Request:
    if isinstance(parsed, Diagnose):
        return Request(question=parsed.question, target=parsed.target,
                       namespace=parsed.namespace, thread=thread, user=user)
    assert isinstance(parsed, Ask)
    return Request(question=parsed.question, thread=thread, user=user)
