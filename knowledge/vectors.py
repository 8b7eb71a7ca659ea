"""A numpy copy of the local index's sections and vectors, so a search need not start Chroma.

Starting Chroma costs half a second before the first query; the section vectors of a few
hundred runbooks are a small matrix. `sre runbooks index` writes that matrix, the sections and
their BM25 table (`knowledge.lexical.Postings`, so a search neither tokenizes the sections nor
imports bm25s) beside the local index (`sections.npz`), stamped with the collection's id and
Chroma's write sequence numbers. A search reads it when the stamp still holds and searches it
exactly (cosine over every admitted section, what Chroma's HNSW graph approximates);
when it is missing, stale or unreadable, the search opens Chroma as before. Chroma stays the
store of record: the copy is only ever rebuilt from it, and a server index has no copy.

    write_copy(location, store)                  # after indexing, from what Chroma holds
    copy = read_copy(location)                   # None: missing, stale or unreadable
    copy.nearest(query_vector, 50, admitted)     # [(position, cosine)], nearest first
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chunking import CHUNK_FORMAT, Chunk
from .lexical import TOKENS_FORMAT, Postings

if TYPE_CHECKING:
    import numpy as np

    from .store import ChromaStore, StoreLocation

FILE_NAME = "sections.npz"
FORMAT = 1


@dataclass(frozen=True)
class SectionCopy:
    """Chunks in the order of the rows of `vectors` (unit vectors, float32), and their BM25
    table when it was kept with the same tokens."""

    chunks: list[Chunk]
    vectors: np.ndarray
    postings: Postings | None = None

    def nearest(self, vector: Sequence[float], n: int,
                admitted: Sequence[int]) -> list[tuple[int, float]]:
        """The `n` admitted rows nearest to `vector`: (row, cosine similarity), nearest first."""
        import numpy as np

        if not admitted or n <= 0:
            return []
        rows = np.asarray(admitted, dtype=np.intp)
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        cosine = self.vectors[rows] @ query
        order = np.argsort(-cosine, kind="stable")[:n]
        return [(int(rows[i]), float(cosine[i])) for i in order]


def stamp(location: StoreLocation) -> dict[str, Any] | None:
    """What the copy must agree with: the collection's id and Chroma's write sequence numbers,
    read from its SQLite database without starting Chroma. Every upsert or delete raises them;
    a search does not (unlike the file's size and modification time: each time Chroma opens the
    database it writes a row). None when the database or the collection cannot be read."""
    import sqlite3

    database = location.path / "chroma.sqlite3"
    if not database.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
            found = db.execute("SELECT id FROM collections WHERE name = ?",
                               (location.collection,)).fetchall()
            if len(found) != 1:
                return None
            collection = str(found[0][0])
            applied = db.execute(
                "SELECT MAX(m.seq_id), COUNT(*) FROM max_seq_id m JOIN segments s "
                "ON s.id = m.segment_id WHERE s.collection = ?", (collection,)).fetchone()
            queued = db.execute("SELECT MAX(seq_id) FROM embeddings_queue").fetchone()
    except sqlite3.Error:
        return None
    return {"format": FORMAT, "chunk_format": CHUNK_FORMAT, "collection": collection,
            "applied": list(applied), "queued": queued[0]}


def write_copy(location: StoreLocation, store: ChromaStore) -> Path | None:
    """Write the copy of a local index from `store`; call it after the store is written and
    closed, with a fresh store. Returns the file, or None for a server index (no copy)."""
    import numpy as np

    if location.host is not None:
        return None
    stored, vectors = store.records()
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(stored), -1)
    records = [{"id": i, "document": d, "metadata": m} for i, d, m in stored]
    current = stamp(location)
    if current is None:  # a Chroma whose tables read differently: searches open Chroma
        remove_copy(location)
        return None
    postings = Postings.build([Chunk.from_record(i, d, m) for i, d, m in stored])
    words = sorted(postings.vocab, key=postings.vocab.__getitem__)
    header = json.dumps({"stamp": current, "records": records,
                         "lexical": {"format": TOKENS_FORMAT, "words": words}}).encode()
    target = location.path / FILE_NAME
    with tempfile.NamedTemporaryFile(dir=location.path, prefix=".sections-", suffix=".npz",
                                     delete=False) as stream:
        try:
            np.savez(stream, vectors=matrix, header=np.frombuffer(header, dtype=np.uint8),
                     lexical_scores=postings.scores, lexical_sections=postings.sections,
                     lexical_start=postings.start)
        except BaseException:
            Path(stream.name).unlink(missing_ok=True)
            raise
    os.replace(stream.name, target)
    return target


def read_copy(location: StoreLocation) -> SectionCopy | None:
    """The copy, when it exists and agrees with Chroma's files; None otherwise."""
    if location.host is not None:
        return None
    path = location.path / FILE_NAME
    if not path.is_file():
        return None
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(data["header"].tobytes())
            current = stamp(location)
            if current is None or header.get("stamp") != current:
                return None
            vectors = np.ascontiguousarray(data["vectors"], dtype=np.float32)
            postings = _postings(header.get("lexical"), data)
        chunks = [Chunk.from_record(r["id"], r["document"], r["metadata"])
                  for r in header["records"]]
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None  # unreadable: Chroma answers instead
    if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
        return None
    return SectionCopy(chunks, vectors, postings)


def _postings(lexical: Any, data: Any) -> Postings | None:
    """The kept BM25 table; None when the copy has none or one made with other tokens (the
    search then builds it from the sections)."""
    if not isinstance(lexical, dict) or lexical.get("format") != TOKENS_FORMAT:
        return None
    words = lexical["words"]
    start = data["lexical_start"]
    if len(start) != len(words) + 1:
        return None
    return Postings({word: n for n, word in enumerate(words)}, data["lexical_scores"],
                    data["lexical_sections"], start)


def remove_copy(location: StoreLocation) -> None:
    (location.path / FILE_NAME).unlink(missing_ok=True)
