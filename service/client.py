"""Python clients of the semsearch HTTP API: :class:`SemsearchClient` and :class:`AsyncSemsearchClient`.

Both speak to a running service over httpx and return the API's own response models
(:mod:`service.schemas`); an error answer is raised as a :class:`SemsearchAPIError` subclass carrying the
status and the server's ``detail``. Importing this module loads httpx and pydantic only: no torch, FAISS,
ONNX Runtime or FastAPI, so it fits in any program (a test checks).

    from service.client import SemsearchClient

    with SemsearchClient("http://127.0.0.1:8000", api_key="...") as client:
        client.upsert([{"id": "a", "text": "Cats sleep sixteen hours a day."}])
        client.upload_files(["report.pdf"], metadata={"team": "legal"})
        for hit in client.search("how long do cats rest?", k=3).hits:
            print(hit.doc_id, hit.page, hit.score)

``collection=`` scopes a client's data calls (documents, search, tasks, stats, snapshots) to a collection or
alias; :meth:`SemsearchClient.in_collection` gives another client for another one on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from service.schemas import (
    AliasesOut,
    AliasOut,
    BatchSearchResponse,
    CollectionDeletedOut,
    CollectionOut,
    CollectionsOut,
    CountOut,
    DeleteByFilterResponse,
    DeleteResponse,
    DocumentListOut,
    DocumentOut,
    DocumentSummaryOut,
    FacetOut,
    FieldsOut,
    MetadataFieldOut,
    ReadyOut,
    ReindexOut,
    SearchResponse,
    SnapshotOut,
    StatsOut,
    TaskOut,
    UpdateByFilterResponse,
    UpsertResponse,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_TIMEOUT = 60.0
# Uploads embed before they answer: a large one can take minutes on a CPU.
UPLOAD_TIMEOUT = 600.0

FileInput = str | os.PathLike[str] | tuple[str, bytes]


# -- errors -------------------------------------------------------------------------------------------


class SemsearchAPIError(Exception):
    """An error answer from the service: ``status``, the server's ``detail`` (a sentence, or pydantic's
    list of problems for a malformed request), and the whole JSON ``body``."""

    def __init__(self, status: int, detail: Any, body: Any = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.body = body


class AuthenticationError(SemsearchAPIError):
    """401 or 403: no key, or the wrong one (a read key used to write, say)."""


class NotFoundError(SemsearchAPIError):
    """404: no such document, task, collection or alias."""


class ConflictError(SemsearchAPIError):
    """409: a collection exists with other settings, an alias points to it, or the service is read-only."""


class PayloadTooLargeError(SemsearchAPIError):
    """413: the request or one of its files is over a limit."""


class UnsupportedFileError(SemsearchAPIError):
    """415: a file of a type the service does not read."""


class InvalidRequestError(SemsearchAPIError):
    """422: the request is not valid (a bad filter, an unreadable file, an empty text); nothing changed."""


class RateLimitedError(SemsearchAPIError):
    """429: too many uploads at once, or the ingest queue is full; retry after ``retry_after`` seconds."""

    retry_after: float | None = None


class ServiceUnavailableError(SemsearchAPIError):
    """503: still loading, a search over its time limit, a shard down, or the index's database locked or
    failing; retry later."""

    retry_after: float | None = None


class InsufficientStorageError(SemsearchAPIError):
    """507: the disk that holds the index is full; nothing changed. Send the request again once an
    operator has freed space."""


class TaskFailedError(SemsearchAPIError):
    """A background upload ended ``failed``; ``task`` holds it."""

    def __init__(self, task: TaskOut) -> None:
        super().__init__(200, task.error or "the task failed", task.model_dump())
        self.task = task


_ERRORS: dict[int, type[SemsearchAPIError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedFileError,
    422: InvalidRequestError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
    507: InsufficientStorageError,
}


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    detail = body.get("detail", body) if isinstance(body, dict) else body
    error = _ERRORS.get(response.status_code, SemsearchAPIError)(response.status_code, detail, body)
    retry = response.headers.get("retry-after")
    if retry is not None and isinstance(error, RateLimitedError | ServiceUnavailableError):
        with contextlib.suppress(ValueError):
            error.retry_after = float(retry)
    raise error


# -- requests, built once for both clients ------------------------------------------------------------


@dataclass(frozen=True)
class _Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: list[tuple[str, tuple[str, bytes]]] | None = None
    data: dict[str, str] | None = None
    timeout: float | None = None
    ok: tuple[int, ...] = ()  # error statuses that are answers for this call


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate(response.json())


def _upserted(response: httpx.Response) -> UpsertResponse | TaskOut:
    if response.status_code == 202:
        return TaskOut.model_validate(response.json())
    return UpsertResponse.model_validate(response.json())


def _segment(value: str) -> str:
    """One path segment: slashes and dots escaped too, so URL normalisation cannot change the path."""
    return quote(value, safe="").replace(".", "%2E")


def _id_path(doc_id: str) -> str:
    # Document routes take the rest of the path as the id: keep its slashes, escape everything else.
    return "/".join(_segment(part) for part in doc_id.split("/"))


def _json_param(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _file(item: FileInput) -> tuple[str, bytes]:
    if isinstance(item, tuple):
        return item
    path = Path(item)
    return path.name, path.read_bytes()


class _Api:
    """The API's calls, for a service and (optionally) one collection."""

    def __init__(self, collection: str | None) -> None:
        self.scope = collection

    def _data(self, path: str) -> str:
        return path if self.scope is None else f"/collections/{_segment(self.scope)}{path}"

    # documents
    def upsert(self, documents: Sequence[Mapping[str, Any] | BaseModel], wait: bool) -> _Call[Any]:
        payload = [d.model_dump() if isinstance(d, BaseModel) else dict(d) for d in documents]
        return _Call(
            "POST",
            self._data("/documents"),
            _upserted,
            params={"wait": str(wait).lower()},
            json={"documents": payload},
            timeout=UPLOAD_TIMEOUT,
        )

    def upload_files(
        self,
        files: Sequence[FileInput],
        metadata: Mapping[str, Any] | None,
        id_prefix: str,
        wait: bool,
        encoding: str | None = None,
        strict: bool = False,
    ) -> _Call[Any]:
        form = {"id_prefix": id_prefix}
        if metadata is not None:
            form["metadata"] = json.dumps(metadata, ensure_ascii=False)
        if encoding is not None:
            form["encoding"] = encoding
        if strict:
            form["strict"] = "true"
        return _Call(
            "POST",
            self._data("/documents/files"),
            _upserted,
            params={"wait": str(wait).lower()},
            files=[("files", _file(item)) for item in files],
            data=form,
            timeout=UPLOAD_TIMEOUT,
        )

    def get_document(self, doc_id: str) -> _Call[DocumentOut]:
        return _Call("GET", self._data(f"/documents/{_id_path(doc_id)}"), _model(DocumentOut))

    def list_documents(
        self, after: str | None, limit: int, filter: Mapping[str, Any] | None, include_text: bool
    ) -> _Call[DocumentListOut]:
        params = {
            "after": after,
            "limit": limit,
            "filter": _json_param(filter),
            "include_text": "true" if include_text else None,
        }
        return _Call(
            "GET",
            self._data("/documents"),
            _model(DocumentListOut),
            params={k: v for k, v in params.items() if v is not None},
        )

    def facets(
        self,
        field: str,
        filter: Mapping[str, Any] | None,
        limit: int,
        order: str = "count",
        offset: int = 0,
        contains: str | None = None,
    ) -> _Call[FacetOut]:
        params = {"field": field, "limit": limit, "order": order, "offset": offset}
        params |= {"filter": _json_param(filter), "contains": contains}
        return _Call(
            "GET",
            self._data("/facets"),
            _model(FacetOut),
            params={k: v for k, v in params.items() if v is not None},
        )

    def count(self, filter: Mapping[str, Any] | None) -> _Call[CountOut]:
        params = {} if filter is None else {"filter": _json_param(filter)}
        return _Call("GET", self._data("/count"), _model(CountOut), params=params)

    def fields(self, filter: Mapping[str, Any] | None, after: str | None, limit: int) -> _Call[FieldsOut]:
        params = {"limit": limit, "after": after, "filter": _json_param(filter)}
        return _Call(
            "GET",
            self._data("/fields"),
            _model(FieldsOut),
            params={k: v for k, v in params.items() if v is not None},
        )

    def delete_document(self, doc_id: str) -> _Call[DeleteResponse]:
        return _Call("DELETE", self._data(f"/documents/{_id_path(doc_id)}"), _model(DeleteResponse))

    def update_metadata(self, doc_id: str, patch: Mapping[str, Any]) -> _Call[DocumentSummaryOut]:
        path = self._data(f"/documents/{_id_path(doc_id)}")
        return _Call("PATCH", path, _model(DocumentSummaryOut), json={"metadata": patch})

    def delete_where(self, filter: Mapping[str, Any]) -> _Call[DeleteByFilterResponse]:
        return _Call(
            "POST", self._data("/documents/delete"), _model(DeleteByFilterResponse), json={"filter": filter}
        )

    def update_where(
        self, filter: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> _Call[UpdateByFilterResponse]:
        body = {"filter": filter, "metadata": patch}
        return _Call("POST", self._data("/documents/update"), _model(UpdateByFilterResponse), json=body)

    def task(self, task_id: str) -> _Call[TaskOut]:
        return _Call("GET", self._data(f"/tasks/{_segment(task_id)}"), _model(TaskOut))

    # search
    def search(self, query: str | None, options: dict[str, Any]) -> _Call[SearchResponse]:
        body = {"query": query, **{k: v for k, v in options.items() if v is not None}}
        return _Call("POST", self._data("/search"), _model(SearchResponse), json=body)

    def search_batch(self, queries: Sequence[Mapping[str, Any]]) -> _Call[BatchSearchResponse]:
        return _Call(
            "POST", self._data("/search/batch"), _model(BatchSearchResponse), json={"queries": list(queries)}
        )

    def stats(self) -> _Call[StatsOut]:
        return _Call("GET", self._data("/stats"), _model(StatsOut))

    def ready(self) -> _Call[ReadyOut]:
        # 503 while loading is an answer here, not an error
        return _Call("GET", "/readyz", _model(ReadyOut), ok=(200, 503))

    def snapshot(self) -> _Call[SnapshotOut]:
        return _Call("POST", self._data("/admin/snapshot"), _model(SnapshotOut), timeout=UPLOAD_TIMEOUT)

    # collections and aliases (not scoped)
    def collections(self) -> _Call[CollectionsOut]:
        return _Call("GET", "/collections", _model(CollectionsOut))

    def collection(self, name: str) -> _Call[CollectionOut]:
        return _Call("GET", f"/collections/{_segment(name)}", _model(CollectionOut))

    def create_collection(self, name: str, settings: Mapping[str, Any] | None) -> _Call[CollectionOut]:
        return _Call(
            "PUT", f"/collections/{_segment(name)}", _model(CollectionOut), json=dict(settings or {})
        )

    def delete_collection(self, name: str, force: bool) -> _Call[CollectionDeletedOut]:
        return _Call(
            "DELETE",
            f"/collections/{_segment(name)}",
            _model(CollectionDeletedOut),
            params={"force": str(force).lower()},
        )

    def reindex(self, name: str, source: str) -> _Call[ReindexOut]:
        return _Call(
            "POST", f"/collections/{_segment(name)}/reindex", _model(ReindexOut), json={"source": source}
        )

    def reindex_status(self, name: str) -> _Call[ReindexOut]:
        return _Call("GET", f"/collections/{_segment(name)}/reindex", _model(ReindexOut))

    def aliases(self) -> _Call[AliasesOut]:
        return _Call("GET", "/aliases", _model(AliasesOut))

    def set_alias(self, alias: str, collection: str) -> _Call[AliasOut]:
        return _Call("PUT", f"/aliases/{_segment(alias)}", _model(AliasOut), json={"collection": collection})

    def delete_alias(self, alias: str) -> _Call[AliasOut]:
        return _Call("DELETE", f"/aliases/{_segment(alias)}", _model(AliasOut))


def _search_options(
    *,
    k: int,
    offset: int,
    mode: str | None,
    filter: Mapping[str, Any] | None,
    group_by: str | None,
    min_score: float | None,
    like: Mapping[str, Any] | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "k": k,
        "offset": offset,
        "mode": mode,
        "filter": None if filter is None else dict(filter),
        "group_by": group_by,
        "min_score": min_score,
        "like": None if like is None else dict(like),
        **extra,
    }


def _headers(api_key: str | None) -> dict[str, str]:
    return {} if api_key is None else {"Authorization": f"Bearer {api_key}"}


def _finished(task: TaskOut) -> bool:
    if task.status == "failed":
        raise TaskFailedError(task)
    return task.status == "done"


# -- the clients ---------------------------------------------------------------------------------------


class SemsearchClient:
    """A blocking client. ``url`` is the service's base URL; ``api_key`` is sent as a Bearer token (the
    write key can read too); ``collection`` scopes data calls to a collection or alias."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        collection: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._http = http or httpx.Client(
            base_url=url.rstrip("/"), headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._owns = http is None
        self._api = _Api(collection)
        self.collection = collection

    def in_collection(self, collection: str | None) -> SemsearchClient:
        """A client for ``collection`` on this one's connection (closing it leaves the connection open)."""
        return SemsearchClient("", collection=collection, http=self._http)

    def _run(self, call: _Call[T]) -> T:
        response = self._http.request(
            call.method,
            call.path,
            params=call.params or None,
            json=call.json,
            files=call.files,
            data=call.data,
            timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        if response.status_code not in call.ok:
            _raise_for(response)
        return call.parse(response)

    def close(self) -> None:
        if self._owns:
            self._http.close()

    def __enter__(self) -> SemsearchClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # documents
    def upsert(
        self, documents: Sequence[Mapping[str, Any] | BaseModel], *, wait: bool = True
    ) -> UpsertResponse | TaskOut:
        """Add or replace documents (``{"id", "text", "title"?, "metadata"?}``), all or none. With
        ``wait=False`` the answer is a :class:`TaskOut`; :meth:`wait_for_task` follows it."""
        result: UpsertResponse | TaskOut = self._run(self._api.upsert(documents, wait))
        return result

    def upload_files(
        self,
        files: Sequence[FileInput],
        *,
        metadata: Mapping[str, Any] | None = None,
        id_prefix: str = "",
        wait: bool = True,
        encoding: str | None = None,
        strict: bool = False,
    ) -> UpsertResponse | TaskOut:
        """Index files (paths, or ``(name, bytes)``): PDF, DOCX, PPTX, XLSX, DOC, XLS, ODT, ODS, ODP, RTF,
        LaTeX, CSV, EPUB, HTML, e-mail (.eml), Jupyter notebooks (.ipynb), transcripts (.vtt, .srt), Markdown,
        text, ZIP archives of them (each file in one a document) and mailboxes (.mbox, a document a
        message). ``encoding`` (``"windows-1252"``,
        say) reads text files that are not UTF-8 and do not say their own encoding; without it they are
        refused. All or none: one unreadable file raises and writes nothing (its ``body["files"]`` says
        why); a file in an archive that cannot be read is passed over and listed in the answer's
        ``skipped``, unless ``strict``."""
        call = self._api.upload_files(files, metadata, id_prefix, wait, encoding, strict)
        result: UpsertResponse | TaskOut = self._run(call)
        return result

    def get_document(self, doc_id: str) -> DocumentOut:
        return self._run(self._api.get_document(doc_id))

    def list_documents(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        filter: Mapping[str, Any] | None = None,
        include_text: bool = False,
    ) -> DocumentListOut:
        return self._run(self._api.list_documents(after, limit, filter, include_text))

    def iter_documents(
        self, *, filter: Mapping[str, Any] | None = None, page_size: int = 500, include_text: bool = False
    ) -> Iterator[DocumentSummaryOut]:
        """Every document (only those matching ``filter`` if given), in id order, a page at a time; with
        ``include_text``, each with its text (an export)."""
        after: str | None = None
        while True:
            page = self.list_documents(after=after, limit=page_size, filter=filter, include_text=include_text)
            yield from page.documents
            if page.next is None:
                return
            after = page.next

    def facets(
        self,
        field: str,
        *,
        filter: Mapping[str, Any] | None = None,
        limit: int = 100,
        order: Literal["count", "value"] = "count",
        offset: int = 0,
        contains: str | None = None,
    ) -> FacetOut:
        """The values of the metadata key ``field`` with how many documents hold each, most first or in
        value order (over the documents matching ``filter`` if given), ``offset`` skipped and at most
        ``limit``, only strings holding ``contains`` (case aside) if given; ``distinct`` counts them all,
        ``min`` and ``max`` are the least and greatest number among them."""
        return self._run(self._api.facets(field, filter, limit, order, offset, contains))

    def count(self, filter: Mapping[str, Any] | None = None) -> int:
        """How many documents match ``filter`` (all of them without one), counted by the service."""
        return self._run(self._api.count(filter)).count

    def fields(
        self, *, filter: Mapping[str, Any] | None = None, after: str | None = None, limit: int = 1000
    ) -> FieldsOut:
        """The top-level metadata keys of the documents (those matching ``filter`` if given), in name order,
        the ``limit`` after ``after``: how many documents hold each, by JSON type; ``next`` asks for more."""
        return self._run(self._api.fields(filter, after, limit))

    def iter_fields(
        self, *, filter: Mapping[str, Any] | None = None, page_size: int = 10_000
    ) -> Iterator[MetadataFieldOut]:
        """Every metadata key (of the documents matching ``filter`` if given), in name order, a page at a
        time (10,000 keys, the most a page holds, by default)."""
        after: str | None = None
        while True:
            page = self.fields(filter=filter, after=after, limit=page_size)
            yield from page.fields
            if page.next is None:
                return
            after = page.next

    def delete_document(self, doc_id: str) -> DeleteResponse:
        return self._run(self._api.delete_document(doc_id))

    def update_metadata(self, doc_id: str, patch: Mapping[str, Any]) -> DocumentSummaryOut:
        """Change a document's metadata by a JSON Merge Patch (keys set, objects merged, a None removing a
        key), without sending its text; nothing is embedded again."""
        return self._run(self._api.update_metadata(doc_id, patch))

    def delete_where(self, filter: Mapping[str, Any]) -> DeleteByFilterResponse:
        return self._run(self._api.delete_where(filter))

    def update_where(self, filter: Mapping[str, Any], patch: Mapping[str, Any]) -> UpdateByFilterResponse:
        """Change the metadata of every document matching ``filter`` by a JSON Merge Patch, in one
        transaction: all of them, or none if the patch would make any one's metadata invalid."""
        return self._run(self._api.update_where(filter, patch))

    def task(self, task_id: str) -> TaskOut:
        return self._run(self._api.task(task_id))

    def wait_for_task(self, task_id: str, *, timeout: float = 600.0, interval: float = 0.25) -> TaskOut:
        """Poll a background upload until it is done (returned) or failed (:class:`TaskFailedError`);
        :class:`TimeoutError` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if _finished(task):
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} is still {task.status} after {timeout} s")
            time.sleep(interval)

    # search
    def search(
        self,
        query: str | None = None,
        *,
        k: int = 10,
        offset: int = 0,
        mode: str | None = None,
        filter: Mapping[str, Any] | None = None,
        group_by: str | None = None,
        min_score: float | None = None,
        like: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> SearchResponse:
        """The best chunks for ``query`` (or ``like={"id"|"chunk"|"text": ...}``); ``extra`` passes the
        other fields of the search body (``fusion``, ``weight``, ``exact``...)."""
        options = _search_options(
            k=k, offset=offset, mode=mode, filter=filter, group_by=group_by, min_score=min_score, like=like,
            extra=extra,
        )  # fmt: skip
        return self._run(self._api.search(query, options))

    def search_batch(self, queries: Sequence[Mapping[str, Any]]) -> BatchSearchResponse:
        return self._run(self._api.search_batch(queries))

    def stats(self) -> StatsOut:
        return self._run(self._api.stats())

    def ready(self) -> ReadyOut:
        """``/readyz``: ``status`` is ready, loading or failed (never raised)."""
        return self._run(self._api.ready())

    def snapshot(self) -> SnapshotOut:
        return self._run(self._api.snapshot())

    # collections and aliases
    def collections(self) -> CollectionsOut:
        return self._run(self._api.collections())

    def collection_info(self, name: str) -> CollectionOut:
        return self._run(self._api.collection(name))

    def create_collection(self, name: str, settings: Mapping[str, Any] | None = None) -> CollectionOut:
        return self._run(self._api.create_collection(name, settings))

    def delete_collection(self, name: str, *, force: bool = False) -> CollectionDeletedOut:
        return self._run(self._api.delete_collection(name, force))

    def reindex(self, name: str, *, source: str) -> ReindexOut:
        return self._run(self._api.reindex(name, source))

    def reindex_status(self, name: str) -> ReindexOut:
        return self._run(self._api.reindex_status(name))

    def aliases(self) -> AliasesOut:
        return self._run(self._api.aliases())

    def set_alias(self, alias: str, collection: str) -> AliasOut:
        return self._run(self._api.set_alias(alias, collection))

    def delete_alias(self, alias: str) -> AliasOut:
        return self._run(self._api.delete_alias(alias))


class AsyncSemsearchClient:
    """The same calls as :class:`SemsearchClient`, awaitable (httpx.AsyncClient)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        collection: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = http or httpx.AsyncClient(
            base_url=url.rstrip("/"), headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._owns = http is None
        self._api = _Api(collection)
        self.collection = collection

    def in_collection(self, collection: str | None) -> AsyncSemsearchClient:
        return AsyncSemsearchClient("", collection=collection, http=self._http)

    async def _run(self, call: _Call[T]) -> T:
        response = await self._http.request(
            call.method,
            call.path,
            params=call.params or None,
            json=call.json,
            files=call.files,
            data=call.data,
            timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        if response.status_code not in call.ok:
            _raise_for(response)
        return call.parse(response)

    async def aclose(self) -> None:
        if self._owns:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncSemsearchClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def upsert(
        self, documents: Sequence[Mapping[str, Any] | BaseModel], *, wait: bool = True
    ) -> UpsertResponse | TaskOut:
        result: UpsertResponse | TaskOut = await self._run(self._api.upsert(documents, wait))
        return result

    async def upload_files(
        self,
        files: Sequence[FileInput],
        *,
        metadata: Mapping[str, Any] | None = None,
        id_prefix: str = "",
        wait: bool = True,
        encoding: str | None = None,
        strict: bool = False,
    ) -> UpsertResponse | TaskOut:
        call = self._api.upload_files(files, metadata, id_prefix, wait, encoding, strict)
        result: UpsertResponse | TaskOut = await self._run(call)
        return result

    async def get_document(self, doc_id: str) -> DocumentOut:
        return await self._run(self._api.get_document(doc_id))

    async def list_documents(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        filter: Mapping[str, Any] | None = None,
        include_text: bool = False,
    ) -> DocumentListOut:
        return await self._run(self._api.list_documents(after, limit, filter, include_text))

    async def facets(
        self,
        field: str,
        *,
        filter: Mapping[str, Any] | None = None,
        limit: int = 100,
        order: Literal["count", "value"] = "count",
        offset: int = 0,
        contains: str | None = None,
    ) -> FacetOut:
        return await self._run(self._api.facets(field, filter, limit, order, offset, contains))

    async def count(self, filter: Mapping[str, Any] | None = None) -> int:
        return (await self._run(self._api.count(filter))).count

    async def fields(
        self, *, filter: Mapping[str, Any] | None = None, after: str | None = None, limit: int = 1000
    ) -> FieldsOut:
        return await self._run(self._api.fields(filter, after, limit))

    async def delete_document(self, doc_id: str) -> DeleteResponse:
        return await self._run(self._api.delete_document(doc_id))

    async def update_metadata(self, doc_id: str, patch: Mapping[str, Any]) -> DocumentSummaryOut:
        return await self._run(self._api.update_metadata(doc_id, patch))

    async def delete_where(self, filter: Mapping[str, Any]) -> DeleteByFilterResponse:
        return await self._run(self._api.delete_where(filter))

    async def update_where(
        self, filter: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> UpdateByFilterResponse:
        return await self._run(self._api.update_where(filter, patch))

    async def task(self, task_id: str) -> TaskOut:
        return await self._run(self._api.task(task_id))

    async def wait_for_task(self, task_id: str, *, timeout: float = 600.0, interval: float = 0.25) -> TaskOut:
        deadline = time.monotonic() + timeout
        while True:
            task = await self.task(task_id)
            if _finished(task):
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} is still {task.status} after {timeout} s")
            await asyncio.sleep(interval)

    async def search(
        self,
        query: str | None = None,
        *,
        k: int = 10,
        offset: int = 0,
        mode: str | None = None,
        filter: Mapping[str, Any] | None = None,
        group_by: str | None = None,
        min_score: float | None = None,
        like: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> SearchResponse:
        options = _search_options(
            k=k, offset=offset, mode=mode, filter=filter, group_by=group_by, min_score=min_score, like=like,
            extra=extra,
        )  # fmt: skip
        return await self._run(self._api.search(query, options))

    async def search_batch(self, queries: Sequence[Mapping[str, Any]]) -> BatchSearchResponse:
        return await self._run(self._api.search_batch(queries))

    async def stats(self) -> StatsOut:
        return await self._run(self._api.stats())

    async def ready(self) -> ReadyOut:
        return await self._run(self._api.ready())

    async def snapshot(self) -> SnapshotOut:
        return await self._run(self._api.snapshot())

    async def collections(self) -> CollectionsOut:
        return await self._run(self._api.collections())

    async def collection_info(self, name: str) -> CollectionOut:
        return await self._run(self._api.collection(name))

    async def create_collection(self, name: str, settings: Mapping[str, Any] | None = None) -> CollectionOut:
        return await self._run(self._api.create_collection(name, settings))

    async def delete_collection(self, name: str, *, force: bool = False) -> CollectionDeletedOut:
        return await self._run(self._api.delete_collection(name, force))

    async def reindex(self, name: str, *, source: str) -> ReindexOut:
        return await self._run(self._api.reindex(name, source))

    async def reindex_status(self, name: str) -> ReindexOut:
        return await self._run(self._api.reindex_status(name))

    async def aliases(self) -> AliasesOut:
        return await self._run(self._api.aliases())

    async def set_alias(self, alias: str, collection: str) -> AliasOut:
        return await self._run(self._api.set_alias(alias, collection))

    async def delete_alias(self, alias: str) -> AliasOut:
        return await self._run(self._api.delete_alias(alias))


__all__ = [
    "AsyncSemsearchClient",
    "AuthenticationError",
    "ConflictError",
    "InsufficientStorageError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "SemsearchAPIError",
    "SemsearchClient",
    "ServiceUnavailableError",
    "TaskFailedError",
    "UnsupportedFileError",
]
