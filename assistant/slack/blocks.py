"""A `Diagnosis` in Block Kit, within Slack's limits, and the app's other messages.

An answer reads top to bottom: the verdict line (object, cause, confidence) and the causal
path, what was found, remediation commands marked as proposed, evidence (hidden until "Show
evidence" is pressed), runbooks (links when the runbooks' base URL is set), what was ruled
out. Long answers are split over several messages: at most 50 blocks each, 3,000 characters per
section, 40,000 characters of fallback text. The buttons sit on the last message.
"""

from __future__ import annotations

from typing import Any

from ..diagnosis import Diagnosis, RunbookCitation
from ..rendering import causal_path, link_of, verdict_line
from .commands import USAGE, Help
from .messaging import Message

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_TEXT = 40000
MAX_ALERTS_LISTED = 10  # alerts named one by one in a message; the rest are counted

SHOW_EVIDENCE, HIDE_EVIDENCE, RERUN = "sre_show_evidence", "sre_hide_evidence", "sre_rerun"
HELPFUL, NOT_HELPFUL = "sre_helpful", "sre_not_helpful"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Text from the cluster or a user, safe inside mrkdwn (no accidental mentions or links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters; when cut, it says how much is missing."""
    if len(text) <= limit:
        return text
    note = f" …(cut: {len(text) - limit} more characters)"
    return text[:limit - len(note)] + note


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION]}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "action_id": action_id, "value": value,
                     "text": {"type": "plain_text", "text": text, "emoji": True}}
    if style:
        button["style"] = style
    return button


def sections(lines: list[str], limit: int = MAX_SECTION) -> list[Block]:
    """Lines packed into as few sections as fit `limit` characters each; long lines are cut."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return [_section(chunk) for chunk in chunks]


def _code(command: str, limit: int = MAX_SECTION - 200) -> str:
    command = escape(command.replace("```", "'''"))
    if len(command) > limit:
        command = command[:limit] + " …(cut)"
    return f"```{command}```"


def answered(d: Diagnosis) -> str:
    """What the progress message folds into once the answer is in the thread: one line."""
    return verdict_line(d)


def answer(d: Diagnosis, answer_id: str, *, show_evidence: bool = False,
           runbook_base_url: str | None = None) -> list[Message]:
    """The answer as one or more messages; the last one carries the buttons. First the verdict
    line and the causal path, then what was found, the remediation, and the evidence only when
    asked for; each thing said once."""
    if d.reply is not None:
        return _reply(d, answer_id)
    icon = {True: ":large_green_circle:", False: ":red_circle:", None: ":white_circle:"}[
        d.healthy]
    first = [f"{icon} *{escape(verdict_line(d))}*"]
    path = causal_path(d)
    if path:
        first.append(f"`{escape(path)}`")
    first.append(escape(d.summary))
    if d.root_cause and d.root_cause.explanation not in d.summary:
        first.append(f"*Root cause:* {escape(d.root_cause.explanation)}")
    blocks = sections(first)
    if d.remediation:
        blocks += sections(["*Proposed remediation* (proposed, not executed: nothing was "
                            "changed; a human reviews and applies it)"])
        for number, step in enumerate(d.remediation, 1):
            lines = [f"{number}. {escape(step.step)} _(risk: {step.risk})_"]
            if step.command:
                lines.append(_code(step.command))
            blocks += sections(["\n".join(lines)])
    if d.evidence and show_evidence:
        blocks += sections([f"*Evidence* ({len(d.evidence)})"] + [
            f"• [{e.source}] `{escape(e.object)}`: {escape(e.detail)}" for e in d.evidence])
    elif d.evidence:
        blocks.append(_context(f":card_index_dividers: {len(d.evidence)} pieces of evidence "
                               "behind this answer: press *Show evidence* to see them."))
    if d.runbooks:
        blocks += sections(["*Runbooks*"] + [
            f"• {runbook_link(r, runbook_base_url)}" for r in d.runbooks])
    extra = []
    if d.ruled_out:
        extra.append("*Ruled out:* " + escape("; ".join(d.ruled_out)))
    if d.notes:
        extra.append("*Notes:* " + escape("; ".join(d.notes)))
    if extra:
        blocks.append(_context("\n".join(extra)))
    return _paged(blocks, _fallback(d), _actions(answer_id, show_evidence))


def _actions(answer_id: str, show_evidence: bool | None) -> Block:
    """The buttons; no evidence button when `show_evidence` is None (a reply has none)."""
    evidence = [] if show_evidence is None else [
        _button("Hide evidence", HIDE_EVIDENCE, answer_id) if show_evidence
        else _button("Show evidence", SHOW_EVIDENCE, answer_id)]
    return {"type": "actions", "block_id": f"answer:{answer_id}", "elements": [
        *evidence, _button("Re-run", RERUN, answer_id),
        _button(":thumbsup: Helpful", HELPFUL, answer_id, "primary"),
        _button(":thumbsdown: Not helpful", NOT_HELPFUL, answer_id)]}


def _reply(d: Diagnosis, answer_id: str) -> list[Message]:
    """A follow-up's content: its heading, each excerpt as a code block under what it is
    (container, previous or current run), and the reference back to the diagnosis."""
    assert d.reply is not None
    blocks = sections([f":page_facing_up: *{escape(d.reply.heading)}*"])
    for excerpt in d.reply.excerpts:
        title = f"{excerpt.title[0].upper()}{excerpt.title[1:]}"
        blocks += sections([f"*{escape(title)}*", _code(excerpt.text)])
    blocks.append(_context(escape(d.reply.about)))
    if d.notes:
        blocks.append(_context("*Notes:* " + escape("; ".join(d.notes))))
    return _paged(blocks, f"{d.reply.heading}. {d.reply.about}"[:MAX_TEXT],
                  _actions(answer_id, None))


def _paged(blocks: list[Block], text: str, actions: Block) -> list[Message]:
    pages = [blocks[i:i + MAX_BLOCKS - 1] for i in range(0, len(blocks), MAX_BLOCKS - 1)]
    messages = [Message(text=text if n == 0 else f"{text[:200]} (continued)", blocks=page)
                for n, page in enumerate(pages)]
    messages[-1].blocks.append(actions)
    return messages


def alerts_heading(alerts: list[str], d: Diagnosis, *, answered: bool = False) -> str:
    """"*3 alerts, 1 root cause*" and the alerts an answer explains: the message (mrkdwn) that
    goes before that answer in an alert's thread; with `answered`, the whole message for alerts
    whose root cause the thread has an answer for already."""
    count = f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    head = f"*{count}, 1 root cause*" if d.root_cause else f"*{count}*"
    if answered and d.root_cause:
        head = (f":link: *{count}, the same root cause as above*: "
                f"`{escape(d.root_cause.category)}` on `{escape(d.root_cause.object)}`")
    shown = [f"• `{escape(a)}`" for a in alerts[:MAX_ALERTS_LISTED]]
    if len(alerts) > MAX_ALERTS_LISTED:
        shown.append(f"• …and {len(alerts) - MAX_ALERTS_LISTED} more")
    return "\n".join([head, *shown])


def runbook_link(r: RunbookCitation, base_url: str | None) -> str:
    """A runbook as a link to its section when the runbooks' base URL is set, else its title
    and file; never a score."""
    title = f"{escape(r.title)}: {escape(r.section)}"
    link = link_of(r.path, r.section, base_url)
    return f"<{link}|{title}>" if link else f"{title} (`{escape(r.path)}`)"


def _fallback(d: Diagnosis) -> str:
    return f"{verdict_line(d)}. {d.summary}"[:MAX_TEXT]


def progress(headline: str, steps: list[str], *, done: str | None = None) -> Message:
    """The first message of an investigation, updated as it goes (`headline` is mrkdwn)."""
    icon = ":white_check_mark:" if done else ":mag:"
    blocks = [_section(f"{icon} {headline}"[:MAX_SECTION])]
    if done:
        blocks.append(_section(escape(done)[:MAX_SECTION]))
        blocks.append(_context("The full answer is in the thread."))
    elif steps:
        blocks.append(_context("\n".join(f"• {escape(s)}" for s in steps[-5:])))
    return Message(text=headline if not done else f"{headline} {done}"[:MAX_TEXT], blocks=blocks)


def help_message(command: Help) -> Message:
    lines = []
    if command.problem:
        lines.append(f":thinking_face: {escape(command.problem)}.")
    if command.suggestion and command.problem and command.problem.startswith("unknown"):
        lines.append(f"Did you mean `/sre {command.suggestion}`?")
    lines.append(USAGE)
    text = "\n".join(lines)
    return Message(text=text, blocks=sections(text.split("\n")))


def notice(text: str) -> Message:
    """A plain message (refusals, errors, notes, alerts); `text` is already mrkdwn-safe. Cut to
    Slack's limits with a note saying so: an alert's summary can be any length."""
    return Message(text=cut(text, MAX_TEXT), blocks=[_section(cut(text, MAX_SECTION))])
