"""Lexical retrieval: BM25 (bm25s) over runbook sections, so exact strings always count.

Tokens keep what people paste: `x509`, `137`, `ImagePullBackOff` (also split into `image`,
`pull`, `back`, `off`), `ErrImagePull`, `nvidia.com/gpu` (as `nvidia`, `com`, `gpu`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
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
        self._df = Counter(word for words in corpus for word in set(words))
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def rarity(self, query: str) -> float:
        """The summed idf of the query's distinct words: what a section holding all of them
        would score, roughly. A word no section has counts as the rarest (it is what the library
        does not know about), except numbers and ids with digits, which are mostly noise."""
        n = len(self.chunks)
        total = 0.0
        for word in set(tokens(query)):
            df = self._df.get(word, 0)
            if df == 0 and any(ch.isdigit() for ch in word):
                continue
            total += math.log(1 + (n - df + 0.5) / (df + 0.5))
        return total

    def scores(self, query: str) -> np.ndarray:
        import numpy as np

        words = tokens(query)
        if not self.chunks or not words:
            return np.zeros(len(self.chunks))
        return np.asarray(self._bm25.get_scores(words), dtype=float)
