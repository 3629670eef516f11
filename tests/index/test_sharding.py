"""Sharding without a cluster: shard ownership, the layout file, and a search over local shards that must
answer exactly like one index holding every document."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import Document, DocumentNotFoundError, IncompatibleIndexError, InvalidInputError, SearchIndex
from index.distributed.sharding import (
    LocalShardWriter,
    ShardedIndex,
    create_layout,
    read_layout,
    reshard,
    shard_of,
    split_by_shard,
)
from index.errors import ReadOnlyIndexError, UnsupportedOperationError
from index.search_index import page_may_continue
from index.types import Hit, Like
from tests.fakes import FakeEmbedder

WORDS = (
    "cat dog river mountain market stock interest rate sediment sea forest rain sun moon star planet "
    "engine wheel road city village bread cheese wine music guitar piano song poem novel author"
).split()


# A larger vocabulary with Zipf-like frequencies, so term statistics behave roughly as in real text.
VOCABULARY = WORDS + [f"{a}{b}" for a in ("bio", "geo", "neo", "astro", "hydro") for b in WORDS]
FREQUENCIES = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def corpus(count: int, seed: int = 7) -> list[Document]:
    rng = random.Random(seed)
    documents = []
    for i in range(count):
        paragraphs = [
            "The " + " ".join(rng.choices(VOCABULARY, FREQUENCIES, k=12)) + "."
            for _ in range(rng.randint(1, 3))
        ]
        documents.append(
            Document(f"doc-{i}", "\n\n".join(paragraphs), f"Title {rng.choice(WORDS)}", {"n": i})
        )
    return documents


QUERIES = ["cat river", "market interest rate", "piano song poem", "forest rain sun moon", "bread cheese"]


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Callable[..., SearchIndex]]:
    indexes: list[SearchIndex] = []

    def factory(data_dir: Path, **kwargs: Any) -> SearchIndex:
        index = SearchIndex.open(data_dir, FakeEmbedder(), **kwargs)
        indexes.append(index)
        return index

    yield factory
    for index in reversed(indexes):
        index.close()


def sharded(
    opened: Callable[..., SearchIndex], root: Path, shards: int
) -> tuple[ShardedIndex, list[SearchIndex]]:
    indexes = [opened(d) for d in create_layout(root, shards)]
    return ShardedIndex(
        FakeEmbedder(), indexes, [LocalShardWriter(i) for i in indexes], data_dir=root
    ), indexes


def both(
    opened: Callable[..., SearchIndex], tmp_path: Path, documents: list[Document], shards: int
) -> tuple[SearchIndex, ShardedIndex, list[SearchIndex]]:
    """The same documents in one index and in a sharded one (and its shards)."""
    single = opened(tmp_path / "single")
    single.upsert(documents)
    cluster, indexes = sharded(opened, tmp_path / "sharded", shards)
    cluster.upsert(documents)
    return single, cluster, indexes


def view(hits: list[Hit]) -> list[tuple[str, int, str, float, list[int]]]:
    """What a client sees of hits, but for chunk ids (a sharded index numbers them differently)."""
    return [(h.doc_id, h.ordinal, h.text, round(h.score, 6), [m.ordinal for m in h.matches]) for h in hits]


def test_shard_of_is_stable_in_range_and_spreads_evenly() -> None:
    # Pinned: a document's shard must never change between releases, or re-indexing would duplicate it.
    assert [shard_of(f"doc-{i}", 4) for i in range(8)] == [0, 1, 2, 2, 3, 3, 2, 1]
    assert {shard_of("x", 1)} == {0}
    counts = [0, 0, 0]
    for i in range(3000):
        counts[shard_of(f"id-{i}", 3)] += 1
    assert all(900 < c < 1100 for c in counts), counts
    groups = split_by_shard(corpus(20), 2)
    assert sorted(d.id for g in groups.values() for d in g) == sorted(d.id for d in corpus(20))
    assert all(shard_of(d.id, 2) == s for s, g in groups.items() for d in g)


def test_shard_of_matches_its_pinned_values() -> None:
    # blake2b-64 of the id, modulo the count: these values are the on-disk contract of every sharded index.
    assert [shard_of(name, 2) for name in ("a", "b", "c", "doc-1", "doc-2")] == [1, 1, 1, 1, 0]
    import hashlib

    for name in ("a", "doc-1", "ünïcode"):
        expected = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big") % 5
        assert shard_of(name, 5) == expected


def test_layout_is_written_once_and_checked(tmp_path: Path) -> None:
    dirs = create_layout(tmp_path / "root", 3)
    assert [d.name for d in dirs] == ["shard-0000", "shard-0001", "shard-0002"]
    assert read_layout(tmp_path / "root") == dirs
    assert create_layout(tmp_path / "root", 3) == dirs
    with pytest.raises(IncompatibleIndexError, match="3 shards, not 2"):
        create_layout(tmp_path / "root", 2)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "semsearch.db").write_text("")
    with pytest.raises(IncompatibleIndexError, match="not empty"):
        create_layout(tmp_path / "plain", 2)
    with pytest.raises(IncompatibleIndexError, match="not a sharded data directory"):
        read_layout(tmp_path / "plain")
    with pytest.raises(InvalidInputError):
        create_layout(tmp_path / "zero", 0)


@pytest.mark.parametrize("group_by", ["chunk", "document"])
def test_two_shards_return_the_same_dense_top_k_as_one_index(
    opened: Callable[..., SearchIndex], tmp_path: Path, group_by: str
) -> None:
    single, cluster, shards = both(opened, tmp_path, corpus(120), 2)
    assert all(s.stats().documents > 30 for s in shards), "both shards hold a fair part"
    pages: dict[float, list[Any]] = {0.0: [], 0.5: []}
    for query in QUERIES:
        for k, offset in ((10, 0), (5, 3)):
            for diversity in pages:
                options: dict[str, Any] = {
                    "mode": "dense",
                    "group_by": group_by,
                    "offset": offset,
                    "diversity": diversity,
                }
                expected = single.search(query, k, **options).hits
                got = cluster.search(query, k, **options).hits
                assert len(got) == k
                assert view(got) == view(expected), query
                pages[diversity].append(view(got))
    assert pages[0.5] != pages[0.0]  # the diverse pages are other pages (their embeddings read from shards)


def test_one_shard_answers_exactly_like_the_index_in_every_mode(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    single, cluster, _ = both(opened, tmp_path, corpus(60), 1)
    for query in QUERIES:
        for options in (
            {"mode": "keyword"},
            {"mode": "hybrid"},
            {"mode": "hybrid", "fusion": "rrf"},
            {"mode": "hybrid", "group_by": "document"},
            {"mode": "dense", "filter": {"field": "n", "lt": 30}},
        ):
            expected = single.search(query, 8, **options).hits
            got = cluster.search(query, 8, **options).hits
            assert [(h.chunk_id, *v) for h, v in zip(got, view(got), strict=True)] == [
                (h.chunk_id, *v) for h, v in zip(expected, view(expected), strict=True)
            ]


def test_hybrid_over_two_shards_finds_nearly_the_same_documents(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    single, cluster, _ = both(opened, tmp_path, corpus(400), 2)
    overlaps = []
    for query in QUERIES:
        expected = {h.doc_id for h in single.search(query, 10, mode="hybrid").hits}
        got = {h.doc_id for h in cluster.search(query, 10, mode="hybrid").hits}
        overlaps.append(len(expected & got) / 10)
    # Keyword scores use each shard's own IDF (documented): the ranking moves a little, not wholesale.
    assert sum(overlaps) / len(overlaps) >= 0.8, overlaps


def test_writes_go_to_the_owning_shard_and_ids_are_global(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    cluster, shards = sharded(opened, tmp_path / "sharded", 2)
    documents = corpus(30)
    results = cluster.upsert(documents)
    assert [r.id for r in results] == [d.id for d in documents]
    assert {r.status for r in results} == {"created"}
    for doc in documents:
        owner = shard_of(doc.id, 2)
        assert shards[owner].get(doc.id).text == doc.text
        with pytest.raises(DocumentNotFoundError):
            shards[1 - owner].get(doc.id)
    assert [r.status for r in cluster.upsert(documents[:3])] == ["unchanged"] * 3
    hit = cluster.search("cat river", 1, mode="dense").hits[0]
    assert hit.chunk_id in {c.chunk_id for c in cluster.get(hit.doc_id).chunks}
    assert cluster.stats().documents == 30
    assert cluster.delete("doc-3") >= 1
    with pytest.raises(DocumentNotFoundError):
        cluster.get("doc-3")
    deleted = cluster.delete_where({"field": "n", "lt": 10})
    assert sorted(deleted) == sorted(f"doc-{i}" for i in range(10) if i != 3)
    assert cluster.stats().documents == 20
    with pytest.raises(UnsupportedOperationError):
        cluster.submit_upsert(documents[:1])
    # A metadata patch goes to the owning shard too
    assert cluster.update_metadata("doc-12", {"n": None, "tag": "x"}).metadata["tag"] == "x"
    assert shards[shard_of("doc-12", 2)].get("doc-12").metadata.get("tag") == "x"
    assert "n" not in cluster.get("doc-12").metadata
    assert [d.id for d in cluster.list_documents(filter_spec={"field": "tag", "eq": "x"})] == ["doc-12"]


def test_a_batch_one_shard_refuses_changes_no_shard(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    cluster, shards = sharded(opened, tmp_path / "sharded", 2)
    good = [d for d in corpus(10) if shard_of(d.id, 2) == 0][:2]
    bad_id = next(f"bad-{i}" for i in range(100) if shard_of(f"bad-{i}", 2) == 1)
    with pytest.raises(InvalidInputError, match="no searchable text"):
        cluster.upsert([*good, Document(bad_id, "---")])
    assert [s.stats().documents for s in shards] == [0, 0]
    with pytest.raises(InvalidInputError, match="appears twice"):
        cluster.upsert([good[0], good[0]])
    reader = ShardedIndex(FakeEmbedder(), shards)
    with pytest.raises(ReadOnlyIndexError):
        reader.upsert(good)


def test_a_read_only_replica_sees_each_acknowledged_write_at_its_next_search(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    writer = opened(tmp_path / "data")
    writer.upsert(corpus(10))
    replica = opened(tmp_path / "data", read_only=True)
    assert replica.stats().documents == 10
    writer.upsert([Document("new", "Zebras gallop across the savanna at dawn.")])
    assert replica.search("zebras savanna", 1, mode="dense").hits[0].doc_id == "new"
    writer.upsert([Document("new", "Penguins huddle together through the polar winter.")])
    hit = replica.search("penguins polar winter", 1, mode="dense").hits[0]
    assert (hit.doc_id, hit.text) == ("new", "Penguins huddle together through the polar winter.")
    writer.delete("new")
    assert all(h.doc_id != "new" for h in replica.search("penguins polar winter", 5, mode="dense").hits)
    assert replica.consistency()["vectors"] == writer.consistency()["vectors"]
    assert not replica.refresh(), "nothing changed since the last search"


def test_reshard_copies_every_document_without_embedding_again(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    documents = corpus(80)
    single = opened(tmp_path / "single")
    single.upsert(documents)
    counter = FakeEmbedder()
    two = [SearchIndex.open(d, counter) for d in create_layout(tmp_path / "two", 2)]
    try:
        assert reshard([single], two) == 80
        assert counter.calls == 0, "nothing is embedded again"
        cluster = ShardedIndex(FakeEmbedder(), two)
        for query in QUERIES:
            expected = single.search(query, 10, mode="dense").hits
            assert view(cluster.search(query, 10, mode="dense").hits) == view(expected)
        owned = [d for d in documents if shard_of(d.id, 2) == 0]
        statuses = {r.status for r in two[0].upsert(owned)}
        assert statuses == {"unchanged"}, (
            "copied content hashes: indexing the same documents again is a no-op"
        )
        three = [opened(d) for d in create_layout(tmp_path / "three", 3)]
        assert reshard(two, three) == 80
        assert sorted(
            h.doc_id for h in ShardedIndex(FakeEmbedder(), three).search("cat", 80, mode="dense").hits
        ) == sorted(h.doc_id for h in single.search("cat", 80, mode="dense").hits)
    finally:
        for index in two:
            index.close()


def test_query_by_example_over_shards_finds_what_one_index_finds(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    """A stored document or chunk as the query, read from the shard that holds it (chunk ids global), on
    the dense side exactly as one index answers it; the example itself left out."""
    single, cluster, _ = both(opened, tmp_path, corpus(80), 2)
    for doc_id in ("doc-3", "doc-41"):
        like = Like(doc_id=doc_id)
        expected = single.search("", 8, like=like, mode="dense").hits
        got = cluster.search("", 8, like=like, mode="dense").hits
        assert view(got) == view(expected)
        assert doc_id not in [h.doc_id for h in got]
        chunk = cluster.get(doc_id).chunks[0].chunk_id
        by_chunk = cluster.search("", 8, like=Like(chunk_id=chunk), mode="dense").hits
        single_chunk = single.get(doc_id).chunks[0].chunk_id
        assert view(by_chunk) == view(
            single.search("", 8, like=Like(chunk_id=single_chunk), mode="dense").hits
        )
        assert chunk not in [h.chunk_id for h in by_chunk]


def test_pages_with_texts_hold_every_document_once_in_id_order(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    """Listing with texts (an export) ends a page early at the text budget; followed while a page may
    continue, the pages give every document once, in id order, from one index and from shards merged
    (where one shard's page ending early must end the merged page too), with or without a filter."""
    rng = random.Random(3)
    documents = [
        Document(f"doc-{i:02}", " ".join(rng.choices(WORDS, k=rng.randint(1, 300))), None, {"n": i % 3})
        for i in range(40)
    ]
    single, cluster, _ = both(opened, tmp_path, documents, 3)
    texts = {d.id: d.text for d in documents}

    @settings(max_examples=150, deadline=None)
    @given(
        limit=st.integers(1, 12),
        budget=st.integers(1, 6000),
        only=st.sampled_from([None, 1]),
        sharded_side=st.booleans(),
    )
    def paging(limit: int, budget: int, only: int | None, sharded_side: bool) -> None:
        listing = cluster if sharded_side else single
        spec = None if only is None else {"field": "n", "eq": only}
        expected = [d.id for d in documents if only is None or d.metadata["n"] == only]
        seen: list[str] = []
        after = None
        with mock.patch("index.search_index.PAGE_TEXT_CHARS", budget):
            while True:
                page = listing.list_documents(after=after, limit=limit, filter_spec=spec, with_text=True)
                assert len(page) <= limit
                assert sum(len(d.text or "") for d in page[:-1]) < budget  # ends at the budget
                assert all(d.text == texts[d.id] for d in page)
                seen.extend(d.id for d in page)
                if not page_may_continue(page, limit):
                    break
                after = page[-1].id
        assert seen == expected

    paging()
    assert all(d.text is None for d in single.list_documents(limit=5))  # no texts unless asked


def test_a_page_cut_short_is_searched_deeper_across_shards(
    opened: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    """The router merges each shard's candidates to the depth one index would look: a page it finds short
    is searched again deeper, as one index's is (index/retrieval/pipeline.py)."""
    filler = " ".join(["the tram route follows the river bank"] * 12)
    long = "\n\n".join(f"Trams run along the river on line {i}. {filler}" for i in range(150))
    documents = [
        Document("long", long),
        *(Document(f"note-{i}", f"Trams stop near district {i}.") for i in range(20)),
    ]
    single, cluster, _ = both(opened, tmp_path, documents, 3)
    assert single.stats().chunks > 150
    for index in (single, cluster):
        hits = index.search(
            "the tram route follows the river bank", k=10, mode="dense", group_by="document"
        ).hits
        assert len(hits) == 10
        assert hits[0].doc_id == "long"
