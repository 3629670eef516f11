from __future__ import annotations

import pytest

from index.retrieval.ranking import (
    DENSE_CONFIDENT_SPREAD,
    DENSE_CONFIDENT_SPREAD_SHORT,
    MappingLookup,
    confident_spread,
    fuse_sides,
    rank,
)
from index.types import ChunkRow, Like, SearchRequest, Span

TEXTS = {
    1: ("a", 0, "Cats sleep a lot. They purr."),
    2: ("a", 30, "Dogs bark loudly. Cats hiss."),
    3: ("b", 0, "Markets fell. Cats were not involved."),
    4: ("c", 0, "Rivers flow to the sea."),
}
ROWS = {
    chunk_id: ChunkRow(chunk_id, doc, ordinal, start, start + len(text), text, f"title {doc}", {})
    for ordinal, (chunk_id, (doc, start, text)) in enumerate(TEXTS.items())
}
LOOKUP = MappingLookup(ROWS)


def test_chunk_hits_follow_the_fused_order_and_pages() -> None:
    dense = {1: 0.9, 2: 0.8, 3: 0.1}
    keyword = {3: 0.5, 4: 0.1}  # already divided by the query's score scale: the blend takes it as it is
    request = SearchRequest("cats", k=2, fusion="blend", weight=0.7)
    # dense spread 0.8 (>= 0.3: the dense side found something): min-max, 1 -> 1, 2 -> 0.875, 3 -> 0;
    # so 1: 0.7, 2: 0.6125, 3: 0.3 * 0.5, 4: 0.3 * 0.1
    hits = rank(request, [dense, keyword], LOOKUP)
    assert [(h.chunk_id, round(h.score, 4)) for h in hits] == [(1, 0.7), (2, 0.6125)]
    page = rank(
        SearchRequest("cats", k=2, offset=2, fusion="blend", weight=0.7),
        [dense, keyword],
        LOOKUP,
    )
    assert [h.chunk_id for h in page] == [3, 4]


def test_min_score_drops_weak_hits_before_paging() -> None:
    hits = rank(SearchRequest("x", k=10, min_score=0.5, mode="dense"), [{1: 0.9, 2: 0.4}], LOOKUP)
    assert [h.chunk_id for h in hits] == [1]


def test_deleted_chunks_are_dropped() -> None:
    rows = {k: v for k, v in ROWS.items() if k != 1}
    hits = rank(SearchRequest("x", mode="dense"), [{1: 0.9, 2: 0.5}], MappingLookup(rows))
    assert [h.chunk_id for h in hits] == [2]


def test_group_by_document_scores_by_best_chunk_and_lists_matches() -> None:
    dense = {1: 0.5, 2: 0.7, 3: 0.6, 4: 0.1}
    hits = rank(SearchRequest("cats hiss", k=3, mode="dense", group_by="document"), [dense], LOOKUP)
    assert [(h.doc_id, h.score) for h in hits] == [("a", 0.7), ("b", 0.6), ("c", 0.1)]
    assert hits[0].chunk_id == 2
    assert [m.chunk_id for m in hits[0].matches] == [2, 1]
    assert hits[0].highlight == hits[0].matches[0].highlight


def test_rrf_over_documents() -> None:
    dense = {1: 0.9, 4: 0.8}  # docs a=1, c=2
    keyword = {3: 9.0, 2: 1.0}  # docs b=1, a=2
    hits = rank(SearchRequest("x", fusion="rrf", rrf_k=10, group_by="document"), [dense, keyword], LOOKUP)
    assert [h.doc_id for h in hits] == ["a", "b", "c"]
    assert hits[0].score == pytest.approx(1 / 11 + 1 / 12)


def test_highlight_is_the_sentence_sharing_most_query_stems() -> None:
    hits = rank(SearchRequest("why do cats purr", mode="dense"), [{1: 0.9}], LOOKUP)
    # "They purr." shares "purr"; "Cats sleep a lot." shares "cats": a tie goes to the earlier sentence.
    assert hits[0].highlight == Span(0, len("Cats sleep a lot."))
    hits = rank(SearchRequest("it purrs", mode="dense"), [{1: 0.9}], LOOKUP)
    text = TEXTS[1][2]
    assert hits[0].highlight == Span(text.index("They"), len(text))
    hits = rank(SearchRequest("hiss", mode="dense"), [{2: 0.9}], LOOKUP)
    start = TEXTS[2][1]
    assert hits[0].highlight == Span(start + TEXTS[2][2].index("Cats hiss."), start + len(TEXTS[2][2]))


def test_highlight_falls_back_to_the_first_sentence() -> None:
    hits = rank(SearchRequest("feline", mode="dense"), [{4: 0.9}], LOOKUP)
    assert hits[0].highlight == Span(0, len("Rivers flow to the sea."))


def test_documents_scored_whole_on_the_keyword_side() -> None:
    dense = {1: 0.9, 3: 0.8}  # docs a=0.9, b=0.8
    keyword_chunks = {3: 4.0}
    keyword_documents = {"c": 1.0, "b": 0.4}  # c has no candidate chunk: represented by its first one
    request = SearchRequest("rivers", k=3, fusion="blend", weight=0.5, group_by="document")
    hits = rank(request, [dense, keyword_chunks], LOOKUP, keyword_documents)
    # dense spread 0.1 (< 0.3: nothing stands out): anchored between 0.8 and 1, a=0.5, b=0;
    # keyword (documents, as given): c=1, b=0.4
    assert [(h.doc_id, round(h.score, 6)) for h in hits] == [("c", 0.5), ("a", 0.25), ("b", 0.2)]
    assert hits[0].chunk_id == 4
    assert [m.chunk_id for m in hits[0].matches] == [4]


def test_a_query_of_a_few_words_asks_more_of_the_dense_side() -> None:
    """A dense spread of 0.35 (0.45 to 0.80) counts in full for a question, and is anchored at cosine 1 for
    a query of three words, where the keyword side then decides."""
    dense = {1: 0.80, 2: 0.45}
    keyword = {2: 1.0}
    question = SearchRequest("which town built the tidal lagoon first?")
    fused = fuse_sides(question, [dense, keyword])
    assert fused == pytest.approx({1: 0.4, 2: 0.6})  # min-max: 1 and 0, weighted 0.4
    words = SearchRequest("tidal lagoon town")
    fused = fuse_sides(words, [dense, keyword])
    anchored = {1: 1.0 - (1.0 - 0.80) / (1.0 - 0.45), 2: 0.0}
    assert fused == pytest.approx({1: 0.4 * anchored[1], 2: 0.6})
    assert confident_spread(words) == DENSE_CONFIDENT_SPREAD_SHORT
    assert confident_spread(question) == DENSE_CONFIDENT_SPREAD
    assert confident_spread(SearchRequest("", like=Like(doc_id="a"))) == DENSE_CONFIDENT_SPREAD
