"""Domain errors of the index library mapped to HTTP status codes. Every body is ``{"detail": "..."}``."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import Match

from index import ChunkNotFoundError, DocumentNotFoundError, InvalidInputError, SemsearchError
from index.collections import CollectionConflictError, CollectionNotFoundError
from index.encoders.base import ModelLoadError
from index.errors import (
    QueryTimeoutError,
    ReadOnlyIndexError,
    ShardUnavailableError,
    UnsupportedOperationError,
)
from index.storage.faults import storage_fault
from index.storage.tasks import IngestBusyError, QueueFullError, TaskNotFoundError
from index.validation import JSON_TOO_DEEP, too_many_digits


class NotReadyError(Exception):
    """The index is still loading (or failed to load)."""


class FilesRejectedError(Exception):
    """Some files of an upload cannot be indexed; nothing was written. ``files`` says why, file by file:
    ``{"file", "status", "detail"}``; ``status`` is the answer's (413, 415 or 422)."""

    def __init__(self, status: int, files: list[dict[str, Any]], total: int) -> None:
        reasons = "; ".join(str(item["detail"]) for item in files)
        super().__init__(f"{len(files)} of {total} files cannot be indexed, so none was: {reasons}")
        self.status = status
        self.files = files


class ModelNotFoundError(SemsearchError, KeyError):
    """``POST /v1/embeddings`` named a model no collection uses."""

    def __init__(self, model: str, known: list[str]) -> None:
        super().__init__(model)
        self.model = model
        self.known = known

    def __str__(self) -> str:
        return f"no collection uses the model {self.model!r}; use one of: {', '.join(self.known)}"


class LimitExceededError(Exception):
    """A request asks for more than a configured limit allows."""

    def __init__(self, what: str, value: int, limit: int, setting: str) -> None:
        super().__init__(f"{what} is {value}, above the limit of {limit} (setting {setting})")


def _validation_detail(error: RequestValidationError, request: Request) -> list[dict[str, Any]]:
    """Pydantic's errors without the offending input: it may be huge, or not even encodable as UTF-8."""
    detail = [
        {key: value for key, value in item.items() if key not in ("input", "url")} for item in error.errors()
    ]
    content_type = request.headers.get("content-type", "")
    for item in detail:
        loc = tuple(item.get("loc", ()))
        if loc[:2] == ("body", "files") and "Expected UploadFile" in str(item.get("msg", "")):
            # A form field where a file belongs: curl -F files=report.pdf, without the @ that sends the file.
            item["msg"] = (
                "a form field, not a file: send each file as a file part (with curl, -F files=@report.pdf: "
                "the @ sends the file, without it curl sends the name as text)"
            )
            item.pop("ctx", None)
    if "json" not in content_type:
        for item in detail:
            if tuple(item.get("loc", ())) == ("body",) and item.get("type") == "model_attributes_type":
                # A JSON body sent without saying so: curl -d sends application/x-www-form-urlencoded.
                item["msg"] = (
                    "the body must be JSON sent with the header content-type: application/json (this "
                    f"request's content-type: {content_type or 'none'!r}; with curl, add "
                    "-H 'content-type: application/json')"
                )
    return detail


def _mark(request: Request, error: Exception) -> None:
    """Name the error for the metrics (``semsearch_errors_total{type=...}``, see service.observability)."""
    request.state.error_type = type(error).__name__


ROUTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAMETER = re.compile(r"\\\{[^/]*?\\\}")  # a {name} of a path template, as re.escape leaves it


def allowed_methods(app: FastAPI, scope: Any) -> list[str]:
    """The methods of the resource at this request's path, as the OpenAPI document describes it: the
    operations of the most specific path template that matches (``/documents/delete`` is its own
    resource, though ``/documents/{doc_id}`` matches it too), or, for a path the document leaves out,
    every method some route answers there. HEAD goes with GET."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root) else path  # behind a proxy's prefix
    paths: dict[str, Any] = app.openapi().get("paths", {})
    templates = [t for t in paths if _template(t).fullmatch(path)]
    if templates:
        best = max(templates, key=lambda t: len(_PARAMETER.sub("", re.escape(t))))
        methods = {m.upper() for m in paths[best]} & set(ROUTED_METHODS)
    else:  # routes are tried rather than read: FastAPI holds an included router as one route of its own
        methods = {
            method
            for method in ROUTED_METHODS
            if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
        }
    if "GET" in methods:
        methods.add("HEAD")  # service.head answers it wherever GET is
    return sorted(methods)


@functools.cache
def _template(template: str) -> re.Pattern[str]:
    """A path template as a pattern; a parameter may span segments (document ids hold slashes)."""
    return re.compile(_PARAMETER.sub(".+", re.escape(template)))


def _too_many_digits(error: BaseException | None) -> bool:
    """Whether ``error`` is Python's refusal of an integer written with more digits than it converts."""
    return type(error) is ValueError and "for integer string conversion" in str(error)


def install_error_handlers(app: FastAPI, max_files: int) -> None:
    """The app's answers to errors; ``max_files``: the files one upload may carry (the app's form limit)."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            # Starlette names the methods of the first route matching the path; a path served by several
            # routes (GET and DELETE /documents/{id}) allows them all.
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        if error.status_code in (204, 304):
            return Response(status_code=error.status_code, headers=headers)
        detail = error.detail
        if isinstance(error.__context__, MultiPartException) and str(detail).startswith("Too many files"):
            # Starlette stops reading an upload at the app's limit on files: said as for the other limits.
            message = f"the number of files is above the limit of {max_files}"
            return JSONResponse(
                {"detail": f"{message} (setting SEMSEARCH_MAX_DOCUMENTS_PER_REQUEST)"}, status_code=422
            )
        if error.status_code == 400 and isinstance(error.__cause__, RecursionError):
            # FastAPI's "There was an error parsing the body" for JSON nested past Python's reader.
            return JSONResponse({"detail": f"the body's JSON {JSON_TOO_DEEP}"}, status_code=422)
        if error.status_code == 400 and _too_many_digits(error.__cause__):
            # FastAPI's "There was an error parsing the body" for an integer past Python's limit on digits.
            return JSONResponse({"detail": f"a number in the body has {too_many_digits()}"}, status_code=422)
        if error.status_code == 400 and isinstance(error.__cause__, UnicodeDecodeError):
            # FastAPI's "There was an error parsing the body" for JSON in Latin-1 or Windows-1252, say.
            detail = (
                f"the body is not UTF-8 text (byte 0x{error.__cause__.object[error.__cause__.start]:02X} at "
                f"{error.__cause__.start}): send JSON in UTF-8"
            )
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, error: RequestValidationError) -> Response:
        _mark(request, error)
        # ensure_ascii: a lone surrogate in the request must not crash the error response.
        body = json.dumps({"detail": _validation_detail(error, request)}, ensure_ascii=True, default=str)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(ValidationError)
    async def model_invalid(request: Request, error: ValidationError) -> Response:
        _mark(request, error)
        # A model built inside a route from request data (say, a GET search's parsed filter): still bad input.
        detail = [{k: v for k, v in item.items() if k not in ("input", "url")} for item in error.errors()]
        body = json.dumps({"detail": detail}, ensure_ascii=True, default=str)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(ModelLoadError)
    @app.exception_handler(InvalidInputError)
    async def invalid_input(request: Request, error: InvalidInputError) -> JSONResponse:
        _mark(request, error)
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(LimitExceededError)
    async def limit_exceeded(request: Request, error: LimitExceededError) -> JSONResponse:
        _mark(request, error)
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(FilesRejectedError)
    async def files_rejected(request: Request, error: FilesRejectedError) -> Response:
        _mark(request, error)
        body = json.dumps({"detail": str(error), "files": error.files}, ensure_ascii=True)
        return Response(body, status_code=error.status, media_type="application/json")

    @app.exception_handler(TaskNotFoundError)
    @app.exception_handler(DocumentNotFoundError)
    @app.exception_handler(ChunkNotFoundError)
    @app.exception_handler(CollectionNotFoundError)
    @app.exception_handler(ModelNotFoundError)
    async def not_found(request: Request, error: SemsearchError) -> JSONResponse:
        _mark(request, error)
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(CollectionConflictError)
    @app.exception_handler(ReadOnlyIndexError)
    @app.exception_handler(UnsupportedOperationError)
    async def read_only(request: Request, error: SemsearchError) -> JSONResponse:
        _mark(request, error)
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(QueueFullError)
    async def queue_full(request: Request, error: QueueFullError) -> JSONResponse:
        _mark(request, error)
        return JSONResponse({"detail": str(error)}, status_code=429, headers={"Retry-After": "5"})

    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(OSError)
    async def storage_failed(request: Request, error: Exception) -> JSONResponse:
        fault = storage_fault(error)
        if fault is None:
            raise error  # not the storage's fault: a bug, answered 500 with the request id
        _mark(request, error)
        detail = f"{fault.message}; the request changed nothing: send it again once that is mended"
        if fault.kind == "full":  # 507 Insufficient Storage (RFC 4918): the operator must free space
            return JSONResponse({"detail": detail}, status_code=507)
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(NotReadyError)
    @app.exception_handler(QueryTimeoutError)
    @app.exception_handler(IngestBusyError)
    @app.exception_handler(ShardUnavailableError)
    async def not_ready(request: Request, error: Exception) -> JSONResponse:
        _mark(request, error)
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})
