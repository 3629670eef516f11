"""A data directory on disk: where its database is, whether it may be opened (lock, model), its manifest, and
its vector index loaded, caught up with the database or rebuilt from it.

A data directory holds::

    semsearch.db      SQLite (WAL): documents, chunks, embeddings, manifest copy: the system of record
    manifest.json     model id, dimension, index type, chunking parameters, format version
    vectors/          the FAISS index (see :mod:`index.storage.vectors`), derived from the database
    vectors.json      which files in vectors/ are current, and the database generation they reflect

A sharded data directory (:mod:`index.distributed.sharding`) holds instead ``shards.json`` and one data
directory per shard; it is never opened as one index (:func:`check_not_sharded`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.encoders.base import Embedder
from index.errors import (
    CorruptIndexError,
    IncompatibleIndexError,
)
from index.ingest.chunking import Chunker
from index.ingest.preparation import (
    chunking_parameters,
)
from index.storage.bm25 import id_changes
from index.storage.filesystem import check_local
from index.storage.locking import WriterLock
from index.storage.manifest import MANIFEST_FILE, Manifest, write_manifest_file
from index.storage.store import Store
from index.storage.vectors import VectorIndex, VectorOptions, build_main, load_vectors

log = logging.getLogger(__name__)

DB_FILE = "semsearch.db"
SHARDS_FILE = "shards.json"


def check_not_sharded(data_dir: Path) -> None:
    """Raise :class:`~index.errors.IncompatibleIndexError` if ``data_dir`` is a sharded data directory. Opened
    as one index it would be empty, and what was written to it would go beside the shards, where no search of
    the shards finds it."""
    if (data_dir / SHARDS_FILE).exists():
        raise IncompatibleIndexError(
            f"{data_dir} is a sharded data directory (its documents are in the shard folders beside "
            f"{SHARDS_FILE}), not one index: serve it with `semsearch serve-ray`, or open it through "
            "index.distributed.sharding"
        )


def check_data_dir(
    data_dir: Path | str, model_id: str, *, read_only: bool = False, allow_network_filesystem: bool = False
) -> None:
    """Fail fast, before any model is loaded: the directory is on a local filesystem (unless
    ``allow_network_filesystem``), no other writer has it (unless ``read_only``), the database (if any) is
    readable and was built with ``model_id``. Raises
    :class:`~index.storage.filesystem.NetworkFilesystemError`,
    :class:`~index.storage.locking.DataDirLockedError`, :class:`~index.errors.CorruptIndexError` or
    :class:`~index.errors.IncompatibleIndexError` (for another model, or a sharded data directory)."""
    check_local(Path(data_dir), allow_network=allow_network_filesystem)
    check_not_sharded(Path(data_dir))
    path = Path(data_dir) / DB_FILE
    if read_only and not path.exists():
        raise CorruptIndexError(f"there is no index at {path} to open read-only")
    if not path.exists():
        return
    if not read_only:
        WriterLock(path.parent).release()
    store = Store(path, read_only=read_only)
    try:
        stored = store.get_meta("manifest")
        if stored is not None:
            Manifest.from_json(stored).check_compatible(model_id, None, path.parent)
    finally:
        store.close()


def check_or_write_manifest(data_dir: Path, store: Store, embedder: Embedder, chunker: Chunker) -> None:
    stored = store.get_meta("manifest")
    if stored is not None:
        manifest = Manifest.from_json(stored)
        manifest.check_compatible(embedder.model_id, embedder.dim, data_dir)
        if not (data_dir / MANIFEST_FILE).exists() and not store.read_only:
            write_manifest_file(data_dir, manifest)
        wanted = chunking_parameters(chunker)
        if manifest.chunking != wanted:
            log.warning(
                "chunking parameters changed from %s to %s: documents indexed from now on use the new ones",
                manifest.chunking,
                wanted,
            )
        return
    if store.read_only:
        raise CorruptIndexError(f"{data_dir} holds no index yet (no manifest); nothing to open read-only")
    manifest = Manifest(
        model_id=embedder.model_id,
        dimension=embedder.dim,
        index_type="faiss",
        chunking=chunking_parameters(chunker),
    )
    store.set_meta("manifest", manifest.to_json())
    write_manifest_file(data_dir, manifest)


def load_index_vectors(
    data_dir: Path, store: Store, dim: int, generation: int, options: VectorOptions, *, save: bool
) -> VectorIndex:
    """The saved vector index, brought up to date with the store if it is behind (a crash, or another
    process's writes), or rebuilt from the store if there is none or it is unreadable."""
    started = time.perf_counter()
    if save:
        (data_dir / "vectors.faiss").unlink(missing_ok=True)  # the single-file layout before vectors/
    loaded = load_vectors(data_dir, dim, options)
    if loaded is not None and loaded.generation == generation:
        return loaded.index
    if loaded is not None:
        vectors = loaded.index
        gone, missing = catch_up(vectors, store, dim)
        # For the writer that means a crash or another writer's commits; a replica of a live writer is
        # behind as a rule (the writer saves its vectors when it stops).
        log.log(
            logging.WARNING if save else logging.INFO,
            "the saved vector index was behind the store (generation %d, store %d): removed %d vectors and "
            "added %d from the store in %.1f s",
            loaded.generation,
            generation,
            gone,
            missing,
            time.perf_counter() - started,
        )
    else:
        batches = list(store.iter_embeddings(dim))
        count = sum(len(ids) for ids, _ in batches)
        vectors = VectorIndex(dim, options, build_main(batches, dim, count, options))
        log.info(
            "built the vector index from the store: %s over %d vectors in %.1f s",
            vectors.index_type,
            count,
            time.perf_counter() - started,
        )
    if save:
        vectors.save(data_dir, generation)
    return vectors


def catch_up(
    vectors: VectorIndex, store: Store, dim: int, stored: NDArray[np.int64] | None = None
) -> tuple[int, int]:
    """Make ``vectors`` hold exactly the store's chunks (``stored``: its chunk ids, if already read); how
    many vectors went and came."""
    gone, missing = id_changes(vectors.ids(), store.chunk_id_array() if stored is None else stored)
    vectors.remove(gone)
    vectors.add(*store.embeddings_of(missing.tolist(), dim))
    return len(gone), len(missing)
