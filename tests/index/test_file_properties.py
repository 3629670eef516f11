"""What files say about themselves (author, keywords, language, dates) becomes metadata: real PDF, DOCX,
PPTX, XLSX, EPUB and HTML files written by their own libraries, cleaned values, and property tests of the
PDF date reader and the cleaning against plain references."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index import Document, InvalidInputError, SearchIndex
from index.ingest.extract import extract
from index.ingest.extract.properties import MAX_BYTES, MAX_CHARS, clean, file_fields, iso_date, pdf_date
from index.ingest.sources import file_document
from index.validation import MAX_TITLE_LENGTH, check_metadata
from tests.documents import docx_bytes, epub_bytes, pptx_bytes, xlsx_bytes
from tests.fakes import FakeEmbedder

FILES = Path(__file__).resolve().parents[1] / "data" / "files"


def pdf_with_info(info: dict[str, str]) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(FILES / "lighthouse.pdf"))
    writer.add_metadata(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_gives_its_author_subject_keywords_and_dates() -> None:
    data = pdf_with_info(
        {
            "/Author": "Ada Keeper",
            "/Subject": "Lighthouses",
            "/Keywords": "lamps; fog, lenses",
            "/CreationDate": "D:20240105103000+01'00'",
            "/ModDate": "D:2024",
        }
    )
    fields = extract(data, "lights.pdf").fields
    assert fields == {
        "author": "Ada Keeper",
        "subject": "Lighthouses",
        "keywords": ["lamps", "fog", "lenses"],
        "created": "2024-01-05T10:30:00+01:00",
        "modified": "2024-01-01T00:00:00",
    }


def test_the_shipped_pdf_gives_the_date_chromium_printed_it() -> None:
    fields = extract((FILES / "lighthouse.pdf").read_bytes(), "lighthouse.pdf").fields
    assert set(fields) <= {"created", "modified"}
    assert datetime.datetime.fromisoformat(fields["created"]).year >= 2024


def test_office_files_give_their_core_properties() -> None:
    import docx
    import openpyxl
    import pptx

    when = datetime.datetime(2024, 3, 1, 9, 15)  # stored as UTC, read back naive
    expected = {
        "author": "Ada Keeper",
        "subject": "Lights",
        "keywords": ["lamps", "fog"],
        "language": "en-GB",
        "category": "History",
        "created": "2024-03-01T09:15:00+00:00",
        "modified": "2024-03-01T09:15:00+00:00",
    }

    made: list[tuple[str, Any]] = [
        ("docx", docx.Document(io.BytesIO(docx_bytes("Lights", [("Lamps", ["Oil, then gas."])])))),
        ("pptx", pptx.Presentation(io.BytesIO(pptx_bytes([("Lamps", ["Oil, then gas."])])))),
    ]
    for kind, document in made:
        core = document.core_properties
        core.author, core.subject, core.keywords = "Ada Keeper", "Lights", "lamps, fog"
        core.language, core.category, core.created, core.modified = "en-GB", "History", when, when
        out = io.BytesIO()
        document.save(out)
        assert extract(out.getvalue(), f"lights.{kind}").fields == expected

    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"Lamps": [["oil", "gas"]]})))
    properties = workbook.properties
    properties.creator, properties.subject, properties.keywords = "Ada Keeper", "Lights", "lamps, fog"
    properties.language, properties.category, properties.created = "en-GB", "History", when
    out = io.BytesIO()
    workbook.save(out)
    fields = extract(out.getvalue(), "lights.xlsx").fields
    assert datetime.datetime.fromisoformat(fields.pop("modified")).tzinfo is not None  # openpyxl stamps it
    assert fields == {key: value for key, value in expected.items() if key != "modified"}


def test_an_epub_gives_its_dublin_core() -> None:
    book = epub_bytes(
        "<dc:title>Lights</dc:title><dc:creator>Ada Keeper</dc:creator><dc:creator>Tom Wick</dc:creator>"
        "<dc:subject>Lighthouses</dc:subject><dc:language>en</dc:language><dc:date>2019-06-01</dc:date>"
        "<dc:publisher>Harbour Press</dc:publisher>",
        [("one.xhtml", "<html><body><p>First chapter.</p></body></html>")],
    )
    assert extract(book, "lights.epub").fields == {
        "author": ["Ada Keeper", "Tom Wick"],
        "keywords": ["Lighthouses"],
        "language": "en",
        "created": "2019-06-01",
        "publisher": "Harbour Press",
    }


def test_an_html_page_gives_its_language_and_meta_tags() -> None:
    page = (
        '<html lang="de"><head><title>Leuchttürme</title><meta name="Author" content="Ada Keeper">'
        '<meta name="keywords" content="Licht, Nebel"><meta property="article:published_time" '
        'content="2023-11-02T08:00:00Z"><meta property="article:modified_time" content="not a date">'
        "</head><body><p>Text.</p></body></html>"
    )
    assert extract(page.encode(), "page.html").fields == {
        "author": "Ada Keeper",
        "keywords": ["Licht", "Nebel"],
        "language": "de",
        "created": "2023-11-02T08:00:00Z",
    }


def with_core_xml(docx: bytes, core: str) -> bytes:
    """``docx`` with its docProps/core.xml replaced (python-docx refuses to write values this long)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, core.encode() if item.filename == "docProps/core.xml" else data)
    return out.getvalue()


def test_hostile_properties_are_cleaned_bounded_and_never_refuse_the_file() -> None:
    author = "Ada&#9;Keeper&#133;[31m  " + "x" * 5000
    keywords = ";".join(f"keyword {i} " + "y" * 900 for i in range(500))
    core = (
        "<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{author}</dc:creator><cp:keywords>{keywords}</cp:keywords>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">yesterday</dcterms:created></cp:coreProperties>'
    )
    data = with_core_xml(docx_bytes("Lights", [("Lamps", ["Oil, then gas."])]), core)
    stored = file_document("lights.docx", "lights.docx", data, {"path": "lights.docx"})
    check_metadata("metadata", stored.metadata)
    assert stored.metadata["author"].startswith("Ada Keeper [31m x")
    assert len(stored.metadata["author"]) == MAX_CHARS
    assert "keywords" not in stored.metadata  # the largest field, left out to fit
    assert stored.metadata["path"] == "lights.docx"


def test_the_callers_metadata_wins_and_the_fields_are_filterable(tmp_path: Path) -> None:
    data = pdf_with_info({"/Author": "Ada Keeper", "/CreationDate": "D:20240105"})
    stored = file_document("a.pdf", "a.pdf", data, {"author": "Editor"})
    assert stored.metadata["author"] == "Editor"
    other = file_document(
        "b.pdf", "b.pdf", pdf_with_info({"/Author": "Ada Keeper", "/CreationDate": "D:2019"})
    )
    with SearchIndex.open(tmp_path / "data", FakeEmbedder()) as index:
        index.upsert([stored, other, Document("c", "A note on lighthouses.")])
        recent = index.search("lighthouse", k=5, filter={"field": "created", "gte": "2023-01-01"})
        assert {hit.doc_id for hit in recent.hits} == {"a.pdf"}
        by_author = index.search("lighthouse", k=5, filter={"field": "author", "eq": "Ada Keeper"})
        assert {hit.doc_id for hit in by_author.hits} == {"b.pdf"}


def reference_pdf_date(year: int, rest: list[int], zone: str | None) -> datetime.datetime:
    month, day, hour, minute, second = [*rest, *[1, 1, 0, 0, 0][len(rest) :]]
    tz = None
    if zone == "Z":
        tz = datetime.UTC
    elif zone is not None:
        sign, hours, minutes = zone[0], int(zone[1:3]), int(zone[4:6])
        offset = datetime.timedelta(hours=hours, minutes=minutes)
        tz = datetime.timezone(-offset if sign == "-" else offset)
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=tz)


@given(
    when=st.datetimes(min_value=datetime.datetime(1000, 1, 1)),
    precision=st.integers(0, 5),
    zone=st.one_of(
        st.none(),
        st.just("Z"),
        st.builds(
            lambda sign, h, m: f"{sign}{h:02d}'{m:02d}'",
            st.sampled_from("+-"),
            st.integers(0, 23),
            st.integers(0, 59),
        ),
    ),
)
def test_pdf_dates_read_as_a_plain_reader_reads_them(
    when: datetime.datetime, precision: int, zone: str | None
) -> None:
    fields = [when.month, when.day, when.hour, when.minute, when.second][:precision]
    text = "D:" + f"{when.year:04d}" + "".join(f"{value:02d}" for value in fields) + (zone or "")
    assert pdf_date(text) == reference_pdf_date(when.year, fields, zone)


@given(st.text())
def test_a_pdf_date_never_raises(text: str) -> None:
    got = pdf_date(text)
    assert got is None or isinstance(got, datetime.datetime)


@given(st.text())
def test_clean_text_is_one_bounded_line_without_control_characters(text: str) -> None:
    got = clean(text)
    assert len(got) <= MAX_CHARS
    assert got == got.strip()
    assert not any(c in got for c in "\x00\n\r\t\x1b")
    assert "  " not in got
    assert clean(got) == got
    got.encode("utf-8")  # no lone surrogate left


@given(
    author=st.one_of(st.text(), st.lists(st.text())),
    keywords=st.one_of(st.text(), st.lists(st.text())),
    texts=st.lists(st.text(), min_size=4, max_size=4),
    created=st.one_of(st.text(), st.datetimes()),
)
def test_fields_are_always_storable_metadata(
    author: str | list[str], keywords: str | list[str], texts: list[str], created: str | datetime.datetime
) -> None:
    subject, language, publisher, category = texts
    fields = file_fields(
        author=author,
        keywords=keywords,
        subject=subject,
        language=language,
        publisher=publisher,
        category=category,
        created=created,
    )
    check_metadata("fields", fields)
    assert len(json.dumps(fields, ensure_ascii=False).encode("utf-8")) <= MAX_BYTES
    if "created" in fields:
        assert iso_date(fields["created"]) == fields["created"]


def test_a_files_title_is_one_line_cut_to_fit_and_a_long_json_title_is_refused(tmp_path: Path) -> None:
    data = pdf_with_info({"/Title": "A very\nlong title " + "word " * 5000})
    stored = file_document("a.pdf", "a.pdf", data)
    assert stored.title is not None
    assert stored.title.startswith("A very long title word")
    assert len(stored.title) <= MAX_TITLE_LENGTH
    with SearchIndex.open(tmp_path / "data", FakeEmbedder()) as index:
        index.upsert([stored])
        with pytest.raises(InvalidInputError, match="the title is 1,001 characters, more than 1,000"):
            index.upsert([Document("b", "text", "t" * 1001)])
        assert index.stats().documents == 1
