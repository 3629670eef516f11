"""The app factory: ``create_app(settings)`` builds an isolated FastAPI application.

Run it with ``semsearch serve`` or under plain uvicorn: ``uvicorn --factory service.app:create_app``.
"""

from __future__ import annotations

import functools
import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from index import SearchIndex
from index.collections import Catalog, CollectionSet
from index.cores import machine_cores, usable_cores
from index.encoders.base import model_id
from index.encoders.factory import resolve_backend
from index.protocol import ServedIndex
from index.storage.layout import check_data_dir
from service import openapi, runtime
from service.compression import DecompressRequest
from service.errors import install_error_handlers
from service.file_reader import FileReader
from service.forwarding import Forwarder, ForwardToWriter
from service.head import HeadAsGet
from service.in_flight import CountInFlight, InFlight
from service.limits import BodySizeLimit, ConcurrencyLimit
from service.mcp_server import McpEndpoint, McpMiddleware
from service.observability import REQUEST_ID_HEADER, Metrics, ObservabilityMiddleware
from service.open_files import raise_open_file_limit
from service.routes import admin, documents, embeddings, files, health, page, search
from service.routes import collections as collection_routes
from service.routes.collections import resume_reindexes
from service.routes.params import refuse_unknown_query
from service.security import DOCS_ASSETS, Authentication, is_upload
from service.settings import Settings
from service.state import AppState

log = logging.getLogger(__name__)

# How long shutdown waits for a start-up still loading; a write it was making is rolled back by SQLite.
SHUTDOWN_WAIT_SECONDS = 5.0

# CORS, for the origins SEMSEARCH_CORS_ORIGINS lists: a web app there may use every method the API has, send
# the headers it reads (keys, a request id, MCP's protocol version), and read the ones it answers with (the
# request id, a task's Location, Retry-After on 429 and 503); browsers hide any other from its script.
CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = [
    "Authorization",
    "X-API-Key",
    "Content-Type",
    REQUEST_ID_HEADER,
    "Mcp-Protocol-Version",
    "Mcp-Session-Id",
    "Last-Event-ID",
]
CORS_RESPONSE_HEADERS = [REQUEST_ID_HEADER, "Location", "Retry-After", "Allow", "Mcp-Session-Id"]

DESCRIPTION = """
Semantic search over paragraphs. Send documents to `POST /documents`; search them by meaning with
`GET /search?q=...`. Every error answers `{"detail": "..."}` with a 4xx status, except 503 while the index
is loading.
"""


def create_app(
    settings: Settings | None = None,
    *,
    index: ServedIndex | None = None,
    collections: CollectionSet | None = None,
    writer_socket: str | None = None,
    in_flight: InFlight | None = None,
) -> FastAPI:
    """A new application. With ``index`` the app serves that index (the caller closes it) as the default
    collection, and the others of its data directory (``collections`` if given: the sharded ones of a
    Ray Serve router; the app closes them). Otherwise, at
    start-up, it checks the data directory against the configured model (a mismatch or an unreadable
    database stops the start), then loads the model and the index in the background: ``/healthz`` answers
    at once, ``/readyz`` and the API answer 503 until the index is loaded (and a new data directory seeded
    with the demo corpus). At shutdown it closes the index.

    With ``writer_socket`` the app is a read replica of ``semsearch serve --workers`` (service.workers):
    what it does not answer itself goes to the writer process listening on that Unix socket, and
    ``in_flight`` counts the requests of all the server's processes, so that the model gives a query every
    core only when it is alone in all of them (service.in_flight).
    """
    settings = settings or Settings()
    in_flight = in_flight if in_flight is not None else InFlight()
    state = AppState()
    mcp = McpEndpoint(settings, lambda: app)

    forwarder = Forwarder(writer_socket) if writer_socket else None
    file_reader = FileReader(settings.file_readers, settings.file_read_timeout_seconds)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        raise_open_file_limit()  # each open collection holds files (service.open_files)
        try:
            async with serving(application), mcp.running():
                yield
        finally:
            file_reader.close()
            if forwarder is not None:
                await forwarder.aclose()

    @asynccontextmanager
    async def serving(_: FastAPI) -> AsyncIterator[None]:
        if index is not None:
            state.index = index
            state.collections = _collections(settings, index, state, collections, alone=in_flight.alone)
            state.set("ready")
            try:
                yield
            finally:
                if state.collections is not None:
                    await run_in_threadpool(state.collections.close)
            return
        if (cores := usable_cores()) < machine_cores():
            log.info("using %d of the machine's %d cores (a CPU quota or affinity)", cores, machine_cores())
        model = model_id(settings.model)
        await run_in_threadpool(
            functools.partial(
                check_data_dir,
                settings.data_dir,
                model,
                read_only=settings.read_only,
                allow_network_filesystem=settings.allow_network_filesystem,
            )
        )
        seed = settings.seed_demo and not settings.read_only and runtime.is_new_data_dir(settings)
        loader = threading.Thread(
            target=_load,
            args=(state, settings, seed, metrics, in_flight),
            name="semsearch-load",
            daemon=True,
        )
        loader.start()
        try:
            yield
        finally:
            state.stopping.set()
            await run_in_threadpool(loader.join, SHUTDOWN_WAIT_SECONDS)
            opened, state.index = state.index, None
            others, state.collections = state.collections, None
            if opened is not None and not loader.is_alive():
                state.set("loading", "shutting down")
                if others is not None:
                    await run_in_threadpool(others.close)
                await run_in_threadpool(opened.close)
            gc.unfreeze()  # what this app froze is collectable again (tests start many apps in one process)

    app = FastAPIOffline(  # FastAPI, with /docs and /redoc served from DOCS_ASSETS instead of a CDN
        static_url=DOCS_ASSETS,
        dependencies=[Depends(refuse_unknown_query)],
        title="semsearch",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # An upload of more files than a request may carry is refused at the first one too many (Starlette
        # read up to 1,000 and then answered 400 "Maximum number of files is 1000", not the real limit).
        form_limits={"max_files": settings.max_documents_per_request},
    )
    metrics = Metrics(app.version, model_id(settings.model), resolve_backend(settings.embed_backend))
    metrics.watch(lambda: _watched(state, settings))
    app.add_middleware(McpMiddleware, endpoint=mcp)  # /mcp: the MCP tools, over this same API
    limits = {"max_bytes": settings.max_body_bytes, "max_upload_bytes": settings.max_upload_bytes}
    app.add_middleware(DecompressRequest, **limits)  # inside the limit on bytes sent; it limits its output
    app.add_middleware(BodySizeLimit, **limits, timeout=settings.body_timeout_seconds)
    app.add_middleware(
        ConcurrencyLimit,
        limit=settings.max_concurrent_upserts,
        counts=is_upload,
        setting="SEMSEARCH_MAX_CONCURRENT_UPSERTS",
    )
    app.add_middleware(Authentication, settings=settings)  # before any body
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=3600,
        )
    app.add_middleware(HeadAsGet)  # HEAD is a GET without its body, to everything inside
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)  # sees every answer of this process
    if forwarder is not None:  # a replica: what it does not answer goes to the writer, which counts it
        app.add_middleware(
            ForwardToWriter,
            forwarder=forwarder,
            ready=lambda: state.status == "ready",
            body_timeout=settings.body_timeout_seconds,
        )
    app.add_middleware(CountInFlight, in_flight=in_flight)  # outermost: every request, forwarded ones too
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.file_reader = file_reader
    app.state.semsearch = state
    install_error_handlers(app, settings.max_documents_per_request)
    app.include_router(health.router)
    app.include_router(files.router)
    app.include_router(documents.router)
    app.include_router(search.router)
    app.include_router(admin.router)
    app.include_router(collection_routes.router)
    app.include_router(embeddings.router)
    prefixed_routers = (files.router, documents.router, search.router, admin.router)
    for prefixed in (*prefixed_routers, collection_routes.stats_router):
        app.include_router(
            prefixed, prefix="/collections/{collection}", responses=collection_routes.PREFIXED_RESPONSES
        )
    app.include_router(page.router)
    openapi.install(app, settings)
    return app


def _watched(state: AppState, settings: Settings) -> dict[str, ServedIndex]:
    """The indexes whose size the metrics report, by collection."""
    if state.collections is not None:
        return state.collections.opened()
    return {settings.default_collection: state.index} if state.index is not None else {}


def _collections(
    settings: Settings,
    index: ServedIndex,
    state: AppState,
    given: CollectionSet | None = None,
    *,
    alone: Callable[[], bool],
) -> CollectionSet | None:
    """The collections beside the default one (``given``, or those of the index's data directory), with
    the reindexes a restart cut off resumed; none for an index of another kind given without them.
    ``alone``: for the models the collections load (:func:`service.runtime.load_model`)."""
    found = given
    if found is None and isinstance(index, SearchIndex):
        catalog = Catalog(index.data_dir, settings.default_collection)
        found = CollectionSet(catalog, index, runtime.collection_opener(settings, index, alone=alone))
    if found is None:
        return None
    if not found.read_only:
        resume_reindexes(state, found)
    return found


def _load(state: AppState, settings: Settings, seed: bool, metrics: Metrics, in_flight: InFlight) -> None:
    """Load the model and the index, then seed the demo corpus; readiness says how far it got."""
    try:
        state.index = runtime.open_index(
            settings, on_query_batch=metrics.batch_size.observe, alone=in_flight.alone
        )
        state.collections = _collections(settings, state.index, state, alone=in_flight.alone)
        if seed and not state.stopping.is_set():
            state.set("loading", "indexing the demo corpus")
            runtime.seed_demo(state.index)
    except Exception as error:  # the process keeps answering /healthz; /readyz says what went wrong
        log.exception("loading the index failed")
        state.set("failed", f"loading the index failed: {error}")
        return
    _freeze_heap()
    state.set("ready")


def _freeze_heap() -> None:
    """Leave what loading made (the libraries, the model, the index: about 165,000 objects) out of Python's
    garbage collections from now on. A full collection over them took 85-89 ms with the interpreter's lock
    held, a stall for every request in flight, and next to nothing once they were frozen
    (docs/benchmarks.md, "Garbage collection"). What is garbage already goes first; shutdown hands the rest
    back."""
    gc.collect()
    gc.freeze()
