"""Query parameters more than one route reads."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Query

from index.errors import InvalidInputError

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
