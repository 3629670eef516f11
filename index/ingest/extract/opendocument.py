"""OpenDocument: LibreOffice's and OpenOffice's text documents, spreadsheets and presentations (ODT, ODS, ODP;
ISO/IEC 26300). Each is a ZIP of XML parts, read with the standard library: zipfile, and ElementTree over
expat (which refuses entity-expansion bombs and resolves no external entities). The one Python library for
the format, odfpy, gives the same XML as its own DOM without reading it any further (docs/ingest.md).

As for Word, PowerPoint and Excel: headings become Markdown headings (by their outline level), list items
list items and tables Markdown tables; a text box or a footnote follows the paragraph it is anchored in; a
sheet is a heading and a table; a slide is a page, its title a heading, its speaker notes after it. Left
out: deleted text that changes still track, comments, and generated indexes (a table of contents repeats
the headings).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from typing import Any, cast

from index.ingest.extract.base import (
    DAMAGED_ZIP,
    PAGE_BREAK,
    CorruptFileError,
    EncryptedFileError,
    Extracted,
    NoTextError,
)
from index.ingest.extract.office import check_sheet_cells, sheet_block
from index.ingest.extract.properties import file_fields
from index.ingest.extract.text import markdown_table

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
}


def _q(name: str) -> str:
    """``"text:p"`` as ElementTree names it."""
    prefix, local = name.split(":")
    return f"{{{_NS[prefix]}}}{local}"


H, P, S, TAB, LINE_BREAK = map(_q, ["text:h", "text:p", "text:s", "text:tab", "text:line-break"])
LIST, LIST_ITEM, LIST_HEADER = map(_q, ["text:list", "text:list-item", "text:list-header"])
NOTE, NOTE_BODY = _q("text:note"), _q("text:note-body")
TABLE, ROW = _q("table:table"), _q("table:table-row")
CELL, COVERED = _q("table:table-cell"), _q("table:covered-table-cell")
ROW_GROUPS = frozenset(map(_q, ["table:table-row-group", "table:table-header-rows", "table:table-rows"]))
COLUMNS_REPEATED, ROWS_REPEATED = _q("table:number-columns-repeated"), _q("table:number-rows-repeated")
FRAME, PAGE, NOTES = _q("draw:frame"), _q("draw:page"), _q("presentation:notes")
# Elements whose text is not the document's: deleted text kept for tracked changes, comments, generated
# indexes, declarations, forms.
SKIPPED = frozenset(
    map(
        _q,
        [
            "text:tracked-changes",
            "office:annotation",
            "text:table-of-content",
            "text:alphabetical-index",
            "text:illustration-index",
            "text:object-index",
            "text:user-index",
            "text:bibliography",
            "text:sequence-decls",
            "text:variable-decls",
            "text:user-field-decls",
            "office:forms",
            "text:note-citation",
            "text:hidden-text",
            "table:shapes",
        ],
    )
)


# What reading a damaged file raises: a damaged archive, XML that does not parse or declares an encoding
# that does not exist.
_DAMAGED = (*DAMAGED_ZIP, LookupError, ET.ParseError)
MANIFEST = "META-INF/manifest.xml"
CHUNK_BYTES = 16 * 1024  # about 2 ms of parsing at a time
# Elements in one block: a top-level paragraph, list or table of a text document, a sheet's row, a slide. A
# table of a million cells is about three million (some 300 MB while it is read).
MAX_BLOCK_ELEMENTS = 4_000_000
MAX_META_BYTES = 4 * 1024 * 1024
# The elements whose children are read one at a time: a text document's body and its sections (a section
# can hold the whole document), a sheet's rows, a presentation's slides.
_ODT_CONTAINERS = frozenset({_q("office:text"), _q("text:section")})
_ODS_CONTAINERS = frozenset({TABLE, *ROW_GROUPS})
_ODP_CONTAINERS = frozenset({_q("office:presentation")})


def extract_odt(data: bytes, name: str) -> Extracted:
    with _Package(data, name, "ODT") as package:
        writer = _Writer(name)
        for _, block in package.blocks(_ODT_CONTAINERS):
            writer.block(block)
        meta = package.meta()
    title = _title(meta) or writer.first_heading
    return Extracted(text=_text(writer.blocks, name), title=title, format="odt", fields=_fields(meta))


def extract_ods(data: bytes, name: str) -> Extracted:
    with _Package(data, name, "ODS") as package:
        blocks: list[str] = []
        cells = [0]
        sheet: ET.Element | None = None
        rows: list[list[str]] = []
        for ancestors, row in package.blocks(_ODS_CONTAINERS):
            if row.tag != ROW or any(a.tag in (CELL, COVERED) for a in ancestors):
                continue  # columns' styles; a table inside a cell is read with its cell
            table = next(a for a in reversed(ancestors) if a.tag == TABLE)
            if table is not sheet:
                _add_sheet(blocks, sheet, rows, name)
                sheet, rows = table, []
            rows.extend(_sheet_rows(row, cells, name))
        _add_sheet(blocks, sheet, rows, name)
        meta = package.meta()
    return Extracted(text=_text(blocks, name), title=_title(meta), format="ods", fields=_fields(meta))


def _add_sheet(blocks: list[str], sheet: ET.Element | None, rows: list[list[str]], name: str) -> None:
    if sheet is not None and rows:
        blocks.append(sheet_block(sheet.get(_q("table:name")) or "Sheet", rows, name))


def extract_odp(data: bytes, name: str) -> Extracted:
    with _Package(data, name, "ODP") as package:
        slides: list[str] = []
        meta = package.meta()
        title = _title(meta)
        for _, slide in package.blocks(_ODP_CONTAINERS):
            if slide.tag != PAGE:
                continue
            writer = _Writer(name)
            for child in slide:
                if child.tag == NOTES:
                    continue
                if child.tag == FRAME and child.get(_q("presentation:class")) == "title":
                    heading = _plain(child)
                    if heading:
                        title = title or heading
                        writer.blocks.append("## " + heading)
                    continue
                writer.block(child)
            for notes in slide.findall(NOTES):
                writer.block(notes)
            slides.append("\n\n".join(writer.blocks))
    if not any(slide.strip() for slide in slides):
        raise NoTextError(f"{name}: the presentation holds no text")
    text = f"\n{PAGE_BREAK}\n".join(slides) + "\n"
    return Extracted(text=text, title=title, format="odp", pages=len(slides), fields=_fields(meta))


class _Writer:
    """A document's blocks as Markdown, in reading order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.blocks: list[str] = []
        self.first_heading: str | None = None

    def block(self, element: ET.Element, depth: int = 0) -> None:
        tag = element.tag
        if tag in SKIPPED:
            return
        if tag in (H, P):
            anchored: list[ET.Element] = []
            text = " ".join(_inline(element, anchored).split())
            if text and tag == H:
                level = _int(element.get(_q("text:outline-level")), 1)
                self.first_heading = self.first_heading or text
                self.blocks.append("#" * min(max(level, 1), 6) + " " + text)
            elif text:
                self.blocks.append(text)
            for inner in anchored:  # text boxes and footnotes, after the paragraph that holds them
                self.block(inner, depth)
        elif tag == LIST:
            for item in element:
                if item.tag in (LIST_ITEM, LIST_HEADER):
                    self._list_item(item, depth)
        elif tag == TABLE:
            rows = [[_plain(cell) for cell in _cells(row)] for row in _rows(element)]
            if any(any(cell.strip() for cell in row) for row in rows):
                self.blocks.append(markdown_table(rows, self.name).rstrip("\n"))
        else:  # sections, frames, text boxes, shapes, soft page breaks: what they hold
            for child in element:
                self.block(child, depth)

    def _list_item(self, item: ET.Element, depth: int) -> None:
        for child in item:
            if child.tag == LIST:
                self.block(child, depth + 1)
                continue
            before = len(self.blocks)
            self.block(child, depth)
            if len(self.blocks) > before and child.tag in (H, P):
                self.blocks[before] = "  " * depth + "- " + self.blocks[before].lstrip("#").lstrip()


def _inline(element: ET.Element, anchored: list[ET.Element]) -> str:
    """The text of a paragraph or heading; frames and footnotes in it are added to ``anchored``."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag in (S, TAB, LINE_BREAK):  # spaces, a tab, a line break: one space (whitespace is folded)
            parts.append(" ")
        elif tag == NOTE:
            anchored.extend(child.iter(NOTE_BODY))
        elif tag.startswith("{" + _NS["draw"] + "}"):
            anchored.append(child)
        elif tag not in SKIPPED:
            parts.append(_inline(child, anchored))
        parts.append(child.tail or "")
    return "".join(parts)


def _rows(table: ET.Element) -> Iterator[ET.Element]:
    """A table's rows, those in row groups and header rows too (not those of tables in its cells)."""
    for child in table:
        if child.tag == ROW:
            yield child
        elif child.tag in ROW_GROUPS:
            yield from _rows(child)


def _cells(row: ET.Element) -> Iterator[ET.Element]:
    return (cell for cell in row if cell.tag in (CELL, COVERED))


def _plain(element: ET.Element) -> str:
    """The text of a table cell or a frame on one line."""
    if len(element) == 0:
        return ""
    if len(element) == 1 and element[0].tag == P and len(element[0]) == 0:  # most cells: one plain paragraph
        return " ".join((element[0].text or "").split())
    writer = _Writer("")
    writer.block(element)
    return " ".join(" ".join(writer.blocks).split())


def _sheet_rows(row: ET.Element, cells: list[int], name: str) -> list[list[str]]:
    """A sheet's row as often as it is repeated, its repeated cells written out; none if it holds no word.
    A sheet states runs of blank rows and cells as one element repeated (LibreOffice ends every row with a
    blank cell repeated to column 1,024, and a sheet with one repeated to row 1,048,576): blank runs at a
    row's end are dropped and blank rows skipped before anything is written out, and the cells written out
    are counted against :data:`~index.ingest.extract.office.MAX_SHEET_CELLS` (``cells`` holds the count)."""
    runs = [(_plain(cell), _int(cell.get(COLUMNS_REPEATED), 1)) for cell in _cells(row)]
    while runs and not runs[-1][0]:
        runs.pop()
    if not runs:
        return []
    repeat = _int(row.get(ROWS_REPEATED), 1)
    cells[0] += sum(count for _, count in runs) * repeat
    check_sheet_cells(cells[0], name)
    texts = [text for text, count in runs for _ in range(count)]
    return [texts] * repeat


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 1) if value is not None else default
    except ValueError:
        return default


class _Package:
    """An OpenDocument file open for reading: its content.xml read a block at a time, its meta.xml."""

    def __init__(self, data: bytes, name: str, kind: str) -> None:
        self.name, self.kind = name, kind
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
            names = set(self.archive.namelist())
            manifest = self.archive.read(MANIFEST) if MANIFEST in names else b""
        except _DAMAGED as error:
            raise self._damaged(error) from None
        if b"encryption-data" in manifest:
            self.archive.close()
            raise EncryptedFileError(
                f"{name}: the {kind} file is encrypted with a password; save an unprotected copy and upload "
                "that"
            )

    def __enter__(self) -> _Package:
        return self

    def __exit__(self, *_: object) -> None:
        self.archive.close()

    def _damaged(self, error: Exception) -> CorruptFileError:
        return CorruptFileError(f"{self.name}: not a readable {self.kind} file ({error})")

    def blocks(self, containers: frozenset[str]) -> Iterator[tuple[list[ET.Element], ET.Element]]:
        """Each element of content.xml whose parent is one of ``containers`` (and that no skipped element
        holds), with its ancestors, once its end is read; then it is dropped from the tree.

        content.xml is fed to the parser :data:`CHUNK_BYTES` at a time, so that a large document never
        holds Python's lock for long (expat holds it while it parses), and only the block being read is kept
        in memory: a tree of a whole document costs about 100 bytes an element, and a ZIP of a few hundred
        KB can hold 500 MB of empty elements. A block of more than :data:`MAX_BLOCK_ELEMENTS` is refused."""
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        stack: list[ET.Element] = []
        pending = 0  # elements read since the last block was dropped
        try:
            with self.archive.open("content.xml") as stream:
                while chunk := stream.read(CHUNK_BYTES):
                    parser.feed(chunk)
                    # start and end events only, each with its element
                    for event, element in cast("Iterator[tuple[str, ET.Element]]", parser.read_events()):
                        if event == "start":
                            stack.append(element)
                            pending += 1
                            if pending > MAX_BLOCK_ELEMENTS:
                                raise CorruptFileError(
                                    f"{self.name}: one part of the {self.kind} file holds more than "
                                    f"{MAX_BLOCK_ELEMENTS:,} XML elements; split the file"
                                )
                            continue
                        stack.pop()
                        if stack and stack[-1].tag in containers:
                            if not any(a.tag in SKIPPED for a in stack):
                                yield stack, element
                            stack[-1].remove(element)  # parsed siblings may follow it already
                            pending = 0
                parser.close()
        except CorruptFileError:
            raise  # a block past the bound: said as it is
        except _DAMAGED as error:
            raise self._damaged(error) from None

    def meta(self) -> ET.Element | None:
        """meta.xml, parsed; None if it is missing, larger than :data:`MAX_META_BYTES` or damaged (the file's
        properties are never a reason to refuse its text)."""
        try:
            info = self.archive.getinfo("meta.xml")
            if info.file_size > MAX_META_BYTES:
                return None
            return ET.fromstring(self.archive.read(info))
        except _DAMAGED:
            return None


def _meta_text(meta: ET.Element | None, tag: str) -> str | None:
    found = meta.find(f".//{_q(tag)}") if meta is not None else None
    text = " ".join((found.text or "").split()) if found is not None else ""
    return text or None


def _title(meta: ET.Element | None) -> str | None:
    return _meta_text(meta, "dc:title")


def _fields(meta: ET.Element | None) -> dict[str, Any]:
    """meta.xml's Dublin Core and OpenDocument fields (:mod:`index.ingest.extract.properties`): the author is
    who made the file (``meta:initial-creator``), or else who saved it last (``dc:creator``)."""
    keywords = [k.text or "" for k in meta.iter(_q("meta:keyword"))] if meta is not None else []
    return file_fields(
        author=_meta_text(meta, "meta:initial-creator") or _meta_text(meta, "dc:creator"),
        subject=_meta_text(meta, "dc:subject"),
        keywords=keywords,
        language=_meta_text(meta, "dc:language"),
        created=_meta_text(meta, "meta:creation-date"),
        modified=_meta_text(meta, "dc:date"),
    )


def _text(blocks: list[str], name: str) -> str:
    if not blocks:
        raise NoTextError(f"{name}: the file holds no text")
    return "\n\n".join(blocks) + "\n"
