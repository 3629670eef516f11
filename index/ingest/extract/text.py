"""Text formats: plain text and Markdown as they are, HTML to Markdown (markdownify), CSV to a Markdown
table (the standard library's csv)."""

from __future__ import annotations

import csv
import io
import re

from bs4 import BeautifulSoup
from markdownify import markdownify

from index.ingest.extract.base import PAGE_BREAK, CorruptFileError, Extracted, NoTextError

_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a byte order mark is dropped; UTF-16 with one is read too)."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorruptFileError(
            f"{name}: not valid UTF-8 (bad byte at offset {error.start}); convert it to UTF-8 first"
        ) from None


def extract_text(data: bytes, name: str) -> Extracted:
    text = _nonempty(decode(data, name), name)
    return Extracted(text=text, title=None, format="text", pages=_pages(text))


def extract_markdown(data: bytes, name: str) -> Extracted:
    text = _nonempty(decode(data, name), name)
    match = _HEADING.search(text)
    title = match.group(1) if match else None
    return Extracted(text=text, title=title, format="markdown", pages=_pages(text))


def extract_html(data: bytes, name: str) -> Extracted:
    title, text = html_to_markdown(decode(data, name))
    return Extracted(text=_nonempty(text, name), title=title, format="html")


def extract_csv(data: bytes, name: str) -> Extracted:
    text = decode(data, name)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if name.lower().endswith(".tsv") else csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise CorruptFileError(f"{name}: not readable as CSV ({error})") from None
    return Extracted(text=_nonempty(markdown_table(rows), name), title=None, format="csv")


def markdown_table(rows: list[list[str]]) -> str:
    """``rows`` (the first one the header) as a Markdown table, one line per row."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)

    def line(row: list[str]) -> str:
        cells = [_cell(cell) for cell in row] + [""] * (width - len(row))
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(rows[0]), "|" + " --- |" * width, *(line(row) for row in rows[1:])]) + "\n"


def html_to_markdown(html: str) -> tuple[str | None, str]:
    """``(title, markdown)`` of an HTML page; scripts, styles and the head are dropped."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup(["script", "style", "head", "noscript", "template"]):
        tag.decompose()
    markdown = markdownify(str(soup), heading_style="ATX", bullets="-")
    return title or None, _MANY_BLANK_LINES.sub("\n\n", markdown).strip() + "\n"


def _cell(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")


def _pages(text: str) -> int | None:
    return text.count(PAGE_BREAK) + 1 if PAGE_BREAK in text else None


def _nonempty(text: str, name: str) -> str:
    if not text.strip():
        raise NoTextError(f"{name}: no text to index")
    return text
