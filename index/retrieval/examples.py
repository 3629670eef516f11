"""Query by example: search with a stored document or chunk instead of a query ("more like this").

A request with ``like=Like(doc_id=...)`` or ``Like(chunk_id=...)`` is answered from what the index already
holds, with no model call:

* **Dense side**: the example's stored chunk embeddings, combined the way the pieces of a long query are
  (:data:`~index.retrieval.query.LongQuery`: the first chunk, the mean of all, or max-similarity over them).
* **Keyword side**: the example's most characteristic words, chosen as Lucene's MoreLikeThis chooses them:
  frequent in the example, rare elsewhere (tf x idf), at most :data:`~index.retrieval.query.MAX_QUERY_TERMS`;
  a word found only in the example itself is left out when the example is (it could only find the example).
* The example itself (the document, or the chunk) is left out of the hits unless ``include_self``.

``Like(text=...)`` is a passage: searched as a query of that text is (:mod:`index.retrieval.query`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.retrieval.query import MAX_QUERY_TERMS, LongQuery, QueryVectors, combine_pieces
from index.retrieval.ranking import candidate_depth
from index.storage.keyword import words
from index.types import Like, SearchRequest

# The example's most frequent words whose document frequency is looked up (one lookup each).
MAX_CANDIDATE_TERMS = 256


@dataclass(frozen=True, slots=True)
class Example:
    """A stored document or chunk as a query: where it is, its chunks' embeddings in order, and its
    :func:`characteristic_terms` for the keyword side."""

    doc_id: str
    chunk_id: int | None  # set when the example is one chunk
    vectors: NDArray[np.float32]
    terms: list[str]


ExampleSource = Callable[[Like], Example]


def characteristic_terms(
    texts: Sequence[str],
    document_frequency: Callable[[Sequence[str]], list[int]],
    rows: int,
    *,
    exclude_self: bool,
    limit: int = MAX_QUERY_TERMS,
) -> list[str]:
    """The example's ``limit`` words of highest ``tf * idf`` (tf: occurrences in ``texts``; df over the
    ``rows`` chunks of the index). With ``exclude_self`` a word's occurrences in the example's own chunks
    do not count towards its df, and words found nowhere else are dropped."""
    occurrences: Counter[str] = Counter()
    own: Counter[str] = Counter()  # the example's chunks holding each word
    for text in texts:
        found = words(text)
        occurrences.update(found)
        own.update(set(found))
    candidates = [word for word, _ in occurrences.most_common(MAX_CANDIDATE_TERMS)]
    frequencies = document_frequency(candidates)
    scored = []
    for word, df in zip(candidates, frequencies, strict=True):
        elsewhere = df - own[word] if exclude_self else df
        if elsewhere <= 0:
            continue
        idf = math.log(1 + (rows - df + 0.5) / (df + 0.5))
        scored.append((occurrences[word] * idf, word))
    scored.sort(key=lambda item: -item[0])
    return [word for _, word in scored[:limit]]


def resolve(
    requests: Sequence[SearchRequest],
    source: ExampleSource,
    strategy: LongQuery,
) -> tuple[list[SearchRequest], list[QueryVectors | None], list[int]]:
    """Each request as it is searched: one with a stored example gets the example's words as its query,
    the example to leave out, and room for it in the candidates, and its query vectors (``None``: embed the
    query); one with ``Like(text=...)`` becomes a query of that text. Also the pieces each dense side used
    (0 for those still to embed)."""
    out: list[SearchRequest] = []
    vectors: list[QueryVectors | None] = []
    pieces: list[int] = []
    for request in requests:
        like = request.like
        if like is None or like.text is not None:  # a query to embed (a plain one passes as it is)
            text = like.text if like is not None and like.text is not None else None
            out.append(request if text is None else dataclasses.replace(request, query=text, like=None))
            vectors.append(None)
            pieces.append(0)
            continue
        example = source(like)
        leave_out = not like.include_self
        # Room in each side's candidates for the example's own chunks, which are left out after.
        room = len(example.vectors) if leave_out else 0
        out.append(
            dataclasses.replace(
                request,
                query=" ".join(example.terms),
                like=None,
                exclude_doc=example.doc_id if leave_out and example.chunk_id is None else None,
                exclude_chunk=example.chunk_id if leave_out else None,
                candidates=candidate_depth(request) + room,
            )
        )
        rows = combine_pieces(example.vectors, strategy) if request.mode != "keyword" else None
        vectors.append(rows)
        pieces.append(len(example.vectors))
    return out, vectors, pieces
