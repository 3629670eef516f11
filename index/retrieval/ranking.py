"""From candidate chunks to hits: fusion of the dense and keyword sides, grouping by document, highlights.

Pure functions over plain data, so every rule here is tested with hand-checkable numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from index.retrieval.copies import Copies
from index.retrieval.diversity import mmr_order, pool_size
from index.retrieval.fusion import Key, dense_scale, reciprocal_rank_fusion, top, weighted_sum
from index.retrieval.highlight import Highlighter
from index.storage.keyword import query_terms
from index.types import ChunkMatch, ChunkRow, Hit, SearchRequest, Span

# How many matching chunks a document hit lists.
MAX_MATCHES = 3
# Cosine spread between the dense side's best and deepest candidates from which its order is trusted in
# full (min-max); below it the dense side is anchored at cosine 1. Measured for all-MiniLM-L6-v2
# (docs/retrieval.md, "Fusion across query kinds"); in cosine units, so another model may want another value.
DENSE_CONFIDENT_SPREAD = 0.3
# A query of at most SHORT_QUERY_TERMS terms (a few remembered words, which match exactly or not and mean
# little on their own) asks more of the dense side before its order is trusted in full.
SHORT_QUERY_TERMS = 3
DENSE_CONFIDENT_SPREAD_SHORT = 0.4
# Candidates each side (dense, keyword) contributes before fusion, unless the request asks for more.
DEFAULT_CANDIDATES = 100
# With group_by="document", each side looks this many times deeper than the page, as documents have chunks.
GROUPING_DEPTH_FACTOR = 3
# The most chunks tied with a page's last hit that are read past the page for copies of it.
MAX_TIES = 100


def candidate_depth(request: SearchRequest) -> int:
    """How many candidates each side fetches: enough for the page (or the pool a diverse search picks
    from), and for grouping by document."""
    wanted = pool_size(request) if request.diversity > 0 else request.k + request.offset
    depth = max(request.candidates or DEFAULT_CANDIDATES, wanted)
    return max(depth, GROUPING_DEPTH_FACTOR * wanted) if request.group_by == "document" else depth


def fuse_sides(request: SearchRequest, sides: Sequence[Mapping[Key, float]]) -> dict[Key, float]:
    """One ranking from one side, or from the dense and keyword sides' ``{key: score}``.

    The blend puts both sides on scales where a weak best match stays weak. The dense side's cosines are
    min-max normalised when its best candidate stands out from its deepest by :func:`confident_spread` or
    more, else rescaled from the lowest candidate's to 1 (:func:`~index.retrieval.fusion.dense_scale`):
    stretching a side that found nothing would give noise the full dense weight. The keyword side comes
    already divided by its query's score scale (see :func:`index.storage.keyword.score_scale`).
    docs/retrieval.md has the measurements behind both.
    """
    if len(sides) == 1:
        return dict(sides[0])
    if request.fusion == "rrf":
        return reciprocal_rank_fusion(sides, request.rrf_k)
    dense, keyword = sides
    dense_scores = dense_scale(dense, confident_spread(request))
    return weighted_sum([dense_scores, keyword], [request.weight, 1.0 - request.weight])


def confident_spread(request: SearchRequest) -> float:
    """The dense side's spread from which its order counts in full, for this request: higher for a query of
    a few words (:data:`SHORT_QUERY_TERMS`). A query by example is never short."""
    if request.like is None and len(query_terms(request.query)) <= SHORT_QUERY_TERMS:
        return DENSE_CONFIDENT_SPREAD_SHORT
    return DENSE_CONFIDENT_SPREAD


class ChunkLookup(Protocol):
    """Where ranking reads chunks from, only as much as it needs: positions for grouping, rows for hits."""

    def rows(self, chunk_ids: Sequence[int]) -> Mapping[int, ChunkRow]:
        """The rows of those chunks that still exist."""
        ...

    def documents(self, chunk_ids: Sequence[int]) -> Mapping[int, tuple[str, int]]:
        """``{chunk_id: (doc_id, ordinal)}`` of those chunks that still exist."""
        ...

    def first_chunks(self, doc_ids: Sequence[str]) -> Mapping[str, int]:
        """``{doc_id: chunk_id}`` of each existing document's first chunk."""
        ...

    def embeddings(self, chunk_ids: Sequence[int]) -> Mapping[int, NDArray[np.float32]]:
        """``{chunk_id: embedding}`` of those chunks that still exist (for a diverse search)."""
        ...


class MappingLookup:
    """A :class:`ChunkLookup` over rows (and embeddings) at hand (tests, and callers that already hold
    them)."""

    def __init__(
        self, rows: Mapping[int, ChunkRow], embeddings: Mapping[int, NDArray[np.float32]] | None = None
    ) -> None:
        self._rows = rows
        self._embeddings = embeddings or {}

    def embeddings(self, chunk_ids: Sequence[int]) -> Mapping[int, NDArray[np.float32]]:
        return {c: self._embeddings[c] for c in chunk_ids if c in self._embeddings}

    def rows(self, chunk_ids: Sequence[int]) -> Mapping[int, ChunkRow]:
        return {c: self._rows[c] for c in chunk_ids if c in self._rows}

    def documents(self, chunk_ids: Sequence[int]) -> Mapping[int, tuple[str, int]]:
        return {c: (self._rows[c].doc_id, self._rows[c].ordinal) for c in chunk_ids if c in self._rows}

    def first_chunks(self, doc_ids: Sequence[str]) -> Mapping[str, int]:
        wanted, first = set(doc_ids), {}
        for row in sorted(self._rows.values(), key=lambda r: r.ordinal, reverse=True):
            if row.doc_id in wanted:
                first[row.doc_id] = row.chunk_id
        return first


def rank(
    request: SearchRequest,
    sides: list[dict[int, float]],
    lookup: ChunkLookup,
    document_keyword: Mapping[str, float] | None = None,
) -> list[Hit]:
    """The hits ``offset .. offset+k`` for ``request``, given each side's chunk scores.

    Only the rows of the hits returned are read in full. With ``group_by="document"``, ``document_keyword``
    (BM25 of whole documents) replaces the keyword side's best-chunk scores when given; a document it finds
    without any candidate chunk is represented by its first chunk. Chunks deleted since the candidates were
    found are dropped. With ``duplicates="collapse"`` (and chunks as hits), a chunk whose text
    (:mod:`index.retrieval.copies`) an earlier hit has is no hit of its own: that hit lists its
    document among ``duplicates``, and the next chunk takes its place (a page of the same footer ten times
    over is one hit and nine others). Past the page, the chunks tied with its last hit (at most
    :data:`MAX_TIES`) are read for its copies.
    """
    if request.diversity > 0:
        return _diverse(request, sides, lookup, document_keyword)
    highlighter = Highlighter(request.query)
    wanted = request.offset + request.k
    if request.exclude_chunk is not None:
        sides = [{c: s for c, s in side.items() if c != request.exclude_chunk} for side in sides]
    if request.group_by == "chunk":
        fused = fuse_sides(request, sides)
        ranked = _above(top(fused, len(fused)), request.min_score)
        kept: list[tuple[ChunkRow, float, list[str]]] = []
        copies = Copies() if request.duplicates == "collapse" else None
        position = 0
        ties_read = False
        while position < len(ranked):  # more rounds only after deletes, duplicates
            if len(kept) < wanted:
                batch = ranked[position : position + wanted - len(kept)]
            elif copies is not None and not ties_read and ranked[position][1] == kept[-1][1]:
                # A copy of the last hit scores what it scores (the same text embeds and matches alike):
                # the run of its ties is read once for the copies among them, which make no hit.
                tied = position
                while tied < min(len(ranked), position + MAX_TIES) and ranked[tied][1] == kept[-1][1]:
                    tied += 1
                batch, ties_read = ranked[position:tied], True
            else:
                break
            position += len(batch)
            rows = lookup.rows([int(chunk) for chunk, _ in batch])
            for chunk, score in batch:
                row = rows.get(int(chunk))
                if row is None:
                    continue
                copy_of = None if copies is None else copies.of(row.text)
                if copy_of is not None:
                    copy_of.add(row.doc_id)
                elif len(kept) < wanted:
                    kept.append(
                        (row, score, [] if copies is None else copies.keep(row.text, row.doc_id).duplicates)
                    )
        return [_hit(row, score, highlighter, [], others) for row, score, others in kept[request.offset :]]

    # Documents: each side scores a document by its best chunk on that side (or, for the keyword side, as a
    # whole when document_keyword is given), then the sides are fused.
    placed = lookup.documents(sorted({chunk for side in sides for chunk in side}))
    sides = [{chunk: score for chunk, score in side.items() if chunk in placed} for side in sides]
    chunk_scores = fuse_sides(request, sides)
    doc_sides = [_best_per_document(side, placed) for side in sides]
    if document_keyword is not None and request.mode != "dense":
        doc_sides[-1] = dict(document_keyword)
    doc_scores = fuse_sides(request, doc_sides)
    chunks_of: dict[str, list[int]] = defaultdict(list)
    for chunk, _ in top(chunk_scores, len(chunk_scores)):
        chunks_of[placed[int(chunk)][0]].append(int(chunk))
    page = _above(top(doc_scores, wanted), request.min_score)[request.offset :]
    best = {str(doc): chunks_of[str(doc)][:MAX_MATCHES] for doc, _ in page}
    fallback = lookup.first_chunks([doc for doc, chunks in best.items() if not chunks])
    best.update({doc: [chunk] for doc, chunk in fallback.items()})
    rows = dict(lookup.rows([chunk for chunks in best.values() for chunk in chunks]))
    hits = []
    for doc_id, score in page:
        present = [chunk for chunk in best[str(doc_id)] if chunk in rows]
        if not present:  # deleted since the search
            continue
        matches = [_match(rows[chunk], chunk_scores.get(chunk, 0.0), highlighter) for chunk in present]
        hits.append(_hit(rows[present[0]], score, highlighter, matches))
    return hits


def _diverse(
    request: SearchRequest,
    sides: list[dict[int, float]],
    lookup: ChunkLookup,
    document_keyword: Mapping[str, float] | None,
) -> list[Hit]:
    """The page of a diverse search: the plain ranking's best :func:`pool_size` hits, picked from by
    maximal marginal relevance over their (best) chunks' embeddings."""
    plain = replace(request, k=pool_size(request), offset=0, diversity=0.0)
    pool = rank(plain, sides, lookup, document_keyword)
    vectors = lookup.embeddings([hit.chunk_id for hit in pool])
    pool = [hit for hit in pool if hit.chunk_id in vectors]  # deleted since the search
    if not pool:
        return []
    relevance = np.array([hit.score for hit in pool], dtype=np.float64)
    stacked = np.stack([vectors[hit.chunk_id] for hit in pool])
    order = mmr_order(relevance, stacked, request.diversity, request.offset + request.k)
    return [pool[i] for i in order][request.offset :]


def _above(ranked: list[tuple[Key, float]], min_score: float | None) -> list[tuple[Key, float]]:
    return ranked if min_score is None else [(key, score) for key, score in ranked if score >= min_score]


def _best_per_document(side: Mapping[int, float], placed: Mapping[int, tuple[str, int]]) -> dict[str, float]:
    best: dict[str, float] = {}
    for chunk, score in side.items():
        doc_id = placed[chunk][0]
        if score > best.get(doc_id, float("-inf")):
            best[doc_id] = score
    return best


def _span(row: ChunkRow, highlighter: Highlighter) -> Span:
    return Span(*highlighter.best_span(row.text, row.start))


def _match(row: ChunkRow, score: float, highlighter: Highlighter) -> ChunkMatch:
    return ChunkMatch(
        chunk_id=row.chunk_id,
        ordinal=row.ordinal,
        score=float(score),
        text=row.text,
        start=row.start,
        end=row.end,
        highlight=_span(row, highlighter),
    )


def _hit(
    row: ChunkRow,
    score: float,
    highlighter: Highlighter,
    matches: list[ChunkMatch],
    duplicates: list[str] | None = None,
) -> Hit:
    return Hit(
        doc_id=row.doc_id,
        chunk_id=row.chunk_id,
        ordinal=row.ordinal,
        score=float(score),
        text=row.text,
        title=row.title,
        metadata=row.metadata,
        start=row.start,
        end=row.end,
        highlight=matches[0].highlight if matches else _span(row, highlighter),
        matches=matches,
        page=row.page,
        page_end=row.page_end,
        duplicates=duplicates or [],
    )
