"""The interface a server serves: one index and a sharded index are interchangeable behind it (and a
collection is either), so the HTTP layer never asks which one it holds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from index.storage.tasks import Task
from index.types import (
    Document,
    DocumentSummary,
    Facet,
    FacetOrder,
    IndexStats,
    MetadataFields,
    MetadataUpdate,
    SearchRequest,
    SearchResult,
    ShardHealth,
    StoredDocument,
    UpsertResult,
)

if TYPE_CHECKING:  # for annotations only: importing the protocol loads no model code (nor NumPy)
    from index.encoders.base import Embedder


class TaskLookup(Protocol):
    def get(self, task_id: str) -> Task: ...


class ServedIndex(Protocol):
    """What a server needs of an index: a :class:`~index.SearchIndex`, or a
    :class:`~index.distributed.sharding.ShardedIndex` (behind the Ray Serve router); interchangeable."""

    @property
    def read_only(self) -> bool: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def tasks(self) -> TaskLookup: ...

    def search_batch(self, requests: Sequence[SearchRequest]) -> list[SearchResult]: ...

    def upsert(self, documents: Sequence[Document]) -> list[UpsertResult]: ...

    def submit_upsert(self, documents: Sequence[Document]) -> Task: ...

    def upsert_stream(self, groups: Iterable[Sequence[Document]]) -> Iterator[list[UpsertResult]]:
        """Each group upserted in turn, its results yielded (a bulk load, a reindex)."""
        ...

    def export_documents(self, batch_size: int = 64) -> Iterator[list[Document]]:
        """Every stored document as it was sent, in batches (to index them again elsewhere)."""
        ...

    def get(self, doc_id: str) -> StoredDocument: ...

    def list_documents(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        filter_spec: dict[str, Any] | None = None,
        with_text: bool = False,
    ) -> list[DocumentSummary]: ...

    def facet(
        self,
        field: str,
        *,
        filter_spec: dict[str, Any] | None = None,
        limit: int = 100,
        order: FacetOrder = "count",
        offset: int = 0,
        contains: str | None = None,
    ) -> Facet: ...

    def count(self, filter_spec: dict[str, Any] | None = None) -> int: ...

    def fields(
        self, filter_spec: dict[str, Any] | None = None, *, after: str | None = None, limit: int = 1000
    ) -> MetadataFields: ...

    def delete(self, doc_id: str) -> int: ...

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]: ...

    def update_metadata(self, doc_id: str, patch: dict[str, Any]) -> DocumentSummary: ...

    def update_where(
        self, filter_spec: dict[str, Any], patch: dict[str, Any], *, check_only: bool = False
    ) -> MetadataUpdate: ...

    def stats(self) -> IndexStats: ...

    @property
    def embedder(self) -> Embedder:
        """The model this index embeds documents and queries with."""
        ...

    def shard_health(self) -> list[ShardHealth]:
        """Each shard's readiness; empty for an index that is not sharded."""
        ...

    def save(self) -> None: ...

    def close(self) -> None: ...
