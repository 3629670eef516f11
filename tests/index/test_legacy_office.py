"""Word and Excel 97-2003 files (PowerPoint's: test_legacy_powerpoint.py): real ones saved by LibreOffice
(tests/data/files/make.py), and the Word reader's piece table and field marks held to simple references
(hypothesis)."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.ingest.extract import CorruptFileError, EncryptedFileError, UnsupportedFormatError, extract
from index.ingest.extract.dispatch import sniff
from index.ingest.extract.legacy_office import _field_results, _main_text, ole_format
from tests.data.files.make import PAGES

FILES = Path(__file__).resolve().parents[1] / "data" / "files"


def test_a_word_97_document_reads_as_its_paragraphs_and_table_with_its_title() -> None:
    read = extract((FILES / "lighthouse.doc").read_bytes(), "lighthouse.doc")
    paragraphs = read.text.split("\n\n")
    for heading, text in PAGES:
        assert heading in paragraphs
        assert text in paragraphs
    assert paragraphs[-2:] == ["Station | Range (nm)", "North Point | 20"]
    assert (read.title, read.format) == ("Coastal notes", "doc")
    assert read.fields["author"] == "python-docx"  # the summary information, as the DOCX's core properties


def test_an_excel_97_workbook_reads_as_a_table_per_sheet() -> None:
    read = extract((FILES / "stations.xls").read_bytes(), "stations.xls")
    assert read.text == (
        "## stations\n\n"
        "| Station | Light | Range (nmi) | First lit |\n| --- | --- | --- | --- |\n"
        "| North Head | Fl W 10s | 20 | 1861-05-01 |\n"  # a date before 1900, as LibreOffice counts them
        "| South Point | Oc R 5s | 12.5 | 1902-11-12 |\n"
    )
    assert read.format == "xls"


def test_an_encrypted_word_file_says_so() -> None:
    data = bytearray((FILES / "lighthouse.doc").read_bytes())
    fib = next(at for at in range(0, len(data), 512) if data[at : at + 2] == b"\xec\xa5")  # WordDocument
    data[fib + 0x0B] |= 0x01  # fEncrypted: 0x0100 of the flags at 0x0A, little-endian
    with pytest.raises(EncryptedFileError, match="encrypted with a password"):
        extract(bytes(data), "secret.doc")


@pytest.mark.parametrize(
    ("data", "name", "fmt"),
    [
        (b"<html><body><p>Word saved this page as .doc</p></body></html>", "page.doc", "html"),
        (b"Station\tRange\nNorth Head\t20\n", "export.xls", "csv"),  # an "export to Excel" that is a TSV
        (b"Minutes of the meeting", "notes.doc", "text"),
    ],
)
def test_what_programs_save_as_doc_and_xls_that_is_not_ole2_is_read_as_what_it_is(
    data: bytes, name: str, fmt: str
) -> None:
    assert sniff(data, name) == fmt


def test_the_bytes_decide_whatever_the_name() -> None:
    doc = (FILES / "lighthouse.doc").read_bytes()
    assert (sniff(doc, "letter.rtf"), sniff(doc, "minutes.xls"), sniff(doc, "notes")) == ("doc", "doc", "doc")
    assert sniff((FILES / "stations.xls").read_bytes(), "stations.doc") == "xls"


def test_a_binary_doc_that_is_not_ole2_is_refused() -> None:
    with pytest.raises(CorruptFileError, match="named as DOC"):
        extract(b"\x00\x01binary\x00" * 10, "old.doc")


class _Container:
    def __init__(self, *streams: str) -> None:
        self.streams = set(streams)

    def exists(self, stream: str) -> bool:
        return stream in self.streams


@pytest.mark.parametrize(
    ("streams", "error", "message"),
    [
        (("EncryptionInfo", "EncryptedPackage"), EncryptedFileError, "encrypted"),
        (("Contents",), UnsupportedFormatError, "not a Word, Excel or PowerPoint 97-2003 document nor an"),
    ],
)
def test_other_ole2_files_are_refused_with_what_they_are(
    streams: tuple[str, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ole_format(_Container(*streams), "file")
    with pytest.raises(CorruptFileError, match="is it damaged"):  # its name says Word, its parts do not
        ole_format(_Container("Contents"), "minutes.doc")
    assert ole_format(_Container("WordDocument", "1Table"), "f") == "doc"
    assert ole_format(_Container("Workbook"), "f") == "xls"
    assert ole_format(_Container("PowerPoint Document", "Current User"), "f") == "ppt"
    assert ole_format(_Container("__properties_version1.0", "__substg1.0_0037001F"), "f") == "msg"


# -- the piece table ------------------------------------------------------------------------------------


def fib(ccp_text: int, fc_clx: int, lcb_clx: int) -> bytearray:
    """A Word 97 File Information Block: 14 shorts, 22 longs (ccpText the fourth), 93 offset-size pairs."""
    word = bytearray(0x9A + 93 * 8)
    struct.pack_into("<HH", word, 0, 0xA5EC, 0xC1)
    struct.pack_into("<H", word, 0x20, 14)
    struct.pack_into("<H", word, 0x3E, 22)
    struct.pack_into("<i", word, 0x40 + 12, ccp_text)
    struct.pack_into("<H", word, 0x98, 93)
    struct.pack_into("<II", word, 0x9A + 33 * 8, fc_clx, lcb_clx)
    return word


PIECES = st.lists(
    st.tuples(st.text(alphabet="abc é€\r\x07", min_size=0, max_size=10), st.booleans()),
    min_size=1,
    max_size=8,
)


@given(PIECES, st.integers(0, 3), st.randoms(use_true_random=False), st.booleans())
def test_the_main_text_is_its_pieces_in_order_up_to_ccp_text(
    pieces: list[tuple[str, bool]], cut: int, random: object, formatting: bool
) -> None:
    """Pieces stored in any order in the stream, 8-bit (where they can be) or UTF-16, listed in text order."""
    pieces = [(text, compressed and text.isascii()) for text, compressed in pieces]
    word = fib(0, 0, 0)
    order = list(range(len(pieces)))
    random.shuffle(order)  # type: ignore[attr-defined]
    places: dict[int, int] = {}
    for n in order:
        text, compressed = pieces[n]
        while len(word) % 2:
            word.append(0)
        places[n] = len(word)
        word += text.encode("cp1252" if compressed else "utf-16-le")
    cps = [0]
    for text, _ in pieces:
        cps.append(cps[-1] + len(text))
    pcds = b"".join(
        struct.pack("<HIH", 0, (places[n] * 2) | 0x40000000 if compressed else places[n], 0)
        for n, (_, compressed) in enumerate(pieces)
    )
    plc = struct.pack(f"<{len(cps)}I", *cps) + pcds
    prc = b"\x01" + struct.pack("<H", 3) + b"xyz" if formatting else b""  # a fast save's formatting, skipped
    clx = prc + b"\x02" + struct.pack("<I", len(plc)) + plc
    table = b"\x00" * 7 + clx
    whole = "".join(text for text, _ in pieces)
    ccp_text = max(0, len(whole) - cut)
    struct.pack_into("<i", word, 0x40 + 12, ccp_text)
    struct.pack_into("<II", word, 0x9A + 33 * 8, 7, len(clx))
    assert _main_text(bytes(word), table, "d.doc") == whole[:ccp_text]


@given(st.binary(max_size=64), st.integers(0, 200), st.integers(0, 200))
def test_a_damaged_piece_table_is_refused_never_an_error_of_another_kind(
    table: bytes, fc: int, lcb: int
) -> None:
    try:
        text = _main_text(bytes(fib(5, fc, lcb)) + b"hello", table, "d.doc")
    except CorruptFileError:
        return
    assert len(text) <= 5  # what it read is the main text's 5 characters at most


# -- fields ---------------------------------------------------------------------------------------------

TREE = st.recursive(
    st.text(alphabet="ab ", max_size=4).map(lambda text: ("text", text)),
    lambda inner: st.one_of(
        st.tuples(
            st.just("field"), st.lists(inner, max_size=3), st.one_of(st.none(), st.lists(inner, max_size=3))
        ),
        st.lists(inner, max_size=3).map(lambda parts: ("run", parts)),
    ),
    max_leaves=12,
)


def _marks(node: tuple[object, ...]) -> str:
    """Word's text of a tree: fields as \\x13 code \\x14 result \\x15."""
    kind = node[0]
    if kind == "text":
        return str(node[1])
    if kind == "run":
        return "".join(_marks(part) for part in node[1])  # type: ignore[attr-defined]
    code, result = node[1], node[2]
    text = "\x13" + "".join(_marks(part) for part in code)  # type: ignore[attr-defined]
    if result is not None:
        text += "\x14" + "".join(_marks(part) for part in result)  # type: ignore[attr-defined]
    return text + "\x15"


def _shows(node: tuple[object, ...]) -> str:
    """What Word shows of it: a field's result, never its code."""
    kind = node[0]
    if kind == "text":
        return str(node[1])
    parts = cast("list[tuple[object, ...]]", node[1] if kind == "run" else (node[2] or []))
    return "".join(_shows(part) for part in parts)


@given(TREE)
def test_a_field_shows_its_result_and_not_its_code(tree: tuple[object, ...]) -> None:
    assert _field_results(_marks(tree)) == _shows(tree)


def test_a_hyperlink_field_reads_as_its_text() -> None:
    marked = 'See \x13 HYPERLINK "https://example.org" \x14the plan\x15 and page \x13 PAGE \x142\x15.'
    assert re.sub(r"\s+", " ", _field_results(marked)) == "See the plan and page 2."
