"""Plain data passed in and out of the index library.

Every result is a dataclass: it compares with ``==`` in tests and turns into JSON with :func:`to_dict`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

UpsertStatus = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class Document:
    """A document as a client sends it. ``text`` is kept verbatim; chunk offsets index into it."""

    id: str
    text: str
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    """One chunk as the chunker cuts it: ``text == document_text[start:end]``."""

    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as stored. ``chunk_id`` is the FAISS id and is never reused, even after deletion."""

    chunk_id: int
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A stored document with its chunks in order."""

    id: str
    text: str
    title: str | None
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    chunks: list[StoredChunk]


@dataclass(frozen=True, slots=True)
class Hit:
    """One search hit: a chunk, its score (cosine similarity) and its document's title and metadata.

    ``start``/``end`` are character offsets of the chunk in the original document text.
    """

    doc_id: str
    chunk_id: int
    ordinal: int
    score: float
    text: str
    title: str | None
    metadata: dict[str, Any]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One query: return hits ``offset .. offset+k`` of the ranking, dropping those below ``min_score``."""

    query: str
    k: int = 10
    offset: int = 0
    min_score: float | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[Hit]
    took_ms: float


@dataclass(frozen=True, slots=True)
class UpsertResult:
    id: str
    status: UpsertStatus
    chunks: int


@dataclass(frozen=True, slots=True)
class IndexStats:
    documents: int
    chunks: int
    model_id: str
    dimension: int
    index_type: str
    data_dir: Path


def to_dict(value: Any) -> dict[str, Any]:
    """A JSON-ready dict of one of the dataclasses above (paths become strings)."""
    raw = dataclasses.asdict(value)
    return {key: str(item) if isinstance(item, Path) else item for key, item in raw.items()}
