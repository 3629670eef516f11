from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.encoders.base import Vectors
from index.encoders.batching import BatchingEmbedder
from tests.fakes import FakeEmbedder


class SlowEmbedder(FakeEmbedder):
    """Takes ``delay`` seconds per model call and records each call's batch."""

    def __init__(self, delay: float = 0.02, fail_on: str | None = None) -> None:
        super().__init__()
        self.delay = delay
        self.fail_on = fail_on
        self.batches: list[list[str]] = []
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            self.batches.append(list(texts))
        time.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot embed {self.fail_on!r}")
        return super().embed_queries(texts)


def test_concurrent_queries_share_model_calls_and_get_their_own_vectors() -> None:
    inner = SlowEmbedder()
    batcher = BatchingEmbedder(inner, max_batch=16, cache_size=0)
    queries = [f"query number {i}" for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: batcher.embed_queries([q, q + " again"]), queries))
    for query, got in zip(queries, results, strict=True):
        np.testing.assert_array_equal(got, FakeEmbedder().embed_queries([query, query + " again"]))
    assert len(inner.batches) < len(queries)  # coalesced
    assert max(len(batch) for batch in inner.batches) <= 16
    stats = batcher.stats()
    assert stats.batches == len(inner.batches)
    assert stats.texts == 2 * len(queries)
    batcher.close()


def test_a_lone_query_does_not_wait_and_a_bounded_wait_gathers_company() -> None:
    inner = SlowEmbedder(delay=0)
    alone = BatchingEmbedder(inner, cache_size=0)
    started = time.perf_counter()
    alone.embed_queries(["hello"])
    assert time.perf_counter() - started < 0.5
    alone.close()

    patient = BatchingEmbedder(inner, max_wait_ms=300, cache_size=0, workers=1)
    inner.batches.clear()
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(patient.embed_queries, ["first"])
        time.sleep(0.05)
        second = pool.submit(patient.embed_queries, ["second"])
        first.result()
        second.result()
    assert inner.batches == [["first", "second"]]
    patient.close()


def test_workers_encode_side_by_side_and_no_more_than_that() -> None:
    inner = SlowEmbedder(delay=0.3)
    batcher = BatchingEmbedder(inner, max_batch=1, cache_size=0, workers=2)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda q: batcher.embed_queries([q]), ["a", "b", "c", "d"]))
    elapsed = time.perf_counter() - started
    assert 0.55 < elapsed < 1.1  # two rounds of two, not one round of four nor four rounds of one
    batcher.close()


def test_repeated_queries_come_from_the_cache() -> None:
    inner = SlowEmbedder(delay=0)
    batcher = BatchingEmbedder(inner, cache_size=2)
    first = batcher.embed_queries(["a", "b"])
    again = batcher.embed_queries(["b", "a"])
    np.testing.assert_array_equal(again, first[::-1])
    assert inner.batches == [["a", "b"]]
    batcher.embed_queries(["c"])  # evicts "b", the least recently used
    batcher.embed_queries(["a", "c"])
    assert inner.batches == [["a", "b"], ["c"]]
    assert batcher.stats().cache_hits == 4
    again[0] += 1  # callers own what they get: the cache is not touched
    np.testing.assert_array_equal(batcher.embed_queries(["b"])[0], first[1])
    batcher.close()


def test_a_failing_batch_fails_its_callers_and_the_worker_goes_on() -> None:
    inner = SlowEmbedder(delay=0, fail_on="bad")
    batcher = BatchingEmbedder(inner, cache_size=0)
    with pytest.raises(ValueError, match="cannot embed 'bad'"):
        batcher.embed_queries(["bad"])
    assert batcher.embed_queries(["good"]).shape == (1, inner.dim)
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.embed_queries(["after close"])


def test_documents_pass_straight_through() -> None:
    inner = SlowEmbedder(delay=0)
    batcher = BatchingEmbedder(inner)
    np.testing.assert_array_equal(batcher.embed_documents(["x y"]), inner.embed_documents(["x y"]))
    assert inner.batches == []
    assert batcher.tokenizer is inner.tokenizer
    assert (batcher.model_id, batcher.dim) == (inner.model_id, inner.dim)
    batcher.close()
