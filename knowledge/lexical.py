"""Lexical retrieval: BM25 (bm25s) over runbook sections, so exact strings always count.

Tokens keep what people paste: `x509`, `137`, `ImagePullBackOff` (also split into `image`,
`pull`, `back`, `off`), `ErrImagePull`, `nvidia.com/gpu` (as `nvidia`, `com`, `gpu`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .chunking import Chunk

if TYPE_CHECKING:
    import numpy as np

_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOP = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its my of on or our "
    "so that the their then there these this to was we were what when where which while who why "
    "will with you your does do did can not no".split())


def tokens(text: str) -> list[str]:
    """Lower-case words without stop words; camel-case words also give their parts."""
    out: list[str] = []
    for word in _WORD.findall(text):
        lower = word.lower()
        if lower in _STOP:
            continue
        out.append(lower)
        parts = _CAMEL.findall(word)
        if len(parts) > 1:
            out.extend(p.lower() for p in parts if p.lower() not in _STOP)
    return out


class LexicalIndex:
    """BM25 scores for every chunk; an empty query scores nothing."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import bm25s

        self.chunks = list(chunks)
        self._bm25 = bm25s.BM25()
        corpus = [tokens(chunk.lexical_text) or ["\u2205"] for chunk in self.chunks]
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        import numpy as np

        words = tokens(query)
        if not self.chunks or not words:
            return np.zeros(len(self.chunks))
        return np.asarray(self._bm25.get_scores(words), dtype=float)
