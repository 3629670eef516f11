"""Text formats: plain text and Markdown as they are, HTML to Markdown (markdownify), CSV to a Markdown
table (the standard library's csv)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from typing import Any

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector
from markdownify import MarkdownConverter

from index.errors import InvalidInputError
from index.ingest.extract.base import (
    PAGE_BREAK,
    CorruptFileError,
    Extracted,
    NoTextError,
    check_markup,
    markup_elements,
    wide_text_codec,
)
from index.ingest.extract.boilerplate import strip_boilerplate
from index.ingest.extract.front_matter import read_front_matter
from index.ingest.extract.properties import file_fields

# An ATX heading's line: up to 3 spaces, 1 to 6 #, a space or tab, the rest of the line. No quantifier here
# can backtrack into another: the pattern it replaces (r"^#{1,6}\s+(.+?)\s*#*\s*$") took 15 s on "# a",
# 2,000 spaces and "x", eight times that for twice the spaces, holding Python's lock throughout.
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}[ \t][^\n]*", re.MULTILINE)
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
# The CSV dialect is guessed from this many characters. csv.Sniffer's quote pattern is quadratic, and a
# regular expression holds Python's lock while it runs: 8,192 characters of '"\n' took 2.2 s, in which no
# other request was served; 2,048 take a sixteenth of that, and still hold the header and a few rows.
SNIFF_CHARS = 2048
# The most cells a table is written out with, counting every row as wide as the widest: a 300 KB CSV of one
# line of 100,000 commas and 100,000 short lines would make a table of ten billion. A table of this many
# cells is more text than SEMSEARCH_MAX_TEXT_CHARS lets in anyway (three characters a cell at least).
MAX_TABLE_CELLS = 10_000_000
# The most elements an HTML page (or a whole EPUB book) may hold. BeautifulSoup's tree and the conversion take
# about 2 KB and 75 microseconds an element on a real page (docs/benchmarks.md, "Markup bombs"): the largest
# page of Rust's documentation, 8.5 MB and 154,000 elements, takes 11.5 s and 330 MB, so this is at most about
# 1 GB and 40 s. A page of nothing but tags within the 200 MB upload limit would hold 25 million (30 GB).
MAX_HTML_ELEMENTS = 500_000


# Labels that browsers read as windows-1252, as the WHATWG Encoding Standard says: pages that declare
# Latin-1 hold Windows' quotes and dashes in 0x80-0x9F, which Latin-1 proper makes control characters.
_WINDOWS_1252_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii"}
_NOT_CHARSETS = {"idna", "punycode", "undefined", "mbcs", "oem"}


def text_encoding(label: str) -> str:
    """The codec a user's ``label`` names for text that is not UTF-8 (``windows-1252``, ``latin-1``,
    ``shift_jis``, ``cp1251``), as Python names it; :class:`InvalidInputError` if it names none. Latin-1 and
    ASCII are read as Windows-1252, as browsers do."""
    found = _legacy_charset(label)
    if found is None:
        raise InvalidInputError(
            f"encoding {label[:80]!r} is not a legacy text encoding Python reads (windows-1252, iso-8859-2, "
            "cp1251, shift_jis, gb18030 ...); UTF-8, and UTF-16 or UTF-32 with a byte order mark, are read "
            "without one"
        )
    return found


def _legacy_charset(label: str) -> str | None:
    """The legacy character set ``label`` names (a file's declaration, a sender's choice), as Python names
    it: Latin-1 and ASCII as Windows-1252; None for UTF-8 and UTF-16 (read without being named), for a
    transform that is no charset ("unicode_escape", "idna", "base64", "rot13") and for no codec at all."""
    codec = label.strip().lower()
    codec = "windows-1252" if codec in _WINDOWS_1252_LABELS else codec
    try:
        info = codecs.lookup(codec) if codec else None
    except (LookupError, ValueError):
        return None
    if info is None or info.name.startswith("utf") or "escape" in info.name or info.name in _NOT_CHARSETS:
        return None
    return info.name if getattr(info, "_is_text_encoding", False) else None


def declared_html_encoding(data: bytes) -> str | None:
    """The charset an HTML page declares (``<meta charset>``, or the ``http-equiv`` form), if any."""
    return EncodingDetector.find_declared_encoding(data, is_html=True, search_entire_document=False)


def decode(data: bytes, name: str, declared: str | None = None, fallback: str | None = None) -> str:
    """The text of ``data``: UTF-8 (a byte order mark is dropped), UTF-16 or UTF-32 with a byte order mark,
    or, if it is not valid UTF-8, the encoding the file itself ``declared`` (an HTML page's meta charset),
    else the ``fallback`` its sender named (a codec from :func:`text_encoding`). An undeclared legacy
    encoding is refused rather than guessed: a wrong guess indexes garbled text without a word of warning,
    and the guesses measured were wrong too often (docs/ingest.md, "Text encodings")."""
    wide = wide_text_codec(data)
    try:
        return data.decode(wide or "utf-8-sig")
    except UnicodeDecodeError as error:
        bad = error.start
    if wide is not None:  # it says which encoding it is in, and is not
        raise CorruptFileError(f"{name}: starts as {wide.upper()} but is not (bad byte at offset {bad})")
    # A legacy charset, as declared (a byte it leaves undefined becomes U+FFFD); not UTF-8 again, nor one of
    # Python's codecs that are no charset.
    codec = _legacy_charset(declared or "")
    if codec is not None:
        return data.decode(codec, errors="replace")
    if fallback is not None:
        return data.decode(fallback, errors="replace")
    raise not_utf8(data, bad, name, declared=declared)


def not_utf8(
    data: bytes, bad: int, name: str, *, offset: int = 0, declared: str | None = None
) -> CorruptFileError:
    """The refusal of text in an encoding not named: ``data``'s byte ``bad`` is not UTF-8 (``data`` a part
    of the file that starts at ``offset``), and what to do about it."""
    return CorruptFileError(
        f"{name}: not valid UTF-8 (byte 0x{data[bad]:02X} at offset {offset + bad}"
        f"{_as_windows_1252(data, bad)})"
        + ("" if not declared else f", nor in the charset it declares ({declared!r})")
        + "; name the encoding it is in (encoding windows-1252 for most Western European text that is not "
        "UTF-8), or convert it to UTF-8"
    )


def _as_windows_1252(data: bytes, bad: int) -> str:
    """What the bytes around offset ``bad`` read as in Windows-1252, for a refusal to show ("caf\xe9" reads
    "café"), or nothing where that is not text."""
    around = data[max(0, bad - 16) : bad + 16].decode("windows-1252", errors="replace")
    around = " ".join(around.split())
    if not around or any(not c.isprintable() or c == "\ufffd" for c in around):
        return ""
    return f", which as Windows-1252 reads {around!r}"


def extract_text(data: bytes, name: str) -> Extracted:
    text = nonempty(decode(data, name), name)
    return Extracted(text=text, title=None, format="text", pages=_pages(text))


def extract_markdown(data: bytes, name: str) -> Extracted:
    text = decode(data, name)
    front = read_front_matter(text.removeprefix("\ufeff"))
    if front is None:
        text = nonempty(text, name)
        return Extracted(text=text, title=first_heading(text), format="markdown", pages=_pages(text))
    text = nonempty(front.body, name)
    title = front.fields.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else first_heading(text)
    return Extracted(text=text, title=title, format="markdown", pages=_pages(text), fields=front.fields)


def first_heading(markdown: str) -> str | None:
    """The text of the first ATX heading (``# Title``, its closing ``#`` run dropped) that has any."""
    for match in _HEADING_LINE.finditer(markdown):
        title = match.group().strip().lstrip("#").strip()
        unclosed = title.rstrip("#")
        if unclosed != title and (not unclosed or unclosed[-1] in " \t"):  # "Title ##": a closing sequence
            title = unclosed.strip()
        if title:
            return title
    return None


def extract_html(data: bytes, name: str) -> Extracted:
    html = decode(data, name, declared_html_encoding(data))
    check_markup(markup_elements(html), MAX_HTML_ELEMENTS, name, "page")
    title, text, fields = read_html(html)
    return Extracted(text=nonempty(text, name), title=title, format="html", fields=fields)


def extract_csv(data: bytes, name: str) -> Extracted:
    text = decode(data, name)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if name.lower().endswith(".tsv") else csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise CorruptFileError(f"{name}: not readable as CSV ({error})") from None
    return Extracted(text=nonempty(markdown_table(rows, name), name), title=None, format="csv")


def check_table(rows: int, width: int, name: str) -> None:
    """Refuse a table of more than :data:`MAX_TABLE_CELLS` cells before it is written out."""
    if rows * width > MAX_TABLE_CELLS:
        raise CorruptFileError(
            f"{name}: a table of {rows:,} rows by {width:,} columns, more than the {MAX_TABLE_CELLS:,} cells "
            "read from one table; split it, or drop the columns not worth searching"
        )


def markdown_table(rows: list[list[str]], name: str) -> str:
    """``rows`` (the first one the header) as a Markdown table, one line per row, each padded to the widest
    (:func:`check_table` first: ``name`` is the file's, for its message)."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    check_table(len(rows), width, name)

    def line(row: list[str]) -> str:
        cells = [_cell(cell) for cell in row] + [""] * (width - len(row))
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(rows[0]), "|" + " --- |" * width, *(line(row) for row in rows[1:])]) + "\n"


def html_to_markdown(html: str) -> tuple[str | None, str]:
    """``(title, markdown)`` of an HTML document read whole (an EPUB's chapter); scripts, styles and the
    head are dropped."""
    title, markdown, _ = read_html(html, page=False)
    return title, markdown


def read_html(html: str, *, page: bool = True) -> tuple[str | None, str, dict[str, Any]]:
    """``(title, markdown, fields)`` of an HTML document, and what its ``lang`` and ``<meta>`` tags say of it
    as metadata fields (:mod:`index.ingest.extract.properties`). A web ``page`` is read without its
    navigation, site header and footer and the like (:mod:`index.ingest.extract.boilerplate`). The caller
    checks its size first (:data:`MAX_HTML_ELEMENTS`)."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    fields = _html_fields(soup)
    for tag in soup(["script", "style", "head", "noscript", "template"]):
        tag.decompose()
    if page:
        strip_boilerplate(soup)
    try:
        markdown = _PlainLinks(heading_style="ATX", bullets="-").convert_soup(soup)
    except RecursionError:
        # markdownify recurses a few frames per level of nesting, so a page nested more than about 300
        # elements deep (generated HTML can be) runs out of Python's stack. Its text is still worth having,
        # without the Markdown structure; BeautifulSoup walks the tree without recursing.
        markdown = soup.get_text("\n")
    return title or None, _MANY_BLANK_LINES.sub("\n\n", markdown).strip() + "\n", fields


class _PlainLinks(MarkdownConverter):
    """markdownify, with a link written as its text and an image as its alternative text: what a reader of
    the page sees. Written as Markdown, ``[photosynthesis](https://en.wikipedia.org/wiki/Photosynthesis)``
    puts a dozen word pieces of address before the model for every link, and "wiki", "https" and "org" in
    the keyword index; a link-heavy page took two to three times the chunks, each with more noise in it
    (``bench/html_links.py``, docs/ingest.md). A link whose text is its address keeps it (it is the text)."""

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return text

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        alt = el.attrs.get("alt")
        return alt if isinstance(alt, str) else ""


def _html_fields(soup: BeautifulSoup) -> dict[str, Any]:
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = tag.get("name") or tag.get("property")
        content = tag.get("content")
        if isinstance(key, str) and isinstance(content, str):
            meta.setdefault(key.strip().lower(), content)
    root = soup.find("html")
    language = root.get("lang") if isinstance(root, Tag) else None
    return file_fields(
        author=meta.get("author") or meta.get("article:author"),
        keywords=meta.get("keywords"),
        language=language if isinstance(language, str) else None,
        created=meta.get("article:published_time"),
        modified=meta.get("article:modified_time"),
    )


def _cell(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")


def _pages(text: str) -> int | None:
    return text.count(PAGE_BREAK) + 1 if PAGE_BREAK in text else None


def nonempty(text: str, name: str) -> str:
    if not text.strip():
        raise NoTextError(f"{name}: no text to index")
    return text
