from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from index import Document, to_dict
from index.protocol import ServedIndex
from index.search_index import (
    MAX_FACET_CONTAINS,
    MAX_FACET_LIMIT,
    MAX_FIELDS_LIMIT,
    MAX_LIST_LIMIT,
    PAGE_TEXT_CHARS,
    page_may_continue,
)
from index.storage.tasks import Task
from index.types import DocumentSummary
from index.validation import MAX_ID_LENGTH, text_or_title
from service.deps import IndexDep, SettingsDep, check_limit
from service.routes.params import FilterQuery, parse_filter
from service.schemas import (
    CountOut,
    DeleteByFilterBody,
    DeleteByFilterResponse,
    DeleteResponse,
    DocumentListOut,
    DocumentOut,
    DocumentSummaryOut,
    ErrorOut,
    FacetOut,
    FieldsOut,
    InvalidOut,
    MetadataPatchBody,
    TaskOut,
    UpdateByFilterBody,
    UpdateByFilterResponse,
    UpsertItem,
    UpsertRequest,
    UpsertResponse,
)
from service.security import AUTH_RESPONSES as _AUTH
from service.security import require_read, require_write

router = APIRouter(tags=["documents"])

DocId = Annotated[str, Path(description="The document id.", examples=["news-42"])]
# OpenAPI links: what a client (and schemathesis' stateful tests) can do next with the ids an answer holds.
_DOCUMENT_LINKS = {
    "GetDocument": {
        "operationId": "get_document_documents__doc_id__get",
        "parameters": {"doc_id": "$response.body#/documents/0/id"},
    },
    "DeleteDocument": {
        "operationId": "delete_document_documents__doc_id__delete",
        "parameters": {"doc_id": "$response.body#/documents/0/id"},
    },
    "SearchForIt": {
        "operationId": "search_get_search_get",
        "parameters": {"q": "$response.body#/documents/0/id"},
    },
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No document has this id."}
}


@router.post(
    "/documents",
    dependencies=[Depends(require_write)],
    responses={
        200: {"links": _DOCUMENT_LINKS},
        202: {
            "model": TaskOut,
            "description": "wait=false: stored, and queued for indexing.",
        },
        429: {"model": ErrorOut, "description": "wait=false: the ingest queue is full; retry later."},
        503: {
            "model": ErrorOut,
            "description": "Earlier background uploads of these documents are still "
            "being indexed; retry later.",
        },
        422: {"model": InvalidOut, "description": "Invalid documents; nothing was changed."},
        **_AUTH,
    },
)
def upsert_documents(
    body: UpsertRequest,
    index: IndexDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    wait: Annotated[
        bool,
        Query(
            description="false: store the documents durably, answer 202 with a task at once, and index them "
            "in the background (poll `GET /tasks/{task_id}`)."
        ),
    ] = True,
) -> UpsertResponse | TaskOut:
    """Add documents, or replace them if their id exists. All documents of a request are applied in one
    transaction: either all of them or, on any error, none. Documents whose title, text and metadata did not
    change are left as they are (status ``unchanged``). The write is visible to the next search.

    With ``wait=false`` the documents are checked, stored durably and acknowledged with ``202 Accepted`` and a
    task to poll (``Location``: ``/tasks/{task_id}``, or ``/collections/{collection}/tasks/{task_id}`` for a
    collection's documents); they become searchable when the task is ``done``."""
    started = time.perf_counter()
    check_limit(
        "the number of documents",
        len(body.documents),
        settings.max_documents_per_request,
        "SEMSEARCH_MAX_DOCUMENTS_PER_REQUEST",
    )
    for doc in body.documents:
        check_limit(
            f"the length of the text of {doc.id!r}",
            len(doc.text),
            settings.max_text_chars,
            "SEMSEARCH_MAX_TEXT_CHARS",
        )
    documents = [Document(d.id, text_or_title(d.text, d.title), d.title, d.metadata) for d in body.documents]
    return store(index, documents, wait, request, response, started)


def store(
    index: ServedIndex,
    documents: list[Document],
    wait: bool,
    request: Request,
    response: Response,
    started: float,
) -> UpsertResponse | TaskOut:
    """Upsert ``documents`` (one transaction), or with ``wait=false`` store them and answer 202 and a task,
    whose ``Location`` is in the collection the request wrote to (a task is polled where it was made)."""
    if not wait:
        task = index.submit_upsert(documents)
        response.status_code = 202
        collection = request.path_params.get("collection")
        prefix = "" if collection is None else f"/collections/{collection}"
        response.headers["Location"] = f"{prefix}/tasks/{task.id}"
        return task_out(task)
    results = index.upsert(documents)
    return UpsertResponse(
        documents=[UpsertItem(id=r.id, status=r.status, chunks=r.chunks) for r in results],
        took_ms=(time.perf_counter() - started) * 1000,
    )


@router.post(
    "/documents/delete",
    dependencies=[Depends(require_write)],
    responses={422: {"model": InvalidOut, "description": "Invalid filter; nothing deleted."}, **_AUTH},
)
def delete_by_filter(body: DeleteByFilterBody, index: IndexDep) -> DeleteByFilterResponse:
    """Delete every document whose metadata matches the filter (the filter language of search), in one
    transaction. Returns the deleted ids."""
    deleted = index.delete_where(body.filter)
    return DeleteByFilterResponse(deleted=deleted, count=len(deleted))


@router.post(
    "/documents/update",
    dependencies=[Depends(require_write)],
    responses={
        422: {
            "model": InvalidOut,
            "description": "An invalid filter or patch, or metadata it would make for any document; nothing "
            "changed.",
        },
        **_AUTH,
    },
)
def update_by_filter(body: UpdateByFilterBody, index: IndexDep) -> UpdateByFilterResponse:
    """Patch the metadata of every document whose metadata matches the filter (the filter language of
    search), in one transaction: ``metadata`` is a JSON Merge Patch, as for one document. Nothing is embedded
    again. If the patch would make any document's metadata invalid, no document changes."""
    done = index.update_where(body.filter, body.metadata)
    return UpdateByFilterResponse(matched=done.matched, updated=done.updated, count=len(done.updated))


@router.get(
    "/documents",
    dependencies=[Depends(require_read)],
    responses={422: {"model": InvalidOut, "description": "Invalid filter or paging."}, **_AUTH},
    response_model_exclude_unset=True,  # see summary_out
)
def list_documents(
    index: IndexDep,
    after: Annotated[
        str | None,
        Query(
            max_length=MAX_ID_LENGTH, description="List the ids after this one (the previous page's next)."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT, description="Documents per page.")] = 100,
    filter: FilterQuery = None,
    include_text: Annotated[
        bool,
        Query(
            description="Each document with its text, as sent: an export (`semsearch export`). A page "
            f"then also ends at the document whose text brings it to {PAGE_TEXT_CHARS:,} characters."
        ),
    ] = False,
) -> DocumentListOut:
    """The documents, in id order, a page at a time, without their text unless `include_text`; only those
    whose metadata matches `filter` if one is given (`{"field": "path", "prefix": "reports/"}`, say).
    Follow `next` until it is null: a page may hold fewer than `limit` documents and still have a next."""
    found = index.list_documents(
        after=after, limit=limit, filter_spec=parse_filter(filter), with_text=include_text
    )
    return DocumentListOut(
        documents=[summary_out(d) for d in found],
        next=found[-1].id if page_may_continue(found, limit) else None,
    )


# The longest `after` GET /fields takes: with a filter beside it, well inside the 64 KB request line uvicorn
# reads (service.routes.params, GET_QUERY_CHARS). Keys are rarely longer; a larger page steps over one.
MAX_FIELD_AFTER = 1_000


@router.get(
    "/facets",
    dependencies=[Depends(require_read)],
    responses={
        422: {"model": InvalidOut, "description": "Not a metadata key, or an invalid filter."},
        **_AUTH,
    },
)
def facets(
    index: IndexDep,
    field: Annotated[
        str,
        Query(
            min_length=1,
            max_length=256,
            description="A metadata key, as filters name it (`author`; `author.name` reaches into an object; "
            'a key with other characters in double quotes: `"first name"`).',
            examples=["author"],
        ),
    ],
    filter: FilterQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FACET_LIMIT, description="Most values answered.")] = 100,
    order: Annotated[
        Literal["count", "value"],
        Query(description="`count`: the most held first; `value`: numbers, strings, false, true."),
    ] = "count",
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Values skipped (paging).")] = 0,
    contains: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_FACET_CONTAINS,
            description="Only string values holding this, case aside (a search box over the values).",
        ),
    ] = None,
) -> FacetOut:
    """The values of a metadata field with how many documents hold each, the most held first (then by
    value) or in value order: what to offer as filters beside a search box. Each element of a list counts,
    once per document; objects and nulls do not. Only over the documents `filter` keeps, if one is given;
    only the strings holding `contains`, if given. `min` and `max`: the least and greatest number among the
    values (for a range slider)."""
    found = index.facet(
        field,
        filter_spec=parse_filter(filter),
        limit=limit,
        order=order,
        offset=offset,
        contains=contains,
    )
    return FacetOut.model_validate(to_dict(found))


@router.get(
    "/count",
    dependencies=[Depends(require_read)],
    responses={422: {"model": InvalidOut, "description": "An invalid filter."}, **_AUTH},
)
def count(index: IndexDep, filter: FilterQuery = None) -> CountOut:
    """How many documents the filter keeps (all of them without one): one SQL count, where listing them
    would read every page."""
    return CountOut(count=index.count(parse_filter(filter)))


@router.get(
    "/fields",
    dependencies=[Depends(require_read)],
    responses={422: {"model": InvalidOut, "description": "An invalid filter or page."}, **_AUTH},
)
def fields(
    index: IndexDep,
    filter: FilterQuery = None,
    after: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_FIELD_AFTER,
            description="The `next` of the page before: the keys after this name. At most "
            f"{MAX_FIELD_AFTER:,} characters: a page ending at a longer key is followed by asking for a "
            "larger `limit` instead.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FIELDS_LIMIT, description="Most keys answered.")] = 1000,
) -> FieldsOut:
    """The metadata keys the documents hold (the top-level ones), in name order, with how many documents
    hold each and of which JSON types: what a form of filters can offer, and what a typo in a key looks
    like. Only over the documents `filter` keeps, if one is given. Keys inside objects are reached with
    `GET /facets?field=a.b`."""
    return FieldsOut.model_validate(to_dict(index.fields(parse_filter(filter), after=after, limit=limit)))


def summary_out(summary: DocumentSummary) -> DocumentSummaryOut:
    """A listed document as answered: its text only where it was asked for (the routes answering these
    leave out what was not set, so a listing without texts has no ``"text": null`` in it)."""
    fields = to_dict(summary)
    if fields["text"] is None:
        del fields["text"]
    return DocumentSummaryOut.model_validate(fields)


@router.get(
    "/documents/{doc_id:path}", dependencies=[Depends(require_read)], responses={**_NOT_FOUND, **_AUTH}
)
def get_document(doc_id: DocId, index: IndexDep) -> DocumentOut:
    """A document with its chunks and their character offsets."""
    return DocumentOut.model_validate(to_dict(index.get(doc_id)))


@router.patch(
    "/documents/{doc_id:path}",
    dependencies=[Depends(require_write)],
    responses={
        **_NOT_FOUND,
        422: {
            "model": InvalidOut,
            "description": "An invalid patch, or metadata it would make; nothing changed.",
        },
        **_AUTH,
    },
    response_model_exclude_unset=True,
)
def patch_document(doc_id: DocId, body: MetadataPatchBody, index: IndexDep) -> DocumentSummaryOut:
    """Change a document's metadata without sending its text again: ``metadata`` is a JSON Merge Patch
    (keys set, objects merged, a null removing a key). Nothing is embedded again; the next search filters
    by the new metadata. ``application/merge-patch+json`` is taken as well as JSON."""
    return summary_out(index.update_metadata(doc_id, body.metadata))


@router.delete(
    "/documents/{doc_id:path}", dependencies=[Depends(require_write)], responses={**_NOT_FOUND, **_AUTH}
)
def delete_document(doc_id: DocId, index: IndexDep) -> DeleteResponse:
    """Remove a document; it is gone from search results at once."""
    removed = index.delete(doc_id)
    return DeleteResponse(id=doc_id, deleted=True, chunks=removed)


@router.get(
    "/tasks/{task_id}",
    dependencies=[Depends(require_read)],
    responses={404: {"model": ErrorOut, "description": "No task has this id."}, **_AUTH},
)
def get_task(
    task_id: Annotated[str, Path(description="The id from POST /documents?wait=false.")], index: IndexDep
) -> TaskOut:
    """A background upsert: its status, progress, and (once done) each document's outcome."""
    return task_out(index.tasks.get(task_id))


def task_out(task: Task) -> TaskOut:
    results = (
        None
        if task.results is None
        else [UpsertItem(id=r.id, status=r.status, chunks=r.chunks) for r in task.results]
    )
    return TaskOut(
        task_id=task.id,
        status=task.status,
        documents=task.documents,
        chunks_done=task.chunks_done,
        chunks_total=task.chunks_total,
        results=results,
        error=task.error,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        attempts=task.attempts,
    )
