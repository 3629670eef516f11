"""What the running app holds: the index once it is loaded, and whether it is ready."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from index.collections import CollectionSet
from index.protocol import ServedIndex

Status = Literal["ready", "loading", "failed"]


@dataclass
class ReindexJob:
    """A collection being filled from another one's stored documents (``POST .../reindex``). The catalog
    records it until it is done, so a job cut off by a restart resumes when the service starts again
    (``resumed``), skipping what it already wrote."""

    collection: str
    source: str
    status: Literal["running", "done", "failed"] = "running"
    documents_done: int = 0
    documents_total: int = 0
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    resumed: bool = False


@dataclass
class AppState:
    index: ServedIndex | None = None
    collections: CollectionSet | None = None  # None for an index given without its collections
    reindexing: dict[str, ReindexJob] = field(default_factory=dict)  # the latest job of each collection
    status: Status = "loading"
    detail: str | None = "loading the model and the index"
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def set(self, status: Status, detail: str | None = None) -> None:
        with self.lock:
            self.status, self.detail = status, detail
