"""Files to documents: ``.txt``, ``.md``, ``.html`` and ``.jsonl`` (a document per line, BEIR corpus format).

Document ids of files are their paths relative to the folder given (or the file name for a file given
directly), so indexing the same folder again replaces documents instead of duplicating them. HTML is converted
to Markdown (markdownify), so headings and lists keep their structure for the chunker; the stored text, and
the
offsets of every chunk, refer to that Markdown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from markdownify import markdownify

from index.errors import InvalidInputError
from index.types import Document

FORMATS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
}
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


class SourceError(InvalidInputError):
    """A file (or a line of one) that cannot be indexed."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    relative: str  # the document id of a single-document file

    @property
    def format(self) -> str:
        return FORMATS[self.path.suffix.lower()]


def discover(paths: Sequence[Path]) -> list[SourceFile]:
    """The supported files among ``paths`` and inside the folders among them (recursively, hidden ones
    skipped), sorted. A missing path, or a file given by name in an unsupported format, is an error.
    """
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                if file.is_file() and file.suffix.lower() in FORMATS:
                    found.append(SourceFile(file, relative.as_posix()))
        elif path.is_file():
            if path.suffix.lower() not in FORMATS:
                raise SourceError(f"{path}: unsupported file type; use one of {', '.join(sorted(FORMATS))}")
            found.append(SourceFile(path, path.name))
        else:
            raise SourceError(f"{path}: no such file or folder")
    return found


def read_documents(source: SourceFile) -> Iterator[Document]:
    """The documents in one file. Raises :class:`SourceError` naming the file (and line) on bad input."""
    text = _read_text(source.path)
    if source.format == "jsonl":
        yield from _jsonl_documents(source.path, text)
        return
    metadata: dict[str, Any] = {"path": source.relative, "format": source.format}
    if source.format == "html":
        title, text = html_to_markdown(text)
    else:
        match = _HEADING.search(text) if source.format == "markdown" else None
        title = match.group(1) if match else None
    if not text.strip():
        raise SourceError(f"{source.path}: no text to index")
    yield Document(id=source.relative, text=text, title=title or source.path.stem, metadata=metadata)


def count_documents(source: SourceFile) -> int:
    """Read and check a whole file; the number of documents in it. Raises :class:`SourceError`."""
    return sum(1 for _ in read_documents(source))


def html_to_markdown(html: str) -> tuple[str | None, str]:
    """``(title, markdown)`` of an HTML page; scripts, styles and the head are dropped."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup(["script", "style", "head", "noscript", "template"]):
        tag.decompose()
    markdown = markdownify(str(soup), heading_style="ATX", bullets="-")
    return title or None, _MANY_BLANK_LINES.sub("\n\n", markdown).strip() + "\n"


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror})") from error
    if not data.strip():
        raise SourceError(f"{path}: the file is empty")
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(
            f"{path}: not valid UTF-8 (bad byte at offset {error.start}); convert it to UTF-8 first"
        ) from error


def _jsonl_documents(path: Path, text: str) -> Iterator[Document]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise SourceError(f"{where}: not valid JSON ({error.msg})") from error
        if not isinstance(record, dict):
            raise SourceError(f"{where}: each line must be a JSON object")
        doc_id = record.get("_id", record.get("id"))
        if not isinstance(doc_id, str | int) or isinstance(doc_id, bool) or str(doc_id).strip() == "":
            raise SourceError(f"{where}: needs an '_id' or 'id' (a string or a number)")
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            raise SourceError(f"{where}: needs a non-empty 'text' string")
        title = record.get("title")
        if title is not None and not isinstance(title, str):
            raise SourceError(f"{where}: 'title' must be a string")
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise SourceError(f"{where}: 'metadata' must be an object")
        yield Document(id=str(doc_id), text=body, title=title or None, metadata=metadata)
