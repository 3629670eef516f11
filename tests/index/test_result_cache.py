"""The result cache: a search made again is answered from it, and never with a result from before a write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cachetools import LRUCache
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index import Document, SearchIndex, SearchRequest
from index.errors import InvalidInputError
from index.retrieval.filters import compile_filter
from index.retrieval.result_cache import ResultCache, key_size, request_key, result_size
from index.types import Hit, Like, SearchResult, Span

WORDS = ["cats", "dogs", "sleep", "bark", "tram", "harbour", "bridge", "rain"]
DOCS = [
    Document("a", "Cats sleep most of the day.\n\nDogs bark at the tram.", metadata={"lang": "en", "n": 1}),
    Document("b", "The harbour bridge opened in rain.", metadata={"lang": "en", "n": 2}),
    Document("c", "Dogs sleep when it rains on the harbour.", metadata={"lang": "de", "n": 3}),
]


def cached_index(open_index: Callable[..., SearchIndex], max_bytes: int = 1 << 20) -> SearchIndex:
    index = open_index()
    index.result_cache = ResultCache(max_bytes)
    return index


def uncached(index: SearchIndex, request: SearchRequest) -> SearchResult:
    """The reference: the same search with the caches out of the way (whole results, filters' chunks)."""
    cache, index.result_cache = index.result_cache, None
    chunks, index.filter_chunks = index.filter_chunks, None
    try:
        return index.search_batch([request])[0]
    finally:
        index.result_cache, index.filter_chunks = cache, chunks


def hits(result: SearchResult) -> list[tuple[str, int, float, tuple[int, int]]]:
    return [
        (h.doc_id, h.chunk_id, round(h.score, 6), (h.highlight.start, h.highlight.end)) for h in result.hits
    ]


def test_a_search_made_again_is_answered_from_the_cache(open_index: Callable[..., SearchIndex]) -> None:
    index = cached_index(open_index)
    index.upsert(DOCS)
    first = index.search("dogs sleep", k=3)
    again = index.search("dogs sleep", k=3)
    assert not first.cached
    assert again.cached
    assert hits(again) == hits(first)
    assert again.timings.encode_ms == again.timings.search_ms == again.timings.rank_ms == 0
    kept = hits(first)
    first.hits.clear()  # a caller's edits to its own list do not reach the cache
    again.hits.clear()
    assert hits(index.search("dogs sleep", k=3)) == kept
    other = index.search("dogs sleep", k=2)  # another request: searched
    assert not other.cached
    assert hits(other) == kept[:2]


def test_every_write_moves_the_cache_on(open_index: Callable[..., SearchIndex]) -> None:
    index = cached_index(open_index)
    index.upsert(DOCS)
    assert "d" not in {h.doc_id for h in index.search("tram harbour", k=5).hits}
    index.upsert([Document("d", "The tram to the harbour.")])
    after_upsert = index.search("tram harbour", k=5)
    assert not after_upsert.cached
    assert after_upsert.hits[0].doc_id == "d"
    index.delete("d")
    after_delete = index.search("tram harbour", k=5)
    assert not after_delete.cached
    assert "d" not in {h.doc_id for h in after_delete.hits}
    index.delete_where({"field": "lang", "eq": "de"})
    assert "c" not in {h.doc_id for h in index.search("dogs sleep", k=5).hits}


def test_a_replica_sees_its_writers_commits_through_the_cache(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    writer = open_index()
    writer.upsert(DOCS)
    replica = open_index(read_only=True)
    replica.result_cache = ResultCache(1 << 20)
    assert replica.search("tram harbour", k=5).hits[0].doc_id != "d"
    assert replica.search("tram harbour", k=5).cached
    writer.upsert([Document("d", "The tram to the harbour.")])
    seen = replica.search("tram harbour", k=5)
    assert not seen.cached
    assert seen.hits[0].doc_id == "d"


def test_an_index_search_setting_is_part_of_the_state(open_index: Callable[..., SearchIndex]) -> None:
    index = cached_index(open_index)
    index.upsert(DOCS)
    index.search("harbour bridge", k=3, mode="keyword")
    index.keyword_title_weight = 3.0
    assert not index.search("harbour bridge", k=3, mode="keyword").cached


def test_failed_searches_are_not_kept(open_index: Callable[..., SearchIndex]) -> None:
    index = cached_index(open_index)
    index.upsert(DOCS)
    for _ in range(2):
        with pytest.raises(Exception, match="filter"):
            index.search("dogs", filter={"field": "lang", "nope": 1})
    assert len(index.result_cache or []) == 0


def test_a_filter_is_refused_before_it_is_made_a_key(
    open_index: Callable[..., SearchIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Freezing a filter of 900,000 clauses into a key took ten seconds of the server's CPU, only to refuse it.
    index = cached_index(open_index)
    index.upsert(DOCS)
    keyed: list[SearchRequest] = []

    def spy(request: SearchRequest) -> object:
        keyed.append(request)
        return request_key(request)

    monkeypatch.setattr("index.search_index.request_key", spy)
    huge = {"should": [{"field": "n", "eq": i} for i in range(10_000)]}
    with pytest.raises(InvalidInputError, match="more than 256 clauses"):
        index.search("dogs", filter=huge)
    assert keyed == []
    assert index.search("dogs", filter={"field": "lang", "eq": "en"}).hits
    assert len(keyed) == 1


def test_a_searched_filter_is_compiled_once(
    open_index: Callable[..., SearchIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keying the cache compiles the filter; the search that follows a miss uses that, not a second compile.
    index = cached_index(open_index)
    index.upsert(DOCS)
    expected = uncached(index, SearchRequest("dogs", filter={"field": "lang", "eq": "en"}))
    compiled: list[object] = []

    def spy(spec: Any, limits: Any) -> Any:
        compiled.append(spec)
        return compile_filter(spec, limits)

    monkeypatch.setattr("index.search_index.compile_filter", spy)
    monkeypatch.setattr("index.retrieval.pipeline.compile_filter", spy)
    requests = [SearchRequest(q, filter={"field": "lang", "eq": "en"}) for q in ("dogs", "rain")]
    first = index.search_batch(requests)
    assert len(compiled) == 2
    assert [h.chunk_id for h in first[0].hits] == [h.chunk_id for h in expected.hits]
    assert {h.doc_id for r in first for h in r.hits} == {"a", "b"}
    again = index.search_batch(requests)  # answered from the cache: compiled to be keyed, nothing more
    assert [r.cached for r in again] == [True, True]
    assert len(compiled) == 4


REQUESTS = st.builds(
    SearchRequest,
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
    k=st.integers(1, 4),
    offset=st.integers(0, 2),
    mode=st.sampled_from(["dense", "keyword", "hybrid"]),
    group_by=st.sampled_from(["chunk", "document"]),
    filter=st.one_of(
        st.none(), st.builds(lambda lang: {"field": "lang", "eq": lang}, st.sampled_from(["en", "de"]))
    ),
)
WRITES = st.one_of(
    st.tuples(
        st.just("upsert"),
        st.sampled_from(["a", "b", "c", "d"]),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join),
        st.sampled_from(["en", "de"]),
    ),
    st.tuples(st.just("delete"), st.sampled_from(["a", "b", "c", "d"]), st.just(""), st.just("")),
)


FILTERED = REQUESTS.filter(lambda request: request.filter is not None)
RELABEL = st.tuples(
    st.just("relabel"), st.sampled_from(["a", "b", "c", "d"]), st.just(""), st.sampled_from(["en", "de"])
)


GERMAN = SearchRequest("dogs sleep", 4, mode="keyword", filter={"field": "lang", "eq": "de"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(WRITES, RELABEL, FILTERED), min_size=1, max_size=25))
@example(steps=[GERMAN, ("relabel", "a", "", "de"), GERMAN])  # the same chunks, kept by the filter now
@example(steps=[GERMAN, ("upsert", "d", "dogs sleep", "de"), GERMAN])  # new chunks the filter keeps
def test_a_filter_s_cached_chunks_match_fresh_ones_through_any_writes(
    open_index: Callable[..., SearchIndex], tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    """Without the result cache: each filtered search twice (the second reads the filter's chunks from the
    cache), against the same search with that cache out of the way, through writes of text and of metadata
    alone (which change what a filter keeps and embed nothing)."""
    index = open_index(data_dir=tmp_path_factory.mktemp("data"))
    # A cache of its own, to look in.
    index.filter_chunks = LRUCache(1 << 20, getsizeof=lambda ids: max(int(ids.nbytes), 1))
    index.upsert(DOCS)
    for step in steps:
        present = {d.id for d in index.list_documents(limit=10)}
        if isinstance(step, SearchRequest):
            for _ in range(2):
                assert hits(index.search_batch([step])[0]) == hits(uncached(index, step))
            assert len(index.filter_chunks) > 0  # kept, and read by the second search
        elif step[0] == "upsert":
            index.upsert([Document(step[1], step[2], metadata={"lang": step[3]})])
        elif step[0] == "relabel" and step[1] in present:
            index.update_metadata(step[1], {"lang": step[3]})
        elif step[0] == "delete" and step[1] in present:
            index.delete(step[1])


def test_a_closed_index_s_filters_leave_the_process_s_cache(open_index: Callable[..., SearchIndex]) -> None:
    index = open_index()
    index.upsert(DOCS)
    index.search_batch([GERMAN])
    mine = [key for key in index.filter_chunks or {} if key[0] is index._token]
    assert len(mine) == 1
    index.close()
    assert not [key for key in index.filter_chunks or {} if key[0] is index._token]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(WRITES, REQUESTS), min_size=1, max_size=25))
def test_cached_searches_match_fresh_ones_through_any_writes(
    open_index: Callable[..., SearchIndex], tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    index = open_index(data_dir=tmp_path_factory.mktemp("data"))
    index.result_cache = ResultCache(1 << 20)
    index.upsert(DOCS)
    for step in steps:
        if isinstance(step, SearchRequest):
            for _ in range(2):  # the second is most often from the cache
                assert hits(index.search_batch([step])[0]) == hits(uncached(index, step))
        elif step[0] == "upsert":
            index.upsert([Document(step[1], step[2], metadata={"lang": step[3]})])
        elif step[1] in {d.id for d in index.list_documents(limit=10)}:
            index.delete(step[1])


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(-3, 3, allow_nan=False)
    | st.sampled_from("ab"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=3),
    max_leaves=8,
)


def same(a: Any, b: Any) -> bool:
    """The reference: equal as a filter reads them (of one type each, dictionaries in any order)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(JSON, JSON)
def test_request_keys_are_equal_exactly_when_the_filters_are(a: Any, b: Any) -> None:
    key_a = request_key(SearchRequest("q", filter={"f": a}))
    key_b = request_key(SearchRequest("q", filter={"f": b}))
    assert key_a is not None
    assert key_b is not None
    assert (key_a == key_b) == same(a, b)
    if key_a == key_b:
        assert hash(key_a) == hash(key_b)


def test_request_keys_tell_every_field_apart() -> None:
    base = request_key(SearchRequest("q"))
    assert request_key(SearchRequest("q")) == base
    for changed in (
        SearchRequest("q "),
        SearchRequest("q", k=11),
        SearchRequest("q", offset=1),
        SearchRequest("q", mode="dense"),
        SearchRequest("q", weight=0.5),
        SearchRequest("q", exact=True),
        SearchRequest("q", exclude_doc="a"),
        SearchRequest("q", filter={}),
    ):
        assert request_key(changed) != base
    assert request_key(SearchRequest("q", filter={"a": {1, 2}})) is None  # not hashable: not kept
    nested: dict[str, object] = {}
    for _ in range(5_000):
        nested = {"must": [nested]}
    assert request_key(SearchRequest("q", filter=nested)) is None  # deeper than Python's stack


def result(text: str, hits: int = 1) -> SearchResult:
    hit = Hit("d", 1, 0, 1.0, text, None, {}, 0, len(text), Span(0, len(text)))
    return SearchResult([hit] * hits, 1.0)


def test_the_cache_holds_one_state_and_its_bytes_bound() -> None:
    cache = ResultCache(5_000)
    cache.put(1, "k", result("x"))  # no lookup under state 1 yet: not the cache's state
    assert cache.get(1, "k") is None
    cache.put(1, "k", result("x"))
    assert cache.get(1, "k") is not None
    assert cache.get(2, "k") is None
    assert len(cache) == 0
    cache.put(1, "k", result("x"))  # computed under a state that has passed: not kept
    assert cache.get(2, "k") is None
    for n in range(20):
        cache.put(2, n, result("y" * 500))
    assert 0 < cache.bytes <= 5_000
    assert len(cache) < 20
    assert cache.get(2, 19) is not None
    assert cache.get(2, 0) is None
    big = result("z" * 10_000)
    assert result_size(big) > 5_000
    cache.put(2, "big", big)
    assert cache.get(2, "big") is None
    with pytest.raises(ValueError, match="max_bytes"):
        ResultCache(0)


def test_no_search_after_a_write_is_answered_from_before_it_under_concurrency(
    open_index: Callable[..., SearchIndex],
) -> None:
    """Readers keep the cache busy with every state while a writer writes; each write, once acknowledged,
    is found by the writer's very next search, and a deleted document never again."""
    index = cached_index(open_index)
    index.upsert(DOCS)
    stop = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                for n in range(0, 40, 7):
                    index.search(f"word{n} harbour", k=3, mode="keyword")
        except BaseException as error:  # reported below
            failures.append(error)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for n in range(40):
            query = f"word{n} harbour"
            index.search(query, k=3, mode="keyword")  # kept under the state before the write
            index.upsert([Document(f"w{n}", f"word{n} by the harbour")])
            assert index.search(query, k=3, mode="keyword").hits[0].doc_id == f"w{n}"
            if n % 3 == 0:
                index.delete(f"w{n}")
                assert f"w{n}" not in {h.doc_id for h in index.search(query, k=3, mode="keyword").hits}
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not failures


def test_long_queries_count_against_the_bound() -> None:
    """A key is a query up to a pasted page long: a cache of small results for long queries stays within
    its bytes, keys and all."""
    cache = ResultCache(200_000)
    cache.get(1, None)
    for n in range(100):
        request = SearchRequest(f"{n} " + "a pasted page " * 1_400, k=1)  # 20,000 characters
        key = request_key(request)
        assert key is not None
        assert key_size(key) > 20_000
        cache.put(1, key, result("x"))
    assert cache.bytes <= 200_000
    assert len(cache) < 10
    like = request_key(SearchRequest("", like=Like(text="p" * 20_000)))
    assert like is not None
    assert key_size(like) > 20_000
