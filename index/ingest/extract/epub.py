"""EPUB: a ZIP of XHTML chapters in the order its package file's spine gives; each chapter goes through the
HTML converter. The standard library's zipfile and BeautifulSoup (already used for HTML) are enough."""

from __future__ import annotations

import io
import posixpath
import zipfile

from bs4 import BeautifulSoup, Tag

from index.ingest.extract.base import (
    DAMAGED_ZIP,
    CorruptFileError,
    Extracted,
    NoTextError,
    check_markup,
    markup_elements,
)
from index.ingest.extract.properties import file_fields
from index.ingest.extract.text import MAX_HTML_ELEMENTS, html_to_markdown


def extract_epub(data: bytes, name: str) -> Extracted:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            container = BeautifulSoup(archive.read("META-INF/container.xml"), "html.parser")
            rootfile = container.find("rootfile")
            package_path = str(rootfile.get("full-path")) if rootfile is not None else ""
            package = BeautifulSoup(archive.read(package_path), "html.parser")
            base = posixpath.dirname(package_path)
            manifest = {
                str(item.get("id")): posixpath.normpath(posixpath.join(base, str(item.get("href"))))
                for item in package.find_all("item")
            }
            title_tag = package.find("dc:title")
            fields = file_fields(
                author=[tag.get_text(" ", strip=True) for tag in package.find_all("dc:creator")],
                keywords=[tag.get_text(" ", strip=True) for tag in package.find_all("dc:subject")],
                language=_text_of(package.find("dc:language")),
                created=_text_of(package.find("dc:date")),
                publisher=_text_of(package.find("dc:publisher")),
            )
            chapters = []
            elements = 0  # in the whole book: each chapter is read and dropped, but the time adds up
            for ref in package.find_all("itemref"):
                path = manifest.get(str(ref.get("idref")))
                if path is None:
                    continue
                xhtml = archive.read(path).decode("utf-8", errors="replace")
                elements += markup_elements(xhtml)
                check_markup(elements, MAX_HTML_ELEMENTS, name, "book")
                _, markdown = html_to_markdown(xhtml)
                if markdown.strip():
                    chapters.append(markdown.strip())
    except CorruptFileError:
        raise  # a book past the markup bound: said as it is
    except DAMAGED_ZIP as error:
        raise CorruptFileError(f"{name}: not a readable EPUB ({error})") from None
    if not chapters:
        raise NoTextError(f"{name}: the book holds no text")
    title = title_tag.get_text(strip=True) if title_tag is not None else None
    return Extracted(text="\n\n".join(chapters) + "\n", title=title or None, format="epub", fields=fields)


def _text_of(tag: object) -> str | None:
    return tag.get_text(" ", strip=True) if isinstance(tag, Tag) else None
