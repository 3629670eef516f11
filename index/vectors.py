"""Vectors to chunk ids: the FAISS side of the index.

:class:`VectorIndex` is the seam; :class:`FlatVectorIndex` (exact inner-product search, ids mapped to chunk
rows with ``IndexIDMap2`` so that upserts and deletes never rebuild it) is the one implementation for now.
The index is derived from the store: it is saved atomically together with the store generation it reflects,
and a file that is missing, stale or unreadable is simply rebuilt from the stored embeddings.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Protocol, cast

import faiss
import numpy as np
from numpy.typing import NDArray

from index.files import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

VECTORS_FILE = "vectors.faiss"
VECTORS_STATE_FILE = "vectors.json"


class VectorIndex(Protocol):
    """Nearest neighbours by inner product over normalised vectors, keyed by int64 chunk ids."""

    @property
    def index_type(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add ``vectors`` (float32, ``(n, dim)``) under ``ids`` (int64, ``(n,)``)."""
        ...

    def remove(self, ids: NDArray[np.int64]) -> None: ...

    def ids(self) -> NDArray[np.int64]:
        """Every id held, in no particular order."""
        ...

    def search(
        self, queries: NDArray[np.float32], k: int, allowed: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Best ``k`` per query row among ``allowed`` ids (all if None): ``(scores, ids)``, both ``(n, k')``
        with ``k' = min(k, candidates)``."""
        ...

    def to_bytes(self) -> bytes: ...


class FlatVectorIndex:
    """Exact search. Every operation holds one short lock: a FAISS index is not safe to read while written."""

    index_type = "flat"

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self._dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._lock = threading.Lock()

    @classmethod
    def from_bytes(cls, data: bytes, dim: int) -> FlatVectorIndex:
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        if index.d != dim:
            raise ValueError(f"the saved vectors have dimension {index.d}, expected {dim}")
        return cls(dim, index)

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self._dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self._dim}), got {vectors.shape}")
        with self._lock:
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64)
            )

    def remove(self, ids: NDArray[np.int64]) -> None:
        if len(ids) == 0:
            return
        with self._lock:
            # FAISS's Python wrapper turns an id array into an IDSelectorBatch; its stubs know only that.
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def ids(self) -> NDArray[np.int64]:
        with self._lock:
            id_map = cast(faiss.IndexIDMap2, self._index).id_map
            return np.asarray(faiss.vector_to_array(id_map), dtype=np.int64)

    def search(
        self, queries: NDArray[np.float32], k: int, allowed: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        params = None
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            k = min(k, len(allowed))
            # The selector is evaluated inside the scan: a filter keeping 1% still yields k hits if k exist.
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBatch(len(allowed), faiss.swig_ptr(allowed))
        with self._lock:
            k = min(k, int(self._index.ntotal))
            if k <= 0:
                empty = np.zeros((len(queries), 0))
                return empty.astype(np.float32), empty.astype(np.int64)
            scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    def to_bytes(self) -> bytes:
        with self._lock:
            return bytes(faiss.serialize_index(self._index))


def save_vectors(directory: Path, index: VectorIndex, generation: int) -> None:
    """Save ``index`` as reflecting store ``generation``: the vectors first, then the state that vouches."""
    atomic_write_bytes(directory / VECTORS_FILE, index.to_bytes())
    state = {"generation": generation, "count": len(index), "index_type": index.index_type, "dim": index.dim}
    atomic_write_text(directory / VECTORS_STATE_FILE, json.dumps(state, indent=2) + "\n")


def discard_vectors(directory: Path) -> None:
    """Forget the saved index, so that the next open rebuilds it from the store."""
    (directory / VECTORS_STATE_FILE).unlink(missing_ok=True)


def load_vectors(directory: Path, dim: int, generation: int) -> FlatVectorIndex | None:
    """The saved index if it exists, is readable and reflects store ``generation``; otherwise None."""
    state_path, vectors_path = directory / VECTORS_STATE_FILE, directory / VECTORS_FILE
    if not state_path.exists() or not vectors_path.exists():
        return None
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state.get("generation") != generation or state.get("dim") != dim:
            log.info(
                "saved vectors are behind the store (generation %s, store %s)",
                state.get("generation"),
                generation,
            )
            return None
        index = FlatVectorIndex.from_bytes(vectors_path.read_bytes(), dim)
    except (OSError, ValueError, RuntimeError) as error:
        log.warning(
            "the saved vector index in %s is unreadable (%s); rebuilding it from the store", directory, error
        )
        return None
    if len(index) != state.get("count"):
        log.warning(
            "the saved vector index holds %d vectors, its state says %s; rebuilding",
            len(index),
            state.get("count"),
        )
        return None
    return index
