"""semsearch's index library: chunking, embedding, storage and search. No web or CLI framework in here.

Typical use::

    from index import SearchIndex, SentenceTransformerEmbedder, Document

    with SearchIndex.open("data", SentenceTransformerEmbedder()) as idx:
        idx.upsert([Document(id="a", text="Cats sleep most of the day.")])
        print(idx.search("how long do cats rest?").hits[0])

``SentenceTransformerEmbedder`` imports torch when it is constructed, not when this package is imported.
"""

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
