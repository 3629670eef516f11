"""From candidate chunks to hits: fusion of the dense and keyword sides, grouping by document, highlights.

Pure functions over plain data, so every rule here is tested with hand-checkable numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from index.fusion import Key, min_max, reciprocal_rank_fusion, top, weighted_sum
from index.highlight import Highlighter
from index.store import ChunkRow
from index.types import ChunkMatch, Hit, SearchRequest, Span

# How many matching chunks a document hit lists.
MAX_MATCHES = 3


def fuse_sides(request: SearchRequest, sides: Sequence[Mapping[Key, float]]) -> dict[Key, float]:
    """One ranking from one side, or from the dense and keyword sides' ``{key: score}``.

    The blend rescales the dense side's cosines to [0, 1] over its candidates (min-max); the keyword side
    comes already divided by its query's score scale (see :func:`index.keyword.score_scale`), so that a
    keyword side whose best match is weak stays weak instead of being stretched to 1.
    """
    if len(sides) == 1:
        return dict(sides[0])
    if request.fusion == "rrf":
        return reciprocal_rank_fusion(sides, request.rrf_k)
    dense, keyword = sides
    return weighted_sum([min_max(dense), keyword], [request.weight, 1.0 - request.weight])


def rank(
    request: SearchRequest,
    sides: list[dict[int, float]],
    rows: Mapping[int, ChunkRow],
    document_keyword: Mapping[str, float] | None = None,
) -> list[Hit]:
    """The hits ``offset .. offset+k`` for ``request``, given each side's chunk scores and the chunk rows.

    With ``group_by="document"``, ``document_keyword`` (BM25 of whole documents) replaces the keyword
    side's best-chunk scores when given; a document it finds without any candidate chunk is represented
    by its first chunk in ``rows``. Chunks missing from ``rows`` (deleted since the candidates were found)
    are dropped first.
    """
    sides = [{chunk: score for chunk, score in side.items() if chunk in rows} for side in sides]
    chunk_scores = fuse_sides(request, sides)
    highlighter = Highlighter(request.query)
    wanted = request.offset + request.k
    if request.group_by == "chunk":
        ranked = _above(top(chunk_scores, wanted), request.min_score)[request.offset :]
        return [_hit(rows[chunk], score, highlighter, []) for chunk, score in ranked]

    # Documents: each side scores a document by its best chunk on that side (or, for the keyword side, as a
    # whole when document_keyword is given), then the sides are fused.
    doc_sides = [_best_per_document(side, rows) for side in sides]
    if document_keyword is not None and request.mode != "dense":
        doc_sides[-1] = dict(document_keyword)
    doc_scores = fuse_sides(request, doc_sides)
    chunks_of: dict[str, list[int]] = defaultdict(list)
    for chunk, _ in top(chunk_scores, len(chunk_scores)):
        chunks_of[rows[chunk].doc_id].append(chunk)
    fallback: dict[str, ChunkRow] = {}  # a document's first chunk at hand, for documents without candidates
    for row in rows.values():
        if row.doc_id not in fallback or row.ordinal < fallback[row.doc_id].ordinal:
            fallback[row.doc_id] = row
    hits = []
    for doc_id, score in _above(top(doc_scores, wanted), request.min_score)[request.offset :]:
        best = chunks_of[doc_id][:MAX_MATCHES]
        if not best:
            if doc_id not in fallback:  # deleted since the keyword search
                continue
            best = [fallback[doc_id].chunk_id]
        matches = [_match(rows[chunk], chunk_scores.get(chunk, 0.0), highlighter) for chunk in best]
        hits.append(_hit(rows[best[0]], score, highlighter, matches))
    return hits


def _above(ranked: list[tuple[Key, float]], min_score: float | None) -> list[tuple[Key, float]]:
    return ranked if min_score is None else [(key, score) for key, score in ranked if score >= min_score]


def _best_per_document(side: Mapping[int, float], rows: Mapping[int, ChunkRow]) -> dict[str, float]:
    best: dict[str, float] = {}
    for chunk, score in side.items():
        doc_id = rows[chunk].doc_id
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


def _hit(row: ChunkRow, score: float, highlighter: Highlighter, matches: list[ChunkMatch]) -> Hit:
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
    )
