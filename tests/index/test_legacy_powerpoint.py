"""PowerPoint 97-2003 presentations: a real one saved by LibreOffice (tests/data/files/make.py), and the
record walk held to a simple reference (hypothesis): decks laid out as PowerPoint writes them (placeholder
text in the slide list, referred to from the slide), as LibreOffice does (text in the slide's boxes), stored
in any order, with fast saves that leave old versions of slides in the stream."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.extract import CorruptFileError, extract
from index.ingest.extract.base import PAGE_BREAK
from index.ingest.extract.dispatch import sniff
from index.ingest.extract.legacy_powerpoint import _Budget, _in_stream_order, _slides, _SpentError
from tests.data.files.make import PAGES

FILES = Path(__file__).resolve().parents[1] / "data" / "files"


def test_a_powerpoint_97_deck_reads_as_a_page_a_slide_with_its_notes_and_text_boxes() -> None:
    data = (FILES / "lighthouse.ppt").read_bytes()
    assert sniff(data, "deck.pdf") == "ppt"  # the bytes decide, not the name
    read = extract(data, "lighthouse.ppt")
    assert (read.title, read.format, read.pages) == ("Coastal notes", "ppt", 3)
    pages = read.text.split(f"\n{PAGE_BREAK}\n")
    assert len(pages) == 3
    for page, (heading, text) in zip(pages, PAGES, strict=True):
        blocks = page.strip().split("\n\n")
        assert blocks[0] == f"## {heading}"
        assert blocks[1:3] == text.split(". ")  # python-pptx wrote each sentence a paragraph
    assert pages[0].strip().endswith("Mention the fog bell at the Lizard station.")  # the speaker notes
    assert pages[2].strip().endswith("Visitor hours: Saturdays, May to September.")  # a text box of its own
    assert "Click to edit" not in read.text  # the master's placeholders are not slides


# -- decks built record by record -----------------------------------------------------------------------


def record(kind: int, body: bytes = b"", *, instance: int = 0, container: bool = False) -> bytes:
    return struct.pack("<HHI", (0xF if container else 0) | instance << 4, kind, len(body)) + body


def text_atoms(text_type: int, text: str) -> bytes:
    header = record(0x0F9F, struct.pack("<I", text_type))
    if text.isascii():  # 8-bit where it can be, as PowerPoint does
        return header + record(0x0FA8, text.encode("latin-1"))
    return header + record(0x0FA0, text.encode("utf-16-le"))


def box(content: bytes) -> bytes:
    """A shape's text box (OfficeArtClientTextbox) inside a shape container."""
    return record(0xF004, record(0xF00D, content, container=True), container=True)


@dataclass
class Slide:
    title: str
    body: list[str]
    box: str | None
    notes: str | None
    in_list: bool  # PowerPoint's placeholders: the text in the slide list, the box refers to it
    stale: bool  # an older version of this slide stays in the stream (a fast save)


WORDS = st.text(alphabet="ab é€\u00a0", min_size=1, max_size=8).filter(lambda t: t.strip() not in ("", "*"))
SLIDES = st.lists(
    st.builds(
        Slide,
        WORDS,
        st.lists(WORDS, min_size=1, max_size=3),
        st.one_of(st.none(), WORDS),
        st.one_of(st.none(), WORDS),
        st.booleans(),
        st.booleans(),
    ),
    max_size=5,
)


def deck(slides: list[Slide], order: list[int]) -> tuple[bytes, bytes]:
    """The ``PowerPoint Document`` and ``Current User`` streams of ``slides``, their containers stored in
    ``order``; persist ids: the document 1, slide n 10 + n, its notes 100 + n."""
    stream = bytearray()
    first: dict[int, int] = {}  # the first edit's objects
    latest: dict[int, int] = {}  # the second edit's
    for n in order:
        slide = slides[n]
        if slide.stale:  # the version a fast save superseded, written by the first edit
            first[10 + n] = len(stream)
            stream += record(0x03EE, box(text_atoms(0, "stale " + slide.title)), container=True)
    listed = bytearray()
    notes_listed = bytearray()
    for n in order:
        slide = slides[n]
        notes_id = 500 + n if slide.notes is not None else 0
        atom = record(0x03EF, struct.pack("<I8sIIHH", 0, b"\x00" * 8, 0, notes_id, 0, 0))
        if slide.in_list:
            boxes = box(record(0x0F9E, struct.pack("<I", 0))) + box(record(0x0F9E, struct.pack("<I", 1)))
        else:
            boxes = box(text_atoms(0, slide.title)) + box(text_atoms(1, "\r".join(slide.body)))
        if slide.box is not None:
            boxes += box(text_atoms(4, slide.box))
        latest[10 + n] = len(stream)
        stream += record(0x03EE, atom + record(0xF002, boxes, container=True), container=True)
        if slide.notes is not None:
            latest[100 + n] = len(stream)
            stream += record(0x03F0, box(text_atoms(2, slide.notes)), container=True)
    for n, slide in enumerate(slides):  # the slide lists hold the deck's order
        persist = record(0x03F3, struct.pack("<IIIII", 10 + n, 0, 0, 256 + n, 0))
        listed += persist
        if slide.in_list:
            listed += text_atoms(0, slide.title) + text_atoms(1, "\r".join(slide.body))
        if slide.notes is not None:
            notes_listed += record(0x03F3, struct.pack("<IIIII", 100 + n, 0, 0, 500 + n, 0))
    latest[1] = len(stream)
    stream += record(
        0x03E8,
        record(0x0FF0, bytes(listed), instance=0, container=True)
        + record(0x0FF0, bytes(notes_listed), instance=2, container=True),
        container=True,
    )

    def edit(objects: dict[int, int], last_edit: int) -> int:
        nonlocal stream
        directory = len(stream)
        entries = b"".join(struct.pack("<II", key | 1 << 20, at) for key, at in sorted(objects.items()))
        stream += record(0x1772, entries)
        at = len(stream)
        stream += record(0x0FF5, struct.pack("<IHBBIIIIHH", 0, 0, 0, 3, last_edit, directory, 1, 0, 0, 0))
        return at

    earlier = edit(first, 0) if first else 0
    current = edit(latest, earlier)
    user = record(0x0FF6, struct.pack("<III", 20, 0xE391C05F, current) + b"\x00" * 8)
    return bytes(stream), user


@given(SLIDES, st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_slides_are_read_in_the_decks_order_as_last_saved(slides: list[Slide], random: object) -> None:
    order = list(range(len(slides)))
    random.shuffle(order)  # type: ignore[attr-defined]
    stream, user = deck(slides, order)
    read = _slides(stream, user, _Budget(len(stream)))
    assert read is not None
    expected = [
        [slide.title, "\r".join(slide.body)]
        + ([slide.box] if slide.box is not None else [])
        + ([slide.notes] if slide.notes is not None else [])
        for slide in slides
    ]
    assert [[text.text for text in texts] for texts in read] == expected
    assert all(texts[0].kind == 0 for texts in read)  # the title, which becomes the page's heading


@given(st.binary(max_size=200), st.binary(max_size=24))
def test_a_damaged_stream_is_read_or_refused_never_an_error_of_another_kind(
    stream: bytes, user: bytes
) -> None:
    try:
        _slides(stream, user, _Budget(len(stream) // 4 + 1))
        _in_stream_order(stream, _Budget(len(stream) // 8 + 1))
    except (struct.error, KeyError, ValueError, CorruptFileError):
        pass  # extract_ppt reads a stream it cannot follow in stream order; these are what it catches


def test_containers_named_inside_one_another_are_not_read_again_and_again() -> None:
    """A directory may name a slide at every 8 bytes of a stream of slide containers each inside the last:
    read as named, 2,000 of them are 2 million records (a quarter of a million, 31 billion). The reading
    stops at twice the records the stream can hold, and extract_ppt reads it in stream order instead."""
    depth = 2_000
    stream = bytearray()
    for n in range(depth):  # a slide container whose body is the rest of the nest
        stream += struct.pack("<HHI", 0xF, 0x03EE, (depth - n - 1) * 8)
    listed = b"".join(record(0x03F3, struct.pack("<IIIII", 10 + n, 0, 0, 256 + n, 0)) for n in range(depth))
    document = len(stream)
    stream += record(0x03E8, record(0x0FF0, listed, container=True), container=True)
    directory = len(stream)
    stream += record(0x1772, struct.pack("<I", 1 | 1 << 20) + struct.pack("<I", document))
    stream += record(0x1772, b"")  # (the entries of the slides, below, in a directory of their own)
    stream[directory + 4 : directory + 8] = struct.pack("<I", 8 + 4 * depth)
    del stream[directory + 16 :]
    stream += struct.pack("<I", 10 | depth << 20) + b"".join(struct.pack("<I", 8 * n) for n in range(depth))
    edit = len(stream)
    stream += record(0x0FF5, struct.pack("<IHBBIIIIHH", 0, 0, 0, 3, 0, directory, 1, 0, 0, 0))
    user = record(0x0FF6, struct.pack("<III", 20, 0xE391C05F, edit) + b"\x00" * 8)
    budget = _Budget(len(stream) // 4 + 1)
    with pytest.raises(_SpentError):
        _slides(bytes(stream), user, budget)
    assert len(_in_stream_order(bytes(stream), _Budget(len(stream) // 8 + 1))) == depth  # read once
