"""Runbooks for a diagnosis: the sections that best match its root cause.

    index = open_runbooks(settings)               # a knowledge.RunbookIndex; close it when done
    citations = recall(diagnosis, index)
    agent = Agent(settings, cluster, recall=Recaller(settings))   # opens the index when needed

The root cause's category counts most: only runbooks whose front matter lists it
(`applies_to.categories`) are cited, ranked by how well their sections match; when no runbook
lists it, runbooks close by text are cited only when the search says they match (it abstains on
what the library does not cover): a wrong runbook beside a right root cause costs trust.
The query is the category's description, the root object's kind and the engine's explanation.
A citation names the runbook's Remediate section when it has one: the root cause is known
already, what applies is what to do about it.
"""

from __future__ import annotations

import threading

from knowledge import KnowledgeError, RunbookIndex, lexical_index, open_index, read_library
from knowledge.runbooks import categories
from tools.refs import ObjectRef

from .diagnosis import Diagnosis, RunbookCitation
from .runbooks import location_of
from .settings import Settings

_ACT = "Remediate"  # the section a diagnosis cites when the runbook has one


def recall(diagnosis: Diagnosis, index: RunbookIndex, k: int = 3) -> list[RunbookCitation]:
    """Up to `k` runbook sections for `diagnosis`'s root cause; none when it has no root cause.

    Never raises for a usable index: a missing model or index already made it lexical.
    """
    cause = diagnosis.root_cause
    if cause is None:
        return []
    kind = ObjectRef.parse(cause.object).kind
    query = " ".join((categories().get(cause.category, cause.category.replace("_", " ")),
                      kind, cause.explanation))
    # A runbook listing the category matches by definition: no threshold for those.
    hits = index.search(query, k, categories=[cause.category], abstain=False).hits
    if not hits:  # no runbook names this category: close ones by text, when they match
        hits = index.search(query, k).hits
    # The root cause is known already: what applies is what to do, not how it shows.
    return [RunbookCitation(title=hit.title, path=hit.path, score=hit.score,
                            section=_ACT if _ACT in index.sections(hit.path) else hit.section)
            for hit in hits[:k]]


def open_runbooks(settings: Settings) -> RunbookIndex:
    """The runbook index for `settings`, for one answer or a long-lived process (Slack).

    Hybrid when the index is built and the model loads; lexical over the files otherwise, with
    `index.notes` saying why. Never raises: a missing runbooks directory leaves it empty.
    Close it when done (`with open_runbooks(settings) as index: ...`).
    """
    try:
        library = read_library(settings.knowledge.runbooks_dirs,
                               bundled=settings.knowledge.bundled)
    except KnowledgeError as e:
        return RunbookIndex([], notes=[str(e)])
    try:
        return open_index(library, location_of(settings), settings.knowledge.model_dir,
                          settings.knowledge.model_sha256)
    except KnowledgeError as e:  # an unreadable index, a Chroma server that does not answer
        return lexical_index(library, [f"{e}; runbooks were searched lexically"])


class Recaller:
    """`recall` over the configured index, opened on first use (a healthy answer needs none)
    and kept for the process; what fell back to lexical search is collected in `notes`.

        with Recaller(settings) as recaller:
            agent = Agent(settings, cluster, recall=recaller)
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.notes: list[str] = []
        self._index: RunbookIndex | None = None
        self._opening = threading.Lock()  # Slack answers from several worker threads

    def index(self) -> RunbookIndex:
        """The index, opened on first use; `/sre runbook` searches this same one."""
        with self._opening:
            if self._index is None:
                self._index = open_runbooks(self.settings)
                self.notes += self._index.notes
            return self._index

    def __call__(self, diagnosis: Diagnosis) -> list[RunbookCitation]:
        if diagnosis.root_cause is None:
            return []
        self.index()
        assert self._index is not None
        try:
            return recall(diagnosis, self._index)
        except KnowledgeError as e:  # the server stopped answering between open and search
            self._index.close()
            self._index = lexical_index(read_library(self.settings.knowledge.runbooks_dirs,
                                                     bundled=self.settings.knowledge.bundled))
            self.notes.append(f"{e}; runbooks were searched lexically")
            return recall(diagnosis, self._index)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    def __enter__(self) -> Recaller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
