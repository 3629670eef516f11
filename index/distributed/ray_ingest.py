"""Distributed ingest: documents chunked and embedded by Ray Data across a cluster's workers, then written
into one data directory or a sharded one (:mod:`index.distributed.sharding`) that the normal service opens.

Needs the optional ``ray`` extra (``pip install 'semsearch[ray]'``); nothing else in the library imports
this module.

The work is cut exactly as the single-machine path cuts it (:func:`batches`, the groups ``semsearch index``
upserts one at a time), and each group is prepared by the same
:class:`~index.ingest.preparation.DocumentPreparer` code, with the same model and backend, in a worker's
process: so the chunks and the embeddings are the same, bit for bit, and with the output kept in order the
chunk ids are too. Each worker (a Ray actor) loads the encoder once and prepares one group per call; the
driver only reads the files, checks which documents changed, and writes each group as its result arrives, one
transaction per group."""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.cores import usable_cores
from index.distributed.sharding import create_layout, sharded_batches
from index.encoders.base import Backend, Embedder
from index.encoders.factory import load_embedder
from index.errors import InvalidInputError
from index.ingest.chunking import Chunker, ChunkingOptions
from index.ingest.preparation import DEFAULT_GROUP_SIZE, DocumentPreparer, batches
from index.search_index import SearchIndex
from index.storage.store import PreparedDocument
from index.storage.vectors import VectorOptions
from index.types import Document, UpsertResult

log = logging.getLogger(__name__)

# How long to wait for CPUs a finished job is still releasing before saying the ingest has to wait for them.
RESOURCE_WAIT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class EmbedderSpec:
    """How to build the encoder, sent to each worker so that every one builds the same."""

    model: str
    backend: Backend = "onnx"
    cache_dir: Path | None = None
    batch_size: int = 32
    threads: int | None = None

    def load(self) -> Embedder:
        return load_embedder(
            self.model,
            backend=self.backend,
            cache_dir=self.cache_dir,
            batch_size=self.batch_size,
            threads=self.threads,
        )


class PrepareWorker:
    """A Ray Data actor: loads the encoder once, then prepares one group of documents per call."""

    def __init__(self, spec: EmbedderSpec, chunking: ChunkingOptions | None) -> None:
        embedder = spec.load()
        self._preparer = DocumentPreparer(embedder, Chunker(embedder.tokenizer, chunking))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        prepared = [
            pickle.dumps(self._preparer.prepare(pickle.loads(payload))) for payload in batch["payload"]
        ]
        return {"seq": batch["seq"], "payload": prepared}


@dataclass(frozen=True, slots=True)
class RayIngestOptions:
    address: str | None = None  # None: start a local Ray with this machine's CPUs; "auto": the running one
    workers: int = 2  # encoder actors
    cpus_per_worker: float = 1.0
    group_size: int = DEFAULT_GROUP_SIZE  # documents per group and per transaction


def ray_index(
    documents: Iterable[Document],
    data_dir: Path,
    spec: EmbedderSpec,
    options: RayIngestOptions,
    *,
    shards: int | None = None,
    chunking: ChunkingOptions | None = None,
    vectors: VectorOptions | None = None,
    on_written: Callable[[int], object] | None = None,
) -> list[UpsertResult]:
    """Index ``documents`` into ``data_dir`` (or, with ``shards``, into a sharded data directory there),
    embedding on Ray workers; the status of each document, in input order. ``on_written`` is called with
    the number of documents of each group written. Results come in the order written: by group, and with
    ``shards``, each shard's groups as :func:`sharded_batches` cuts them."""
    import ray
    from ray.data import DataContext

    started_ray = False
    if not ray.is_initialized():
        if options.address is None:
            ray.init(address="local", num_cpus=usable_cores(), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=options.address, log_to_driver=False)
        started_ray = True
    needed = options.workers * options.cpus_per_worker
    total = float(ray.cluster_resources().get("CPU", 0.0))  # type: ignore[no-untyped-call]
    if needed > total:
        raise InvalidInputError(
            f"{options.workers} encoder workers of {options.cpus_per_worker} CPU need {needed:g} CPUs and "
            f"the Ray cluster has {total:g}: ask for fewer workers"
        )
    free = _free_cpus(ray, needed, RESOURCE_WAIT_SECONDS)
    if needed > free:
        log.warning(
            "the encoder workers need %g CPUs and %g are free now: the ingest waits until other Ray work "
            "(a Serve application, say) releases them",
            needed,
            free,
        )
    driver_embedder = spec.load()
    dirs = [data_dir] if shards is None else create_layout(data_dir, shards)
    indexes: list[SearchIndex] = []
    try:
        for directory in dirs:
            indexes.append(SearchIndex.open(directory, driver_embedder, chunking=chunking, vectors=vectors))
        cut = (
            ((0, group) for group in batches(documents, options.group_size))
            if shards is None
            else sharded_batches(documents, options.group_size, shards)
        )
        plan = [(shard, group, indexes[shard].changed(group)) for shard, group in cut]
        work = [(seq, changed) for seq, (_, _, changed) in enumerate(plan) if changed]
        prepared_of: dict[int, list[PreparedDocument]] = {}
        results: list[UpsertResult] = []

        def write(seq: int, prepared: list[PreparedDocument]) -> None:
            shard, group, _ = plan[seq]
            results.extend(indexes[shard].write_prepared(group, prepared))
            if on_written is not None:
                on_written(len(group))

        written = 0
        if work:
            context = DataContext.get_current()
            context.execution_options.preserve_order = True  # groups come back (and are written) in order
            dataset = ray.data.from_items(
                [{"seq": seq, "payload": pickle.dumps(changed)} for seq, changed in work],
                override_num_blocks=min(len(work), max(1, options.workers) * 8),
            ).map_batches(
                PrepareWorker,
                fn_constructor_args=(spec, chunking),
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=options.workers),
                num_cpus=options.cpus_per_worker,
            )
            for row in dataset.iter_rows():
                prepared_of[int(row["seq"])] = pickle.loads(row["payload"])
                # Write in plan order: unchanged groups in between are recorded as they are reached.
                while written < len(plan) and (not plan[written][2] or written in prepared_of):
                    write(written, prepared_of.pop(written, []))
                    written += 1
        while written < len(plan):
            write(written, prepared_of.pop(written, []))
            written += 1
        return results
    finally:
        for index in indexes:
            index.close()
        if started_ray:
            ray.shutdown()


def _free_cpus(ray: Any, needed: float, patience: float) -> float:
    """The CPUs free in the Ray cluster, after waiting up to ``patience`` seconds for ``needed`` of them (the
    actors of a job that just ended take a moment to go)."""
    deadline = time.monotonic() + patience
    while True:
        free = float(ray.available_resources().get("CPU", 0.0))
        if free >= needed or time.monotonic() >= deadline:
            return free
        time.sleep(0.2)
