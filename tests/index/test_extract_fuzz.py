"""Damaged files of every format: each real file below, with bytes overwritten, cut out or put in (in the
file, or inside one of a ZIP-based file's XML parts), is read, or refused by a reader's own rule with an
ExtractionError (a 4xx naming the file and the problem); extract's last resort, which turns whatever else a
reader raises into a refusal and logs it, is never reached. It found zlib, zipfile and charset errors
escaping the OpenDocument and EPUB readers, a damaged Word file's properties and a damaged Excel sheet
escaping the Office readers, and the email package's own errors."""

from __future__ import annotations

import io
import logging
import zipfile
from email.message import EmailMessage
from functools import cache

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.ingest.extract import CorruptFileError, ExtractionError, dispatch, extract
from index.ingest.extract.image import frames
from tests.data.files.make import PAGES  # noqa: F401  (the sample files are made by this module)
from tests.documents import (
    docx_bytes,
    epub_bytes,
    msg_bytes,
    notebook_bytes,
    odf_bytes,
    odp_bytes,
    ods_bytes,
    odt_document,
    pptx_bytes,
    rezip,
    site_page,
    xlsx_bytes,
    zip_member,
)
from tests.index.test_extract import FILES

ZIPPED = (".docx", ".pptx", ".xlsx", ".odt", ".ods", ".odp", ".epub")


@cache
def samples() -> dict[str, bytes]:
    mail = EmailMessage()
    mail["Subject"], mail["From"] = "Hi", "Ada <ada@example.com>"
    mail.set_content("The body.")
    mail.add_alternative("<p>The body.</p>", subtype="html")
    mail.add_attachment(b"x", maintype="application", subtype="pdf", filename="f.pdf")
    return {
        "mail.eml": bytes(mail),
        "mail.msg": msg_bytes("Hi", "The body.", html="<p>The body.</p>", attachments=[("f.pdf", b"x")]),
        "page.html": site_page("mkdocs", "Site", "Page", ["A paragraph."], ["Page", "Other"]).encode(),
        "notes.md": b"---\ntitle: Notes\ntags: [a]\n---\n# Heading\n\n- item\n\n| a | b |\n|---|---|\n",
        "table.csv": b'a,b,"c d"\n1,2,3\n',
        "lighthouse.pdf": (FILES / "lighthouse.pdf").read_bytes(),
        "lighthouse.doc": (FILES / "lighthouse.doc").read_bytes(),
        "stations.xls": (FILES / "stations.xls").read_bytes(),
        "lighthouse.ppt": (FILES / "lighthouse.ppt").read_bytes(),
        "report.docx": docx_bytes("Report", [("Heading", ["A paragraph."])]),
        "slides.pptx": pptx_bytes([("Title", ["A line."])]),
        "sheet.xlsx": xlsx_bytes({"S": [["a", 1], ["b", 2]]}),
        "book.epub": epub_bytes(
            "<dc:title>B</dc:title>", [("c.xhtml", "<html><body><p>x</p></body></html>")]
        ),
        "text.odt": odf_bytes(
            odt_document([("h1", "T"), ("p", "Para."), ("li", "Item"), ("table", [["a"]])])
        ),
        "sheet.ods": ods_bytes({"S": [["a", "b"], ["c", "d"]]}),
        "talk.odp": odp_bytes([("Title", ["A line."], "Notes")]),
        "talk.vtt": b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000 align:start\n"
        b"<v Ada>Hi &amp; <b>welcome</b>.\n\n00:01.000 --> 00:05.000\nSecond <c.x>cue</c>\n",
        "film.srt": b"1\r\n00:00:01,000 --> 00:00:04,000\r\n<i>Hello</i>\r\n\r\n"
        b"2\r\n00:00:05,000 --> 00:00:06,000\r\n- Bye.\r\n",
        "letter.rtf": b"{\\rtf1\\ansi\\ansicpg1252{\\fonttbl\\f0\\fswiss\\fcharset0 Helvetica;}"
        b"{\\info{\\title T}}"
        b'\\f0 Caf\\\'e9 {\\field{\\*\\fldinst{HYPERLINK "https://x.org"}}{\\fldrslt link}}\\par '
        b"{\\*\\shppict{\\pict\\pngblip 89504e47}}\\u8364 ?\\par}",
        "paper.tex": b"\\documentclass{article}\\title{T\\thanks{x}}\\author{A\\\\ B \\and C}"
        b"\\begin{document}\\maketitle\\begin{abstract}Caf\\'e $x^2$.\\end{abstract}"
        b"\\section{S}\\label{s}Text~\\cite[p.~2]{k}.\\begin{itemize}\\item[a] b\\end{itemize}"
        b"\\begin{thebibliography}{9}\\bibitem{k} R.\\end{thebibliography}\\end{document}",
        "analysis.ipynb": notebook_bytes(
            [("markdown", "# Title\n\nProse."), ("code", "x = '```'"), ("raw", "r")],
            {"language_info": {"name": "python"}, "authors": [{"name": "A"}]},
        ),
    }


INSERTS = [
    *(b"<", b"</", b"<p>", b"=?utf-8?q?", b"\r\n\r\n", b"--", b"\x00", b"\xff\xfe", b'encoding="x-none"'),
    *(b'{"', b"[", b'"cells":', b'"source": 7', b"1e999", b"18446744073709551616"),
    *(b" --> ", b"99:99:99.999", b"<v ", b"\n\n", b"&#x110000;", b"00:00:01,000 --> 00:00:00,000"),
    *(b"{", b"}", b"\\", b"\\u", b"\\'", b"\\bin9 ", b"\\uc", b"\\fcharset78 ", b"{\\pict ", b"\\u-10179?"),
    *(b"$", b"\\begin{", b"\\end{", b"\\item", b"[", b"%", b"\\verb|", b"\\usepackage[latin1]{inputenc}"),
]
edits = st.lists(
    st.tuples(
        st.sampled_from(["overwrite", "cut", "insert"]),
        st.floats(0, 1),
        st.one_of(st.binary(min_size=1, max_size=16), st.sampled_from(INSERTS)),
    ),
    min_size=1,
    max_size=6,
)


def damage(data: bytes, changes: list[tuple[str, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, piece in changes:
        at = int(where * len(out))
        if kind == "overwrite":
            out[at : at + len(piece)] = piece
        elif kind == "cut":
            del out[at : at + len(piece) * 8]
        else:
            out[at:at] = piece
    return bytes(out)


def damage_a_part(data: bytes, changes: list[tuple[str, float, bytes]], which: float) -> bytes:
    """``data``'s ZIP with one of its XML parts damaged, and the archive itself sound."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        parts = [info.filename for info in source.infolist() if info.filename.endswith((".xml", ".xhtml"))]
        chosen = parts[int(which * len(parts)) % len(parts)] if parts else None
        for info in source.infolist():
            member = source.read(info.filename)
            target.writestr(info.filename, damage(member, changes) if info.filename == chosen else member)
    return out.getvalue()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(samples())), edits, st.booleans(), st.floats(0, 1))
@example("slides.pptx", [("cut", 0.1875, b"\x00")], True, 0.96875)  # a slide part whose root is not a slide
def test_a_damaged_file_is_read_or_refused_with_a_reason(
    name: str, changes: list[tuple[str, float, bytes]], inside: bool, which: float
) -> None:
    data = samples()[name]
    zipped = inside and name.endswith(ZIPPED)
    damaged = damage_a_part(data, changes, which) if zipped else damage(data, changes)
    unforeseen = Unforeseen()
    logging.getLogger(dispatch.__name__).addHandler(unforeseen)
    try:
        text, refusal = extract(damaged, name).text, ""
    except ExtractionError as error:  # anything else fails the test
        text, refusal = "", str(error)
    finally:
        logging.getLogger(dispatch.__name__).removeHandler(unforeseen)
    assert refusal.startswith(name) if refusal else isinstance(text, str)
    # refused by a reader's own rule, not by extract's last resort for errors no rule foresaw
    assert not unforeseen.records, unforeseen.records[0].exc_info


@cache
def pictures() -> dict[str, bytes]:
    """A small picture of text in each kind OCR is given, two pages where the kind holds pages."""
    from PIL import Image, ImageDraw

    pages = []
    for text in ("First page.", "Second page."):
        page = Image.new("L", (120, 40), 255)
        ImageDraw.Draw(page).text((4, 12), text, fill=0)
        pages.append(page)
    made = {}
    for kind, name in (
        ("PNG", "a.png"),
        ("JPEG", "a.jpg"),
        ("GIF", "a.gif"),
        ("WEBP", "a.webp"),
        ("BMP", "a.bmp"),
    ):
        out = io.BytesIO()
        pages[0].save(out, kind)
        made[name] = out.getvalue()
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    made["a.tif"] = out.getvalue()
    return made


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(pictures())), edits)
def test_a_damaged_picture_is_decoded_or_refused_with_a_reason(
    name: str, changes: list[tuple[str, float, bytes]]
) -> None:
    """The pictures OCR reads (index.ingest.extract.image) are decoded by Pillow, whose many readers raise
    many kinds of error on damaged bytes: each must be a refusal naming the file. (Decoding only: reading
    every damaged picture by OCR would take seconds each.)"""
    try:
        decoded, refusal = list(frames(damage(pictures()[name], changes), name)), ""
    except CorruptFileError as error:  # anything else fails the test
        decoded, refusal = [], str(error)
    assert refusal.startswith(f"{name}: ") if refusal else all(frame.mode == "L" for frame in decoded)


class Unforeseen(logging.Handler):
    """The warnings extract logs when a reader raised what no rule foresaw."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_docx_whose_styles_part_is_damaged_is_read_with_its_headings() -> None:
    """Found by the test above: with the styles part under another content type, python-docx has no styles
    to name a paragraph's style by, and every paragraph's style raised AttributeError."""
    data = docx_bytes("Report", [("Heading", ["A paragraph."])])
    types = zip_member(data, "[Content_Types].xml")
    renamed = types.replace(b"wordprocessingml.styles+xml", b"wordprocessingml.stylez+xml")
    damaged = rezip(data, {"[Content_Types].xml": renamed})
    unforeseen = Unforeseen()
    logging.getLogger(dispatch.__name__).addHandler(unforeseen)
    try:
        extracted = extract(damaged, "report.docx")
    finally:
        logging.getLogger(dispatch.__name__).removeHandler(unforeseen)
    assert not unforeseen.records
    assert extracted.text == extract(data, "report.docx").text == "# Report\n\n# Heading\n\nA paragraph.\n"
