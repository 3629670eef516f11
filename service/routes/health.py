from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from index import to_dict
from service.deps import IndexDep, StateDep
from service.schemas import ErrorOut, HealthOut, ReadyOut, ShardOut, StatsOut
from service.security import AUTH_RESPONSES, require_read

router = APIRouter(tags=["operations"])
_METRICS_EXAMPLE = 'semsearch_index_documents{collection="default"} 5183.0\n'


@router.get("/healthz")
def healthz() -> HealthOut:
    """The process is alive and answering (it may still be loading)."""
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Still loading, or failed to load."}},
)
def readyz(state: StateDep) -> JSONResponse:
    """200 once the model and the index are loaded (and, on a new data directory, the demo corpus indexed).
    A sharded service (Ray Serve) is ready only while every shard's replicas and writer answer."""
    body = ReadyOut(status=state.status, detail=state.detail)
    health = getattr(getattr(state.index, "tasks", None), "health", None)
    if state.status == "ready" and callable(health):
        body.ingest = health()
    shards = state.index.shard_health() if state.status == "ready" and state.index is not None else []
    if shards:
        body.shards = [ShardOut(ready=s.ready, **dataclasses.asdict(s)) for s in shards]
        if not all(s.ready for s in shards):
            body.status, body.detail = (
                "loading",
                "shard(s) not answering: " + ", ".join(str(s.shard) for s in shards if not s.ready),
            )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ready" else 503)


@router.get(
    "/stats",
    dependencies=[Depends(require_read)],
    responses={503: {"model": ErrorOut, "description": "The index is still loading."}, **AUTH_RESPONSES},
)
def stats(index: IndexDep) -> StatsOut:
    """Counts of documents and chunks, the model and the index type."""
    return StatsOut(**to_dict(index.stats()))


@router.get(
    "/metrics",
    dependencies=[Depends(require_read)],
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/plain": {"example": 'semsearch_index_documents{collection="default"} 5183.0\n'}}
        }
    },
)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus metrics: requests and latencies per route, time per search phase (encode, search, rank),
    query batch sizes, index size, errors by type, build info."""
    return PlainTextResponse(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
