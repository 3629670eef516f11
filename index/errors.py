"""Domain errors raised by the index library.

The service maps each class to an HTTP status code; the CLI prints the message. Every message says what
to fix, because it is shown to the user as is.
"""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class of every error the index library raises on purpose."""


class InvalidInputError(SemsearchError, ValueError):
    """The caller passed something the library cannot accept (empty text, bad k, a query too long...)."""


class DocumentNotFoundError(SemsearchError, KeyError):
    """No document with the given id exists."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(doc_id)
        self.doc_id = doc_id

    def __str__(self) -> str:
        return f"no document with id {self.doc_id!r}"


class ChunkNotFoundError(SemsearchError, KeyError):
    """No chunk with the given id exists (it never did, or its document was changed or deleted)."""

    def __init__(self, chunk_id: int) -> None:
        super().__init__(chunk_id)
        self.chunk_id = chunk_id

    def __str__(self) -> str:
        return f"no chunk with id {self.chunk_id} (chunk ids change when a document is rewritten)"


class IncompatibleIndexError(SemsearchError):
    """The data directory was built with another model, dimension or format version."""


class CorruptIndexError(SemsearchError):
    """A file in the data directory cannot be read."""


class ReadOnlyIndexError(SemsearchError):
    """A write was asked of an index opened read-only."""


class UnsupportedOperationError(SemsearchError):
    """The operation exists on one index but not on a sharded one; the message says what to use instead."""


class ShardUnavailableError(SemsearchError):
    """A shard of a sharded index did not answer (its replicas are down or restarting): try again later."""


class QueryTimeoutError(SemsearchError):
    """Evaluating a filter took longer than the index allows (``SearchIndex.filter_timeout``)."""
