"""Files to Markdown: the bytes of a PDF, Office, OpenDocument, RTF, LaTeX, CSV, EPUB, HTML, e-mail, Jupyter
notebook, transcript, Markdown or text file become one document's text, in Markdown so that the chunker's
block rules (headings, lists, tables, paragraphs) apply.

Paged formats (PDF, PPTX, ODP) separate their pages with a form feed (``\\f``, the page break of plain text):
the page a chunk starts on is one plus the form feeds before it (:func:`page_of`), so pages survive every
path a text takes (storage, export, reindexing) without a field of their own. docs/ingest.md says which
library reads which format, and why.
"""

from __future__ import annotations

from index.ingest.extract.base import (
    PAGE_BREAK,
    CorruptFileError,
    EncryptedFileError,
    Extracted,
    ExtractionError,
    NoTextError,
    UnsupportedFormatError,
    page_of,
    page_starts,
)
from index.ingest.extract.dispatch import FORMATS, extract, format_of, not_read, sniff

__all__ = [
    "FORMATS",
    "PAGE_BREAK",
    "CorruptFileError",
    "EncryptedFileError",
    "Extracted",
    "ExtractionError",
    "NoTextError",
    "UnsupportedFormatError",
    "extract",
    "format_of",
    "not_read",
    "page_of",
    "page_starts",
    "sniff",
]
