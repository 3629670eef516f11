"""The facade: one object that composes chunker, embedder, store and vector index over a data directory
(:mod:`index.storage.layout` says what a data directory holds), with one path that applies writes and the
query pipeline of :mod:`index.retrieval.pipeline` for reads.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from cachetools import LRUCache
from numpy.typing import NDArray

from index.cores import usable_cores
from index.encoders.base import Embedder
from index.errors import (
    ChunkNotFoundError,
    DocumentNotFoundError,
    InvalidInputError,
    ReadOnlyIndexError,
)
from index.ingest.chunking import Chunker, ChunkingOptions
from index.ingest.preparation import (
    Chunked,
    ChunkProgress,
    DocumentPreparer,
    validate_documents,
)
from index.merge_patch import merge_patch
from index.retrieval.examples import Example, characteristic_terms
from index.retrieval.filters import FilterLimits, SqlFilter, compile_filter, json_path
from index.retrieval.fusion import top
from index.retrieval.pipeline import search_in_phases
from index.retrieval.query import DEFAULT_LONG_QUERY, LongQuery, informative_terms
from index.retrieval.ranking import candidate_depth
from index.retrieval.result_cache import ResultCache, request_key
from index.storage import keyword
from index.storage.bm25 import MemoryKeywordIndex
from index.storage.bm25 import catch_up as catch_up_keywords
from index.storage.filesystem import check_local
from index.storage.keyword import query_terms
from index.storage.layout import (
    DB_FILE,
    catch_up,
    check_not_sharded,
    check_or_write_manifest,
    load_index_vectors,
)
from index.storage.locking import WriterLock
from index.storage.store import MetadataChange, PreparedDocument, Store, WriteResult
from index.storage.tasks import CommitHook, Task, TaskQueue
from index.storage.vectors import VectorIndex, VectorOptions, build_main, discard_vectors
from index.types import (
    Candidates,
    ChunkRow,
    Document,
    DocumentSummary,
    Facet,
    FacetCount,
    FacetOrder,
    FacetRows,
    FacetValue,
    IndexStats,
    Like,
    MetadataFields,
    MetadataUpdate,
    SearchRequest,
    SearchResult,
    SearchTimings,
    ShardHealth,
    StoredDocument,
    UpsertResult,
    UpsertStatus,
)
from index.validation import MAX_METADATA_BYTES, check_metadata, check_text

log = logging.getLogger(__name__)

# The chunks of the filters searched lately (SearchIndex._allowed_chunks), for every index of the process:
# most filtered searches repeat a filter (a tenant's, a facet's), and reading its chunks is most of such a
# search. Bounded by the bytes of the id arrays, 8 a chunk (a filter keeping half of a million chunks: 4 MB),
# whatever the number of collections.
FILTER_CHUNKS_CACHE_BYTES = 64 * 1024 * 1024
_FILTER_CHUNKS: LRUCache[Any, NDArray[np.int64]] = LRUCache(
    FILTER_CHUNKS_CACHE_BYTES, getsizeof=lambda ids: max(int(ids.nbytes), 1)
)
_FILTER_CHUNKS_LOCK = threading.Lock()

# A hybrid search that finds its index otherwise idle scans the vectors on one of these threads (FAISS lets go
# of the GIL) while it searches the keyword side itself; under load each search does both in turn, as the
# other cores are busy with other searches anyway. One pool for every index of the process, a thread a core:
# a thread of each index's own made a thread per open collection (a thousand collections, a thousand threads,
# where a container may be allowed 1,024 processes). A search waits for its own scan, so none is left running
# when its index closes.
_DENSE_HELPERS = ThreadPoolExecutor(max_workers=usable_cores(), thread_name_prefix="semsearch-dense")

# BM25 weight of a chunk's document title relative to its text.
KEYWORD_TITLE_WEIGHT = 1.0
# Most documents one listing page holds.
MAX_LIST_LIMIT = 1000
# Most values one facet answers.
MAX_FACET_LIMIT = 1000
# Most metadata keys one page of GET /fields answers.
MAX_FIELDS_LIMIT = 10_000
# Longest search term over a facet's values.
MAX_FACET_CONTAINS = 256
# Characters of text a listing page with texts holds, about (it ends with the document that reaches this, so
# one document of SEMSEARCH_MAX_TEXT_CHARS still fits): tens of MB of JSON at most, however large the limit.
PAGE_TEXT_CHARS = 8_000_000
ProgressCallback = Callable[[int], object]
# A keyword side: the query's terms, its best chunks with their BM25 scores, and what fusion divides them by.
_KeywordSide = tuple[list[str], list[tuple[int, float]], float]


class SearchIndex:
    """Documents in, ranked chunks out. Thread-safe: searches run concurrently with each other and with
    the CPU-heavy part of writes (chunking and embedding); only the short apply step of a write is serialised.
    """

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        store: Store,
        vectors: VectorIndex,
        chunker: Chunker,
        generation: int,
        writer_lock: WriterLock | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.read_only = writer_lock is None
        self._writer_lock = writer_lock
        # The store generation the vector index reflects; None once another process wrote to the store
        # behind our back, after which the vectors are never saved as current (the next open rebuilds).
        self._generation: int | None = generation
        self._embedder = embedder
        self._store = store
        self._vectors = vectors
        self._chunker = chunker
        self.preparer = DocumentPreparer(embedder, chunker, stored=store.stored_chunks)
        self._write_lock = threading.Lock()
        self._closed = False
        # Row counts for the keyword side's IDF; kept up to date by our own writes (approximate if another
        # process writes too, which only shifts a normaliser slightly).
        self._documents, self._chunks = store.counts()
        self.keyword_title_weight = KEYWORD_TITLE_WEIGHT
        # The keyword side's fast path (index.storage.bm25), built from the store in the background after
        # open; None until then, and FTS5 answers. Whether searches use it once built:
        self.keyword_memory = True
        self._keywords: MemoryKeywordIndex | None = None
        self._keyword_build: threading.Thread | None = None
        self.filter_limits = FilterLimits()
        # How the pieces of a query longer than the model reads become one search (index.retrieval.query).
        self.long_query: LongQuery = DEFAULT_LONG_QUERY
        # Longest time the reads of one filtered search (or delete by filter) may take, in seconds.
        self.filter_timeout: float | None = 2.0
        # Rebuilds of the main vector index run in this thread (or inline when background_merges is off).
        self.background_merges = True
        self._merge_thread: threading.Thread | None = None
        self._merge_state = threading.Lock()
        self._searching = 0
        self._searching_lock = threading.Lock()
        # Whole results of repeated searches (index.retrieval.result_cache); off unless given one. What a
        # result depends on besides its request and the generation: moved on by a rebuilt vector index and
        # by the in-memory keyword index coming into use.
        self.result_cache: ResultCache | None = None
        self._epoch = 0
        # Where the chunks of filters searched lately are kept (the process's cache; None: not kept), under
        # this index's own token, the state a result depends on, and the filter.
        self.filter_chunks: LRUCache[Any, NDArray[np.int64]] | None = _FILTER_CHUNKS
        self._token = object()
        # Last: it may start running queued background upserts at once.
        self.tasks = TaskQueue(
            data_dir / DB_FILE,
            lambda docs, progress, on_commit: self._upsert(docs, progress, on_commit),
            read_only=self.read_only,
        )

    @classmethod
    def open(
        cls,
        data_dir: Path | str,
        embedder: Embedder,
        *,
        chunking: ChunkingOptions | None = None,
        vectors: VectorOptions | None = None,
        read_only: bool = False,
        keyword_memory: bool = True,
        allow_network_filesystem: bool = False,
    ) -> SearchIndex:
        """Open (or create) the index in ``data_dir``; for writing unless ``read_only``. With
        ``keyword_memory`` the in-memory keyword index is built in the background (:mod:`index.storage.bm25`).

        A writer holds the data directory's lock (:mod:`index.storage.locking`) until it closes. A read-only
        index takes no lock and writes nothing (not even its vector index, which it repairs in memory if the
        saved one is behind): it serves a copy, or a directory whose writer has stopped.

        A data directory on a network filesystem (NFS, SMB...) is refused with
        :class:`~index.storage.filesystem.NetworkFilesystemError` unless ``allow_network_filesystem``:
        SQLite's locks and write-ahead log do not hold there (:mod:`index.storage.filesystem`).

        Raises :class:`~index.storage.locking.DataDirLockedError` if another writer has the directory,
        :class:`~index.errors.IncompatibleIndexError` if it was built with another model or is a sharded data
        directory (:mod:`index.distributed.sharding` opens those), and
        :class:`~index.errors.CorruptIndexError` if its database cannot be read.
        """
        data_dir = Path(data_dir)
        lock = None
        check_local(data_dir, allow_network=allow_network_filesystem)
        check_not_sharded(data_dir)
        if not read_only:
            data_dir.mkdir(parents=True, exist_ok=True)
            lock = WriterLock(data_dir)
        try:
            store = Store(data_dir / DB_FILE, read_only=read_only)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        try:
            chunker = Chunker(embedder.tokenizer, chunking)
            check_or_write_manifest(data_dir, store, embedder, chunker)
            generation = store.generation()
            vector_index = load_index_vectors(
                data_dir, store, embedder.dim, generation, vectors or VectorOptions(), save=not read_only
            )
        except BaseException:
            store.close()
            if lock is not None:
                lock.release()
            raise
        index = cls(data_dir, embedder, store, vector_index, chunker, generation, lock)
        index._maybe_merge()
        if keyword_memory:
            index._start_keyword_build()
        return index

    @property
    def embedder(self) -> Embedder:
        """The model this index embeds with (shared by the collections that use the same model)."""
        return self._embedder

    # -- writes -------------------------------------------------------------------------------------

    def upsert(
        self,
        documents: Sequence[Document],
        *,
        on_embedded: ProgressCallback | None = None,
        progress: ChunkProgress | None = None,
        reuse: Mapping[str, str] | None = None,
    ) -> list[UpsertResult]:
        """Insert or replace ``documents`` in one transaction; unchanged documents are not re-embedded.

        Raises :class:`InvalidInputError` (and changes nothing) if any document is invalid.
        ``on_embedded`` is called with the number of documents embedded, for progress bars; ``progress``
        with ``(chunks embedded, chunks to embed)`` as embedding goes on. ``reuse`` maps a document's id to
        a stored document's whose chunk embeddings it may reuse (a file moved: ``semsearch sync``), as a
        new version of a document reuses its stored copy's. Background uploads of the same documents
        acknowledged earlier are applied first (:meth:`TaskQueue.wait_for_ids`).
        """
        self.tasks.wait_for_ids(doc.id for doc in documents)
        results = self._upsert(documents, progress, reuse=reuse)  # validates them before any embedding
        if on_embedded is not None:
            on_embedded(len(documents))
        return results

    def upsert_stream(
        self, groups: Iterable[Sequence[Document]], *, on_embedded: ProgressCallback | None = None
    ) -> Iterator[list[UpsertResult]]:
        """Upsert each group of ``groups`` in a transaction of its own (as :meth:`upsert` would), yielding
        each group's results, with the next group read and chunked in a second thread while the current one
        embeds: a bulk load's reading, extraction and chunking then take no time of their own. A group
        whose documents another write changed after they were chunked has them chunked again."""
        source = iter(groups)

        def read_and_chunk() -> tuple[list[Document], list[Chunked]] | None:
            group = next(source, None)
            if group is None:
                return None
            group = list(group)
            self.tasks.wait_for_ids(doc.id for doc in group)
            return group, self.preparer.chunk(self.changed(group))

        with ThreadPoolExecutor(1, thread_name_prefix="semsearch-chunk") as pool:
            pending = pool.submit(read_and_chunk)
            while (ready := pending.result()) is not None:
                pending = pool.submit(read_and_chunk)
                group, chunked = ready
                # Checked again: an earlier group of the stream, or another writer, may have written some.
                changed = {doc.id: doc for doc in self.changed(group)}
                kept = [item for item in chunked if changed.get(item.document.id) is item.document]
                done = {item.document.id for item in kept}
                kept += self.preparer.chunk([doc for doc in changed.values() if doc.id not in done])
                yield self.write_prepared(group, self.preparer.embed(kept))
                if on_embedded is not None:
                    on_embedded(len(group))

    def _upsert(
        self,
        documents: Sequence[Document],
        progress: ChunkProgress | None = None,
        on_commit: CommitHook | None = None,
        *,
        reuse: Mapping[str, str] | None = None,
    ) -> list[UpsertResult]:
        changed = self.changed(documents)
        prepared = self.preparer.prepare(changed, progress, reuse)
        return self.write_prepared(documents, prepared, on_commit=on_commit)

    def changed(self, documents: Sequence[Document]) -> list[Document]:
        """Validate ``documents`` (raising :class:`InvalidInputError`) and return those whose stored copy
        differs (or is missing): the ones an upsert has to chunk and embed."""
        self._check_writable()
        validate_documents(documents)
        hashes = {doc.id: self.preparer.content_hash(doc) for doc in documents}
        stored_hashes = self._store.content_hashes(list(hashes))
        return [doc for doc in documents if stored_hashes.get(doc.id) != hashes[doc.id]]

    def write_prepared(
        self,
        documents: Sequence[Document],
        prepared: Sequence[PreparedDocument],
        *,
        on_commit: CommitHook | None = None,
    ) -> list[UpsertResult]:
        """Write the ``prepared`` documents (chunked and embedded by :meth:`preparer`, here or on another
        machine) in one transaction; a status for each of ``documents``, the ones not prepared counting as
        unchanged. ``on_commit`` is called inside that transaction with its cursor and the statuses (a
        background task marks itself done there)."""
        self._check_writable()
        # Prepared elsewhere or earlier: a document stored meanwhile with the same content stays as it is.
        stored = self._store.content_hashes([item.document.id for item in prepared])
        prepared = [item for item in prepared if stored.get(item.document.id) != item.content_hash]
        results: list[UpsertResult] = []

        def finish(cursor: sqlite3.Cursor, created: list[bool]) -> None:
            statuses: dict[str, tuple[UpsertStatus, int]] = {
                item.document.id: ("created" if new else "updated", len(item.chunks))
                for item, new in zip(prepared, created, strict=True)
            }
            unchanged = [doc.id for doc in documents if doc.id not in statuses]
            statuses.update(
                (doc_id, ("unchanged", count))
                for doc_id, count in self._store.chunk_counts(unchanged, cursor).items()
            )
            vanished = [doc for doc in documents if doc.id not in statuses]
            if vanished:
                raise _VanishedError(vanished)
            results.extend(UpsertResult(doc.id, *statuses[doc.id]) for doc in documents)
            if on_commit is not None:
                on_commit(cursor, results)

        try:
            with self._write_lock:
                self._apply(prepared, finish=finish)
        except _VanishedError as gone:
            # Unchanged when checked, deleted since by a concurrent request: this upsert comes after the
            # delete, so it writes them again (nothing was committed: the transaction rolled back).
            again = self.preparer.prepare(gone.documents)
            return self.write_prepared(documents, [*prepared, *again], on_commit=on_commit)
        if prepared:
            self._maybe_merge()
        return results

    def _apply(
        self,
        prepared: Sequence[PreparedDocument],
        *,
        deletes: Sequence[str] = (),
        finish: Callable[[sqlite3.Cursor, list[bool]], object] | None = None,
    ) -> WriteResult:
        """The one path by which a write reaches the index; the caller holds the write lock. One store
        transaction (``finish`` runs inside it), then the vector index and the row counts follow it: the old
        chunk ids out, the new ones in, the generation recorded. A write with nothing in it changes
        nothing."""
        result = self._store.write(prepared, deletes=list(deletes), finish=finish)
        if not prepared and not deletes:
            return result
        self._vectors.remove(np.asarray(result.removed_ids, dtype=np.int64))
        if prepared:
            embeddings = np.concatenate([item.embeddings for item in prepared])
            self._vectors.add(np.asarray(result.added_ids, dtype=np.int64), embeddings)
        if self._keywords is not None:
            self._keywords.remove(result.removed_ids)
            texts = [(item.document.title, chunk.text) for item in prepared for chunk in item.chunks]
            self._keywords.add(
                (chunk_id, title, text)
                for chunk_id, (title, text) in zip(result.added_ids, texts, strict=True)
            )
        self._documents += sum(result.created) - len(deletes)
        self._chunks += len(result.added_ids) - len(result.removed_ids)
        self._advance(result.generation)  # last: a search that sees the new generation sees all of the write
        return result

    def export_prepared(self, batch_size: int = 256) -> Iterator[list[PreparedDocument]]:
        """Every stored document with its chunks and embeddings, ready for :meth:`write_prepared` into
        another index (see :func:`index.distributed.sharding.reshard`); from one snapshot, oldest first."""
        return self._store.iter_prepared(batch_size)

    def export_documents(self, batch_size: int = 64) -> Iterator[list[Document]]:
        """Every stored document as it was sent, in batches, from one snapshot, oldest first (to index
        them again with other settings: :func:`index.collections.reindex`)."""
        return self._store.iter_documents(batch_size)

    def export_page(self, after: str | None = None, limit: int = 64) -> list[Document]:
        """Up to ``limit`` stored documents as they were sent, after the id ``after`` in id order: what a
        shard serves to :meth:`ShardedIndex.export_documents <index.distributed.sharding.ShardedIndex>`."""
        return self._store.documents_after(after, limit)

    def submit_upsert(self, documents: Sequence[Document]) -> Task:
        """Validate ``documents`` now and upsert them in the background (see :mod:`index.storage.tasks`): the
        task, durably queued. Raises :class:`InvalidInputError` (and queues nothing) for invalid documents."""
        self._check_writable()
        validate_documents(documents)
        return self.tasks.submit(documents)

    def delete(self, doc_id: str) -> int:
        """Remove a document and its chunks; returns how many chunks went.

        Raises :class:`~index.errors.DocumentNotFoundError` if there is no such document.
        """
        self._check_writable()
        self.tasks.wait_for_ids([doc_id])
        with self._write_lock:
            result = self._apply([], deletes=[doc_id])
        self._maybe_merge()
        return len(result.removed_ids)

    def update_metadata(self, doc_id: str, patch: dict[str, Any]) -> DocumentSummary:
        """Change a document's metadata by a JSON Merge Patch (:mod:`index.merge_patch`: keys set, objects
        merged, ``null`` removing a key), in one transaction: its text, chunks and vectors stay as they are,
        so nothing is embedded or re-indexed, and the next search filters by the new metadata. The document
        as listed. Raises :class:`InvalidInputError` (and changes nothing) if the patch or the metadata it
        makes is invalid, :class:`~index.errors.DocumentNotFoundError` if there is no such document."""
        self._check_writable()
        check_metadata("the metadata patch", patch)
        self.tasks.wait_for_ids([doc_id])
        with self._write_lock:
            summary, generation = self._store.update_metadata(doc_id, self._patcher(patch))
            self._advance(generation)
        return summary

    def update_where(
        self, filter_spec: dict[str, Any], patch: dict[str, Any], *, check_only: bool = False
    ) -> MetadataUpdate:
        """:meth:`update_metadata` for every document whose metadata matches the filter, in one
        transaction: all of them or, if the patch makes any one's metadata invalid, none (raising
        :class:`InvalidInputError`). With ``check_only``, that is found out and nothing written (a sharded
        index checks every shard before any commits)."""
        self._check_writable()
        check_metadata("the metadata patch", patch)
        allowed = compile_filter(filter_spec, self.filter_limits)
        self.tasks.wait_for_ids(None)  # the documents it matches may be in any earlier background upload
        with self._write_lock:
            with self._store.time_limit(self.filter_timeout):
                doc_ids = self._store.document_ids_matching(allowed)
            updated, generation = self._store.update_metadata_of(
                doc_ids, self._patcher(patch), check_only=check_only
            )
            if not check_only:
                self._advance(generation)
        return MetadataUpdate(len(doc_ids), updated)

    def _patcher(self, patch: dict[str, Any]) -> MetadataChange:
        """What a metadata patch makes of a document: its metadata merged (and checked) and its new content
        hash, for the store to write."""

        def change(
            doc_id: str, title: str | None, text: str, metadata: dict[str, Any]
        ) -> tuple[dict[str, Any], str]:
            merged = merge_patch(metadata, patch)
            check_metadata(f"the metadata of {doc_id!r} once patched", merged)
            return merged, self.preparer.content_hash(Document(doc_id, text, title, merged))

        return change

    # -- reads --------------------------------------------------------------------------------------

    def get(self, doc_id: str) -> StoredDocument:
        """The stored document with its chunks; :class:`~index.errors.DocumentNotFoundError` if absent."""
        return self._store.get_document(doc_id)

    def list_documents(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        filter_spec: dict[str, Any] | None = None,
        with_text: bool = False,
    ) -> list[DocumentSummary]:
        """Up to ``limit`` documents in id order, starting after the id ``after`` (a page's last id is the
        next page's ``after``), only those whose metadata matches ``filter_spec`` if one is given. With
        ``with_text``, each with its text, and the page ends early at the document whose text brings it to
        :data:`PAGE_TEXT_CHARS` (:func:`page_may_continue` tells a page that may have more after it)."""
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LIST_LIMIT}")
        allowed = None if filter_spec is None else compile_filter(filter_spec, self.filter_limits)
        budget = PAGE_TEXT_CHARS if with_text else None
        with self._store.time_limit(self.filter_timeout):
            return self._store.list_documents(after, limit, allowed, text_budget=budget)

    def count(self, filter_spec: dict[str, Any] | None = None) -> int:
        """How many documents ``filter_spec`` keeps (all of them if None), under the filter's time limit."""
        allowed = None if filter_spec is None else compile_filter(filter_spec, self.filter_limits)
        with self._store.time_limit(self.filter_timeout, "counting the documents the filter keeps"):
            return self._store.count_documents(allowed)

    def fields(
        self, filter_spec: dict[str, Any] | None = None, *, after: str | None = None, limit: int = 1000
    ) -> MetadataFields:
        """The top-level metadata keys of the documents ``filter_spec`` keeps (all if None), in name order,
        the ``limit`` after ``after``: how many documents hold each, by JSON type. Nested keys are reached
        through :meth:`facet` (``author.name``)."""
        check_fields_page(after, limit)
        allowed = None if filter_spec is None else compile_filter(filter_spec, self.filter_limits)
        with self._store.time_limit(self.filter_timeout, "listing the metadata keys of the documents"):
            found = self._store.fields(allowed, after, limit + 1)
        return MetadataFields(found[:limit], found[limit - 1].name if len(found) > limit else None)

    def facet(
        self,
        field: str,
        *,
        filter_spec: dict[str, Any] | None = None,
        limit: int = 100,
        order: FacetOrder = "count",
        offset: int = 0,
        contains: str | None = None,
    ) -> Facet:
        """The values of the metadata key ``field`` (``author.name`` reaches into objects; each element of a
        list counts) with how many documents hold each, over the documents ``filter_spec`` keeps if given:
        most held first, or by value (``order="value"``: numbers, strings, false, true); ``offset`` values
        skipped and at most ``limit`` answered; only strings holding ``contains`` (case folded) if given.
        Also how many different values there are in all, and the least and greatest number."""
        check_facet_page(limit, offset, contains)
        rows = self._facet_rows(field, filter_spec, limit, order=order, offset=offset, contains=contains)
        return Facet(field, [FacetCount(v, c) for v, c in rows.values], rows.distinct, rows.min, rows.max)

    def facet_values(
        self, field: str, filter_spec: dict[str, Any] | None, contains: str | None = None
    ) -> FacetRows:
        """All of :meth:`facet`'s values and counts, for a sharded index to add up."""
        return self._facet_rows(field, filter_spec, None, contains=contains)

    def _facet_rows(
        self,
        field: str,
        filter_spec: dict[str, Any] | None,
        limit: int | None,
        *,
        order: FacetOrder = "count",
        offset: int = 0,
        contains: str | None = None,
    ) -> FacetRows:
        """:meth:`facet`'s rows, all of them if ``limit`` is None."""
        path = json_path(field)
        allowed = None if filter_spec is None else compile_filter(filter_spec, self.filter_limits)
        doing = f"counting the values of {field!r} over the documents" + (
            " the filter keeps" if allowed else ""
        )
        with self._store.time_limit(self.filter_timeout, doing):
            return self._store.facet(path, allowed, limit, order=order, offset=offset, contains=contains)

    def search(self, query: str, k: int = 10, **options: Any) -> SearchResult:
        """The chunks (or documents) that best match ``query``, best first; ``options`` are the other fields
        of :class:`SearchRequest` (``mode``, ``filter``, ``group_by``...)."""
        return self.search_batch([SearchRequest(query, k, **options)])[0]

    def search_batch(self, requests: Sequence[SearchRequest]) -> list[SearchResult]:
        """Several searches, their queries embedded in one model call. Each result's ``took_ms`` (and its
        ``timings``: encoding, candidate search, ranking) is the time of the whole batch. With a
        :attr:`result_cache`, a search made before under the same generation is answered from it
        (``cached``, zero timings) and the others are searched. A read-only index first catches up with
        its writer's commits (:meth:`refresh`)."""
        started = time.perf_counter()
        self.refresh()  # once per call: the cache's state and the search both read the generation it leaves
        cache = self.result_cache
        if cache is None:
            return self._search_batch(requests)
        state = self._result_state()
        # A filter is refused before it is made a key (ten seconds for a huge one), and compiled once.
        limits = self.filter_limits
        filters = [None if r.filter is None else compile_filter(r.filter, limits) for r in requests]
        keys = [None if state is None else request_key(request) for request in requests]
        results = [None if key is None else cache.get(state, key) for key in keys]
        missing = [i for i, result in enumerate(results) if result is None]
        if missing:
            searched = self._search_batch([requests[i] for i in missing], [filters[i] for i in missing])
            for i, result in zip(missing, searched, strict=True):
                results[i] = result
                key = keys[i]
                if key is not None:  # a list of hits of its own: this caller's edits do not reach the cache
                    cache.put(state, key, dataclasses.replace(result, hits=list(result.hits)))
        took_ms = (time.perf_counter() - started) * 1000
        fresh = set(missing)
        return [
            result if i in fresh else _from_cache(result, took_ms)
            for i, result in enumerate(results)
            if result is not None
        ]

    def _result_state(self) -> tuple[Any, ...] | None:
        """Everything besides a request that a search's result depends on; None when unknown (another
        process wrote to the store behind this one's back)."""
        if self._generation is None or self._closed:
            return None
        return (
            self._generation,
            self._epoch,
            self.keyword_memory,
            self.keyword_title_weight,
            self.long_query,
            self.filter_limits,
        )

    def _search_batch(
        self, requests: Sequence[SearchRequest], filters: Sequence[SqlFilter | None] | None = None
    ) -> list[SearchResult]:
        early: dict[int, _KeywordSide] = {}  # keyword sides found while the queries were embedded
        return search_in_phases(
            requests,
            self._embedder,
            self.filter_limits,
            lambda found, vectors, compiled: self._find(
                found, vectors, compiled, prefetch=False, early=early
            ),
            lambda _: self._store,
            self.example,
            self.long_query,
            lambda found, compiled: early.update(self._keyword_sides(found, compiled)),
            filters,
        )

    def _keyword_sides(
        self, requests: Sequence[SearchRequest], filters: Sequence[SqlFilter | None]
    ) -> dict[int, _KeywordSide]:
        """The in-memory keyword side of each unfiltered hybrid request, by position: it needs no embedding,
        so a search finds it while its query is embedded (a lone hybrid search 1.3-1.7 ms sooner over HTTP,
        docs/benchmarks.md)."""
        memory = self._keywords if self.keyword_memory else None
        if memory is None:
            return {}
        return {
            i: self._memory_keyword_side(memory, request)
            for i, (request, allowed) in enumerate(zip(requests, filters, strict=True))
            if request.mode == "hybrid" and allowed is None
        }

    def _allowed_chunks(self, allowed: SqlFilter) -> NDArray[np.int64]:
        """The ids of the chunks ``allowed`` keeps, read from the store, or from the chunks of the last
        filters searched while nothing was written (a tenant's filter is most of its searches')."""
        cache, state = self.filter_chunks, self._result_state()
        key = None if cache is None or state is None else (self._token, state, allowed)
        if cache is not None and key is not None:
            with _FILTER_CHUNKS_LOCK:
                found = cache.get(key)
            if found is not None:
                return found
        ids = self._store.chunk_ids_matching(allowed)
        ids.flags.writeable = False  # shared by the searches that find it here
        if cache is not None and key is not None and ids.nbytes <= cache.maxsize // 4:
            with _FILTER_CHUNKS_LOCK:
                cache[key] = ids
        return ids

    def _memory_keyword_side(
        self, memory: MemoryKeywordIndex, request: SearchRequest, allowed: NDArray[np.int64] | None = None
    ) -> _KeywordSide:
        """The keyword side from the in-memory index, within the chunks ``allowed`` (all if None)."""
        terms = informative_terms(query_terms(request.query.strip()), memory.document_frequencies)
        found, memory_scale = memory.search(
            terms, candidate_depth(request), title_weight=self.keyword_title_weight, allowed=allowed
        )
        return terms, found, self._keyword_scale(request, terms, lambda: memory_scale)

    def example(self, like: Like) -> Example:
        """A stored document (``like.doc_id``) or chunk (``like.chunk_id``) as a query
        (:mod:`index.retrieval.examples`); :class:`DocumentNotFoundError` or :class:`ChunkNotFoundError` if
        absent."""
        if like.chunk_id is not None:
            row = self._store.rows([like.chunk_id]).get(like.chunk_id)
            if row is None:
                raise ChunkNotFoundError(like.chunk_id)
            doc_id, chunk_ids, texts = row.doc_id, [row.chunk_id], [row.text]
        elif like.doc_id is not None:
            stored = self._store.get_document(like.doc_id)
            doc_id = stored.id
            chunk_ids, texts = [c.chunk_id for c in stored.chunks], [c.text for c in stored.chunks]
        else:
            raise InvalidInputError("an example is a doc_id, a chunk_id or a text")
        ids, vectors = self._store.embeddings_of(chunk_ids, self._embedder.dim)
        if not len(ids):  # rewritten or deleted since it was read
            if like.chunk_id is not None:
                raise ChunkNotFoundError(like.chunk_id)
            raise DocumentNotFoundError(doc_id)
        position = {int(chunk): i for i, chunk in enumerate(ids.tolist())}
        order = [position[c] for c in chunk_ids if c in position]
        memory = self._keywords if self.keyword_memory else None
        frequencies = self._store.document_frequencies if memory is None else memory.document_frequencies
        terms = characteristic_terms(
            texts, frequencies, max(self._chunks, 1), exclude_self=not like.include_self
        )
        return Example(doc_id, like.chunk_id, vectors[order], terms)

    def candidates(
        self,
        requests: Sequence[SearchRequest],
        query_vectors: Sequence[NDArray[np.float32] | None],
        *,
        prefetch: bool = False,
    ) -> list[Candidates]:
        """The first half of a search, for requests already validated (:func:`validate_request`) and their
        queries embedded (``None`` for keyword-only requests): each side's best chunks with their scores,
        and with ``prefetch`` the rows ranking will most likely need (one round trip instead of two).
        A shard of a sharded index answers this; the router merges the shards' candidates and ranks them."""
        filters = [
            None if r.filter is None else compile_filter(r.filter, self.filter_limits) for r in requests
        ]
        self.refresh()
        return self._find(requests, query_vectors, filters, prefetch=prefetch)

    def _find(
        self,
        requests: Sequence[SearchRequest],
        query_vectors: Sequence[NDArray[np.float32] | None],
        filters: Sequence[SqlFilter | None],
        *,
        prefetch: bool,
        early: dict[int, _KeywordSide] | None = None,
    ) -> list[Candidates]:
        """:meth:`candidates` with the filters compiled, once the caller has caught a read-only index up
        with its writer's commits (:meth:`refresh`); ``early``: keyword sides already found, by position."""
        with self._searching_lock:
            self._searching += 1
            alone = self._searching == 1 and len(requests) == 1
        try:
            found = []
            searches = zip(requests, query_vectors, filters, strict=True)
            for i, (request, vector, allowed) in enumerate(searches):
                keyword_side = None if early is None else early.pop(i, None)  # this search's, once
                candidates = self._candidates(
                    request, request.query.strip(), vector, allowed, alone=alone, keyword_side=keyword_side
                )
                found.append(self._prefetch(request, candidates) if prefetch else candidates)
            return found
        finally:
            with self._searching_lock:
                self._searching -= 1

    def _prefetch(self, request: SearchRequest, candidates: Candidates) -> Candidates:
        """``candidates`` with the rows ranking will most likely read (see :class:`Candidates`)."""
        wanted = request.offset + request.k
        best = {chunk for side in candidates.sides for chunk, _ in top(side, wanted)}
        placed = {}
        if request.group_by == "document":
            placed = self._store.chunk_documents(sorted({c for side in candidates.sides for c in side}))
        rows = self._store.rows(sorted(best))
        return dataclasses.replace(candidates, rows=rows, placed=placed)

    # The rows ranking reads (the ChunkLookup protocol of index.retrieval.ranking), for a router that ranks
    # a shard's candidates itself.

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        return self._store.rows(chunk_ids)

    def documents(self, chunk_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        return self._store.chunk_documents(chunk_ids)

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, int]:
        return self._store.first_chunks(doc_ids)

    def embeddings(self, chunk_ids: Sequence[int]) -> dict[int, NDArray[np.float32]]:
        return self._store.embeddings(chunk_ids)

    def _candidates(
        self,
        request: SearchRequest,
        query: str,
        query_vector: NDArray[np.float32] | None,
        allowed: SqlFilter | None,
        *,
        alone: bool = False,
        keyword_side: _KeywordSide | None = None,
    ) -> Candidates:
        """Each side's candidate chunks ``{chunk_id: score}`` (dense first), and, when grouping by document,
        the keyword side's whole-document scores. With a filter, the reads stop after
        :attr:`filter_timeout` seconds (:class:`~index.errors.QueryTimeoutError`). ``alone``: no other
        search is running, so the two sides of an unfiltered hybrid search may run side by side (unless
        ``keyword_side``, found while the query was embedded, is given)."""
        if allowed is None:
            return self._candidates_within(
                request, query, query_vector, allowed, alone=alone, keyword_side=keyword_side
            )
        with self._store.time_limit(self.filter_timeout):
            return self._candidates_within(request, query, query_vector, allowed)

    def _candidates_within(
        self,
        request: SearchRequest,
        query: str,
        query_vector: NDArray[np.float32] | None,
        allowed: SqlFilter | None,
        *,
        alone: bool = False,
        keyword_side: _KeywordSide | None = None,
    ) -> Candidates:
        depth = candidate_depth(request)
        excluded = set(self._store.document_chunk_ids(request.exclude_doc)) if request.exclude_doc else set()
        sides: list[dict[int, float]] = []
        weight = self.keyword_title_weight
        memory = self._keywords if self.keyword_memory else None
        keywords_in_memory = memory is not None and request.mode != "dense"
        # A filter's chunks, read once for both sides (each read cost as much as the rest of a search).
        allowed_ids = None
        if allowed is not None and (query_vector is not None or keywords_in_memory):
            allowed_ids = self._allowed_chunks(allowed)
        dense: Future[dict[int, float]] | None = None
        side_by_side = alone and allowed is None and keyword_side is None and keywords_in_memory
        if query_vector is not None and side_by_side:
            dense = _DENSE_HELPERS.submit(self._dense_side, request, query_vector, depth, None, excluded)
        elif query_vector is not None:
            sides.append(self._dense_side(request, query_vector, depth, allowed_ids, excluded))
        if request.mode == "dense":
            return Candidates(sides)
        if keyword_side is not None:
            terms, found, scale = keyword_side
        elif memory is not None:
            try:
                terms, found, scale = self._memory_keyword_side(memory, request, allowed_ids)
            except BaseException:
                if dense is not None:
                    wait([dense])  # its scan reads this index: done before the error leaves the search
                raise
        else:
            terms = informative_terms(query_terms(query), self._store.document_frequencies)
            found = self._store.keyword_search(terms, depth, title_weight=weight, allowed=allowed)
            scale = self._keyword_scale(
                request, terms, self._fts_scale(terms, keyword.FTS_TABLE, self._chunks)
            )
        if dense is not None:
            sides.append(dense.result())  # dense first
        sides.append({chunk: score / scale for chunk, score in found if chunk not in excluded})
        if request.group_by != "document":
            return Candidates(sides)
        found_documents = self._store.keyword_search_documents(
            terms, depth, title_weight=weight, allowed=allowed
        )
        scale = self._keyword_scale(
            request, terms, self._fts_scale(terms, keyword.DOCUMENT_FTS_TABLE, self._documents)
        )
        documents = {doc: score / scale for doc, score in found_documents if doc != request.exclude_doc}
        return Candidates(sides, documents)

    def _dense_side(
        self,
        request: SearchRequest,
        query_vector: NDArray[np.float32],
        depth: int,
        allowed_ids: NDArray[np.int64] | None,
        excluded: set[int],
    ) -> dict[int, float]:
        """The dense side's candidates: the ``depth`` nearest chunks among ``allowed_ids`` (all if None)."""
        scores, ids = self._vectors.search(
            query_vector, depth, allowed_ids, ef_search=request.ef_search, exact=request.exact
        )
        # One row per query piece (max-similarity): a chunk scores by its best piece.
        best: dict[int, float] = {}
        for row_ids, row_scores in zip(ids, scores, strict=True):
            for chunk, score in zip(row_ids.tolist(), row_scores.tolist(), strict=True):
                if chunk >= 0 and score > best.get(chunk, -np.inf) and chunk not in excluded:
                    best[chunk] = score
        return dict(top(best, depth)) if len(ids) > 1 else best

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]:
        """Delete every document whose metadata matches the filter, in one transaction; their ids."""
        self._check_writable()
        allowed = compile_filter(filter_spec, self.filter_limits)
        self.tasks.wait_for_ids(None)  # the documents it matches may be in any earlier background upload
        with self._write_lock:
            with self._store.time_limit(self.filter_timeout):
                doc_ids = self._store.document_ids_matching(allowed)
            if not doc_ids:
                return []
            self._apply([], deletes=doc_ids)
        self._maybe_merge()
        return doc_ids

    @staticmethod
    def _keyword_scale(request: SearchRequest, terms: list[str], scale: Callable[[], float]) -> float:
        """What keyword scores are divided by before fusion: 1 unless hybrid blends them (then ``scale()``,
        the score of an average document holding every query word once, see :func:`keyword.score_scale`)."""
        if request.mode != "hybrid" or request.fusion != "blend" or not terms:
            return 1.0
        return scale() or 1.0

    def _fts_scale(self, terms: list[str], table: str, rows: int) -> Callable[[], float]:
        return lambda: self._store.keyword_score_scale(table, terms, max(rows, 1))

    # -- the in-memory keyword index ----------------------------------------------------------------

    def _start_keyword_build(self) -> None:
        self._keyword_build = threading.Thread(
            target=self._build_keywords, name="semsearch-keywords", daemon=True
        )
        self._keyword_build.start()

    def _build_keywords(self) -> None:
        """Build the in-memory keyword index from one snapshot of the store, without holding up writes;
        then, under the write lock, bring it up to date with what was written meanwhile and publish it."""
        started = time.perf_counter()
        try:
            memory = MemoryKeywordIndex()
            for rows in self._store.iter_keyword_rows():
                if self._closed:
                    return
                memory.add(rows)
            with self._write_lock:
                if self._closed:
                    return
                catch_up_keywords(memory, self._store)
                self._keywords = memory
                self._epoch += 1
        except Exception:  # the database closed under us, or worse: FTS5 keeps answering either way
            if not self._closed:
                log.exception("building the in-memory keyword index failed; FTS5 answers keyword searches")
            return
        log.info(
            "in-memory keyword index of %d chunks built in %.1f s", len(memory), time.perf_counter() - started
        )

    def wait_for_keyword_index(self, timeout: float | None = None) -> bool:
        """Block until the in-memory keyword index is built (or its build gave up); whether it is in use."""
        if self._keyword_build is not None:
            self._keyword_build.join(timeout)
        return self._keywords is not None

    def stats(self) -> IndexStats:
        documents, chunks = self._store.counts()
        return IndexStats(
            documents=documents,
            chunks=chunks,
            model_id=self._embedder.model_id,
            dimension=self._embedder.dim,
            index_type=self._vectors.index_type,
            data_dir=self.data_dir,
        )

    def shard_health(self) -> list[ShardHealth]:
        """Nothing: one index is not sharded (see :class:`~index.protocol.ServedIndex`)."""
        return []

    def consistency(self) -> dict[str, set[int]]:
        """The chunk ids held by the store, the keyword index and the vector index (for checks and tests)."""
        with self._write_lock:
            sides = {
                "store": self._store.chunk_ids(),
                "keyword": self._store.keyword_chunk_ids(),
                "vectors": {int(i) for i in self._vectors.ids()},
            }
            if self._keywords is not None:
                sides["keyword_memory"] = {int(i) for i in self._keywords.ids()}
            return sides

    def keyword_documents_consistent(self) -> bool:
        """Whether the whole-document keyword index matches the documents exactly (FTS5 integrity check)."""
        return self._store.keyword_documents_consistent()

    def refresh(self) -> bool:
        """Catch a read-only index up with the commits its directory's writer made since it last looked: the
        vectors of added chunks go in, those of removed ones out. Cheap when nothing changed (one read of the
        store's generation), so a replica calls it before every search: what the writer acknowledged is
        visible to the next search. Whether anything changed; always False for the writer itself."""
        if not self.read_only or self._closed:
            return False
        generation = self._store.generation()
        if generation == self._generation:
            return False
        with self._write_lock:
            if generation == self._generation:
                return False
            # The generation is read before the ids: a commit landing in between is caught up with now
            # and again, harmlessly, next time.
            generation = self._store.generation()
            stored = self._store.chunk_id_array()  # read once for both derived indexes
            gone, missing = catch_up(self._vectors, self._store, self._embedder.dim, stored)
            if self._keywords is not None:
                catch_up_keywords(self._keywords, self._store, stored)
            self._documents, self._chunks = self._store.counts()
            self._generation = generation  # last: a search that sees it sees all of the catch-up
        log.debug("caught up with generation %d: %d vectors out, %d in", generation, gone, missing)
        self._maybe_merge()
        return True

    # -- lifecycle ----------------------------------------------------------------------------------

    def save(self) -> None:
        """Save the vector index beside the database, atomically (it is repaired from the database if lost
        or stale)."""
        if self.read_only:
            return
        with self._write_lock:
            if self._generation is None:
                log.warning(
                    "another process wrote to %s while this one had it open; the vector index is not saved "
                    "and will be rebuilt from the database on the next start",
                    self.data_dir,
                )
                discard_vectors(self.data_dir)
                return
            self._vectors.save(self.data_dir, self._generation)

    # -- vector index maintenance -------------------------------------------------------------------

    def _maybe_merge(self) -> None:
        """Rebuild the main vector index if the vector index asks for it: in the background (one at a time)
        unless ``background_merges`` is off. Never called with the write lock held."""
        reason = self._vectors.merge_reason()
        if reason is None or self._closed:
            return
        with self._merge_state:
            if self._merge_thread is not None:
                return
            if self.background_merges:
                self._merge_thread = threading.Thread(
                    target=self._merge, args=(reason,), name="semsearch-merge", daemon=True
                )
                self._merge_thread.start()
                return
        self._merge(reason)

    def _merge(self, reason: str) -> None:
        started = time.perf_counter()
        try:
            with self._write_lock:
                if self._closed:
                    return
                # Read every embedding from one snapshot taken in step with the vector index.
                self._vectors.begin_rebuild()
                batches = list(self._store.iter_embeddings(self._embedder.dim))
            count = sum(len(ids) for ids, _ in batches)
            main = build_main(self._until_closed(batches), self._embedder.dim, count, self._vectors.options)
            with self._write_lock:
                self._vectors.swap(main)
                self._epoch += 1
                if self._generation is not None and not self._closed and not self.read_only:
                    self._vectors.save(self.data_dir, self._generation)
            log.info(
                "rebuilt the vector index (%s): %s over %d vectors in %.1f s",
                reason,
                self._vectors.index_type,
                count,
                time.perf_counter() - started,
            )
        except _ClosedError:
            self._vectors.abandon_rebuild()
        except Exception:  # a failed rebuild leaves the working index in place
            self._vectors.abandon_rebuild()
            log.exception("rebuilding the vector index failed; the current one stays in use")
        finally:
            with self._merge_state:
                self._merge_thread = None

    def _until_closed(self, batches: list[tuple[Any, Any]]) -> Any:
        for batch in batches:
            if self._closed:
                raise _ClosedError
            yield batch

    def wait_for_merges(self, timeout: float | None = None) -> None:
        """Block until a background rebuild of the vector index (if one runs) is done."""
        with self._merge_state:
            thread = self._merge_thread
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        """Save the vector index and close the database. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        cache = self.filter_chunks
        if cache is not None:  # its filters' chunks leave the process's cache with it
            with _FILTER_CHUNKS_LOCK:
                for key in [key for key in cache if key[0] is self._token]:
                    del cache[key]
        self.tasks.close()
        self.wait_for_merges()
        self.wait_for_keyword_index()
        try:
            self.save()
        finally:
            self._store.close()
            if self._writer_lock is not None:
                self._writer_lock.release()
            close_embedder = getattr(self._embedder, "close", None)  # a BatchingEmbedder's worker thread
            if callable(close_embedder):
                close_embedder()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- helpers ------------------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyIndexError(
                f"this index of {self.data_dir} is open read-only; send writes to the data directory's writer"
            )

    def _advance(self, generation: int) -> None:
        """Record our own write; notice if another process wrote in between (the vectors miss its changes).
        An unchanged generation is a write that changed nothing (a metadata patch to the same metadata)."""
        if generation == self._generation:
            return
        if self._generation is not None and generation != self._generation + 1:
            log.warning("another process wrote to %s; its changes appear here after a restart", self.data_dir)
            self._generation = None
        elif self._generation is not None:
            self._generation = generation


def check_fields_page(after: str | None, limit: int) -> None:
    """Raise :class:`InvalidInputError` unless a page of metadata keys is one a store can answer."""
    if not 1 <= limit <= MAX_FIELDS_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_FIELDS_LIMIT}")
    if after is not None:
        if len(after) > MAX_METADATA_BYTES:
            raise InvalidInputError(f"after holds at most {MAX_METADATA_BYTES} characters (no key is longer)")
        check_text("after", after)


def check_facet_page(limit: int, offset: int, contains: str | None) -> None:
    """Raise :class:`InvalidInputError` unless a facet's page is one a store can answer."""
    if not 1 <= limit <= MAX_FACET_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_FACET_LIMIT}")
    if offset < 0:
        raise InvalidInputError(f"offset must not be negative, got {offset}")
    if contains is not None:
        if not contains or len(contains) > MAX_FACET_CONTAINS:
            raise InvalidInputError(f"contains holds 1 to {MAX_FACET_CONTAINS} characters")
        check_text("contains", contains)


def facet_page(field: str, rows: FacetRows, order: FacetOrder, offset: int, limit: int) -> Facet:
    """A :class:`Facet` from all of a field's rows (those shards added up), ordered and cut as a store
    would answer it."""
    key = (lambda vc: facet_order(*vc)) if order == "count" else (lambda vc: value_order(vc[0]))
    ordered = sorted(rows.values, key=key)[offset : offset + limit]
    return Facet(field, [FacetCount(v, c) for v, c in ordered], rows.distinct, rows.min, rows.max)


def value_order(value: FacetValue) -> tuple[int, Any, str]:
    """Facet values in value order, as a store gives them: numbers (1 before 1.0), then strings (by code
    point), then false, then true."""
    if isinstance(value, bool):
        return (3 if value else 2, 0, "")
    if isinstance(value, int | float):
        return (0, value, "integer" if isinstance(value, int) else "real")
    return (1, value, "text")


def facet_order(value: str | int | float | bool, count: int) -> tuple[int, str, Any]:
    """The order of a store's facet values: most held first, then by JSON type as SQLite names it, then by
    value (to merge shards' facets as one index would order them)."""
    if isinstance(value, bool):
        return (-count, "true" if value else "false", 0)
    return (
        -count,
        "integer" if isinstance(value, int) else "real" if isinstance(value, float) else "text",
        value,
    )


def within_text_budget(page: list[DocumentSummary]) -> list[DocumentSummary]:
    """``page`` up to the document whose text brings it to :data:`PAGE_TEXT_CHARS`, as a store cuts one."""
    characters = 0
    for position, document in enumerate(page):
        characters += len(document.text or "")
        if characters >= PAGE_TEXT_CHARS:
            return page[: position + 1]
    return page


def page_may_continue(page: Sequence[DocumentSummary], limit: int) -> bool:
    """Whether documents may follow a page of :meth:`SearchIndex.list_documents`: it is full, or its texts
    reached :data:`PAGE_TEXT_CHARS` (a page that ends there by chance is answered by an empty next one)."""
    return len(page) >= limit or sum(len(d.text or "") for d in page) >= PAGE_TEXT_CHARS


def _from_cache(result: SearchResult, took_ms: float) -> SearchResult:
    """A kept result as the answer to a search now: its own list of hits, this search's time."""
    return dataclasses.replace(
        result, hits=list(result.hits), took_ms=took_ms, timings=SearchTimings(), cached=True
    )


class _VanishedError(Exception):
    """Documents an upsert found unchanged were deleted before it could report them."""

    def __init__(self, documents: list[Document]) -> None:
        super().__init__(f"{len(documents)} documents vanished")
        self.documents = documents


class _ClosedError(Exception):
    """The index closed while its vector index was being rebuilt."""
