"""Query by example: a stored document, chunk or passage as the query (index.retrieval.examples)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index import ChunkNotFoundError, Document, DocumentNotFoundError, InvalidInputError, Like, SearchIndex
from index.retrieval.examples import characteristic_terms
from index.storage.keyword import words
from tests.fakes import FakeEmbedder

OpenIndex = Callable[..., SearchIndex]

PARAGRAPHS = {
    "cats-1": "Cats sleep sixteen hours a day. A sleeping cat purrs softly on the warm windowsill.",
    "cats-2": "Kittens sleep even longer than grown cats, and a purring kitten naps on any warm windowsill.",
    "cats-3": "Lions are large cats that hunt at night and sleep through the hot day in the shade.",
    "markets": "Stock markets fell sharply after the central bank raised interest rates again.",
    "bonds": "Bond yields climbed as the central bank signalled further interest rate rises.",
    "rivers": "Rivers carry sediment from the mountains down to the sea, building deltas.",
}

TOPICS = {"markets": "finance", "bonds": "finance"}


def seeded(open_index: OpenIndex, embedder: FakeEmbedder | None = None) -> SearchIndex:
    index = open_index(embedder)
    index.upsert(
        [
            Document(
                doc_id, text, metadata={"topic": "finance" if doc_id in ("markets", "bonds") else "nature"}
            )
            for doc_id, text in PARAGRAPHS.items()
        ]
    )
    return index


def test_like_a_document_finds_its_neighbours_and_leaves_it_out(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    hits = index.search("", k=3, like=Like(doc_id="cats-1")).hits
    assert [h.doc_id for h in hits][:2] == ["cats-2", "cats-3"]
    assert "cats-1" not in [h.doc_id for h in index.search("", k=10, like=Like(doc_id="cats-1")).hits]


def test_like_a_document_needs_no_model_call(open_index: OpenIndex) -> None:
    embedder = FakeEmbedder()
    index = seeded(open_index, embedder)
    calls = embedder.calls
    result = index.search("", k=3, like=Like(doc_id="markets"))
    assert embedder.calls == calls
    assert result.hits[0].doc_id == "bonds"
    assert result.query_pieces == 1


def test_include_self_keeps_the_example_first(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    hits = index.search("", k=3, like=Like(doc_id="rivers", include_self=True), mode="dense").hits
    assert hits[0].doc_id == "rivers"
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)  # vectors kept as float16


def test_like_a_chunk_leaves_out_only_that_chunk(open_index: OpenIndex) -> None:
    index = open_index(FakeEmbedder(max_tokens=8))
    text = "Cats sleep all day long.\n\nCats purr when they sleep.\n\nBanks raise interest rates."
    index.upsert([Document("long", text), Document("other", "A cat sleeps and purrs.")])
    chunks = index.get("long").chunks
    assert len(chunks) == 3
    hits = index.search("", k=5, like=Like(chunk_id=chunks[0].chunk_id)).hits
    found = [h.chunk_id for h in hits]
    assert chunks[0].chunk_id not in found
    assert chunks[1].chunk_id in found  # other chunks of the same document stay


def test_like_text_is_a_query(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    by_text = index.search("", k=3, like=Like(text=PARAGRAPHS["rivers"]))
    by_query = index.search(PARAGRAPHS["rivers"], k=3)
    assert [h.chunk_id for h in by_text.hits] == [h.chunk_id for h in by_query.hits]


def test_like_works_with_filters_grouping_and_paging(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    nature = {"field": "topic", "eq": "nature"}
    hits = index.search("", k=10, like=Like(doc_id="markets"), filter=nature, group_by="document").hits
    assert hits
    assert all(h.metadata["topic"] == "nature" for h in hits)
    whole = index.search("", k=4, like=Like(doc_id="cats-2"), group_by="document").hits
    first = index.search("", k=2, like=Like(doc_id="cats-2"), group_by="document").hits
    second = index.search("", k=2, offset=2, like=Like(doc_id="cats-2"), group_by="document").hits
    assert [h.doc_id for h in first + second] == [h.doc_id for h in whole]
    assert "cats-2" not in [h.doc_id for h in whole]


def test_missing_examples_are_not_found(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    with pytest.raises(DocumentNotFoundError):
        index.search("", like=Like(doc_id="nope"))
    with pytest.raises(ChunkNotFoundError):
        index.search("", like=Like(chunk_id=10**12))


@pytest.mark.parametrize(
    ("query", "like"),
    [
        ("cats", Like(doc_id="cats-1")),  # both
        ("", Like()),  # an empty example
        ("", Like(doc_id="cats-1", chunk_id=1)),  # two examples
        ("", Like(text="   ")),
        ("", Like(text="a\udc80b")),
    ],
)
def test_malformed_examples_are_refused(open_index: OpenIndex, query: str, like: Like) -> None:
    index = seeded(open_index)
    with pytest.raises(InvalidInputError):
        index.search(query, like=like)


# -- the keyword side's words, against a direct computation --------------------------------------------

VOCABULARY = ["cat", "sleep", "purr", "bank", "rate", "river", "delta", "night", "warm", "shade"]


def reference_terms(
    texts: Sequence[str], df: dict[str, int], rows: int, exclude_self: bool, limit: int
) -> list[tuple[float, str]]:
    tf = Counter(w for text in texts for w in words(text))
    own = Counter(w for text in texts for w in set(words(text)))
    scored = []
    for word, count in tf.items():
        if exclude_self and df.get(word, 0) - own[word] <= 0:
            continue
        if not exclude_self and df.get(word, 0) <= 0:
            continue
        frequency = df.get(word, 0)
        scored.append((count * math.log(1 + (rows - frequency + 0.5) / (frequency + 0.5)), word))
    return sorted(scored, reverse=True)[:limit]


@given(
    texts=st.lists(st.lists(st.sampled_from(VOCABULARY), max_size=12).map(" ".join), min_size=1, max_size=4),
    others=st.dictionaries(st.sampled_from(VOCABULARY), st.integers(0, 5)),
    exclude_self=st.booleans(),
    limit=st.integers(1, 6),
)
def test_characteristic_terms_match_a_direct_computation(
    texts: list[str], others: dict[str, int], exclude_self: bool, limit: int
) -> None:
    own = Counter(w for text in texts for w in set(words(text)))
    df = {w: own[w] + others.get(w, 0) for w in VOCABULARY}  # the index holds the example and the others
    rows = len(texts) + 5
    chosen = characteristic_terms(
        texts, lambda terms: [df.get(t, 0) for t in terms], rows, exclude_self=exclude_self, limit=limit
    )
    every = reference_terms(texts, df, rows, exclude_self, len(VOCABULARY))
    expected = every[:limit]
    assert len(chosen) == len(expected)
    # The same scores in the same order (words of equal score may come in either order).
    scores = {word: score for score, word in every}
    assert set(chosen) <= set(own)
    assert [round(s, 9) for s, _ in expected] == [round(scores.get(w, math.nan), 9) for w in chosen]
    if exclude_self:
        assert all(others.get(w, 0) > 0 for w in chosen)
