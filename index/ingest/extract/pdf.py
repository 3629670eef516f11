"""PDF text with pypdfium2 (PDFium, the engine of Chrome's viewer): the fastest of the candidates measured
and the only one that kept words whole where the producer split them into runs (bench/pdf_extractors.py,
docs/ingest.md). PDFium is not thread-safe, so one PDF is read at a time in a process."""

from __future__ import annotations

import threading
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from index.ingest.extract import layout, ocr
from index.ingest.extract.base import (
    PAGE_BREAK,
    CorruptFileError,
    EncryptedFileError,
    Extracted,
    NoTextError,
)
from index.ingest.extract.properties import file_fields, pdf_date

_PDFIUM = threading.Lock()
_IMAGE = pdfium_c.FPDF_PAGEOBJ_IMAGE
# The most pages read from one PDF. A page tree may name one page object over and over, six bytes a page: a
# 120 KB file of 20,000 pages read in 0.4 s, so the 200 MB upload limit would let in 33 million pages, some
# ten minutes of PDFium and gigabytes of page lists. The longest real documents run to tens of thousands.
MAX_PDF_PAGES = 100_000
# Titles producers write when the source had none (Chrome prints "about:blank").
_PLACEHOLDER_TITLES = {"", "about:blank", "untitled", "untitled document", "microsoft word - document1"}


def extract_pdf(data: bytes, name: str) -> Extracted:
    with _PDFIUM:
        pages, title, fields, scanned = _read(data, name)
    readable = bool(scanned) and ocr.available()
    if readable and len(scanned) > ocr.MAX_PAGES:
        raise CorruptFileError(
            f"{name}: the PDF has {len(scanned):,} scanned pages, more than the {ocr.MAX_PAGES:,} OCR reads "
            "from one file (seconds a page); split it"
        )
    if readable:
        # A page without a text layer but with a picture is a scan: read by OCR, a page at a time, rendered
        # under PDFium's lock and read outside it (another PDF is read meanwhile).
        for index in scanned:
            with _PDFIUM:
                image = _render(data, index)
            pages[index] = ocr.page_lines(image)
        fields["ocr_pages"] = len(scanned)
    if not any(line.strip() for page in pages for line in page):
        if not scanned:
            raise NoTextError(f"{name}: the PDF has no text, and no pictures of text")
        if not readable:
            raise NoTextError(
                f"{name}: the PDF has no text layer (a scan?), and OCR is not installed here: install "
                "semsearch's ocr extra (pip install 'semsearch[ocr]'), or run it through an OCR tool "
                "(ocrmypdf, say) first"
            )
        raise NoTextError(f"{name}: OCR found no text in the PDF's {len(scanned)} scanned page(s)")
    text = layout.pages_text(pages, PAGE_BREAK)
    return Extracted(text=text, title=title, format="pdf", pages=len(pages), fields=fields)


def _render(data: bytes, index: int) -> Any:
    """Page ``index`` of the PDF as a greyscale PIL image at the resolution OCR reads (less for a page so
    large that its longer side would pass :data:`~index.ingest.extract.ocr.MAX_SIDE` pixels)."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[index]
        try:
            scale = min(ocr.RESOLUTION / 72, ocr.MAX_SIDE / max(*page.get_size(), 1.0))
            return page.render(scale=scale, grayscale=True).to_pil()
        finally:
            page.close()
    finally:
        document.close()


def _read(data: bytes, name: str) -> tuple[list[list[str]], str | None, dict[str, object], list[int]]:
    """The lines of each page, the title, the file's fields, and the pages that are scans: no text layer,
    a picture."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise EncryptedFileError(
                f"{name}: the PDF is encrypted with a password; save an unprotected copy and upload that"
            ) from None
        raise CorruptFileError(f"{name}: not a readable PDF ({error})") from None
    try:
        info = document.get_metadata_dict()
        title = (info.get("Title") or "").strip()
        title = None if title.lower() in _PLACEHOLDER_TITLES else title
        fields = file_fields(
            author=info.get("Author"),
            subject=info.get("Subject"),
            keywords=info.get("Keywords"),
            created=pdf_date(info.get("CreationDate")),
            modified=pdf_date(info.get("ModDate")),
        )
        if len(document) > MAX_PDF_PAGES:
            raise CorruptFileError(
                f"{name}: the PDF has {len(document):,} pages, more than the {MAX_PDF_PAGES:,} read from one "
                "file; split it"
            )
        pages: list[list[str]] = []
        scanned: list[int] = []
        for index in range(len(document)):
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
                if not text.strip() and next(page.get_objects(filter=[_IMAGE]), None) is not None:
                    scanned.append(index)
            finally:
                page.close()
            # PDFium joins a line ending in a hyphen to the next itself, marking the hyphen U+FFFE: split
            # them again, so that a running footer glued on is seen (layout.paragraphs joins the word).
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "\ufffe\n")
            pages.append(text.split("\n"))
        return pages, title, fields, scanned
    except pdfium.PdfiumError as error:
        raise CorruptFileError(f"{name}: the PDF is damaged ({error})") from None
    finally:
        document.close()
