"""The shared resources routes depend on, one dependency each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from index.collections import CollectionSet
from index.cores import usable_cores
from index.errors import ReadOnlyIndexError, UnsupportedOperationError
from index.protocol import ServedIndex
from service.errors import LimitExceededError, NotReadyError
from service.file_reader import FileReader
from service.observability import Metrics
from service.settings import Settings
from service.state import AppState


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.semsearch
    return state


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_search_slots(request: Request) -> CapacityLimiter:
    """The worker threads searches may use at once (``SEMSEARCH_SEARCH_CONCURRENCY``); a search waits for
    one in the event loop, holding no thread."""
    slots: CapacityLimiter | None = getattr(request.app.state, "search_slots", None)
    if slots is None:  # made in the event loop, on the first search (no await in between: one is made)
        settings = await get_settings(request)
        slots = CapacityLimiter(settings.search_concurrency or 2 * usable_cores())
        request.app.state.search_slots = slots
    return slots


async def get_file_reader(request: Request) -> FileReader:
    reader: FileReader = request.app.state.file_reader
    return reader


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_index(request: Request, state: Annotated[AppState, Depends(get_state)]) -> ServedIndex:
    """The index a route acts on: the collection (or alias) named in its path, else the default one (a
    collection not open yet is opened in a worker thread)."""
    if state.index is None:
        raise NotReadyError(f"the index is not available yet: {state.detail}")
    name = request.path_params.get("collection")
    if name is None:
        return state.index
    return await run_in_threadpool(_collections(state).index, name)


# The dependencies are coroutines: they do no blocking work, and FastAPI runs a plain function one in a
# worker thread, a hop each that a search would pay for every one of them.
async def get_collections(state: Annotated[AppState, Depends(get_state)]) -> CollectionSet:
    return _collections(state)


def _collections(state: AppState) -> CollectionSet:
    if state.index is None:
        raise NotReadyError(f"the index is not available yet: {state.detail}")
    if state.collections is None:
        raise UnsupportedOperationError("this service serves one collection: the default one")
    return state.collections


@dataclass(frozen=True, slots=True)
class Searching:
    """What a search route needs, as one dependency: FastAPI solves every dependency anew for every
    request, and four of them cost a cached search more than looking its result up."""

    index: ServedIndex
    settings: Settings
    metrics: Metrics
    slots: CapacityLimiter


async def get_searching(request: Request, state: Annotated[AppState, Depends(get_state)]) -> Searching:
    return Searching(
        await get_index(request, state),
        await get_settings(request),
        await get_metrics(request),
        await get_search_slots(request),
    )


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IndexDep = Annotated[ServedIndex, Depends(get_index)]
FileReaderDep = Annotated[FileReader, Depends(get_file_reader)]
SearchingDep = Annotated[Searching, Depends(get_searching)]
CollectionsDep = Annotated[CollectionSet, Depends(get_collections)]


async def get_writable_collections(collections: CollectionsDep) -> CollectionSet:
    if collections.read_only:
        raise ReadOnlyIndexError("this service is a read-only replica: change collections on the writer")
    return collections


WritableCollectionsDep = Annotated[CollectionSet, Depends(get_writable_collections)]


def check_limit(what: str, value: int, limit: int, setting: str) -> None:
    if value > limit:
        raise LimitExceededError(what, value, limit, setting)
