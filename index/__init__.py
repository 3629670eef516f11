"""semsearch's index library: chunking, embedding, storage and search. No web or CLI framework in here.

Typical use::

    from index import SearchIndex, SentenceTransformerEmbedder, Document

    with SearchIndex.open("data", SentenceTransformerEmbedder()) as idx:
        idx.upsert([Document(id="a", text="Cats sleep most of the day.")])
        print(idx.search("how long do cats rest?").hits[0])

``SentenceTransformerEmbedder`` imports torch when it is constructed, not when this package is imported.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.encoders.base import DEFAULT_MODEL, Embedder, ModelLoadError
    from index.encoders.factory import load_embedder
    from index.encoders.torch_encoder import SentenceTransformerEmbedder
    from index.errors import (
        ChunkNotFoundError,
        CorruptIndexError,
        DocumentNotFoundError,
        IncompatibleIndexError,
        InvalidInputError,
        SemsearchError,
    )
    from index.ingest.chunking import Chunker, ChunkingOptions, Tokenizer
    from index.search_index import SearchIndex
    from index.types import (
        ChunkSpan,
        Document,
        Hit,
        IndexStats,
        Like,
        SearchRequest,
        SearchResult,
        StoredChunk,
        StoredDocument,
        UpsertResult,
        to_dict,
    )

# Names are imported on first use (PEP 562), so that importing a light module of the package (index.types,
# say, for the HTTP client's schemas) does not load FAISS, NumPy or the encoders.
_SOURCES = {
    "DEFAULT_MODEL": "index.encoders.base",
    "Embedder": "index.encoders.base",
    "ModelLoadError": "index.encoders.base",
    "load_embedder": "index.encoders.factory",
    "SentenceTransformerEmbedder": "index.encoders.torch_encoder",
    "ChunkNotFoundError": "index.errors",
    "CorruptIndexError": "index.errors",
    "DocumentNotFoundError": "index.errors",
    "IncompatibleIndexError": "index.errors",
    "InvalidInputError": "index.errors",
    "SemsearchError": "index.errors",
    "Chunker": "index.ingest.chunking",
    "ChunkingOptions": "index.ingest.chunking",
    "Tokenizer": "index.ingest.chunking",
    "SearchIndex": "index.search_index",
    "ChunkSpan": "index.types",
    "Document": "index.types",
    "Hit": "index.types",
    "IndexStats": "index.types",
    "Like": "index.types",
    "SearchRequest": "index.types",
    "SearchResult": "index.types",
    "StoredChunk": "index.types",
    "StoredDocument": "index.types",
    "UpsertResult": "index.types",
    "to_dict": "index.types",
}


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MODEL",
    "ChunkNotFoundError",
    "ChunkSpan",
    "Chunker",
    "ChunkingOptions",
    "CorruptIndexError",
    "Document",
    "DocumentNotFoundError",
    "Embedder",
    "Hit",
    "IncompatibleIndexError",
    "IndexStats",
    "InvalidInputError",
    "Like",
    "ModelLoadError",
    "SearchIndex",
    "SearchRequest",
    "SearchResult",
    "SemsearchError",
    "SentenceTransformerEmbedder",
    "StoredChunk",
    "StoredDocument",
    "Tokenizer",
    "UpsertResult",
    "load_embedder",
    "to_dict",
]
