"""Files of nothing but markup are refused before a tree of it is built (index/ingest/extract/base.py's
check_markup): an HTML page, an EPUB book, an Office file; and a PDF of more pages than the bound before its
pages are read. A property test holds the count of elements to ElementTree's."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.extract import CorruptFileError, epub, extract, office
from index.ingest.extract.base import markup_elements
from index.ingest.extract.text import MAX_HTML_ELEMENTS
from tests.documents import docx_bytes, docx_of_empty_runs, epub_bytes


def test_an_html_page_of_nothing_but_tags_is_refused_before_it_is_parsed() -> None:
    bomb = ("<html><body>" + "<b>" * (MAX_HTML_ELEMENTS + 1)).encode()
    with pytest.raises(CorruptFileError, match=f"more than {MAX_HTML_ELEMENTS:,} elements of markup"):
        extract(bomb, "tags.html")
    # a page of ordinary size is read as before
    assert extract(b"<html><body><p>Fine.</p></body></html>", "ok.html").text == "Fine.\n"


def test_an_epub_counts_its_chapters_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(epub, "MAX_HTML_ELEMENTS", 100)
    chapter = "<html><body>" + "<p>words</p>" * 40 + "</body></html>"
    small = epub_bytes("<dc:title>Short</dc:title>", [("one.xhtml", chapter), ("two.xhtml", chapter)])
    assert extract(small, "short.epub").text.count("words") == 80
    long = epub_bytes("<dc:title>Long</dc:title>", [(f"{n}.xhtml", chapter) for n in range(3)])
    with pytest.raises(CorruptFileError, match=r"^long\.epub: the book holds more than 100 elements"):
        extract(long, "long.epub")


def test_an_office_file_of_empty_runs_is_refused_while_it_is_unpacked() -> None:
    bomb = docx_of_empty_runs(office.MAX_XML_ELEMENTS + 1)
    assert len(bomb) < 200_000  # an upload of 90 KB; parsed whole, more than a gigabyte
    with pytest.raises(CorruptFileError, match=r"^runs\.docx: the DOCX file holds more than 5,000,000"):
        extract(bomb, "runs.docx")
    assert "Some text." in extract(docx_of_empty_runs(1_000), "few.docx").text


def test_a_damaged_office_file_is_still_reported_as_damaged() -> None:
    data = bytearray(docx_bytes("T", [("H", ["text"])]))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64  # inside a compressed part
    with pytest.raises(CorruptFileError, match="DOCX"):
        extract(bytes(data), "damaged.docx")


# The count against ElementTree's: random trees of elements with text and attributes (escaped), comments and
# processing instructions between them.

names = st.sampled_from(["a", "w:t", "text:p", "p"])
texts = st.text(alphabet="ab <>&/!?", max_size=6)
# A "<" in a comment or a processing instruction counts as an element (the count is an upper bound).
asides = st.text(alphabet="ab >&/!", max_size=6)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> ET.Element:
    element = ET.Element(draw(names).replace(":", "_"), {"k": draw(texts)} if draw(st.booleans()) else {})
    element.text = draw(texts)
    if depth < 4:
        for _ in range(draw(st.integers(0, 3))):
            child = draw(trees(depth + 1))
            child.tail = draw(texts)
            element.append(child)
            if draw(st.booleans()):
                element.append(ET.Comment(draw(asides).replace("-", "")))
            if draw(st.booleans()):
                element.append(ET.ProcessingInstruction("pi", draw(asides).replace("?", "")))
    return element


@settings(max_examples=200, deadline=None)
@given(trees())
def test_the_count_is_the_number_of_elements(tree: ET.Element) -> None:
    markup = '<?xml version="1.0"?>' + ET.tostring(tree, encoding="unicode")
    assert markup_elements(markup) == sum(1 for _ in ET.fromstring(markup).iter())


def test_a_pdf_of_more_pages_than_the_bound_is_refused_before_its_pages_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page tree may name one page over and over, six bytes a page: the upload limit would let in 33
    million pages."""
    from pypdf import PdfWriter

    from index.ingest.extract import pdf

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    for _ in range(60):
        writer.add_page(writer.pages[0])
    out = io.BytesIO()
    writer.write(out)
    monkeypatch.setattr(pdf, "MAX_PDF_PAGES", 50)
    with pytest.raises(CorruptFileError, match="61 pages, more than the 50 read from one file"):
        extract(out.getvalue(), "pages.pdf")
