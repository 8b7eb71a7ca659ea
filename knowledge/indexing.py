"""Building the index: the runbooks of a library, embedded into the Chroma store, and for a
local index its numpy copy (`knowledge.vectors`), which searches read without starting Chroma."""

from __future__ import annotations

from pathlib import Path

from .embedding import MODEL_SHA256, Embedder, load_embedder
from .runbooks import Library
from .store import IndexReport, StoreLocation, open_store, remove_local
from .vectors import remove_copy, write_copy


def index_runbooks(library: Library, location: StoreLocation, model_dir: Path,
                   model_sha256: str = MODEL_SHA256, *, rebuild: bool = False,
                   embedder: Embedder | None = None) -> IndexReport:
    """Bring the store in line with `library`; only new or changed runbooks are embedded.

    `rebuild` first deletes the local index directory (or the server's collection): the way out
    of a corrupted index. Raises `ModelUnavailable` (nothing is written) and `StoreError`.
    """
    model = embedder or load_embedder(model_dir, model_sha256)
    if location.host is None:
        remove_copy(location)  # until the store is written: a failed run leaves no stale copy
    if rebuild:
        remove_local(location)
    store = open_store(location)
    assert store is not None
    try:
        report = store.sync(library.runbooks, model)
        write_copy(location, store)
    finally:
        store.close()
    report.warnings = list(library.warnings)
    return report
