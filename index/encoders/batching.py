"""Query encoding under concurrency: many callers, one model call at a time, repeated queries from a cache.

:class:`BatchingEmbedder` wraps an :class:`~index.encoders.base.Embedder`. Its ``embed_queries`` may be
called from any number of threads: each call's texts join a queue, and one worker thread takes everything
queued (up to ``max_batch`` texts, waiting at most ``max_wait_ms`` for more once it holds some) and embeds it
in one model call. ``workers`` such threads (default: one per core) take batches side by side. While batches
run, the next ones gather, so under load batches form by themselves and a lone query never waits; and however
many requests arrive, at most ``workers`` model calls for queries run at once. Embeddings of recent queries
are kept in a bounded LRU cache.

Document embedding passes straight through: ingest batches are large already.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
from cachetools import LRUCache

from index.cores import usable_cores
from index.encoders.base import Embedder, Vectors
from index.ingest.chunking import Tokenizer


@dataclass(frozen=True)
class BatchStats:
    """Counters since start: model calls for queries, the texts they embedded, and cache hits."""

    batches: int = 0
    texts: int = 0
    cache_hits: int = 0
    largest_batch: int = 0


@dataclass
class _Job:
    texts: list[str]
    future: Future[Vectors] = field(default_factory=Future)


class BatchingEmbedder:
    """An :class:`Embedder` whose query embeddings are micro-batched across threads and cached."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_batch: int = 64,
        max_wait_ms: float = 0.0,
        cache_size: int = 4096,
        workers: int | None = None,
        on_batch: Callable[[int], object] | None = None,
    ) -> None:
        if max_batch < 1 or max_wait_ms < 0 or cache_size < 0:
            raise ValueError("max_batch must be at least 1, max_wait_ms and cache_size at least 0")
        self.inner = embedder
        self._max_batch = max_batch
        self._max_wait = max_wait_ms / 1000
        self._cache: LRUCache[str, Vectors] | None = LRUCache(cache_size) if cache_size else None
        self._cache_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._stats = BatchStats()
        self._stats_lock = threading.Lock()
        self._closed = False
        self._on_batch = on_batch  # called with the size of each model call (for metrics)
        self._workers = [
            threading.Thread(target=self._run, name=f"semsearch-query-encoder-{n}", daemon=True)
            for n in range(workers or usable_cores())
        ]
        for worker in self._workers:
            worker.start()

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def tokenizer(self) -> Tokenizer:
        return self.inner.tokenizer

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self.submit_queries(texts).result()

    def submit_queries(self, texts: Sequence[str]) -> Future[Vectors]:
        """The embeddings of ``texts`` as a future: cached ones at once, the others once a worker has
        embedded them, while the caller goes on (:class:`~index.encoders.base.BackgroundEmbedder`)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        with self._cache_lock:
            for row, text in enumerate(texts):
                cached = self._cache.get(text) if self._cache is not None else None
                if cached is None:
                    missing.append(row)
                else:
                    out[row] = cached
        self._count(cache_hits=len(texts) - len(missing))
        done: Future[Vectors] = Future()
        if not missing:
            done.set_result(out)
            return done
        if self._closed:
            raise RuntimeError("the query encoder is closed")
        job = _Job([texts[row] for row in missing])

        def fill(embedded: Future[Vectors]) -> None:  # on the worker's thread, once the model call is done
            try:
                vectors = embedded.result()
                out[missing] = vectors
                if self._cache is not None:
                    with self._cache_lock:
                        for text, vector in zip(job.texts, vectors, strict=True):
                            self._cache[text] = vector.copy()
            except BaseException as error:  # the caller gets it: nothing may leave its future unanswered
                done.set_exception(error)
                return
            done.set_result(out)

        job.future.add_done_callback(fill)
        self._queue.put(job)
        return done

    def stats(self) -> BatchStats:
        with self._stats_lock:
            return self._stats

    def close(self) -> None:
        """Stop the worker threads (queries already queued are answered first)."""
        self._closed = True
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=10)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            jobs, size = [job], len(job.texts)
            deadline = time.monotonic() + self._max_wait
            stop = False
            while size < self._max_batch:
                try:
                    wait = deadline - time.monotonic()
                    more = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
                size += len(more.texts)
            self._embed(jobs)
            if stop:
                return

    def _embed(self, jobs: list[_Job]) -> None:
        unique = list(dict.fromkeys(text for job in jobs for text in job.texts))
        try:
            vectors = self.inner.embed_queries(unique)
        except BaseException as error:  # every caller gets the error, the worker lives on
            for job in jobs:
                job.future.set_exception(error)
            return
        row_of = {text: row for row, text in enumerate(unique)}
        for job in jobs:
            job.future.set_result(vectors[[row_of[text] for text in job.texts]])
        self._count(batches=1, texts=len(unique), largest_batch=len(unique))
        if self._on_batch is not None:
            self._on_batch(len(unique))

    def _count(
        self, *, batches: int = 0, texts: int = 0, cache_hits: int = 0, largest_batch: int = 0
    ) -> None:
        with self._stats_lock:
            s = self._stats
            self._stats = BatchStats(
                s.batches + batches,
                s.texts + texts,
                s.cache_hits + cache_hits,
                max(s.largest_batch, largest_batch),
            )
