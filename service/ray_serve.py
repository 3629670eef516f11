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

Replicas of a shard read its directory over the filesystem, so they must run on the machine that holds it
(SQLite's write-ahead log needs shared memory): on a multi-node cluster, pin each shard's deployments with
a custom resource (``--shard-resource``), or serve snapshot copies read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from fastapi import FastAPI
from numpy.typing import NDArray
from ray import serve
from ray.exceptions import RayError, RayTaskError
from ray.serve.handle import DeploymentHandle

from index.distributed.sharding import LocalShardWriter, ShardedIndex, create_layout, read_layout
from index.errors import SemsearchError, ShardUnavailableError
from index.retrieval.examples import Example
from index.retrieval.filters import FilterLimits
from index.types import (
    Candidates,
    ChunkRow,
    Document,
    DocumentSummary,
    IndexStats,
    Like,
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


class ShardServer:
    """One shard directory, opened read-only (a read replica) or for writing (the shard's writer)."""

    def __init__(self, settings: Settings, shard: int, writer: bool) -> None:
        self.shard = shard
        settings = settings.model_copy(
            update={
                "data_dir": read_layout(settings.data_dir)[shard],
                "read_only": not writer,
                "seed_demo": False,
            }
        )
        self.index = runtime.open_index(settings)
        self.writer = LocalShardWriter(self.index) if writer else None
        log.info("shard %d %s open on %s", shard, "writer" if writer else "replica", settings.data_dir)

    # reads
    def candidates(
        self,
        requests: Sequence[SearchRequest],
        query_vectors: Sequence[NDArray[np.float32] | None],
        prefetch: bool = False,
    ) -> list[Candidates]:
        return self.index.candidates(requests, query_vectors, prefetch=prefetch)

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        return self.index.rows(chunk_ids)

    def documents(self, chunk_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        return self.index.documents(chunk_ids)

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, int]:
        return self.index.first_chunks(doc_ids)

    def get(self, doc_id: str) -> StoredDocument:
        return self.index.get(doc_id)  # read from the database: always current, no catching up needed

    def list_documents(
        self, after: str | None = None, limit: int = 100, filter_spec: dict[str, Any] | None = None
    ) -> list[DocumentSummary]:
        return self.index.list_documents(after=after, limit=limit, filter_spec=filter_spec)

    def example(self, like: Like) -> Example:
        return self.index.example(like)

    def stats(self) -> IndexStats:
        return self.index.stats()

    # writes
    def prepare(self, documents: Sequence[Document]) -> str:
        return self._writer().prepare(documents)

    def commit(self, token: str) -> list[UpsertResult]:
        return self._writer().commit(token)

    def abort(self, token: str) -> None:
        self._writer().abort(token)

    def delete(self, doc_id: str) -> int:
        return self._writer().delete(doc_id)

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]:
        return self._writer().delete_where(filter_spec)

    def _writer(self) -> LocalShardWriter:
        if self.writer is None:
            raise RuntimeError("a write was sent to a read replica")  # the router never does
        return self.writer

    def __del__(self) -> None:  # Ray Serve stops a replica by dropping it: save and close the index
        index = getattr(self, "index", None)
        if index is not None:
            index.close()


class RemoteShard:
    """A shard's deployment seen from the router, as :class:`~index.distributed.sharding.ShardReader` and
    :class:`~index.distributed.sharding.ShardWriter`: the library's own errors come through as themselves (a
    missing document stays a 404); a shard that does not answer becomes :class:`ShardUnavailableError`
    (503)."""

    def __init__(self, shard: int, handle: DeploymentHandle[Any], timeout: float) -> None:
        self.shard = shard
        self._handle = handle
        self._timeout = timeout

    def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        try:
            return getattr(self._handle, method).remote(*args).result(timeout_s=timeout or self._timeout)
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

    def get(self, doc_id: str) -> StoredDocument:
        result: StoredDocument = self._call("get", doc_id)
        return result

    def list_documents(
        self, *, after: str | None = None, limit: int = 100, filter_spec: dict[str, Any] | None = None
    ) -> list[DocumentSummary]:
        result: list[DocumentSummary] = self._call("list_documents", after, limit, filter_spec)
        return result

    def example(self, like: Like) -> Example:
        result: Example = self._call("example", like)
        return result

    def stats(self) -> IndexStats:
        result: IndexStats = self._call("stats", timeout=HEALTH_TIMEOUT_SECONDS)
        return result

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


class Router:
    """The HTTP API over every shard: :func:`service.app.create_app` serving a :class:`ShardedIndex`."""

    def __init__(
        self, settings: Settings, readers: list[DeploymentHandle[Any]], writers: list[DeploymentHandle[Any]]
    ) -> None:
        self.settings = settings
        self.index = ShardedIndex(
            runtime.load_model(settings),
            [RemoteShard(i, handle, READ_TIMEOUT_SECONDS) for i, handle in enumerate(readers)],
            [RemoteShard(i, handle, WRITE_TIMEOUT_SECONDS) for i, handle in enumerate(writers)],
            data_dir=settings.data_dir,
            filter_limits=FilterLimits(settings.max_filter_depth, settings.max_filter_clauses),
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.settings, index=self.index)

    def __del__(self) -> None:
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
