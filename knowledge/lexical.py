"""Lexical retrieval: BM25 over runbook sections, so exact strings always count.

Tokens keep what people paste: `x509`, `137`, `ImagePullBackOff` (also split into `image`,
`pull`, `back`, `off`), `ErrImagePull`, `nvidia.com/gpu` (as `nvidia`, `com`, `gpu`).

The index is built by bm25s (Lucene's BM25) into its eager table: one score per word and
section, in compressed sparse columns (`Postings`). A query's scores are sums of its words'
columns, read here with numpy alone, so a table kept beside the index (`knowledge.vectors`)
searches without importing bm25s or tokenizing the sections again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .chunking import Chunk

if TYPE_CHECKING:
    import numpy as np

TOKENS_FORMAT = 1
"""Raise when `tokens` changes: kept tables of an older format are rebuilt, not read."""

_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOP = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its my of on or our "
    "so that the their then there these this to was we were what when where which while who why "
    "will with you your does do did can not no".split())
_EMPTY = "\u2205"  # the one word of a section that has none, so every section is a row


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


@dataclass(frozen=True)
class Postings:
    """BM25 scores of every (word, section) pair where the word occurs: column `vocab[w]` of a
    sparse matrix, its sections `sections[start[w]:start[w + 1]]` and their scores `scores[...]`
    (the layout of bm25s's eager index)."""

    vocab: Mapping[str, int]
    scores: np.ndarray  # float32
    sections: np.ndarray  # int
    start: np.ndarray  # int, len(vocab) + 1

    @classmethod
    def build(cls, chunks: Sequence[Chunk]) -> Postings:
        import bm25s
        import numpy as np

        corpus = [tokens(chunk.lexical_text) or [_EMPTY] for chunk in chunks]
        if not corpus:
            return cls({}, np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(1, np.int32))
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        table = bm25.scores
        columns = len(table["indptr"]) - 1  # bm25s names one more word, "", with no column
        vocab = {word: n for word, n in bm25.vocab_dict.items() if n < columns}
        return cls(vocab, np.asarray(table["data"], np.float32), np.asarray(table["indices"]),
                   np.asarray(table["indptr"]))


class LexicalIndex:
    """BM25 scores for every chunk; an empty query scores nothing. `postings` are the chunks'
    table when it is kept (`Postings.build(chunks)` otherwise)."""

    def __init__(self, chunks: Sequence[Chunk], postings: Postings | None = None) -> None:
        self.chunks = list(chunks)
        self.postings = postings if postings is not None else Postings.build(self.chunks)

    def _df(self, word: str) -> int:
        column = self.postings.vocab.get(word)
        if column is None:
            return 0
        return int(self.postings.start[column + 1] - self.postings.start[column])

    def rarity(self, query: str) -> float:
        """The summed idf of the query's distinct words: what a section holding all of them
        would score, roughly. A word no section has counts as the rarest (it is what the library
        does not know about), except numbers and ids with digits, which are mostly noise."""
        n = len(self.chunks)
        total = 0.0
        for word in set(tokens(query)):
            df = self._df(word)
            if df == 0 and any(ch.isdigit() for ch in word):
                continue
            total += math.log(1 + (n - df + 0.5) / (df + 0.5))
        return total

    def coverage(self, query: str, rows: Sequence[int]) -> float:
        """The share of the query's rarity (`rarity`) held by the words that occur in one of
        `rows`: near 1 when a runbook holds what is rare in the question, low when the question's
        subject (say `istio`) is a word that runbook never uses."""
        n = len(self.chunks)
        wanted = set(rows)
        total = held = 0.0
        for word in set(tokens(query)):
            df = self._df(word)
            if df == 0 and any(ch.isdigit() for ch in word):
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total += idf
            column = self.postings.vocab.get(word)
            if column is not None:
                start, end = int(self.postings.start[column]), int(self.postings.start[column + 1])
                if wanted.intersection(self.postings.sections[start:end].tolist()):
                    held += idf
        return held / total if total else 0.0

    def scores(self, query: str) -> np.ndarray:
        """Every chunk's BM25 score for `query` (a repeated word counts each time)."""
        import numpy as np

        table = self.postings
        scores = np.zeros(len(self.chunks), dtype=np.float32)  # bm25s's sums, to the bit
        for word in tokens(query):
            column = table.vocab.get(word)
            if column is not None:
                span = slice(int(table.start[column]), int(table.start[column + 1]))
                np.add.at(scores, table.sections[span], table.scores[span])
        return scores.astype(float)


def pair_share(query: str, texts: Iterable[str]) -> float:
    """The share of the query's adjacent word pairs (`tokens`) that one of `texts` has adjacent
    too: high for a pasted error line a runbook quotes, low for words it holds only apart."""
    wanted = _pairs(tokens(query))
    if not wanted:
        return 0.0
    found: set[tuple[str, str]] = set()
    for text in texts:
        found |= wanted & _pairs(tokens(text))
    return len(found) / len(wanted)


def _pairs(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:], strict=False))
