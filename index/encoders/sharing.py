"""One loaded model serving several indexes (the collections of a service that use the same model).

An index closes its embedder when it closes (a batching embedder has a worker thread); an embedder shared by
several indexes must outlive all but the last of them. Each index gets a :class:`Lease`; the model closes
when the last lease does, unless its owner keeps it (the default collection's model, which its own index
closes at shutdown).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

from index.encoders.base import Embedder, Vectors, submit_queries
from index.ingest.chunking import Tokenizer


class SharedEmbedder:
    def __init__(self, inner: Embedder, *, owned_elsewhere: bool = False) -> None:
        self.inner = inner
        self.owned_elsewhere = owned_elsewhere
        self._leases = 0
        self._lock = threading.Lock()

    def lease(self) -> Lease:
        with self._lock:
            self._leases += 1
        return Lease(self)

    def release(self) -> None:
        with self._lock:
            self._leases -= 1
            last = self._leases == 0
        if last and not self.owned_elsewhere:
            close = getattr(self.inner, "close", None)
            if callable(close):
                close()

    @property
    def leases(self) -> int:
        return self._leases


class Lease:
    """The shared model as one index sees it: every call goes to the model; ``close`` gives the lease back
    (once)."""

    def __init__(self, shared: SharedEmbedder) -> None:
        self._shared = shared
        self._closed = False

    @property
    def model_id(self) -> str:
        return self._shared.inner.model_id

    @property
    def dim(self) -> int:
        return self._shared.inner.dim

    @property
    def tokenizer(self) -> Tokenizer:
        return self._shared.inner.tokenizer

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._shared.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._shared.inner.embed_queries(texts)

    def submit_queries(self, texts: Sequence[str]) -> Future[Vectors]:
        return submit_queries(self._shared.inner, texts)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._shared.release()
