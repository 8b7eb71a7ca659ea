"""The Chroma store of runbook chunks: embedded (`PersistentClient`) or a server (`HttpClient`).

Indexing is incremental by content hash: a file whose sha256 (and embedding model) is unchanged
is not re-embedded, a changed file's chunks are replaced, a deleted file's chunks leave.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .chunking import CHUNK_FORMAT, Chunk, chunks_of
from .errors import REBUILD_HINT, IndexUnreadable, StoreError, StoreUnreachable
from .runbooks import Runbook

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from .embedding import Embedder

T = TypeVar("T")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class StoreLocation:
    """Where the index lives: a local directory, or a Chroma server when `host` is set."""

    path: Path
    host: str | None = None
    port: int = 8000
    collection: str = "runbooks"

    def describe(self) -> str:
        return f"Chroma server {self.host}:{self.port}" if self.host else f"{self.path}"


@dataclass
class IndexReport:
    """What one indexing run did, by runbook path; `embedded` counts chunks embedded."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded: int = 0
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)


class ChromaStore:
    def __init__(self, location: StoreLocation, client: ClientAPI) -> None:
        self.location = location
        self._client = client
        self._collection: Collection = self._call(lambda: client.get_or_create_collection(
            location.collection, embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}}))

    def count(self) -> int:
        return self._call(self._collection.count)

    def close(self) -> None:
        """Release the client (its HTTP connections, or its share of the local database)."""
        # HttpClient.close() leaves its (and its admin client's) httpx connections open
        # (chroma-core/chroma#4296); a later client starts a new system with new sessions.
        for owner in (self._client, getattr(self._client, "_admin_client", None)):
            session = getattr(getattr(owner, "_server", None), "_session", None)
            if session is not None:
                session.close()
        closer = getattr(self._client, "close", None)  # Client has it; ClientAPI does not say
        if closer is not None:
            closer()

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, for lexical search over exactly what is indexed."""
        got = self._call(lambda: self._collection.get(include=["documents", "metadatas"]))
        documents, metas = got["documents"] or [], got["metadatas"] or []
        return [Chunk.from_record(i, d, m) for i, d, m in zip(got["ids"], documents, metas,
                                                              strict=True)]

    def records(self) -> tuple[list[tuple[str, str, dict[str, Any]]], Any]:
        """Every stored chunk as Chroma holds it, (id, document, metadata), and the vectors in
        the same order (a sequence of sequences of floats)."""
        got = self._call(lambda: self._collection.get(
            include=["documents", "metadatas", "embeddings"]))
        documents, metas = got["documents"] or [], got["metadatas"] or []
        rows = [(i, d, dict(m)) for i, d, m in zip(got["ids"], documents, metas, strict=True)]
        return rows, got["embeddings"] if got["embeddings"] is not None else []

    def nearest(self, vector: Sequence[float], n: int,
                where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """(chunk id, cosine distance), nearest first."""
        size = self.count()
        if size == 0:
            return []
        found = self._call(lambda: self._collection.query(
            query_embeddings=[list(vector)],  # type: ignore[arg-type]
            n_results=min(n, size), where=where,
            include=["distances"]))
        distances = (found["distances"] or [[]])[0]
        return list(zip(found["ids"][0], (float(d) for d in distances), strict=True))

    def sync(self, runbooks: Sequence[Runbook], embedder: Embedder) -> IndexReport:
        """Make the store hold exactly `runbooks`, embedding only what changed."""
        report = IndexReport()
        stored: dict[str, tuple[set[str], set[tuple[str, str]]]] = {}
        got = self._call(lambda: self._collection.get(include=["metadatas"]))
        for chunk_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            ids, versions = stored.setdefault(str(meta["path"]), (set(), set()))
            ids.add(chunk_id)
            versions.add((str(meta.get("digest")), str(meta.get("model"))))
        before = embedder.computed
        for runbook in runbooks:
            chunks = chunks_of(runbook)
            report.chunks += len(chunks)
            old_ids, versions = stored.pop(runbook.path, (set(), set()))
            new_ids = {c.id for c in chunks}
            if versions == {(runbook.digest, _stamp(embedder))} and old_ids == new_ids:
                report.unchanged.append(runbook.path)
                continue
            (report.updated if old_ids else report.added).append(runbook.path)
            self._delete(old_ids - new_ids)
            if chunks:
                self._upsert(chunks, embedder)
        for path, (ids, _) in sorted(stored.items()):
            self._delete(ids)
            report.removed.append(path)
        report.embedded = embedder.computed - before
        return report

    def _delete(self, ids: set[str]) -> None:
        if ids:
            self._call(lambda: self._collection.delete(ids=sorted(ids)))

    def _upsert(self, chunks: list[Chunk], embedder: Embedder) -> None:
        vectors = embedder.embed([c.dense_text for c in chunks])
        self._call(lambda: self._collection.upsert(
            ids=[c.id for c in chunks], embeddings=vectors,  # type: ignore[arg-type]
            documents=[c.text for c in chunks],
            metadatas=[c.metadata(_stamp(embedder)) for c in chunks]))

    def _call(self, call: Callable[[], T]) -> T:
        return _guarded(self.location, call)


def _stamp(embedder: Embedder) -> str:
    """What a stored vector depends on besides the file: the model and the chunk format."""
    return f"{embedder.model_id}+{CHUNK_FORMAT}"


def open_store(location: StoreLocation, *, create: bool = True) -> ChromaStore | None:
    """The store; None when it is a local one that was never built and `create` is False."""
    if location.host is None and not create and not (location.path / "chroma.sqlite3").exists():
        return None
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings
    from chromadb.errors import ChromaError

    settings = Settings(anonymized_telemetry=False, allow_reset=False)

    def connect() -> ClientAPI:
        if location.host:
            return chromadb.HttpClient(host=location.host, port=location.port, settings=settings)
        location.path.mkdir(parents=True, exist_ok=True)
        try:
            return chromadb.PersistentClient(path=str(location.path), settings=settings)
        except (ChromaError, ValueError):
            # Chroma caches the half-started system per path: the next try must start afresh.
            SharedSystemClient.clear_system_cache()
            raise

    return ChromaStore(location, _guarded(location, connect, connecting=True))


def remove_local(location: StoreLocation) -> None:
    """Delete a local index directory, or a server's collection (`--rebuild`)."""
    if location.host is None:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        _remove_chroma_files(location.path)
        return
    store = open_store(location)
    assert store is not None
    try:
        _guarded(location, lambda: store._client.delete_collection(location.collection))
    finally:
        store.close()


def _remove_chroma_files(directory: Path) -> None:
    """Chroma's database and segment directories only: INDEX_DIR may hold other files."""
    if not directory.is_dir():
        return
    for child in directory.iterdir():
        if child.name.startswith("chroma.sqlite3"):
            child.unlink()
        elif child.is_dir() and _UUID.fullmatch(child.name):
            shutil.rmtree(child)


def _guarded(location: StoreLocation, call: Callable[[], T], *, connecting: bool = False) -> T:
    """Runs a Chroma call, turning its failures into our errors with a sentence to act on."""
    import httpx
    from chromadb.errors import ChromaError

    # Chroma reports a failed connection or tenant lookup as a plain ValueError.
    failures: tuple[type[Exception], ...] = (ChromaError, OSError)
    if connecting:
        failures += (ValueError,)
    try:
        return call()
    except (httpx.HTTPError, ConnectionError) as e:
        raise StoreUnreachable(f"{location.describe()} does not answer; is it running?") from e
    except failures as e:
        if location.host:
            if "connect" in str(e).lower():
                raise StoreUnreachable(f"{location.describe()} does not answer; is it "
                                       f"running?") from e
            raise StoreError(f"{location.describe()} refused the request "
                             f"({type(e).__name__}); {REBUILD_HINT}") from e
        raise IndexUnreadable(f"the runbook index in {location.path} is unreadable "
                              f"({type(e).__name__}); {REBUILD_HINT}") from e
