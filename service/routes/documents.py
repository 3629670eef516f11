from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from index import Document, to_dict
from service.deps import IndexDep, SettingsDep, check_limit
from service.schemas import (
    DeleteByFilterBody,
    DeleteByFilterResponse,
    DeleteResponse,
    DocumentOut,
    ErrorOut,
    UpsertItem,
    UpsertRequest,
    UpsertResponse,
)
from service.security import AUTH_RESPONSES as _AUTH
from service.security import require_read, require_write

router = APIRouter(tags=["documents"])

DocId = Annotated[str, Path(description="The document id.", examples=["news-42"])]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No document has this id."}
}


@router.post(
    "/documents",
    dependencies=[Depends(require_write)],
    responses={422: {"model": ErrorOut, "description": "Invalid documents; nothing was changed."}, **_AUTH},
)
def upsert_documents(body: UpsertRequest, index: IndexDep, settings: SettingsDep) -> UpsertResponse:
    """Add documents, or replace them if their id exists. All documents of a request are applied in one
    transaction: either all of them or, on any error, none. Documents whose title, text and metadata did not
    change are left as they are (status ``unchanged``). The write is visible to the next search."""
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
    results = index.upsert([Document(d.id, d.text, d.title, d.metadata) for d in body.documents])
    return UpsertResponse(
        documents=[UpsertItem(id=r.id, status=r.status, chunks=r.chunks) for r in results],
        took_ms=(time.perf_counter() - started) * 1000,
    )


@router.post(
    "/documents/delete",
    dependencies=[Depends(require_write)],
    responses={422: {"model": ErrorOut, "description": "Invalid filter; nothing deleted."}, **_AUTH},
)
def delete_by_filter(body: DeleteByFilterBody, index: IndexDep) -> DeleteByFilterResponse:
    """Delete every document whose metadata matches the filter (the filter language of search), in one
    transaction. Returns the deleted ids."""
    deleted = index.delete_where(body.filter)
    return DeleteByFilterResponse(deleted=deleted, count=len(deleted))


@router.get(
    "/documents/{doc_id:path}", dependencies=[Depends(require_read)], responses={**_NOT_FOUND, **_AUTH}
)
def get_document(doc_id: DocId, index: IndexDep) -> DocumentOut:
    """A document with its chunks and their character offsets."""
    return DocumentOut.model_validate(to_dict(index.get(doc_id)))


@router.delete(
    "/documents/{doc_id:path}", dependencies=[Depends(require_write)], responses={**_NOT_FOUND, **_AUTH}
)
def delete_document(doc_id: DocId, index: IndexDep) -> DeleteResponse:
    """Remove a document; it is gone from search results at once."""
    removed = index.delete(doc_id)
    return DeleteResponse(id=doc_id, deleted=True, chunks=removed)
