"""RTF as TextEdit and Word write it, and the rewrites that keep striprtf's steps linear, each held to a
simple reference (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from striprtf.striprtf import FONTTABLE, font_table_group

from index.ingest.extract import CorruptFileError, NoTextError, extract
from index.ingest.extract import rtf as rtf_module
from index.ingest.extract.rtf import _plain_font_table, _without_pictures

# As macOS TextEdit saves it: a paragraph ends with a backslash at the end of a line.
TEXTEDIT = rb"""{\rtf1\ansi\ansicpg1252\cocoartf2761
\cocoatextscaling0\cocoaplatform0{\fonttbl\f0\fswiss\fcharset0 Helvetica;\f1\fswiss\fcharset0 Helvetica-Bold;}
{\colortbl;\red255\green255\blue255;}
{\*\expandedcolortbl;;}
{\info
{\title Tram notes}
{\author Ada Quay}}\paperw11900\paperh16840\margl1440\margr1440\vieww11520\viewh8400\viewkind0
\pard\tx566\tx1133\pardirnatural\partightenfactor0

\f1\b\fs24 \cf0 Tram line approved\
\f0\b0 \
The council approved the new tram line on Tuesday.
 Caf\'e9 owners were pleased; see {\field{\*\fldinst{HYPERLINK "https://example.org/tram"}}
{\fldrslt the plan}}.\
\
Construction starts in spring \'96 and takes three years: \u8364 ?2.4 billion.}"""

# As Word saves it: a font table with character sets, a running header, a picture with its fallback, a table,
# a page-number field, the document's information.
WORD = rb"""{\rtf1\adeflang1025\ansi\ansicpg1252\uc1\adeff31507\deff0
{\fonttbl{\f0\fbidi \froman\fcharset0\fprq2{\*\panose 02020603050405020304}Times New Roman;}
{\f1\fbidi \fswiss\fcharset238\fprq2 Arial CE;}}{\*\generator Microsoft Word 16;}
{\info{\title Minutes}{\author Bo Lind}{\subject Board}}
{\header \pard\plain Running header text\par}
\pard\plain \s1 Heading One\par
\pard\plain Body text with a picture {\*\shppict{\pict{\*\picprop}
\pngblip\picw10\pich10 89504e470d0a1a0a7b7d}}
{\nonshppict{\pict\wmetafile8 0100090000}} after it.\par
\f1 Za\'bf\'f3\'b3\'e6 g\'ea\'9cl\'b9 ja\'9f\'f1\f0 \par
\trowd\cellx1000\cellx2000 A1\cell B1\cell\row
Page {\field{\*\fldinst{ PAGE }}{\fldrslt 1}} of {\field{\*\fldinst{ NUMPAGES }}{\fldrslt 3}}\par
Smile \u-10179?\u-8704?\par
}"""


def test_a_textedit_document_reads_as_its_paragraphs_with_its_title_and_author() -> None:
    read = extract(TEXTEDIT, "notes.rtf")
    assert read.text == (
        "Tram line approved\n\n"
        "The council approved the new tram line on Tuesday. Café owners were pleased; see the plan.\n\n"
        "Construction starts in spring – and takes three years: €2.4 billion."
    )
    assert (read.title, read.format, read.fields) == ("Tram notes", "rtf", {"author": "Ada Quay"})


def test_a_word_document_reads_without_its_header_pictures_or_field_codes() -> None:
    read = extract(WORD, "minutes.rtf")
    assert read.text == (
        "Heading One\n\nBody text with a picture after it.\n\nZażółć gęślą jaźń\n\nA1|B1|\n\n"
        "Page 1 of 3\n\nSmile 😀"  # the emoji written as two UTF-16 surrogates, read as one character
    )
    assert read.title == "Minutes"
    assert read.fields == {"author": "Bo Lind", "subject": "Board"}


def test_the_bytes_say_rtf_whatever_the_name_and_a_file_named_rtf_must_be_one() -> None:
    assert extract(b"{\\rtf1\\ansi Hello}", "letter.txt").format == "rtf"
    with pytest.raises(CorruptFileError, match="named as RTF"):
        extract(b"Dear Ada,", "letter.rtf")
    with pytest.raises(NoTextError, match="holds no text"):
        extract(b"{\\rtf1{\\fonttbl\\f0\\fcharset0 A;}{\\*\\shppict{\\pict 0a0b}}}", "blank.rtf")


@pytest.mark.parametrize(
    "rtf",
    [
        b"{\\rtf1 \\uc Hello}",
        b"{\\rtf1 \\u99999999 Hello}",
        b"{\\rtf1{\\fonttbl\\f0\\fcharset78 M;}\\f0 \\'82 x}",
    ],
)
def test_what_striprtf_cannot_read_is_refused_with_a_reason(rtf: bytes) -> None:
    with pytest.raises(CorruptFileError, match="cannot read this RTF file"):
        extract(rtf, "odd.rtf")


def test_a_file_over_the_bound_is_refused_before_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rtf_module, "MAX_RTF_CHARS", 100)
    picture = "{\\pict " + "0a" * 500 + "}"
    assert extract(f"{{\\rtf1 {picture} Short.}}".encode(), "a.rtf").text == "Short."  # pictures don't count
    with pytest.raises(CorruptFileError, match="more than the 100"):
        extract(("{\\rtf1 " + "Long text. " * 20 + "}").encode(), "b.rtf")


# -- the rewrites against simple references -------------------------------------------------------------

WORDS = st.text(alphabet="abcdef ghij.,", min_size=1, max_size=12).filter(lambda word: word.strip() != "")


def _paragraph_pieces() -> st.SearchStrategy[tuple[str, str]]:
    """(RTF, the text it reads as) for pieces of a paragraph."""
    return st.one_of(
        WORDS.map(lambda word: (word, word)),
        st.sampled_from([("\\'e9", "é"), ("\\u8364 ?", "€"), ("\\{", "{"), ("\\}", "}"), ("\\\\", "\\")]),
        st.tuples(WORDS, WORDS).map(
            lambda pair: (
                f'{{\\field{{\\*\\fldinst{{HYPERLINK "https://x.org/{pair[0].strip()}"}}}}'
                f"{{\\fldrslt {pair[1]}}}}}",
                pair[1],
            )
        ),
        st.sampled_from(["PAGE", "DATE", "NUMPAGES"]).map(
            lambda code: (f"{{\\field{{\\*\\fldinst{{ {code} }}}}{{\\fldrslt 7}}}}", "7")
        ),
        st.binary(min_size=1, max_size=40).map(
            lambda data: (f"{{\\*\\shppict{{\\pict\\pngblip {data.hex()}}}}}", "")
        ),
    )


@given(st.lists(st.lists(_paragraph_pieces(), min_size=1, max_size=8), min_size=1, max_size=6), st.booleans())
def test_a_document_reads_as_the_text_of_its_pieces(
    paragraphs: list[list[tuple[str, str]]], one_line: bool
) -> None:
    end = "\\par " if one_line else "\\par\n"
    rtf = (
        "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl\\f0\\fswiss\\fcharset0 Helvetica;}\\f0 "
        + "".join("".join(piece for piece, _ in paragraph) + end for paragraph in paragraphs)
        + "}"
    )
    expected = [" ".join("".join(text for _, text in paragraph).split()) for paragraph in paragraphs]
    expected = [paragraph for paragraph in expected if paragraph]
    if not expected:
        with pytest.raises(NoTextError):
            extract(rtf.encode(), "p.rtf")
        return
    assert extract(rtf.encode(), "p.rtf").text == "\n\n".join(expected)


def _tokens(rtf: str) -> list[str]:
    return re.findall(r"\\bin\d+ ?|\\[{}\\]|\\[a-z]+-?\d* ?|\\\*|[{}]|[^{}\\]+|\\", rtf)


def _reference_without_pictures(rtf: str) -> str:
    """Token by token, with a stack: a group whose first control word is a picture's is left out whole."""
    out: list[str] = []
    tokens = _tokens(rtf)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        opener = tokens[i + 1] if i + 1 < len(tokens) else ""
        if opener == "\\*" and i + 2 < len(tokens):
            opener = tokens[i + 2]
        name = re.sub(r"[^a-z]", "", opener)
        if (
            token == "{"
            and opener.startswith("\\")
            and name in {"pict", "shppict", "nonshppict", "object", "objdata", "blipuid"}
        ):
            depth = 0
            while i < len(tokens):
                if tokens[i].startswith("\\bin"):
                    skip = int(re.sub(r"\D", "", tokens[i]))
                    rest = "".join(tokens[i + 1 :])[skip:]
                    tokens = tokens[: i + 1] + _tokens(rest)
                elif tokens[i] == "{":
                    depth += 1
                elif tokens[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
            continue
        out.append(token)
        i += 1
    return "".join(out)


RTF_PIECES = st.sampled_from(
    [
        "{",
        "}",
        "\\{",
        "\\}",
        "\\\\",
        "\\b ",
        "\\par ",
        "\\pict ",
        "{\\pict ",
        "{\\*\\shppict ",
        "{\\object ",
        "{\\*\\objdata ",
        "{\\pictscaled ",
        "\\bin3 ",
        "ab",
        "0f",
        " ",
    ]
)


@given(st.lists(RTF_PIECES, max_size=30))
@example(["\\", "{\\pict ", "0f", "}", "ab"])  # an escaped brace opens no group
@example(["{\\pict ", "\\bin3 ", "}", "ab", "}", "0f"])  # \bin data may hold braces
def test_pictures_are_cut_as_a_parser_of_groups_would_cut_them(pieces: list[str]) -> None:
    rtf = "".join(pieces)
    assert _without_pictures(rtf) == _reference_without_pictures(rtf)


FONT_ENTRIES = st.lists(
    st.tuples(
        st.integers(0, 300), st.one_of(st.none(), st.sampled_from([0, 2, 77, 128, 238])), st.booleans()
    ),
    max_size=12,
)


@given(FONT_ENTRIES)
def test_the_rebuilt_font_table_gives_striprtf_each_fonts_character_set(
    entries: list[tuple[int, int | None, bool]],
) -> None:
    """Against striprtf's own reading of a table whose every entry is whole (where it reads it right)."""

    def entry(number: int, charset: int | None, grouped: bool) -> str:
        body = (
            f"\\f{number}\\fbidi \\fswiss"
            + (f"\\fcharset{charset}" if charset is not None else "")
            + "\\fprq2 Name;"
        )
        return "{" + body + "}" if grouped else body

    table = "{\\fonttbl" + "".join(entry(*e) for e in entries) + "}"
    rtf = "{\\rtf1" + table + "\\f0 Text.}"
    rebuilt = FONTTABLE.findall(font_table_group(_plain_font_table(rtf)))
    expected = [(str(number), str(charset)) for number, charset, _ in entries if charset is not None]
    assert [(font, charset) for font, charset, _ in rebuilt] == expected
    assert _plain_font_table(rtf).endswith("\\f0 Text.}")
