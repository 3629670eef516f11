"""The OpenAPI document, telling the truth: clients are generated from it, and schemathesis holds us to it.

FastAPI derives the document from the models, which cannot know the service's configured limits nor every
error it answers. This adds them:

- the limits of the settings, as JSON Schema bounds: ``k`` and ``offset`` of searches, ``candidates``, the
  length of a query, the documents of an upload and the length of their text, the queries of a batch;
- every 422 as :class:`~service.schemas.InvalidOut` (a sentence from the index, or pydantic's list of
  problems for a malformed request), never FastAPI's list-only default;
- 413 and 429 where the body-size and upload-concurrency limits answer them; 400 and 415 for bodies that
  are not what their Content-Encoding says or are in one the service does not read;
- 507 on every write, for a full disk (:mod:`index.storage.faults`; a locked or failing disk is a 503).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from index.collections import NAME_PATTERN
from service.routes.params import GET_QUERY_CHARS
from service.settings import Settings

_INVALID = {"$ref": "#/components/schemas/InvalidOut"}
_ERROR = {"$ref": "#/components/schemas/ErrorOut"}
_UPLOADS = ("/documents", "/documents/files", "/embeddings")


def install(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` return the document with the limits of ``settings`` stated."""
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not built:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            built.update(truthful(document, settings))
        return built

    app.openapi = openapi  # type: ignore[method-assign]


def truthful(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    bound = _bounder(schemas)
    bound("SearchBody", "k", maximum=settings.max_k)
    bound("SearchBody", "offset", maximum=settings.max_offset)
    bound("SearchBody", "candidates", maximum=settings.max_k * 10)
    bound("SearchBody", "diversity_pool", maximum=settings.max_k)
    bound("SearchBody", "query", maxLength=settings.max_query_chars)
    bound("UpsertRequest", "documents", maxItems=settings.max_documents_per_request)
    bound("DocumentIn", "text", maxLength=settings.max_text_chars)
    bound("BatchSearchBody", "queries", maxItems=settings.max_batch_queries)
    _exactly_one(
        schemas, "SearchBody", {"query": {"type": "string", "pattern": r"\S"}, "like": {"type": "object"}}
    )
    _exactly_one(
        schemas,
        "LikeIn",
        {
            "id": {"type": "string"},
            "chunk": {"type": "integer"},
            "text": {"type": "string", "pattern": r"\S"},
        },
    )
    for model, field in (("DeleteByFilterBody", "filter"), ("SearchBody", "filter")):
        bound_object = schemas.get(model, {}).get("properties", {}).get(field)
        if bound_object is not None:
            _narrow(bound_object, {"minProperties": 1}, types=("object",))
    for model, field in (("AliasIn", "collection"), ("ReindexIn", "source")):
        named = schemas.get(model, {}).get("properties", {}).get(field)
        if named is not None:
            named["pattern"] = f"^{NAME_PATTERN}$"
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if path.startswith("/collections/{collection}/"):
                _declare_collection(operation)
            _parameters(operation, settings, searches=path.endswith("/search"))
            responses = operation.setdefault("responses", {})
            if "422" in responses or operation.get("parameters") or operation.get("requestBody"):
                described = responses.get("422", {}).get("description", "Invalid input; nothing changed.")
                responses["422"] = {
                    "description": described,
                    "content": {"application/json": {"schema": _INVALID}},
                }
            if method in ("post", "put", "patch") and operation.get("requestBody"):
                responses.setdefault("413", _response("The request body is over a size limit.", _ERROR))
                responses.setdefault(
                    "400", _response("The body is not valid JSON (or form data, or gzip or deflate).", _ERROR)
                )
                responses.setdefault(
                    "415", _response("The body's Content-Encoding is not gzip, deflate or none.", _ERROR)
                )
            if method == "post" and path.rstrip("/").endswith(
                ("/documents", "/documents/files", "/embeddings")
            ):
                responses.setdefault("429", _response("Too many uploads at once; retry shortly.", _ERROR))
            if method in ("post", "put", "patch", "delete"):
                responses.setdefault(
                    "507", _response("The disk that holds the index is full; nothing changed.", _ERROR)
                )
    return document


def _declare_collection(operation: dict[str, Any]) -> None:
    """The ``{collection}`` of the routes served under a collection (a dependency reads it, so FastAPI does
    not declare it)."""
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name") == "collection" and p.get("in") == "path" for p in parameters):
        parameters.insert(
            0,
            {
                "name": "collection",
                "in": "path",
                "required": True,
                "description": "A collection, or an alias of one.",
                "schema": {"type": "string"},
            },
        )


def _parameters(operation: dict[str, Any], settings: Settings, *, searches: bool) -> None:
    """The settings' limits on a search's query parameters (``offset`` of GET /facets is another one), and
    the pattern of a collection name in a path."""
    limits = {
        "k": {"maximum": settings.max_k},
        "offset": {"maximum": settings.max_offset},
        "diversity_pool": {"maximum": settings.max_k},
        "q": {"maxLength": min(settings.max_query_chars, GET_QUERY_CHARS)},
    }
    limits = limits if searches else {}
    for parameter in operation.get("parameters", []):
        extra = limits.get(parameter.get("name", "")) if parameter.get("in") == "query" else None
        if extra:
            _narrow(parameter.get("schema", {}), extra)
        if parameter.get("in") == "path" and parameter.get("name") in ("collection", "name", "alias"):
            parameter.setdefault("schema", {})["pattern"] = f"^{NAME_PATTERN}$"


def _bounder(schemas: dict[str, Any]) -> Callable[..., None]:
    def bound(model: str, field: str, **limits: int) -> None:
        properties = schemas.get(model, {}).get("properties", {})
        if field in properties:
            _narrow(properties[field], limits)

    return bound


def _exactly_one(schemas: dict[str, Any], model: str, fields: dict[str, dict[str, Any]]) -> None:
    """``model`` takes exactly one of ``fields`` (given, and of the type shown); the others absent or null."""
    if model in schemas:
        schemas[model]["oneOf"] = [
            {"required": [name], "properties": {name: schema}} for name, schema in fields.items()
        ]


def _narrow(schema: dict[str, Any], limits: dict[str, int], types: tuple[str, ...] = ()) -> None:
    """Add ``limits`` to ``schema``, or to the non-null branches of an ``anyOf`` (an optional field)."""
    branches = schema.get("anyOf")
    targets = [b for b in branches if b.get("type") != "null"] if branches else [schema]
    if types:
        targets = [t for t in targets if t.get("type") in types or "type" not in t]
    for target in targets:
        for key, value in limits.items():
            current = target.get(key)
            target[key] = value if current is None else min(current, value)


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
