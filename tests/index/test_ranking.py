from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.retrieval.fusion import top
from index.retrieval.pipeline import cut_short
from index.retrieval.ranking import (
    DENSE_CONFIDENT_SPREAD,
    DENSE_CONFIDENT_SPREAD_SHORT,
    MappingLookup,
    confident_spread,
    fuse_sides,
    rank,
)
from index.types import Candidates, ChunkRow, Like, SearchRequest, Span

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


def _rows(chunks: dict[int, tuple[str, str]]) -> dict[int, ChunkRow]:
    return {
        chunk_id: ChunkRow(chunk_id, doc, 0, 0, len(text), text, None, {})
        for chunk_id, (doc, text) in chunks.items()
    }


def test_chunks_of_the_same_text_are_one_hit_naming_the_other_documents() -> None:
    footer = "Questions? Write to help@example.org."
    rows = _rows(
        {
            1: ("handbook-v1", footer),
            2: ("handbook-v2", footer),
            3: ("handbook-v2", "Holidays are booked in the portal."),
            4: ("handbook-v3", footer),
            5: ("handbook-v1", footer),  # its own document's second copy: collapsed, not named twice
            6: ("faq", "Write to help@example.org with questions."),
        }
    )
    scores = {1: 0.9, 2: 0.85, 5: 0.8, 4: 0.7, 3: 0.6, 6: 0.5}
    hits = rank(SearchRequest("questions", k=3, mode="dense"), [scores], MappingLookup(rows))
    assert [(h.chunk_id, h.duplicates) for h in hits] == [
        (1, ["handbook-v2", "handbook-v3"]),
        (3, []),
        (6, []),
    ]
    kept = rank(
        SearchRequest("questions", k=3, mode="dense", duplicates="keep"), [scores], MappingLookup(rows)
    )
    assert [(h.chunk_id, h.duplicates) for h in kept] == [(1, []), (2, []), (5, [])]
    # Pages are cut from the collapsed ranking: the second page goes on where the first stopped.
    second = rank(SearchRequest("questions", k=2, offset=1, mode="dense"), [scores], MappingLookup(rows))
    assert [h.chunk_id for h in second] == [3, 6]
    # A copy scoring what the page's last hit scores (a copy does), just past the page, is named by it.
    tie = _rows({1: ("a", "first"), 2: ("b", "second"), 3: ("c", "second"), 4: ("d", "third")})
    last = rank(SearchRequest("q", k=2, mode="dense"), [{1: 0.9, 2: 0.7, 3: 0.7, 4: 0.7}], MappingLookup(tie))
    assert [(h.chunk_id, h.duplicates) for h in last] == [(1, []), (2, ["c"])]
    # Grouped by document, each document is its own hit: nothing is collapsed.
    documents = rank(
        SearchRequest("q", k=5, mode="dense", group_by="document"), [scores], MappingLookup(rows)
    )
    assert [h.doc_id for h in documents] == ["handbook-v1", "handbook-v2", "handbook-v3", "faq"]


TEXT_CHOICES = ["same", " same ", "same\n", "sa me", "other", "third", "Same", "a b", "a\t\nb", "a\xa0b"]


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.dictionaries(
        st.integers(1, 30),
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(TEXT_CHOICES),
            st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1),  # ties, as copies score
            st.booleans(),
        ),
        min_size=1,
        max_size=20,
    ),
    k=st.integers(1, 4),
    offset=st.integers(0, 2),
    duplicates=st.sampled_from(["collapse", "keep"]),
)
def test_collapsing_matches_a_reference(
    chunks: dict[int, tuple[str, str, float, bool]], k: int, offset: int, duplicates: Any
) -> None:
    """Against a reference: walk the ranking, drop deleted chunks, keep a chunk unless an earlier kept one
    has its text, credit its document to that one, then cut the page; past it, read the last hit's ties."""
    scores = {chunk_id: score for chunk_id, (_, _, score, _) in chunks.items()}
    rows = _rows({c: (doc, text) for c, (doc, text, _, deleted) in chunks.items() if not deleted})
    request = SearchRequest("x", k=k, offset=offset, mode="dense", duplicates=duplicates)
    hits = rank(request, [scores], MappingLookup(rows))

    kept: list[tuple[int, list[str]]] = []
    by_text: dict[str, tuple[str, list[str]]] = {}
    last = None  # the score of the page's last hit, once the page is full: its ties are read too
    for chunk_id, score in top(scores, len(scores)):
        if last is not None and score != last:
            break
        if chunk_id not in rows:
            continue
        row = rows[int(chunk_id)]
        same = row.text
        if duplicates == "collapse" and same in by_text:
            first_doc, others = by_text[same]
            if row.doc_id != first_doc and row.doc_id not in others:
                others.append(row.doc_id)
        elif last is None:
            kept.append((int(chunk_id), []))
            by_text[same] = (row.doc_id, kept[-1][1])
            if len(kept) == offset + k:
                last = score if duplicates == "collapse" else float("nan")  # keep: nothing past the page
    assert [(h.chunk_id, h.duplicates) for h in hits] == kept[offset:]


def test_a_page_is_searched_deeper_only_where_deeper_candidates_could_fill_it() -> None:
    full = Candidates([{1: 0.9, 2: 0.8, 3: 0.7}])  # a side cut at its depth, 3: there are more past it
    request = SearchRequest("q", k=2, mode="dense")
    one = rank(request, full.sides, MappingLookup({1: ROWS[1]}))  # two deleted since
    assert len(one) == 1
    assert cut_short(request, full, one, depth=3)
    assert not cut_short(request, full, one, depth=4)  # the side held every chunk there is
    assert not cut_short(SearchRequest("q", k=1, mode="dense"), full, one, depth=3)  # the page is full
    # A page cut by min_score stays cut: a candidate fell below it, and deeper ones score lower still.
    assert not cut_short(SearchRequest("q", k=2, mode="dense", min_score=0.75), full, one, depth=3)
    assert cut_short(SearchRequest("q", k=2, mode="dense", min_score=0.7), full, one, depth=3)
