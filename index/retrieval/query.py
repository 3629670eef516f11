"""Queries of any length: a query longer than the model reads is cut into pieces the model reads whole (as
documents are), and its keyword side keeps only its most informative terms.

* **Dense side.** A query within the model's token budget is one piece. A longer one is cut into windows of
  at most that many tokens, at token boundaries, in order. How the pieces become one search is
  :data:`LongQuery`: the first window alone, the mean of the pieces' embeddings, or a search per piece with a
  chunk scored by its best piece (max-similarity). Measured choices and the default are in docs/retrieval.md.
* **Keyword side.** BM25 over a paragraph-long query costs one posting list per distinct term; above
  :data:`MAX_QUERY_TERMS` terms the query keeps those rarest in the corpus (highest IDF), in their order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from index.encoders.base import Embedder, submit_queries
from index.ingest.chunking import Tokenizer
from index.types import SearchRequest

LongQuery = Literal["first", "mean", "max"]
DEFAULT_LONG_QUERY: LongQuery = "first"
MAX_QUERY_TERMS = 32
# Pieces of one query embedded at most (about 16,000 tokens), whatever the query length limit: the mean and
# max-similarity use the first 64 (max-similarity searches once per piece).
MAX_PIECES = 64

QueryVectors = NDArray[np.float32]  # (pieces, dim): one row, or one per piece for max-similarity


def query_pieces(text: str, tokenizer: Tokenizer) -> list[str]:
    """``text`` as pieces of at most the model's token budget (one piece if it fits), in order. The text is
    tokenized once: counting its tokens first and then finding their spans cost a pasted page twice the
    time (14 ms a pass for 20,000 characters with the default model)."""
    budget = tokenizer.max_tokens
    spans = tokenizer.token_spans(text)
    if len(spans) <= budget:
        return [text]
    pieces = []
    for first in range(0, len(spans), budget):
        window = spans[first : first + budget]
        pieces.append(text[window[0][0] : window[-1][1]])
    return [piece for piece in pieces if piece.strip()] or [text]


Embedded = tuple[list[QueryVectors | None], list[int]]


def embed_queries(
    embedder: Embedder, requests: Sequence[SearchRequest], strategy: LongQuery = DEFAULT_LONG_QUERY
) -> Embedded:
    """Each request's query embedding (``None`` for keyword-only ones) and its number of pieces, every
    piece of every request embedded in one model call. With ``strategy="max"`` a long query keeps one row
    per piece; otherwise one row (the first piece's, or the normalised mean of all)."""
    return Embedding(embedder, requests, strategy).result()


class Embedding:
    """:func:`embed_queries` begun: the queries are cut into pieces at once and, with a
    :class:`~index.encoders.base.BackgroundEmbedder`, embedded on its thread while the caller works
    (:meth:`running` says whether it still is); :meth:`result` waits for them. An embedder of no thread of
    its own embeds them before the constructor returns."""

    def __init__(self, embedder: Embedder, requests: Sequence[SearchRequest], strategy: LongQuery) -> None:
        self._pieces = [query_pieces(r.query.strip(), embedder.tokenizer) for r in requests]
        self._dense = [i for i, request in enumerate(requests) if request.mode != "keyword"]
        self._wanted = [p[:1] if strategy == "first" else p[:MAX_PIECES] for p in self._pieces]
        self._strategy = strategy
        self._dim = embedder.dim
        texts = [text for i in self._dense for text in self._wanted[i]]
        self._pending = submit_queries(embedder, texts) if texts else None

    def running(self) -> bool:
        return self._pending is not None and not self._pending.done()

    def result(self) -> Embedded:
        """Each request's query embedding (``None`` for keyword-only ones) and its number of pieces."""
        rows = np.zeros((0, self._dim), dtype=np.float32) if self._pending is None else self._pending.result()
        out: list[QueryVectors | None] = [None] * len(self._pieces)
        row = 0
        for i in self._dense:
            taken = len(self._wanted[i])
            out[i] = combine_pieces(rows[row : row + taken], self._strategy)
            row += taken
        return out, [len(p) for p in self._pieces]


def combine_pieces(rows: QueryVectors, strategy: LongQuery) -> QueryVectors:
    """The embeddings of a query's pieces, in order, as the dense side searches with them: the first row,
    the normalised mean, or every row (max-similarity; at most :data:`MAX_PIECES`)."""
    if strategy == "first" or len(rows) == 1:
        first: QueryVectors = rows[:1]
        return first
    if strategy == "max":
        pieces: QueryVectors = rows[:MAX_PIECES]
        return pieces
    mean = rows.mean(axis=0, keepdims=True)
    normalised: QueryVectors = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return normalised


def informative_terms(
    terms: Sequence[str],
    document_frequency: Callable[[Sequence[str]], list[int]],
    limit: int = MAX_QUERY_TERMS,
) -> list[str]:
    """``terms`` if there are at most ``limit``; else the ``limit`` found in the fewest documents (terms in
    none match nothing and go first out), in their original order."""
    if len(terms) <= limit:
        return list(terms)
    frequencies = document_frequency(terms)
    ranked = sorted(range(len(terms)), key=lambda i: (frequencies[i] == 0, frequencies[i], i))
    kept = sorted(ranked[:limit])
    return [terms[i] for i in kept]
