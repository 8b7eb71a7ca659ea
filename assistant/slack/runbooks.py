"""`/sre runbook QUERY`: the team's runbooks, searched by whatever the knowledge base offers.

The search is injected (`build(..., runbook_search=...)`) so that the Slack app does not depend
on how runbooks are stored; until one is given, the answer says the search is not configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..diagnosis import RunbookCitation
from . import blocks
from .messaging import Message

if TYPE_CHECKING:
    from knowledge import RunbookIndex

log = logging.getLogger(__name__)

RunbookSearch = Callable[[str], list[RunbookCitation]]
"""Runbooks matching a query, best first."""


class RunbookSearchFailed(Exception):
    """The knowledge base could not answer (its own error is the cause)."""


def knowledge_search(index: RunbookIndex, k: int = 5) -> RunbookSearch:
    """A `RunbookSearch` over the knowledge base's index: one citation per runbook."""
    from knowledge import KnowledgeError

    def search(query: str) -> list[RunbookCitation]:
        try:
            result = index.search(query, k=k)
        except KnowledgeError as e:
            raise RunbookSearchFailed(query) from e
        return [RunbookCitation(title=h.title, path=h.path, section=h.section, score=h.score)
                for h in result.hits]

    return search

NOT_CONFIGURED = ("Runbook search is not configured on this assistant yet, so I cannot look "
                  "up runbooks. Diagnoses still cite runbooks when the knowledge base has them.")


def runbook_answer(search: RunbookSearch | None, query: str, base_url: str | None = None
                   ) -> Message:
    if search is None:
        return blocks.notice(f":books: {NOT_CONFIGURED}")
    try:
        found = search(query)[:10]
    except RunbookSearchFailed:
        log.exception("runbook search failed for %r", query)
        return blocks.notice(":books: Runbook search failed on my side; it is logged.")
    if not found:
        return blocks.notice(f":books: No runbook matches `{blocks.escape(query)}`.")
    lines = [f":books: Runbooks for `{blocks.escape(query)}`:"] + [
        f"• {blocks.runbook_link(r, base_url)}" for r in found]
    return Message(text=lines[0], blocks=blocks.sections(lines))
