"""Collections and aliases (index.collections): create, list, read and delete collections; point aliases.

Every data route is also served under ``/collections/{collection}/`` (app.py mounts them there), where
``{collection}`` is a collection's name or an alias; the routes without the prefix act on the default one.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from index import to_dict
from index.collections import NAME_PATTERN, CollectionConflictError, CollectionSet, reindex
from index.protocol import ServedIndex
from service.deps import CollectionsDep, IndexDep, StateDep, WritableCollectionsDep
from service.schemas import (
    AliasesOut,
    AliasIn,
    AliasOut,
    CollectionDeletedOut,
    CollectionIn,
    CollectionOut,
    CollectionsOut,
    ErrorOut,
    InvalidOut,
    ReindexIn,
    ReindexOut,
    StatsOut,
)
from service.security import AUTH_RESPONSES, require_read, require_write
from service.state import AppState, ReindexJob

log = logging.getLogger(__name__)

_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": InvalidOut, "description": "An invalid name or body, or a model that cannot be loaded."}
}
# What every route under /collections/{collection}/ may answer besides its own responses.
PREFIXED_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such collection or alias (or no such document, task...)."},
    409: {"model": ErrorOut, "description": "Refused as it is (a conflict, or not on a sharded index)."},
    **_INVALID,
}
router = APIRouter(tags=["collections"], responses={**AUTH_RESPONSES, **_INVALID})
# /collections/{collection}/stats; the other prefixed routes are the documents, search and admin routers.
stats_router = APIRouter(
    tags=["collections"], dependencies=[Depends(require_read)], responses={**AUTH_RESPONSES, **_INVALID}
)

Name = Annotated[str, Path(pattern=f"^{NAME_PATTERN}$", description="A collection's name.")]
AliasName = Annotated[str, Path(pattern=f"^{NAME_PATTERN}$", description="An alias.")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "No such name."}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "Conflicts with what exists (see the detail)."}
}


def _describe(collections: CollectionSet, name: str) -> CollectionOut:
    collection = collections.catalog.resolve(name)
    stats = collections.index(collection).stats()
    settings = collections.catalog.state.collections[collection].to_json()
    values = {k: v for k, v in to_dict(stats).items() if k != "data_dir"}
    return CollectionOut(name=collection, settings=settings, **values)


@router.put(
    "/collections/{name}",
    status_code=201,
    dependencies=[Depends(require_write)],
    responses={
        200: {"model": CollectionOut, "description": "It exists with these settings."},
        **_CONFLICT,
    },
)
async def create_collection(
    name: Name,
    collections: WritableCollectionsDep,
    response: Response,
    body: Annotated[CollectionIn | None, Body()] = None,
) -> CollectionOut:
    """Create a collection with its own settings (201), or confirm one that exists with the same (200); one
    that exists with other settings is a 409."""
    settings = (body or CollectionIn()).to_settings()
    created = await run_in_threadpool(collections.create, name, settings)
    response.status_code = 201 if created else 200
    return await run_in_threadpool(_describe, collections, name)


@router.get("/collections", dependencies=[Depends(require_read)])
async def list_collections(collections: CollectionsDep) -> CollectionsOut:
    """Every collection, the default one first, with its size, model and settings."""
    state = collections.catalog.state
    names = [
        collections.catalog.default,
        *sorted(n for n in state.collections if n != collections.catalog.default),
    ]
    described = [await run_in_threadpool(_describe, collections, n) for n in names]
    return CollectionsOut(collections=described)


@router.get("/collections/{name}", dependencies=[Depends(require_read)], responses=_NOT_FOUND)
async def get_collection(name: Name, collections: CollectionsDep) -> CollectionOut:
    """One collection (or the one an alias points to)."""
    return await run_in_threadpool(_describe, collections, name)


@router.delete(
    "/collections/{name}", dependencies=[Depends(require_write)], responses={**_NOT_FOUND, **_CONFLICT}
)
async def delete_collection(
    name: Name,
    collections: WritableCollectionsDep,
    force: Annotated[bool, Query(description="Also delete the aliases that point to it.")] = False,
) -> CollectionDeletedOut:
    """Delete a collection and its files. Refused (409) while an alias points to it, unless force; the
    default collection is never deleted."""
    aliases = await run_in_threadpool(lambda: collections.delete(name, force=force))
    return CollectionDeletedOut(name=name, deleted=True, aliases=aliases)


@router.post(
    "/collections/{name}/reindex",
    status_code=202,
    dependencies=[Depends(require_write)],
    responses={**_NOT_FOUND, **_CONFLICT},
)
async def start_reindex(
    name: Name, body: ReindexIn, collections: WritableCollectionsDep, state: StateDep
) -> ReindexOut:
    """Fill the collection from another one's stored documents, chunked and embedded with this collection's
    own settings, in the background (no source files needed); poll `GET` on the same path. With a new model
    or new chunking, then `PUT /aliases/...`, an index is rebuilt and switched in with two calls."""
    target_name = collections.catalog.resolve(name)
    source_name = collections.catalog.resolve(body.source)
    if target_name == source_name:
        raise CollectionConflictError("a collection is not reindexed from itself")
    job = await run_in_threadpool(start_reindex_job, state, collections, target_name, source_name)
    return ReindexOut(**dataclasses.asdict(job))


def start_reindex_job(
    state: AppState, collections: CollectionSet, target_name: str, source_name: str, *, resumed: bool = False
) -> ReindexJob:
    """Record the reindex in the catalog (until it is done) and run it in a thread."""
    target, source = collections.index(target_name), collections.index(source_name)
    with state.lock:
        running = state.reindexing.get(target_name)
        if running is not None and running.status == "running":
            raise CollectionConflictError(
                f"{target_name!r} is already being reindexed from {running.source!r}"
            )
        collections.catalog.begin_reindex(target_name, source_name)
        job = state.reindexing[target_name] = ReindexJob(target_name, source_name, resumed=resumed)
    threading.Thread(
        target=_run_reindex,
        args=(job, source, target, state, collections),
        name="semsearch-reindex",
        daemon=True,
    ).start()
    return job


def resume_reindexes(state: AppState, collections: CollectionSet) -> None:
    """Start again every reindex the catalog says a restart cut off."""
    for target_name, source_name in collections.catalog.state.reindexing.items():
        log.info("resuming the reindex of %s from %s", target_name, source_name)
        try:
            start_reindex_job(state, collections, target_name, source_name, resumed=True)
        except Exception:  # one collection that no longer opens must not keep the others from resuming
            log.exception("could not resume the reindex of %s from %s", target_name, source_name)


@router.get(
    "/collections/{name}/reindex",
    dependencies=[Depends(require_read)],
    responses={404: {"model": ErrorOut, "description": "No reindex of this collection since the start."}},
)
async def reindex_status(name: Name, collections: CollectionsDep, state: StateDep) -> ReindexOut:
    """The latest reindex of the collection: running, done or failed, and how far it got."""
    job = state.reindexing.get(collections.catalog.resolve(name))
    if job is None:
        raise HTTPException(404, f"no reindex of {name!r} since the service started")
    return ReindexOut(**dataclasses.asdict(job))


def _run_reindex(
    job: ReindexJob, source: ServedIndex, target: ServedIndex, state: AppState, collections: CollectionSet
) -> None:
    def progress(done: int, total: int) -> None:
        job.documents_done, job.documents_total = done, total

    try:
        reindex(source, target, on_progress=progress, should_stop=state.stopping.is_set)
        if state.stopping.is_set():  # stays in the catalog: the next start resumes it
            job.status, job.error = "failed", "the service stopped; it resumes when the service starts again"
        else:
            job.status, job.error = "done", None
            collections.catalog.end_reindex(job.collection)
    except Exception as error:  # reported to the client that polls, and logged; not resumed
        log.exception("reindexing %s from %s failed", job.collection, job.source)
        job.status, job.error = "failed", str(error)
        try:
            collections.catalog.end_reindex(job.collection)
        except Exception:  # the catalog's folder went with a deleted collection, say
            log.exception("could not record the end of the reindex of %s", job.collection)
    job.finished_at = time.time()


@router.put("/aliases/{alias}", dependencies=[Depends(require_write)], responses={**_NOT_FOUND, **_CONFLICT})
async def set_alias(alias: AliasName, body: AliasIn, collections: WritableCollectionsDep) -> AliasOut:
    """Point an alias at a collection, atomically: searches in flight finish where they started, the next
    ones go to the new collection."""
    previous = await run_in_threadpool(collections.catalog.set_alias, alias, body.collection)
    return AliasOut(alias=alias, collection=body.collection, previous=previous)


@router.get("/aliases", dependencies=[Depends(require_read)])
async def list_aliases(collections: CollectionsDep) -> AliasesOut:
    """Every alias and the collection it points to."""
    aliases = collections.catalog.state.aliases
    return AliasesOut(aliases=[AliasOut(alias=a, collection=c) for a, c in sorted(aliases.items())])


@router.delete("/aliases/{alias}", dependencies=[Depends(require_write)], responses=_NOT_FOUND)
async def delete_alias(alias: AliasName, collections: WritableCollectionsDep) -> AliasOut:
    """Remove an alias (the collection stays)."""
    target = await run_in_threadpool(collections.catalog.delete_alias, alias)
    return AliasOut(alias=alias, collection=target)


@stats_router.get(
    "/stats", responses={404: {"model": ErrorOut, "description": "No such collection or alias."}}
)
def collection_stats(index: IndexDep) -> StatsOut:
    """Counts of documents and chunks, the model and the index type of this collection."""
    return StatsOut(**to_dict(index.stats()))
