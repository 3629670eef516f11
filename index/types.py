"""Plain data passed in and out of the index library.

Every result is a dataclass: it compares with ``==`` in tests and turns into JSON with :func:`to_dict`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

UpsertStatus = Literal["created", "updated", "unchanged"]
SearchMode = Literal["dense", "keyword", "hybrid"]
Fusion = Literal["rrf", "blend"]
GroupBy = Literal["chunk", "document"]
Duplicates = Literal["collapse", "keep"]


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
    page: int | None = None  # for paged documents (PDF, slides): the 1-based page the chunk starts on
    page_end: int | None = None  # ... and the one it ends on


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
class DocumentSummary:
    """A document in a listing: who it is and where it came from; its text only where asked for."""

    id: str
    title: str | None
    metadata: dict[str, Any]
    chunks: int
    updated_at: float
    text: str | None = None


@dataclass(frozen=True, slots=True)
class MetadataUpdate:
    """What an update by filter did: how many documents the filter matched, and the ids of those whose
    metadata it changed (in id order; a patch that leaves a document as it was changes nothing)."""

    matched: int
    updated: list[str]


@dataclass(frozen=True, slots=True)
class FacetCount:
    """One value of a metadata field and how many documents hold it."""

    value: str | int | float | bool
    count: int


@dataclass(frozen=True, slots=True)
class Facet:
    """A metadata field's values over the documents (those a filter keeps), the most held first (or in
    value order): ``values`` the page asked for, ``distinct`` how many different values there are in all
    (strings holding the search term, if one was given), ``min`` and ``max`` the least and greatest number
    among all the values (None if none is a number)."""

    field: str
    values: list[FacetCount]
    distinct: int
    min: int | float | None = None
    max: int | float | None = None


FacetValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class MetadataField:
    """A top-level metadata key: how many documents hold it, and how many of those hold each JSON type
    (``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object``, ``null``)."""

    name: str
    documents: int
    types: dict[str, int]


def tally_fields(rows: Iterable[tuple[str, str, int]]) -> list[MetadataField]:
    """Metadata keys from ``(key, JSON type, documents)`` rows, the counts of a key's rows of one type
    added up (a store's true and false rows, or shards' pages), in the order the keys first come."""
    counted: dict[str, dict[str, int]] = {}
    for name, kind, n in rows:
        types = counted.setdefault(name, {})
        types[kind] = types.get(kind, 0) + n
    return [MetadataField(name, sum(types.values()), types) for name, types in counted.items()]


@dataclass(frozen=True, slots=True)
class MetadataFields:
    """A page of the metadata keys the documents hold, in name order (code point order); ``next``: the
    name to ask for the next page after, None on the last page."""

    fields: list[MetadataField]
    next: str | None


# How facet values are ordered: most held first, or by value (numbers, then strings, then false and true).
FacetOrder = Literal["count", "value"]


@dataclass(frozen=True, slots=True)
class FacetRows:
    """A store's facet values and counts (a page of them, or all), with :class:`Facet`'s other figures."""

    values: list[tuple[FacetValue, int]]
    distinct: int
    min: int | float | None
    max: int | float | None


@dataclass(frozen=True, slots=True)
class Span:
    """Character offsets ``[start, end)`` into a document's text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ChunkMatch:
    """A matching chunk of a document hit (``group_by="document"``)."""

    chunk_id: int
    ordinal: int
    score: float
    text: str
    start: int
    end: int
    highlight: Span


@dataclass(frozen=True, slots=True)
class Hit:
    """One search hit: a chunk, its score and its document's title and metadata.

    ``start``/``end`` are character offsets of the chunk in the original document text; ``highlight`` is
    the best-matching sentence inside it. With ``group_by="document"`` a hit is a document, represented by
    its best chunk, and ``matches`` lists its matching chunks, best first (the first is the hit's own chunk).
    The score's scale depends on the mode: cosine similarity (dense), BM25 (keyword), or the fusion's.
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
    highlight: Span
    matches: list[ChunkMatch] = field(default_factory=list)
    page: int | None = None  # paged documents only: the page where the chunk starts (1-based)
    page_end: int | None = None
    duplicates: list[str] = field(default_factory=list)  # other documents whose same chunk it stands for


@dataclass(frozen=True, slots=True)
class Like:
    """Query by example (:mod:`index.retrieval.examples`): a stored document (``doc_id``), one stored chunk
    (``chunk_id``) or a passage (``text``); exactly one. The example itself is left out of the hits unless
    ``include_self``."""

    doc_id: str | None = None
    chunk_id: int | None = None
    text: str | None = None
    include_self: bool = False


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One query: return hits ``offset .. offset+k`` of the ranking, dropping those below ``min_score``.

    ``mode`` picks the dense (embedding) side, the keyword (BM25) side or both fused, by reciprocal rank
    (``rrf_k``) or by a blend of normalised scores (``weight`` on the dense side; see
    :func:`index.retrieval.ranking.fuse_sides`). ``filter`` is a metadata filter (see
    :mod:`index.retrieval.filters`) applied before ranking. ``candidates`` is how deep each side looks before
    fusion. ``ef_search`` widens an HNSW index's search (more recall, more time); ``exact`` scans every vector
    instead. ``like`` searches by example instead of ``query`` (then empty). ``exclude_doc`` and
    ``exclude_chunk`` leave that document or chunk out of the hits. ``diversity`` above 0 picks the hits
    from the best ``diversity_pool`` by maximal marginal relevance (:mod:`index.retrieval.diversity`).
    ``duplicates="collapse"`` gives chunks of the same text (whitespace aside) one hit, the best ranked,
    which names the other documents (:func:`index.retrieval.ranking.rank`)."""

    query: str
    k: int = 10
    offset: int = 0
    min_score: float | None = None
    mode: SearchMode = "hybrid"
    fusion: Fusion = "blend"
    rrf_k: float = 60.0
    weight: float = 0.4
    group_by: GroupBy = "chunk"
    filter: dict[str, Any] | None = None
    candidates: int | None = None
    ef_search: int | None = None
    exact: bool = False
    like: Like | None = None
    exclude_doc: str | None = None
    exclude_chunk: int | None = None
    diversity: float = 0.0
    diversity_pool: int | None = None
    duplicates: Duplicates = "collapse"


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A chunk joined with its document's title and metadata, as search hits need it."""

    chunk_id: int
    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str | None
    metadata: dict[str, Any]
    page: int | None = None
    page_end: int | None = None


@dataclass(frozen=True, slots=True)
class Candidates:
    """The first half of one search: each side's best chunks ``{chunk_id: score}`` (dense first, then
    keyword), and with ``group_by="document"`` the keyword side's whole-document scores
    ``{doc_id: score}``.

    A shard asked to prefetch also sends what ranking will most likely read, so that the router rarely
    has to come back for it: ``rows`` of each side's best ``offset + k`` chunks, and with
    ``group_by="document"`` the ``placed`` document and ordinal of every candidate chunk."""

    sides: list[dict[int, float]]
    documents: dict[str, float] | None = None
    rows: dict[int, ChunkRow] = field(default_factory=dict)
    placed: dict[int, tuple[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchTimings:
    """Where a search's time went: embedding the query, finding candidates (FAISS and FTS5), ranking them
    (fusion, reading the hits, highlights). The rest of ``took_ms`` is validation and filter compiling."""

    encode_ms: float = 0.0
    search_ms: float = 0.0
    rank_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[Hit]
    took_ms: float
    timings: SearchTimings = field(default_factory=SearchTimings)
    query_pieces: int = 1  # pieces the dense side cut the query into (index.retrieval.query)
    cached: bool = False  # answered from the result cache (index.retrieval.result_cache); timings are zero


@dataclass(frozen=True, slots=True)
class UpsertResult:
    id: str
    status: UpsertStatus
    chunks: int


@dataclass(frozen=True, slots=True)
class ShardHealth:
    """Whether one shard's replicas (reads) and writer answer, and what they hold."""

    shard: int
    reader: bool
    writer: bool | None  # None: the index has no writers (read-only)
    documents: int | None
    detail: str | None = None

    @property
    def ready(self) -> bool:
        return self.reader and self.writer is not False


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
