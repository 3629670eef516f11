"""The CPU-heavy half of a write: documents in, chunks and their embeddings out, with no database involved.

:class:`SearchIndex` calls it for every upsert, and a distributed ingest (:mod:`index.distributed.ray_ingest`)
calls the very same code on its workers, so both paths produce the same chunks and the same embeddings, bit
for bit. Validation of the documents themselves (ids, text, metadata) lives here too, for the same reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.encoders.base import Embedder, Vectors
from index.errors import InvalidInputError
from index.ingest.chunking import Chunker
from index.storage.store import PreparedDocument
from index.types import ChunkSpan, Document
from index.validation import check_document

# A title is embedded in front of each chunk only if it takes at most 1/TITLE_SHARE of the token budget.
TITLE_SHARE = 4
# Chunks embedded between two progress reports of a background upsert.
PROGRESS_SLICE = 256

# Documents per group (and per transaction) when a stream of documents is indexed.
DEFAULT_GROUP_SIZE = 64

ChunkProgress = Callable[[int, int], object]
# What is stored of some documents, by id: each one, its content hash and its chunks' embeddings by text.
StoredChunks = Callable[[Sequence[str]], Mapping[str, tuple[Document, str, Mapping[str, bytes]]]]


@dataclass(frozen=True, slots=True)
class Chunked:
    """A document cut into chunks, not yet embedded; ``header`` is embedded in front of each chunk."""

    document: Document
    header: str
    chunks: Sequence[ChunkSpan]


class DocumentPreparer:
    """Chunks documents and embeds their chunks (title in front) with one chunker and one embedder.

    Given ``stored`` (an index's store), a chunk that a stored copy of its document already has, with the
    same text under the same title, keeps its stored embedding instead of being embedded again: changing a
    document's metadata embeds nothing, and editing one paragraph of a long document embeds the chunks that
    changed (the model's embedding depends only on the text it reads, and an index has one model). Only a
    document stored under the current chunking parameters is reused from (its content hash says so)."""

    def __init__(self, embedder: Embedder, chunker: Chunker, stored: StoredChunks | None = None) -> None:
        self.embedder = embedder
        self.chunker = chunker
        self.stored = stored
        self.chunking_fingerprint = json.dumps(chunking_parameters(chunker), sort_keys=True)

    def content_hash(self, doc: Document) -> str:
        """What decides whether a stored document must be embedded again: its content and the chunking."""
        payload = json.dumps(
            [doc.title, doc.text, doc.metadata, self.chunking_fingerprint], ensure_ascii=False, sort_keys=True
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def prepare(
        self,
        documents: Sequence[Document],
        progress: ChunkProgress | None = None,
        reuse: Mapping[str, str] | None = None,
    ) -> list[PreparedDocument]:
        """Each document's chunks and embeddings. Raises :class:`InvalidInputError` for a document with
        nothing to search. ``progress`` is called with ``(chunks embedded, chunks to embed)`` and, when
        given, embedding runs longest-first across all documents in slices of :data:`PROGRESS_SLICE`.
        ``reuse`` names, for a document, another stored one whose chunks' embeddings it may take as its own
        stored copy's (a file moved or renamed: the same text under a new id)."""
        return self.embed(self.chunk(documents), progress, reuse)

    def chunk(self, documents: Sequence[Document]) -> list[Chunked]:
        """The first half of :meth:`prepare`: each document's chunks and the title put in front of them,
        with no model call (so it can run while another batch embeds). Raises :class:`InvalidInputError`
        for a document with nothing to search."""
        headers = [self._title_header(doc.title) for doc in documents]
        reserves = iter(self.embedder.tokenizer.count_tokens([h for h in headers if h]))
        chunked = [
            Chunked(
                doc, header, self.chunker.chunk(doc.text, reserve_tokens=next(reserves) + 1 if header else 0)
            )
            for doc, header in zip(documents, headers, strict=True)
        ]
        for item in chunked:
            if not item.chunks:
                raise InvalidInputError(
                    f"document {item.document.id!r} has no searchable text (only punctuation?)"
                )
        return chunked

    def embed(
        self,
        chunked: Sequence[Chunked],
        progress: ChunkProgress | None = None,
        reuse: Mapping[str, str] | None = None,
    ) -> list[PreparedDocument]:
        """The second half of :meth:`prepare`: embed what :meth:`chunk` made."""
        if not chunked:
            return []
        inputs = [with_header(item.header, chunk.text) for item in chunked for chunk in item.chunks]
        known = self._stored_embeddings(chunked, reuse or {})
        embeddings = np.empty((len(inputs), self.embedder.dim), dtype=np.float32)
        missing = [i for i in range(len(inputs)) if i not in known]
        if missing:
            embeddings[missing] = self._embed([inputs[i] for i in missing], progress)
        for i, vector in known.items():
            embeddings[i] = vector
        prepared: list[PreparedDocument] = []
        row = 0
        for item in chunked:
            vectors = embeddings[row : row + len(item.chunks)]
            prepared.append(
                PreparedDocument(item.document, self.content_hash(item.document), item.chunks, vectors)
            )
            row += len(item.chunks)
        return prepared

    def _stored_embeddings(
        self, chunked: Sequence[Chunked], reuse: Mapping[str, str]
    ) -> dict[int, NDArray[np.float32]]:
        """The stored embedding of each chunk (by its position among all of ``chunked``'s chunks) whose
        document (or the one ``reuse`` names for it) is stored with the same title header and a chunk of
        the same text."""
        if self.stored is None:
            return {}
        donors = [reuse.get(item.document.id, item.document.id) for item in chunked]
        stored = self.stored(list(dict.fromkeys(donors)))
        size = self.embedder.dim * 4
        known: dict[int, NDArray[np.float32]] = {}
        row = 0
        for item, donor in zip(chunked, donors, strict=True):
            document, content_hash, vectors = stored.get(donor, (None, "", {}))
            # Stored under these chunking parameters (they may change between runs: a new title_context or
            # token budget changes what is embedded in front of a chunk), with the title read the same way.
            if (
                document is not None
                and self.content_hash(document) == content_hash
                and self._title_header(document.title) == item.header
            ):
                for offset, chunk in enumerate(item.chunks):
                    vector = vectors.get(chunk.text)
                    if vector is not None and len(vector) == size:
                        known[row + offset] = np.frombuffer(vector, dtype=np.float32)
            row += len(item.chunks)
        return known

    def _embed(self, inputs: list[str], progress: ChunkProgress | None) -> Vectors:
        if progress is None:
            return self.embedder.embed_documents(inputs)
        # Longest first across the whole upload (so each model batch pads little), in slices for progress.
        order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i]))
        out = np.zeros((len(inputs), self.embedder.dim), dtype=np.float32)
        for start in range(0, len(order), PROGRESS_SLICE):
            rows = order[start : start + PROGRESS_SLICE]
            out[rows] = self.embedder.embed_documents([inputs[i] for i in rows])
            progress(min(start + PROGRESS_SLICE, len(order)), len(order))
        return out

    def _title_header(self, title: str | None) -> str:
        """The title to embed in front of each chunk of a document, or "" for none (no title, option off,
        or a title so long it would crowd out the chunk)."""
        title = (title or "").strip()
        if not title or not self.chunker.options.title_context:
            return ""
        if self.embedder.tokenizer.count_tokens([title])[0] > self.chunker.max_tokens // TITLE_SHARE:
            return ""
        return title


def with_header(header: str, text: str) -> str:
    """The text the model embeds for a chunk: the title in front, unless the chunk already starts with it."""
    if not header or text.lstrip("# ").startswith(header):
        return text
    return f"{header}\n\n{text}"


def chunking_parameters(chunker: Chunker) -> dict[str, int]:
    return {
        "max_tokens": chunker.max_tokens,
        "overlap_tokens": chunker.options.overlap_tokens,
        "min_tokens": chunker.options.min_tokens,
        "title_context": int(chunker.options.title_context),
    }


def validate_documents(documents: Sequence[Document]) -> None:
    """Raise :class:`InvalidInputError` unless every document can be stored and read back (see
    :mod:`index.validation`): a clean id, unique in the batch, some text, a clean title and metadata."""
    seen: set[str] = set()
    for position, doc in enumerate(documents):
        where = f"document {position} (id {doc.id[:80]!r})"
        check_document(where, doc)
        if doc.id in seen:
            raise InvalidInputError(f"{where}: the id appears twice in one request")
        seen.add(doc.id)


def batches(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """``documents`` in groups of at most ``size``, a group ending early where an id comes again (so a
    later version of a document is written after the earlier one, never in the same transaction)."""
    group: dict[str, Document] = {}
    for doc in documents:
        if doc.id in group or len(group) >= size:
            yield list(group.values())
            group = {}
        group[doc.id] = doc
    if group:
        yield list(group.values())
