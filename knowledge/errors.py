"""What can go wrong in the knowledge base, as one exception tree.

    KnowledgeError                 every expected failure; its message is a sentence for a human
    ├── BadQuery                   the query is empty (or otherwise unusable)
    ├── SourceMissing              a runbooks directory does not exist or is not a directory
    ├── ModelUnavailable           the embedding model is missing or fails its sha256 check;
    │                              callers turn it into a note and search lexically
    └── StoreError                 the Chroma store cannot be used
        ├── StoreUnreachable       a Chroma server does not answer (retryable)
        └── IndexUnreadable        the local index is corrupted (permanent: rebuild it)

Foreign errors (chromadb's, onnxruntime's, OSError) are wrapped at the boundary with
`raise ... from e`.
"""

from __future__ import annotations

REBUILD_HINT = "rebuild it with `sre runbooks index --rebuild`"


class KnowledgeError(Exception):
    """An expected failure of the knowledge base; `str()` is a sentence a human can act on."""


class BadQuery(KnowledgeError):
    """The query cannot be searched (empty, or nothing but whitespace)."""


class SourceMissing(KnowledgeError):
    """A configured runbooks directory does not exist."""


class ModelUnavailable(KnowledgeError):
    """The embedding model cannot be loaded; retrieval falls back to lexical search."""


class StoreError(KnowledgeError):
    """The Chroma store cannot be used."""


class StoreUnreachable(StoreError):
    """A Chroma server does not answer; trying again later may work."""


class IndexUnreadable(StoreError):
    """The local index is corrupted or from an incompatible version; it must be rebuilt."""
