"""The query pipeline, for one index or a sharded one: a batch of searches checked, its queries embedded (or
read from stored examples), its candidates found, and each request ranked, in three timed phases.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from index.encoders.base import Embedder
from index.errors import (
    InvalidInputError,
)
from index.retrieval.examples import ExampleSource
from index.retrieval.examples import resolve as resolve_examples
from index.retrieval.filters import FilterLimits, SqlFilter, compile_filter
from index.retrieval.query import DEFAULT_LONG_QUERY, Embedding, LongQuery
from index.retrieval.ranking import ChunkLookup, candidate_depth, fuse_sides, rank
from index.types import (
    Candidates,
    Hit,
    SearchRequest,
    SearchResult,
    SearchTimings,
)
from index.validation import check_text, is_blank

_BLANK = " (or holds only spaces and invisible characters)"


def validate_request(request: SearchRequest) -> None:
    """Raise :class:`InvalidInputError` unless ``request`` can be searched: a query with some text (or an
    example instead), ``k`` of at least 1 and an offset of at least 0. A query of any length is searched
    (:mod:`index.retrieval.query`). (Filters are checked when compiled.)"""
    query = request.query.strip()
    like = request.like
    if like is not None:
        if query:
            raise InvalidInputError("send a query or an example (like), not both")
        given = [name for name in ("doc_id", "chunk_id", "text") if getattr(like, name) is not None]
        if len(given) != 1:
            raise InvalidInputError("an example (like) is exactly one of a document id, a chunk id or a text")
        if like.text is not None:
            if is_blank(like.text):
                raise InvalidInputError(f"the example text is empty{_BLANK}: send some text to search for")
            check_text("the example text", like.text)
        if like.doc_id is not None:
            check_text("the example's document id", like.doc_id)
    elif is_blank(query):
        raise InvalidInputError(f"the query is empty{_BLANK}: send some text to search for")
    else:
        check_text("the query", query)
    if request.k < 1:
        raise InvalidInputError(f"k must be at least 1, got {request.k}")
    if request.offset < 0:
        raise InvalidInputError(f"offset must not be negative, got {request.offset}")
    if not 0 <= request.diversity <= 1:
        raise InvalidInputError(f"diversity lies between 0 and 1, got {request.diversity}")
    if request.diversity_pool is not None and request.diversity_pool < 1:
        raise InvalidInputError(f"diversity_pool must be at least 1, got {request.diversity_pool}")
    if request.duplicates not in ("collapse", "keep"):
        raise InvalidInputError(f"duplicates is collapse or keep, got {request.duplicates!r}")


# A page that comes back short while a side's candidates were cut at their depth is searched again DEEPER
# times deeper, up to DEEPEST candidates a side (see cut_short).
DEEPER = 4
DEEPEST = 10_000


def cut_short(request: SearchRequest, candidates: Candidates, hits: Sequence[Hit], depth: int) -> bool:
    """Whether a page of ``hits`` holds fewer than ``k`` where deeper candidates could fill it: a side was
    cut at its ``depth`` (there are more chunks past it), and no candidate fell below ``min_score`` (a page
    cut by the threshold stays cut: deeper candidates score lower). A page comes back short this way when its
    candidates are chunks of a few documents (one long document filling the dense side of a search by
    document) or copies of one passage (collapsed to one hit)."""
    if len(hits) >= request.k or not any(len(side) >= depth for side in candidates.sides):
        return False
    if request.min_score is None:
        return True
    return min(fuse_sides(request, candidates.sides).values()) >= request.min_score


FindCandidates = Callable[
    [Sequence[SearchRequest], list[NDArray[np.float32] | None], list[SqlFilter | None]], list[Candidates]
]
Meanwhile = Callable[[Sequence[SearchRequest], list[SqlFilter | None]], object]


def search_in_phases(
    requests: Sequence[SearchRequest],
    embedder: Embedder,
    filter_limits: FilterLimits,
    find: FindCandidates,
    lookup: Callable[[Candidates], ChunkLookup],
    examples: ExampleSource,
    long_query: LongQuery = DEFAULT_LONG_QUERY,
    meanwhile: Meanwhile | None = None,
    filters: Sequence[SqlFilter | None] | None = None,
) -> list[SearchResult]:
    """A batch of searches in its three timed phases, for one index or a sharded one: every request checked
    (query, filter) before any work, the queries embedded in one call (long ones in pieces, combined as
    ``long_query`` says), ``find`` the candidates (given the compiled filters), and each request ranked
    over them, reading rows through ``lookup(candidates)``. A query by example reads its example from
    ``examples`` instead of embedding a query (:mod:`index.retrieval.examples`). While the queries are
    embedded on the encoder's thread, ``meanwhile(requests, filters)`` works on this one (an index's keyword
    side, which needs no embedding); its time is inside the encode phase's. ``filters``: the requests'
    filters, compiled already (by a caller that keyed a cache on them), instead of compiling them here."""
    started = time.perf_counter()
    if not requests:
        return []
    for request in requests:
        validate_request(request)
    if filters is None:
        filters = [None if r.filter is None else compile_filter(r.filter, filter_limits) for r in requests]
    elif len(filters) != len(requests):
        raise ValueError(f"{len(filters)} compiled filters for {len(requests)} requests")
    else:
        filters = list(filters)
    encoding = time.perf_counter()
    requests, query_vectors, pieces = resolve_examples(requests, examples, long_query)
    to_embed = [i for i, count in enumerate(pieces) if count == 0]
    embedding = Embedding(embedder, [requests[i] for i in to_embed], long_query)
    if meanwhile is not None and embedding.running():
        meanwhile(requests, filters)
    embedded, embedded_pieces = embedding.result()
    for i, vectors, count in zip(to_embed, embedded, embedded_pieces, strict=True):
        query_vectors[i], pieces[i] = vectors, count
    searching = time.perf_counter()
    found = find(requests, query_vectors, filters)
    ranking = time.perf_counter()
    ranked = [rank(r, c.sides, lookup(c), c.documents) for r, c in zip(requests, found, strict=True)]
    for i, (request, candidates) in enumerate(zip(requests, found, strict=True)):
        depth = candidate_depth(request)
        while depth < DEEPEST and cut_short(request, candidates, ranked[i], depth):
            depth = min(depth * DEEPER, DEEPEST)
            deeper = dataclasses.replace(request, candidates=depth)
            (candidates,) = find([deeper], [query_vectors[i]], [filters[i]])
            ranked[i] = rank(deeper, candidates.sides, lookup(candidates), candidates.documents)
    done = time.perf_counter()
    timings = SearchTimings(
        encode_ms=(searching - encoding) * 1000,
        search_ms=(ranking - searching) * 1000,
        rank_ms=(done - ranking) * 1000,
    )
    return [
        SearchResult(hits, (done - started) * 1000, timings, count)
        for hits, count in zip(ranked, pieces, strict=True)
    ]
