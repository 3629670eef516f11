"""Request and response bodies of the HTTP API, with the examples shown at /docs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from index.collections import CollectionSettings
from index.retrieval.filters import field_path
from index.types import Duplicates, Fusion, GroupBy, Like, SearchMode, SearchRequest
from index.validation import MAX_ID_LENGTH, MAX_TITLE_LENGTH

_ARTICLE = (
    "The council approved the new tram line on Tuesday.\n\n"
    "Construction starts in spring and is expected to take three years."
)


class DocumentIn(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "news-42", "title": "Tram line approved", "text": _ARTICLE, "metadata": {"lang": "en"}}
            ]
        },
    )

    id: str = Field(
        min_length=1, max_length=MAX_ID_LENGTH, description="Your id; sending it again replaces it."
    )
    text: str = Field(
        description="The full text. Paragraphs are separated by blank lines. Empty with a title: the title."
    )
    title: str | None = Field(None, max_length=MAX_TITLE_LENGTH)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Any JSON object, returned with hits.")


class UpsertRequest(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"documents": [{"id": "news-42", "title": "Tram line approved", "text": _ARTICLE}]},
            ]
        },
    )

    documents: list[DocumentIn] = Field(min_length=1)


class UpsertItem(BaseModel):
    id: str
    status: Literal["created", "updated", "unchanged"]
    chunks: int


class SkippedFileOut(BaseModel):
    """A file in an uploaded ZIP archive that was passed over, or the archive's files of types not read."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "file": "handbook.zip",
                    "status": None,
                    "detail": "2 files of types semsearch does not read (.png 2)",
                },
                {
                    "file": "handbook.zip/scans/memo.pdf",
                    "status": 422,
                    "detail": "handbook.zip: scans/memo.pdf: ...",
                },
            ]
        }
    )

    file: str = Field(description="The archive, or the file in it: `handbook.zip/drafts/scan.pdf`.")
    status: int | None = Field(
        description="What refusing the file alone would have been (413 too large, 415 unsupported, 422 "
        "unreadable); null for the count of files of types not read."
    )
    detail: str


# In the answers to an upload of files, synchronous or in the background.
_SKIPPED = (
    "In the answer to an upload of files: what its ZIP archives held that was not indexed, as `semsearch "
    "index` passes over such files in a folder (with `strict=true` an unreadable one refuses the upload "
    "instead)."
)


class TaskOut(BaseModel):
    """A background upsert (``POST /documents?wait=false``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": "3f2b0c9e5d8a4c61a1f0e2d3c4b5a697",
                    "status": "running",
                    "documents": 200,
                    "chunks_done": 512,
                    "chunks_total": 1380,
                    "results": None,
                    "error": None,
                    "created_at": 1795820000.0,
                    "started_at": 1795820000.1,
                    "finished_at": None,
                }
            ]
        }
    )

    task_id: str
    status: Literal["queued", "running", "done", "failed"] = Field(
        description="queued and running: poll again; done: `results` holds each document's outcome; "
        "failed: nothing of this task was written, `error` says why (the task failed "
        "SEMSEARCH_TASK_MAX_ATTEMPTS times)."
    )
    documents: int
    chunks_done: int = Field(description="Chunks embedded so far (of chunks_total, once known).")
    chunks_total: int
    results: list[UpsertItem] | None
    error: str | None
    created_at: float = Field(description="Unix time the task was accepted (and stored durably).")
    started_at: float | None
    finished_at: float | None
    attempts: int = Field(
        0,
        description="Attempts that failed so far (transient faults are retried until they pass; other "
        "errors SEMSEARCH_TASK_MAX_ATTEMPTS times); `error` holds the last one's message.",
    )
    skipped: list[SkippedFileOut] = Field(default_factory=list, description=_SKIPPED)


class UpsertResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"documents": [{"id": "news-42", "status": "created", "chunks": 2}], "took_ms": 41.7}
            ]
        }
    )

    documents: list[UpsertItem]
    took_ms: float
    skipped: list[SkippedFileOut] = Field(default_factory=list, description=_SKIPPED)


_PAGE = "Paged documents (PDF, slides): the page the chunk starts on, from 1; null for others."
_PAGE_END = "Paged documents: the page the chunk ends on."


class ChunkOut(BaseModel):
    chunk_id: int
    ordinal: int
    start: int = Field(description="Character offset of the chunk in the document text.")
    end: int
    text: str
    page: int | None = Field(None, description=_PAGE)
    page_end: int | None = Field(None, description=_PAGE_END)


class DocumentSummaryOut(BaseModel):
    id: str
    title: str | None
    metadata: dict[str, Any]
    chunks: int
    updated_at: float
    text: str | None = Field(
        default=None, description="The document's text, as sent: only in a listing with `include_text`."
    )


class DocumentListOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "documents": [
                        {
                            "id": "reports/q3.pdf",
                            "title": "Q3 report",
                            "metadata": {"format": "pdf", "pages": 12},
                            "chunks": 31,
                            "updated_at": 1764590000.0,
                        }
                    ],
                    "next": "reports/q3.pdf",
                }
            ]
        }
    )

    documents: list[DocumentSummaryOut]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page.")


class FacetCountOut(BaseModel):
    value: str | int | float | bool = Field(description="A value of the field (an element, for lists).")
    count: int = Field(description="How many documents hold it.")


class CountOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 42}]})

    count: int = Field(description="How many documents the filter keeps (all of them without one).")


class MetadataFieldOut(BaseModel):
    name: str = Field(description="A top-level metadata key.")
    documents: int = Field(description="How many documents hold it.")
    types: dict[str, int] = Field(
        description="How many of those hold each JSON type: string, integer, number, boolean, array, object, "
        "null."
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="The key as filters and `GET /facets` name it: as it is, or in double quotes if it holds "
        'other characters than letters, digits, `_` and `-` (`"first name"`); null if it holds a double '
        "quote, a backslash or a control character, which no filter can name."
    )
    @property
    def field(self) -> str | None:
        return field_path([self.name])


class FieldsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fields": [
                        {"name": "author", "documents": 40, "types": {"string": 40}},
                        {"name": "year", "documents": 38, "types": {"integer": 37, "string": 1}},
                    ],
                    "next": None,
                }
            ]
        }
    )

    fields: list[MetadataFieldOut] = Field(description="The keys, in name order (code point order).")
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page.")


class FacetOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "field": "author",
                    "values": [{"value": "Ada Lovelace", "count": 12}, {"value": "Alan Turing", "count": 7}],
                    "distinct": 2,
                    "min": None,
                    "max": None,
                }
            ]
        }
    )

    field: str
    values: list[FacetCountOut] = Field(
        description="The values asked for, in the order asked, at most `limit`."
    )
    distinct: int = Field(
        description="How many different values the field has over these documents (with `contains`: "
        "how many strings hold it)."
    )
    min: int | float | None = Field(description="The least number among the values; null if none is one.")
    max: int | float | None = Field(description="The greatest number among the values; null if none is one.")


class DocumentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "news-42",
                    "title": "Tram line approved",
                    "text": _ARTICLE,
                    "metadata": {"lang": "en"},
                    "created_at": 1795300000.0,
                    "updated_at": 1795300000.0,
                    "chunks": [
                        {"chunk_id": 7, "ordinal": 0, "start": 0, "end": 50, "text": _ARTICLE[:50]},
                    ],
                }
            ]
        }
    )

    id: str
    title: str | None
    text: str
    metadata: dict[str, Any]
    created_at: float = Field(description="Unix time of the first upsert.")
    updated_at: float = Field(description="Unix time of the last upsert.")
    chunks: list[ChunkOut]


class DeleteResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "news-42", "deleted": True, "chunks": 2}]}
    )

    id: str
    deleted: bool
    chunks: int = Field(description="How many chunks were removed.")


SEARCH_DEFAULTS = SearchRequest("")

SearchModeField = Field(
    SEARCH_DEFAULTS.mode, description="dense (embeddings), keyword (BM25) or hybrid (both, fused)."
)
FusionField = Field(
    SEARCH_DEFAULTS.fusion,
    description="Hybrid fusion: blend of normalised scores (docs/retrieval.md), or reciprocal rank fusion.",
)
WeightField = Field(
    SEARCH_DEFAULTS.weight, ge=0, le=1, description="Blend: weight of the dense side (keyword: 1 - it)."
)
RrfKField = Field(
    SEARCH_DEFAULTS.rrf_k, ge=0, le=10_000, description="RRF: the constant k in 1 / (k + rank)."
)
GroupByField = Field(
    SEARCH_DEFAULTS.group_by,
    description="chunk: one hit per chunk; document: one hit per document, with its matches.",
)
DUPLICATES_HELP = (
    "collapse: chunks of the same text in several documents are one hit, the best ranked, "
    "naming the others in its `duplicates`; keep: each is a hit. Hits by chunk only."
)
DuplicatesField = Field(SEARCH_DEFAULTS.duplicates, description=DUPLICATES_HELP)


class LikeIn(BaseModel):
    """Query by example: exactly one of ``id``, ``chunk`` and ``text``."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"id": "news-42"}, {"chunk": 7}, {"text": _ARTICLE}]},
    )

    id: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="A stored document: searched with its stored embeddings and its characteristic words.",
    )
    chunk: int | None = Field(
        None, ge=0, le=2**63 - 1, description="A stored chunk (the chunk_id of a hit), searched the same way."
    )
    text: str | None = Field(
        None, min_length=1, description="A passage, searched as a query of that text (any length)."
    )
    include_self: bool = Field(
        False,
        strict=True,
        description="Keep the example document (or chunk) among the hits; by default it is left out.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> LikeIn:
        if sum(value is not None for value in (self.id, self.chunk, self.text)) != 1:
            raise ValueError("like takes exactly one of id, chunk and text")
        return self

    def to_like(self) -> Like:
        return Like(doc_id=self.id, chunk_id=self.chunk, text=self.text, include_self=self.include_self)


class SearchBody(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "when will the tram be built?", "k": 5},
                {
                    "query": "tram construction",
                    "mode": "hybrid",
                    "fusion": "rrf",
                    "group_by": "document",
                    "filter": {"must": [{"field": "lang", "eq": "en"}, {"field": "year", "gte": 2024}]},
                },
                {"like": {"id": "news-42"}, "k": 5, "group_by": "document"},
            ]
        },
    )

    query: str | None = Field(
        None,
        min_length=1,
        description="What to look for, in natural language, of any length (a long one is searched in "
        "pieces, see query_pieces). Required unless `like` is given.",
    )
    like: LikeIn | None = Field(
        None, description="Query by example instead of `query`: more like this document, chunk or passage."
    )
    k: int = Field(10, ge=1, description="How many hits to return (at most SEMSEARCH_MAX_K).")
    offset: int = Field(0, ge=0, description="Hits to skip, for paging (at most SEMSEARCH_MAX_OFFSET).")
    min_score: float | None = Field(
        None,
        allow_inf_nan=False,
        description="Drop hits scoring lower (the scale depends on mode and fusion).",
    )
    mode: SearchMode = SearchModeField
    fusion: Fusion = FusionField
    weight: float = WeightField
    rrf_k: float = RrfKField
    group_by: GroupBy = GroupByField
    filter: dict[str, Any] | None = Field(
        None, description="Metadata filter, applied before ranking (docs/api.md)."
    )
    candidates: int | None = Field(
        None,
        ge=1,
        description="How deep each side looks before fusion (default 100; at most SEMSEARCH_MAX_K * 10).",
    )
    ef_search: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="HNSW only: how wide the graph search is (default SEMSEARCH_HNSW_EF_SEARCH); more finds "
        "more true neighbours and takes longer. Ignored by exact indexes.",
    )
    exact: bool = Field(
        False,
        strict=True,
        description="Scan every vector instead of the approximate index (slow on large corpora).",
    )
    diversity: float = Field(
        0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Above 0: hits relevant and unlike each other, picked by maximal marginal relevance "
        "from the best `diversity_pool` hits (0: plain ranking; 1: most diverse; LangChain's lambda_mult "
        "is 1 - diversity). Scores stay the hits' relevance.",
    )
    diversity_pool: int | None = Field(
        None,
        ge=1,
        description="How many of the best hits a diverse search picks from (default 3 x (offset + k), at "
        "least 20, at most 1,000; never fewer than offset + k; at most SEMSEARCH_MAX_K).",
    )
    duplicates: Duplicates = DuplicatesField

    @model_validator(mode="after")
    def _query_or_like(self) -> SearchBody:
        if (self.query is None) == (self.like is None):
            raise ValueError("send a query or an example (like), exactly one of them")
        return self


class SpanOut(BaseModel):
    start: int
    end: int


class ChunkMatchOut(BaseModel):
    chunk_id: int
    ordinal: int
    score: float
    text: str
    start: int
    end: int
    highlight: SpanOut


class HitOut(BaseModel):
    doc_id: str
    chunk_id: int
    ordinal: int = Field(description="Position of the chunk in its document.")
    score: float = Field(description="dense: cosine similarity; keyword: BM25; hybrid: the fused score.")
    text: str
    title: str | None
    metadata: dict[str, Any]
    start: int = Field(description="Character offset of the chunk in the document text.")
    end: int
    highlight: SpanOut = Field(description="The best-matching sentence, as offsets into the document text.")
    matches: list[ChunkMatchOut] = Field(
        default_factory=list, description="group_by=document: the document's matching chunks, best first."
    )
    page: int | None = Field(None, description=_PAGE)
    page_end: int | None = Field(None, description=_PAGE_END)
    duplicates: list[str] = Field(
        default_factory=list,
        description="duplicates=collapse: the other documents holding this chunk's text "
        "whose chunk ranked above the page's end or tied with its last hit, best first; each is no hit of "
        "its own.",
    )


_HIT_EXAMPLE: dict[str, Any] = {
    "doc_id": "news-42",
    "chunk_id": 7,
    "ordinal": 0,
    "score": 0.61,
    "text": _ARTICLE,
    "title": "Tram line approved",
    "metadata": {"lang": "en"},
    "start": 0,
    "end": len(_ARTICLE),
    "highlight": {"start": 52, "end": len(_ARTICLE)},
    "matches": [],
    "page": None,
    "page_end": None,
    "duplicates": [],
}


class TimingsOut(BaseModel):
    encode_ms: float = Field(description="Embedding the query (0 if it came from the cache or mode=keyword).")
    search_ms: float = Field(description="Finding candidates: FAISS and FTS5.")
    rank_ms: float = Field(description="Fusion, reading the hits, highlights.")


class SearchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hits": [_HIT_EXAMPLE],
                    "took_ms": 12.3,
                    "timings": {"encode_ms": 6.1, "search_ms": 3.9, "rank_ms": 1.8},
                }
            ]
        }
    )

    hits: list[HitOut]
    took_ms: float = Field(description="Time spent in the index, of which `timings` says where.")
    timings: TimingsOut
    query_pieces: int = Field(
        1,
        description="Pieces the query was cut into for the model: more than 1 for a query longer than the "
        "model reads (254 tokens for the default model), which is searched whole all the same; for a query "
        "by example, the example's chunks.",
    )
    cached: bool = Field(
        False,
        description="Answered from the result cache: the same search was made before and nothing written "
        "since (`SEMSEARCH_RESULT_CACHE_MB`); `timings` are then zero.",
    )


class BatchSearchBody(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"queries": [{"query": "tram construction start"}, {"query": "who approved it?", "k": 3}]}
            ]
        },
    )

    queries: list[SearchBody] = Field(min_length=1)


class BatchSearchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"results": [{"hits": [_HIT_EXAMPLE], "took_ms": 20.1}], "took_ms": 20.1}]
        }
    )

    results: list[SearchResponse]
    took_ms: float


class MetadataPatchBody(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"metadata": {"tags": ["reviewed"], "draft": None}}]},
    )

    metadata: dict[str, Any] = Field(
        description="A JSON Merge Patch (RFC 7396) of the document's metadata: each key set (objects merged "
        "key by key), a key whose value is null removed, the other keys left as they are."
    )


class DeleteByFilterBody(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"filter": {"field": "source", "eq": "demo"}}]},
    )

    filter: dict[str, Any] = Field(description="Metadata filter; every matching document is deleted.")


class UpdateByFilterBody(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{"filter": {"field": "source", "eq": "demo"}, "metadata": {"reviewed": True}}]
        },
    )

    filter: dict[str, Any] = Field(description="Metadata filter; every matching document is patched.")
    metadata: dict[str, Any] = Field(
        description="A JSON Merge Patch (RFC 7396) applied to each matching document's metadata, as "
        "PATCH /documents/{doc_id} applies it to one."
    )


class UpdateByFilterResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"matched": 2, "updated": ["demo/faq.md"], "count": 1}]}
    )

    matched: int = Field(description="Documents the filter matched.")
    updated: list[str] = Field(description="Those whose metadata the patch changed, in id order.")
    count: int = Field(description="How many it changed.")


class DeleteByFilterResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"deleted": ["demo/faq.md"], "count": 1}]})

    deleted: list[str]
    count: int


class StatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "documents": 12,
                    "chunks": 140,
                    "model_id": "sentence-transformers/all-MiniLM-L6-v2",
                    "dimension": 384,
                    "index_type": "flat-float16",
                    "data_dir": "/data",
                }
            ]
        }
    )

    documents: int
    chunks: int
    model_id: str
    dimension: int
    index_type: str
    data_dir: str


class HealthOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class ShardOut(BaseModel):
    shard: int
    ready: bool
    reader: bool = Field(description="Whether the shard's read replicas answer.")
    writer: bool | None = Field(description="Whether the shard's writer answers (null: no writers).")
    documents: int | None
    detail: str | None = None


class ReadyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ready", "detail": None}]})

    status: Literal["ready", "loading", "failed"]
    detail: str | None = None
    ingest: str | None = Field(
        None,
        description="Set when background ingest is stalled (tasks waiting, no progress): what is wrong. "
        "Searches still work, so the status stays ready.",
    )
    shards: list[ShardOut] | None = Field(
        None, description="Sharded service only (Ray Serve): each shard's readiness; ready needs every shard."
    )


class ErrorOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"detail": "no document with id 'news-42'"}]})

    detail: str


class FileProblemOut(BaseModel):
    file: str | None = Field(description="The file's name (null for a problem with a form field).")
    status: int = Field(description="413 too large, 415 unsupported type, 422 unreadable.")
    detail: str


class FilesErrorOut(BaseModel):
    """An upload of files refused: nothing was written. ``files`` names each file that cannot be indexed."""

    detail: str
    files: list[FileProblemOut]


class ValidationItemOut(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is: body, query or path, then the field.")
    msg: str
    type: str
    ctx: dict[str, Any] | None = None


class InvalidOut(BaseModel):
    """A 422: the request was understood but is not valid; nothing was changed. ``detail`` is a sentence
    from the index (a bad filter, a document without text) or, for a body that does not match the schema,
    one item per problem."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"detail": "document 0 (id 'a'): the metadata: metadata.tenant holds a NUL character"},
                {
                    "detail": [
                        {"loc": ["body", "documents", 0, "text"], "msg": "Field required", "type": "missing"}
                    ]
                },
            ]
        }
    )

    detail: str | list[ValidationItemOut]


class SnapshotOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "20261128T020000Z-3fa2c1",
                    "path": "/data/snapshots/20261128T020000Z-3fa2c1",
                    "documents": 5183,
                    "chunks": 13680,
                    "generation": 6240,
                    "bytes": 98123776,
                    "seconds": 0.84,
                }
            ]
        }
    )

    name: str
    path: str
    documents: int
    chunks: int
    generation: int = Field(description="The database generation the copy holds.")
    bytes: int
    seconds: float


class ChunkingIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    max_tokens: int | None = Field(None, ge=16, le=8192, description="Chunk budget (default: the model's).")
    overlap_tokens: int | None = Field(None, ge=0, description="Overlap between pieces of a split paragraph.")
    min_tokens: int | None = Field(None, ge=0, description="Paragraphs shorter than this merge.")
    title_context: bool | None = Field(
        None, strict=True, description="Embed each chunk with its title in front."
    )


class IndexIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    index_kind: Literal["auto", "flat", "hnsw"] | None = None
    ann_threshold: int | None = Field(None, ge=1)
    hnsw_storage: Literal["float32", "float16", "int8"] | None = None
    flat_storage: Literal["float32", "float16", "int8"] | None = None
    hnsw_m: int | None = Field(None, ge=4, le=128)
    hnsw_ef_construction: int | None = Field(None, ge=8, le=1024)
    hnsw_ef_search: int | None = Field(None, ge=1, le=4096)


class CollectionIn(BaseModel):
    """A collection's own settings; what is left out is the service's (SEMSEARCH_*)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"chunking": {"max_tokens": 128}}, {"index": {"hnsw_m": 16}}]},
    )

    model: str | None = Field(
        None, min_length=1, max_length=1000, description="A sentence-transformers model by name or path."
    )
    # index.encoders.base.Backend's values, spelled out: importing that module would load numpy into
    # service.client, which imports these schemas and must stay light (tests/integration/test_client.py).
    embed_backend: Literal["auto", "onnx", "onnx-int8", "openvino", "torch"] | None = None
    chunking: ChunkingIn = Field(default_factory=ChunkingIn)
    index: IndexIn = Field(default_factory=IndexIn)

    def to_settings(self) -> CollectionSettings:
        return CollectionSettings(
            model=self.model,
            embed_backend=self.embed_backend,
            chunking=self.chunking.model_dump(exclude_none=True),
            index=self.index.model_dump(exclude_none=True),
        )


class CollectionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "papers",
                    "documents": 5183,
                    "chunks": 13680,
                    "model_id": "sentence-transformers/all-MiniLM-L6-v2",
                    "dimension": 384,
                    "index_type": "flat-float16",
                    "settings": {"model": None, "embed_backend": None, "chunking": {}, "index": {}},
                }
            ]
        }
    )

    name: str
    documents: int
    chunks: int
    model_id: str
    dimension: int
    index_type: str
    settings: dict[str, Any] = Field(description="The collection's own settings (null: the service's).")


class CollectionsOut(BaseModel):
    collections: list[CollectionOut]


class CollectionDeletedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "papers", "deleted": True, "aliases": []}]}
    )

    name: str
    deleted: bool
    aliases: list[str] = Field(description="Aliases removed with it (force=true).")


class AliasIn(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="forbid", json_schema_extra={"examples": [{"collection": "papers-v2"}]}
    )

    collection: str = Field(min_length=1, max_length=64, description="The collection the alias points to.")


class AliasOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"alias": "papers", "collection": "papers-v2", "previous": "papers-v1"}]
        }
    )

    alias: str
    collection: str
    previous: str | None = Field(None, description="The collection it pointed to before, if any.")


class AliasesOut(BaseModel):
    aliases: list[AliasOut]


class ReindexIn(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="forbid", json_schema_extra={"examples": [{"source": "papers-v1"}]}
    )

    source: str = Field(min_length=1, max_length=64, description="The collection (or alias) to read from.")


class ReindexOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "collection": "papers-v2",
                    "source": "papers-v1",
                    "status": "running",
                    "documents_done": 640,
                    "documents_total": 5183,
                    "error": None,
                    "started_at": 1795820000.0,
                    "finished_at": None,
                }
            ]
        }
    )

    collection: str
    source: str
    status: Literal["running", "done", "failed"]
    documents_done: int
    documents_total: int
    error: str | None
    started_at: float
    finished_at: float | None
    resumed: bool = Field(
        False, description="Whether this job resumed a reindex that a restart of the service cut off."
    )
