from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from index import SearchIndex, SearchRequest, SearchResult, to_dict
from service.deps import IndexDep, SettingsDep, check_limit
from service.schemas import BatchSearchBody, BatchSearchResponse, ErrorOut, HitOut, SearchBody, SearchResponse
from service.settings import Settings

router = APIRouter(tags=["search"])

_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "Invalid query (empty, too long, k or offset too large)."}
}


def _check(body: SearchBody, settings: Settings) -> SearchRequest:
    check_limit("the query length", len(body.query), settings.max_query_chars, "SEMSEARCH_MAX_QUERY_CHARS")
    check_limit("k", body.k, settings.max_k, "SEMSEARCH_MAX_K")
    check_limit("offset", body.offset, settings.max_offset, "SEMSEARCH_MAX_OFFSET")
    return SearchRequest(body.query, body.k, body.offset, body.min_score)


def _response(result: SearchResult) -> SearchResponse:
    return SearchResponse(hits=[HitOut(**to_dict(hit)) for hit in result.hits], took_ms=result.took_ms)


def _search(index: SearchIndex, body: SearchBody, settings: Settings) -> SearchResponse:
    return _response(index.search_batch([_check(body, settings)])[0])


@router.get("/search", responses=_INVALID)
def search_get(
    index: IndexDep,
    settings: SettingsDep,
    q: Annotated[
        str, Query(min_length=1, description="The query.", examples=["when will the tram be built?"])
    ],
    k: Annotated[int, Query(ge=1, description="How many hits.", examples=[5])] = 10,
    offset: Annotated[int, Query(ge=0, description="Hits to skip.", examples=[0])] = 0,
    min_score: Annotated[float | None, Query(ge=-1, le=1, description="Lowest score kept.")] = None,
) -> SearchResponse:
    """The chunks closest in meaning to ``q``, best first."""
    return _search(index, SearchBody(query=q, k=k, offset=offset, min_score=min_score), settings)


@router.post("/search", responses=_INVALID)
def search_post(body: SearchBody, index: IndexDep, settings: SettingsDep) -> SearchResponse:
    """The chunks closest in meaning to ``query``, best first."""
    return _search(index, body, settings)


@router.post("/search/batch", responses=_INVALID)
def search_batch(body: BatchSearchBody, index: IndexDep, settings: SettingsDep) -> BatchSearchResponse:
    """Several searches in one request, encoded in one model call. Results follow the order of the queries."""
    started = time.perf_counter()
    check_limit(
        "the number of queries", len(body.queries), settings.max_batch_queries, "SEMSEARCH_MAX_BATCH_QUERIES"
    )
    results = index.search_batch([_check(query, settings) for query in body.queries])
    return BatchSearchResponse(
        results=[_response(result) for result in results], took_ms=(time.perf_counter() - started) * 1000
    )
