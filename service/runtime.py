"""Building the index the settings describe, and the demo corpus that a new data directory starts with."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from index import Document, Embedder, SearchIndex, load_embedder
from index.collections import CollectionSettings
from index.encoders.batching import BatchingEmbedder
from index.encoders.sharing import Lease, SharedEmbedder
from index.errors import InvalidInputError
from index.ingest.sources import discover, read_documents
from index.retrieval.filters import FilterLimits
from index.retrieval.result_cache import ResultCache
from index.storage.layout import DB_FILE
from index.storage.tasks import TaskLimits
from service.settings import Settings

log = logging.getLogger(__name__)

DEMO_CORPUS = Path(__file__).parent / "demo_corpus"
DEMO_PREFIX = "demo/"


def load_model(
    settings: Settings,
    on_query_batch: Callable[[int], object] | None = None,
    alone: Callable[[], bool] | None = None,
) -> BatchingEmbedder:
    """The configured model, its queries micro-batched and cached as the settings say. ``alone`` says
    whether a model call may take every core (:class:`~index.encoders.onnx_encoder.OnnxEmbedder`; the
    service: whether no other request is in flight, service.in_flight)."""
    model = load_embedder(
        settings.model,
        backend=settings.embed_backend,
        cache_dir=settings.resolved_model_cache_dir(),
        batch_size=settings.embed_batch_size,
        threads=settings.encode_threads,
        alone=alone,
    )
    return BatchingEmbedder(
        model,
        max_batch=settings.query_batch_size,
        max_wait_ms=settings.query_batch_wait_ms,
        cache_size=settings.query_cache_size,
        on_batch=on_query_batch,
    )


def open_index(
    settings: Settings,
    on_query_batch: Callable[[int], object] | None = None,
    alone: Callable[[], bool] | None = None,
) -> SearchIndex:
    """Load the configured model (:func:`load_model`) and open (or create) the index in the data
    directory."""
    model = load_model(settings, on_query_batch, alone)
    return _open_with(settings, model, settings.data_dir, settings.read_only)


def open_all(
    settings: Settings, data_dirs: Sequence[Path], embedder: Embedder, *, read_only: bool = False
) -> list[SearchIndex]:
    """Each of ``data_dirs`` (the shards of a sharded index, say) opened as the settings say, all sharing
    one loaded model. If one fails to open, those already open are closed before the error goes on."""
    indexes: list[SearchIndex] = []
    try:
        for data_dir in data_dirs:
            indexes.append(_open_with(settings, embedder, data_dir, read_only))
    except BaseException:
        for index in indexes:
            index.close()
        raise
    return indexes


def _open_with(settings: Settings, embedder: Embedder, data_dir: Path, read_only: bool) -> SearchIndex:
    index = SearchIndex.open(
        data_dir,
        embedder,
        chunking=settings.chunking(),
        vectors=settings.vectors(),
        read_only=read_only,
        keyword_memory=settings.keyword_memory,
        allow_network_filesystem=settings.allow_network_filesystem,
    )
    index.filter_limits = FilterLimits(settings.max_filter_depth, settings.max_filter_clauses)
    index.filter_timeout = settings.filter_timeout_ms / 1000
    index.long_query = settings.long_query
    cache_bytes = int(settings.result_cache_mb * 2**20)
    index.result_cache = ResultCache(cache_bytes) if cache_bytes else None
    index.tasks.limits = TaskLimits(
        max_tasks=settings.max_queued_tasks,
        max_bytes=settings.max_queued_bytes,
        max_attempts=settings.task_max_attempts,
    )
    return index


def collection_settings(settings: Settings, collection: CollectionSettings) -> Settings:
    """The service's settings with a collection's own (model, backend, chunking, index) over them."""
    chunking = {f"chunk_{key}": value for key, value in collection.chunking.items()}
    overrides: dict[str, Any] = {**chunking, **collection.index}
    if collection.model is not None:
        overrides["model"] = collection.model
    if collection.embed_backend is not None:
        overrides["embed_backend"] = collection.embed_backend
    try:
        return Settings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidInputError(f"the collection's settings are not valid: {problems}") from error


class ModelPool:
    """The models a service's collections embed with, each loaded once however many collections use it
    (the default collection's included: its model is given, owned by its index)."""

    def __init__(
        self, settings: Settings, default: Embedder, alone: Callable[[], bool] | None = None
    ) -> None:
        self._models = {
            (settings.model, settings.embed_backend): SharedEmbedder(default, owned_elsewhere=True)
        }
        self._alone = alone
        self._lock = threading.Lock()

    def lease(self, own: Settings) -> Lease:
        """The model ``own`` names (loaded now if no collection holds it); close the lease when done."""
        key = (own.model, own.embed_backend)
        with self._lock:
            shared = self._models.get(key)
            if shared is None or (shared.leases == 0 and not shared.owned_elsewhere):
                loaded = load_model(own, alone=self._alone)  # (again, if it was closed)
                shared = self._models[key] = SharedEmbedder(loaded)
            return shared.lease()


def collection_opener(
    settings: Settings, default: SearchIndex, *, alone: Callable[[], bool] | None = None
) -> Callable[[str, Path, CollectionSettings], SearchIndex]:
    """Opens collections as ``settings`` and each collection's own say; a model used by several collections
    (the default's included) is loaded once (``alone``: see :func:`load_model`)."""
    models = ModelPool(settings, default.embedder, alone)

    def open_collection(name: str, data_dir: Path, collection: CollectionSettings) -> SearchIndex:
        own = collection_settings(settings, collection).model_copy(update={"data_dir": data_dir})
        embedder = models.lease(own)
        log.info("opening the collection %r in %s", name, data_dir)
        try:
            return _open_with(own, embedder, data_dir, own.read_only)
        except BaseException:
            embedder.close()
            raise

    return open_collection


def is_new_data_dir(settings: Settings) -> bool:
    return not (settings.data_dir / DB_FILE).exists()


def demo_documents() -> list[Document]:
    """The bundled demo corpus: a short guide to semsearch, ids prefixed ``demo/``."""
    documents = []
    for source in discover([DEMO_CORPUS], ignore=False):  # what ships, whatever a checkout ignores
        for doc in read_documents(source):
            metadata = {**doc.metadata, "source": "demo"}
            documents.append(Document(DEMO_PREFIX + doc.id, doc.text, doc.title, metadata))
    return documents


def seed_demo(index: SearchIndex) -> int:
    """Index the demo corpus; returns the number of documents."""
    documents = demo_documents()
    index.upsert(documents)
    log.info("indexed the demo corpus: %d documents (ids start with %r)", len(documents), DEMO_PREFIX)
    return len(documents)
