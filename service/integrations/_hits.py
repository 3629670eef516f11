"""What both retrievers make of a hit: its passage, and metadata saying where it comes from."""

from __future__ import annotations

from typing import Any

from service.schemas import HitOut


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
