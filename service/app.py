"""The app factory: ``create_app(settings)`` builds an isolated FastAPI application.

Run it with ``semsearch serve`` or under plain uvicorn: ``uvicorn --factory service.app:create_app``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from index import SearchIndex
from service import runtime
from service.errors import install_error_handlers
from service.routes import documents, health, search
from service.settings import Settings
from service.state import AppState

log = logging.getLogger(__name__)

DESCRIPTION = """
Semantic search over paragraphs. Send documents to `POST /documents`; search them by meaning with
`GET /search?q=...`. Every error answers `{"detail": "..."}` with a 4xx status, except 503 while the index
is loading.
"""


def create_app(settings: Settings | None = None, *, index: SearchIndex | None = None) -> FastAPI:
    """A new application. With ``index`` the app serves that index (the caller closes it); otherwise it
    loads the model and opens the data directory from ``settings`` at start-up and closes it at shutdown.
    """
    settings = settings or Settings()
    state = AppState()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if index is not None:
            state.index = index
            state.set("ready")
            yield
            return
        seed = settings.seed_demo and runtime.is_new_data_dir(settings)
        # Errors here (model mismatch, unreadable database) stop the start with their message.
        state.index = await run_in_threadpool(runtime.open_index, settings)
        if seed:
            state.set("loading", "indexing the demo corpus")
            threading.Thread(target=_seed_demo, args=(state,), name="seed-demo", daemon=True).start()
        else:
            state.set("ready")
        try:
            yield
        finally:
            opened, state.index = state.index, None
            state.set("loading", "shutting down")
            await run_in_threadpool(opened.close)

    app = FastAPI(
        title="semsearch",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.semsearch = state
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(documents.router)
    app.include_router(search.router)
    return app


def _seed_demo(state: AppState) -> None:
    assert state.index is not None  # set before the thread starts
    try:
        runtime.seed_demo(state.index)
    except Exception as error:  # the service still serves; readiness says what went wrong
        log.exception("indexing the demo corpus failed")
        state.set("failed", f"indexing the demo corpus failed: {error}")
        return
    state.set("ready")
