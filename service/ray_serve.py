"""Replicated and sharded serving on Ray Serve: the same HTTP API as ``semsearch serve``, over N shards.

Needs the optional ``ray`` extra (``pip install 'semsearch[ray]'``). The application is three kinds of
deployment (docs/scaling.md has the picture):

- ``shard-<i>``: R read replicas of shard *i*, each a read-only :class:`~index.SearchIndex` on the shard's
  directory that catches up with the writer's commits before every search (one read of a counter when
  nothing changed), so an acknowledged write is visible to the next search on any replica;
- ``shard-<i>-writer``: the one process that writes shard *i* (a data directory has one writer, always);
- ``router``: the FastAPI app of :mod:`service.app` over a :class:`~index.distributed.sharding.ShardedIndex`:
  it embeds each query once, fans the candidate search out to every shard, merges, ranks, and fetches the
  rows of the hits; it sends each write to the shard that owns the document. R router replicas share the
  HTTP load.

Collections (:mod:`index.collections`) are sharded the same way, over the same deployments: the root's
catalog says which exist; collection *c* is a sharded data directory ``collections/<c>/`` with as many
shards as the root, and shard *i* of every collection is served by the ``shard-<i>`` deployments, which
open it on the first call that names it (:class:`CollectionRef`: its name and settings travel with each
call, so shards need no catalog). The router creates a collection by having every shard's writer open
(create) it; it deletes one by having them remove their part. A replica notices that a collection it has
open was deleted, or deleted and made again, by its directory's identity (one ``stat`` per call).

Replicas of a shard read its directory over the filesystem, so they must run on the machine that holds it
(SQLite's write-ahead log needs shared memory): on a multi-node cluster, pin each shard's deployments with
a custom resource (``--shard-resource``), or serve snapshot copies read-only.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from fastapi import FastAPI
from numpy.typing import NDArray
from ray import serve
from ray.exceptions import RayError, RayTaskError
from ray.serve.handle import DeploymentHandle

from index import SearchIndex
from index.collections import (
    RETIRE_SECONDS,
    Catalog,
    CollectionNotFoundError,
    CollectionSet,
    CollectionSettings,
    collection_dir,
)
from index.distributed.sharding import LocalShardWriter, ShardedIndex, create_layout, read_layout, shard_dir
from index.errors import SemsearchError, ShardUnavailableError
from index.retrieval.examples import Example
from index.retrieval.filters import FilterLimits
from index.types import (
    Candidates,
    ChunkRow,
    Document,
    DocumentSummary,
    FacetRows,
    IndexStats,
    Like,
    MetadataFields,
    MetadataUpdate,
    SearchRequest,
    StoredDocument,
    UpsertResult,
)
from service import runtime
from service.app import create_app
from service.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long the router waits for a shard before answering 503 (a shard's search is milliseconds; a write
# embeds its documents first, which can take a while for a large batch).
READ_TIMEOUT_SECONDS = 30.0
WRITE_TIMEOUT_SECONDS = 600.0
HEALTH_TIMEOUT_SECONDS = 5.0
# Requests one replica works on at once. Ray Serve's default (5) queues an 8-client load at the proxy;
# semsearch's replicas run requests on threads and bound their CPU work themselves (one encode per core).
MAX_ONGOING_REQUESTS = 32


@dataclass(frozen=True, slots=True)
class CollectionRef:
    """The collection a call to a shard is about, and what it is built with; ``None`` in its place means
    the default collection (the root's own shards)."""

    name: str
    settings: CollectionSettings


@dataclass(slots=True)
class _Opened:
    index: SearchIndex
    writer: LocalShardWriter | None
    identity: tuple[int, int]  # the shard directory's (device, inode) when it was opened


class ShardServer:
    """Shard *i* of every collection, opened read-only (a read replica) or for writing (the shard's
    writer): the default collection's at start, the others on the first call that names them."""

    def __init__(self, settings: Settings, shard: int, writer: bool) -> None:
        self.shard = shard
        self.root = settings.data_dir
        self.settings = settings.model_copy(
            update={
                "data_dir": read_layout(settings.data_dir)[shard],
                "read_only": not writer,
                "seed_demo": False,
            }
        )
        self.index = runtime.open_index(self.settings)
        self.writer = LocalShardWriter(self.index) if writer else None
        self._opener = runtime.collection_opener(self.settings, self.index)
        self._collections: dict[str, _Opened] = {}
        self._lock = threading.Lock()
        log.info("shard %d %s open on %s", shard, "writer" if writer else "replica", self.settings.data_dir)

    def _open(self, ref: CollectionRef | None) -> _Opened | None:
        """The collection's shard, opened now if it is not (a writer creates it); None for the default."""
        if ref is None:
            return None
        directory = shard_dir(collection_dir(self.root, ref.name), self.shard)
        identity = _identity(directory)
        opened = self._collections.get(ref.name)
        if opened is not None and opened.identity == identity:
            return opened
        with self._lock:
            opened = self._collections.get(ref.name)
            identity = _identity(directory)
            if opened is not None and opened.identity == identity:
                return opened
            if opened is not None:  # deleted, or deleted and made again: close the old one soon
                del self._collections[ref.name]
                _close_later(opened.index)
            if identity is None and self.writer is None:
                raise CollectionNotFoundError(ref.name)
            index = self._opener(ref.name, directory, ref.settings)
            identity = _identity(directory)
            assert identity is not None  # SearchIndex.open made it
            opened = self._collections[ref.name] = _Opened(
                index, LocalShardWriter(index) if self.writer is not None else None, identity
            )
            return opened

    def _index(self, ref: CollectionRef | None) -> SearchIndex:
        opened = self._open(ref)
        return self.index if opened is None else opened.index

    # reads
    def candidates(
        self,
        ref: CollectionRef | None,
        requests: Sequence[SearchRequest],
        query_vectors: Sequence[NDArray[np.float32] | None],
        prefetch: bool = False,
    ) -> list[Candidates]:
        return self._index(ref).candidates(requests, query_vectors, prefetch=prefetch)

    def rows(self, ref: CollectionRef | None, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        return self._index(ref).rows(chunk_ids)

    def documents(self, ref: CollectionRef | None, chunk_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        return self._index(ref).documents(chunk_ids)

    def first_chunks(self, ref: CollectionRef | None, doc_ids: Sequence[str]) -> dict[str, int]:
        return self._index(ref).first_chunks(doc_ids)

    def embeddings(
        self, ref: CollectionRef | None, chunk_ids: Sequence[int]
    ) -> dict[int, NDArray[np.float32]]:
        return self._index(ref).embeddings(chunk_ids)

    def get(self, ref: CollectionRef | None, doc_id: str) -> StoredDocument:
        return self._index(ref).get(doc_id)  # read from the database: always current, no catching up

    def list_documents(
        self,
        ref: CollectionRef | None,
        after: str | None = None,
        limit: int = 100,
        filter_spec: dict[str, Any] | None = None,
        with_text: bool = False,
    ) -> list[DocumentSummary]:
        return self._index(ref).list_documents(
            after=after, limit=limit, filter_spec=filter_spec, with_text=with_text
        )

    def export_page(self, ref: CollectionRef | None, after: str | None, limit: int) -> list[Document]:
        return self._index(ref).export_page(after, limit)

    def facet_values(
        self, ref: CollectionRef | None, field: str, filter_spec: dict[str, Any] | None, contains: str | None
    ) -> FacetRows:
        return self._index(ref).facet_values(field, filter_spec, contains)

    def count(self, ref: CollectionRef | None, filter_spec: dict[str, Any] | None) -> int:
        return self._index(ref).count(filter_spec)

    def fields(
        self, ref: CollectionRef | None, filter_spec: dict[str, Any] | None, after: str | None, limit: int
    ) -> MetadataFields:
        return self._index(ref).fields(filter_spec, after=after, limit=limit)

    def example(self, ref: CollectionRef | None, like: Like) -> Example:
        return self._index(ref).example(like)

    def stats(self, ref: CollectionRef | None) -> IndexStats:
        return self._index(ref).stats()

    # writes
    def open(self, ref: CollectionRef) -> None:
        """Create the collection's shard (on the writer), so that replicas can open it."""
        self._writer(ref)

    def drop(self, ref: CollectionRef) -> None:
        """Remove a deleted collection's shard: its files now, its open index once calls in flight end."""
        with self._lock:
            opened = self._collections.pop(ref.name, None)
        if opened is not None:
            _close_later(opened.index)
        shutil.rmtree(shard_dir(collection_dir(self.root, ref.name), self.shard), ignore_errors=True)

    def prepare(self, ref: CollectionRef | None, documents: Sequence[Document]) -> str:
        return self._writer(ref).prepare(documents)

    def commit(self, ref: CollectionRef | None, token: str) -> list[UpsertResult]:
        return self._writer(ref).commit(token)

    def abort(self, ref: CollectionRef | None, token: str) -> None:
        self._writer(ref).abort(token)

    def delete(self, ref: CollectionRef | None, doc_id: str) -> int:
        return self._writer(ref).delete(doc_id)

    def delete_where(self, ref: CollectionRef | None, filter_spec: dict[str, Any]) -> list[str]:
        return self._writer(ref).delete_where(filter_spec)

    def update_metadata(
        self, ref: CollectionRef | None, doc_id: str, patch: dict[str, Any]
    ) -> DocumentSummary:
        return self._writer(ref).update_metadata(doc_id, patch)

    def update_where(
        self, ref: CollectionRef | None, filter_spec: dict[str, Any], patch: dict[str, Any], check_only: bool
    ) -> MetadataUpdate:
        return self._writer(ref).update_where(filter_spec, patch, check_only)

    def _writer(self, ref: CollectionRef | None) -> LocalShardWriter:
        if self.writer is None:
            raise RuntimeError("a write was sent to a read replica")  # the router never does
        opened = self._open(ref)
        if opened is None:
            return self.writer
        assert opened.writer is not None  # a writer opens every collection for writing
        return opened.writer

    def __del__(self) -> None:  # Ray Serve stops a replica by dropping it: save and close the indexes
        for opened in list(getattr(self, "_collections", {}).values()):
            opened.index.close()
        index = getattr(self, "index", None)
        if index is not None:
            index.close()


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(directory)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def _close_later(index: SearchIndex) -> None:
    """Close an index other calls may still be using, once they are done (none outlives RETIRE_SECONDS)."""

    def close() -> None:
        try:
            index.close()
        except OSError as error:  # its folder went with the collection: nothing left to save
            log.debug("closed a deleted collection's shard without saving it: %s", error)

    timer = threading.Timer(RETIRE_SECONDS, close)
    timer.daemon = True
    timer.start()


class RemoteShard:
    """A shard's deployment seen from the router, as :class:`~index.distributed.sharding.ShardReader` and
    :class:`~index.distributed.sharding.ShardWriter`: the library's own errors come through as themselves (a
    missing document stays a 404); a shard that does not answer becomes :class:`ShardUnavailableError`
    (503)."""

    def __init__(
        self, shard: int, handle: DeploymentHandle[Any], timeout: float, ref: CollectionRef | None = None
    ) -> None:
        self.shard = shard
        self._handle = handle
        self._timeout = timeout
        self._ref = ref

    def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        try:
            call = getattr(self._handle, method).remote(self._ref, *args)
            return call.result(timeout_s=timeout or self._timeout)
        except RayTaskError as error:
            if isinstance(error.cause, SemsearchError):
                raise error.cause from None
            raise ShardUnavailableError(f"shard {self.shard} failed: {error.cause!r}") from error
        except (RayError, TimeoutError) as error:
            raise ShardUnavailableError(f"shard {self.shard} did not answer: {error}") from error

    def candidates(
        self,
        requests: Sequence[SearchRequest],
        query_vectors: Sequence[NDArray[np.float32] | None],
        *,
        prefetch: bool = False,
    ) -> list[Candidates]:
        result: list[Candidates] = self._call("candidates", list(requests), list(query_vectors), prefetch)
        return result

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        result: dict[int, ChunkRow] = self._call("rows", list(chunk_ids))
        return result

    def documents(self, chunk_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        result: dict[int, tuple[str, int]] = self._call("documents", list(chunk_ids))
        return result

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, int]:
        result: dict[str, int] = self._call("first_chunks", list(doc_ids))
        return result

    def embeddings(self, chunk_ids: Sequence[int]) -> dict[int, NDArray[np.float32]]:
        result: dict[int, NDArray[np.float32]] = self._call("embeddings", list(chunk_ids))
        return result

    def get(self, doc_id: str) -> StoredDocument:
        result: StoredDocument = self._call("get", doc_id)
        return result

    def list_documents(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        filter_spec: dict[str, Any] | None = None,
        with_text: bool = False,
    ) -> list[DocumentSummary]:
        result: list[DocumentSummary] = self._call("list_documents", after, limit, filter_spec, with_text)
        return result

    def example(self, like: Like) -> Example:
        result: Example = self._call("example", like)
        return result

    def export_page(self, after: str | None = None, limit: int = 64) -> list[Document]:
        result: list[Document] = self._call("export_page", after, limit)
        return result

    def count(self, filter_spec: dict[str, Any] | None = None) -> int:
        result: int = self._call("count", filter_spec)
        return result

    def fields(
        self, filter_spec: dict[str, Any] | None = None, *, after: str | None = None, limit: int = 1000
    ) -> MetadataFields:
        result: MetadataFields = self._call("fields", filter_spec, after, limit)
        return result

    def facet_values(
        self, field: str, filter_spec: dict[str, Any] | None, contains: str | None = None
    ) -> FacetRows:
        result: FacetRows = self._call("facet_values", field, filter_spec, contains)
        return result

    def stats(self) -> IndexStats:
        result: IndexStats = self._call("stats", timeout=HEALTH_TIMEOUT_SECONDS)
        return result

    def open(self) -> None:
        self._call("open")

    def drop(self) -> None:
        self._call("drop")

    def prepare(self, documents: Sequence[Document]) -> str:
        result: str = self._call("prepare", list(documents))
        return result

    def commit(self, token: str) -> list[UpsertResult]:
        result: list[UpsertResult] = self._call("commit", token)
        return result

    def abort(self, token: str) -> None:
        self._call("abort", token)

    def delete(self, doc_id: str) -> int:
        result: int = self._call("delete", doc_id)
        return result

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]:
        result: list[str] = self._call("delete_where", filter_spec)
        return result

    def update_metadata(self, doc_id: str, patch: dict[str, Any]) -> DocumentSummary:
        result: DocumentSummary = self._call("update_metadata", doc_id, patch)
        return result

    def update_where(
        self, filter_spec: dict[str, Any], patch: dict[str, Any], check_only: bool
    ) -> MetadataUpdate:
        result: MetadataUpdate = self._call("update_where", filter_spec, patch, check_only)
        return result


class Router:
    """The HTTP API over every shard: :func:`service.app.create_app` serving a :class:`ShardedIndex` per
    collection."""

    def __init__(
        self, settings: Settings, readers: list[DeploymentHandle[Any]], writers: list[DeploymentHandle[Any]]
    ) -> None:
        self.settings = settings
        self._readers, self._writers = readers, writers
        embedder = runtime.load_model(settings)
        self._models = runtime.ModelPool(settings, embedder)
        self.index = self._sharded(embedder, None, settings.data_dir)
        catalog = Catalog(settings.data_dir, settings.default_collection)
        self.collections = CollectionSet(catalog, self.index, self._open_collection, self._remove_collection)

    def _sharded(
        self, embedder: Any, ref: CollectionRef | None, data_dir: Path, *, close_embedder: bool = False
    ) -> ShardedIndex:
        return ShardedIndex(
            embedder,
            [RemoteShard(i, h, READ_TIMEOUT_SECONDS, ref) for i, h in enumerate(self._readers)],
            [RemoteShard(i, h, WRITE_TIMEOUT_SECONDS, ref) for i, h in enumerate(self._writers)],
            data_dir=data_dir,
            filter_limits=FilterLimits(self.settings.max_filter_depth, self.settings.max_filter_clauses),
            close_embedder=close_embedder,
        )

    def _open_collection(self, name: str, data_dir: Path, settings: CollectionSettings) -> ShardedIndex:
        """A collection over every shard: its layout here, its shards created by their writers."""
        create_layout(data_dir, len(self._readers))
        own = runtime.collection_settings(self.settings, settings)
        ref = CollectionRef(name, settings)
        embedder = self._models.lease(own)
        try:
            for i, handle in enumerate(self._writers):
                RemoteShard(i, handle, WRITE_TIMEOUT_SECONDS, ref).open()
        except BaseException:
            embedder.close()
            raise
        return self._sharded(embedder, ref, data_dir, close_embedder=True)

    def _remove_collection(self, name: str, data_dir: Path) -> None:
        settings = CollectionSettings()  # a drop opens nothing: the settings are not used
        for i, handle in enumerate(self._writers):
            try:
                RemoteShard(i, handle, WRITE_TIMEOUT_SECONDS, CollectionRef(name, settings)).drop()
            except ShardUnavailableError:  # what is left there is not served, and a new one replaces it
                log.exception("shard %d could not remove its part of the deleted collection %r", i, name)
        shutil.rmtree(data_dir, ignore_errors=True)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.settings, index=self.index, collections=self.collections)

    def __del__(self) -> None:
        collections = getattr(self, "collections", None)
        if collections is not None:
            collections.close()
        index = getattr(self, "index", None)
        if index is not None:
            index.close()


def build_application(
    settings: Settings,
    *,
    replicas: int = 1,
    routers: int = 1,
    shard_resource: Callable[[int], dict[str, float]] | None = None,
    cpus_per_replica: float = 1.0,
    max_ongoing_requests: int = MAX_ONGOING_REQUESTS,
) -> Any:
    """The Ray Serve application over the sharded data directory ``settings.data_dir``: each shard with
    ``replicas`` read replicas and one writer, behind ``routers`` router replicas. ``shard_resource(i)``
    gives custom Ray resources that pin shard *i*'s deployments to the node holding its directory."""
    shards = len(read_layout(settings.data_dir))
    readers, writers = [], []
    for shard in range(shards):
        options: dict[str, Any] = {"num_cpus": cpus_per_replica}
        if shard_resource is not None:
            options["resources"] = shard_resource(shard)
        reader = serve.deployment(
            name=f"shard-{shard}",
            num_replicas=replicas,
            ray_actor_options=options,
            max_ongoing_requests=max_ongoing_requests,
        )
        writer = serve.deployment(
            name=f"shard-{shard}-writer",
            num_replicas=1,
            ray_actor_options=options,
            max_ongoing_requests=max_ongoing_requests,
        )
        readers.append(reader(ShardServer).bind(settings, shard, False))
        writers.append(writer(ShardServer).bind(settings, shard, True))
    router = serve.deployment(
        name="router",
        num_replicas=routers,
        ray_actor_options={"num_cpus": cpus_per_replica},
        max_ongoing_requests=max_ongoing_requests,
    )(serve.ingress()(Router))
    return router.bind(settings, readers, writers)


def prepare_shards(settings: Settings, shards: int) -> list[Path]:
    """Make ``settings.data_dir`` a sharded data directory of ``shards`` shards, each opened once for writing
    so that it holds a database and a manifest before read replicas open it."""
    dirs = create_layout(settings.data_dir, shards)
    missing = [d for d in dirs if runtime.is_new_data_dir(settings.model_copy(update={"data_dir": d}))]
    if missing:
        embedder = runtime.load_model(settings)
        try:
            for index in runtime.open_all(settings, missing, embedder):
                index.close()
        finally:
            embedder.close()
    return dirs
