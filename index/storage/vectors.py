"""Vectors to chunk ids: the FAISS side of the index.

The index is tiered, as log-structured stores are:

* a **main** index, immutable once built: exact (a scan of every vector) below ``ann_threshold`` vectors,
  HNSW at or above it, each keeping its vectors as float32, float16 or int8 (float16 by default: half the
  memory, and the scan, which reads every vector, in half the time). Built from the store in id order, so its
  internal positions map to chunk ids through one sorted array; searched with no lock at all;
* a small, mutable, exact **delta** (``IndexIDMap2`` over a scan) that receives every add, keeping its
  vectors as the exact index does (float16, unless that is float32), so that a chunk scores the same before
  and after a merge moves it into a float16 main index;
* **tombstones**: a bitmap over the main index's positions for chunks deleted since it was built, applied
  inside FAISS's scan by an ``IDSelectorNot(IDSelectorBitmap)``. The main index, its tombstones and their
  bitmap are one immutable value, replaced by reference, never edited: a search holds on to the one it
  started with, and no search waits for another (the delta is read under a shared lock).

When the delta or the tombstones outgrow a share of the main index, or the corpus crosses the threshold, the
owner (:class:`~index.search_index.SearchIndex`) rebuilds the main index from the store in the background
and swaps it in with :meth:`VectorIndex.swap`. The whole index is derived from the store: it is saved
(files first, then the state file that names them, each written aside, fsynced and renamed) together with
the store generation it reflects, and whatever is missing, stale or unreadable is repaired from the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import faiss
import numpy as np
from numpy.typing import NDArray

from index.cores import usable_cores
from index.storage.files import atomic_write_bytes, atomic_write_text, atomic_write_with

log = logging.getLogger(__name__)

VECTORS_DIR = "vectors"
VECTORS_STATE_FILE = "vectors.json"
STATE_FORMAT = 2

IndexKind = Literal["auto", "flat", "hnsw"]
Storage = Literal["float32", "float16", "int8"]
Ids = NDArray[np.int64]
Matrix = NDArray[np.float32]

_QUANTIZERS = {"float16": faiss.ScalarQuantizer.QT_fp16, "int8": faiss.ScalarQuantizer.QT_8bit}
# A filter keeping at most this many chunks is answered exactly from their vectors: a graph walk that may
# only step on 1% of its nodes finds few of them.
EXACT_FILTER_LIMIT = 20_000
_threads = threading.local()


def _one_search_thread() -> None:
    """Make FAISS search on this thread alone. OpenMP's thread count is per calling thread, and a search for
    one query gains nothing from a team of threads, which spin and steal the cores from the encoder."""
    if not getattr(_threads, "single", False):
        faiss.omp_set_num_threads(1)
        _threads.single = True


@dataclass(frozen=True, slots=True)
class VectorOptions:
    """How the vector index is built.

    ``kind="auto"`` is exact search below ``ann_threshold`` vectors and HNSW from there on. ``storage`` is how
    HNSW keeps vectors, ``flat_storage`` how the exact index does: float16 halves memory (and an exact scan's
    time, which reading the vectors bounds) at no measurable cost in recall, scores within about 1e-3 of
    float32's; int8 quarters it, with some. ``ef_search`` is HNSW's default search breadth (a request may
    raise it). The delta and tombstones are folded into a new main index once they pass ``merge_fraction``
    of it (and at least ``merge_minimum``).
    """

    kind: IndexKind = "auto"
    ann_threshold: int = 50_000
    storage: Storage = "float16"
    flat_storage: Storage = "float16"
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 256
    merge_fraction: float = 0.1
    merge_minimum: int = 4096

    def kind_for(self, count: int) -> Literal["flat", "hnsw"]:
        if self.kind != "auto":
            return self.kind
        return "hnsw" if count >= self.ann_threshold else "flat"

    def storage_for(self, kind: Literal["flat", "hnsw"]) -> Storage:
        return self.flat_storage if kind == "flat" else self.storage


@dataclass(frozen=True, slots=True)
class MainIndex:
    """An immutable FAISS index and the chunk id of each of its positions (ascending)."""

    index: faiss.Index
    ids: Ids
    kind: Literal["flat", "hnsw"]

    @classmethod
    def empty(cls, dim: int, storage: Storage = "float32") -> MainIndex:
        return cls(_empty_index("flat", storage, dim, 0), np.zeros(0, dtype=np.int64), "flat")

    @property
    def storage(self) -> Storage:
        """How this index keeps its vectors (read from the index itself, which may predate the settings)."""
        index: Any = faiss.downcast_index(self.index)  # FAISS's type stubs lack the HNSW classes
        if self.kind == "hnsw":
            index = faiss.downcast_index(index.storage)
        if isinstance(index, faiss.IndexScalarQuantizer):
            return "float16" if index.sq.qtype == faiss.ScalarQuantizer.QT_fp16 else "int8"
        return "float32"

    @property
    def label(self) -> str:
        """``flat`` (float32), ``flat-float16``, ``hnsw-float16``...: what the index is, for /stats."""
        return "flat" if self.kind == "flat" and self.storage == "float32" else f"{self.kind}-{self.storage}"


def build_main(
    batches: Iterable[tuple[Ids, Matrix]], dim: int, count: int, options: VectorOptions
) -> MainIndex:
    """A main index over ``batches`` of ``(ids, vectors)`` in ascending id order (``count`` in all)."""
    kind = options.kind_for(count)
    faiss.omp_set_num_threads(usable_cores())  # building is parallel (on this thread's OpenMP team)
    _threads.single = False
    index = _empty_index(kind, options.storage_for(kind), dim, options.hnsw_m)
    if kind == "hnsw":
        graph: Any = faiss.downcast_index(index)
        graph.hnsw.efConstruction = options.ef_construction
    id_parts: list[Ids] = []
    for ids, vectors in batches:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not index.is_trained:  # int8 learns each dimension's range from the first batch
            index.train(vectors)
        index.add(vectors)
        id_parts.append(np.asarray(ids, dtype=np.int64))
    all_ids = np.concatenate(id_parts) if id_parts else np.zeros(0, dtype=np.int64)
    if len(all_ids) > 1 and not bool(np.all(all_ids[1:] > all_ids[:-1])):
        raise ValueError("vectors must come in strictly ascending id order")
    return MainIndex(index, all_ids, kind)


def _empty_index(kind: Literal["flat", "hnsw"], storage: Storage, dim: int, hnsw_m: int) -> faiss.Index:
    quantizer: Any = _QUANTIZERS.get(storage)  # FAISS's type stubs lack the HNSW classes
    if kind == "flat" and storage == "float32":
        return faiss.IndexFlatIP(dim)
    if kind == "flat":
        return faiss.IndexScalarQuantizer(dim, quantizer, faiss.METRIC_INNER_PRODUCT)
    if storage == "float32":
        return faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
    return faiss.IndexHNSWSQ(dim, quantizer, hnsw_m, faiss.METRIC_INNER_PRODUCT)


def new_delta(dim: int, options: VectorOptions) -> faiss.Index:
    """An empty delta index: float32 if exact search keeps float32, else float16 (int8 would need training
    before the first add)."""
    storage: Storage = "float32" if options.flat_storage == "float32" else "float16"
    return faiss.IndexIDMap2(_empty_index("flat", storage, dim, options.hnsw_m))


def restored_delta(delta: faiss.Index, options: VectorOptions) -> faiss.Index:
    """``delta`` keeping its vectors as :func:`new_delta` would (see :func:`restored_flat`)."""
    fresh = new_delta(delta.d, options)
    inner: Any = faiss.downcast_index(cast(faiss.IndexIDMap2, delta).index)
    if type(inner) is type(faiss.downcast_index(cast(faiss.IndexIDMap2, fresh).index)):
        return delta
    if delta.ntotal:
        ids = np.asarray(faiss.vector_to_array(cast(faiss.IndexIDMap2, delta).id_map), dtype=np.int64)
        fresh.add_with_ids(inner.reconstruct_n(0, delta.ntotal), ids)
    return fresh


def restored_flat(main: MainIndex, storage: Storage) -> MainIndex:
    """``main`` as the settings ask, if it is an exact index keeping its vectors otherwise (one saved before
    float16 became the default, or under other settings): its vectors read back and stored anew, in memory,
    in milliseconds for the sizes an exact index serves (the next save writes it). An HNSW index is kept as it
    is: rebuilding its graph is a background job for the next merge."""
    if main.kind != "flat" or main.storage == storage:
        return main
    vectors = main.index.reconstruct_n(0, main.index.ntotal) if main.index.ntotal else None
    return build_main(
        [] if vectors is None else [(main.ids, vectors)],
        main.index.d,
        len(main.ids),
        VectorOptions(kind="flat", flat_storage=storage),
    )


@dataclass(frozen=True, slots=True)
class _Published:
    """The main index with its tombstones (sorted positions) and their bitmap, published as one value: a
    search reads one reference and can never pair a new main index with an old bitmap."""

    main: MainIndex
    tombstones: Ids
    bitmap: NDArray[np.uint8]

    @classmethod
    def of(cls, main: MainIndex, positions: Ids) -> _Published:
        bitmap = np.zeros((len(main.ids) + 7) // 8, dtype=np.uint8)
        if len(positions):
            np.bitwise_or.at(bitmap, positions >> 3, (1 << (positions & 7)).astype(np.uint8))
        return cls(main, positions, bitmap)


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer holds off new readers, so writes are never starved.
    Searches of the delta share it (FAISS searches are safe to run together); adds and removes take it
    alone."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if not self._readers:
                    self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            self._condition.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


class VectorIndex:
    """Nearest chunks by inner product over normalised vectors. Thread-safe; see the module docstring."""

    def __init__(
        self,
        dim: int,
        options: VectorOptions | None = None,
        main: MainIndex | None = None,
        delta: faiss.Index | None = None,
        tombstones: Ids | None = None,
    ) -> None:
        self._dim = dim
        self.options = options or VectorOptions()
        self._published = _Published.of(
            main if main is not None else MainIndex.empty(dim, self.options.flat_storage),
            np.zeros(0, dtype=np.int64),
        )
        self._delta = delta if delta is not None else new_delta(dim, self.options)
        self._delta_lock = _ReadWriteLock()  # the delta is the only part that changes in place
        self._rebuild_deletes: list[Ids] | None = None  # deletes seen while a new main index is built
        self._saved_main: tuple[MainIndex, tuple[str, str]] | None = None
        if tombstones is not None and len(tombstones):
            self._published = _Published.of(self._published.main, np.unique(tombstones))

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def index_type(self) -> str:
        return self._published.main.label

    def __len__(self) -> int:
        published = self._published
        return len(published.main.ids) - len(published.tombstones) + int(self._delta.ntotal)

    # -- writes (callers serialise them) ------------------------------------------------------------

    def add(self, ids: Ids, vectors: Matrix) -> None:
        """Add ``vectors`` (float32, ``(n, dim)``) under new chunk ``ids``."""
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self._dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self._dim}), got {vectors.shape}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._delta_lock.writing():
            self._delta.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: Ids) -> None:
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        if len(ids) == 0:
            return
        if self._rebuild_deletes is not None:
            self._rebuild_deletes.append(ids)
        with self._delta_lock.writing():
            # FAISS's Python wrapper turns an id array into an IDSelectorBatch; its stubs know only that.
            self._delta.remove_ids(ids)  # type: ignore[arg-type]
        published = self._published
        positions = _positions(published.main.ids, ids)
        if len(positions):
            self._published = _Published.of(published.main, np.union1d(published.tombstones, positions))

    def begin_rebuild(self) -> None:
        """Start remembering deletes: a main index being built from an older snapshot must not keep them."""
        self._rebuild_deletes = []

    def swap(self, main: MainIndex) -> None:
        """Replace the main index with ``main``, built from a snapshot taken after :meth:`begin_rebuild`:
        the delta keeps only what ``main`` lacks, and deletes since the snapshot become tombstones."""
        deleted = self._rebuild_deletes or []
        self._rebuild_deletes = None
        with self._delta_lock.writing():
            delta_ids = _delta_ids(self._delta)
            folded = delta_ids[np.isin(delta_ids, main.ids)]
            if len(folded):
                self._delta.remove_ids(folded)  # type: ignore[arg-type]
            deleted_positions = _positions(main.ids, np.concatenate([np.zeros(0, np.int64), *deleted]))
            self._published = _Published.of(main, deleted_positions)

    def abandon_rebuild(self) -> None:
        self._rebuild_deletes = None

    def merge_reason(self) -> str | None:
        """Why the main index should be rebuilt now, or None."""
        published = self._published
        main, live = len(published.main.ids), len(self)
        wanted = self.options.kind_for(live)
        if wanted != published.main.kind and (wanted == "hnsw" or live < self.options.ann_threshold // 2):
            return f"{live} vectors call for a {wanted} index"
        limit = max(self.options.merge_minimum, int(main * self.options.merge_fraction))
        if self._delta.ntotal > limit:
            return f"{self._delta.ntotal} vectors added since the last build"
        if len(published.tombstones) > limit:
            return f"{len(published.tombstones)} vectors deleted since the last build"
        return None

    # -- reads --------------------------------------------------------------------------------------

    def ids(self) -> Ids:
        """Every chunk id held, ascending."""
        published = self._published
        live = np.delete(published.main.ids, published.tombstones)
        with self._delta_lock.reading():
            delta = _delta_ids(self._delta)
        return np.union1d(live, delta)

    def search(
        self,
        queries: Matrix,
        k: int,
        allowed: Ids | None = None,
        *,
        ef_search: int | None = None,
        exact: bool = False,
    ) -> tuple[Matrix, Ids]:
        """Best ``k`` per query row among ``allowed`` ids (all if None): ``(scores, ids)``, both ``(n, k')``
        with ``k' = min(k, candidates)``; ``exact`` scans every vector even when the main index is HNSW."""
        _one_search_thread()
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        published = self._published
        main, tombstones = published.main, published.tombstones
        if allowed is not None:
            allowed = np.ascontiguousarray(np.unique(allowed), dtype=np.int64)
            k = min(k, len(allowed))
        k = min(k, len(main.ids) - len(tombstones) + int(self._delta.ntotal))
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        main_scores, main_ids = self._search_main(
            published, queries, k, allowed, ef_search=ef_search, exact=exact
        )
        with self._delta_lock.reading():
            delta_scores, delta_ids = _search_delta(self._delta, queries, k, allowed)
        scores, ids = _merge(main_scores, main_ids, delta_scores, delta_ids, k)
        found = int(np.max(np.sum(ids >= 0, axis=1), initial=0))  # misses (-1) sort last; drop their columns
        return scores[:, :found], ids[:, :found]

    def _search_main(
        self,
        published: _Published,
        queries: Matrix,
        k: int,
        allowed: Ids | None,
        *,
        ef_search: int | None,
        exact: bool,
    ) -> tuple[Matrix, Ids]:
        main, tombstones, bitmap = published.main, published.tombstones, published.bitmap
        if len(main.ids) == 0:
            return _no_hits(len(queries))
        selector: faiss.IDSelector | None = None
        keep: object = None  # what a selector points into must outlive the search
        if allowed is not None:
            positions = np.setdiff1d(_positions(main.ids, allowed), tombstones, assume_unique=True)
            if len(positions) == 0:
                return _no_hits(len(queries))
            if main.kind == "hnsw" and len(positions) <= EXACT_FILTER_LIMIT:
                return _exact_over(main, positions, queries, k)
            selector = faiss.IDSelectorBatch(len(positions), faiss.swig_ptr(positions))
            keep = positions
        elif len(tombstones):
            deleted = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # its length in bytes
            selector = faiss.IDSelectorNot(deleted)
            keep = (bitmap, deleted)  # IDSelectorNot holds a bare pointer to ``deleted``
        index = main.index
        params: Any = faiss.SearchParameters()
        if main.kind == "hnsw" and exact:
            graph: Any = faiss.downcast_index(main.index)  # FAISS's type stubs lack the HNSW classes
            index = faiss.downcast_index(graph.storage)
        elif main.kind == "hnsw":
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = max(ef_search or self.options.ef_search, k)
        if selector is not None:
            params.sel = selector
        scores, positions_found = index.search(queries, min(k, len(main.ids)), params=params)
        del keep
        found = np.where(positions_found >= 0, main.ids[np.maximum(positions_found, 0)], -1)
        return scores, found

    # -- persistence --------------------------------------------------------------------------------

    def save(self, directory: Path, generation: int) -> None:
        """Save as reflecting store ``generation``: new files under a fresh name (the main index only if it
        changed since it was last saved), then the state file that names them (the switch), then the old
        files go. Callers hold off writes while this runs."""
        folder = directory / VECTORS_DIR
        folder.mkdir(exist_ok=True)
        token = secrets.token_hex(6)
        main, tombstones = self._published.main, self._published.tombstones
        with self._delta_lock.reading():
            delta = bytes(faiss.serialize_index(self._delta))
        files = {
            name: f"{token}.{name}" for name in ("main.faiss", "ids.npy", "delta.faiss", "tombstones.npy")
        }
        if self._saved_main is not None and self._saved_main[0] is main:
            files["main.faiss"], files["ids.npy"] = self._saved_main[1]
        else:
            atomic_write_with(
                folder / files["main.faiss"], lambda tmp: faiss.write_index(main.index, str(tmp))
            )
            atomic_write_bytes(folder / files["ids.npy"], main.ids.tobytes())
        atomic_write_bytes(folder / files["delta.faiss"], delta)
        atomic_write_bytes(folder / files["tombstones.npy"], main.ids[tombstones].tobytes())
        state = {
            "format": STATE_FORMAT,
            "generation": generation,
            "files": files,
            "sizes": {part: (folder / name).stat().st_size for part, name in files.items()},
            "sha256": {part: _digest(folder / name) for part, name in files.items() if part != "main.faiss"},
            "kind": main.kind,
            "count": len(self),
            "main_count": len(main.ids),
            "index_type": self.index_type,
            "dim": self._dim,
        }
        atomic_write_text(directory / VECTORS_STATE_FILE, json.dumps(state, indent=2) + "\n")
        self._saved_main = (main, (files["main.faiss"], files["ids.npy"]))
        for stale in folder.iterdir():
            if stale.name not in files.values():  # older saves, and scratch files a crash left
                stale.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class LoadedVectors:
    index: VectorIndex
    generation: int


def load_vectors(directory: Path, dim: int, options: VectorOptions | None = None) -> LoadedVectors | None:
    """The saved index and the store generation it reflects, or None if there is none or it is unreadable
    (then with a warning). The main index is memory-mapped: a large index opens in milliseconds."""
    state_path = directory / VECTORS_STATE_FILE
    if not state_path.exists():
        return None
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state.get("format") != STATE_FORMAT or state.get("dim") != dim:
            log.info("the saved vector index has another format or dimension; rebuilding it")
            return None
        folder, files = directory / VECTORS_DIR, state["files"]
        for part, name in files.items():
            if (size := (folder / name).stat().st_size) != state["sizes"][part]:
                raise ValueError(f"{name} has {size} bytes, {state['sizes'][part]} were written")
            if part in state["sha256"] and _digest(folder / name) != state["sha256"][part]:
                raise ValueError(f"{name} does not have the content that was written")
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
        index = faiss.read_index(str(folder / files["main.faiss"]), flags)
        ids = np.fromfile(folder / files["ids.npy"], dtype=np.int64)
        delta = restored_delta(
            faiss.read_index(str(folder / files["delta.faiss"])), options or VectorOptions()
        )
        tombstones = np.fromfile(folder / files["tombstones.npy"], dtype=np.int64)
        if index.ntotal != len(ids) or index.d != dim or delta.d != dim:
            raise ValueError(f"{index.ntotal} vectors for {len(ids)} ids")
        saved = MainIndex(index, ids, "hnsw" if state["kind"] == "hnsw" else "flat")
        main = restored_flat(saved, (options or VectorOptions()).flat_storage)
        vectors = VectorIndex(dim, options, main, delta, _positions(ids, tombstones))
        if main is saved:
            vectors._saved_main = (main, (files["main.faiss"], files["ids.npy"]))
        if len(vectors) != state.get("count"):
            raise ValueError(f"it holds {len(vectors)} vectors, its state says {state.get('count')}")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        log.warning(
            "the saved vector index in %s is unreadable (%s); rebuilding it from the store", directory, error
        )
        return None
    return LoadedVectors(vectors, int(state["generation"]))


def discard_vectors(directory: Path) -> None:
    """Forget the saved index, so that the next open rebuilds it from the store."""
    (directory / VECTORS_STATE_FILE).unlink(missing_ok=True)


def _positions(sorted_ids: Ids, ids: Ids) -> Ids:
    """Positions in ``sorted_ids`` of those ``ids`` it holds, ascending."""
    ids = np.asarray(ids, dtype=np.int64)
    places = np.searchsorted(sorted_ids, ids)
    inside = places < len(sorted_ids)
    places = places[inside]
    return np.unique(places[sorted_ids[places] == ids[inside]]).astype(np.int64)


def _digest(path: Path) -> str:
    """Checksum of a small part (ids, delta, tombstones: megabytes at most); the large main index is checked
    by its size and by FAISS's own reader, so that opening it stays a memory map."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _delta_ids(delta: faiss.Index) -> Ids:
    id_map = cast(faiss.IndexIDMap2, delta).id_map
    return np.sort(np.asarray(faiss.vector_to_array(id_map), dtype=np.int64))


def _search_delta(delta: faiss.Index, queries: Matrix, k: int, allowed: Ids | None) -> tuple[Matrix, Ids]:
    if delta.ntotal == 0:
        return _no_hits(len(queries))
    params = None
    if allowed is not None:
        params = faiss.SearchParameters()
        params.sel = faiss.IDSelectorBatch(len(allowed), faiss.swig_ptr(allowed))
    scores, ids = delta.search(queries, min(k, int(delta.ntotal)), params=params)
    return scores, ids


def _exact_over(main: MainIndex, positions: Ids, queries: Matrix, k: int) -> tuple[Matrix, Ids]:
    """Exact scores of the vectors at ``positions`` (as the main index stores them)."""
    vectors = main.index.reconstruct_batch(positions)
    scores = queries @ vectors.T
    k = min(k, len(positions))
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best_scores = np.take_along_axis(scores, best, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    chosen = np.take_along_axis(best, order, axis=1)
    return np.take_along_axis(best_scores, order, axis=1).astype(np.float32), main.ids[positions[chosen]]


def _merge(scores_a: Matrix, ids_a: Ids, scores_b: Matrix, ids_b: Ids, k: int) -> tuple[Matrix, Ids]:
    if ids_b.shape[1] == 0:
        return scores_a[:, :k], ids_a[:, :k]
    if ids_a.shape[1] == 0:
        return scores_b[:, :k], ids_b[:, :k]
    scores = np.concatenate([scores_a, scores_b], axis=1)
    ids = np.concatenate([ids_a, ids_b], axis=1)
    scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def _no_hits(rows: int) -> tuple[Matrix, Ids]:
    return np.zeros((rows, 0), dtype=np.float32), np.zeros((rows, 0), dtype=np.int64)
