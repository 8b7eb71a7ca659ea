"""Hybrid retrieval over runbook sections: dense (Chroma) and lexical (BM25), fused by score.

    index = open_index(read_library([]), StoreLocation(Path("~/.local/state/x")), model_dir)
    result = index.search("ImagePullBackOff on the new tag", k=3, kinds=["Pod"])
    if not result.matched:        # nothing in the library is about this: say so, cite nothing
        print("no runbook matches", result.match)
    for hit in result.hits:       # one hit per runbook, its best section
        print(hit.path, hit.section, hit.score, hit.lexical, hit.dense)

Without an index or a model the same call searches lexically, and `result.notes` says why.
A local index is searched in its numpy copy when that is current (`knowledge.vectors`), so a
search does not start Chroma; otherwise in Chroma.
How scores are fused and when the search abstains: `knowledge.scoring`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .chunking import Chunk, chunks_of
from .embedding import MODEL_SHA256, Embedder, load_embedder, read_model
from .errors import BadQuery, ModelUnavailable
from .lexical import LexicalIndex, Postings, pair_share
from .runbooks import Library
from .scoring import (
    LEXICAL_WEIGHT,
    MATCH_THRESHOLD,
    Evidence,
    alert_words,
    asks_how_to,
    dense_gap,
    exact_names,
    lexical_gap,
    query_names,
    section_weight,
)
from .store import ChromaStore, StoreLocation, open_store
from .vectors import SectionCopy, read_copy

Mode = Literal["hybrid", "dense", "lexical"]
MAX_QUERY_CHARS = 2000
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
    score: float  # fused, 0..1: each side's score over the query's best on that side, weighted
    text: str
    categories: tuple[str, ...] = ()
    lexical: float = 0.0  # raw BM25 of the runbook's best section; 0: no word in common
    dense: float | None = None  # cosine similarity of its nearest section; None: not searched
    # or not among the nearest sections


@dataclass
class SearchResult:
    query: str
    mode: Mode
    hits: list[Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    match: float = 1.0  # how likely it is that some runbook answers the query, 0..1
    matched: bool = True  # False: "no runbook matches"; `hits` is empty, `nearest` has them
    nearest: list[Hit] = field(default_factory=list)  # the best candidates, matched or not
    evidence: Evidence | None = None


class RunbookIndex:
    """Searches runbook sections; dense only when an embedder and the vectors are present: in a
    store, or in a copy whose rows are `chunks`. `postings`: the chunks' kept BM25 table."""

    def __init__(self, chunks: Sequence[Chunk], *, store: ChromaStore | None = None,
                 embedder: Embedder | None = None, notes: Sequence[str] = (),
                 vectors: SectionCopy | None = None, postings: Postings | None = None) -> None:
        self._chunks = list(chunks)
        self._by_id = {c.id: c for c in self._chunks}
        self._position = {c.id: i for i, c in enumerate(self._chunks)}
        self._lexical = LexicalIndex(self._chunks, postings)
        self._weights = [section_weight(c.section) for c in self._chunks]
        self._names = {c.path: exact_names(c.reasons) for c in self._chunks}
        self._rows: dict[str, list[int]] = {}  # a runbook's chunks, in order
        for i, c in sorted(enumerate(self._chunks), key=lambda ic: ic[1].position):
            self._rows.setdefault(c.path, []).append(i)
        self._known = set().union(*self._names.values()) if self._names else set()
        self._store: ChromaStore | None = None
        self._vectors: SectionCopy | None = None
        self._embedder: Embedder | None = None
        if embedder is not None:
            self._searches_dense(embedder, store=store, vectors=vectors)
        self.notes = list(notes)

    def _searches_dense(self, embedder: Embedder, *, store: ChromaStore | None = None,
                        vectors: SectionCopy | None = None) -> None:
        """From now on, search densely too: in `vectors` (rows are this index's chunks) or
        `store`."""
        self._embedder = embedder
        self._store = store
        self._vectors = vectors

    def close(self) -> None:
        """Release the store's client; searching afterwards is lexical."""
        if self._store is not None:
            self._store.close()
            self._store = None
        self._vectors = None

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
        return "hybrid" if self._store is not None or self._vectors is not None else "lexical"

    def search(self, query: str, k: int = 5, *, categories: Sequence[str] = (),
               kinds: Sequence[str] = (), mode: Mode | None = None,
               abstain: bool = True) -> SearchResult:
        """The `k` best runbooks for `query` (best section each), within the filters.

        With `abstain` (the default), a query the library does not answer gets no hits and
        `matched` False; its best candidates stay in `nearest` with their raw scores. A search
        within `categories` never abstains: a runbook listing the category is about it.
        """
        text = " ".join(query.split())
        if not text:
            raise BadQuery("the query is empty; search e.g. \"ImagePullBackOff\"")
        result = SearchResult(query=text, mode=mode or self.mode, notes=list(self.notes))
        if len(text) > MAX_QUERY_CHARS:
            text = text[:MAX_QUERY_CHARS]
            result.notes.append(f"the query was cut to its first {MAX_QUERY_CHARS} characters")
        if result.mode != "lexical" and self.mode == "lexical":
            result.mode = "lexical"
        wanted_kinds = [_KIND_ALIASES.get(x.lower(), x.lower()) for x in kinds]
        expanded = f"{text} {alert_words(text, self._known)}".strip()
        admitted = [i for i, c in enumerate(self._chunks) if _admits(c, categories, wanted_kinds)]
        lexical = self._lexical.scores(expanded)
        dense: dict[int, float] = {}
        if result.mode != "lexical":
            try:
                dense = self._dense_scores(expanded, categories, wanted_kinds, admitted)
            except ModelUnavailable as e:
                result.notes.append(str(e))
                result.mode = "lexical"
        ranked, evidence = self._rank(admitted, lexical, dense, result.mode,
                                      query_names(text), self._lexical.rarity(expanded))
        if evidence is not None:
            evidence = replace(evidence, how_to=asks_how_to(text))
            if ranked:
                evidence = self._support(evidence, ranked[0].path, text, expanded, lexical,
                                         admitted)
        result.nearest = ranked[:k]
        result.evidence = evidence
        if evidence is not None and result.mode != "dense":
            result.match = round(evidence.match(), 4)
            result.matched = (result.match >= MATCH_THRESHOLD or not abstain
                              or bool(categories and ranked))
        result.hits = result.nearest if result.matched else []
        return result

    def _support(self, evidence: Evidence, path: str, text: str, expanded: str, lexical: Any,
                 admitted: Sequence[int]) -> Evidence:
        """`evidence` with how much of the query the runbook at `path` holds (`coverage`,
        `pairs`, `symptoms`: its Symptoms section, or its first without one)."""
        rows = self._rows[path]
        best = max((float(lexical[i]) for i in admitted), default=0.0)
        first = next((i for i in rows if self._chunks[i].section == "Symptoms"), rows[0])
        return replace(evidence, coverage=self._lexical.coverage(expanded, rows),
                       pairs=pair_share(text, (self._chunks[i].lexical_text for i in rows)),
                       symptoms=float(lexical[first]) / best if best > 0 else 0.0)

    def _dense_scores(self, text: str, categories: Sequence[str], kinds: Sequence[str],
                      admitted: Sequence[int]) -> dict[int, float]:
        """Cosine similarity of the nearest sections, by chunk position."""
        assert self._embedder is not None
        vector = self._embedder.embed([text])[0]
        if self._vectors is not None:
            return dict(self._vectors.nearest(vector, CANDIDATES, admitted))
        assert self._store is not None
        found = self._store.nearest(vector, CANDIDATES, _where(categories, kinds))
        return {self._position[chunk_id]: 1.0 - distance for chunk_id, distance in found
                if chunk_id in self._position}

    def _rank(self, admitted: list[int], lexical: Any, dense: dict[int, float], mode: Mode,
              names: set[str], rarity: float) -> tuple[list[Hit], Evidence | None]:
        """Runbooks by fused score; each cites its section with the best fused score."""
        allowed = set(admitted)
        lex = {i: float(lexical[i]) * self._weights[i] for i in admitted if lexical[i] > 0}
        den = {i: score * self._weights[i] for i, score in dense.items() if i in allowed}
        if mode == "lexical":
            den = {}
        if mode == "dense":
            lex = {}
        top_lex = max(lex.values(), default=0.0) or 1.0
        top_den = max(den.values(), default=0.0) or 1.0
        lex_weight = {"hybrid": LEXICAL_WEIGHT, "lexical": 1.0, "dense": 0.0}[mode]

        def fused(lexical_score: float, dense_score: float) -> float:
            return (lex_weight * lexical_score / top_lex
                    + (1 - lex_weight) * max(dense_score, 0.0) / top_den)

        best: dict[str, tuple[float, int]] = {}  # path -> (fused score, chunk) of its best section
        runbook_lex: dict[str, float] = {}  # weighted, for ranking
        runbook_den: dict[str, float] = {}
        raw_lex: dict[str, float] = {}  # raw, for people and the abstain rule
        raw_den: dict[str, float] = {}
        for i in lex.keys() | den.keys():
            path = self._chunks[i].path
            score = fused(lex.get(i, 0.0), den.get(i, 0.0))
            if path not in best or score > best[path][0]:
                best[path] = (score, i)
            if i in lex:
                runbook_lex[path] = max(runbook_lex.get(path, 0.0), lex[i])
                raw_lex[path] = max(raw_lex.get(path, 0.0), float(lexical[i]))
            if i in den:
                runbook_den[path] = max(runbook_den.get(path, -1.0), den[i])
                raw_den[path] = max(raw_den.get(path, -1.0), dense[i])
        scored = {path: fused(runbook_lex.get(path, 0.0), runbook_den.get(path, 0.0))
                  for path in best}
        hits = []
        for path in sorted(best, key=lambda p: (-scored[p], p)):
            chunk = self._chunks[best[path][1]]
            hits.append(Hit(path=path, title=chunk.title, section=chunk.section,
                            score=round(scored[path], 5), text=chunk.text,
                            categories=chunk.categories, lexical=round(raw_lex.get(path, 0.0), 4),
                            dense=round(raw_den[path], 4) if path in raw_den else None))
        if not hits:
            return hits, (Evidence(cosine=0.0 if mode != "lexical" else None,
                                   lexical_per_idf=0.0, lexical_gap=0.0, dense_gap=0.0,
                                   exact=False)
                          if mode != "dense" else None)
        top = hits[0]
        lex_best = sorted(raw_lex.values(), reverse=True)
        evidence = Evidence(
            cosine=(top.dense or 0.0) if mode != "lexical" else None,
            lexical_per_idf=(lex_best[0] / rarity) if lex_best and rarity else 0.0,
            lexical_gap=lexical_gap(lex_best),
            dense_gap=dense_gap(sorted(raw_den.values(), reverse=True)),
            exact=bool(names & self._names.get(top.path, set())))
        return hits, evidence


def open_index(library: Library, location: StoreLocation, model_dir: Path,
               model_sha256: str = MODEL_SHA256) -> RunbookIndex:
    """Hybrid over the stored index when it and the model exist; lexical otherwise, with a note.
    A local index is read from its numpy copy when that is current, without starting Chroma;
    the model loads meanwhile, on a thread of its own.

    Raises `StoreError` when the store exists but cannot be read (or a server does not answer).
    """
    if location.host is None and not (location.path / "chroma.sqlite3").is_file():
        return RunbookIndex(_library_chunks(library), notes=[NO_INDEX])
    with ThreadPoolExecutor(2, thread_name_prefix="embedding-model") as pool:
        read = pool.submit(read_model, model_dir, model_sha256)  # while numpy imports
        import numpy  # noqa: F401  # here, before the model's thread: two threads importing
        # it at once can each see it half-initialised ("cannot import name ... from partially
        # initialized module")
        model = pool.submit(load_embedder, model_dir, model_sha256, warm_up=False, read=read)
        copy = read_copy(location)
        if copy is not None:
            return _over(copy.chunks, library, model, vectors=copy)
        store = open_store(location, create=False)
        if store is None:
            return RunbookIndex(_library_chunks(library), notes=[NO_INDEX])
        kept = False
        try:
            index = _over(store.chunks(), library, model, store=store)
            kept = index.mode == "hybrid"
            return index
        finally:
            if not kept:
                store.close()


def _over(chunks: list[Chunk], library: Library, model: Future[Embedder], *,
          store: ChromaStore | None = None, vectors: SectionCopy | None = None) -> RunbookIndex:
    """The index over stored `chunks`, with a note when they are out of date with `library`;
    lexical (with a note) when nothing is stored or the model cannot be loaded."""
    if not chunks:
        return RunbookIndex(_library_chunks(library), notes=[NO_INDEX])
    notes: list[str] = []
    stale = _stale(library, chunks)
    if stale:
        notes.append(f"the runbook index is out of date for {stale} runbook(s); run "
                     f"`sre runbooks index`")
    index = RunbookIndex(chunks, notes=notes,  # the lexical side, read while the model loads
                         postings=vectors.postings if vectors is not None else None)
    try:
        embedder = model.result()
    except ModelUnavailable as e:
        index.notes.append(f"{e}; runbooks were searched lexically")
        return index
    index._searches_dense(embedder, store=store, vectors=vectors)
    return index


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
