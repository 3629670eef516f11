"""Word and Excel 97-2003 files (``.doc``, ``.xls``): the binary formats that decades of archives hold, read
from their OLE2 container with olefile (Word) and xlrd (Excel).

**Word** (``.doc``, [MS-DOC]): the document's text is stored in pieces, which the piece table (the ``Clx`` in
the table stream that the File Information Block names) lists in order, each as 8-bit Windows-1252 or as
UTF-16; the main document is its first ``ccpText`` characters (footnotes, headers and comments follow, and
are left out, as in the RTF and PDF readers). Word's marks in that text are read as what they show: a
paragraph mark ends a paragraph, a field's code is dropped and its result kept (a hyperlink reads as its
text, a page number as the number), a table's cell marks separate its cells, and the anchors of pictures,
footnotes and drawings are dropped. The title, author, subject, keywords and dates come from the summary
information. Headings are not told from body text: that would need the style sheet and each paragraph's
properties, which are not read.

**Excel** (``.xls``): each sheet becomes a heading and a Markdown table, as an ``.xlsx`` does, with the same
bound on the cells read.

PowerPoint 97-2003 (``.ppt``) is read by :mod:`index.ingest.extract.legacy_powerpoint`, an Outlook message
(``.msg``) by :mod:`index.ingest.extract.mail`. Another OLE2 file (an
encrypted Office 2007 file) is refused by :func:`ole_format` with what to do instead.
"""

from __future__ import annotations

import datetime
import io
import re
import struct
from typing import Any

from index.ingest.extract.base import (
    CorruptFileError,
    EncryptedFileError,
    Extracted,
    ExtractionError,
    NoTextError,
    UnsupportedFormatError,
)
from index.ingest.extract.office import cell_text, check_sheet_cells, sheet_block
from index.ingest.extract.properties import clean, file_fields

# Pieces in one document's piece table: Word writes one per stretch of text edited since the last full
# save, tens to thousands.
MAX_PIECES = 1_000_000

_WORD_IDENT = 0xA5EC
_ENCRYPTED = 0x0100
_TABLE_1 = 0x0200  # the table stream is "1Table", not "0Table"
_FC_CLX = 33  # the piece table's (offset, size) pair among the FIB's offsets and sizes
_FIELD_MARK = re.compile("[\x13\x14\x15]")
# Marks that show nothing (picture, drawing and footnote anchors, an optional hyphen...) and other control
# characters; tabs and the marks turned into line breaks below are kept.
_HIDDEN = re.compile("[\x00-\x08\x0e-\x12\x16-\x1d\x1f]")


def ole_format(ole: Any, name: str) -> str:
    """``"doc"``, ``"xls"``, ``"ppt"`` or ``"msg"`` for an open OLE2 container, or the refusal that says
    what else it is."""
    if ole.exists("WordDocument"):
        return "doc"
    if ole.exists("Workbook") or ole.exists("Book"):
        return "xls"
    if ole.exists("EncryptionInfo"):
        raise EncryptedFileError(
            f"{name}: the Office file is encrypted with a password; save an unprotected copy and upload that"
        )
    if ole.exists("PowerPoint Document"):
        return "ppt"
    if ole.exists("__properties_version1.0"):  # an Outlook message: index.ingest.extract.mail
        return "msg"
    if name.lower().endswith((".doc", ".xls", ".ppt", ".msg")):  # as named, and a damaged directory hides
        raise CorruptFileError(
            f"{name}: named as a Word, Excel or PowerPoint 97-2003 file or an Outlook message, but its "
            "container holds none of their parts; is it damaged?"
        )
    raise UnsupportedFormatError(
        f"{name}: an OLE2 file that is not a Word, Excel or PowerPoint 97-2003 document nor an Outlook "
        "message"
    )


def open_ole(data: bytes, name: str) -> Any:
    import olefile

    try:
        return olefile.OleFileIO(data)
    except (OSError, ValueError, struct.error, IndexError) as error:  # olefile's own, for a damaged file
        what = "Outlook message" if name.lower().endswith(".msg") else "Office 97-2003 file"
        raise CorruptFileError(f"{name}: a damaged {what} ({error})") from None


# -- Word ------------------------------------------------------------------------------------------------


def extract_doc(data: bytes, name: str) -> Extracted:
    ole = open_ole(data, name)
    try:
        word = ole_stream(ole, "WordDocument", name)
        if len(word) < 0x22 or _u16(word, 0) != _WORD_IDENT:
            raise CorruptFileError(
                f"{name}: not a Word 97-2003 document (its WordDocument stream has no FIB)"
            )
        flags = _u16(word, 0x0A)
        if flags & _ENCRYPTED:
            raise EncryptedFileError(
                f"{name}: the Word file is encrypted with a password; save an unprotected copy and upload it"
            )
        table = ole_stream(ole, "1Table" if flags & _TABLE_1 else "0Table", name)
        text = _main_text(word, table, name)
        fields = summary(ole)
    finally:
        ole.close()
    paragraphs = [" ".join(line.split()) for line in _shown(text).splitlines()]
    body = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    if not body:
        raise NoTextError(f"{name}: the Word document holds no text")
    title = fields.pop("title", None)
    return Extracted(text=body, title=title, format="doc", fields=fields)


def _main_text(word: bytes, table: bytes, name: str) -> str:
    """The main document's characters, from the piece table (the FIB's layout: [MS-DOC] 2.5.1)."""
    try:
        csw = _u16(word, 0x20)
        lw = 0x22 + 2 * csw  # cslw, then the FibRgLw97 longs
        cslw = _u16(word, lw)
        ccp_text = struct.unpack_from("<i", word, lw + 2 + 3 * 4)[0]
        fc_lcb = lw + 2 + 4 * cslw  # cbRgFcLcb, then the (offset, size) pairs
        if _u16(word, fc_lcb) <= _FC_CLX:
            raise CorruptFileError(f"{name}: a Word file older than Word 97, which is not read")
        fc_clx, lcb_clx = struct.unpack_from("<II", word, fc_lcb + 2 + 8 * _FC_CLX)
    except struct.error:
        raise CorruptFileError(f"{name}: the Word file's header is cut short") from None
    clx = table[fc_clx : fc_clx + lcb_clx]
    at = 0
    while at < len(clx) and clx[at] == 1:  # Prc: formatting changes of a fast save, skipped
        if at + 3 > len(clx):
            break
        at += 3 + _u16(clx, at + 1)
    if at + 5 > len(clx) or clx[at] != 2:
        raise CorruptFileError(f"{name}: the Word file's piece table is damaged")
    size = struct.unpack_from("<I", clx, at + 1)[0]
    plc = clx[at + 5 : at + 5 + size]
    pieces = (len(plc) - 4) // 12
    if len(plc) != size or pieces < 1 or (len(plc) - 4) % 12:
        raise CorruptFileError(f"{name}: the Word file's piece table is damaged")
    if pieces > MAX_PIECES:
        raise CorruptFileError(f"{name}: the Word file's text is in more than {MAX_PIECES:,} pieces")
    cps = struct.unpack_from(f"<{pieces + 1}I", plc)
    text: list[str] = []
    length = 0
    for n in range(pieces):
        count = cps[n + 1] - cps[n]
        fc = struct.unpack_from("<I", plc, 4 * (pieces + 1) + 8 * n + 2)[0]
        if count < 0:
            raise CorruptFileError(f"{name}: the Word file's piece table is out of order")
        if fc & 0x40000000:  # 8-bit characters, at half the offset given
            start = (fc & 0x3FFFFFFF) // 2
            raw, codec = word[start : start + count], "cp1252"
        else:
            raw, codec = word[fc : fc + 2 * count], "utf-16-le"
        if len(raw) != (count if codec == "cp1252" else 2 * count):
            raise CorruptFileError(f"{name}: the Word file's text runs past its end")
        text.append(raw.decode(codec, "replace"))
        length += count
        if length >= ccp_text:
            break
    return "".join(text)[: max(ccp_text, 0)]


def _shown(text: str) -> str:
    """What Word shows of its text: fields' results without their codes, marks as line breaks or cell
    separators, anchors and other marks dropped."""
    if "\x13" in text:
        text = _field_results(text)
    text = text.replace("\x07\x07", "\n").replace("\x07", " | ")  # a row's last cell mark, then its row mark
    text = text.replace("\r", "\n").replace("\x0b", "\n").replace("\x0c", "\n").replace("\x1e", "-")
    return _HIDDEN.sub("", text)


def _field_results(text: str) -> str:
    """``text`` with each field (``\\x13`` code ``\\x14`` result ``\\x15``, nested) reduced to its result; a
    field without a result (``\\x13`` code ``\\x15``) to nothing. Text shows where every open field is in its
    result. One step per field mark."""
    out: list[str] = []
    stack: list[bool] = []  # for each open field: whether its result has begun
    in_codes = 0  # open fields still in their code
    at = 0
    for mark in _FIELD_MARK.finditer(text):
        if not in_codes:
            out.append(text[at : mark.start()])
        at = mark.end()
        if mark.group() == "\x13":
            stack.append(False)
            in_codes += 1
        elif mark.group() == "\x14" and stack and not stack[-1]:
            stack[-1] = True
            in_codes -= 1
        elif mark.group() == "\x15" and stack:
            in_codes -= not stack.pop()
    if not in_codes:
        out.append(text[at:])
    return "".join(out)


def summary(ole: Any) -> dict[str, Any]:
    """Title, author, subject, keywords and dates from the file's summary information ([MS-OLEPS]), read
    here rather than by olefile's ``get_metadata``: that one builds every vector a property claims to hold,
    and a damaged file's claim of two billion values took 13 GB before it was stopped. Only the string and
    date properties named are read, each bounded by the stream; anything amiss loses the properties, not the
    document."""
    if not ole.exists("\x05SummaryInformation"):
        return {}
    try:
        properties = _property_set(ole.openstream("\x05SummaryInformation").read())
    except (OSError, ValueError, struct.error, IndexError):
        return {}
    codepage = properties.get(1)
    codepage = codepage & 0xFFFF if isinstance(codepage, int) else 1252
    codec = {65001: "utf-8", 1200: "utf-16-le"}.get(codepage, f"cp{codepage}")

    def text(key: int) -> str | None:
        value = properties.get(key)
        if isinstance(value, bytes):
            raw = value
            try:
                value = raw.decode(codec, "replace")
            except LookupError:
                value = raw.decode("cp1252", "replace")
        return clean(value.rstrip("\x00")) if isinstance(value, str) else None

    def date(key: int) -> datetime.datetime | None:
        value = properties.get(key)
        return value if isinstance(value, datetime.datetime) else None

    fields = file_fields(
        author=text(4), subject=text(3), keywords=text(5), created=date(12), modified=date(13)
    )
    title = text(2)
    return {**fields, "title": title} if title else fields


# Summary information properties read: code page, title, subject, author, keywords, created, last saved.
_SUMMARY_IDS = {1, 2, 3, 4, 5, 12, 13}
_VT_I2, _VT_LPSTR, _VT_LPWSTR, _VT_FILETIME = 0x02, 0x1E, 0x1F, 0x40


def _property_set(data: bytes) -> dict[int, int | bytes | str | datetime.datetime]:
    """The properties of :data:`_SUMMARY_IDS` in a property set stream's first section."""
    section = struct.unpack_from("<I", data, 28 + 16)[0]  # after the header and the section's FMTID
    count = struct.unpack_from("<I", data, section + 4)[0]
    found: dict[int, int | bytes | str | datetime.datetime] = {}
    for n in range(min(count, (len(data) - section - 8) // 8)):
        key, offset = struct.unpack_from("<II", data, section + 8 + 8 * n)
        if key not in _SUMMARY_IDS:
            continue
        at = section + offset
        kind = struct.unpack_from("<I", data, at)[0]
        if kind == _VT_I2:
            found[key] = struct.unpack_from("<h", data, at + 4)[0]
        elif kind == _VT_LPSTR:
            size = struct.unpack_from("<I", data, at + 4)[0]
            found[key] = data[at + 8 : at + 8 + min(size, 65536)]
        elif kind == _VT_LPWSTR:
            size = struct.unpack_from("<I", data, at + 4)[0]
            found[key] = data[at + 8 : at + 8 + 2 * min(size, 65536)].decode("utf-16-le", "replace")
        elif kind == _VT_FILETIME:
            ticks = struct.unpack_from("<Q", data, at + 4)[0]  # 100 ns since 1601
            if 0 < ticks < 2650467743990000000:  # before the year 10000
                moment = datetime.datetime(1601, 1, 1) + datetime.timedelta(microseconds=ticks // 10)
                if moment.year > 1601:
                    found[key] = moment
    return found


def ole_stream(ole: Any, stream: str, name: str) -> bytes:
    if not ole.exists(stream):
        raise CorruptFileError(f"{name}: the file has no {stream} stream; is it damaged?")
    try:
        data: bytes = ole.openstream(stream).read()
    except (OSError, ValueError, struct.error, IndexError) as error:  # olefile's, for a damaged file
        raise CorruptFileError(f"{name}: a damaged Office 97-2003 file ({error})") from None
    return data


def _u16(data: bytes, at: int) -> int:
    value: int = struct.unpack_from("<H", data, at)[0]
    return value


# -- Excel -----------------------------------------------------------------------------------------------


def extract_xls(data: bytes, name: str) -> Extracted:
    import xlrd

    # The workbook stream is taken out of the container by olefile and handed to xlrd as a bare BIFF stream,
    # which it reads as such: xlrd's own container reader spent 31 s and ran out of 3 GB on a damaged 5 KB
    # file (a sector table it believed), where olefile checks what a file's tables claim against its size.
    ole = open_ole(data, name)
    try:
        workbook = ole_stream(ole, "Workbook" if ole.exists("Workbook") else "Book", name)
        fields = summary(ole)
    finally:
        ole.close()
    blocks: list[str] = []
    try:
        # xlrd writes its warnings about a damaged file to stdout unless given somewhere else
        book = xlrd.open_workbook(file_contents=workbook, on_demand=True, logfile=io.StringIO())
        try:
            cells = 0
            for index in range(book.nsheets):
                sheet = book.sheet_by_index(index)
                cells += sheet.nrows * sheet.ncols
                check_sheet_cells(cells, name)
                rows = []
                for r in range(sheet.nrows):
                    texts = [_cell_text(sheet.cell(r, c), book.datemode) for c in range(sheet.ncols)]
                    if any(text.strip() for text in texts):
                        rows.append(texts)
                if rows:
                    blocks.append(sheet_block(sheet.name, rows, name))
                book.unload_sheet(index)
        finally:
            book.release_resources()
    except ExtractionError:
        raise
    except xlrd.XLRDError as error:
        if "encrypt" in str(error).lower():
            raise EncryptedFileError(
                f"{name}: the Excel file is encrypted with a password; save an unprotected copy, upload it"
            ) from None
        raise CorruptFileError(f"{name}: a damaged Excel 97-2003 file ({error})") from None
    except Exception as error:  # xlrd's reading of damaged records: struct, index, decoding errors
        detail = f"{type(error).__name__}: {error}"[:200]
        raise CorruptFileError(f"{name}: a damaged Excel 97-2003 file ({detail})") from None
    if not blocks:
        raise NoTextError(f"{name}: the file holds no text")
    title = fields.pop("title", None)
    return Extracted(text="\n\n".join(blocks) + "\n", title=title, format="xls", fields=fields)


def _cell_text(cell: Any, datemode: int) -> str:
    """A cell as Excel shows it, near enough: whole numbers without ``.0``, dates as ISO dates."""
    import xlrd

    if cell.ctype == xlrd.XL_CELL_NUMBER:
        return cell_text(float(cell.value))
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            if (
                cell.value < 0 and datemode == 0
            ):  # before 1900: only LibreOffice writes these, from 1899-12-30
                moment = datetime.datetime(1899, 12, 30) + datetime.timedelta(days=cell.value)
            else:
                moment = xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return str(cell.value)
        return cell_text(moment)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return cell_text(bool(cell.value))
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    return str(cell.value)
