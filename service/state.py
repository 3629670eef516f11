"""What the running app holds: the index once it is loaded, and whether it is ready."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from index.collections import CollectionSet
from index.protocol import ServedIndex

Status = Literal["ready", "loading", "failed"]


@dataclass
class AppState:
    index: ServedIndex | None = None
    collections: CollectionSet | None = None  # None on a sharded service (Ray Serve)
    status: Status = "loading"
    detail: str | None = "loading the model and the index"
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def set(self, status: Status, detail: str | None = None) -> None:
        with self.lock:
            self.status, self.detail = status, detail
