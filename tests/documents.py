"""Real files for tests and benchmarks, made on the spot: PDFs printed by headless Chromium from HTML, DOCX
written by python-docx, PPTX by python-pptx, XLSX by openpyxl, encrypted PDFs by pypdf, EPUBs by zipfile,
OpenDocument files by odfpy, Outlook messages by tests/compound_file.py; web pages in site generators'
markup."""

from __future__ import annotations

import datetime
import io
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.compound_file import cfb_bytes
from tests.integration.browser import find_browser


def print_pdfs(pages: Sequence[tuple[str, dict[str, str]]]) -> list[bytes]:
    """Each ``(html, options)`` printed to PDF by Chromium; options: ``header``, ``footer`` (HTML
    templates repeated on every page, Chromium's ``pageNumber``/``totalPages`` classes work), ``title``."""
    from playwright.sync_api import sync_playwright

    executable = find_browser()
    out: list[bytes] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            page = browser.new_page()
            for html, options in pages:
                page.set_content(html)
                templated = "header" in options or "footer" in options
                out.append(
                    page.pdf(
                        format="A4",
                        display_header_footer=templated,
                        header_template=options.get("header", "<span></span>"),
                        footer_template=options.get("footer", "<span></span>"),
                        margin={"top": "2cm", "bottom": "2cm", "left": "1.5cm", "right": "1.5cm"},
                    )
                )
        finally:
            browser.close()
    return out


def running(text: str) -> str:
    """A header or footer template: ``text`` small and centred; ``{page}``/``{pages}`` are filled in."""
    text = text.replace("{page}", '<span class="pageNumber"></span>')
    text = text.replace("{pages}", '<span class="totalPages"></span>')
    return f'<div style="font-size:9px;width:100%;text-align:center">{text}</div>'


def two_column_html(sections: Sequence[tuple[str, str]], title: str = "Collected papers") -> str:
    """An article in two justified columns, long words carrying soft hyphens so that Chromium breaks them
    at line ends as a typesetter would."""
    import html
    import re

    def soft(text: str) -> str:
        return re.sub(r"[A-Za-z]{9,}", lambda m: m.group(0)[:4] + "&shy;" + m.group(0)[4:], html.escape(text))

    body = "".join(f"<h2>{html.escape(head)}</h2><p>{soft(text)}</p>" for head, text in sections)
    return (
        f'<html lang="en"><head><title>{html.escape(title)}</title><style>body{{font-family:serif;'
        "font-size:11pt}} .cols{column-count:2;column-gap:1cm;text-align:justify}</style></head>"
        f'<body><h1>{html.escape(title)}</h1><div class="cols">{body}</div></body></html>'
    )


def encrypt_pdf(pdf: bytes, password: str) -> bytes:
    """``pdf`` encrypted with a user password (AES-256), by pypdf."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def form_pdf(pages: Sequence[tuple[str, Sequence[tuple[str, str, str]], Sequence[tuple[str, str]]]]) -> bytes:
    """A PDF as a filled-in form leaves it, by pypdf: each page's printed line, then its text fields
    ``(name, label for people or "", value)`` as widgets whose appearance shows the value, and annotations
    ``(subtype, contents)`` (``/FreeText``: what Acrobat's "Fill & Sign" and typewriter tools write;
    ``/Text``: a sticky note). Fields of one name on several pages are one field shown on each."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )

    def name(value: str) -> NameObject:
        return NameObject(value)

    def box(*corners: float) -> ArrayObject:
        return ArrayObject([FloatObject(c) for c in corners])

    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                name("/Type"): name("/Font"),
                name("/Subtype"): name("/Type1"),
                name("/BaseFont"): name("/Helvetica"),
            }
        )
    )
    resources = DictionaryObject({name("/Font"): DictionaryObject({name("/F1"): font})})
    fields: dict[str, DictionaryObject] = {}
    kids: dict[str, ArrayObject] = {}
    for printed, widgets, notes in pages:
        page = writer.add_blank_page(612, 792)
        page[name("/Resources")] = resources
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 14 Tf 72 720 Td ({printed}) Tj ET".encode("latin-1"))
        page[name("/Contents")] = writer._add_object(content)
        annotations = ArrayObject()
        y = 680.0
        for field, label, value in widgets:
            shown = DecodedStreamObject()
            shown.set_data(f"/Tx BMC BT /F1 11 Tf 2 4 Td ({value}) Tj ET EMC".encode("latin-1"))
            shown.update(
                {
                    name("/Type"): name("/XObject"),
                    name("/Subtype"): name("/Form"),
                    name("/BBox"): box(0, 0, 300, 18),
                    name("/Resources"): resources,
                }
            )
            widget = DictionaryObject(
                {
                    name("/Type"): name("/Annot"),
                    name("/Subtype"): name("/Widget"),
                    name("/Rect"): box(200, y - 4, 500, y + 14),
                    name("/AP"): DictionaryObject({name("/N"): writer._add_object(shown)}),
                    name("/P"): page.indirect_reference,
                }
            )
            if field not in fields:  # the field itself, its widgets its kids
                kids[field] = ArrayObject()
                fields[field] = DictionaryObject(
                    {
                        name("/FT"): name("/Tx"),
                        name("/T"): TextStringObject(field),
                        name("/V"): TextStringObject(value),
                        name("/DA"): TextStringObject("/F1 11 Tf 0 g"),
                        name("/Kids"): kids[field],
                    }
                )
                if label:
                    fields[field][name("/TU")] = TextStringObject(label)
                writer._add_object(fields[field])
            widget[name("/Parent")] = fields[field].indirect_reference
            reference = writer._add_object(widget)
            kids[field].append(reference)
            annotations.append(reference)
            y -= 30
        for subtype, contents in notes:
            note = DictionaryObject(
                {
                    name("/Type"): name("/Annot"),
                    name("/Subtype"): name(subtype),
                    name("/Rect"): box(72, y - 4, 400, y + 14),
                    name("/Contents"): TextStringObject(contents),
                    name("/DA"): TextStringObject("/Helv 11 Tf 0 g"),
                }
            )
            annotations.append(writer._add_object(note))
            y -= 30
        page[name("/Annots")] = annotations
    writer._root_object[name("/AcroForm")] = DictionaryObject(
        {
            name("/Fields"): ArrayObject([f.indirect_reference for f in fields.values()]),
            name("/DA"): TextStringObject("/F1 11 Tf 0 g"),
            name("/DR"): resources,
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_only_pdf() -> bytes:
    """A one-page PDF holding an image and no text (what a scanner makes), by pypdf."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scans(pages: Sequence[Sequence[str]]) -> list[Any]:
    """Scanned pages: each a greyscale picture of its lines (in Pillow's own font, slightly askew, at 200
    dpi on A4)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=40)
    images = []
    for lines in pages:
        image = Image.new("L", (1654, 2339), 255)
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text((160, 240 + i * 64), line, fill=0, font=font)
        images.append(image.rotate(0.5, fillcolor=255))
    return images


def scanned_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF of :func:`scans` and no text layer."""
    return scanned_file(pages, "PDF")


def scanned_file(pages: Sequence[Sequence[str]], kind: str) -> bytes:
    """:func:`scans` saved by Pillow as ``kind`` (PDF, PNG, JPEG, TIFF...), every page where the format
    holds several (PDF, TIFF), else the first."""
    images = scans(pages)
    out = io.BytesIO()
    if kind in ("PDF", "TIFF"):
        images[0].save(out, kind, resolution=200, save_all=True, append_images=images[1:])
    else:
        images[0].save(out, kind)
    return out.getvalue()


def docx_bytes(
    title: str, sections: Sequence[tuple[str, Sequence[str]]], table: Sequence[Sequence[str]] = ()
) -> bytes:
    """A Word document: a title, then each ``(heading, paragraphs)``, then a table if given."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=0)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_bytes(slides: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    """A presentation, one slide per ``(title, bullet points)``."""
    import pptx

    presentation = pptx.Presentation()
    for title, bullets in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


DIAGRAM = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
DIAGRAM_DATA = "application/vnd.openxmlformats-officedocument.drawingml.diagramData+xml"  # its content type
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def diagram_data(points: Sequence[tuple[str, str]]) -> bytes:
    """A SmartArt diagram's data part (``dgm:dataModel``): its points ``(type, text)`` in order."""
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    model = "".join(
        f'<dgm:pt modelId="{n}" type="{kind}"><dgm:t><a:p><a:r><a:t>{text}</a:t></a:r></a:p></dgm:t></dgm:pt>'
        for n, (kind, text) in enumerate(points)
    )
    data = (
        f'<dgm:dataModel xmlns:dgm="{DIAGRAM}" xmlns:a="{a}"><dgm:ptLst>{model}</dgm:ptLst></dgm:dataModel>'
    )
    return data.encode()


def diagram_graphic(relationship: str) -> str:
    """The ``a:graphic`` that places the diagram whose data part is ``relationship`` (in Word and PowerPoint
    alike)."""
    return (
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        f'<a:graphicData uri="{DIAGRAM}"><dgm:relIds xmlns:dgm="{DIAGRAM}" xmlns:r="{RELATIONSHIPS}" '
        f'r:dm="{relationship}" r:lo="" r:qs="" r:cs=""/>'
        "</a:graphicData></a:graphic>"
    )


def xlsx_bytes(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    """A workbook with one sheet per name, rows as given."""
    import openpyxl

    workbook = openpyxl.Workbook()
    for number, (name, rows) in enumerate(sheets.items()):
        sheet = workbook.worksheets[0] if number == 0 else workbook.create_sheet(name)
        sheet.title = name
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def epub_bytes(metadata: str, chapters: Sequence[tuple[str, str]], spine: Sequence[str] = ()) -> bytes:
    """An EPUB: ``metadata`` (the package's Dublin Core elements, as XML), then each ``(file, XHTML)``
    chapter, read in ``spine`` order (by default the order given)."""
    ids = {name: f"c{number}" for number, (name, _) in enumerate(chapters)}
    manifest = "".join(f'<item id="{ids[name]}" href="{name}"/>' for name, _ in chapters)
    order = "".join(f'<itemref idref="{ids[name]}"/>' for name in (spine or [name for name, _ in chapters]))
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr(
            "META-INF/container.xml",
            '<container><rootfiles><rootfile full-path="OEBPS/book.opf"/></rootfiles></container>',
        )
        archive.writestr(
            "OEBPS/book.opf",
            f"<package><metadata>{metadata}</metadata><manifest>{manifest}</manifest>"
            f"<spine>{order}</spine></package>",
        )
        for name, xhtml in chapters:
            archive.writestr(f"OEBPS/{name}", xhtml)
    return book.getvalue()


def zip_member(data: bytes, name: str) -> bytes:
    """The member ``name`` of the ZIP ``data`` (an Office or OpenDocument file's part)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def rezip(data: bytes, change: dict[str, bytes], compress_type: int = zipfile.ZIP_STORED) -> bytes:
    """``data``'s ZIP with the members in ``change`` replaced (or added, after the others; written with
    ``compress_type``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in change:
                target.writestr(info, source.read(info.filename))
        for member, content in change.items():
            target.writestr(member, content, compress_type=compress_type)
    return out.getvalue()


def docx_of_empty_runs(runs: int) -> bytes:
    """A Word file whose one paragraph holds ``runs`` empty runs after its text: a few bytes each once
    compressed, a hundred each in a parsed tree."""
    data = docx_bytes("Runs", [("Runs", ["Some text."])])
    text = b"<w:t>Some text.</w:t>"
    part = zip_member(data, "word/document.xml").replace(text, text + b"<w:t/>" * runs)
    return rezip(data, {"word/document.xml": part}, zipfile.ZIP_DEFLATED)


def odf_bytes(document: Any) -> bytes:
    """An odfpy document as the bytes of its file."""
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def odf_meta(
    document: Any, title: str | None = None, author: str | None = None, keywords: Sequence[str] = ()
) -> None:
    """Set an odfpy document's title, author (its initial creator) and keywords (meta.xml)."""
    from odf import dc, meta

    if title is not None:
        document.meta.addElement(dc.Title(text=title))
    if author is not None:
        document.meta.addElement(meta.InitialCreator(text=author))
    for keyword in keywords:
        document.meta.addElement(meta.Keyword(text=keyword))


def odt_document(blocks: Sequence[tuple[str, Any]]) -> Any:
    """An odfpy text document of ``(kind, value)`` blocks: ``("h2", text)`` a heading of that level,
    ``("p", text)``, ``("li", text)`` an item of a list, ``("table", rows)``."""
    from odf import text
    from odf.opendocument import OpenDocumentText

    document = OpenDocumentText()
    for kind, value in blocks:
        if kind.startswith("h"):
            document.text.addElement(text.H(outlinelevel=int(kind[1:]), text=value))
        elif kind == "p":
            document.text.addElement(text.P(text=value))
        elif kind == "li":
            items = text.List()
            item = text.ListItem()
            item.addElement(text.P(text=value))
            items.addElement(item)
            document.text.addElement(items)
        else:
            document.text.addElement(odf_table("Table", value))
    return document


def odf_table(name: str, rows: Sequence[Sequence[Any] | tuple[Sequence[Any], int]]) -> Any:
    """An OpenDocument table; a cell given as ``(text, n)`` is repeated n times, a row given as
    ``(row, n)`` too (as LibreOffice writes runs of blank cells and rows)."""
    from odf import table, text

    out = table.Table(name=name)
    for given in rows:
        cells, repeat = given if _repeated(given) else (given, 1)
        element = table.TableRow(numberrowsrepeated=repeat) if repeat > 1 else table.TableRow()
        for cell in cells:
            value, times = cell if isinstance(cell, tuple) else (cell, 1)
            made = table.TableCell(numbercolumnsrepeated=times) if times > 1 else table.TableCell()
            if value:
                made.addElement(text.P(text=str(value)))
            element.addElement(made)
        out.addElement(element)
    return out


def _repeated(row: object) -> bool:
    return (
        isinstance(row, tuple) and len(row) == 2 and isinstance(row[1], int) and not isinstance(row[0], str)
    )


def ods_bytes(sheets: dict[str, Sequence[Any]]) -> bytes:
    """An OpenDocument spreadsheet, written by odfpy (cells and rows repeated as :func:`odf_table` says)."""
    from odf.opendocument import OpenDocumentSpreadsheet

    document = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        document.spreadsheet.addElement(odf_table(name, rows))
    return odf_bytes(document)


def odp_bytes(slides: Sequence[tuple[str, Sequence[str], str]]) -> bytes:
    """An OpenDocument presentation of ``(title, lines, notes)`` slides, written by odfpy."""
    from odf import draw, style, text
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes

    document = OpenDocumentPresentation()
    layout = style.PageLayout(name="Layout")
    document.automaticstyles.addElement(layout)
    master = style.MasterPage(name="Master", pagelayoutname=layout)
    document.masterstyles.addElement(master)

    def frame(lines: Sequence[str], kind: str | None = None) -> Any:
        made = draw.Frame(width="20cm", height="5cm", x="1cm", y="1cm")
        if kind:
            made.setAttrNS(PRESENTATIONNS, "class", kind)
        box = draw.TextBox()
        for line in lines:
            box.addElement(text.P(text=line))
        made.addElement(box)
        return made

    for title, lines, notes in slides:
        page = draw.Page(masterpagename=master)
        page.addElement(frame([title], "title"))
        page.addElement(frame(lines))
        if notes:
            spoken = Notes()
            spoken.addElement(frame([notes], "notes"))
            page.addElement(spoken)
        document.presentation.addElement(page)
    return odf_bytes(document)


def notebook_bytes(cells: Sequence[tuple[str, str]], metadata: dict[str, Any] | None = None) -> bytes:
    """A Jupyter notebook (format 4) of ``(kind, source)`` cells (``markdown``, ``code``, ``raw``), written
    by nbformat as Jupyter writes it; each code cell with a stream output and a figure."""
    import nbformat
    from nbformat import v4

    notebook = v4.new_notebook(metadata=metadata or {})
    for kind, source in cells:
        if kind == "code":
            outputs = [
                v4.new_output("stream", name="stdout", text="epoch 1 loss 0.93\n"),
                v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
            ]
            notebook.cells.append(v4.new_code_cell(source, outputs=outputs, execution_count=1))
        elif kind == "markdown":
            notebook.cells.append(v4.new_markdown_cell(source))
        else:
            notebook.cells.append(v4.new_raw_cell(source))
    written: str = nbformat.writes(notebook)
    return written.encode()


# The markup of three site generators' pages, cut down to their structure (Sphinx's Alabaster theme, Material
# for MkDocs, WordPress' Twenty Twenty): the page's own text in {body}, the site's navigation beside it.
SITE_THEMES = {
    "sphinx": (
        '<div class="related" role="navigation" aria-label="Related"><h3>Navigation</h3><ul>'
        '<li class="right"><a href="genindex.html">index</a></li><li><a href="index.html">{site} '
        "documentation</a></li></ul></div>"
        '<div class="document"><div class="documentwrapper"><div class="bodywrapper">'
        '<div class="body" role="main"><section><h1>{title}</h1>{body}</section></div></div></div>'
        '<div class="sphinxsidebar" role="navigation" aria-label="Main"><div class="sphinxsidebarwrapper">'
        '<h1 class="logo">{site}</h1><h3>Navigation</h3><ul>{menu}</ul>'
        '<search id="searchbox" role="search"><h3>Quick search</h3><form class="search">'
        '<input type="text" name="q"><input type="submit" value="Go"></form></search></div></div></div>'
        '<div class="footer">&copy;2026, {site} developers. Powered by Sphinx and Alabaster.</div>'
    ),
    "mkdocs": (
        '<div data-md-component="skip"><a href="#content" class="md-skip">Skip to content</a></div>'
        '<header class="md-header"><nav class="md-header__inner" aria-label="Header">'
        '<div class="md-header__title"><span>{site}</span><span>{title}</span></div>'
        '<div class="md-search" role="dialog"><input type="text" placeholder="Search"></div></nav></header>'
        '<div class="md-container"><main class="md-main"><div class="md-main__inner">'
        '<div class="md-sidebar md-sidebar--primary"><nav class="md-nav md-nav--primary" '
        'aria-label="Navigation"><label class="md-nav__title">{site}</label><ul>{menu}</ul></nav></div>'
        '<div class="md-content"><article class="md-content__inner md-typeset"><h1>{title}</h1>{body}'
        "</article></div></div></main>"
        '<footer class="md-footer"><div class="md-copyright">Copyright &copy; 2026 {site}. Made with '
        "Material for MkDocs</div></footer></div>"
    ),
    "wordpress": (
        '<a class="skip-link screen-reader-text" href="#site-content">Skip to the content</a>'
        '<header id="site-header"><div class="header-titles"><div class="site-title"><a href="/">{site}</a>'
        '</div><div class="site-description">Notes from the lab</div></div>'
        '<nav class="primary-menu-wrapper" aria-label="Horizontal"><ul>{menu}</ul></nav></header>'
        '<main id="site-content"><article class="post"><header class="entry-header">'
        '<h1 class="entry-title">{title}</h1><div class="post-meta">By the editors</div></header>'
        '<div class="entry-content">{body}</div></article></main>'
        '<aside id="secondary" class="widget-area"><section class="widget"><h2>Recent posts</h2>'
        "<ul>{menu}</ul></section></aside>"
        '<footer id="site-footer"><p>&copy; 2026 {site}. Proudly powered by WordPress.</p></footer>'
    ),
}


def site_page(theme: str, site: str, title: str, paragraphs: Sequence[str], menu: Sequence[str]) -> str:
    """A page of a ``site`` built with ``theme`` (a key of :data:`SITE_THEMES`): its ``title`` and
    ``paragraphs``, and the site's ``menu`` (its pages' titles) in its navigation."""
    import html

    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    items = "".join(f'<li><a href="#">{html.escape(entry)}</a></li>' for entry in menu)
    page = SITE_THEMES[theme].format(site=html.escape(site), title=html.escape(title), body=body, menu=items)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - '
        f"{html.escape(site)}</title></head><body>{page}</body></html>"
    )


Value = (
    str | bytes | int | datetime.datetime
)  # a MAPI property's: PtypString, PtypBinary, PtypInteger32, PtypTime


def msg_bytes(
    subject: str,
    body: str | None,
    *,
    html: str | None = None,
    sender: tuple[str, str] = ("Ada Lovelace", "ada@example.org"),
    to: Sequence[tuple[str, str]] = (("Charles Babbage", "charles@example.org"),),
    sent: datetime.datetime | None = None,
    attachments: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """An Outlook message (.msg, [MS-OXMSG]) as Outlook lays one out: MAPI properties in an OLE2 file
    (tests/compound_file.py writes it), strings in UTF-16, the HTML body as bytes in its code page."""
    streams: dict[str, bytes] = {}

    def properties(prefix: str, header: bytes, values: Sequence[tuple[int, int, Value]]) -> None:
        entries = b""
        for pid, kind, value in values:
            tag = pid << 16 | kind
            if isinstance(
                value, str | bytes
            ):  # in a stream of its own, its size here (a string's with a NUL)
                raw = value.encode("utf-16-le") if isinstance(value, str) else value
                streams[f"{prefix}__substg1.0_{tag:08X}"] = raw
                entries += struct.pack("<IIII", tag, 6, len(raw) + 2 * isinstance(value, str), 0)
            elif isinstance(value, datetime.datetime):  # PtypTime: 100 ns since 1601
                ticks = (value - datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)) // datetime.timedelta(
                    microseconds=1
                )
                entries += struct.pack("<IIQ", tag, 6, ticks * 10)
            else:  # PtypInteger32
                entries += struct.pack("<IIiI", tag, 6, value, 0)
        streams[f"{prefix}__properties_version1.0"] = header + entries

    values: list[tuple[int, int, Value]] = [
        (0x001A, 0x001F, "IPM.Note"),
        (0x0037, 0x001F, subject),
        (0x0C1A, 0x001F, sender[0]),
        (0x0C1F, 0x001F, sender[1]),
        (0x0E04, 0x001F, "; ".join(name for name, _ in to)),
        (0x3FDE, 0x0003, 65001),  # the HTML body's code page: UTF-8
    ]
    if body is not None:
        values.append((0x1000, 0x001F, body))
    if html is not None:
        values.append((0x1013, 0x0102, html.encode("utf-8")))
    if sent is not None:
        values.append((0x0039, 0x0040, sent))
    header = struct.pack("<8xIIII8x", len(to), len(attachments), len(to), len(attachments))
    properties("", header, values)
    for n, (name, address) in enumerate(to):
        recipient: list[tuple[int, int, Value]] = [(0x3001, 0x001F, name), (0x39FE, 0x001F, address)]
        recipient.append((0x0C15, 0x0003, 1))  # To
        properties(f"__recip_version1.0_#{n:08X}/", b"\x00" * 8, recipient)
    for n, (name, data) in enumerate(attachments):
        attachment: list[tuple[int, int, Value]] = [(0x3707, 0x001F, name), (0x3701, 0x0102, data)]
        attachment.append((0x3705, 0x0003, 1))  # attached by value
        properties(f"__attach_version1.0_#{n:08X}/", b"\x00" * 8, attachment)
    return cfb_bytes(streams)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
