"""Office Open XML: Word with python-docx, PowerPoint with python-pptx, Excel with openpyxl (the reference
libraries for each, pure Python over lxml, MIT-licensed). Headings become Markdown headings, list paragraphs
list items and tables Markdown tables; each slide is a page."""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from index.ingest.extract import wordml
from index.ingest.extract.base import (
    DAMAGED_ZIP,
    PAGE_BREAK,
    CorruptFileError,
    Extracted,
    ExtractionError,
    NoTextError,
    check_markup,
    markup_elements,
)
from index.ingest.extract.properties import file_fields, utc
from index.ingest.extract.text import check_table, markdown_table

T = TypeVar("T")


# The most elements of XML a Word or PowerPoint file (or an Excel file's parts but its sheets, which are read
# as a stream) may hold: python-docx and python-pptx parse every part whole with lxml, about 200 bytes and 1.4
# microseconds an element (docs/benchmarks.md, "Markup bombs"), so at most 1 GB and 7 s. Word writes about
# one element per five characters, so a document of SEMSEARCH_MAX_TEXT_CHARS (20 million) holds about four
# million; a 60 KB ZIP of empty runs holds three million.
MAX_XML_ELEMENTS = 5_000_000
_STREAMED_PARTS = "xl/worksheets/"
_COUNT_BYTES = 1024 * 1024


def _check_elements(data: bytes, name: str, kind: str) -> None:
    """Refuse an Office file whose XML parts hold more than :data:`MAX_XML_ELEMENTS` elements, counted a
    megabyte at a time as they are unpacked (:func:`~index.ingest.extract.base.markup_elements`)."""
    elements = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.filename.startswith(_STREAMED_PARTS) or not info.filename.endswith((".xml", ".rels")):
                    continue
                with archive.open(info) as part:
                    while chunk := part.read(_COUNT_BYTES):
                        elements += markup_elements(chunk.decode("latin-1"))
                        check_markup(elements, MAX_XML_ELEMENTS, name, f"{kind} file")
    except CorruptFileError:
        raise  # past the bound
    except DAMAGED_ZIP:
        return  # damaged: the reader says how


def _open(loader: Callable[[io.BytesIO], T], data: bytes, name: str, kind: str) -> T:
    _check_elements(data, name, kind)
    try:
        return loader(io.BytesIO(data))
    except DAMAGED_ZIP as error:
        raise CorruptFileError(f"{name}: not a readable {kind} file ({error})") from None
    except Exception as error:  # lxml's parse errors and the libraries' own: a damaged part
        detail = f"{type(error).__name__}: {error}"
        raise CorruptFileError(f"{name}: the {kind} file is damaged ({detail})") from None


def _core(read: Callable[[], object]) -> object:
    """An Office file's core properties, or None where that part is damaged (the text is still read)."""
    try:
        return read()
    except Exception:  # a core-properties part of the wrong type or unparsable XML
        return None


def _core_title(core: object) -> str | None:
    try:
        title = getattr(core, "title", None)
    except Exception:  # a damaged property
        return None
    return title.strip() or None if isinstance(title, str) else None


def _core_fields(core: object, author: str) -> dict[str, Any]:
    """An Office file's core properties (docProps/core.xml) as metadata fields
    (:mod:`index.ingest.extract.properties`); ``author`` names the reader's attribute for dc:creator."""

    def read(attribute: str) -> Any:
        try:
            return getattr(core, attribute, None)
        except Exception:  # a damaged property (a date that does not parse) is left out, not the file
            return None

    return file_fields(
        author=read(author),
        subject=read("subject"),
        keywords=read("keywords"),
        language=read("language"),
        created=utc(read("created")),
        modified=utc(read("modified")),
        category=read("category"),
    )


def extract_docx(data: bytes, name: str) -> Extracted:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = _open(docx.Document, data, name, "DOCX")
    blocks: list[str] = []
    first_heading: str | None = None

    def lines_of(container: Any) -> str:
        """The paragraphs of a table cell or a note (those of its tables and text boxes too), a line each."""
        lines: list[str] = []
        for element in wordml.blocks(container):
            if element.tag == wordml.TABLE:
                lines.extend(lines_of(tc) for row in Table(element, body).rows for tc in _cells(row))
                continue
            text, boxes = wordml.paragraph_text(element)
            lines.extend([text.strip(), *(lines_of(box) for box in boxes)])
        return "\n".join(line for line in lines if line)

    def read(container: Any) -> None:
        nonlocal first_heading
        for element in wordml.blocks(container):
            if element.tag == wordml.TABLE:
                rows = [[lines_of(tc) for tc in _cells(row)] for row in Table(element, body).rows]
                if rows:
                    blocks.append(markdown_table(rows, name).rstrip("\n"))
                continue
            text, boxes = wordml.paragraph_text(element)
            text = text.strip()
            if text:
                paragraph = Paragraph(element, body)
                style = _style_name(paragraph)
                level = _heading_level(style)
                if level:
                    first_heading = first_heading or text
                    blocks.append("#" * level + " " + text)
                elif style.startswith("List") or (element.pPr is not None and element.pPr.numPr is not None):
                    blocks.append("- " + text)
                else:
                    blocks.append(text)
            for box in boxes:
                read(box)
            blocks.extend(
                "- " + text for text in diagrams.texts(element, document.part.related_parts.__getitem__)
            )

    body = document._body
    diagrams = _Diagrams()
    read(document.element.body)
    for heading, notes in (("Footnotes", RT.FOOTNOTES), ("Endnotes", RT.ENDNOTES)):
        texts = [lines_of(note) for note in _notes(document, notes)]
        if any(texts):
            blocks.extend(["## " + heading, *(text for text in texts if text)])
    core = _core(lambda: document.core_properties)
    title = _core_title(core) or first_heading
    fields = _core_fields(core, "author")
    return Extracted(text=_text(blocks, name, "\n\n"), title=title, format="docx", fields=fields)


def _notes(document: Any, relationship: str) -> list[Any]:
    """The footnotes or endnotes (``w:footnote``, ``w:endnote``) of a Word document, without the separators
    Word keeps among them; none if it has no such part or the part is damaged (the text is still read)."""
    from docx.oxml import parse_xml

    try:
        root = parse_xml(document.part.part_related_by(relationship).blob)
    except Exception:  # no such part (KeyError), or XML that does not parse
        return []
    separators = ("separator", "continuationSeparator", "continuationNotice")
    return [note for note in root if note.get(wordml.W + "type") not in separators]


def _cells(row: Any) -> list[Any]:
    """A table row's cells (``w:tc``), a merged cell once per column it spans, as python-docx's
    ``row.cells`` gives them."""
    return [cell._tc for cell in row.cells]


def extract_pptx(data: bytes, name: str) -> Extracted:
    import pptx

    presentation = _open(pptx.Presentation, data, name, "PPTX")
    slides: list[str] = []
    core = _core(lambda: presentation.core_properties)
    title = _core_title(core)
    diagrams = _Diagrams()
    for number, slide in enumerate(presentation.slides, start=1):
        blocks: list[str] = []
        if not hasattr(slide.element, "spTree"):  # a damaged slide part whose root is not a slide
            raise CorruptFileError(f"{name}: slide {number} is damaged (its XML is not a slide's)")
        heading = slide.shapes.title
        if heading is not None and heading.has_text_frame and heading.text_frame.text.strip():
            text = heading.text_frame.text.strip()
            title = title or text
            blocks.append("## " + " ".join(text.split()))
        for shape in _shapes(slide.shapes):
            if heading is not None and shape.shape_id == heading.shape_id:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                blocks.append(markdown_table(rows, name).rstrip("\n"))
            elif diagram := diagrams.texts(shape._element, slide.part.related_part):
                blocks.extend("- " + text for text in diagram)
            elif shape.has_text_frame:
                for paragraph in shape.text_frame.paragraphs:
                    text = "".join(run.text for run in paragraph.runs).strip()
                    if text:
                        blocks.append(("- " if paragraph.level else "") + text)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                blocks.append(notes)
        slides.append("\n\n".join(blocks))
    if not any(slide.strip() for slide in slides):
        raise NoTextError(f"{name}: the presentation holds no text")
    return Extracted(
        text=f"\n{PAGE_BREAK}\n".join(slides) + "\n",
        title=title,
        format="pptx",
        pages=len(slides),
        fields=_core_fields(core, "author"),
    )


# The most cells (blank ones included) read from a workbook: 2,000,000 rows of 25 columns, far more text
# than SEMSEARCH_MAX_TEXT_CHARS lets in; a few seconds of reading.
MAX_SHEET_CELLS = 50_000_000


def extract_xlsx(data: bytes, name: str) -> Extracted:
    import openpyxl

    workbook = _open(lambda f: openpyxl.load_workbook(f, read_only=True, data_only=True), data, name, "XLSX")
    try:
        blocks: list[str] = []
        cells = 0
        for sheet in workbook.worksheets:
            # The sheet's stated dimensions are not trusted: a 5 KB file with one cell at XFD1048576 would
            # have every row padded to 16,384 columns, a million of them. Rows are read as stored, each as
            # wide as its last cell, and the cells read are counted against a bound.
            sheet.reset_dimensions()
            rows = []
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
                check_sheet_cells(cells, name)
                if row.count(None) < len(row):  # in C: most rows of a sparse sheet are blank
                    texts = [cell_text(value) for value in row]
                    if any(text.strip() for text in texts):
                        rows.append(texts)
            if rows:
                blocks.append(sheet_block(sheet.title, rows, name))
        core = _core(lambda: workbook.properties)
        title = _core_title(core)
        fields = _core_fields(core, "creator")
    except ExtractionError:
        raise
    except Exception as error:  # a sheet's XML is read as it is iterated: damage shows up here
        raise CorruptFileError(
            f"{name}: the XLSX file is damaged ({type(error).__name__}: {error})"
        ) from None
    finally:
        workbook.close()
    return Extracted(text=_text(blocks, name, "\n\n"), title=title, format="xlsx", fields=fields)


def cell_text(value: object) -> str:
    """A cell's value as Excel shows it, near enough (the same for .xlsx and .xls): whole numbers without
    ``.0``, a date without a time of midnight (``2026-03-01``, not ``2026-03-01 00:00:00``), a date and time
    as ISO 8601, TRUE and FALSE, nothing for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def check_sheet_cells(cells: int, name: str) -> None:
    """Refuse a workbook once the cells read from its sheets pass :data:`MAX_SHEET_CELLS`."""
    if cells > MAX_SHEET_CELLS:
        raise CorruptFileError(
            f"{name}: its sheets span more than {MAX_SHEET_CELLS:,} cells (rows times columns, blank ones "
            "included); save the part to search as CSV"
        )


def sheet_block(title: str, rows: list[list[str]], name: str) -> str:
    """A sheet as a workbook's document shows it: a heading, then its rows as a Markdown table."""
    return f"## {title}\n\n" + markdown_table(used_columns(rows, name), name).rstrip("\n")


def used_columns(rows: list[list[str]], name: str) -> list[list[str]]:
    """``rows`` without the columns that are blank in every row (a sheet's gaps between its tables)."""
    used = sorted({column for row in rows for column, text in enumerate(row) if text.strip()})
    check_table(len(rows), len(used), name)  # before padding every row to the widest
    return [[row[c] if c < len(row) else "" for c in used] for row in rows]


def _style_name(paragraph: Any) -> str:
    """A paragraph's style name; with the styles part damaged (another part's content type, say: python-docx
    then has no styles to look the name up in), the style's id, which for the built-in headings is their
    name without its space ("Heading1"), so that the text is still read, and its headings too."""
    try:
        style = paragraph.style
    except (AttributeError, KeyError, ValueError):
        style_id = paragraph._p.style or ""
        return f"Heading {style_id[7:]}" if style_id[:7] == "Heading" and style_id[7:].isdigit() else style_id
    return (style.name if style is not None else "") or ""


def _heading_level(style: str) -> int:
    if style == "Title":
        return 1
    if style.startswith("Heading "):
        suffix = style.removeprefix("Heading ").strip()
        if suffix.isdigit():
            return min(int(suffix), 6)
    return 0


_DIAGRAM = "{http://schemas.openxmlformats.org/drawingml/2006/diagram}"
_DRAWING = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


class _Diagrams:
    """The text of a file's SmartArt diagrams: python-pptx and python-docx see a diagram as a graphic without
    text, its text being in a part of its own (``dgm:dataModel``). Each part is read once, however many
    places show it (a file could name one large part from every paragraph or slide)."""

    def __init__(self) -> None:
        self.read: dict[str, list[str]] = {}

    def texts(self, element: Any, related: Callable[[str], Any]) -> list[str]:
        """The text of the diagrams in ``element`` (a slide's graphic frame, a Word paragraph), node by node
        in the order of their data models; ``related(id)``: the part of that id, from the slide's or the
        document's relationships. Nothing for a diagram whose data part is missing or damaged."""
        from pptx.oxml import parse_xml  # lxml without entities, as python-docx's and python-pptx's parts

        texts: list[str] = []
        for ids in element.iter(_DIAGRAM + "relIds"):
            try:
                part = related(ids.get(_RELATIONSHIP + "dm") or "")
            except (KeyError, ValueError):  # no such relationship, or one to outside the file
                continue
            key = str(part.partname)
            if key not in self.read:
                try:
                    self.read[key] = list(_nodes(parse_xml(part.blob)))
                except Exception:  # XML that does not parse
                    self.read[key] = []
            texts.extend(self.read[key])
        return texts


def _nodes(model: Any) -> Iterator[str]:
    """The text of a diagram's data model (``dgm:dataModel``), a paragraph at a time."""
    for point in model.iter(_DIAGRAM + "pt"):
        if point.get("type", "node") not in ("node", "asst"):  # a node or an assistant: not the root, links
            continue
        for body in point.iter(_DIAGRAM + "t"):
            for paragraph in body.iter(_DRAWING + "p"):
                text = " ".join("".join(t.text or "" for t in paragraph.iter(_DRAWING + "t")).split())
                if text:
                    yield text


def _shapes(shapes: Any) -> Iterator[Any]:
    """Every shape, the ones inside groups too, in reading order."""
    for shape in shapes:
        if getattr(shape, "shape_type", None) == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _text(blocks: list[str], name: str, separator: str) -> str:
    if not blocks:
        raise NoTextError(f"{name}: the file holds no text")
    return separator.join(blocks) + "\n"
