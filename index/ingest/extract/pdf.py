"""PDF text with pypdfium2 (PDFium, the engine of Chrome's viewer): the fastest of the candidates measured
and the only one that kept words whole where the producer split them into runs (bench/pdf_extractors.py,
docs/ingest.md). PDFium is not thread-safe, so one PDF is read at a time in a process."""

from __future__ import annotations

import contextlib
import ctypes
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
# Form fields whose value is text a person wrote or chose (not a check box's "Yes" or "Off").
_TEXT_FIELDS = frozenset(
    {pdfium_c.FPDF_FORMFIELD_TEXTFIELD, pdfium_c.FPDF_FORMFIELD_COMBOBOX, pdfium_c.FPDF_FORMFIELD_LISTBOX}
)
# Annotations whose Contents is text someone put on the page: a typewriter or "Fill & Sign" box (FreeText), a
# sticky note, a comment on highlighted or struck-out text. Not a popup (its parent's text again) or a link.
_NOTES = frozenset(
    {
        pdfium_c.FPDF_ANNOT_TEXT,
        pdfium_c.FPDF_ANNOT_FREETEXT,
        pdfium_c.FPDF_ANNOT_HIGHLIGHT,
        pdfium_c.FPDF_ANNOT_UNDERLINE,
        pdfium_c.FPDF_ANNOT_SQUIGGLY,
        pdfium_c.FPDF_ANNOT_STRIKEOUT,
    }
)
# The most annotations read from one PDF (a page may list one annotation object over and over, as a page
# tree may a page); real documents hold hundreds.
MAX_PDF_ANNOTATIONS = 20_000
# Titles producers write when the source had none (Chrome prints "about:blank").
_PLACEHOLDER_TITLES = {"", "about:blank", "untitled", "untitled document", "microsoft word - document1"}


def extract_pdf(data: bytes, name: str) -> Extracted:
    with _PDFIUM:
        pages, title, fields, scanned, written = _read(data, name)
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
    if not any(line.strip() for page in (*pages, *written) for line in page):
        if not scanned:
            raise NoTextError(f"{name}: the PDF has no text, and no pictures of text")
        if not readable:
            raise NoTextError(
                f"{name}: the PDF has no text layer (a scan?), and OCR is not installed here: install "
                "semsearch's ocr extra (pip install 'semsearch[ocr]'), or run it through an OCR tool "
                "(ocrmypdf, say) first"
            )
        raise NoTextError(f"{name}: OCR found no text in the PDF's {len(scanned)} scanned page(s)")
    text = layout.pages_text(pages, PAGE_BREAK, written)
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


def _read(
    data: bytes, name: str
) -> tuple[list[list[str]], str | None, dict[str, object], list[int], list[list[str]]]:
    """The lines of each page, the title, the file's fields, the pages that are scans (no text layer, a
    picture), and what was written on each page (:class:`_Annotations`)."""
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
        # Before the pages are loaded, so that their form fields can be read; a form PDFium cannot set up
        # leaves its pages read without their fields.
        with contextlib.suppress(pdfium.PdfiumError):
            document.init_forms()
        if len(document) > MAX_PDF_PAGES:
            raise CorruptFileError(
                f"{name}: the PDF has {len(document):,} pages, more than the {MAX_PDF_PAGES:,} read from one "
                "file; split it"
            )
        pages: list[list[str]] = []
        written_on: list[list[str]] = []
        scanned: list[int] = []
        annotations = _Annotations(document.formenv.raw if document.formenv else None)
        for index in range(len(document)):
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
                written = annotations.lines(page.raw)
                if not text.strip() and next(page.get_objects(filter=[_IMAGE]), None) is not None:
                    scanned.append(index)
            finally:
                page.close()
            # PDFium joins a line ending in a hyphen to the next itself, marking the hyphen U+FFFE: split
            # them again, so that a running footer glued on is seen (layout.paragraphs joins the word).
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "\ufffe\n")
            pages.append(text.split("\n"))
            written_on.append(written)
        return pages, title, fields, scanned, written_on
    except pdfium.PdfiumError as error:
        raise CorruptFileError(f"{name}: the PDF is damaged ({error})") from None
    finally:
        document.close()


class _Annotations:
    """What was written on a PDF's pages rather than printed in them, which PDFium's text layer leaves out:
    the values of filled-in form fields (a text field's, a list's choice), each after its label for people
    (the field's alternate name) when it has one, and the text of typewriter boxes, sticky notes and
    comments. Each once per document (a field shown on every page is one value), at most
    :data:`MAX_PDF_ANNOTATIONS` read in all."""

    def __init__(self, form: Any) -> None:
        self.form = form
        self.read = 0
        self.seen: set[str] = set()

    def lines(self, page: Any) -> list[str]:
        found: list[str] = []
        count = min(pdfium_c.FPDFPage_GetAnnotCount(page), MAX_PDF_ANNOTATIONS - self.read)
        for index in range(max(count, 0)):
            self.read += 1
            annotation = pdfium_c.FPDFPage_GetAnnot(page, index)
            if not annotation:
                continue
            try:
                line = self._text(annotation)
            finally:
                pdfium_c.FPDFPage_CloseAnnot(annotation)
            line = " ".join(line.split())
            if line and line not in self.seen:
                self.seen.add(line)
                found.append(line)
        return found

    def _text(self, annotation: Any) -> str:
        kind = pdfium_c.FPDFAnnot_GetSubtype(annotation)
        if kind in _NOTES:
            return _wide(
                lambda buffer, size: pdfium_c.FPDFAnnot_GetStringValue(annotation, b"Contents", buffer, size)
            )
        form = self.form
        if kind != pdfium_c.FPDF_ANNOT_WIDGET or form is None:
            return ""
        if pdfium_c.FPDFAnnot_GetFormFieldType(form, annotation) not in _TEXT_FIELDS:
            return ""
        value = _wide(
            lambda buffer, size: pdfium_c.FPDFAnnot_GetFormFieldValue(form, annotation, buffer, size)
        )
        if not value.strip():
            return ""
        label = _wide(
            lambda buffer, size: pdfium_c.FPDFAnnot_GetFormFieldAlternateName(form, annotation, buffer, size)
        ).strip()
        return f"{label.rstrip(':')}: {value}" if label else value


def _wide(read: Any) -> str:
    """A string PDFium writes as UTF-16LE ending in NUL: ``read(buffer, size)`` asked for its size, then
    for the string."""
    size = int(read(None, 0))
    if size <= 2:
        return ""
    buffer = ctypes.create_string_buffer(size)
    read(ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size)
    return buffer.raw[: size - 2].decode("utf-16-le", "replace")
