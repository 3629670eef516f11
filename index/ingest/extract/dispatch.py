"""Which format a file is in, read from its bytes (the name only breaks ties between text formats), and the
extractor that reads it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePath

from index.ingest.extract.base import (
    DAMAGED_ZIP,
    CorruptFileError,
    Extracted,
    ExtractionError,
    UnsupportedFormatError,
    open_zip,
    wide_text_codec,
)
from index.ingest.extract.code import LANGUAGES, NAMES

# File name suffixes and the format each names. Binary formats are recognised by their bytes whatever the
# name; the suffix decides only between the text formats (and names what a binary file claims to be).
FORMATS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".doc": "doc",  # Word and Excel 97-2003
    ".xls": "xls",
    ".ppt": "ppt",  # PowerPoint 97-2003
    ".epub": "epub",
    ".odt": "odt",
    ".ods": "ods",
    ".odp": "odp",
    ".csv": "csv",
    ".tsv": "csv",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".eml": "eml",
    ".msg": "msg",  # Outlook's messages
    ".ipynb": "ipynb",  # Jupyter notebooks: JSON
    ".vtt": "vtt",  # transcripts and subtitles: WebVTT, SubRip
    ".srt": "srt",
    ".rtf": "rtf",  # Rich Text Format: TextEdit, WordPad
    ".tex": "latex",  # LaTeX sources: papers, theses, notes
    ".ltx": "latex",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",  # Docusaurus' and Next.js' pages: Markdown, with JSX components kept as text
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".adoc": "text",  # AsciiDoc and Org: plain text as far as reading goes
    ".asciidoc": "text",
    ".org": "text",
    ".log": "text",
    # source code, configuration and data files: index.ingest.extract.code
    **dict.fromkeys(LANGUAGES, "code"),
}
# The formats of documents, as named in a refusal (the code files' suffixes are too many to list there).
DOCUMENT_SUFFIXES = sorted(suffix for suffix, fmt in FORMATS.items() if fmt != "code")
# Formats whose files are text: one that is neither UTF-8 nor declares its encoding is read in the encoding
# its sender names (extract's ``encoding``). Not RTF (its own code pages) nor e-mail (its parts' charsets).
TEXT_FORMATS = {"text", "markdown", "csv", "html", "latex", "vtt", "srt", "ipynb", "code"}
BINARY = {"pdf", "docx", "pptx", "xlsx", "doc", "xls", "ppt", "msg", "epub", "odt", "ods", "odp"}
# Files people have that semsearch does not read, by suffix, and what to do instead: a refusal that says
# what the file is and how to get its text in, rather than only listing the formats read.
# What an image is counted as in a folder or a ZIP, where images are passed over (an image sent on purpose
# is read by OCR: index.ingest.extract.image).
_IMAGE = (
    "an image; semsearch reads pictures of text uploaded, or named by themselves, with its ocr extra "
    "installed, and passes over those in folders and archives"
)
_ARCHIVE = (
    "an archive semsearch does not unpack (it unpacks ZIP); upload it as a .zip, or unpack it and upload the "
    "files in it, or index the folder with `semsearch index`"
)
_MEDIA = "audio or video; semsearch reads its transcript or subtitles (.vtt, .srt)"
NOT_READ = {
    ".mbox": "an mbox mailbox; upload it to the service, which makes each message a document, or save its "
    "messages as .eml files",
    ".pages": "an Apple Pages document; export it as .docx or PDF first",
    ".numbers": "an Apple Numbers spreadsheet; export it as .xlsx or .csv first",
    ".key": "an Apple Keynote presentation; export it as .pptx or PDF first",
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".webp", ".bmp"), _IMAGE),
    ".heic": "an HEIC photo (an iPhone's); save it as JPEG or PNG, which semsearch's ocr extra reads",
    **dict.fromkeys((".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz"), _ARCHIVE),
    **dict.fromkeys((".mp3", ".wav", ".m4a", ".ogg", ".flac", ".mp4", ".mov", ".mkv", ".webm"), _MEDIA),
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML = {"word/document.xml": "docx", "ppt/presentation.xml": "pptx", "xl/workbook.xml": "xlsx"}
OPENDOCUMENT = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
_SNIFF_BYTES = 8192
# The most a ZIP-based file (DOCX, PPTX, XLSX, ODT, ODS, ODP, EPUB) may unpack to: a workbook that size holds
# more cells than the sheet reader takes, a document more text than SEMSEARCH_MAX_TEXT_CHARS lets in.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024

log = logging.getLogger(__name__)


def format_of(name: str) -> str | None:
    """The format a file's name says it is in (by its whole name, ``Makefile``, else its suffix), or
    ``None``."""
    path = PurePath(name)
    known = NAMES.get(path.name)
    return known[0] if known is not None else FORMATS.get(path.suffix.lower())


def sniff(data: bytes, name: str) -> str:
    """The format of ``data`` (a key of the extractors), or :class:`UnsupportedFormatError`."""
    claimed = format_of(name)
    # Readers accept a PDF header anywhere in the first KB; a text file that quotes one ("%PDF-1.7" in notes
    # on the format) is still text when its name says so and it does not start with it.
    if data.startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and (claimed is None or claimed in BINARY)):
        return "pdf"
    if data[:_SNIFF_BYTES].lstrip().startswith(b"{\\rtf"):  # whatever the name, as a PDF is
        return "rtf"
    if claimed == "rtf" and not _is_zip_or_ole(data):  # a Word file named .rtf is read as what it is
        raise CorruptFileError(f"{name}: named as RTF but does not start as one ('{{\\rtf'); is it damaged?")
    suffix = PurePath(name).suffix.lower()
    from index.ingest.extract.image import is_image

    if is_image(data, name):  # read by OCR where it is installed, else refused with what to install
        return "image"
    if suffix in NOT_READ and not _is_zip_or_ole(data):
        raise UnsupportedFormatError(f"{name}: {NOT_READ[suffix]}")
    if data.startswith(b"PK\x03\x04"):
        return _zip_format(data, name)
    if data.startswith(_OLE):  # Word or Excel 97-2003; PowerPoint, Outlook and encrypted files are OLE2 too
        from index.ingest.extract.legacy_office import ole_format, open_ole

        try:
            ole = open_ole(data, name)
        except CorruptFileError:
            if suffix in NOT_READ:  # an Outlook message, a .ppt: what it is says more than that it is damaged
                raise UnsupportedFormatError(f"{name}: {NOT_READ[suffix]}") from None
            raise
        try:
            return ole_format(ole, name)
        finally:
            ole.close()
    head = data[:_SNIFF_BYTES]
    if claimed in ("doc", "xls") and b"\x00" not in head:
        # Not OLE2: what many programs save under these names. A web page (Word's and Excel's own HTML), or
        # text: an "export to Excel" that is a tab-separated table, notes named .doc.
        if head.lstrip()[:100].lower().startswith((b"<!doctype html", b"<html")):
            return "html"
        return "csv" if claimed == "xls" else "text"
    if claimed in BINARY:
        raise CorruptFileError(f"{name}: named as {claimed.upper()} but the bytes are not; is it damaged?")
    if b"\x00" in head and wide_text_codec(data) is None:
        what = (
            "looks like a binary file, not text"
            if claimed
            else "a binary file of a type semsearch does not read"
        )
        raise UnsupportedFormatError(f"{name}: {what}")
    if claimed is not None:
        return claimed
    start = head.lstrip()[:100].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith(b"\\documentclass"):  # a LaTeX source without its .tex
        return "latex"
    if PurePath(name).suffix:
        raise UnsupportedFormatError(f"{name}: {not_read(name)}")
    return "text"


def not_read(name: str) -> str:
    """Why a file named ``name`` (of a suffix :func:`format_of` does not know) is not read, and what to do."""
    suffix = PurePath(name).suffix.lower()
    if suffix in NOT_READ:
        return NOT_READ[suffix]
    return (
        f"unsupported file type; semsearch reads {', '.join(DOCUMENT_SUFFIXES)}, and source code and "
        "configuration files (.py, .js, .json, .yaml and others: docs/ingest.md lists them)"
    )


def _as_utf8(data: bytes, name: str, fmt: str, encoding: str) -> bytes:
    """``data`` in UTF-8, read as its readers would read it (UTF-8, a byte order mark, the charset an HTML
    page or a LaTeX source declares) and else in the sender's ``encoding``."""
    from index.ingest.extract.text import declared_html_encoding, decode

    declared = None
    if fmt == "html":
        declared = declared_html_encoding(data)
    elif fmt == "latex":
        from index.ingest.extract.latex import declared_encoding

        declared = declared_encoding(data)
    return decode(data, name, declared, fallback=encoding).encode("utf-8")


def _is_zip_or_ole(data: bytes) -> bool:
    """Whether ``data`` is a ZIP or OLE container: then its bytes say what it is, whatever its name (a .docx
    renamed .zip is read, an encrypted .doc is said to be encrypted), and the name only words the refusal."""
    return data.startswith((b"PK\x03\x04", _OLE))


def extract(data: bytes, name: str, encoding: str | None = None) -> Extracted:
    """The text of one file (``name`` is used in messages and to break ties between text formats). A text
    file that is not UTF-8 and does not declare its encoding is read in ``encoding`` (a codec from
    :func:`~index.ingest.extract.text.text_encoding`), and refused without one. Raises an
    :class:`~index.ingest.extract.ExtractionError` subclass that says what is wrong and what to do."""
    if not data.strip():
        raise CorruptFileError(f"{name}: the file is empty")
    fmt = sniff(data, name)
    if fmt == "zip":  # many files, not one document: index.ingest.archive reads them
        raise UnsupportedFormatError(
            f"{name}: a ZIP archive of files, not one document; upload it to /documents/files, or index it "
            "with `semsearch index`: the files in it become documents"
        )
    if encoding is not None and fmt in TEXT_FORMATS:
        data = _as_utf8(data, name, fmt, encoding)
    try:
        return _extractor(fmt)(data, name)
    except ExtractionError:
        raise
    except RecursionError:  # a parser that recurses per level of nesting, given a file nested deeper
        raise CorruptFileError(f"{name}: nested too deeply to read ({fmt.upper()})") from None
    except Exception as error:
        # A reader's own error on a damaged file that no rule above foresaw (tests/index/test_extract_fuzz.py
        # looks for them): the file is refused, not the request failed with a 500. Logged with its trace,
        # for a reader's bug to be seen and fixed.
        log.warning("reading %s as %s failed", name, fmt, exc_info=True)
        detail = f"{type(error).__name__}: {error}"[:300]
        raise CorruptFileError(f"{name}: not readable as {fmt.upper()} ({detail})") from None


def _zip_format(data: bytes, name: str) -> str:
    """What a ZIP is: an Office, OpenDocument or EPUB file by what it holds, else ``"zip"`` (an archive of
    files, :mod:`index.ingest.archive`), unless its name says it is an Apple iWork file."""
    archive = open_zip(data, name)
    try:
        with archive:
            names = set(archive.namelist())
            # zipfile never inflates a member past the size its directory states, so the sum bounds what
            # reading the file can cost: a 200 MB upload could otherwise inflate to 200 GB.
            unzipped = sum(info.file_size for info in archive.infolist())
            # EPUB and OpenDocument name their type in a first, stored member
            mimetype = archive.read("mimetype").strip() if "mimetype" in names else b""
    except DAMAGED_ZIP as error:
        raise CorruptFileError(f"{name}: a damaged ZIP archive ({error})") from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise CorruptFileError(
            f"{name}: unpacks to {unzipped:,} bytes, more than the {MAX_UNZIPPED_BYTES:,} read from one file "
            "(a ZIP bomb, or a document to split in parts)"
        )
    if mimetype == b"application/epub+zip":
        return "epub"
    if opendocument := OPENDOCUMENT.get(mimetype.decode("ascii", "replace")):
        return opendocument
    for part, fmt in _OOXML.items():
        if part in names:
            return fmt
    suffix = PurePath(name).suffix.lower()
    if suffix in NOT_READ and suffix != ".zip":  # an Apple iWork file is a ZIP too
        raise UnsupportedFormatError(f"{name}: {NOT_READ[suffix]}")
    if mimetype or "[Content_Types].xml" in names:  # a document of a kind not read (ODG, Visio): no folder
        raise UnsupportedFormatError(
            f"{name}: a ZIP-based document, not a DOCX, PPTX, XLSX, EPUB or OpenDocument (ODT, ODS, ODP) file"
        )
    return "zip"


def _extractor(fmt: str) -> Callable[[bytes, str], Extracted]:
    # Imported on use: a service that never receives a PDF never loads PDFium.
    if fmt == "pdf":
        from index.ingest.extract.pdf import extract_pdf

        return extract_pdf
    if fmt in ("doc", "xls"):
        from index.ingest.extract import legacy_office

        return legacy_office.extract_doc if fmt == "doc" else legacy_office.extract_xls
    if fmt == "ppt":
        from index.ingest.extract.legacy_powerpoint import extract_ppt

        return extract_ppt
    if fmt in ("docx", "pptx", "xlsx"):
        from index.ingest.extract import office

        return {"docx": office.extract_docx, "pptx": office.extract_pptx, "xlsx": office.extract_xlsx}[fmt]
    if fmt == "epub":
        from index.ingest.extract.epub import extract_epub

        return extract_epub
    if fmt in ("odt", "ods", "odp"):
        from index.ingest.extract import opendocument

        readers = {"odt": opendocument.extract_odt, "ods": opendocument.extract_ods}
        return readers.get(fmt, opendocument.extract_odp)
    if fmt == "rtf":
        from index.ingest.extract.rtf import extract_rtf

        return extract_rtf
    if fmt == "latex":
        from index.ingest.extract.latex import extract_latex

        return extract_latex
    if fmt == "image":
        from index.ingest.extract.image import extract_image

        return extract_image
    if fmt in ("eml", "msg"):
        from index.ingest.extract import mail

        return mail.extract_eml if fmt == "eml" else mail.extract_msg
    if fmt == "ipynb":
        from index.ingest.extract.notebook import extract_ipynb

        return extract_ipynb
    if fmt == "code":
        from index.ingest.extract.code import extract_code

        return extract_code
    if fmt in ("vtt", "srt"):
        from index.ingest.extract import transcript

        return transcript.extract_vtt if fmt == "vtt" else transcript.extract_srt
    from index.ingest.extract import text

    return {
        "csv": text.extract_csv,
        "html": text.extract_html,
        "markdown": text.extract_markdown,
        "text": text.extract_text,
    }[fmt]
