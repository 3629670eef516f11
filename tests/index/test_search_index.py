from __future__ import annotations

import os
import random
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from index import (
    CorruptIndexError,
    Document,
    DocumentNotFoundError,
    IncompatibleIndexError,
    InvalidInputError,
    SearchIndex,
    SearchRequest,
)
from index.encoders.base import Vectors
from index.encoders.batching import BatchingEmbedder
from index.errors import QueryTimeoutError, ReadOnlyIndexError
from index.ingest.chunking import ChunkingOptions
from index.retrieval.query import MAX_PIECES, LongQuery, embed_queries, informative_terms
from index.retrieval.result_cache import ResultCache
from index.storage.bm25 import MemoryKeywordIndex
from index.storage.layout import check_data_dir
from index.storage.locking import DataDirLockedError
from index.storage.store import Store
from index.storage.vectors import VECTORS_DIR, VectorOptions
from index.types import GroupBy
from tests.fakes import FakeEmbedder

OpenIndex = Callable[..., SearchIndex]

CATS = "Cats sleep sixteen hours a day and purr when content."
MARKETS = "Stock markets fell sharply after the interest rate decision."
RIVERS = "Rivers carry sediment from mountains to the sea."


def seeded(open_index: OpenIndex) -> SearchIndex:
    index = open_index()
    index.upsert(
        [
            Document("cats", CATS, "Cats", {"topic": "animals"}),
            Document("markets", MARKETS, "Markets"),
            Document("rivers", RIVERS),
        ]
    )
    return index


def test_search_returns_the_matching_chunk_with_offsets(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    result = index.search("when do cats sleep", k=2)
    top = result.hits[0]
    assert top.doc_id == "cats"
    assert (top.start, top.end) == (0, len(CATS))
    assert top.text == CATS
    assert top.title == "Cats"
    assert top.metadata == {"topic": "animals"}
    assert len(result.hits) == 2
    assert result.hits[0].score >= result.hits[1].score
    assert result.took_ms > 0


def test_upsert_reports_created_updated_unchanged(open_index: OpenIndex) -> None:
    embedder = FakeEmbedder()
    index = open_index(embedder)
    assert [r.status for r in index.upsert([Document("a", CATS)])] == ["created"]
    calls = embedder.calls
    assert [r.status for r in index.upsert([Document("a", CATS)])] == ["unchanged"]
    assert embedder.calls == calls, "an unchanged document is not embedded again"
    results = index.upsert([Document("a", MARKETS), Document("b", RIVERS)])
    assert [(r.status, r.chunks) for r in results] == [("updated", 1), ("created", 1)]


def test_upsert_replaces_the_old_chunks(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    index.upsert([Document("cats", "Dogs fetch sticks in the park every morning.")])
    hits = index.search("cats sleep purr", k=3).hits
    assert all("sleep" not in hit.text for hit in hits)
    assert index.stats().chunks == 3
    assert index.get("cats").text.startswith("Dogs")


def test_delete_removes_from_results_at_once(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    assert index.delete("cats") == 1
    assert all(hit.doc_id != "cats" for hit in index.search("cats sleep", k=10).hits)
    with pytest.raises(DocumentNotFoundError):
        index.get("cats")
    with pytest.raises(DocumentNotFoundError):
        index.delete("cats")
    assert index.stats().documents == 2


def test_offset_k_and_min_score(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    everything = index.search("cats sleep", k=3).hits
    assert [h.chunk_id for h in index.search("cats sleep", k=1, offset=1).hits] == [everything[1].chunk_id]
    assert index.search("cats sleep", k=3, offset=5).hits == []
    strong = index.search("cats sleep", k=3, min_score=everything[0].score - 1e-6).hits
    assert [h.doc_id for h in strong] == ["cats"]


def test_batch_search_answers_each_query(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    results = index.search_batch([SearchRequest("cats sleep", 1), SearchRequest("stock markets fell", 2)])
    assert [r.hits[0].doc_id for r in results] == ["cats", "markets"]
    assert [len(r.hits) for r in results] == [1, 2]


def _nested(depth: int) -> dict[str, object]:
    """Metadata ``depth`` objects deep."""
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ([Document("", "text")], "the id is empty"),
        ([Document("a/../b", "text")], "'..' segment"),
        ([Document("./a", "text")], "'..' segment"),
        ([Document("a\x00b", "text")], "NUL"),
        ([Document("report\n2026", "text")], "control character"),
        ([Document("a", "text", metadata={"tenant": "acme\x00evil"})], "NUL"),
        ([Document("a", "text", metadata={"k\x00": 1})], "NUL"),
        ([Document("a", "text", title="t\x00")], "NUL"),
        ([Document("a", "te\x00xt")], "NUL"),
        ([Document("a", "text", metadata={"n": 2**53})], "outside"),
        ([Document("a", "text", metadata={"n": [-(2**64)]})], "outside"),
        ([Document("a", "text", metadata=_nested(33))], "deeper than 32"),
        ([Document("a", "text", metadata={"big": "x" * 70_000})], "bytes as JSON"),
        ([Document("a", "   \n ")], "no text"),
        ([Document("a", "x"), Document("a", "y")], "twice"),
        ([Document("a" * 600, "text")], "longer than"),
        ([Document("a", "text", metadata={"bad": float("nan")})], "not a finite number"),
        ([Document("a", "text \ud800")], "UTF-8"),
        ([Document("ok", CATS), Document("a", "---")], "no searchable text"),
    ],
)
def test_invalid_documents_change_nothing(
    open_index: OpenIndex, documents: list[Document], message: str
) -> None:
    index = seeded(open_index)
    with pytest.raises(InvalidInputError, match=message):
        index.upsert(documents)
    assert index.stats().documents == 3
    with pytest.raises(DocumentNotFoundError):
        index.get("ok")


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest("   "), "empty"),
        (SearchRequest("cats", k=0), "k must"),
        (SearchRequest("cats", offset=-1), "offset"),
        (SearchRequest("bad \udc80 query"), "UTF-8"),
    ],
)
def test_invalid_queries_are_rejected(open_index: OpenIndex, request_: SearchRequest, message: str) -> None:
    index = seeded(open_index)
    with pytest.raises(InvalidInputError, match=message):
        index.search_batch([request_])


def test_reopen_keeps_everything_and_uses_the_saved_vectors(open_index: OpenIndex, tmp_path: Path) -> None:
    index = seeded(open_index)
    before = index.search("cats sleep", k=3)
    index.close()
    reopened = open_index()
    assert reopened.stats().documents == 3
    assert reopened.search("cats sleep", k=3).hits == before.hits


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_lost_or_damaged_vectors_are_rebuilt_from_the_store(
    open_index: OpenIndex, tmp_path: Path, damage: str
) -> None:
    index = seeded(open_index)
    before = index.search("rivers sediment", k=3).hits
    index.close()
    for path in (tmp_path / "data" / VECTORS_DIR).iterdir():
        if damage == "delete":
            path.unlink()
        elif damage == "truncate":
            path.write_bytes(path.read_bytes()[:100])
        else:
            path.write_bytes(b"not a faiss index at all")
    assert open_index().search("rivers sediment", k=3).hits == before


def test_writes_after_the_last_save_are_not_lost(open_index: OpenIndex, tmp_path: Path) -> None:
    index = seeded(open_index)
    index.save()
    index.upsert([Document("late", "A late document about volcanoes erupting.")])
    index.delete("markets")
    # A copy of the directory as it is now, without close(): the saved vectors are behind the database,
    # as after a crash.
    shutil.copytree(tmp_path / "data", tmp_path / "crashed")
    reopened = open_index(data_dir=tmp_path / "crashed")
    assert reopened.search("volcanoes erupting", k=1).hits[0].doc_id == "late"
    assert all(hit.doc_id != "markets" for hit in reopened.search("stock markets", k=10).hits)


def test_opening_with_another_model_is_refused(open_index: OpenIndex) -> None:
    seeded(open_index).close()
    with pytest.raises(IncompatibleIndexError, match="fake/bag-of-words"):
        open_index(FakeEmbedder(model_id="other/model"))
    with pytest.raises(IncompatibleIndexError, match="dimension"):
        open_index(FakeEmbedder(dim=32))


def test_long_documents_are_chunked_and_found_by_their_middle(open_index: OpenIndex) -> None:
    paragraphs = [
        f"Paragraph {i} talks about subject{i} in some detail with filler words." for i in range(40)
    ]
    text = "\n\n".join(paragraphs)
    index = open_index(FakeEmbedder(max_tokens=40))
    chunks = index.upsert([Document("long", text)])[0].chunks
    assert chunks > 5
    hit = index.search("subject23", k=1).hits[0]
    assert "subject23" in text[hit.start : hit.end]
    stored = index.get("long")
    assert [c.ordinal for c in stored.chunks] == list(range(chunks))


def test_one_writer_at_a_time_and_readers_need_no_lock(open_index: OpenIndex, tmp_path: Path) -> None:
    """Two openers of one directory (say the CLI while the service runs): the second writer is refused, a
    reader is not, and the lock goes with the writer."""
    service = seeded(open_index)
    with pytest.raises(DataDirLockedError, match="only one writer may use a data directory"):
        open_index()
    with pytest.raises(DataDirLockedError):
        check_data_dir(tmp_path / "data", FakeEmbedder().model_id)
    check_data_dir(tmp_path / "data", FakeEmbedder().model_id, read_only=True)
    service.upsert([Document("volcanoes", "Volcanoes erupt lava and ash.")])
    service.close()
    reader = open_index(read_only=True)
    assert reader.search("volcanoes erupt lava", k=1).hits[0].doc_id == "volcanoes"
    for write in (
        lambda: reader.upsert([Document("x", "y")]),
        lambda: reader.delete("cats"),
        lambda: reader.delete_where({"field": "topic", "eq": "animals"}),
        lambda: reader.submit_upsert([Document("x", "y")]),
    ):
        with pytest.raises(ReadOnlyIndexError, match="read-only"):
            write()
    writer = open_index()  # the reader holds no lock
    writer.delete("cats")
    assert reader.stats().documents == 3  # a reader sees the store as it is now, and no deleted hit
    assert [h.doc_id for h in reader.search("cats purr", k=5).hits if h.doc_id == "cats"] == []


def test_read_only_refuses_a_directory_without_an_index(open_index: OpenIndex, tmp_path: Path) -> None:
    with pytest.raises(CorruptIndexError, match="read-only"):
        open_index(data_dir=tmp_path / "empty", read_only=True)
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_that_is_not_a_database_is_called_so(tmp_path: Path, read_only: bool) -> None:
    """Not SQLite's own error: what is wrong and what to do (the header is read as the database opens)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "semsearch.db").write_bytes(bytes(range(256)) * 32)
    with pytest.raises(CorruptIndexError, match=r"cannot be read \(file is not a database\); restore it"):
        Store(tmp_path / "data" / "semsearch.db", read_only=read_only)


def test_keyword_vector_and_store_sides_agree_after_random_writes(open_index: OpenIndex) -> None:
    rng = random.Random(7)
    index = open_index(FakeEmbedder(max_tokens=24))
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    alive: set[str] = set()
    for step in range(200):
        doc_id = f"d{rng.randrange(30)}"
        if doc_id in alive and rng.random() < 0.35:
            index.delete(doc_id)
            alive.discard(doc_id)
        else:
            paragraphs = [
                " ".join(rng.choices(words, k=rng.randrange(3, 40))) + "." for _ in range(rng.randrange(1, 4))
            ]
            index.upsert([Document(doc_id, "\n\n".join(paragraphs), metadata={"step": step})])
            alive.add(doc_id)
    sides = index.consistency()
    assert sides["store"] == sides["keyword"] == sides["vectors"]
    assert index.keyword_documents_consistent()
    assert index.stats().documents == len(alive)
    for doc_id in {f"d{i}" for i in range(30)} - alive:
        assert all(hit.doc_id != doc_id for hit in index.search("alpha beta", k=100, mode="keyword").hits)


@pytest.mark.parametrize("background", [True, False])
def test_vector_index_rebuilds_to_hnsw_and_back_keep_every_write(
    open_index: OpenIndex, tmp_path: Path, background: bool
) -> None:
    """Tiny thresholds force many rebuilds (flat -> HNSW -> flat) while writes go on; nothing is lost."""
    rng = random.Random(11)
    options = VectorOptions(ann_threshold=40, merge_minimum=8, merge_fraction=0.2, hnsw_m=8)
    index = open_index(FakeEmbedder(max_tokens=24), vectors=options)
    index.background_merges = background
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    alive: set[str] = set()
    kinds = set()
    for step in range(300):
        doc_id = f"d{rng.randrange(60 if step < 200 else 12)}"  # grow, then shrink
        if doc_id in alive and (rng.random() < 0.3 or step >= 200):
            index.delete(doc_id)
            alive.discard(doc_id)
        else:
            text = "\n\n".join(" ".join(rng.choices(words, k=12)) + "." for _ in range(rng.randrange(1, 3)))
            index.upsert([Document(doc_id, text, metadata={"step": step})])
            alive.add(doc_id)
        kinds.add(index.stats().index_type)
        if step % 50 == 49:
            index.wait_for_merges()
            sides = index.consistency()
            assert sides["store"] == sides["vectors"]
    index.wait_for_merges()
    assert {"flat-float16", "hnsw-float16"} <= kinds
    sides = index.consistency()
    assert sides["store"] == sides["keyword"] == sides["vectors"]
    exact = index.search("alpha beta gamma", k=5, mode="dense", exact=True).hits
    index.close()
    reopened = open_index(FakeEmbedder(max_tokens=24), vectors=options)
    assert reopened.consistency()["vectors"] == sides["store"]
    assert reopened.search("alpha beta gamma", k=5, mode="dense", exact=True).hits == exact


def test_a_stale_saved_index_is_brought_up_to_date_not_rebuilt(
    open_index: OpenIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As after a crash: the saved vectors are from before the last writes; opening repairs them."""
    index = seeded(open_index)
    index.save()
    saved = {p.name: p.read_bytes() for p in (tmp_path / "data" / VECTORS_DIR).iterdir()}
    state = (tmp_path / "data" / "vectors.json").read_bytes()
    index.delete("cats")
    index.upsert([Document("volcanoes", "Volcanoes erupt lava and ash.")])
    index.close()
    shutil.rmtree(tmp_path / "data" / VECTORS_DIR)
    (tmp_path / "data" / VECTORS_DIR).mkdir()
    for name, data in saved.items():
        (tmp_path / "data" / VECTORS_DIR / name).write_bytes(data)
    (tmp_path / "data" / "vectors.json").write_bytes(state)
    with caplog.at_level("WARNING"):
        reopened = open_index()
    assert "removed 1 vectors and added 1" in caplog.text
    sides = reopened.consistency()
    assert sides["store"] == sides["vectors"]
    assert reopened.search("volcanoes erupt lava", k=1).hits[0].doc_id == "volcanoes"


def test_a_deleted_chunk_never_comes_back_from_the_keyword_side(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    assert index.search("sediment", mode="keyword").hits[0].doc_id == "rivers"
    index.upsert([Document("rivers", "Lakes are still.")])
    assert index.search("sediment", mode="keyword").hits == []
    index.delete("rivers")
    assert index.search("lakes", mode="keyword").hits == []


def test_keyword_mode_finds_exact_terms_and_ignores_operators(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    assert [h.doc_id for h in index.search("sediment", mode="keyword").hits] == ["rivers"]
    assert index.search('the AND "OR" NEAR(x y) -- *', mode="keyword").hits == []
    assert index.search("the of and", mode="keyword").hits == []  # stop words only


def test_filtered_search_still_returns_k_hits_when_they_exist(open_index: OpenIndex) -> None:
    index = open_index()
    documents = [
        Document(f"d{i}", f"Shared words about cats and sleep number {i}.", metadata={"rare": i % 100 == 0})
        for i in range(500)
    ]
    index.upsert(documents)
    only_rare = {"field": "rare", "eq": True}
    for mode in ("dense", "keyword", "hybrid"):
        hits = index.search("cats sleep", k=5, mode=mode, filter=only_rare).hits
        assert sorted(h.doc_id for h in hits) == ["d0", "d100", "d200", "d300", "d400"], mode


def test_group_by_document_returns_one_hit_per_document(open_index: OpenIndex) -> None:
    index = open_index(FakeEmbedder(max_tokens=12))
    text = "\n\n".join(f"Paragraph {i} mentions cats and more filler words here." for i in range(6))
    index.upsert([Document("many", text), Document("one", "Cats once.")])
    chunk_hits = index.search("cats", k=10).hits
    assert len({h.doc_id for h in chunk_hits}) < len(chunk_hits)
    doc_hits = index.search("cats", k=10, group_by="document").hits
    assert sorted(h.doc_id for h in doc_hits) == ["many", "one"]
    many = next(h for h in doc_hits if h.doc_id == "many")
    assert 1 < len(many.matches) <= 3
    assert many.chunk_id == many.matches[0].chunk_id


def test_a_page_cut_short_by_its_candidates_is_searched_deeper(open_index: OpenIndex) -> None:
    """One long document's chunks filled the dense side's 100 candidates, so a search by document found it
    alone where 21 documents match; 120 copies of a footer filled both sides, and collapsed to one hit
    they made a page of one."""
    index = open_index(FakeEmbedder(max_tokens=12))
    long = "\n\n".join(f"Trams run along the river, line {i}." for i in range(150))
    others = [Document(f"note-{i}", f"Trams stop near district {i}.") for i in range(20)]
    index.upsert([Document("long", long), *others])
    for mode in ("dense", "hybrid", "keyword"):
        hits = index.search("trams river", k=10, mode=mode, group_by="document").hits
        assert len(hits) == 10, mode
        assert hits[0].doc_id == "long", mode
    footer = "All rights reserved by the city transit authority."
    index.upsert(
        [Document(f"page-{i}", f"Timetable {i} changes for the routes.\n\n{footer}") for i in range(120)]
    )
    dense = index.search("rights reserved transit authority", k=10, mode="dense").hits
    assert len(dense) == 10
    assert (dense[0].text, len(dense[0].duplicates)) == (footer, 119)
    assert footer not in [hit.text for hit in dense[1:]]
    # Only the footer holds these words: one hit, however deep the keyword side looks.
    keyword = index.search("rights reserved transit authority", k=10, mode="keyword").hits
    assert [(hit.text, len(hit.duplicates)) for hit in keyword] == [(footer, 119)]


def test_delete_by_filter(open_index: OpenIndex) -> None:
    index = seeded(open_index)
    assert index.delete_where({"field": "topic", "eq": "animals"}) == ["cats"]
    assert index.delete_where({"field": "topic", "eq": "animals"}) == []
    assert index.stats().documents == 2
    assert index.consistency()["keyword"] == index.consistency()["store"]


class RecordingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(max_tokens=40)
        self.documents: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        self.documents.extend(texts)
        return super().embed_documents(texts)


def test_title_context_is_embedded_but_not_stored(open_index: OpenIndex) -> None:
    embedder = RecordingEmbedder()
    index = open_index(embedder, chunking=ChunkingOptions(title_context=True, min_tokens=0))
    text = "First paragraph about rivers and lakes.\n\n" + "Second paragraph about deltas and estuaries."
    index.upsert([Document("geo", text, "Water"), Document("untitled", "No title here.")])
    assert embedder.documents == [
        "Water\n\nFirst paragraph about rivers and lakes.",
        "Water\n\nSecond paragraph about deltas and estuaries.",
        "No title here.",
    ]
    assert [c.text for c in index.get("geo").chunks] == text.split("\n\n")


def test_title_context_is_off_by_default(open_index: OpenIndex) -> None:
    embedder = RecordingEmbedder()
    open_index(embedder).upsert([Document("geo", "Rivers flow.", "Water")])
    assert embedder.documents == ["Rivers flow."]


def test_metadata_32_levels_deep_is_accepted_and_reads_back(open_index: Callable[..., SearchIndex]) -> None:
    index = open_index()
    index.upsert([Document("deep", CATS, metadata=_nested(32))])
    assert index.get("deep").metadata == _nested(32)


def test_an_upsert_of_an_unchanged_document_deleted_meanwhile_writes_it_again(
    open_index: Callable[..., SearchIndex],
) -> None:
    """An upsert found the document unchanged, then a concurrent delete removed it before the upsert
    answered: the upsert is ordered after the delete and writes the document (it used to raise KeyError)."""
    index = open_index()
    doc = Document("cats", CATS)
    index.upsert([doc])
    index.delete("cats")
    # What the upsert does after its check found nothing to embed: write nothing, report the rest.
    results = index.write_prepared([doc], [])
    assert [(r.id, r.status) for r in results] == [("cats", "created")]
    assert index.get("cats").text == CATS


def test_a_filter_that_takes_too_long_is_stopped(open_index: Callable[..., SearchIndex]) -> None:
    """SQLite's progress handler ends a filtered search past its time limit with a clear error, and the
    thread's connection works normally afterwards."""
    index = open_index()
    index.upsert([Document(f"d{i}", f"Rivers and mountains {i}.", metadata={"n": i}) for i in range(600)])
    heavy = {"should": [{"field": "n", "in": list(range(1024))}, {"field": "n", "gte": 5}]}
    index.filter_timeout = 1e-9
    with pytest.raises(QueryTimeoutError, match="SEMSEARCH_FILTER_TIMEOUT_MS"):
        index.search("rivers", k=5, mode="keyword", filter=heavy)
    with pytest.raises(QueryTimeoutError):
        index.delete_where(heavy)
    with pytest.raises(QueryTimeoutError, match="counting the values of 'n' over the documents took"):
        index.facet("n")  # a facet reads every document's metadata: under the same limit
    assert index.stats().documents == 600
    index.filter_timeout = 5.0
    assert len(index.search("rivers", k=5, mode="hybrid", filter=heavy).hits) == 5
    assert index.facet("n", filter_spec=heavy, limit=1).distinct == 600


@pytest.mark.parametrize("strategy", ["first", "mean", "max"])
def test_a_query_longer_than_the_model_reads_is_answered_in_pieces(
    open_index: Callable[..., SearchIndex], strategy: str
) -> None:
    """The fake model reads 128 words: a 300-word query is three pieces, answered on every side, and the
    response says so. (The query used to be refused.)"""
    index = seeded(open_index)
    index.long_query = strategy  # type: ignore[assignment]
    query = "cats sleep " * 150
    for mode in ("dense", "keyword", "hybrid"):
        result = index.search(query, k=2, mode=mode)
        assert result.query_pieces == 3
        assert result.hits[0].doc_id == "cats", (strategy, mode)
    assert index.search("cats sleep", k=1).query_pieces == 1


def test_max_similarity_scores_a_chunk_by_its_best_piece(open_index: Callable[..., SearchIndex]) -> None:
    """Pieces about different things: the first window alone finds only the first topic; max-similarity
    finds each document the pieces are about."""
    index = open_index()
    index.upsert([Document("cats", CATS), Document("stocks", "Stock markets fell sharply on Monday.")])
    query = "cats sleep " * 64 + "stock markets fell " * 60  # 128 + 180 words: two pieces
    index.long_query = "first"
    first = [hit.doc_id for hit in index.search(query, k=2, mode="dense").hits]
    index.long_query = "max"
    best = {hit.doc_id: hit.score for hit in index.search(query, k=2, mode="dense").hits}
    assert first[0] == "cats"
    assert set(best) == {"cats", "stocks"}
    # Each scored by its own piece alone, as if that piece had been the whole query.
    alone = index.search("cats sleep " * 64, k=1, mode="dense").hits[0]
    assert best["cats"] == pytest.approx(alone.score, abs=1e-6)


def test_a_long_query_keeps_its_most_informative_terms() -> None:
    """Above the bound, the terms found in the fewest chunks stay, in their order; unknown ones go first."""
    terms = [f"t{i}" for i in range(40)]
    frequencies = {f"t{i}": i for i in range(40)}
    kept = informative_terms(terms, lambda ts: [frequencies[t] for t in ts], limit=5)
    assert kept == ["t1", "t2", "t3", "t4", "t5"]  # t0 occurs nowhere: it matches nothing
    assert informative_terms(terms[:5], lambda ts: [0] * len(ts), limit=5) == terms[:5]


@pytest.mark.parametrize("group_by", ["chunk", "document"])
def test_a_lone_hybrid_search_runs_its_sides_side_by_side_with_the_same_result(
    open_index: OpenIndex, group_by: GroupBy
) -> None:
    index = open_index()
    words = "river sediment sea delta mud stone bridge town salt mineral mountain mouth".split()
    rng = random.Random(7)
    index.upsert(
        [
            Document(
                f"d{i}", " ".join(rng.choices(words, k=30)) + ".\n\n" + " ".join(rng.choices(words, k=20))
            )
            for i in range(30)
        ]
    )
    assert index.wait_for_keyword_index()
    queries = ["river sediment", "salt sea mineral", "stone bridge in town", "mud"]
    requests = [SearchRequest(q, 5, group_by=group_by) for q in queries]
    alone = [index.search_batch([request])[0].hits for request in requests]  # one search at a time
    assert any(t.name.startswith("semsearch-dense") for t in threading.enumerate())
    together = [result.hits for result in index.search_batch(requests)]  # a batch: each side in turn
    assert alone == together
    assert all(alone)


def test_lone_searches_of_many_indexes_share_the_process_s_dense_threads(
    open_index: OpenIndex, tmp_path: Path
) -> None:
    """Each open collection once started a thread of its own for its dense side: a thousand collections, a
    thousand threads. The threads are the process's now, one a core at most."""
    for i in range(12):
        index = open_index(data_dir=tmp_path / f"c{i}")
        index.upsert([Document(f"d{i}", "river sediment and sea salt"), Document("e", "stone bridge")])
        assert index.wait_for_keyword_index()
        assert index.search("river salt", 2).hits
    helpers = [t for t in threading.enumerate() if t.name.startswith("semsearch-dense")]
    assert 1 <= len(helpers) <= (os.cpu_count() or 2)


class _WatchingEmbedder(FakeEmbedder):
    """A fake model call that waits (a little) for a keyword search to happen meanwhile, and notes whether
    one did: ``keyword_searched`` is released once per keyword search."""

    def __init__(self) -> None:
        super().__init__()
        self.keyword_searched = threading.Semaphore(0)
        self.saw: list[bool] = []

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self.saw.append(self.keyword_searched.acquire(timeout=0.2))
        return super().embed_queries(texts)


@pytest.mark.parametrize("group_by", ["chunk", "document"])
def test_a_hybrid_search_finds_its_keyword_side_while_its_query_embeds(
    open_index: OpenIndex, tmp_path: Path, group_by: GroupBy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an embedder that works on a thread of its own (as the service's does), an unfiltered hybrid
    search's keyword side is searched while its query embeds; the results are those of an index whose
    embedder has no thread."""
    words = "river sediment sea delta mud stone bridge town salt mineral mountain mouth".split()
    rng = random.Random(11)
    documents = [
        Document(f"d{i}", " ".join(rng.choices(words, k=30)) + ".\n\n" + " ".join(rng.choices(words, k=20)))
        for i in range(30)
    ]
    plain = open_index(data_dir=tmp_path / "plain")
    plain.upsert(documents)
    watching = _WatchingEmbedder()
    overlapped = open_index(BatchingEmbedder(watching, cache_size=0), data_dir=tmp_path / "overlapped")
    overlapped.upsert(documents)
    search = MemoryKeywordIndex.search

    def noted(self: MemoryKeywordIndex, *args: Any, **kwargs: Any) -> Any:
        if self is overlapped._keywords:
            watching.keyword_searched.release()
        return search(self, *args, **kwargs)

    monkeypatch.setattr(MemoryKeywordIndex, "search", noted)
    requests = [
        SearchRequest("river sediment", 5, group_by=group_by),
        SearchRequest("salt sea mineral", 3, offset=2, group_by=group_by),
        SearchRequest("mud", 5, mode="dense", group_by=group_by),
        SearchRequest("delta mouth", 5, filter={"field": "missing", "exists": False}, group_by=group_by),
        SearchRequest("stone bridge in town", 4, mode="keyword", group_by=group_by),  # nothing to embed
    ]
    for request in requests:
        assert overlapped.search_batch([request])[0].hits == plain.search_batch([request])[0].hits
    together = [result.hits for result in overlapped.search_batch(requests)]
    assert together == [result.hits for result in plain.search_batch(requests)]
    # The two hybrid searches alone, the dense one, the filtered one (FTS5 answers it after), the batch.
    assert watching.saw == [True, True, False, False, True]


@pytest.mark.parametrize("strategy", ["mean", "max"])
def test_a_query_embeds_at_most_max_pieces_windows_however_long(strategy: LongQuery) -> None:
    """The length limit is a setting; the model's work for one query is not: 70 windows are counted, the
    first MAX_PIECES embedded."""
    embedder = FakeEmbedder(max_tokens=4)
    seen: list[int] = []
    embed = embedder.embed_queries

    def counting(texts: Sequence[str]) -> Vectors:
        seen.append(len(texts))
        return embed(texts)

    embedder.embed_queries = counting  # type: ignore[method-assign]
    vectors, pieces = embed_queries(embedder, [SearchRequest("cats sleep all day " * 70)], strategy)
    assert pieces == [70]
    assert seen == [MAX_PIECES]
    assert vectors[0] is not None
    assert len(vectors[0]) == (1 if strategy == "mean" else MAX_PIECES)


def test_a_metadata_patch_changes_only_the_metadata(open_index: OpenIndex, tmp_path: Path) -> None:
    index = open_index()
    index.result_cache = ResultCache(1 << 20)
    index.upsert([Document("cats", CATS, metadata={"kind": "pets", "draft": True, "source": {"page": 1}})])
    index.upsert([Document("rivers", RIVERS, metadata={"kind": "nature"})])
    reviewed = {"field": "tags", "eq": "reviewed"}
    assert index.search("cats", filter=reviewed).hits == []  # and now the result is in the cache
    chunk_ids = [chunk.chunk_id for chunk in index.get("cats").chunks]

    summary = index.update_metadata("cats", {"tags": ["reviewed"], "draft": None, "source": {"line": 3}})
    expected = {"kind": "pets", "tags": ["reviewed"], "source": {"page": 1, "line": 3}}
    assert (summary.id, summary.metadata, summary.chunks) == ("cats", expected, len(chunk_ids))
    stored = index.get("cats")
    assert stored.metadata == expected
    assert [chunk.chunk_id for chunk in stored.chunks] == chunk_ids  # nothing re-chunked or re-embedded
    assert [hit.doc_id for hit in index.search("cats", filter=reviewed).hits] == ["cats"]  # not the cached
    # The content hash follows: the document as patched is unchanged, as it was is a change
    assert index.upsert([Document("cats", CATS, metadata=expected)])[0].status == "unchanged"
    old = {"kind": "pets", "draft": True, "source": {"page": 1}}
    assert index.upsert([Document("cats", CATS, metadata=old)])[0].status == "updated"

    # A patch that changes nothing writes nothing: cached results (and replicas) stay valid, the time stays
    index.search("cats")
    listed = index.list_documents(limit=10)
    for same in ({}, {"kind": "pets"}, {"absent": None}, {"source": {"page": 1}}):
        assert index.update_metadata("cats", same).metadata == old
    assert index.list_documents(limit=10) == listed
    assert index.search("cats").cached
    assert index.update_metadata("cats", {"draft": 1}).metadata["draft"] == 1  # 1 is not true
    assert not index.search("cats").cached
    index.update_metadata("cats", {"draft": True})

    # Refused, changing nothing: a bad patch, metadata too large once patched, a document that is not there
    with pytest.raises(InvalidInputError, match="NUL"):
        index.update_metadata("cats", {"a": "x\x00"})
    with pytest.raises(InvalidInputError, match="65536"):
        index.update_metadata("cats", {f"k{i}": "x" * 1000 for i in range(70)})
    with pytest.raises(DocumentNotFoundError):
        index.update_metadata("dogs", {"kind": "pets"})
    assert index.get("cats").metadata == old
    index.close()
    reopened = open_index(data_dir=tmp_path / "data", read_only=True)
    assert reopened.get("cats").metadata == old
    with pytest.raises(ReadOnlyIndexError):
        reopened.update_metadata("cats", {"kind": "x"})
