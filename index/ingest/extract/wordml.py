"""A Word document's text as Word shows it, from its WordprocessingML.

python-docx's ``iter_inner_content()`` and ``Paragraph.text`` read a body's own paragraphs and their runs
and hyperlinks, and nothing else, so a .docx lost the text of:

- content controls (``w:sdt``), what templates and forms are made of, around paragraphs or within one;
- tracked insertions and moves (``w:ins``, ``w:moveTo``) in a document with changes not yet accepted;
- fields' shown results (``w:fldSimple``: a merge field, a cross-reference), smart tags and custom XML;
- text boxes (``w:txbxContent``: a sidebar, a pull quote, a form's boxes), read after their paragraph.

What Word does not show is left out: deleted text (``w:del``, ``w:delText``, ``w:moveFrom``), field codes
(``w:instrText``), and ``mc:Fallback`` (the same content again, for readers that do not know the newer
markup in its ``mc:Choice``: a text box would be read twice). Walks are iterative: nesting is as deep as the
XML parser allows (256 levels), and every element was counted against the file's bound before parsing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

PARAGRAPH = W + "p"
TABLE = W + "tbl"
TEXT_BOX = W + "txbxContent"
# Around paragraphs and tables: what a block's reader goes into.
_BLOCK_WRAPPERS = frozenset(
    {
        W + "sdt",
        W + "sdtContent",
        W + "customXml",
        W + "ins",
        W + "moveTo",
        MC + "AlternateContent",
        MC + "Choice",
    }
)
# Within a paragraph: what is not shown, or not text (properties).
_NOT_SHOWN = frozenset(
    {
        W + "del",
        W + "moveFrom",
        W + "delText",
        W + "instrText",
        MC + "Fallback",
        W + "pPr",
        W + "rPr",
        W + "sdtPr",
    }
)
_CHARACTERS = {W + "tab": "\t", W + "br": "\n", W + "cr": "\n", W + "noBreakHyphen": "-"}


def blocks(container: Any) -> Iterator[Any]:
    """The paragraphs (``w:p``) and tables (``w:tbl``) of a body, a table cell or a text box, in order,
    those inside content controls, custom XML and tracked insertions included."""
    stack = [iter(container)]
    while stack:
        for child in stack[-1]:
            if child.tag in (PARAGRAPH, TABLE):
                yield child
            elif child.tag in _BLOCK_WRAPPERS:
                stack.append(iter(child))
                break
        else:
            stack.pop()


def paragraph_text(paragraph: Any) -> tuple[str, list[Any]]:
    """The text paragraph ``w:p`` shows, and the text boxes (``w:txbxContent``) anchored in it."""
    parts: list[str] = []
    boxes: list[Any] = []
    stack = [iter(paragraph)]
    while stack:
        for child in stack[-1]:
            tag = child.tag
            if not isinstance(tag, str) or tag in _NOT_SHOWN:  # (not a str: an XML comment or instruction)
                continue
            if tag == W + "t":
                parts.append(child.text or "")
            elif tag in _CHARACTERS:
                parts.append(_CHARACTERS[tag])
            elif tag == TEXT_BOX:
                boxes.append(child)
            else:  # a run, a hyperlink, a content control, an insertion, a field, a drawing...
                stack.append(iter(child))
                break
        else:
            stack.pop()
    return "".join(parts), boxes
