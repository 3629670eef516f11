"""RTF (Rich Text Format: what macOS TextEdit and Windows WordPad save by default, and what many records and
legal systems export), read with striprtf.

striprtf turns RTF into plain text: the groups that hold no text (font, colour and style tables, headers and
footers, footnotes, comments, field instructions, the document's information) are dropped, ``\\par`` ends a
paragraph, and ``\\uN`` and ``\\'xx`` are decoded in the document's code page. Around it, this module keeps
each of striprtf's steps linear, since each runs in one call that holds Python's lock:

- **Fields.** striprtf rewrites a hyperlink field as ``text(address)`` with a pattern that, for every field
  on a line, reads to the line's end and backtracks: 416 KB of page-number fields on one line took 7.0 s
  (``bench/markup_bombs.py --only rtf``).
  A space after ``\\field``, which RTF reads as the control word's delimiter (the same document), keeps
  that pattern from matching; the field's instruction is then dropped as any ``\\*`` group is, and its result
  read, so a link is read as its text, as in a web page (0.07 s).
- **Pictures** (``\\pict``, ``\\shppict``, embedded objects), which make a Word document's RTF megabytes of
  hex, are cut out before striprtf reads it a character at a time (4 MB of picture data: 0.70 s, now 0.03 s).
- **The font table**, which striprtf reads only for each font's character set (the code page of its
  ``\\'xx``), is read with a pattern that backtracks over the rest of a line for every font whose entry
  lacks ``\\fcharset`` (80 KB: 2.05 s). It is handed over rebuilt from what that pattern would find:
  each font's number and character set, read here entry by entry.
- **What is left** of a file, at most :data:`MAX_RTF_CHARS`, is read at about 4 MB/s.
"""

from __future__ import annotations

import re

from striprtf.striprtf import font_table_group, rtf_to_text

from index.ingest.extract.base import CorruptFileError, Extracted, NoTextError
from index.ingest.extract.properties import clean, file_fields

# RTF past its pictures that one file may hold: about 15 s of striprtf's loop, and more text than
# SEMSEARCH_MAX_TEXT_CHARS lets in unless nine tenths of it is formatting.
MAX_RTF_CHARS = 64 * 1024 * 1024

_FIELD = re.compile(r"\{\\field\{", re.IGNORECASE)  # what striprtf's hyperlink pattern starts with
# Groups that hold pictures or embedded objects, not text: skipped whole (their results, ``\result`` and
# ``\nonshppict``'s fallback picture, are pictures too).
_PICTURE = re.compile(r"\{(?:\\\*)?\\(?:pict|shppict|nonshppict|object|objdata|blipuid)(?![a-z])")
# Inside a group: an escaped brace or backslash, binary data (``\binN`` then N bytes), or a brace.
_GROUP_TOKEN = re.compile(r"\\[{}\\]|\\bin(-?\d{1,10}) ?|[{}]")
_CODE_PAGE = re.compile(rb"\\ansicpg(\d{1,5})")
_FONT = re.compile(r"\\f(\d{1,10})")  # a font number; \fcharset, \fswiss, \fs24 have a letter after \f
_CHARSET = re.compile(r"\\fcharset(\d{1,10})")
_INFO = re.compile(r"\{\\(title|author|subject|keywords)[ ]?((?:[^{}\\]|\\[^{}])*)\}")


def extract_rtf(data: bytes, name: str) -> Extracted:
    rtf = _without_pictures(_decode(data))
    if len(rtf) > MAX_RTF_CHARS:
        raise CorruptFileError(
            f"{name}: {len(rtf):,} characters of RTF besides its pictures, more than the {MAX_RTF_CHARS:,} "
            "read from one file; split it, or save it as .docx or .txt"
        )
    text = _to_text(_FIELD.sub(r"{\\field {", _plain_font_table(rtf)), name)
    paragraphs = [" ".join(line.split()) for line in text.splitlines()]
    body = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    if not body:
        raise NoTextError(f"{name}: the RTF document holds no text")
    info = _info(rtf, name)
    fields = file_fields(
        author=info.get("author"), subject=info.get("subject"), keywords=info.get("keywords")
    )
    return Extracted(text=body, title=clean(info.get("title")) or None, format="rtf", fields=fields)


def _plain_font_table(rtf: str) -> str:
    """``rtf`` with its font table (the first) rebuilt as ``{\\fN\\fcharsetC F;}`` for each font whose entry
    (from its ``\\fN`` to the next) names a character set: all striprtf reads of it, at no cost."""
    table: str = font_table_group(rtf)
    if not table:
        return rtf
    starts = list(_FONT.finditer(table))
    fonts = []
    ends = [font.start() for font in starts[1:]] + [len(table)]
    for font, end in zip(starts, ends, strict=False):  # no fonts: one end, and nothing to read
        charset = _CHARSET.search(table, font.end(), end)
        if charset is not None:
            fonts.append(f"{{\\f{font.group(1)}\\fcharset{charset.group(1)} F;}}")
    at = rtf.find(table)  # where font_table_group found it: the first such group
    return rtf[:at] + "{\\fonttbl" + "".join(fonts) + "}" + rtf[at + len(table) :]


def _to_text(rtf: str, name: str) -> str:
    """striprtf's text of ``rtf``, characters beyond the BMP whole: RTF writes one (an emoji) as two
    ``\\uN`` of its UTF-16 surrogates, which striprtf leaves as two code points; one left alone becomes
    U+FFFD. A control word striprtf cannot read (``\\uc`` without its number, a code page Python has no codec
    for, a character past U+10FFFF) refuses the file."""
    try:
        text: str = rtf_to_text(rtf, errors="replace")
    except (TypeError, ValueError, LookupError, OverflowError) as error:
        detail = f"{type(error).__name__}: {error}"[:200]
        raise CorruptFileError(
            f"{name}: cannot read this RTF file ({detail}); is it damaged? Save it again as .docx or .txt"
        ) from None
    if not text.isascii():
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _decode(data: bytes) -> str:
    """RTF is 7-bit text that escapes the rest, but writers put raw bytes in it too: UTF-8 if they are, else
    the code page the file declares (``\\ansicpg``), else Windows-1252, which RTF assumes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CODE_PAGE.search(data[:4096])
    if declared is not None:
        try:
            return data.decode(f"cp{int(declared.group(1))}", errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")


def _without_pictures(rtf: str) -> str:
    """``rtf`` without its picture and object groups, found by their opening and skipped to their closing
    brace (escaped braces and ``\\bin`` data are not braces). Each group costs a search per brace or escape
    in it, not per character: hex data holds neither. An unclosed group runs to the end."""
    pieces: list[str] = []
    at = 0
    found = at
    while (start := _PICTURE.search(rtf, found)) is not None:
        found = start.start() + 1
        if _escaped(rtf, start.start()):  # "\\{\\pict" is a brace in the text, then a control word
            continue
        pieces.append(rtf[at : start.start()])
        depth, position = 0, start.start()
        while (token := _GROUP_TOKEN.search(rtf, position)) is not None:
            position = token.end()
            if token.group(1) is not None:  # \binN: N bytes of data follow
                position += max(0, int(token.group(1)))
            elif token.group() == "{":
                depth += 1
            elif token.group() == "}":
                depth -= 1
                if depth == 0:
                    break
        else:
            position = len(rtf)
        at = found = position
    pieces.append(rtf[at:])
    return "".join(pieces)


def _escaped(rtf: str, at: int) -> bool:
    """Whether the character at ``at`` follows an odd run of backslashes (is escaped)."""
    start = at
    while start > 0 and rtf[start - 1] == "\\":
        start -= 1
    return (at - start) % 2 == 1


def _info(rtf: str, name: str) -> dict[str, str]:
    """The document's title, author, subject and keywords, from its ``{\\info ...}`` group (first of each)."""
    found: dict[str, str] = {}
    for match in _INFO.finditer(rtf):
        key = match.group(1)
        if key not in found:
            value = _to_text("{\\rtf1 " + match.group(2) + "}", name).strip()
            if value:
                found[key] = value
    return found
