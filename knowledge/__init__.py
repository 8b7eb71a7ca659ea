"""Team knowledge as data: runbooks, log signatures, failure categories; and their search.

    library = read_library([Path("/etc/runbooks")])          # bundled runbooks + a team's own
    report = index_runbooks(library, location, model_dir)   # incremental, by content hash
    result = open_index(library, location, model_dir).search("x509 unknown authority", k=3)
"""

from .errors import (
    BadQuery,
    IndexUnreadable,
    KnowledgeError,
    ModelUnavailable,
    SourceMissing,
    StoreError,
    StoreUnreachable,
)
from .indexing import index_runbooks
from .provisioning import DEFAULT_MODEL_DIR
from .remedies import RemedyStep, remedies
from .retrieval import Hit, Mode, RunbookIndex, SearchResult, lexical_index, open_index
from .runbooks import Library, Runbook, read_library
from .signatures import Signature, SignatureMatch, best_match, match_line, seconding, signatures
from .store import IndexReport, StoreLocation

__all__ = [
    "DEFAULT_MODEL_DIR", "BadQuery", "Hit", "IndexReport", "IndexUnreadable", "KnowledgeError",
    "Library", "Mode", "ModelUnavailable", "RemedyStep", "Runbook", "RunbookIndex", "SearchResult",
    "Signature", "SignatureMatch", "SourceMissing", "StoreError", "StoreLocation",
    "StoreUnreachable", "best_match", "index_runbooks", "lexical_index", "match_line", "seconding",
    "open_index", "read_library", "remedies", "signatures",
]
