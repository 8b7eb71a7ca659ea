"""Team knowledge as data: runbooks, log signatures, failure categories; and their search."""

from .signatures import Signature, SignatureMatch, best_match, match_line, signatures

__all__ = ["Signature", "SignatureMatch", "best_match", "match_line", "signatures"]
