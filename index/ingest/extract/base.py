"""What every extractor returns, the errors it raises, and the page arithmetic of extracted text."""

from __future__ import annotations

import bisect
import codecs
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from index.errors import InvalidInputError

PAGE_BREAK = "\f"

# Byte order marks that name a text encoding with NUL bytes in it; UTF-32's first, as UTF-32-LE's begins with
# UTF-16-LE's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def wide_text_codec(data: bytes) -> str | None:
    """``"utf-16"`` or ``"utf-32"`` if ``data`` starts with that encoding's byte order mark, else None: text
    saved as "Unicode" by Windows tools, which is not binary for all its NUL bytes."""
    return next((codec for bom, codec in _WIDE_BOMS if data.startswith(bom)), None)


# What reading a damaged ZIP-based file (Office, OpenDocument, EPUB) raises: a damaged archive or compressed
# stream, a compression method zipfile does not have, a missing member, a member's bytes that do not decode.
DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, KeyError, ValueError)


class ExtractionError(InvalidInputError):
    """A file that cannot be turned into text; the message names the problem and what to do."""


class UnsupportedFormatError(ExtractionError):
    """The bytes are not in a format semsearch reads (HTTP 415)."""


class EncryptedFileError(ExtractionError):
    """The file needs a password to open."""


class NoTextError(ExtractionError):
    """The file opens but holds no text (a scanned PDF without a text layer, an empty sheet...)."""


class CorruptFileError(ExtractionError):
    """The file claims a format but cannot be parsed as it."""


# The most bytes a ZIP's central directory (its list of members) may take. zipfile reads the whole list into
# Python objects when it opens an archive, whatever the members are: a 28 MB upload of 300,000 empty members
# took 2.2 s and 250 MB to open (ad hoc), and one of 200 MB would take some 15 s and 2 GB. 4 MiB lists
# 30,000 to 90,000 members (46 bytes each and the name), more than an Office file, a book or a folder has.
MAX_ZIP_DIRECTORY_BYTES = 4 * 1024 * 1024
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"


def zip_directory_bytes(data: bytes) -> int | None:
    """The size of the central directory a ZIP's end record states (its ZIP64 record's, where it has one),
    read without opening the archive; None where there is no end record (zipfile then says it is damaged)."""
    at = data.rfind(_END_OF_DIRECTORY, max(0, len(data) - 22 - 65_535))
    if at < 0 or at + 22 > len(data):
        return None
    size = int.from_bytes(data[at + 12 : at + 16], "little")
    locator = at - 20
    if size == 0xFFFFFFFF and locator >= 0 and data[locator : locator + 4] == _ZIP64_LOCATOR:
        record = int.from_bytes(data[locator + 8 : locator + 16], "little")
        if data[record : record + 4] == _ZIP64_END:
            size = int.from_bytes(data[record + 40 : record + 48], "little")
    return size


def open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """``data`` opened as a ZIP, or :class:`CorruptFileError` (damaged, or listing more members than
    :data:`MAX_ZIP_DIRECTORY_BYTES` holds: refused before zipfile reads the list)."""
    listed = zip_directory_bytes(data)
    if listed is not None and listed > MAX_ZIP_DIRECTORY_BYTES:
        raise CorruptFileError(
            f"{name}: its list of members takes {listed:,} bytes, more than the {MAX_ZIP_DIRECTORY_BYTES:,} "
            "read (hundreds of thousands of members: split it in parts)"
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except DAMAGED_ZIP as error:
        raise CorruptFileError(f"{name}: a damaged ZIP archive ({error})") from None


@dataclass(frozen=True, slots=True)
class Extracted:
    """One file as a document: Markdown ``text`` (pages separated by :data:`PAGE_BREAK` when ``pages`` is
    set), a ``title`` if the file names one, the ``format`` read from its bytes, and ``fields`` the file
    states about itself (a Markdown file's front matter) as JSON values."""

    text: str
    title: str | None
    format: str
    pages: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def page_starts(text: str) -> list[int]:
    """The offsets where pages 2, 3, ... start (just after each page break)."""
    starts: list[int] = []
    at = text.find(PAGE_BREAK)
    while at >= 0:
        starts.append(at + 1)
        at = text.find(PAGE_BREAK, at + 1)
    return starts


def page_of(starts: list[int], offset: int) -> int:
    """The 1-based page holding character ``offset``, given :func:`page_starts` of the text."""
    return bisect.bisect_right(starts, offset) + 1


def markup_elements(markup: str) -> int:
    """At most how many elements HTML or XML ``markup`` holds: its ``<`` that do not end an element or open
    a comment, declaration or processing instruction. Counted in C, before a parser builds a tree of them."""
    return markup.count("<") - markup.count("</") - markup.count("<!") - markup.count("<?")


def check_markup(elements: int, limit: int, name: str, what: str) -> None:
    """Refuse a file whose markup holds more than ``limit`` elements before a tree of them is built: a tree
    costs 100 bytes to a kilobyte an element, and a file of nothing but tags (or a ZIP of such a file, a
    thousand times smaller) would take gigabytes and minutes to read. ``what`` names the file's kind."""
    if elements > limit:
        raise CorruptFileError(
            f"{name}: the {what} holds more than {limit:,} elements of markup; split it into smaller files, "
            "or save it as text"
        )
