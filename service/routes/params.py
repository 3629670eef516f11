"""Query parameters more than one route reads."""

from __future__ import annotations

import difflib
import re
import urllib.parse
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request

from index.errors import InvalidInputError
from index.validation import parse_json

# The longest query a GET takes: a request line holds 64 KB in uvicorn (a longer one gets a bare 400), and
# 4,000 characters percent-encode to 48 KB at most (12 bytes for a character of four UTF-8 bytes), leaving
# room for the other parameters. Longer queries go by POST, up to SEMSEARCH_MAX_QUERY_CHARS.
GET_QUERY_CHARS = 4_000


def check_get_query(query: str | None, max_query_chars: int) -> None:
    """:class:`InvalidInputError` (422) for a query too long for a URL that a POST would take."""
    if query is not None and GET_QUERY_CHARS < len(query) <= max_query_chars:
        raise InvalidInputError(
            f"the query length is {len(query)}, above the {GET_QUERY_CHARS} characters a GET takes (a URL "
            f"holds 64 KB): send it by POST, which takes up to {max_query_chars}"
        )


FilterQuery = Annotated[
    str | None,
    Query(
        description="Metadata filter as JSON (see docs/api.md).",
        examples=['{"field": "lang", "eq": "en"}'],
    ),
]


def parse_filter(raw: str | None) -> dict[str, Any] | None:
    """A filter sent as JSON in a query parameter, or :class:`InvalidInputError` saying what is wrong."""
    parsed = None if raw is None else parse_json(raw, "filter")
    if parsed is not None and not isinstance(parsed, dict):
        raise InvalidInputError('filter must be a JSON object, like {"field": "lang", "eq": "en"}')
    return parsed


async def refuse_unknown_query(request: Request) -> None:
    """:class:`InvalidInputError` (422) for a query parameter the route does not take: ``?kk=3`` or
    ``?top_k=3`` was ignored, and the search answered with 10 hits as if nothing had been asked (request
    bodies already refuse unknown fields). Also for a parameter of one value given several times
    (``?q=tides&q=wind`` searched for one of them). The route's parameters are the OpenAPI document's, so
    the contract and the check cannot differ. Routes outside that document (the page, the API docs) are
    not checked."""
    route = request.scope.get("route")
    if not request.query_params or route is None:
        return
    if any("\ufffd" in name or "\ufffd" in value for name, value in request.query_params.multi_items()):
        _check_utf8(request.scope["query_string"])
    method = "get" if request.method == "HEAD" else request.method.lower()
    path = re.sub(r"\{(\w+):\w+\}", r"{\1}", getattr(route, "path", ""))  # {doc_id:path} is {doc_id} there
    taken = _query_parameters(request.app, path, method)
    if taken is None:
        return
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in taken]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(taken), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listed = ", ".join(sorted(taken)) or "none"
        raise InvalidInputError(
            f"{request.method} {path} takes no query parameter {name!r}{hint}; it takes: {listed}"
        )
    for name in dict.fromkeys(request.query_params):  # only those given: most requests give one or two
        given = len(request.query_params.getlist(name))
        if given > 1 and not taken[name]:
            raise InvalidInputError(
                f"{request.method} {path} takes one value of the query parameter {name!r}, got {given}"
            )


def _check_utf8(query_string: bytes) -> None:
    """:class:`InvalidInputError` (422) for a query string whose percent-escapes are not UTF-8
    (``?q=caf%E9``, Latin-1): they were read as U+FFFD, and the search ran for a word nobody sent."""
    for part in query_string.split(b"&"):
        raw = urllib.parse.unquote_to_bytes(part.replace(b"+", b" "))
        try:
            raw.decode()
        except UnicodeDecodeError as error:
            name = raw.partition(b"=")[0].decode(errors="replace")
            raise InvalidInputError(
                f"the query parameter {name[:40]!r} is not UTF-8 (byte 0x{raw[error.start]:02X}): "
                "percent-encode text as UTF-8 (%C3%A9 for \u00e9)"
            ) from None


def _query_parameters(app: FastAPI, path: str, method: str) -> dict[str, bool] | None:
    """The query parameters that the OpenAPI document gives the operation, each with whether it takes a
    list (may be repeated), or None if it has no such operation (read from the document once per app)."""
    known: dict[tuple[str, str], dict[str, bool]] | None = getattr(app.state, "query_parameters", None)
    if known is None:
        paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
        known = {
            (path, method): {
                p["name"]: _takes_list(p.get("schema", {}))
                for p in operation.get("parameters", [])
                if p.get("in") == "query"
            }
            for path, operations in paths.items()
            for method, operation in operations.items()
            if isinstance(operation, dict)
        }
        app.state.query_parameters = known
    return known.get((path, method))


def _takes_list(schema: dict[str, Any]) -> bool:
    """Whether an OpenAPI schema is an array, or may be one (``list[str] | None`` is an anyOf)."""
    alternatives = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
    return schema.get("type") == "array" or any(_takes_list(alternative) for alternative in alternatives)
