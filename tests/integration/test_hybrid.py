"""Hybrid search with the real model: it keeps what each side alone would miss."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from index import Document, Embedder, SearchIndex

pytestmark = pytest.mark.integration

OpenIndex = Callable[..., SearchIndex]

CORPUS = [
    Document("err-1", "Printer error E4711 means the paper tray sensor is dirty; wipe it with a dry cloth."),
    Document(
        "err-2", "Printer error E4702 means the toner cartridge is not seated; push it in until it clicks."
    ),
    Document(
        "err-3", "Printer error E4799 means the fuser is overheating; switch the printer off for an hour."
    ),
    Document(
        "err-4", "Printer error E4650 means the duplex unit is jammed; open the rear door and clear it."
    ),
    Document(
        "err-5", "Printer error E4721 means the network card failed; contact support for a replacement."
    ),
    Document("pets", "Cats spend most of the afternoon asleep on sunny windowsills."),
    Document("bank", "The central bank raised interest rates by half a percentage point."),
    Document("garden", "Tomato plants need full sun, deep watering and a stake to climb."),
]


@pytest.fixture
def index(open_index: OpenIndex, real_embedder: Embedder) -> SearchIndex:
    index = open_index(real_embedder)
    index.upsert(CORPUS)
    return index


def top_ids(index: SearchIndex, query: str, mode: str, k: int = 1) -> list[str]:
    return [hit.doc_id for hit in index.search(query, k=k, mode=mode).hits]


def test_hybrid_finds_an_exact_rare_term_that_dense_misses(index: SearchIndex) -> None:
    query = "what does E4711 mean"
    assert top_ids(index, query, "dense") != ["err-1"], "the premise: dense alone does not rank it first"
    assert top_ids(index, query, "keyword") == ["err-1"]
    assert top_ids(index, query, "hybrid") == ["err-1"]


def test_hybrid_finds_a_paraphrase_that_keyword_misses(index: SearchIndex) -> None:
    query = "where do kittens nap during the day"
    assert "pets" not in top_ids(index, query, "keyword", k=8), "the premise: no shared word"
    assert top_ids(index, query, "dense") == ["pets"]
    assert top_ids(index, query, "hybrid") == ["pets"]


def test_a_phrase_filter_keeps_the_documents_that_hold_the_words_in_order(index: SearchIndex) -> None:
    # A search by meaning for a printer fault, kept to the documents naming one code (or not naming it)
    query = "the printer shows a hardware fault, what should I do"
    only = index.search(query, k=8, filter={"phrase": "E4721"}).hits
    assert {hit.doc_id for hit in only} == {"err-5"}
    others = index.search(query, k=8, filter={"must_not": [{"phrase": "e4721"}]}).hits
    assert "err-5" not in {hit.doc_id for hit in others}
    assert {"err-1", "err-2"} <= {hit.doc_id for hit in others}
    # Words in that order: "toner cartridge" is in err-2, "cartridge toner" nowhere; endings aside
    assert [h.doc_id for h in index.search(query, k=8, filter={"phrase": "toner cartridges"}).hits] == [
        "err-2"
    ]
    assert index.search(query, k=8, filter={"phrase": "cartridge toner"}).hits == []
