"""All configuration, in one object. Every field can be set by a ``SEMSEARCH_<FIELD>`` environment variable
(``SEMSEARCH_DATA_DIR``, ``SEMSEARCH_MAX_K``...) or by the CLI option of the same name.

Never instantiated at import time: the app factory and the CLI build one when they start.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import DEFAULT_MODEL, ChunkingOptions
from index.cores import usable_cores
from index.encoders.base import Backend
from index.retrieval.query import DEFAULT_LONG_QUERY, LongQuery
from index.storage.vectors import IndexKind, Storage, VectorOptions

# Processes `semsearch serve` runs by default, when the machine has the cores: two on two cores answered
# 1.14x the uncached searches of one under 8 clients, the cores idle 6% of the time instead of 17% (one
# process's threads take Python's lock in turn; docs/benchmarks.md, "Several processes on one port").
# More was not measured, and each process holds its own model and indexes (about 400 MB over SciFact).
AUTO_WORKERS = 2


def split_keys(value: str) -> list[str]:
    """The API keys a key setting holds: one, or several separated by commas (spaces around them dropped)."""
    return [key.strip() for key in value.split(",")]


class Settings(BaseSettings):
    # An empty variable is one not set: compose's "${SEMSEARCH_WORKERS:-}" passes an empty string through,
    # which was a start that failed on "unable to parse string as an integer" (a data directory of ".").
    model_config = SettingsConfigDict(
        env_prefix="SEMSEARCH_", extra="forbid", validate_default=True, env_ignore_empty=True
    )

    data_dir: Path = Field(Path("semsearch-data"), description="Directory of the index (created if missing).")
    model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model: the packaged default, or the path of a model folder.",
    )
    embed_backend: Backend = Field(
        "auto",
        description="Run the model with ONNX Runtime (exported once, verified against torch at every load; "
        "3x faster queries), ONNX Runtime with int8 weights (faster, lossy), OpenVINO (the same export, in "
        "bfloat16 where the CPU has it and the probes agree; the openvino extra), sentence-transformers on "
        "torch, or `auto`: OpenVINO in bfloat16 on a CPU with AMX where the openvino extra is installed "
        "(3x faster documents, 20% more searches), ONNX Runtime elsewhere.",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where the ONNX export of the model is kept; default: `models/` in the data directory.",
    )
    encode_threads: int | None = Field(
        None,
        ge=1,
        description="Threads per model call that runs alone, with no other request in flight in any of the "
        "server's processes (ONNX Runtime's or OpenVINO's); default: every core. Calls beside other "
        "requests get one thread each.",
    )
    query_batch_size: int = Field(
        64, ge=1, le=1024, description="Most queries encoded in one model call when requests arrive together."
    )
    query_batch_wait_ms: float = Field(
        0.0,
        ge=0,
        le=100,
        description="How long a query batch waits for more queries once it has one (0: batches form only "
        "from queries that queue while the previous batch runs).",
    )
    query_cache_size: int = Field(4096, ge=0, description="Query embeddings kept in an LRU cache (0: off).")
    result_cache_mb: float = Field(
        64,
        ge=0,
        le=1_000_000,
        description="Megabytes of whole search results kept per collection for searches that come again, "
        "emptied by every write (0: off).",
    )
    search_concurrency: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Searches worked on at once, each on a worker thread; the others wait their turn without "
        "a thread. Default: twice the cores (more threads contend for Python's lock and do less).",
    )
    host: str = Field("127.0.0.1", description="Address `semsearch serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `semsearch serve` listens on.")
    workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Processes `semsearch serve` runs on the port: the writer and read replicas beside it, "
        "which answer searches and reads themselves and pass the rest to the writer (docs/operations.md). "
        f"Default: one per core, at most {AUTO_WORKERS}; each holds its own model and indexes.",
    )
    default_collection: str = Field(
        "default",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="The collection the routes without /collections/{name}/ act on (the data directory).",
    )
    seed_demo: bool = Field(
        True,
        description="Index the bundled demo corpus when the service starts on a new, empty data directory.",
    )
    snapshot_dir: Path | None = Field(
        None,
        description="Where POST /admin/snapshot puts copies; default: `snapshots/` in the data directory.",
    )
    snapshot_keep: int = Field(
        10, ge=1, description="Snapshots POST /admin/snapshot keeps in SEMSEARCH_SNAPSHOT_DIR; older ones go."
    )
    read_only: bool = Field(
        False,
        description="Serve the data directory without writing to it (a replica of a copy); writes get 409.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = Field(False, description="Log one JSON object per line (with the request id).")
    write_key: SecretStr | None = Field(
        None,
        description="If set, every write must present this key; several, separated by commas, are each "
        "accepted (to rotate keys without a moment when none works).",
    )
    read_key: SecretStr | None = Field(
        None,
        description="If set, searches and reads must present this key (or a write key); several may be "
        "given, separated by commas.",
    )

    chunk_max_tokens: int | None = Field(
        None, ge=8, description="Largest chunk in model tokens; default: all the model can read."
    )
    chunk_overlap_tokens: int = Field(32, ge=0, description="Overlap between pieces of a split paragraph.")
    chunk_min_tokens: int = Field(16, ge=0, description="Paragraphs shorter than this merge with neighbours.")
    chunk_title_context: bool = Field(False, description="Embed each chunk with its document title in front.")
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Chunks per model call.")

    index_kind: IndexKind = Field(
        "auto", description="auto: exact search below SEMSEARCH_ANN_THRESHOLD chunks, HNSW from there on."
    )
    ann_threshold: int = Field(50_000, ge=1, description="Chunks from which `auto` switches to HNSW.")
    hnsw_storage: Storage = Field(
        "float16",
        description="How HNSW keeps vectors: float32, float16 (half the memory) or int8 (a quarter).",
    )
    flat_storage: Storage = Field(
        "float16",
        description="How exact search (below SEMSEARCH_ANN_THRESHOLD) keeps vectors: float16 (half the "
        "memory and half the scan time of float32, scores within about 1e-3), float32 (the model's "
        "scores exactly) or int8.",
    )
    hnsw_m: int = Field(
        32, ge=4, le=128, description="HNSW graph degree: more is better recall, more memory."
    )
    hnsw_ef_construction: int = Field(80, ge=8, le=1024, description="HNSW build breadth.")
    hnsw_ef_search: int = Field(256, ge=1, le=4096, description="HNSW default search breadth.")

    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body, in bytes (larger ones get 413)."
    )
    max_upload_bytes: int = Field(
        512 * 1024 * 1024,
        ge=1024,
        description="Largest body of a file upload (POST /documents/files), in bytes; larger ones get 413.",
    )
    allow_network_filesystem: bool = Field(
        False,
        description="Open a data directory on a network filesystem (NFS, SMB, 9p, sshfs...), where SQLite's "
        "locks and write-ahead log do not hold; refused by default (docs/operations.md).",
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Longest wait for the next part of a request body; a body that stops arriving gets 408 "
        "and frees its place (a client sending a few bytes a minute held an upload slot for as long).",
    )
    max_file_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1024,
        description="Largest file one upload may carry, in bytes; a larger one gets 413 naming it.",
    )
    cors_origins: list[str] = Field(
        [],
        description="Origins allowed to call the API from a browser (CORS), as a JSON list; empty: CORS off.",
    )
    max_documents_per_request: int = Field(256, ge=1, description="Documents one POST /documents may carry.")
    max_text_chars: int = Field(
        20_000_000,
        ge=1,
        description="Longest document text, in characters (a 2,000-page book is about 6 million).",
    )
    max_query_chars: int = Field(
        20_000,
        ge=1,
        description="Longest query, in characters (a pasted page or two; a query by example's text too). A "
        "query longer than the model reads is searched in pieces.",
    )
    long_query: LongQuery = Field(
        DEFAULT_LONG_QUERY,
        description="How the pieces of a query longer than the model reads make one dense search: the first "
        "window alone, the mean of the pieces' embeddings, or max-similarity (a chunk scores by its best "
        "piece).",
    )
    keyword_memory: bool = Field(
        True,
        description="Answer unfiltered keyword searches from an in-memory BM25 index built from the database "
        "in the background after start (about 8 bytes per chunk and distinct word); FTS5 answers the rest, "
        "and everything until it is built.",
    )
    max_k: int = Field(
        1_000,
        ge=1,
        description="Largest k a search may ask for (1,000: BEIR's evaluation depth, a reranker's input); "
        "the k of one batch's queries add up to at most ten times this.",
    )
    max_offset: int = Field(1_000, ge=0, description="Largest offset a search may ask for.")
    max_filter_depth: int = Field(8, ge=1, le=64, description="Deepest nesting of a metadata filter.")
    max_filter_clauses: int = Field(256, ge=1, description="Most clauses (objects) in one metadata filter.")
    max_batch_queries: int = Field(64, ge=1, description="Queries one POST /search/batch may carry.")
    filter_timeout_ms: int = Field(
        2000,
        ge=10,
        description="Longest time SQLite may spend evaluating one request's metadata filter; past it the "
        "request gets 503 instead of holding a CPU.",
    )
    file_readers: int = Field(
        1,
        ge=0,
        description="Processes that read uploaded files (PDF, Office, HTML...) into text, so that reading "
        "one does not hold the server's interpreter lock and slow every search; 0 reads them in the "
        "server's process.",
    )
    file_read_timeout_seconds: float = Field(
        600.0,
        gt=0,
        description="Longest time reading one uploaded file may take; past it the file is refused (422) "
        "and its reader process stopped. Each page of a scan read by OCR starts its time again. Only with "
        "SEMSEARCH_FILE_READERS above 0.",
    )
    max_concurrent_upserts: int = Field(
        4,
        ge=1,
        description="Synchronous uploads (POST /documents) being processed at once; more get 429. Bounds "
        "the memory that concurrent large uploads take.",
    )
    max_queued_tasks: int = Field(
        1000, ge=1, description="Background uploads (wait=false) waiting at once; more get 429."
    )
    max_queued_bytes: int = Field(
        512 * 1024 * 1024, ge=1024, description="Bytes of background uploads waiting at once; more get 429."
    )
    task_max_attempts: int = Field(
        5,
        ge=1,
        description="Tries of a background upload that keeps failing (not transient faults, which "
        "are retried until they pass) before it is marked failed.",
    )

    @field_validator("data_dir", "model_cache_dir", "snapshot_dir")
    @classmethod
    def _check_folder(cls, value: Path | None) -> Path | None:
        # A file where a folder is wanted failed later, deep in the model's export or the store, as a
        # NotADirectoryError traceback; said here, it stops the start with the variable's name.
        try:
            a_file = value is not None and value.exists() and not value.is_dir()
        except OSError:  # a folder above it that may not be read: said where it is used, with its path
            return value
        if a_file:
            raise ValueError(f"{value} is a file, not a folder")
        return value

    @field_validator("write_key", "read_key", mode="before")
    @classmethod
    def _check_key(cls, value: object) -> object:
        if value == "":
            return None  # an empty variable (say, from compose) means no key
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            keys = split_keys(value)
            if any(len(key) < 16 for key in keys):
                raise ValueError(
                    "an API key must be at least 16 characters long (several keys are separated by commas)"
                )
            return ",".join(keys)
        return value

    @model_validator(mode="after")
    def _check_keys(self) -> Settings:
        if self.read_key is not None and self.write_key is None and not self.read_only:
            raise ValueError(
                "SEMSEARCH_READ_KEY is set but SEMSEARCH_WRITE_KEY is not: searches would need a key while "
                "anyone could write and delete. Set SEMSEARCH_WRITE_KEY too (or SEMSEARCH_READ_ONLY=true "
                "for a replica that takes no writes)."
            )
        return self

    @model_validator(mode="after")
    def _check_chunking(self) -> Settings:
        if self.chunk_max_tokens is not None and self.chunk_overlap_tokens * 2 > self.chunk_max_tokens:
            raise ValueError("chunk_overlap_tokens must be at most half of chunk_max_tokens")
        return self

    def resolved_snapshot_dir(self) -> Path:
        return self.snapshot_dir if self.snapshot_dir is not None else self.data_dir / "snapshots"

    def worker_count(self) -> int:
        """``workers``, or by default one process per usable core, at most :data:`AUTO_WORKERS`."""
        return self.workers if self.workers is not None else min(AUTO_WORKERS, usable_cores())

    def resolved_model_cache_dir(self) -> Path:
        return self.model_cache_dir if self.model_cache_dir is not None else self.data_dir / "models"

    def vectors(self) -> VectorOptions:
        return VectorOptions(
            kind=self.index_kind,
            ann_threshold=self.ann_threshold,
            storage=self.hnsw_storage,
            flat_storage=self.flat_storage,
            hnsw_m=self.hnsw_m,
            ef_construction=self.hnsw_ef_construction,
            ef_search=self.hnsw_ef_search,
        )

    def chunking(self) -> ChunkingOptions:
        return ChunkingOptions(
            max_tokens=self.chunk_max_tokens,
            overlap_tokens=self.chunk_overlap_tokens,
            min_tokens=self.chunk_min_tokens,
            title_context=self.chunk_title_context,
        )


# Variables of the prefix that are not settings but are read elsewhere (the CLI's --url).
OTHER_VARIABLES = frozenset({"SEMSEARCH_URL"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``SEMSEARCH_*`` variables in ``environ`` that no setting reads, each with the nearest setting's
    name when one is close: a typo (``SEMSEARCH_MAXK``) would otherwise be ignored without a word."""
    prefix = "SEMSEARCH_"
    known = {f"{prefix}{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    suffixes = sorted(name.removeprefix(prefix) for name in known)
    found = []
    for name in sorted(environ):
        if name.upper().startswith(prefix) and name.upper() not in known:
            close = difflib.get_close_matches(name.upper().removeprefix(prefix), suffixes, n=1, cutoff=0.8)
            found.append(f"{name} (did you mean {prefix}{close[0]}?)" if close else name)
    return found
