from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from index import InvalidInputError, SearchRequest, SearchResult
from index.types import Duplicates, Fusion, GroupBy, SearchMode
from index.validation import MAX_ID_LENGTH
from service.deps import Searching, SearchingDep, check_limit
from service.routes.params import GET_QUERY_CHARS, FilterQuery, check_get_query, parse_filter
from service.schemas import (
    DUPLICATES_HELP,
    SEARCH_DEFAULTS,
    BatchSearchBody,
    BatchSearchResponse,
    ErrorOut,
    HitOut,
    InvalidOut,
    LikeIn,
    SearchBody,
    SearchResponse,
    TimingsOut,
)
from service.security import AUTH_RESPONSES, require_read
from service.settings import Settings

router = APIRouter(tags=["search"], dependencies=[Depends(require_read)], responses=AUTH_RESPONSES)

SearchModeQuery = Query(description="dense, keyword or hybrid.", examples=["hybrid"])
FusionQuery = Query(description="Hybrid fusion: blend or rrf.", examples=["blend"])
WeightQuery = Query(ge=0, le=1, description="Blend: weight of the dense side.")
RrfKQuery = Query(ge=0, le=10_000, description="RRF: the constant k.")
GroupByQuery = Query(description="chunk or document.", examples=["document"])
DuplicatesQuery = Query(description=DUPLICATES_HELP, examples=["collapse"])
DiversityQuery = Query(
    ge=0,
    le=1,
    allow_inf_nan=False,
    description="Above 0: hits unlike each other (maximal marginal relevance).",
)
DiversityPoolQuery = Query(ge=1, description="How many of the best hits a diverse search picks from.")

_INVALID: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "The example of a query by example (like) does not exist."},
    422: {"model": InvalidOut, "description": "Invalid query (empty, too long, k or offset too large)."},
}


def _check(body: SearchBody, settings: Settings) -> SearchRequest:
    text = body.query if body.like is None else body.like.text
    check_limit("the query length", len(text or ""), settings.max_query_chars, "SEMSEARCH_MAX_QUERY_CHARS")
    check_limit("k", body.k, settings.max_k, "SEMSEARCH_MAX_K")
    check_limit("offset", body.offset, settings.max_offset, "SEMSEARCH_MAX_OFFSET")
    if body.candidates is not None:
        check_limit("candidates", body.candidates, settings.max_k * 10, "SEMSEARCH_MAX_K (times 10)")
    if body.diversity_pool is not None:
        check_limit("diversity_pool", body.diversity_pool, settings.max_k, "SEMSEARCH_MAX_K")
    return SearchRequest(
        body.query or "",
        body.k,
        body.offset,
        body.min_score,
        mode=body.mode,
        fusion=body.fusion,
        rrf_k=body.rrf_k,
        weight=body.weight,
        group_by=body.group_by,
        filter=body.filter,
        candidates=body.candidates,
        ef_search=body.ef_search,
        exact=body.exact,
        like=None if body.like is None else body.like.to_like(),
        diversity=body.diversity,
        diversity_pool=body.diversity_pool,
        duplicates=body.duplicates,
    )


def _response(result: SearchResult) -> SearchResponse:
    # Read straight from the dataclasses' attributes: six times cheaper than through dataclasses.asdict.
    return SearchResponse(
        hits=[HitOut.model_validate(hit, from_attributes=True) for hit in result.hits],
        took_ms=result.took_ms,
        timings=TimingsOut.model_validate(result.timings, from_attributes=True),
        query_pieces=result.query_pieces,
        cached=result.cached,
    )


def _search(body: SearchBody, searching: Searching) -> Response:
    result = searching.index.search_batch([_check(body, searching.settings)])[0]
    searching.metrics.observe_searches([result])
    return _json(_response(result))


async def _in_slot(searching: Searching, work: Callable[[], Response]) -> Response:
    """``work`` on a worker thread once one of the search slots is free (waiting for it holds no thread)."""
    return await to_thread.run_sync(work, limiter=searching.slots)


def _json(model: BaseModel) -> Response:
    """The response model as JSON, serialised once, here. Returned as it is, FastAPI would dump it to a
    dict, validate that against the model again and serialise the result, in one more worker-thread hop:
    0.5 ms of a search's 12 for the same bytes. The route's ``response_model`` still documents it."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/search", responses=_INVALID, response_model=SearchResponse)
async def search_get(
    searching: SearchingDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            description=f"The query (or like_id / like_chunk instead); at most {GET_QUERY_CHARS:,} "
            "characters by GET, longer ones by POST.",
            examples=["when will the tram be built?"],
        ),
    ] = None,
    k: Annotated[int, Query(ge=1, description="How many hits.", examples=[5])] = 10,
    offset: Annotated[int, Query(ge=0, description="Hits to skip.", examples=[0])] = 0,
    min_score: Annotated[float | None, Query(allow_inf_nan=False, description="Lowest score kept.")] = None,
    mode: Annotated[SearchMode, SearchModeQuery] = SEARCH_DEFAULTS.mode,
    fusion: Annotated[Fusion, FusionQuery] = SEARCH_DEFAULTS.fusion,
    weight: Annotated[float, WeightQuery] = SEARCH_DEFAULTS.weight,
    rrf_k: Annotated[float, RrfKQuery] = SEARCH_DEFAULTS.rrf_k,
    group_by: Annotated[GroupBy, GroupByQuery] = SEARCH_DEFAULTS.group_by,
    filter: FilterQuery = None,
    ef_search: Annotated[int | None, Query(ge=1, le=4096, description="HNSW search width.")] = None,
    exact: Annotated[bool, Query(description="Scan every vector.")] = False,
    like_id: Annotated[
        str | None,
        Query(min_length=1, max_length=MAX_ID_LENGTH, description="More like this document (instead of q)."),
    ] = None,
    like_chunk: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="More like this chunk (instead of q).")
    ] = None,
    diversity: Annotated[float, DiversityQuery] = 0.0,
    diversity_pool: Annotated[int | None, DiversityPoolQuery] = None,
    duplicates: Annotated[Duplicates, DuplicatesQuery] = SEARCH_DEFAULTS.duplicates,
) -> Response:
    """The chunks (or documents) that best match ``q`` (or are most like the document ``like_id`` or the
    chunk ``like_chunk``), best first."""
    check_get_query(q, searching.settings.max_query_chars)
    parsed_filter = parse_filter(filter)
    like = None
    if like_id is not None or like_chunk is not None:
        if like_id is not None and like_chunk is not None:
            raise InvalidInputError("send like_id or like_chunk, not both")
        like = LikeIn(id=like_id, chunk=like_chunk)
    if (q is None) == (like is None):
        raise InvalidInputError("send q, or like_id or like_chunk instead")
    body = SearchBody(
        query=q,
        like=like,
        k=k,
        offset=offset,
        min_score=min_score,
        mode=mode,
        fusion=fusion,
        weight=weight,
        rrf_k=rrf_k,
        group_by=group_by,
        filter=parsed_filter,
        ef_search=ef_search,
        exact=exact,
        diversity=diversity,
        diversity_pool=diversity_pool,
        duplicates=duplicates,
    )
    return await _in_slot(searching, partial(_search, body, searching))


@router.post("/search", responses=_INVALID, response_model=SearchResponse)
async def search_post(body: SearchBody, searching: SearchingDep) -> Response:
    """The chunks closest in meaning to ``query`` (or to the example in ``like``), best first."""
    return await _in_slot(searching, partial(_search, body, searching))


@router.post("/search/batch", responses=_INVALID, response_model=BatchSearchResponse)
async def search_batch(body: BatchSearchBody, searching: SearchingDep) -> Response:
    """Several searches in one request, encoded in one model call. Results follow the order of the queries."""
    return await _in_slot(searching, partial(_search_batch, body, searching))


def _search_batch(body: BatchSearchBody, searching: Searching) -> Response:
    index, settings, metrics = searching.index, searching.settings, searching.metrics
    started = time.perf_counter()
    check_limit(
        "the number of queries", len(body.queries), settings.max_batch_queries, "SEMSEARCH_MAX_BATCH_QUERIES"
    )
    # Each hit costs its ranking and its bytes: one batch may not ask for more than ten deepest searches.
    hits = sum(query.k for query in body.queries)
    check_limit("k summed over the queries", hits, settings.max_k * 10, "SEMSEARCH_MAX_K (times 10)")
    results = index.search_batch([_check(query, settings) for query in body.queries])
    metrics.observe_searches(results)
    return _json(
        BatchSearchResponse(
            results=[_response(result) for result in results], took_ms=(time.perf_counter() - started) * 1000
        )
    )
