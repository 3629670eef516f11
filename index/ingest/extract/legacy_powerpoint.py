"""PowerPoint 97-2003 presentations (``.ppt``, [MS-PPT]): the binary format of the slide decks that archives
hold beside their ``.doc`` and ``.xls`` files, read from the OLE2 container (olefile) without PowerPoint.

The ``PowerPoint Document`` stream is a tree of records. Which of them are the presentation as last saved is
said by the ``Current User`` stream (where the last edit's ``UserEditAtom`` is) and the persist directories
that edit and the ones before it list (a fast save appends changed slides and leaves the old ones in the
stream); the document's slide list gives the slides in their order. A slide's text is in its text boxes
(``TextCharsAtom`` in UTF-16, ``TextBytesAtom`` in 8 bits), or, for PowerPoint's own placeholders, in the
slide list, which the text box refers to by number (``OutlineTextRefAtom``); both are read, in the slide's
order of shapes. A title placeholder's text becomes the slide's heading, each slide is a page (as a
``.pptx``'s is), and its speaker notes follow it. Masters and layouts (their "Click to edit Master title
style") are not slides and are not read. A stream whose directory cannot be followed (damaged, or written by
a tool that cut corners) is read in stream order instead, one page a slide.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from index.ingest.extract.base import PAGE_BREAK, CorruptFileError, Extracted, NoTextError
from index.ingest.extract.legacy_office import ole_stream, open_ole, summary

# Record types ([MS-PPT] 2.13.24) read here.
_DOCUMENT = 0x03E8
_SLIDE = 0x03EE
_SLIDE_ATOM = 0x03EF
_NOTES = 0x03F0
_SLIDE_PERSIST = 0x03F3
_MAIN_MASTER = 0x03F8
_HANDOUT = 0x0FC9
_OUTLINE_TEXT_REF = 0x0F9E
_TEXT_HEADER = 0x0F9F
_TEXT_CHARS = 0x0FA0
_TEXT_BYTES = 0x0FA8
_SLIDE_LIST = 0x0FF0
_USER_EDIT = 0x0FF5
_PERSIST_DIRECTORY = 0x1772
_CONTAINER = 0xF  # a record whose version nibble is this holds records
# Text types ([MS-PPT] 2.13.33) of a title placeholder: a slide's title, a title slide's centred title.
_TITLES = {0, 6}
# The slide list's instances: the slides, and the notes pages.
_SLIDES, _NOTES_PAGES = 0, 2
# The most edits followed back through a file's history: only a damaged file's loop reaches it.
MAX_EDITS = 10_000


@dataclass(slots=True)
class _Text:
    kind: int  # the text type of the TextHeaderAtom before it (-1: none)
    text: str


@dataclass(slots=True)
class _Slide:
    persist: int
    slide_id: int
    texts: list[_Text] = field(default_factory=list)  # the slide list's text, which text boxes refer to


def extract_ppt(data: bytes, name: str) -> Extracted:
    ole = open_ole(data, name)
    try:
        stream = ole_stream(ole, "PowerPoint Document", name)
        current = ole_stream(ole, "Current User", name) if ole.exists("Current User") else b""
        fields = summary(ole)
    finally:
        ole.close()
    # Every record is read once; a damaged directory that names containers inside each other would have
    # them read again and again, so the reading stops at twice the records the stream can hold.
    budget = _Budget(len(stream) // 4 + 1)
    try:
        slides = _slides(stream, current, budget)
    except (struct.error, KeyError, ValueError, _SpentError):
        slides = None
    if slides is None:
        try:
            slides = _in_stream_order(stream, _Budget(len(stream) // 8 + 1))
        except _SpentError:  # cannot be: the stream is read once
            raise CorruptFileError(f"{name}: the presentation's records are damaged") from None
    title = fields.pop("title", None)
    pages: list[str] = []
    for slide in slides:
        blocks: list[str] = []
        for text in slide:
            paragraphs = [" ".join(line.split()) for line in _lines(text.text)]
            paragraphs = [paragraph for paragraph in paragraphs if paragraph and paragraph != "*"]
            if not paragraphs:
                continue
            if text.kind in _TITLES:
                heading = " ".join(paragraphs)
                title = title or heading
                blocks.append("## " + heading)
            else:
                blocks.extend(paragraphs)
        pages.append("\n\n".join(blocks))
    if not any(page.strip() for page in pages):
        raise NoTextError(f"{name}: the presentation holds no text")
    joined = f"\n{PAGE_BREAK}\n".join(pages) + "\n"
    return Extracted(text=joined, title=title, format="ppt", pages=len(pages), fields=fields)


def _lines(text: str) -> list[str]:
    """A text atom's paragraphs: PowerPoint ends one with a carriage return, a line within one with a
    vertical tab."""
    return text.replace("\x0b", "\r").split("\r")


class _SpentError(Exception):
    """More records read than the stream can hold once over."""


@dataclass(slots=True)
class _Budget:
    records: int

    def spend(self) -> None:
        self.records -= 1
        if self.records < 0:
            raise _SpentError


def _slides(stream: bytes, current: bytes, budget: _Budget) -> list[list[_Text]] | None:
    """Each slide's texts, then its notes', in the order of the presentation as last saved; None if the
    stream has no such structure to follow."""
    if len(current) < 20:
        return None
    offsets = _persist_offsets(stream, struct.unpack_from("<I", current, 16)[0])
    if offsets is None:
        return None
    objects, document = offsets
    if _record_type(stream, objects.get(document, -1)) != _DOCUMENT:
        return None
    lists = dict(_slide_lists(stream, objects[document]))
    notes = {page.slide_id: page for page in lists.get(_NOTES_PAGES, [])}
    read: set[int] = set()  # each object once: a damaged file may name one container for every slide
    out: list[list[_Text]] = []
    for slide in lists.get(_SLIDES, []):
        at = objects.get(slide.persist, -1)
        if _record_type(stream, at) != _SLIDE or at in read:
            continue
        read.add(at)
        texts = _texts(stream, at, slide.texts, budget)
        notes_id = _notes_id(stream, at)
        page = notes.get(notes_id) if notes_id else None
        at = objects.get(page.persist, -1) if page is not None else -1
        if page is not None and _record_type(stream, at) == _NOTES and at not in read:
            read.add(at)
            texts += _texts(stream, at, page.texts, budget)
        out.append(texts)
    return out


def _persist_offsets(stream: bytes, edit: int) -> tuple[dict[int, int], int] | None:
    """Where each persisted object is (persist id to stream offset), newest edit first, and the document's
    persist id; None if the chain of edits cannot be followed."""
    offsets: dict[int, int] = {}
    document = None
    seen: set[int] = set()
    while edit and edit not in seen and len(seen) < MAX_EDITS:
        seen.add(edit)
        if _record_type(stream, edit) != _USER_EDIT:
            return None
        last_edit, directory, document_ref = struct.unpack_from("<III", stream, edit + 8 + 8)
        document = document_ref if document is None else document
        if _record_type(stream, directory) != _PERSIST_DIRECTORY:
            return None
        size = struct.unpack_from("<I", stream, directory + 4)[0]
        at, end = directory + 8, min(directory + 8 + size, len(stream))
        while at + 4 <= end:
            entry = struct.unpack_from("<I", stream, at)[0]
            first, count = entry & 0xFFFFF, entry >> 20
            at += 4
            for n in range(min(count, (end - at) // 4)):
                offsets.setdefault(first + n, struct.unpack_from("<I", stream, at + 4 * n)[0])
            at += 4 * count
        edit = last_edit
    return (offsets, document) if document is not None else None


def _slide_lists(stream: bytes, document: int) -> Iterator[tuple[int, list[_Slide]]]:
    """The document's slide lists (slides, masters, notes pages), each slide with the texts that follow
    its SlidePersistAtom there."""
    for kind, instance, body, end in _children(stream, document):
        if kind != _SLIDE_LIST:
            continue
        slides: list[_Slide] = []
        header = -1
        for child, _, at, stop in _children(stream, body - 8, end):
            if child == _SLIDE_PERSIST:
                persist, _, _, slide_id = struct.unpack_from("<IIII", stream, at)
                slides.append(_Slide(persist, slide_id))
                header = -1
            elif child == _TEXT_HEADER:
                header = struct.unpack_from("<I", stream, at)[0]
            elif child in (_TEXT_CHARS, _TEXT_BYTES) and slides:
                slides[-1].texts.append(_Text(header, _decode(stream, child, at, stop)))
        yield instance, slides


def _texts(stream: bytes, container: int, outline: list[_Text], budget: _Budget) -> list[_Text]:
    """The texts of a slide (or notes page) in the order of its shapes: a text box's own, or the text of
    the slide list it refers to; then any of the slide list's that no box referred to."""
    texts: list[_Text] = []
    used: set[int] = set()
    header = -1
    for kind, _, at, end in _descendants(stream, budget, container):
        if kind == _TEXT_HEADER:
            header = struct.unpack_from("<I", stream, at)[0]
        elif kind in (_TEXT_CHARS, _TEXT_BYTES):
            texts.append(_Text(header, _decode(stream, kind, at, end)))
        elif kind == _OUTLINE_TEXT_REF:
            index = struct.unpack_from("<I", stream, at)[0]
            if index < len(outline) and index not in used:
                used.add(index)
                texts.append(outline[index])
    texts += [text for index, text in enumerate(outline) if index not in used]
    return texts


def _notes_id(stream: bytes, slide: int) -> int:
    """The slide id of a slide's notes page (its SlideAtom's ``notesIdRef``), 0 if it has none."""
    for kind, _, at, end in _children(stream, slide):
        if kind == _SLIDE_ATOM and end - at >= 20:
            notes: int = struct.unpack_from("<I", stream, at + 16)[0]
            return notes
    return 0


def _in_stream_order(stream: bytes, budget: _Budget) -> list[list[_Text]]:
    """The text of every slide container in the stream, as a page each, in the order they are stored (no
    masters, handouts or notes: what stands outside a slide is not known to be shown)."""
    pages: list[list[_Text]] = []
    header = -1
    skipped_until = -1
    for kind, _, at, end in _descendants(stream, budget, -8, len(stream)):
        if at < skipped_until:
            continue
        if kind in (_MAIN_MASTER, _HANDOUT, _NOTES):
            skipped_until = end
        elif kind == _SLIDE:
            pages.append([])
        elif kind == _TEXT_HEADER:
            header = struct.unpack_from("<I", stream, at)[0]
        elif kind in (_TEXT_CHARS, _TEXT_BYTES) and pages:
            pages[-1].append(_Text(header, _decode(stream, kind, at, end)))
    return pages


def _decode(stream: bytes, kind: int, at: int, end: int) -> str:
    raw = stream[at:end]
    if kind == _TEXT_CHARS:
        return raw[: len(raw) // 2 * 2].decode("utf-16-le", "replace")
    return raw.decode("latin-1")  # 8-bit text is Unicode with its high bytes dropped ([MS-PPT] 2.13.31)


def _record_type(stream: bytes, at: int) -> int | None:
    if at < 0 or at + 8 > len(stream):
        return None
    kind: int = struct.unpack_from("<H", stream, at + 2)[0]
    return kind


def _children(stream: bytes, container: int, end: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """The records directly inside the container record at ``container`` (or, with ``end``, those from
    ``container + 8`` to ``end``): (type, instance, where its body starts, where it ends), each cut to its
    parent's end."""
    if end is None:
        size = struct.unpack_from("<I", stream, container + 4)[0]
        end = container + 8 + size
    end = min(end, len(stream))
    at = container + 8
    while at + 8 <= end:
        version_instance, kind, size = struct.unpack_from("<HHI", stream, at)
        body = at + 8
        yield kind, version_instance >> 4, body, min(body + size, end)
        at = body + size


def _descendants(
    stream: bytes, budget: _Budget, container: int, end: int | None = None
) -> Iterator[tuple[int, int, int, int]]:
    """Every record inside the one at ``container``, depth first in stream order (as :func:`_children`
    gives them), each paid for from ``budget``, without recursion: a damaged file may nest records as deep
    as its size allows."""
    stack = [_children(stream, container, end)]
    while stack:
        for kind, instance, body, stop in stack[-1]:
            budget.spend()
            yield kind, instance, body, stop
            version = stream[body - 8] & 0xF
            if version == _CONTAINER and stop > body:
                stack.append(_children(stream, body - 8, stop))
                break
        else:
            stack.pop()
