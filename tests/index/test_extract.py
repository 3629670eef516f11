"""Extraction from real files: the small ones under tests/data/files, and files written here by python-docx,
python-pptx, openpyxl and pypdf; property tests for the page arithmetic and the line-to-paragraph rules."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from index.errors import InvalidInputError
from index.ingest.extract import (
    PAGE_BREAK,
    CorruptFileError,
    EncryptedFileError,
    ExtractionError,
    NoTextError,
    UnsupportedFormatError,
    dispatch,
    extract,
    layout,
    ocr,
    office,
    page_of,
    page_starts,
    sniff,
)
from index.ingest.extract import pdf as pdf_extract
from index.ingest.extract import text as text_extractors
from index.ingest.extract.front_matter import block_end
from index.ingest.extract.text import decode, first_heading, text_encoding
from index.storage.store import chunk_pages
from index.types import ChunkSpan
from tests.data.files.make import PAGES
from tests.documents import (
    DIAGRAM_DATA,
    RELATIONSHIPS,
    diagram_data,
    diagram_graphic,
    docx_bytes,
    encrypt_pdf,
    epub_bytes,
    form_pdf,
    image_only_pdf,
    pptx_bytes,
    scanned_file,
    scanned_pdf,
    xlsx_bytes,
)

FILES = Path(__file__).resolve().parents[1] / "data" / "files"


def test_the_shipped_pdf_keeps_its_pages_and_drops_its_running_header_and_footer() -> None:
    extracted = extract((FILES / "lighthouse.pdf").read_bytes(), "lighthouse.pdf")
    assert (extracted.format, extracted.pages, extracted.title) == ("pdf", 3, "Coastal notes")
    pages = extracted.text.split(PAGE_BREAK)
    assert len(pages) == 3
    for page, (heading, text) in zip(pages, PAGES, strict=True):
        assert heading in page
        assert " ".join(text.split()) in " ".join(page.split())  # whole, in order, one paragraph
    assert "Coastal Notes, issue" not in extracted.text
    assert not re.search(r"Page \d of \d", extracted.text)


def test_word_documents_keep_headings_paragraphs_and_tables() -> None:
    extracted = extract((FILES / "lighthouse.docx").read_bytes(), "lighthouse.docx")
    assert (extracted.format, extracted.pages, extracted.title) == ("docx", None, "Coastal notes")
    assert "# Keepers and their lamps\n\nBefore electric light" in extracted.text
    assert "| Station | Range (nm) |\n| --- | --- |\n| North Point | 20 |" in extracted.text


def test_each_slide_is_a_page_with_its_title_as_heading() -> None:
    extracted = extract((FILES / "lighthouse.pptx").read_bytes(), "lighthouse.pptx")
    assert (extracted.format, extracted.pages) == ("pptx", 3)
    slides = extracted.text.split(PAGE_BREAK)
    assert [slide.strip().splitlines()[0] for slide in slides] == [f"## {head}" for head, _ in PAGES]
    assert extracted.text.count("Keepers and their lamps") == 1


def test_a_smartart_diagram_is_read_node_by_node() -> None:
    # python-pptx sees a SmartArt diagram as a graphic frame without text: its text is in a part of its own.
    import pptx
    from pptx.opc.package import Part
    from pptx.opc.packuri import PackURI
    from pptx.oxml import parse_xml

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Keeping the light"
    points = [
        ("doc", ""),
        ("node", "Trim the wick"),
        ("parTrans", ""),
        ("node", "Polish the lens"),
        ("asst", "Log it"),
    ]
    part = Part(
        PackURI("/ppt/diagrams/data1.xml"), DIAGRAM_DATA, presentation.part.package, diagram_data(points)
    )
    relationship = slide.part.relate_to(part, RELATIONSHIPS + "/diagramData")
    frame = (
        '<p:graphicFrame xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:nvGraphicFramePr>'
        '<p:cNvPr id="9" name="Diagram 1"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr>'
        f'<p:xfrm><a:off x="0" y="0"/><a:ext cx="100" cy="100"/></p:xfrm>{diagram_graphic(relationship)}'
        "</p:graphicFrame>"
    )
    slide.shapes._spTree.append(parse_xml(frame))
    out = io.BytesIO()
    presentation.save(out)
    extracted = extract(out.getvalue(), "keeping.pptx")
    assert extracted.text == "## Keeping the light\n\n- Trim the wick\n\n- Polish the lens\n\n- Log it\n"


def test_a_workbook_becomes_one_table_per_sheet() -> None:
    data = xlsx_bytes(
        {"Stations": [["Name", "Range"], ["North Point", 20], ["Gull Rock", 14.5]], "Empty": []}
    )
    extracted = extract(data, "stations.xlsx")
    assert extracted.format == "xlsx"
    assert (
        extracted.text
        == "## Stations\n\n| Name | Range |\n| --- | --- |\n| North Point | 20 |\n| Gull Rock | 14.5 |\n"
    )


def test_workbook_cells_read_as_excel_shows_them_in_xlsx_as_in_xls() -> None:
    """A date came out of an .xlsx as ``2026-03-01 00:00:00``, a whole number stored as a float as ``80.0``
    and a boolean as ``True``, where the .xls reader gave ``2026-03-01``, ``80`` and ``TRUE``; one cell
    reader does both now."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Lamps"
    sheet.append(["Lamp", "Cost", "Fitted", "Checked", "Lit", "At"])
    sheet.append(["Lens", 80.0, datetime.date(2026, 3, 1), datetime.datetime(2026, 3, 2, 14, 30), True, None])
    sheet.append(["Wick", 0.1, datetime.datetime(2026, 3, 3), None, False, datetime.time(18, 45)])
    data = io.BytesIO()
    workbook.save(data)
    assert extract(data.getvalue(), "lamps.xlsx").text.splitlines()[2:] == [
        "| Lamp | Cost | Fitted | Checked | Lit | At |",
        "| --- | --- | --- | --- | --- | --- |",
        "| Lens | 80 | 2026-03-01 | 2026-03-02T14:30:00 | TRUE |  |",
        "| Wick | 0.1 | 2026-03-03 |  | FALSE | 18:45:00 |",
    ]


def test_a_sheet_is_read_as_stored_not_as_wide_as_it_claims() -> None:
    # One cell in the far corner made openpyxl pad a million rows to 16,384 columns: a 5 KB file that never
    # finished extracting. Blank columns between tables are dropped too.
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"], sheet["C1"], sheet["B3"], sheet["XFD1048576"] = "name", "range", "Gull Rock", "corner"
    data = io.BytesIO()
    workbook.save(data)
    text = extract(data.getvalue(), "sparse.xlsx").text
    assert text.splitlines()[2:] == [
        "| name |  | range |  |",
        "| --- | --- | --- | --- |",
        "|  | Gull Rock |  |  |",
        "|  |  |  | corner |",
    ]


def test_an_office_file_that_unpacks_past_the_bound_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docx = docx_bytes("T", [("H", ["Body text. " * 200])])
    assert "Body text." in extract(docx, "ok.docx").text
    monkeypatch.setattr(dispatch, "MAX_UNZIPPED_BYTES", 2_000)  # the docx unpacks to more than that
    read: list[str] = []
    monkeypatch.setattr(dispatch, "_extractor", lambda fmt: read.append(fmt))
    with pytest.raises(CorruptFileError, match=r"unpacks to [0-9,]+ bytes, more than the 2,000"):
        extract(docx, "bomb.docx")
    assert read == []


def test_a_workbook_past_the_cell_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(office, "MAX_SHEET_CELLS", 100)
    data = xlsx_bytes({"Big": [[f"r{r}c{c}" for c in range(10)] for r in range(11)]})
    with pytest.raises(CorruptFileError, match="more than 100 cells"):
        extract(data, "big.xlsx")
    fits = xlsx_bytes({"Fits": [[f"r{r}c{c}" for c in range(10)] for r in range(10)]})  # 100 cells exactly
    assert "r9c9" in extract(fits, "fits.xlsx").text


def test_the_csv_dialect_is_guessed_from_a_bounded_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # csv.Sniffer is quadratic on some inputs and holds Python's lock meanwhile: 8 KB of '"\n' took 2.2 s.
    samples: list[int] = []
    sniff_dialect = csv.Sniffer.sniff

    def spy(self: csv.Sniffer, sample: str, delimiters: str | None = None) -> Any:
        samples.append(len(sample))
        return sniff_dialect(self, sample, delimiters)

    monkeypatch.setattr(csv.Sniffer, "sniff", spy)
    rows = "".join(f"{i};station {i};{i * 1.5}\n" for i in range(2_000))
    text = extract(f"id;name;range\n{rows}".encode(), "stations.csv").text
    assert samples == [text_extractors.SNIFF_CHARS]
    assert "| 1999 | station 1999 | 2998.5 |" in text  # the dialect (;) found from the sample holds


def reference_heading(markdown: str) -> str | None:
    """The first ATX heading's text, line by line (CommonMark: up to 3 spaces, 1-6 #, a space or tab)."""
    for line in markdown.split("\n"):
        rest = line.lstrip(" ")
        hashes = len(rest) - len(rest.lstrip("#"))
        if len(line) - len(rest) <= 3 and 1 <= hashes <= 6 and rest[hashes : hashes + 1] in (" ", "\t"):
            title = rest[hashes:].strip()
            if title.rstrip("#") != title and (not title.rstrip("#") or title.rstrip("#")[-1] in " \t"):
                title = title.rstrip("#").strip()
            if title:
                return title
    return None


@settings(max_examples=300)
@given(st.text(alphabet="# \tab\n\r\u00a0", max_size=60))
def test_a_markdown_title_is_its_first_heading(markdown: str) -> None:
    assert first_heading(markdown) == reference_heading(markdown)


def test_a_heading_line_of_spaces_is_read_in_linear_time() -> None:
    # The pattern this replaced took 15 s on 2,000 spaces and about eight times more for each doubling.
    markdown = "# a" + " " * 200_000 + "x\n\nbody"
    assert extract(markdown.encode(), "spaces.md").title == "a" + " " * 200_000 + "x"
    assert first_heading("## Stations ##\n# Later") == "Stations"


PAGE = """---
title: Backups, step by step
date: 2024-05-01
tags: [ops, sqlite]
weight: 3
big: 123456789012345678901
draft: false
author: {name: Ada, team: ops}
---

Copy the database with SQLite's online backup, then the vector files.
"""


def test_markdown_front_matter_gives_the_title_and_fields_and_leaves_the_text() -> None:
    page = extract(PAGE.encode(), "backups.md")
    assert page.title == "Backups, step by step"
    assert page.text == "\nCopy the database with SQLite's online backup, then the vector files.\n"
    assert page.fields == {
        "title": "Backups, step by step",
        "date": "2024-05-01",  # a YAML date, as ISO text
        "tags": ["ops", "sqlite"],
        "weight": 3,
        "big": "123456789012345678901",  # past 2**53: text, as JSON parsers do not all hold it
        "draft": False,
        "author": {"name": "Ada", "team": "ops"},
    }
    hugo = extract(
        b"\xef\xbb\xbf+++\r\ntitle = 'Hugo'\r\ntags = ['a']\r\n+++\r\n# Heading\r\nBody.\r\n", "h.md"
    )
    assert (hugo.title, hugo.fields, hugo.text) == (
        "Hugo",
        {"title": "Hugo", "tags": ["a"]},
        "# Heading\r\nBody.\r\n",
    )
    no_title = extract(b"---\ntags: [x]\n---\n# From the heading\n", "n.md")
    assert (no_title.title, no_title.fields) == ("From the heading", {"tags": ["x"]})


@pytest.mark.parametrize(
    ("markdown", "why"),
    [
        ("---\ntitle: never closed\n\nBody text.\n", "not closed"),
        ("---\n[a, list]\n---\nBody text.\n", "not a mapping"),
        ("---\ntitle: [unclosed\n---\nBody text.\n", "not YAML"),
        ("+++\ntitle = \n+++\nBody text.\n", "not TOML"),
        ("# Title\n\n---\nkey: value\n---\n", "not at the start"),
        ("---\n" + "k: v\n" * 20_000 + "---\nBody text.\n", "longer than the bound"),
        ("---\nk: " + "x" * 20_000 + "\n---\nBody text.\n", "fields too big"),
        # An alias bomb: nine to the ninth "lol"s once expanded.
        (
            "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
            )
            + "---\nBody text.\n",
            "too many values",
        ),
    ],
)
def test_doubtful_front_matter_stays_text(markdown: str, why: str) -> None:
    page = extract(markdown.encode(), "x.md")
    assert page.text == markdown, why
    assert page.fields == {}


def reference_block(text: str) -> tuple[str, str] | None:
    """A front matter block and the text after it, line by line, without the length bound."""
    lines = text.split("\n")
    if len(lines) < 2 or lines[0].rstrip("\r \t") not in ("---", "+++"):
        return None
    closers = ("---", "...") if lines[0].rstrip("\r \t") == "---" else ("+++",)
    for j in range(1, len(lines)):
        if lines[j].rstrip("\r \t") in closers:
            block = "".join(line + "\n" for line in lines[1:j])
            return block, "\n".join(lines[j + 1 :])
    return None


@settings(max_examples=500)
@given(st.lists(st.sampled_from(["---", "+++", "...", "--- ", "---\r", "a: 1", "", "x", "- y"]), max_size=8))
def test_the_front_matter_block_is_found_as_a_line_reader_finds_it(lines: list[str]) -> None:
    text = "\n".join(lines)
    found = block_end(text)
    expected = reference_block(text)
    assert (None if found is None else (found[0], text[found[2] :])) == expected


def test_a_table_is_refused_before_it_is_padded_past_the_cell_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # 300 KB of CSV: one line of 100,000 commas, 100,000 short lines. Padded to a table, ten billion cells
    # (a MemoryError after 44 s under an 8 GB cap, before the bound).
    bomb = ("x" + "," * 100_000 + "\n" + "a\n" * 100_000).encode()
    with pytest.raises(CorruptFileError, match="100,001 rows by 100,001 columns"):
        extract(bomb, "wide.csv")
    monkeypatch.setattr(text_extractors, "MAX_TABLE_CELLS", 20)
    sheet = [[f"r{r}c{c}" for c in range(5)] for r in range(5)]  # 25 cells, all used
    with pytest.raises(CorruptFileError, match="5 rows by 5 columns"):
        extract(xlsx_bytes({"S": sheet}), "wide.xlsx")
    assert "r3c3" in extract(xlsx_bytes({"S": [row[:4] for row in sheet[:5]]}), "fits.xlsx").text


def test_csv_becomes_a_markdown_table_and_pipes_are_escaped() -> None:
    extracted = extract(b"name;note\nNorth Point;a|b\nGull Rock;\n", "stations.csv")
    assert extracted.text == "| name | note |\n| --- | --- |\n| North Point | a\\|b |\n| Gull Rock |  |\n"


def test_an_epub_is_read_in_spine_order() -> None:
    book = epub_bytes(
        "<dc:title>Lights</dc:title>",
        [
            ("two.xhtml", "<html><body><h1>Two</h1><p>Second chapter.</p></body></html>"),
            ("one.xhtml", "<html><body><h1>One</h1><p>First chapter.</p></body></html>"),
        ],
        spine=["one.xhtml", "two.xhtml"],
    )
    extracted = extract(book, "lights.epub")
    assert (extracted.format, extracted.title) == ("epub", "Lights")
    assert extracted.text.index("First chapter") < extracted.text.index("Second chapter")


def test_the_type_comes_from_the_bytes_not_the_name() -> None:
    docx = docx_bytes("T", [("H", ["Body text."])])
    assert sniff(docx, "report.txt") == "docx"
    assert sniff((FILES / "lighthouse.pdf").read_bytes(), "upload.bin") == "pdf"
    assert sniff(b"<!DOCTYPE html><html><p>x</p></html>", "page") == "html"
    assert sniff(b"plain words", "README") == "text"
    assert sniff(b"\r\n{\\rtf1\\ansi Hello}", "letter.txt") == "rtf"


EMPTY_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64  # an OLE2 signature, no container


@pytest.mark.parametrize(
    ("data", "name", "error", "message"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00",
            "photo.png",
            CorruptFileError,
            "photo.png: not a readable picture",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo", CorruptFileError, "photo: not a readable picture"),
        (b"hello", "archive.7z", UnsupportedFormatError, "an archive semsearch does not unpack"),
        (b"hello", "notes.xyz", UnsupportedFormatError, "unsupported file type; semsearch reads .adoc"),
        (b"Dear Ada,", "letter.rtf", CorruptFileError, "named as RTF but does not start as one"),
        (b"{\\rtf1 \\uc Hello}", "letter.rtf", CorruptFileError, "cannot read this RTF file"),
        (
            b"From a@example.org\nSubject: hi\n\nbody\n",
            "inbox.mbox",
            UnsupportedFormatError,
            "save its messages as .eml",
        ),
        (
            EMPTY_OLE,
            "mail.msg",
            CorruptFileError,
            "a damaged Outlook message",
        ),
        (b"\x00\x00\x00 ftypisom", "talk.mp4", UnsupportedFormatError, "transcript or subtitles"),
        (
            EMPTY_OLE,
            "old.doc",
            CorruptFileError,
            "damaged Office 97",
        ),
        (
            EMPTY_OLE,
            "deck.ppt",
            CorruptFileError,
            "damaged Office 97",
        ),
        (b"just text", "report.pdf", CorruptFileError, "named as PDF"),
        (b"%PDF-1.7\nnot really", "broken.pdf", CorruptFileError, "not a readable PDF"),
        (b"PK\x03\x04broken", "broken.docx", CorruptFileError, "damaged ZIP"),
        (b"   ", "blank.txt", CorruptFileError, "empty"),
    ],
)
def test_unreadable_files_say_what_is_wrong(
    data: bytes, name: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        extract(data, name)


def test_an_apple_iwork_file_is_named_as_such_and_a_renamed_office_file_is_read() -> None:
    iwork = io.BytesIO()
    with zipfile.ZipFile(iwork, "w") as archive:
        archive.writestr("Index/Document.iwa", b"\x00" * 16)
    with pytest.raises(UnsupportedFormatError, match=r"Apple Pages document; export it as \.docx"):
        extract(iwork.getvalue(), "plan.pages")
    with pytest.raises(UnsupportedFormatError, match="a ZIP archive of files, not one document"):
        extract(iwork.getvalue(), "plan.bin")
    docx = docx_bytes("Plan", [("Goals", ["Ship the tram line."])])
    assert "Ship the tram line." in extract(docx, "plan.zip").text  # the bytes decide, not the name


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_text_saved_as_unicode_by_windows_tools_is_read(encoding: str) -> None:
    text = "Größe und Länge\n\nzweiter Absatz"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert extract(data, "notes.txt").text == text
    assert extract(data, "notes").format == "text"


@settings(max_examples=100)
@given(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\ufeff"), max_size=300).filter(
        str.strip
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]),
)
def test_unicode_text_reads_back_as_written(text: str, encoding: str) -> None:
    # UTF-16 that starts with a NUL character begins with the bytes of UTF-32's byte order mark (FF FE 00
    # 00), and is read as UTF-32, as every BOM sniffer reads it.
    assume(not (encoding == "utf-16" and text.startswith("\x00")))
    assert decode(text.encode(encoding), "x.txt") == text


@pytest.mark.parametrize(
    ("declaration", "encoding", "words"),
    [
        ('<meta charset="windows-1252">', "cp1252", "\u201csmart\u201d caf\u00e9 \u20ac5"),
        # Latin-1 as declared by a browser's rules: Windows' quotes and the euro sign, not control codes.
        ('<meta charset="ISO-8859-1">', "cp1252", "\u201csmart\u201d caf\u00e9 \u20ac5"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
            "cp1251",
            "Привет мир",
        ),
        ('<meta charset="shift_jis">', "shift_jis", "日本語のテキスト"),
    ],
)
def test_an_html_page_in_the_legacy_charset_it_declares_is_read(
    declaration: str, encoding: str, words: str
) -> None:
    page = f"<html><head>{declaration}<title>T</title></head><body><p>{words}</p></body></html>"
    assert extract(page.encode(encoding), "old.html").text.strip() == words


@pytest.mark.parametrize(
    "declared", ["bogus-charset", "utf-8", "utf-16-le", "base64", "unicode_escape", "idna"]
)
def test_an_undecodable_page_is_refused_whatever_it_declares(declared: str) -> None:
    page = f'<html><head><meta charset="{declared}"></head><body><p>caf\u00e9 \\u0041</p></body></html>'
    with pytest.raises(CorruptFileError, match=r"not valid UTF-8.*charset it declares"):
        extract(page.encode("latin-1"), "page.html")


def test_text_that_starts_as_utf16_and_is_not_says_so() -> None:
    with pytest.raises(CorruptFileError, match="starts as UTF-16 but is not"):
        # A lone surrogate after the byte order mark and two good characters.
        extract(codecs.BOM_UTF16_LE + "ok".encode("utf-16-le") + b"\x00\xd8", "broken.txt")


def test_undeclared_legacy_text_is_refused_not_guessed() -> None:
    with pytest.raises(CorruptFileError) as refused:
        extract("Le caf\u00e9 cr\u00e8me".encode("latin-1"), "menu.txt")
    # What the bytes read as in Windows-1252 is shown, and what to do: name the encoding, or convert.
    assert str(refused.value) == (
        "menu.txt: not valid UTF-8 (byte 0xE9 at offset 6, which as Windows-1252 reads 'Le caf\u00e9 "
        "cr\u00e8me'); name the encoding it is in (encoding windows-1252 for most Western European text "
        "that is not UTF-8), or convert it to UTF-8"
    )
    # Bytes that are no text in Windows-1252 either are not shown.
    with pytest.raises(CorruptFileError, match=r"^menu.txt: not valid UTF-8 \(byte 0x81 at offset 2\);"):
        extract(b"ab\x81\x8d cd", "menu.txt")


@pytest.mark.parametrize(
    ("name", "encoding", "text"),
    [
        ("menu.txt", "windows-1252", "Le caf\u00e9 cr\u00e8me \u2014 \u20ac4, \u201cbon\u201d"),
        ("menu.md", "latin-1", "# Men\u00fc\n\nK\u00e4se und Br\u00f6tchen"),
        ("cities.csv", "cp1250", "miasto,kraj\n\u0141\u00f3d\u017a,Polska\n"),
        ("notes.txt", "cp1251", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440"),
        ("notes.txt", "shift_jis", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8"),
        ("talk.srt", "windows-1252", "1\n00:00:01,000 --> 00:00:02,000\nD\u00e9j\u00e0 vu\n"),
        ("page.html", "windows-1252", "<html><body><p>Cr\u00e8me br\u00fbl\u00e9e</p></body></html>"),
    ],
)
def test_legacy_text_is_read_in_the_encoding_its_sender_names(name: str, encoding: str, text: str) -> None:
    codec = text_encoding(encoding)
    assert extract(text.encode(codec), name, codec) == extract(text.encode("utf-8"), name)


def test_what_a_file_says_of_its_own_encoding_comes_before_the_senders() -> None:
    words = "\u65e5\u672c\u8a9e"
    page = f'<html><head><meta charset="shift_jis"></head><body><p>{words}</p></body></html>'
    assert extract(page.encode("shift_jis"), "jp.html", "cp1252").text.strip() == words
    latex = "\\documentclass{article}\\usepackage[latin1]{inputenc}\\begin{document}Caf\u00e9\\end{document}"
    assert "Caf\u00e9" in extract(latex.encode("latin-1"), "paper.tex", "cp1251").text
    # UTF-8, and UTF-16 with its byte order mark, are read as such whatever the sender names.
    assert extract("caf\u00e9".encode(), "a.txt", "cp1251").text == "caf\u00e9"
    assert extract("caf\u00e9".encode("utf-16"), "a.txt", "cp1251").text == "caf\u00e9"
    # A binary format is read from its bytes: the encoding is not used.
    rtf = b"{\\rtf1\\ansi\\ansicpg1252 caf\\'e9}"
    assert extract(rtf, "a.rtf", "cp1251").text == extract(rtf, "a.rtf").text


@pytest.mark.parametrize("label", ["windows-1252", "Windows-1252", " latin-1 ", "iso-8859-1", "ascii"])
def test_latin1_and_ascii_are_read_as_windows_1252_as_browsers_do(label: str) -> None:
    assert text_encoding(label) == "cp1252"


@pytest.mark.parametrize(
    "label",
    ["", " ", "utf-8", "UTF-16", "utf_32_le", "base64", "rot13", "hex", "idna", "unicode_escape", "x" * 200],
)
def test_what_is_no_legacy_text_encoding_is_refused(label: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a legacy text encoding"):
        text_encoding(label)


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(codec="cp1252", exclude_categories=["Cs"]), min_size=1, max_size=300),
    st.sampled_from(["a.txt", "a.md", "a.csv", "a.html", "a.vtt"]),
)
def test_legacy_text_reads_as_the_same_text_in_utf8_would(text: str, name: str) -> None:
    """Reference: the same text sent in UTF-8. Whatever a file in Windows-1252 holds, naming its encoding
    gives what UTF-8 gives, or the same refusal; unless its bytes are valid UTF-8 too ("\u00e0" and two
    no-break spaces are U+0820 in UTF-8), where UTF-8 wins, as it does for browsers."""
    legacy = text.encode("cp1252")
    try:
        legacy.decode("utf-8")
        utf8 = legacy
    except UnicodeDecodeError:
        utf8 = text.encode("utf-8")
    try:
        expected: Any = extract(utf8, name)
    except ExtractionError as error:
        expected = (type(error), str(error))
    try:
        got: Any = extract(legacy, name, "cp1252")
    except ExtractionError as error:
        got = (type(error), str(error))
    assert got == expected


def test_a_text_file_that_quotes_a_pdf_header_is_text() -> None:
    notes = b"Notes on the format: every file begins with a header such as %PDF-1.7, then objects."
    assert extract(notes, "pdf-notes.md").format == "markdown"
    assert sniff(b"%PDF-1.7\n" + notes, "pdf-notes.md") == "pdf"  # it starts with one: a PDF
    assert sniff(b"junk\n%PDF-1.7\n", "upload") == "pdf"  # no name to go by: the header decides


def test_html_nested_deeper_than_the_converter_recurses_keeps_its_text() -> None:
    depth = 5_000
    page = (
        "<html><body><h1>Top</h1>"
        + "<div>" * depth
        + "<p>deep words</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    text = extract(page.encode(), "deep.html").text
    assert "Top" in text
    assert "deep words" in text


def test_an_html_page_s_links_are_their_text_and_its_images_their_alternative_text() -> None:
    page = (
        "<html><body><h2><a href='#intro'>Introduction</a></h2><p>Plants use "
        "<a href='https://en.wikipedia.org/wiki/Photosynthesis_(biology)' title='Photosynthesis'>"
        "photosynthesis</a> to make sugar.<sup><a href='#cite_note-1'>[1]</a></sup> "
        "<img src='https://example.org/leaf.png' alt='a green leaf'> <img src='spacer.gif'> "
        "Read <a href='https://example.org/more'>https://example.org/more</a>.</p>"
        "<ul><li><a href='/a'><b>Bold</b> entry</a></li></ul></body></html>"
    )
    text = extract(page.encode(), "page.html").text
    assert "## Introduction" in text
    assert "Plants use photosynthesis to make sugar.[1]" in text
    assert "a green leaf" in text
    assert "Read https://example.org/more." in text  # a link whose text is its address keeps it
    assert "- **Bold** entry" in text
    for address in ("wikipedia", "leaf.png", "spacer.gif", "cite_note", "#intro", "](", "!["):
        assert address not in text


_LINK_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)


@given(
    st.lists(
        st.tuples(_LINK_WORD, st.one_of(st.none(), _LINK_WORD), st.sampled_from(["a", "img", "text"])),
        min_size=1,
        max_size=12,
    )
)
@settings(max_examples=200, deadline=None)
def test_a_paragraph_of_links_and_images_reads_as_its_visible_words(
    parts: list[tuple[str, str | None, str]],
) -> None:
    """Against a reference: the words a reader sees, in order (a link's text, an image's alternative text,
    plain words), and no address."""
    markup, seen = [], []
    for n, (word, alt, kind) in enumerate(parts):
        if kind == "a":
            markup.append(f'<a href="https://SITE{n}.test/ADDR{n}">{word}</a>')
            seen.append(word)
        elif kind == "img":
            markup.append(f'<img src="https://SITE{n}.test/ADDR{n}.png"' + (f' alt="{alt}">' if alt else ">"))
            seen.extend([alt] if alt else [])
        else:
            markup.append(word)
            seen.append(word)
    _, text, _ = text_extractors.read_html(f"<p>{' '.join(markup)}</p>", page=False)
    assert text.split() == seen
    assert "SITE" not in text


def test_a_parser_out_of_stack_is_a_file_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def recurse(data: bytes, name: str) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(text_extractors, "extract_csv", recurse)
    with pytest.raises(CorruptFileError, match="nested too deeply"):
        extract(b"a,b\n1,2\n", "table.csv")


def test_a_zip_that_is_no_office_file_is_no_one_document() -> None:
    """An archive of files is many documents (index.ingest.archive reads it), whatever its name."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hi")
    for name in ("bundle.zip", "bundle"):
        assert sniff(archive.getvalue(), name) == "zip"
        with pytest.raises(
            UnsupportedFormatError, match="a ZIP archive of files, not one document; upload it"
        ):
            extract(archive.getvalue(), name)
    with pytest.raises(UnsupportedFormatError, match="an archive semsearch does not unpack"):
        extract(b"not a zip at all", "bundle.zip")


def test_an_encrypted_pdf_asks_for_an_unprotected_copy() -> None:
    locked = encrypt_pdf((FILES / "lighthouse.pdf").read_bytes(), "secret")
    with pytest.raises(EncryptedFileError, match="encrypted with a password"):
        extract(locked, "locked.pdf")


KEEPER = "The lighthouse keeper climbs 112 steps every evening."
LAMP = "Its lamp turns twice a minute over the harbour."
SCANNED = [[KEEPER, LAMP], ["Ships at anchor wait for the tide at dawn."]]


def test_a_scanned_pdf_is_read_by_ocr_page_by_page() -> None:
    extracted = extract(scanned_pdf(SCANNED), "scan.pdf")
    assert extracted.text == f"{KEEPER} {LAMP}\n{PAGE_BREAK}\nShips at anchor wait for the tide at dawn.\n"
    assert (extracted.pages, extracted.fields["ocr_pages"]) == (2, 1 + 1)


def test_only_the_scanned_pages_of_a_pdf_are_read_by_ocr() -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in ((FILES / "lighthouse.pdf").read_bytes(), scanned_pdf(SCANNED[1:])):
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    text_pages = len(PdfReader(FILES / "lighthouse.pdf").pages)
    extracted = extract(out.getvalue(), "mixed.pdf")
    assert extracted.fields["ocr_pages"] == 1
    assert extracted.pages == text_pages + 1
    pages = extracted.text.split(PAGE_BREAK)
    alone = extract((FILES / "lighthouse.pdf").read_bytes(), "lighthouse.pdf").text.split(PAGE_BREAK)
    assert pages[0] == alone[0]  # read from its text layer
    assert pages[-1].strip() == "Ships at anchor wait for the tide at dawn."


def test_ocr_is_bounded_in_pages_and_in_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of many blank pictures would hold a reader for days, and a page of 200 inches render to a
    picture of 900 MB."""
    monkeypatch.setattr(ocr, "MAX_PAGES", 1)
    with pytest.raises(CorruptFileError, match=r"2 scanned pages, more than the 1 OCR reads from one file"):
        extract(scanned_pdf(SCANNED), "book.pdf")
    from PIL import Image

    poster = io.BytesIO()
    Image.new("L", (2000, 1000), 255).save(poster, "PDF", resolution=10)  # 200 x 100 inches
    image = pdf_extract._render(poster.getvalue(), 0)
    assert max(image.size) == ocr.MAX_SIDE


def test_a_filled_in_pdf_form_is_read_with_its_values_and_what_was_written_on_it() -> None:
    # PDFium's text layer holds what is printed; the values typed into the fields, a "Fill & Sign" box and
    # a sticky note are annotations beside it, and were lost: the form read as its empty labels.
    form = form_pdf(
        [
            (
                "Harbour berth application",
                [("applicant", "Full name:", "Marguerite Okonkwo"), ("vessel", "", "Sloop named Petrel")],
                [("/FreeText", "Approved by the harbour board"), ("/Text", "Check the mooring   fee")],
            ),
            # The same field shown again, a popup (its note's text again) and an empty field.
            ("Declaration", [("applicant", "Full name:", "Marguerite Okonkwo"), ("agent", "Agent", "")], []),
        ]
    )
    extracted = extract(form, "berth.pdf")
    assert extracted.pages == 2
    first, second = extracted.text.split(PAGE_BREAK)
    assert first.strip().split("\n\n") == [
        "Harbour berth application",
        "Full name: Marguerite Okonkwo",
        "Sloop named Petrel",
        "Approved by the harbour board",
        "Check the mooring fee",
    ]
    assert second.strip() == "Declaration"
    # Values alone are text too: a form whose page prints nothing is not "a PDF without text".
    assert extract(form_pdf([("", [("a", "", "Tidal range")], [])]), "bare.pdf").text.strip() == "Tidal range"


def test_the_annotations_read_from_one_pdf_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    notes = [("/Text", f"note {n}") for n in range(10)]
    monkeypatch.setattr(pdf_extract, "MAX_PDF_ANNOTATIONS", 4)
    text = extract(form_pdf([("Notes", [], notes), ("More", [], notes)]), "notes.pdf").text
    assert re.findall(r"note \d", text) == ["note 0", "note 1", "note 2", "note 3"]


def test_a_pdf_without_text_says_what_it_lacks_and_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NoTextError, match="the PDF has no text, and no pictures of text"):
        extract(image_only_pdf(), "blank.pdf")  # a blank page: nothing to read, by OCR or otherwise
    with pytest.raises(NoTextError, match=r"OCR found no text in the PDF's 1 scanned page\(s\)"):
        extract(scanned_pdf([[]]), "white.pdf")
    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(NoTextError, match=r"OCR is not installed here: install semsearch's ocr extra"):
        extract(scanned_pdf(SCANNED), "scan.pdf")


@pytest.mark.parametrize(
    ("kind", "name"), [("PNG", "scan.png"), ("JPEG", "photo.JPG"), ("WEBP", "shot.webp")]
)
def test_a_picture_of_text_sent_on_purpose_is_read_by_ocr(kind: str, name: str) -> None:
    """A photographed page or a scan saved as a picture was refused ("upload the scan as a PDF")."""
    extracted = extract(scanned_file(SCANNED[:1], kind), name)
    assert (extracted.text, extracted.format, extracted.pages) == (f"{KEEPER} {LAMP}\n", "image", None)
    assert extracted.fields == {"ocr_pages": 1}
    assert extract(scanned_file(SCANNED[:1], kind), "no-suffix").format == "image"  # by its bytes


def test_a_multi_page_tiff_is_a_page_a_frame_and_pictures_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fax = scanned_file(SCANNED, "TIFF")
    extracted = extract(fax, "fax.tiff")
    assert extracted.text == f"{KEEPER} {LAMP}\n{PAGE_BREAK}\nShips at anchor wait for the tide at dawn.\n"
    assert (extracted.pages, extracted.fields["ocr_pages"]) == (2, 2)
    from PIL import Image

    huge = io.BytesIO()
    Image.new("1", (13_000, 12_000), 1).save(huge, "PNG")  # 20 KB of PNG, 156 million pixels
    with pytest.raises(CorruptFileError, match="13,000 x 12,000 pixels, more than the 150,000,000 read"):
        extract(huge.getvalue(), "huge.png")
    with pytest.raises(CorruptFileError, match=r"cut\.png: a damaged PNG picture"):
        extract(scanned_file(SCANNED[:1], "PNG")[:4000], "cut.png")
    with pytest.raises(NoTextError, match="OCR found no text in the picture"):
        extract(scanned_file([[]], "PNG"), "white.png")
    monkeypatch.setattr(ocr, "MAX_PAGES", 1)
    with pytest.raises(CorruptFileError, match="a TIFF of 2 pages, more than the 1 OCR reads"):
        extract(fax, "fax.tiff")


def test_without_ocr_a_picture_is_refused_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(UnsupportedFormatError, match=r"scan\.png: an image; reading pictures of text needs"):
        extract(scanned_file(SCANNED[:1], "PNG"), "scan.png")


def test_slides_without_text_have_nothing_to_index() -> None:
    with pytest.raises(NoTextError):
        extract(pptx_bytes([(" ", [" "])]), "blank.pptx")


# -- page arithmetic ---------------------------------------------------------------------------------


@given(st.text(alphabet="ab \n\f", max_size=60), st.data())
def test_page_of_counts_the_page_breaks_before_an_offset(text: str, data: st.DataObject) -> None:
    offset = data.draw(st.integers(0, len(text)))
    assert page_of(page_starts(text), offset) == text[:offset].count(PAGE_BREAK) + 1


@given(st.text(alphabet="ab \n\f", min_size=1, max_size=60), st.data())
def test_a_chunk_records_the_pages_it_starts_and_ends_on(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    ((page, page_end),) = chunk_pages(text, [ChunkSpan(0, start, end, text[start:end])])
    if PAGE_BREAK not in text:
        assert (page, page_end) == (None, None)
    else:
        assert page == text[:start].count(PAGE_BREAK) + 1
        assert page_end == text[: end - 1].count(PAGE_BREAK) + 1


# -- lines to paragraphs -----------------------------------------------------------------------------

WORDS = st.text(alphabet="abcdefghij", min_size=1, max_size=9)
LINES = st.lists(st.lists(WORDS, min_size=1, max_size=8).map(" ".join), min_size=1, max_size=12)


@given(LINES)
def test_paragraphs_keep_every_word_in_order(lines: list[str]) -> None:
    """Without hyphens at line ends, joining lines into paragraphs loses, adds and reorders nothing."""
    words = " ".join(layout.paragraphs(lines, set())).split()
    assert [word for word in words if word != "##"] == " ".join(lines).split()


@given(st.lists(LINES, min_size=2, max_size=6), st.booleans())
def test_a_line_repeated_at_the_edge_of_every_page_is_dropped_and_nothing_else(
    pages: list[list[str]], footer: bool
) -> None:
    """Body lines made unique (a letter tag per page and line, since digits are ignored): only the running
    header, or the "page N of M" footer, goes."""
    bodies = [
        [f"{line} {chr(97 + n)}{chr(97 + i)}" for i, line in enumerate(page)] for n, page in enumerate(pages)
    ]
    marked = [
        [*body, f"page {n} of {len(pages)}"] if footer else ["Journal of Tests, volume 7", *body]
        for n, body in enumerate(bodies, start=1)
    ]
    repeated = layout.furniture(marked)
    assert [layout.strip_furniture(page, repeated) for page in marked] == bodies


def test_hyphenated_line_ends_are_joined_and_real_compounds_kept() -> None:
    lines = ["The self-priming ability of the ampli\u2010", "fication step and the self-", "priming one."]
    assert layout.paragraphs(lines, layout.hyphenated_forms("\n".join(lines))) == [
        "The self-priming ability of the amplification step and the self-priming one."
    ]
    assert layout.paragraphs(["a long line that ends in exam-", "ple text"], set()) == [
        "a long line that ends in example text"
    ]


def test_a_word_broken_across_a_page_break_is_joined_on_its_first_page() -> None:
    pages = [
        ["Field notes on the temp\u2010", ""],
        ["", "erature of the river and the self-", "ish"],
        ["Priming is not a word here-", "Next page starts with a capital."],
        ["ends with a hyphen-"],
        [],
    ]
    assert layout.join_across_pages(pages, {"self-ish"}) == [
        ["Field notes on the temperature", ""],
        ["", "of the river and the self-", "ish"],
        ["Priming is not a word here-", "Next page starts with a capital."],
        ["ends with a hyphen-"],
        [],
    ]
    assert layout.join_across_pages([["a self-"], ["ish b"]], {"self-ish"}) == [["a self-ish"], ["b"]]
    assert layout.join_across_pages([["a long-"], ["ish"]], set()) == [["a longish"], [""]]


@settings(max_examples=300)
@given(st.text(alphabet="ab-_1 é\n", max_size=80))
def test_hyphenated_words_are_those_the_plain_pattern_finds(text: str) -> None:
    # The plain pattern is quadratic in a run of letters; the one in use must find exactly the same words.
    plain = {word.lower() for word in re.findall(r"[^\W\d_]+-[^\W\d_]+", text)}
    assert layout.hyphenated_forms(text) == plain


def test_a_long_run_of_letters_is_scanned_once() -> None:
    sequence = "ACGT" * 25_000  # a gene sequence in a paper: 100,000 letters, no hyphen
    assert layout.hyphenated_forms(f"{sequence} and a self-priming pump") == {"self-priming"}
    lines = [sequence[i : i + 80] for i in range(0, len(sequence), 80)]
    assert layout.paragraphs(lines, set()) == [" ".join(lines)]
