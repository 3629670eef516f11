"""What both frameworks' retrievers make of a hit (its passage, and metadata saying where it comes from), and
metadata from them as JSON."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

from index.retrieval import filters
from service.schemas import HitOut

# A filter every document matches ("meta" stands for any key: it exists or it does not), for a framework's
# "everything" (the service's writes by filter take no empty filter, so that none is sent by mistake).
EITHER_WAY: list[dict[str, Any]] = [{"field": "meta", "exists": True}, {"field": "meta", "exists": False}]
EVERY_DOCUMENT: dict[str, Any] = {"should": EITHER_WAY}


def hit_metadata(hit: HitOut) -> dict[str, Any]:
    """The document's own metadata, then where the passage comes from (these keys win a clash):
    ``doc_id``, ``chunk_id``, ``title``, ``score``, ``start``, ``end`` (character offsets in the document)
    and ``page`` (paged documents; else None)."""
    return {
        **hit.metadata,
        "doc_id": hit.doc_id,
        "chunk_id": hit.chunk_id,
        "title": hit.title,
        "score": hit.score,
        "start": hit.start,
        "end": hit.end,
        "page": hit.page,
    }


def field_path(keys: Sequence[str]) -> str:
    """A framework's metadata key as a semsearch field path (docs/api.md), outermost key first: a key of
    other characters than letters, digits, "_" and "-" (a space, a dot of its own) goes in double quotes.
    ValueError for a key no path names (one holding a double quote, a backslash or a control character)."""
    path = filters.field_path(keys)
    if path is None:
        raise ValueError(f"semsearch's filters cannot name the metadata key {'.'.join(keys)!r}")
    return path


def or_missing(field: str, operator: str, value: Any) -> dict[str, Any]:
    """A semsearch filter clause ``{"field": field, operator: value}`` that also matches documents without
    the field: how the frameworks' filters read null (a missing field is null to them)."""
    return {"should": [{"field": field, "exists": False}, {"field": field, operator: value}]}


def metadata_title(metadata: dict[str, Any]) -> str | None:
    """A text's title, from its metadata (so that a hit's ``title`` key gives it back, not None)."""
    title = metadata.get("title")
    return title if isinstance(title, str) and title.strip() else None


def json_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` as JSON: LangChain's loaders put dates and paths in it, which become ISO and plain text
    (a filter compares ISO dates as dates)."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime.date | datetime.time):
            return value.isoformat()
        if isinstance(value, set | frozenset):
            return list(value)
        return str(value)

    converted: dict[str, Any] = json.loads(json.dumps(metadata, default=default))
    return converted
