"""Query parameters more than one route reads."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Query

from index.errors import InvalidInputError

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
    try:
        parsed = None if raw is None else json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"filter is not valid JSON: {error.msg} at position {error.pos}") from error
    except (ValueError, RecursionError) as error:  # a number of over 4,300 digits; nesting past the stack
        raise InvalidInputError(f"filter cannot be read: {str(error)[:200]}") from error
    if parsed is not None and not isinstance(parsed, dict):
        raise InvalidInputError('filter must be a JSON object, like {"field": "lang", "eq": "en"}')
    return parsed
