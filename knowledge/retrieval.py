"""Hybrid retrieval over runbook sections: dense (Chroma) and lexical (BM25), fused with RRF.

    index = open_index(read_library([]), StoreLocation(Path("~/.local/state/x")), model_dir)
    result = index.search("ImagePullBackOff on the new tag", k=3, kinds=["Pod"])
    for hit in result.hits:   # one hit per runbook, its best section
        print(hit.path, hit.section, hit.score)

Without an index or a model the same call searches lexically, and `result.notes` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .chunking import Chunk, chunks_of
from .embedding import MODEL_SHA256, Embedder, load_embedder
from .errors import BadQuery, ModelUnavailable
from .lexical import LexicalIndex
from .runbooks import Library
from .store import ChromaStore, StoreLocation, open_store

Mode = Literal["hybrid", "dense", "lexical"]
MAX_QUERY_CHARS = 2000
RRF_K = 60
CANDIDATES = 50
NO_INDEX = ("no runbook index yet, so runbooks were searched lexically (build it with "
            "`sre runbooks index`)")
_KIND_ALIASES = {"deploy": "deployment", "sts": "statefulset", "ds": "daemonset",
                 "svc": "service", "pvc": "persistentvolumeclaim", "po": "pod",
                 "cj": "cronjob", "hpa": "horizontalpodautoscaler", "no": "node"}


@dataclass(frozen=True)
class Hit:
    """A runbook section that answers the query: the citation is `path` and `section`."""

    path: str
    title: str
    section: str
    score: float  # fused RRF score; higher is better
    text: str
    categories: tuple[str, ...] = ()


@dataclass
class SearchResult:
    query: str
    mode: Mode
    hits: list[Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class RunbookIndex:
    """Searches runbook sections; dense only when both a store and an embedder are present."""

    def __init__(self, chunks: Sequence[Chunk], *, store: ChromaStore | None = None,
                 embedder: Embedder | None = None, notes: Sequence[str] = ()) -> None:
        self._chunks = list(chunks)
        self._by_id = {c.id: c for c in self._chunks}
        self._lexical = LexicalIndex(self._chunks)
        self._store = store if embedder is not None else None
        self._embedder = embedder
        self.notes = list(notes)

    def close(self) -> None:
        """Release the store's client; searching afterwards is lexical."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def sections(self, path: str) -> list[str]:
        """The section titles of the runbook at `path`, in order."""
        return [c.section for c in sorted((c for c in self._chunks if c.path == path),
                                          key=lambda c: c.position)]

    def __enter__(self) -> RunbookIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def mode(self) -> Mode:
        return "hybrid" if self._store is not None else "lexical"

    def search(self, query: str, k: int = 5, *, categories: Sequence[str] = (),
               kinds: Sequence[str] = (), mode: Mode | None = None) -> SearchResult:
        """The `k` best runbooks for `query` (best section each), within the filters."""
        text = " ".join(query.split())
        if not text:
            raise BadQuery("the query is empty; search e.g. \"ImagePullBackOff\"")
        result = SearchResult(query=text, mode=mode or self.mode, notes=list(self.notes))
        if len(text) > MAX_QUERY_CHARS:
            text = text[:MAX_QUERY_CHARS]
            result.notes.append(f"the query was cut to its first {MAX_QUERY_CHARS} characters")
        if result.mode != "lexical" and self._store is None:
            result.mode = "lexical"
        wanted_kinds = [_KIND_ALIASES.get(x.lower(), x.lower()) for x in kinds]
        rankings: list[list[str]] = []
        if result.mode in ("hybrid", "lexical"):
            rankings.append(self._lexical_ranking(text, categories, wanted_kinds))
        if result.mode in ("hybrid", "dense"):
            rankings.append(self._dense_ranking(text, categories, wanted_kinds))
        result.hits = self._fuse(rankings, k)
        return result

    def _lexical_ranking(self, text: str, categories: Sequence[str],
                         kinds: Sequence[str]) -> list[str]:
        scores = self._lexical.scores(text)
        order = sorted(range(len(self._chunks)), key=lambda i: -scores[i])
        return [self._chunks[i].id for i in order
                if scores[i] > 0 and _admits(self._chunks[i], categories, kinds)][:CANDIDATES]

    def _dense_ranking(self, text: str, categories: Sequence[str],
                       kinds: Sequence[str]) -> list[str]:
        assert self._store is not None and self._embedder is not None
        vector = self._embedder.embed([text])[0]
        found = self._store.nearest(vector, CANDIDATES, _where(categories, kinds))
        return [chunk_id for chunk_id, _ in found if chunk_id in self._by_id]

    def _fuse(self, rankings: list[list[str]], k: int) -> list[Hit]:
        """Reciprocal rank fusion over runbooks (each ranked by its best section per list);
        the cited section is the one with the best fused rank within the runbook."""
        runbook_scores: dict[str, float] = {}
        section_scores: dict[str, float] = {}
        for ranking in rankings:
            seen: list[str] = []
            for rank, chunk_id in enumerate(ranking, start=1):
                section_scores[chunk_id] = section_scores.get(chunk_id, 0.0) + 1 / (RRF_K + rank)
                path = self._by_id[chunk_id].path
                if path not in seen:
                    seen.append(path)
            for rank, path in enumerate(seen, start=1):
                runbook_scores[path] = runbook_scores.get(path, 0.0) + 1 / (RRF_K + rank)
        best: dict[str, Chunk] = {}
        for chunk_id, score in section_scores.items():
            chunk = self._by_id[chunk_id]
            if chunk.path not in best or score > section_scores[best[chunk.path].id]:
                best[chunk.path] = chunk
        ranked = sorted(runbook_scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
        return [Hit(path=path, title=best[path].title, section=best[path].section,
                    score=round(score, 5), text=best[path].text,
                    categories=best[path].categories) for path, score in ranked]


def open_index(library: Library, location: StoreLocation, model_dir: Path,
               model_sha256: str = MODEL_SHA256) -> RunbookIndex:
    """Hybrid over the stored index when it and the model exist; lexical otherwise, with a note.

    Raises `StoreError` when the store exists but cannot be read (or a server does not answer).
    """
    store = open_store(location, create=False)
    if store is None:
        return RunbookIndex(_library_chunks(library), notes=[NO_INDEX])
    kept = False
    try:
        chunks = store.chunks()
        if not chunks:
            return RunbookIndex(_library_chunks(library), notes=[NO_INDEX])
        notes: list[str] = []
        stale = _stale(library, chunks)
        if stale:
            notes.append(f"the runbook index is out of date for {stale} runbook(s); run "
                         f"`sre runbooks index`")
        try:
            embedder = load_embedder(model_dir, model_sha256)
        except ModelUnavailable as e:
            return RunbookIndex(chunks, notes=[*notes, f"{e}; runbooks were searched lexically"])
        kept = True
        return RunbookIndex(chunks, store=store, embedder=embedder, notes=notes)
    finally:
        if not kept:
            store.close()


def lexical_index(library: Library, notes: Sequence[str] = ()) -> RunbookIndex:
    """A lexical-only index straight from the files: instant, needs no store and no model."""
    return RunbookIndex(_library_chunks(library), notes=notes)


def _library_chunks(library: Library) -> list[Chunk]:
    return [chunk for runbook in library.runbooks for chunk in chunks_of(runbook)]


def _stale(library: Library, chunks: Sequence[Chunk]) -> int:
    stored = {c.path: c.digest for c in chunks}
    current = {r.path: r.digest for r in library.runbooks}
    changed = {p for p, d in current.items() if stored.get(p) != d}
    return len(changed | (stored.keys() - current.keys()))


def _admits(chunk: Chunk, categories: Sequence[str], kinds: Sequence[str]) -> bool:
    if categories and not set(categories) & set(chunk.categories):
        return False
    return not kinds or bool(set(kinds) & {k.lower() for k in chunk.kinds})


def _where(categories: Sequence[str], kinds: Sequence[str]) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    for key, values in (("categories", categories), ("kinds", kinds)):
        options = [{key: {"$contains": v}} for v in values]
        if len(options) == 1:
            clauses.append(options[0])
        elif options:
            clauses.append({"$or": options})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
