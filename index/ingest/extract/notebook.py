"""Jupyter notebooks (``.ipynb``: JupyterLab, VS Code, Colab, Kaggle), read as the JSON they are.

A notebook becomes the Markdown it reads as: its Markdown cells as they are, its code cells as fenced code
blocks in the kernel's language, its raw cells as text, in order. The title is the first heading of its
Markdown cells (a ``# comment`` in code is no title). Outputs are left out, as LangChain's and LlamaIndex's
notebook readers leave them out by default: they are what running the code printed (logs, progress bars,
tables of numbers, images as base64, JavaScript), they change each time the notebook runs, and a search for a
notebook's subject should find its prose and code, not its training log. Format 4 (every notebook written
since 2015) and format 3 (its worksheets, and heading cells) are read.

The JSON is read as a stream of events (ijson, over the C parser yajl), keeping only the cells' text and a
few fields of the metadata: a chart's million points are parsed and dropped, never built into Python
objects, and no parser call holds Python's lock for long. The standard library's json.loads builds every
value, in one call that holds the lock throughout: a notebook of three million small values took 2 s, in
which no other request was served, and 400 MB (docs/benchmarks.md, "Markup bombs").
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import Any

import ijson

from index.ingest.extract.base import CorruptFileError, Extracted, NoTextError, wide_text_codec
from index.ingest.extract.properties import MAX_ITEMS, clean, file_fields
from index.ingest.extract.text import decode, first_heading

# The most JSON values (counted as the commas and colons between them, in C) read from one notebook. Every
# value is an event for the reader's loop, in Python: a 45 MB notebook of nothing but empty objects, at this
# bound, takes about 6 s (bench/markup_bombs.py). A notebook's outputs are most of its values: a chart of a
# million points is two million, and reads in 0.4 s.
MAX_NOTEBOOK_VALUES = 10_000_000
# The most cells with text read from one notebook (a long one has a few hundred).
MAX_CELLS = 100_000
_PYTHON_BACKEND = ijson.get_backend("python")
_BACKTICKS = re.compile(r"`{3,}")
_LINE_ENDS = "\r\n"
# Where a cell is: format 4's cells, and format 3's cells of each worksheet (None: an array's item).
_CELLS = (("cells",), ("worksheets", None, "cells"))
_CELL_AT = {(*cells, None) for cells in _CELLS}
_CELL_TEXTS = {"cell_type", "source", "input", "language"}
_METADATA: dict[tuple[str | None, ...], str] = {
    ("metadata", "language_info", "name"): "language_info",
    ("metadata", "kernelspec", "language"): "kernelspec",
    ("metadata", "language"): "language",
    ("metadata", "title"): "title",
}
_AUTHOR = ("metadata", "authors", None, "name")
_DEEPEST = 6  # nothing read lies deeper than a format 3 cell's source line


def extract_ipynb(data: bytes, name: str) -> Extracted:
    text = decode(data, name)  # JSON is UTF-8 (RFC 8259); a byte order mark is dropped, UTF-16 read
    if text.count(",") + text.count(":") > MAX_NOTEBOOK_VALUES:
        raise CorruptFileError(
            f"{name}: the notebook holds more than {MAX_NOTEBOOK_VALUES:,} JSON values (most likely "
            "outputs); clear its outputs (Jupyter: Edit > Clear Outputs of All Cells) and upload it again"
        )
    # The bytes parsed: the file's own if it is UTF-8, not a second copy
    payload = data.removeprefix(codecs.BOM_UTF8) if wide_text_codec(data) is None else text.encode()
    del text
    try:
        try:
            cells, metadata = _read(ijson.basic_parse(io.BytesIO(payload), use_float=True), name)
        except ijson.JSONError as error:
            if "overflow" not in str(error):
                raise
            # yajl reads numbers into 64-bit ones, and refuses valid JSON with a larger one (a chart's 2**64,
            # 1e999); ijson's Python backend reads any, eight times slower.
            cells, metadata = _read(_PYTHON_BACKEND.basic_parse(io.BytesIO(payload)), name)
    except (ijson.JSONError, ValueError) as error:  # ValueError: an integer of more than 4,300 digits
        detail = " ".join(str(error).split())[:200]
        raise CorruptFileError(f"{name}: not a Jupyter notebook: not valid JSON ({detail})") from None
    if cells is None:
        raise CorruptFileError(f"{name}: JSON, but not a Jupyter notebook (it has no list of cells)")
    language = _language(metadata)
    blocks: list[str] = []
    prose: list[str] = []
    for cell in cells:
        block = _block(cell, language)
        if block:
            blocks.append(block)
            if cell.get("cell_type") in ("markdown", "heading"):
                prose.append(block)
    if not blocks:
        raise NoTextError(f"{name}: the notebook has no text (its cells are empty)")
    title = clean(metadata.get("title")) or first_heading("\n\n".join(prose))
    fields = file_fields(author=metadata.get("authors", []), programming_language=language)
    return Extracted(text="\n\n".join(blocks) + "\n", title=title, format="ipynb", fields=fields)


def _read(events: Iterator[tuple[str, Any]], name: str) -> tuple[list[dict[str, Any]] | None, dict[str, Any]]:
    """The cells with text (each a dict of the fields read: ``cell_type``, ``source`` and ``input`` as text
    or the lines of a list joined as they come, ``level``, ``language``) and the metadata read
    (``language_info``, ``kernelspec``, ``language``, ``title``, ``authors``), from ijson's events of a
    whole document; cells None if the document is not an object with a list of cells. Each event costs the
    same whatever the nesting: the path to a value is kept only down to the depth of what is read, and
    nothing is kept of a value not read."""
    cells: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] = {"authors": []}
    path: list[str | None] = []  # the key (None: an array) of each open container, to _DEEPEST
    opened: list[tuple[str | None, ...] | None] = []  # where each open container is, if that shallow
    depth = 0
    cell: dict[str, Any] | None = None
    for event, value in events:
        if event == "map_key":
            if depth <= _DEEPEST:
                path[-1] = value
            continue
        if event in ("end_map", "end_array"):
            depth -= 1
            if depth < _DEEPEST:
                path.pop()
            if opened.pop() in _CELL_AT and cell is not None and cells is not None:
                for field in ("source", "input"):  # the lines of a list, joined once
                    if isinstance(cell.get(field), io.StringIO):
                        cell[field] = cell[field].getvalue()
                if _source(cell.get("source")).strip() or _source(cell.get("input")).strip():
                    if len(cells) == MAX_CELLS:
                        raise CorruptFileError(
                            f"{name}: the notebook has more than {MAX_CELLS:,} cells with text; split it"
                        )
                    cells.append(cell)
                cell = None
            continue
        where = tuple(path) if depth <= _DEEPEST else None
        if event in ("start_map", "start_array"):
            if where == () and event == "start_array":
                return None, metadata  # not an object
            if event == "start_array" and where in _CELLS:
                cells = [] if cells is None else cells
            elif event == "start_map" and where in _CELL_AT:
                cell = {}
            elif event == "start_array" and cell is not None and _is_cell_field(where, ("source", "input")):
                assert where is not None  # as _is_cell_field said
                cell[str(where[-1])] = io.StringIO()
            depth += 1
            opened.append(where)
            if depth <= _DEEPEST:
                path.append(None)
            continue
        if where is None or len(where) < 2:
            continue
        if cell is not None and where[:-1] in _CELL_AT:
            if where[-1] in _CELL_TEXTS and isinstance(value, str):
                cell[where[-1]] = value
            elif where[-1] == "level" and isinstance(value, int):
                cell["level"] = value
        elif (
            cell is not None
            and where[-1] is None
            and where[:-2] in _CELL_AT
            and where[-2] in ("source", "input")
        ):
            lines = cell.get(where[-2])
            if isinstance(lines, io.StringIO) and isinstance(value, str):
                lines.write(value)
        elif (key := _METADATA.get(where)) and isinstance(value, str):
            metadata[key] = value
        elif where == _AUTHOR and isinstance(value, str) and len(metadata["authors"]) < MAX_ITEMS:
            metadata["authors"].append(value)
    return cells, metadata


def _is_cell_field(where: tuple[str | None, ...] | None, fields: tuple[str, ...]) -> bool:
    return where is not None and len(where) > 1 and where[:-1] in _CELL_AT and where[-1] in fields


def _language(metadata: dict[str, Any]) -> str | None:
    """The kernel's programming language, as ``language_info`` or the kernel spec (format 3: the
    metadata's ``language``) names it."""
    for key in ("language_info", "kernelspec", "language"):
        if language := clean(metadata.get(key)):
            return language.lower()
    return None


def _block(cell: dict[str, Any], language: str | None) -> str:
    """One cell as a Markdown block ('' for an empty one, or a kind of cell with no text)."""
    kind = cell.get("cell_type")
    # Format 3 holds a code cell's source in "input" and its language in the cell.
    source = _source(cell.get("input") if kind == "code" and "source" not in cell else cell.get("source"))
    if not source.strip():
        return ""
    if kind == "markdown" or kind == "raw":
        return source.strip(_LINE_ENDS)
    if kind == "heading":  # format 3: a heading of its own kind, its level a field
        level = cell.get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 1
        return "#" * level + " " + " ".join(source.split())
    if kind == "code":
        # The info string: one word, no backtick (which would end a backtick fence's info string)
        words = (clean(cell.get("language")) or language or "").replace("`", " ").split()
        # A fence longer than any run of backticks in the code, so that none of them closes it (CommonMark)
        fence = "`" * max([3, *(len(run) + 1 for run in _BACKTICKS.findall(source))])
        return f"{fence}{words[0].lower() if words else ''}\n{source.strip(_LINE_ENDS)}\n{fence}"
    return ""


def _source(value: Any) -> str:
    """A cell's source as read (a list of lines joined as :func:`_read` finished the cell), or ''."""
    return value if isinstance(value, str) else ""
