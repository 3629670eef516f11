"""A Word document's text as Word shows it (index.ingest.extract.wordml), against a reference that reads the
same made-up markup tree: paragraphs nested in content controls, insertions, deletions, fields, smart tags
and alternate content, in any order and depth."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

import docx
from docx.oxml import parse_xml
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.extract import office, wordml
from index.ingest.extract.office import extract_docx
from tests.documents import DIAGRAM_DATA, RELATIONSHIPS, diagram_data, diagram_graphic

NAMESPACES = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
)
# Inline wrappers Word writes around runs; "del" and "moveFrom" hide what they hold, "alt" is
# mc:AlternateContent, its content in both mc:Choice and mc:Fallback.
WRAPPERS = [
    "r",
    "hyperlink",
    "ins",
    "del",
    "moveTo",
    "moveFrom",
    "sdt",
    "smartTag",
    "fldSimple",
    "customXml",
    "alt",
]
words = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=6)
leaves = st.one_of(
    st.tuples(st.just("t"), words),
    st.tuples(st.just("delText"), words),
    st.tuples(st.just("instrText"), words),
    st.tuples(st.sampled_from(["tab", "br", "cr", "noBreakHyphen"]), st.just("")),
)
inline = st.recursive(
    leaves, lambda inner: st.tuples(st.sampled_from(WRAPPERS), st.lists(inner, max_size=4)), max_leaves=25
)


def markup(node: Any) -> str:
    kind, content = node
    if isinstance(content, str):
        return f"<w:{kind}>{escape(content)}</w:{kind}>" if content else f"<w:{kind}/>"
    inner = "".join(markup(child) for child in content)
    if kind == "alt":
        return (
            f'<mc:AlternateContent><mc:Choice Requires="wps">{inner}</mc:Choice>'
            f"<mc:Fallback>{inner}</mc:Fallback></mc:AlternateContent>"
        )
    if kind == "sdt":
        return f'<w:sdt><w:sdtPr><w:alias w:val="a"/></w:sdtPr><w:sdtContent>{inner}</w:sdtContent></w:sdt>'
    return f"<w:{kind}>{inner}</w:{kind}>"


def shown(node: Any) -> str:
    """The reference: what Word shows of ``node``."""
    kind, content = node
    if isinstance(content, str):
        characters = {"t": content, "tab": "\t", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}
        return characters.get(kind, "")  # delText, instrText: not shown
    if kind in ("del", "moveFrom"):
        return ""
    return "".join(shown(child) for child in content)


@settings(max_examples=300)
@given(st.lists(inline, max_size=5))
def test_a_paragraph_reads_as_the_reference_shows_it(nodes: list[Any]) -> None:
    paragraph = parse_xml(
        f"<w:p {NAMESPACES}><w:pPr><w:tabs><w:tab/></w:tabs></w:pPr>{''.join(map(markup, nodes))}</w:p>"
    )
    text, boxes = wordml.paragraph_text(paragraph)
    assert text == "".join(shown(node) for node in nodes)
    assert boxes == []


# Blocks: paragraphs (by a number), tables, and the wrappers Word puts around them.
block_trees = st.recursive(
    st.integers(0, 10**6),
    lambda inner: st.tuples(
        st.sampled_from(["sdt", "customXml", "ins", "moveTo", "alt", "tbl"]), st.lists(inner, max_size=3)
    ),
    max_leaves=15,
)


def block_markup(node: Any) -> str:
    if isinstance(node, int):
        return f"<w:p><w:r><w:t>{node}</w:t></w:r></w:p>"
    kind, children = node
    if kind == "tbl":  # a table is a block of its own: what it holds is a cell's, not the body's
        return f"<w:tbl><w:tr><w:tc>{''.join(map(block_markup, children))}<w:p/></w:tc></w:tr></w:tbl>"
    return _wrap(kind, "".join(map(block_markup, children)))


def _wrap(kind: str, inner: str) -> str:
    if kind == "alt":
        return (
            f'<mc:AlternateContent><mc:Choice Requires="wps">{inner}</mc:Choice>'
            f"<mc:Fallback>{inner}</mc:Fallback></mc:AlternateContent>"
        )
    if kind == "sdt":
        return f"<w:sdt><w:sdtPr/><w:sdtContent>{inner}</w:sdtContent></w:sdt>"
    return f"<w:{kind}>{inner}</w:{kind}>"


def body_blocks(node: Any) -> list[str]:
    """The reference: the body's blocks in order, a paragraph by its number, a table as "table"."""
    if isinstance(node, int):
        return [str(node)]
    kind, children = node
    if kind == "tbl":
        return ["table"]
    return [block for child in children for block in body_blocks(child)]


@settings(max_examples=300)
@given(st.lists(block_trees, max_size=5))
def test_a_body_reads_its_blocks_as_the_reference_orders_them(nodes: list[Any]) -> None:
    body = parse_xml(f"<w:body {NAMESPACES}>{''.join(map(block_markup, nodes))}<w:sectPr/></w:body>")
    found = [
        "table" if block.tag == wordml.TABLE else wordml.paragraph_text(block)[0]
        for block in wordml.blocks(body)
    ]
    assert found == [block for node in nodes for block in body_blocks(node)]


def paragraphs(document: Any) -> list[str]:
    """What semsearch reads of ``document`` (python-docx's), saved, a paragraph at a time."""
    out = io.BytesIO()
    document.save(out)
    return extract_docx(out.getvalue(), "document.docx").text.split("\n\n")


def test_a_word_document_reads_as_word_shows_it() -> None:
    """Content controls, tracked changes, a field, a text box (in both its markups) and a table cell's
    control: python-docx's paragraphs read "Inline:", "Before box", "Changed:" and "Field:" only."""
    document = docx.Document()
    document.add_heading("Berth form", 1)
    body = document.element.body
    applicant = "<w:p><w:r><w:t>Applicant: Marguerite Okonkwo</w:t></w:r></w:p>"
    body.insert(
        len(body) - 1, parse_xml(f"<w:sdt {NAMESPACES}><w:sdtContent>{applicant}</w:sdtContent></w:sdt>")
    )
    parts = {
        "Inline: ": "<w:sdt><w:sdtContent><w:r><w:t>a sloop named Petrel</w:t></w:r></w:sdtContent></w:sdt>",
        "Before box ": (
            '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>'
            "Moorings are inspected in March</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice>"
            "<mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Moorings are inspected in March</w:t></w:r>"
            "</w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
        ),
        "Changed: ": (
            '<w:ins w:id="1" w:author="a"><w:r><w:t>fee waived</w:t></w:r></w:ins>'
            '<w:del w:id="2" w:author="a">'
            "<w:r><w:delText>fee due</w:delText></w:r></w:del>"
        ),
        "Field: ": '<w:fldSimple w:instr="MERGEFIELD harbour"><w:r><w:t>Port Ellen</w:t></w:r></w:fldSimple>',
    }
    for before, xml in parts.items():
        paragraph = document.add_paragraph(before)
        for element in parse_xml(f"<w:x {NAMESPACES}>{xml}</w:x>"):
            paragraph._p.append(element)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Length"
    length = "<w:p><w:r><w:t>9.5 metres</w:t></w:r></w:p>"
    control = f"<w:sdt {NAMESPACES}><w:sdtContent>{length}</w:sdtContent></w:sdt>"
    table.cell(0, 1)._tc.append(parse_xml(control))
    assert paragraphs(document) == [
        "# Berth form",
        "Applicant: Marguerite Okonkwo",
        "Inline: a sloop named Petrel",
        "Before box",
        "Moorings are inspected in March",
        "Changed: fee waived",
        "Field: Port Ellen",
        "| Length | 9.5 metres |\n| --- | --- |\n",
    ]


def attach(document: Any, partname: str, content_type: str, blob: bytes, relationship: str) -> str:
    """A part added to ``document``'s package, related from its main part; the relationship's id."""
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    part = Part(PackURI(partname), content_type, blob, document.part.package)
    return str(document.part.relate_to(part, relationship))


def test_footnotes_and_endnotes_are_read_after_the_text_without_their_separators() -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE

    document = docx.Document()
    document.add_paragraph("Tides at the harbour mouth run at four knots.")

    def notes(kind: str, texts: list[str]) -> bytes:
        separator = f'<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>'
        # What Word shows where a note runs on to the next page: not a note.
        notice = "<w:p><w:r><w:t>(continued)</w:t></w:r></w:p>"
        separator += f'<w:{kind} w:type="continuationNotice" w:id="0">{notice}</w:{kind}>'
        items = "".join(
            f'<w:{kind} w:id="{n}"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:{kind}>'
            for n, text in enumerate(texts, 1)
        )
        return f"<w:{kind}s {NAMESPACES}>{separator}{items}</w:{kind}s>".encode()

    for kind, reltype, texts in [
        (
            "footnote",
            RELATIONSHIP_TYPE.FOOTNOTES,
            ["Measured at spring tide in 1998.", "See the pilot book."],
        ),
        ("endnote", RELATIONSHIP_TYPE.ENDNOTES, ["Harbour board minutes, vol. 3."]),
    ]:
        content_type = f"application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}s+xml"
        attach(document, f"/word/{kind}s.xml", content_type, notes(kind, texts), reltype)
    assert paragraphs(document) == [
        "Tides at the harbour mouth run at four knots.",
        "## Footnotes",
        "Measured at spring tide in 1998.",
        "See the pilot book.",
        "## Endnotes",
        "Harbour board minutes, vol. 3.\n",
    ]


def test_a_smartart_diagram_in_a_word_document_is_read_node_by_node() -> None:
    document = docx.Document()
    document.add_paragraph("How a berth is assigned:")
    points = [("doc", ""), ("node", "Apply to the harbour master"), ("node", "Pay the deposit")]
    relationship = attach(
        document,
        "/word/diagrams/data1.xml",
        DIAGRAM_DATA,
        diagram_data(points),
        RELATIONSHIPS + "/diagramData",
    )
    drawing = (
        f'<w:r {NAMESPACES}><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/'
        f'wordprocessingDrawing">{diagram_graphic(relationship)}</wp:inline></w:drawing></w:r>'
    )
    document.add_paragraph()._p.append(parse_xml(drawing))
    assert paragraphs(document) == [
        "How a berth is assigned:",
        "- Apply to the harbour master",
        "- Pay the deposit\n",
    ]


def test_a_diagram_named_from_many_places_is_read_once() -> None:
    """A file could name one large diagram part from every paragraph: it is parsed once, not each time."""
    reads: list[str] = []

    class DataPart:
        partname = "/word/diagrams/data1.xml"

        @property
        def blob(self) -> bytes:
            reads.append(self.partname)
            return diagram_data([("node", "Read once")])

    shown = f"<w:p><w:r><w:drawing>{diagram_graphic('rId1')}</w:drawing></w:r></w:p>"
    body = parse_xml(f"<w:body {NAMESPACES}>{shown * 50}</w:body>")
    diagrams = office._Diagrams()
    texts = [
        text for paragraph in body for text in diagrams.texts(paragraph, {"rId1": DataPart()}.__getitem__)
    ]
    assert texts == ["Read once"] * 50
    assert reads == ["/word/diagrams/data1.xml"]
