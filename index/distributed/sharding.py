"""One index split into shards: which shard owns a document, where the shards live, and a search over all
of them that answers like one index.

A sharded data directory is a folder of ordinary data directories, ``shard-0000`` to ``shard-<N-1>``, and a
``shards.json`` that says how many there are. Each document lives in exactly one shard, chosen by a stable
hash of its id (:func:`shard_of`), so a write goes to one shard and re-indexing a document replaces it
where it is. Every shard directory is a complete index the single-machine service can open by itself.

:class:`ShardedIndex` searches them all the way the Elasticsearch family does ("query then fetch"): the
query is embedded once, every shard returns its best candidates on each side (dense, keyword) with their
scores, the candidates are merged into one list per side, and ranking (fusion, grouping, highlights) runs
once over the merged lists, reading only the rows of the hits returned from the shards that hold them.
The dense side is therefore exactly that of one index holding every chunk (for exact vector search; with
HNSW each shard's graph is its own). The keyword side scores BM25 with each shard's own term statistics, as
Elasticsearch does by default: with documents spread at random over shards the IDFs differ little, but
keyword and hybrid scores are not bit-identical to one index's (docs/scaling.md shows by how much).

Shards are reached through two small protocols, :class:`ShardReader` and :class:`ShardWriter`, which a local
:class:`~index.search_index.SearchIndex` (through :class:`LocalShardWriter`) and a remote replica (a Ray
Serve deployment in :mod:`service.ray_serve`) both implement; nothing here knows about the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import json
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from index.encoders.base import Embedder
from index.errors import (
    IncompatibleIndexError,
    InvalidInputError,
    ReadOnlyIndexError,
    UnsupportedOperationError,
)
from index.ingest.preparation import validate_documents
from index.retrieval.examples import Example
from index.retrieval.filters import FilterLimits, SqlFilter, compile_filter
from index.retrieval.fusion import top
from index.retrieval.pipeline import search_in_phases
from index.retrieval.ranking import candidate_depth
from index.search_index import (
    SearchIndex,
    check_facet_page,
    check_fields_page,
    facet_page,
    within_text_budget,
)
from index.storage.files import atomic_write_text
from index.storage.layout import SHARDS_FILE
from index.storage.store import PreparedDocument
from index.storage.tasks import Task, TaskNotFoundError
from index.types import (
    Candidates,
    ChunkRow,
    Document,
    DocumentSummary,
    Facet,
    FacetOrder,
    FacetRows,
    FacetValue,
    IndexStats,
    Like,
    MetadataFields,
    MetadataUpdate,
    SearchRequest,
    SearchResult,
    ShardHealth,
    StoredDocument,
    UpsertResult,
    tally_fields,
)
from index.validation import check_metadata

LAYOUT_VERSION = 1
HASH_NAME = "blake2b-64 of the UTF-8 document id, modulo the shard count"
# How long a prepared (embedded, not yet committed) write waits for its commit before it is dropped.
PENDING_SECONDS = 600.0

T = TypeVar("T")


def shard_of(doc_id: str, shards: int) -> int:
    """The shard that owns ``doc_id``: the same on every machine and every Python (unlike ``hash()``)."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def shard_dir(root: Path | str, shard: int) -> Path:
    return Path(root) / f"shard-{shard:04d}"


def create_layout(root: Path | str, shards: int) -> list[Path]:
    """Make ``root`` a sharded data directory of ``shards`` shards (or check that it already is one with that
    many); the shard directories, in order. Raises :class:`IncompatibleIndexError` for another count:
    documents would then live in the wrong shard, so changing it means indexing into a new directory."""
    if shards < 1:
        raise InvalidInputError(f"the number of shards must be at least 1, got {shards}")
    root = Path(root)
    layout = root / SHARDS_FILE
    if layout.exists():
        existing = read_layout(root)
        if len(existing) != shards:
            raise IncompatibleIndexError(
                f"{root} is split into {len(existing)} shards, not {shards}: a document's shard depends on "
                "the count, so index into a new directory to change it"
            )
        return existing
    if root.exists() and any(root.iterdir()):
        raise IncompatibleIndexError(
            f"{root} is not empty and not a sharded data directory (no {SHARDS_FILE})"
        )
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        layout, json.dumps({"version": LAYOUT_VERSION, "shards": shards, "hash": HASH_NAME}, indent=2) + "\n"
    )
    return [shard_dir(root, i) for i in range(shards)]


def read_layout(root: Path | str) -> list[Path]:
    """The shard directories of the sharded data directory ``root``, in shard order."""
    root = Path(root)
    try:
        layout = json.loads((root / SHARDS_FILE).read_text(encoding="utf-8"))
        shards = int(layout["shards"])
        version = int(layout["version"])
    except FileNotFoundError:
        raise IncompatibleIndexError(f"{root} is not a sharded data directory (no {SHARDS_FILE})") from None
    except (ValueError, KeyError, TypeError) as error:
        raise IncompatibleIndexError(f"{root / SHARDS_FILE} cannot be read: {error}") from error
    if version != LAYOUT_VERSION or shards < 1:
        raise IncompatibleIndexError(f"{root / SHARDS_FILE} describes an unknown layout: {layout}")
    return [shard_dir(root, i) for i in range(shards)]


def is_sharded(root: Path | str) -> bool:
    return (Path(root) / SHARDS_FILE).exists()


def split_by_shard(documents: Sequence[Document], shards: int) -> dict[int, list[Document]]:
    """``documents`` grouped by owning shard, each group in input order."""
    groups: dict[int, list[Document]] = defaultdict(list)
    for doc in documents:
        groups[shard_of(doc.id, shards)].append(doc)
    return dict(groups)


def sharded_batches(
    documents: Iterable[Document], size: int, shards: int
) -> Iterator[tuple[int, list[Document]]]:
    """``(shard, group)``: each shard's documents, grouped by :func:`batches` rules within the shard."""
    groups: list[dict[str, Document]] = [{} for _ in range(shards)]
    for doc in documents:
        shard = shard_of(doc.id, shards)
        group = groups[shard]
        if doc.id in group or len(group) >= size:
            yield shard, list(group.values())
            groups[shard] = group = {}
        group[doc.id] = doc
    for shard, group in enumerate(groups):
        if group:
            yield shard, list(group.values())


def reshard(
    sources: Sequence[SearchIndex],
    targets: Sequence[SearchIndex],
    *,
    batch_size: int = 256,
    on_progress: Callable[[int], object] | None = None,
) -> int:
    """Copy every document of ``sources`` (one index, or the shards of one) into ``targets``, each into the
    shard that owns it, with its chunks and embeddings as they are: nothing is embedded again. Each source
    is read from one snapshot, so it may be serving meanwhile; the targets should be new. The number of
    documents copied. ``on_progress`` is called with the count of each batch written."""
    copied = 0
    for source in sources:
        for batch in source.export_prepared(batch_size):
            groups: dict[int, list[PreparedDocument]] = defaultdict(list)
            for item in batch:
                groups[shard_of(item.document.id, len(targets))].append(item)
            for shard, items in groups.items():
                targets[shard].write_prepared([item.document for item in items], items)
            copied += len(batch)
            if on_progress is not None:
                on_progress(len(batch))
    return copied


# -- global chunk ids -----------------------------------------------------------------------------------
# A chunk id is unique within its shard; across shards the router numbers chunks ``local * N + shard``, so
# ids stay unique, stable while the layout lasts, and equal to the local ones with one shard.


def global_id(local: int, shard: int, shards: int) -> int:
    return local * shards + shard


def local_id(chunk_id: int, shards: int) -> tuple[int, int]:
    """``(shard, local id)`` of a global chunk id."""
    return chunk_id % shards, chunk_id // shards


class ShardReader(Protocol):
    """What a search needs of one shard (a local index or a replica of it elsewhere)."""

    def candidates(
        self,
        requests: Sequence[SearchRequest],
        query_vectors: Sequence[NDArray[np.float32] | None],
        *,
        prefetch: bool = False,
    ) -> list[Candidates]: ...

    def rows(self, chunk_ids: Sequence[int]) -> Mapping[int, ChunkRow]: ...

    def documents(self, chunk_ids: Sequence[int]) -> Mapping[int, tuple[str, int]]: ...

    def first_chunks(self, doc_ids: Sequence[str]) -> Mapping[str, int]: ...

    def embeddings(self, chunk_ids: Sequence[int]) -> Mapping[int, NDArray[np.float32]]: ...

    def get(self, doc_id: str) -> StoredDocument: ...

    def list_documents(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        filter_spec: dict[str, Any] | None = None,
        with_text: bool = False,
    ) -> list[DocumentSummary]: ...

    def count(self, filter_spec: dict[str, Any] | None = None) -> int: ...

    def fields(
        self, filter_spec: dict[str, Any] | None = None, *, after: str | None = None, limit: int = 1000
    ) -> MetadataFields: ...

    def facet_values(
        self, field: str, filter_spec: dict[str, Any] | None, contains: str | None = None
    ) -> FacetRows: ...

    def example(self, like: Like) -> Example: ...

    def export_page(self, after: str | None = None, limit: int = 64) -> list[Document]: ...

    def stats(self) -> IndexStats: ...


class ShardWriter(Protocol):
    """What a write needs of the one process that writes a shard. An upsert is two steps, so a batch that
    spans shards is embedded everywhere before it is committed anywhere: a document one shard refuses
    (nothing to search in it, say) leaves every shard unchanged."""

    def prepare(self, documents: Sequence[Document]) -> str:
        """Validate, chunk and embed ``documents``; a token for :meth:`commit` or :meth:`abort`."""
        ...

    def commit(self, token: str) -> list[UpsertResult]: ...

    def abort(self, token: str) -> None: ...

    def delete(self, doc_id: str) -> int: ...

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]: ...

    def update_metadata(self, doc_id: str, patch: dict[str, Any]) -> DocumentSummary: ...

    def update_where(
        self, filter_spec: dict[str, Any], patch: dict[str, Any], check_only: bool
    ) -> MetadataUpdate: ...

    def stats(self) -> IndexStats: ...


class LocalShardWriter:
    """:class:`ShardWriter` over an index open for writing in this process."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self._pending: dict[str, tuple[float, list[Document], list[PreparedDocument]]] = {}
        self._lock = threading.Lock()

    def prepare(self, documents: Sequence[Document]) -> str:
        documents = list(documents)
        prepared = self.index.preparer.prepare(self.index.changed(documents))
        token = secrets.token_hex(8)
        now = time.monotonic()
        with self._lock:
            for stale in [t for t, (at, _, _) in self._pending.items() if now - at > PENDING_SECONDS]:
                del self._pending[stale]  # its router went away between the two steps
            self._pending[token] = (now, documents, prepared)
        return token

    def commit(self, token: str) -> list[UpsertResult]:
        with self._lock:
            pending = self._pending.pop(token, None)
        if pending is None:
            raise InvalidInputError("this write expired before it was committed; send it again")
        _, documents, prepared = pending
        return self.index.write_prepared(documents, prepared)

    def abort(self, token: str) -> None:
        with self._lock:
            self._pending.pop(token, None)

    def delete(self, doc_id: str) -> int:
        return self.index.delete(doc_id)

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]:
        return self.index.delete_where(filter_spec)

    def update_metadata(self, doc_id: str, patch: dict[str, Any]) -> DocumentSummary:
        return self.index.update_metadata(doc_id, patch)

    def update_where(
        self, filter_spec: dict[str, Any], patch: dict[str, Any], check_only: bool
    ) -> MetadataUpdate:
        return self.index.update_where(filter_spec, patch, check_only=check_only)

    def stats(self) -> IndexStats:
        return self.index.stats()


class _NoTasks:
    """The task list of a sharded index, always empty: background upserts are not routed to shards."""

    def get(self, task_id: str) -> Task:
        raise TaskNotFoundError(f"there is no task {task_id!r}: a sharded index runs no background tasks")


class ShardedIndex:
    """Shards searched and written as one index; the same methods as :class:`SearchIndex` for the service.

    ``readers[i]`` and ``writers[i]`` reach shard ``i``; with no writers the index is read-only. The
    embedder embeds queries (once per query, not once per shard); ``model_id`` and ``dim`` must match the
    shards' (the shards check their own manifests when they open). It is closed with the index when
    ``close_embedder`` (it is the index's own), else left to its owner.
    """

    def __init__(
        self,
        embedder: Embedder,
        readers: Sequence[ShardReader],
        writers: Sequence[ShardWriter] = (),
        *,
        data_dir: Path | str = ".",
        filter_limits: FilterLimits | None = None,
        close_embedder: bool = False,
    ) -> None:
        if not readers:
            raise ValueError("a sharded index needs at least one shard")
        if writers and len(writers) != len(readers):
            raise ValueError("one writer per shard, or none")
        self.data_dir = Path(data_dir)
        self.read_only = not writers
        self.filter_limits = filter_limits or FilterLimits()
        self.tasks = _NoTasks()
        self._embedder = embedder
        self._close_embedder = close_embedder
        self._readers = list(readers)
        self._writers = list(writers)
        self._shards = len(readers)
        self._pool = ThreadPoolExecutor(max_workers=4 * self._shards, thread_name_prefix="semsearch-shard")

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    # -- reads ----------------------------------------------------------------------------------------

    def search(self, query: str, k: int = 10, **options: Any) -> SearchResult:
        return self.search_batch([SearchRequest(query, k, **options)])[0]

    def search_batch(self, requests: Sequence[SearchRequest]) -> list[SearchResult]:
        """Like :meth:`SearchIndex.search_batch`, over every shard. Requests are checked here, so that a
        bad one is refused once, not by every shard."""
        return search_in_phases(
            requests,
            self._embedder,
            self.filter_limits,
            self._find,
            lambda found: _ShardedLookup(self._readers, self._fan_out, found.rows, found.placed),
            self.example,
        )

    def example(self, like: Like) -> Example:
        """The example from the shard that holds it, its chunk id global (:meth:`SearchIndex.example`)."""
        if like.chunk_id is not None:
            shard, local = local_id(like.chunk_id, self._shards)
            found = self._readers[shard].example(dataclasses.replace(like, chunk_id=local))
            return dataclasses.replace(found, chunk_id=like.chunk_id)
        if like.doc_id is None:
            raise InvalidInputError("an example is a doc_id, a chunk_id or a text")
        return self._readers[shard_of(like.doc_id, self._shards)].example(like)

    def _find(
        self,
        requests: Sequence[SearchRequest],
        vectors: list[NDArray[np.float32] | None],
        _: list[SqlFilter | None],  # each shard compiles the filters itself, against its own database
    ) -> list[Candidates]:
        per_shard = self._fan_out(
            [partial(r.candidates, requests, vectors, prefetch=True) for r in self._readers]
        )
        return [
            merge_candidates([found[i] for found in per_shard], candidate_depth(request))
            for i, request in enumerate(requests)
        ]

    def list_documents(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        filter_spec: dict[str, Any] | None = None,
        with_text: bool = False,
    ) -> list[DocumentSummary]:
        """Each shard's page after ``after``, merged in id order: the first ``limit`` of them are the first
        ``limit`` of the whole index, since each shard's page is its own first ``limit``. A page of texts
        then ends at the text budget as one index's does, which also ends it before the documents of a
        shard whose page ended early at the budget (its texts alone reach the budget by its last id)."""
        pages = self._fan_out(
            [
                partial(
                    r.list_documents, after=after, limit=limit, filter_spec=filter_spec, with_text=with_text
                )
                for r in self._readers
            ]
        )
        merged = heapq.nsmallest(limit, (d for page in pages for d in page), key=lambda d: d.id)
        return within_text_budget(merged) if with_text else merged

    def count(self, filter_spec: dict[str, Any] | None = None) -> int:
        """Each shard's count, added up (each document is on one shard)."""
        if filter_spec is not None:
            compile_filter(filter_spec, self.filter_limits)  # refused here, before any shard is asked
        return sum(self._fan_out([partial(r.count, filter_spec) for r in self._readers]))

    def fields(
        self, filter_spec: dict[str, Any] | None = None, *, after: str | None = None, limit: int = 1000
    ) -> MetadataFields:
        """Each shard's first ``limit`` keys after ``after``, added up by name and type: a key among the
        first ``limit`` of all shards is among the first ``limit`` of every shard holding it, so its counts
        are whole."""
        check_fields_page(after, limit)
        if filter_spec is not None:
            compile_filter(filter_spec, self.filter_limits)  # refused here, before any shard is asked
        asked = [partial(r.fields, filter_spec, after=after, limit=limit) for r in self._readers]
        pages = self._fan_out(asked)
        merged = tally_fields(
            (field.name, kind, n)
            for page in pages
            for field in page.fields
            for kind, n in field.types.items()
        )
        merged.sort(key=lambda field: field.name)
        more = len(merged) > limit or any(page.next is not None for page in pages)
        found = merged[:limit]
        return MetadataFields(found, found[-1].name if more and found else None)

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
        """Each shard's values of ``field`` (all of them: a value's count is the sum over the shards, each
        document on one shard), added up, ordered and cut as one index answers them; the least and
        greatest numbers over all shards."""
        check_facet_page(limit, offset, contains)
        per_shard = self._fan_out(
            [partial(r.facet_values, field, filter_spec, contains) for r in self._readers]
        )
        counts: dict[tuple[type, FacetValue], int] = {}  # 1, 1.0 and true apart
        for rows in per_shard:
            for value, count in rows.values:
                counts[type(value), value] = counts.get((type(value), value), 0) + count
        numbers = [n for rows in per_shard for n in (rows.min, rows.max) if n is not None]
        merged = FacetRows(
            [(value, count) for (_, value), count in counts.items()],
            len(counts),
            min(numbers, default=None),
            max(numbers, default=None),
        )
        return facet_page(field, merged, order, offset, limit)

    def get(self, doc_id: str) -> StoredDocument:
        shard = shard_of(doc_id, self._shards)
        stored = self._readers[shard].get(doc_id)
        chunks = [
            dataclasses.replace(c, chunk_id=global_id(c.chunk_id, shard, self._shards)) for c in stored.chunks
        ]
        return dataclasses.replace(stored, chunks=chunks)

    def export_documents(self, batch_size: int = 64) -> Iterator[list[Document]]:
        """Every stored document as it was sent, in batches, shard after shard, each in id order (to index
        them again with other settings: :func:`index.collections.reindex`). Unlike
        :meth:`SearchIndex.export_documents`, not one snapshot: a document written meanwhile may or may
        not be in it."""
        for reader in self._readers:
            after = None
            while page := reader.export_page(after, batch_size):
                yield page
                after = page[-1].id

    def stats(self) -> IndexStats:
        each = self._fan_out([r.stats for r in self._readers])
        return IndexStats(
            documents=sum(s.documents for s in each),
            chunks=sum(s.chunks for s in each),
            model_id=each[0].model_id,
            dimension=each[0].dimension,
            index_type=f"{self._shards} shards of {each[0].index_type}",
            data_dir=self.data_dir,
        )

    def shard_health(self) -> list[ShardHealth]:
        """Each shard's readiness: its replicas and its writer asked for their statistics."""
        readers = self._fan_out([partial(_attempt_call, r.stats) for r in self._readers])
        writers = self._fan_out([partial(_attempt_call, w.stats) for w in self._writers])
        report = []
        for shard, read in enumerate(readers):
            wrote = writers[shard] if writers else None
            problems = [
                f"{role}: {o}"
                for role, o in (("replicas", read), ("writer", wrote))
                if isinstance(o, Exception)
            ]
            report.append(
                ShardHealth(
                    shard=shard,
                    reader=isinstance(read, IndexStats),
                    writer=None if wrote is None else isinstance(wrote, IndexStats),
                    documents=read.documents if isinstance(read, IndexStats) else None,
                    detail="; ".join(problems) or None,
                )
            )
        return report

    # -- writes ---------------------------------------------------------------------------------------

    def upsert(self, documents: Sequence[Document], **_: Any) -> list[UpsertResult]:
        """Insert or replace ``documents``, each in the shard that owns it. Every shard embeds its part
        before any commits, so invalid input changes nothing; each shard's part is one transaction (the
        batch as a whole is not: a shard that fails while committing leaves the others committed)."""
        writers = self._writable()
        validate_documents(documents)
        groups = split_by_shard(documents, self._shards)
        shards = sorted(groups)
        outcomes = self._fan_out([partial(_attempt, writers[s].prepare, groups[s]) for s in shards])
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failed:
            tokens = [(s, o) for s, o in zip(shards, outcomes, strict=True) if isinstance(o, str)]
            self._fan_out([partial(writers[s].abort, t) for s, t in tokens])
            raise failed[0]
        tokens_of = dict(zip(shards, outcomes, strict=True))
        committed = self._fan_out([partial(writers[s].commit, str(tokens_of[s])) for s in shards])
        by_id = {result.id: result for results in committed for result in results}
        return [by_id[doc.id] for doc in documents]

    def upsert_stream(self, groups: Iterable[Sequence[Document]]) -> Iterator[list[UpsertResult]]:
        """Upsert each group of ``groups`` in turn (:meth:`upsert`), yielding each group's results: the
        shards embed in parallel already."""
        for group in groups:
            yield self.upsert(group)

    def submit_upsert(self, documents: Sequence[Document]) -> Task:
        raise UnsupportedOperationError(
            "background upserts (wait=false) are not available on a sharded index: send the batch with "
            "wait=true, in smaller batches if it is large"
        )

    def delete(self, doc_id: str) -> int:
        return self._writable()[shard_of(doc_id, self._shards)].delete(doc_id)

    def update_metadata(self, doc_id: str, patch: dict[str, Any]) -> DocumentSummary:
        return self._writable()[shard_of(doc_id, self._shards)].update_metadata(doc_id, patch)

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]:
        """Delete the matching documents in every shard (one transaction per shard)."""
        writers = self._writable()
        compile_filter(filter_spec, self.filter_limits)
        deleted = self._fan_out([partial(w.delete_where, filter_spec) for w in writers])
        return [doc_id for ids in deleted for doc_id in ids]

    def update_where(
        self, filter_spec: dict[str, Any], patch: dict[str, Any], *, check_only: bool = False
    ) -> MetadataUpdate:
        """Patch the matching documents in every shard (one transaction per shard), once every shard has
        found the patch valid for each of its documents: a patch one shard refuses changes no shard (unless
        a write between the check and the commit makes it invalid there)."""
        writers = self._writable()
        compile_filter(filter_spec, self.filter_limits)
        check_metadata("the metadata patch", patch)
        if not check_only:
            self._fan_out([partial(w.update_where, filter_spec, patch, True) for w in writers])
        done = self._fan_out([partial(w.update_where, filter_spec, patch, check_only) for w in writers])
        return MetadataUpdate(sum(d.matched for d in done), sorted(i for d in done for i in d.updated))

    def save(self) -> None:
        raise UnsupportedOperationError(
            "snapshots of a sharded index are taken per shard: run `semsearch snapshot` against each shard "
            "directory (see docs/scaling.md)"
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        close = getattr(self._embedder, "close", None) if self._close_embedder else None
        if callable(close):
            close()

    def _writable(self) -> list[ShardWriter]:
        if not self._writers:
            raise ReadOnlyIndexError("this sharded index is read-only: it was opened without writers")
        return self._writers

    def _fan_out(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``calls`` concurrently; their results in order (the first exception is raised)."""
        if len(calls) == 1:
            return [calls[0]()]
        return [future.result() for future in [self._pool.submit(call) for call in calls]]


def merge_candidates(per_shard: Sequence[Candidates], depth: int) -> Candidates:
    """One shard-wide candidate list per side from each shard's: every chunk renumbered to its global id,
    the best ``depth`` kept per side (each shard returned its own best ``depth``, so none is missed)."""
    shards = len(per_shard)
    sides: list[dict[int, float]] = []
    for side in range(len(per_shard[0].sides)):
        merged = {
            global_id(chunk, shard, shards): score
            for shard, found in enumerate(per_shard)
            for chunk, score in found.sides[side].items()
        }
        sides.append(dict(top(merged, depth)))
    rows = {
        global_id(chunk, shard, shards): dataclasses.replace(row, chunk_id=global_id(chunk, shard, shards))
        for shard, found in enumerate(per_shard)
        for chunk, row in found.rows.items()
    }
    placed = {
        global_id(chunk, shard, shards): where
        for shard, found in enumerate(per_shard)
        for chunk, where in found.placed.items()
    }
    if per_shard[0].documents is None:
        return Candidates(sides, rows=rows, placed=placed)
    documents = {doc: score for found in per_shard for doc, score in (found.documents or {}).items()}
    return Candidates(sides, dict(top(documents, depth)), rows, placed)


class _ShardedLookup:
    """Ranking's :class:`~index.retrieval.ranking.ChunkLookup` over global chunk ids: what the shards
    prefetched with their candidates, and the rest read from the shard that holds each id."""

    def __init__(
        self,
        readers: Sequence[ShardReader],
        fan_out: Callable[[list[Callable[[], Any]]], list[Any]],
        rows: Mapping[int, ChunkRow],
        placed: Mapping[int, tuple[str, int]],
    ):
        self._readers = readers
        self._fan_out = fan_out
        self._shards = len(readers)
        self._rows = rows
        self._placed = placed

    def _by_shard(self, chunk_ids: Sequence[int]) -> dict[int, list[int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for chunk in chunk_ids:
            shard, local = local_id(int(chunk), self._shards)
            groups[shard].append(local)
        return dict(groups)

    def rows(self, chunk_ids: Sequence[int]) -> Mapping[int, ChunkRow]:
        known = {c: self._rows[c] for c in chunk_ids if c in self._rows}
        groups = self._by_shard([c for c in chunk_ids if c not in known])
        found = self._fan_out([partial(self._readers[s].rows, groups[s]) for s in groups])
        n = self._shards
        return known | {
            global_id(local, shard, n): dataclasses.replace(row, chunk_id=global_id(local, shard, n))
            for shard, rows in zip(groups, found, strict=True)
            for local, row in rows.items()
        }

    def documents(self, chunk_ids: Sequence[int]) -> Mapping[int, tuple[str, int]]:
        known = {c: self._placed[c] for c in chunk_ids if c in self._placed}
        known |= {c: (self._rows[c].doc_id, self._rows[c].ordinal) for c in chunk_ids if c in self._rows}
        groups = self._by_shard([c for c in chunk_ids if c not in known])
        found = self._fan_out([partial(self._readers[s].documents, groups[s]) for s in groups])
        n = self._shards
        return known | {
            global_id(local, shard, n): placed
            for shard, placed_of in zip(groups, found, strict=True)
            for local, placed in placed_of.items()
        }

    def embeddings(self, chunk_ids: Sequence[int]) -> Mapping[int, NDArray[np.float32]]:
        groups = self._by_shard(chunk_ids)
        found = self._fan_out([partial(self._readers[s].embeddings, groups[s]) for s in groups])
        return {
            global_id(local, shard, self._shards): vector
            for shard, vectors in zip(groups, found, strict=True)
            for local, vector in vectors.items()
        }

    def first_chunks(self, doc_ids: Sequence[str]) -> Mapping[str, int]:
        groups: dict[int, list[str]] = defaultdict(list)
        for doc in doc_ids:
            groups[shard_of(doc, self._shards)].append(doc)
        found = self._fan_out([partial(self._readers[s].first_chunks, groups[s]) for s in groups])
        return {
            doc: global_id(chunk, shard, self._shards)
            for shard, firsts in zip(groups, found, strict=True)
            for doc, chunk in firsts.items()
        }


def _attempt_call(call: Callable[[], T]) -> T | Exception:
    try:
        return call()
    except Exception as error:  # reported as the shard's health, not raised
        return error


def _attempt(call: Callable[[list[Document]], str], documents: list[Document]) -> str | BaseException:
    try:
        return call(documents)
    except Exception as error:  # returned, so the other shards' prepared writes can be aborted
        return error
