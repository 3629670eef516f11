"""One uploaded file as what it holds: its document, a ZIP archive's files (:mod:`index.ingest.archive`) or a
mailbox's messages (:mod:`index.ingest.mailbox`), each a document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from index.ingest.archive import read_archive
from index.ingest.extract import ExtractionError, sniff
from index.ingest.extract.dispatch import MAX_UNZIPPED_BYTES
from index.ingest.mailbox import is_mailbox, read_mailbox
from index.ingest.sources import FileContents, SourceError, SourceFile, file_document


def read_file(
    doc_id: str,
    name: str,
    data: bytes,
    metadata: Mapping[str, Any] | None = None,
    encoding: str | None = None,
    *,
    id_prefix: str = "",
    max_file_bytes: int = MAX_UNZIPPED_BYTES,
) -> FileContents:
    """The document of one file's bytes (:func:`~index.ingest.sources.file_document`); for a ZIP archive,
    the documents of the files in it (ids ``id_prefix`` plus their paths), and for a mailbox those of its
    messages (``doc_id`` is then not used). Raises :class:`~index.ingest.extract.ExtractionError` for a file
    (or archive) that cannot be read at all."""
    if data.startswith(b"PK\x03\x04") and sniff(data, name) == "zip":
        return read_archive(
            name,
            data,
            metadata=metadata,
            encoding=encoding,
            id_prefix=id_prefix,
            max_file_bytes=max_file_bytes,
        )
    if is_mailbox(data, name):
        return read_mailbox(name, data, metadata, id_prefix)
    return FileContents(documents=[file_document(doc_id, name, data, dict(metadata or {}), encoding)])


def read_source(source: SourceFile, encoding: str | None, max_file_bytes: int) -> FileContents:
    """What a file named on the command line holds, read as an upload of it is (:func:`read_file`): a ZIP
    archive's files, a mailbox's messages; :class:`SourceError` naming the file if it cannot be read."""
    try:
        data = source.path.read_bytes()
    except OSError as error:
        raise SourceError(f"{source.path}: cannot be read ({error.strerror})") from error
    try:
        return read_file(
            source.relative,
            source.path.name,
            data,
            {"path": source.relative},
            encoding,
            max_file_bytes=max_file_bytes,
        )
    except ExtractionError as error:
        said = str(error).removeprefix(f"{source.path.name}: ")  # the reader names the file; so does this
        raise SourceError(f"{source.path}: {said}") from None
