"""What the running app holds: the index once it is loaded, and whether it is ready."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from index import Document, IndexStats, SearchRequest, SearchResult, StoredDocument, UpsertResult
from index.storage.tasks import Task

Status = Literal["ready", "loading", "failed"]


class TaskLookup(Protocol):
    def get(self, task_id: str) -> Task: ...


class ServedIndex(Protocol):
    """What the routes use of an index: a :class:`~index.SearchIndex`, or a
    :class:`~index.distributed.sharding.ShardedIndex` behind the Ray Serve router."""

    @property
    def read_only(self) -> bool: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def tasks(self) -> TaskLookup: ...

    def search_batch(self, requests: Sequence[SearchRequest]) -> list[SearchResult]: ...

    def upsert(self, documents: Sequence[Document]) -> list[UpsertResult]: ...

    def submit_upsert(self, documents: Sequence[Document]) -> Task: ...

    def get(self, doc_id: str) -> StoredDocument: ...

    def delete(self, doc_id: str) -> int: ...

    def delete_where(self, filter_spec: dict[str, Any]) -> list[str]: ...

    def stats(self) -> IndexStats: ...

    def save(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class AppState:
    index: ServedIndex | None = None
    status: Status = "loading"
    detail: str | None = "loading the model and the index"
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def set(self, status: Status, detail: str | None = None) -> None:
        with self.lock:
            self.status, self.detail = status, detail
