"""Files to documents: every format :mod:`index.ingest.extract` reads (PDF, DOCX, PPTX, XLSX, CSV, EPUB,
HTML, Markdown, text), and ``.jsonl`` (a document per line, BEIR corpus format).

Document ids of files are their paths relative to the folder given (or the file name for a file given
directly), so indexing the same folder again replaces documents instead of duplicating them. Each file's
document records in its metadata where it came from (``path``), its ``format``, its ``pages`` if it has
pages, and the ``sha256`` of its bytes, by which ``semsearch sync`` tells a changed file from the same.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from index.errors import InvalidInputError
from index.ingest.extract import ExtractionError, extract, format_of, not_read
from index.ingest.extract.base import CorruptFileError, wide_text_codec
from index.ingest.extract.code import generated
from index.ingest.extract.image import read_when_named
from index.ingest.extract.properties import clean
from index.ingest.extract.text import not_utf8
from index.ingest.ignore import IGNORE_FILE, Ignores, read_ignore_file, rules_above
from index.types import Document
from index.validation import (
    MAX_TITLE_LENGTH,
    check_document,
    is_blank,
    parse_json,
    storable_text,
    text_or_title,
)

# Files of many documents read when named by themselves (an upload reads them too: index.ingest.uploaded),
# not in a folder: a ZIP beside the files it was made from would give each twice.
ARCHIVES = (".zip", ".mbox")


class SourceError(InvalidInputError):
    """A file (or a line of one) that cannot be indexed."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    relative: str  # the document id of a single-document file

    @property
    def format(self) -> str:
        """``jsonl`` (a document per line), ``archive`` (a ZIP or a mailbox named by itself: read with
        :func:`index.ingest.uploaded.read_source`), ``image`` (a picture named by itself, read by OCR),
        else the format the file's name says (a file named without a suffix: text, as an upload's is)."""
        if self.path.suffix.lower() in ARCHIVES:
            return "archive"
        if read_when_named(self.path.name):
            return "image"
        return source_format(self.path.name) or "text"


@dataclass(slots=True)
class FileContents:
    """What one uploaded file holds: its document, or an archive's documents (in path order), the problems
    of the archive's files that could not be read (each path and its error), and how many files of each
    suffix semsearch does not read were passed over (``""`` for none); ``archive`` says it was one (or a
    mailbox, :mod:`index.ingest.mailbox`), and ``paths`` where in it each document was."""

    documents: list[Document] = field(default_factory=list)
    problems: list[tuple[str, ExtractionError]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    archive: bool = False
    paths: list[str] = field(default_factory=list)  # of an archive's documents: where each is in it
    left_out: list[str] = field(default_factory=list)  # what an archive's .gitignore files leave out


def discover(
    paths: Sequence[Path],
    unsupported: Counter[str] | None = None,
    *,
    ignore: bool = True,
    left_out: list[str] | None = None,
) -> list[SourceFile]:
    """The supported files among ``paths`` and inside the folders among them (recursively, hidden ones
    skipped, and with ``ignore`` what their ``.gitignore`` files leave out: :mod:`index.ingest.ignore`),
    sorted. A missing path, or a file given by name in an unsupported format, is an error. The files of
    other types found in the folders are counted by suffix into ``unsupported`` (``""`` for none), and what
    the ignore files left out is listed in ``left_out`` (a folder with a ``/`` at its end, not entered), for
    the caller to say what it left."""
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            for file, relative in folder_files(path, ignore=ignore, left_out=left_out):
                kind = None if file.name.lower().endswith(".jsonl") else passed_over(file.name)
                if kind is None:
                    found.append(SourceFile(file, file_id(relative)))
                elif unsupported is not None:
                    unsupported[kind] += 1
        elif path.is_file():
            named = path.suffix.lower() in ARCHIVES or read_when_named(path.name)  # not read in a folder
            if source_format(path.name) is None and path.suffix and not named:
                raise SourceError(f"{path}: {not_read(path.name)}")
            found.append(SourceFile(path, file_id(path.name)))
        elif path.exists():  # a pipe, a socket, a device (or a link to one): reading it may never end
            raise SourceError(f"{path}: not a file or a folder (a pipe, a socket or a device); nothing read")
        else:
            raise SourceError(f"{path}: no such file or folder")
    return found


def folder_files(
    folder: Path, *, ignore: bool = True, left_out: list[str] | None = None
) -> list[tuple[Path, str]]:
    """The files under ``folder`` and their paths relative to it, sorted as paths are; hidden files and
    folders are passed over, and with ``ignore`` what the ``.gitignore`` files leave out (listed in
    ``left_out``). A folder passed over is not entered, and a folder reached twice through links is read
    once."""
    ignores = Ignores()
    if ignore:
        rules_above(folder, ignores)
    found: list[tuple[Path, str]] = []
    seen: set[tuple[int, int]] = set()
    for top, folders, files in os.walk(folder, followlinks=True):
        here = Path(top)
        try:
            status = here.stat()
        except OSError:
            folders.clear()
            continue
        if (status.st_dev, status.st_ino) in seen:  # a link to a folder above, or to one read already
            folders.clear()
            continue
        seen.add((status.st_dev, status.st_ino))
        prefix = here.relative_to(folder).as_posix()
        prefix = "" if prefix == "." else prefix
        if ignore and (text := read_ignore_file(here / IGNORE_FILE)) is not None:
            ignores.add(prefix, text)

        def kept(name: str, *, is_dir: bool, prefix: str = prefix) -> bool:
            if name.startswith("."):
                return False
            relative = f"{prefix}/{name}" if prefix else name
            if ignores and ignores.matches(relative, is_dir=is_dir):
                if left_out is not None:
                    left_out.append(relative + ("/" if is_dir else ""))
                return False
            return True

        folders[:] = sorted(name for name in folders if kept(name, is_dir=True))  # the same walk each time
        for name in sorted(files):  # and left_out in the same order each time
            if kept(name, is_dir=False) and (here / name).is_file():
                found.append((here / name, f"{prefix}/{name}" if prefix else name))
    found.sort(key=lambda item: item[1].split("/"))
    return found


# The owner file Word, Excel and PowerPoint keep beside a document while it is open (``~$report.docx``: 162
# bytes naming whoever opened it, under the document's suffix). In any folder of Office files that someone
# is working in, it was "skipped: ... named as DOCX but the bytes are not; is it damaged?" at every sync.
OFFICE_OWNER_PREFIX = "~$"
# What Windows writes into a folder for its own display (an icon, a localised name), read as a .ini file;
# hidden on Windows, but not once the folder is copied elsewhere, synced or shared.
FOLDER_SETTINGS = "desktop.ini"


def passed_over(name: str) -> str | None:
    """What a file named ``name``, found in a folder or an archive, is counted under among the files not
    read, or ``None`` if it is read: its suffix (``""`` for none), or the name of a file a tool writes for
    tools under a suffix that is read (a lock file, a minified script: index.ingest.extract.code; an Office
    owner file, :data:`OFFICE_OWNER_PREFIX`; Windows' :data:`FOLDER_SETTINGS`)."""
    path = PurePath(name)
    if generated(name) or path.name.startswith(OFFICE_OWNER_PREFIX) or path.name.lower() == FOLDER_SETTINGS:
        return path.name
    return path.suffix.lower() if format_of(name) is None else None


def source_format(name: str) -> str | None:
    """The format of a file named ``name`` for indexing: a file's (:func:`~index.ingest.extract.format_of`),
    or ``jsonl`` (a document per line), or ``None``."""
    return "jsonl" if name.lower().endswith(".jsonl") else format_of(name)


def describe_unsupported(unsupported: Counter[str]) -> str:
    """``unsupported`` (from :func:`discover`) in a line: "12 files of types semsearch does not read (.ppt 9,
    .key 2, no suffix 1)"."""
    order = sorted(unsupported.items(), key=lambda item: (-item[1], item[0] == "", item[0]))
    kinds = ", ".join(f"{suffix or 'no suffix'} {count}" for suffix, count in order)
    total = sum(unsupported.values())
    return f"{total} file{'s' if total != 1 else ''} of types semsearch does not read ({kinds})"


def describe_left_out(left_out: Sequence[str], shown: int = 5) -> str:
    """``left_out`` (from :func:`discover`) in a line: "3 paths .gitignore files leave out (build/,
    node_modules/, debug.log)"."""
    more = len(left_out) - shown
    names = ", ".join(left_out[:shown]) + (f" and {more} more" if more > 0 else "")
    return f"{len(left_out)} path{'s' if len(left_out) != 1 else ''} .gitignore files leave out ({names})"


def file_id(name: str) -> str:
    """A file's path (or name) as a document id: as the file system or the browser gives it, except that

    - a byte that is not UTF-8 (a Latin-1 name from an old archive) is written ``\\xNN``, so that the id is
      valid text, and the same on every run (``semsearch sync`` finds it again);
    - accents are composed (Unicode NFC): macOS (its older file system, and Safari's uploads) gives "café" as
      "cafe" and a combining accent, and the id should be the one a user types, whichever machine the file
      came from, as git's ``core.precomposeUnicode`` makes paths.
    """
    readable = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return unicodedata.normalize("NFC", readable)


def read_documents(
    source: SourceFile, encoding: str | None = None, on_skip: Callable[[str], object] | None = None
) -> Iterator[Document]:
    """The documents in one file; a text file that is not UTF-8 and does not say its encoding is read in
    ``encoding`` (see :func:`~index.ingest.extract.extract`). Raises :class:`SourceError` naming the file
    (and line) on bad input; a JSON Lines record that cannot be stored is left out with a note to
    ``on_skip`` (:func:`json_lines_documents`)."""
    if source.format == "jsonl":
        try:
            with source.path.open("rb") as stream:
                yield from jsonl_documents(stream, str(source.path), encoding, on_skip)
        except OSError as error:
            raise SourceError(f"{source.path}: cannot be read ({error.strerror})") from error
        return
    data = _read_bytes(source.path)
    try:
        yield file_document(source.relative, str(source.path), data, {"path": source.relative}, encoding)
    except ExtractionError as error:
        raise SourceError(str(error)) from None


def file_document(
    doc_id: str, name: str, data: bytes, metadata: dict[str, Any] | None = None, encoding: str | None = None
) -> Document:
    """The document of one file's bytes: its extracted text (a text file that is not UTF-8 read in
    ``encoding``), its title (or the file's stem), and ``metadata`` with ``format``, ``pages`` (paged
    formats) and ``sha256`` added. Raises :class:`~index.ingest.extract.ExtractionError`."""
    extracted = extract(data, name, encoding)
    # The file's own fields (front matter), then the caller's metadata, then what is known of the file.
    recorded: dict[str, Any] = {**extracted.fields, **(metadata or {}), "format": extracted.format}
    if extracted.pages is not None:
        recorded["pages"] = extracted.pages
    recorded["sha256"] = hashlib.sha256(data).hexdigest()
    # A file's title is whatever its maker wrote (a PDF's Title can hold a whole abstract): one line, cut
    # to fit MAX_TITLE_LENGTH, as its other properties are.
    title = clean(extracted.title) or file_id(PurePath(name).stem)[:MAX_TITLE_LENGTH]
    return Document(id=doc_id, text=extracted.text, title=title, metadata=recorded)


def count_documents(source: SourceFile) -> int:
    """Read and check a whole file; the number of documents in it. Raises :class:`SourceError`."""
    return sum(1 for _ in read_documents(source))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror})") from error


def jsonl_documents(
    data: bytes | BinaryIO,
    name: str,
    encoding: str | None = None,
    on_skip: Callable[[str], object] | None = None,
    *,
    title_in_text: bool = False,
) -> Iterator[Document]:
    """The documents of JSON Lines (bytes, or a file open for reading them; ``name`` in messages), read a
    line at a time as :func:`decoded_lines` decodes them and :func:`json_lines_documents` reads them."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    read = 0

    def counted(lines: Iterator[str]) -> Iterator[str]:
        nonlocal read
        for line in lines:
            read += bool(line.strip())
            yield line

    try:
        yield from json_lines_documents(
            counted(decoded_lines(stream, name, encoding)), name, on_skip, title_in_text=title_in_text
        )
    except ExtractionError as error:
        raise SourceError(str(error)) from None
    if not read:
        raise SourceError(f"{name}: the file is empty")


# How much of a JSON Lines file in UTF-16 or UTF-32 is decoded at a time.
_WIDE_BLOCK = 1 << 20


def decoded_lines(stream: BinaryIO, name: str, encoding: str | None = None) -> Iterator[str]:
    """The lines of JSON Lines in ``stream``, one at a time, so that a corpus of gigabytes is never held
    whole: UTF-8 (a byte order mark dropped), UTF-16 or UTF-32 with a byte order mark, or a line that is
    not UTF-8 in ``encoding`` (:func:`~index.ingest.extract.text.decode`'s rules, a line at a time; without
    ``encoding`` such a line is refused, naming it). A line ends at "\\n" alone: a JSON string may hold
    U+2028 or U+0085 as they are (json.dumps with ensure_ascii=False writes them so), where
    str.splitlines would end the line too."""
    if stream.seekable():
        wide = wide_text_codec(stream.read(4))
        stream.seek(0)
    else:  # a pipe (standard input as it is): looked at without being read
        wide = wide_text_codec(getattr(stream, "peek", lambda _: b"")(4)[:4])
    if wide is not None:
        yield from _wide_lines(stream, wide, name)
        return
    offset = 0
    for number, raw in enumerate(stream, start=1):
        start = offset
        offset += len(raw)
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
            start += len(codecs.BOM_UTF8)
            if not raw:  # the mark alone
                return
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if encoding is None:
                raise not_utf8(raw, error.start, f"{name}:{number}", offset=start) from None
            line = raw.decode(encoding, errors="replace")
        yield line.removesuffix("\n")


def _wide_lines(stream: BinaryIO, codec: str, name: str) -> Iterator[str]:
    """The lines of a stream in UTF-16 or UTF-32 (its byte order mark first), decoded a block at a time."""
    decoder = codecs.getincrementaldecoder(codec)()
    line: list[str] = []  # the pieces of a line that spans blocks, joined once it ends
    offset = 0
    while True:
        block = stream.read(_WIDE_BLOCK)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as error:
            raise CorruptFileError(
                f"{name}: starts as {codec.upper()} but is not (bad byte at offset {offset + error.start})"
            ) from None
        offset += len(block)
        *ended, rest = text.split("\n")
        for piece in ended:
            yield "".join([*line, piece])
            line = []
        line.append(rest)
        if not block:
            if last := "".join(line):  # as a file's lines: no empty one after the last "\n"
                yield last
            return


# A JSON Lines record's own fields; any other is kept in its document's metadata.
RECORD_FIELDS = frozenset({"_id", "id", "text", "title", "metadata"})


def json_lines_documents(
    lines: Iterable[str],
    name: str,
    on_skip: Callable[[str], object] | None = None,
    *,
    title_in_text: bool = False,
) -> Iterator[Document]:
    """The documents of JSON Lines: an object a line with ``_id`` or ``id`` (a string or a number),
    ``text``, and optionally ``title``, ``metadata`` and other fields (kept in the metadata; ``metadata``'s
    own keys win), as BEIR corpora and ``semsearch export`` write them.

    What real corpora hold and BEIR's own loader takes is mended, not refused: a record with a title and
    no text (a paper without an abstract) is its title; a title longer than a title can be goes in front of
    the text; NUL characters are dropped and unpaired surrogates (JSON's ``"\\ud800"``) become "?". A
    record that still cannot be stored (no text at all, an id no document can have, metadata out of
    bounds: :func:`~index.validation.check_document`) is left out with a note to ``on_skip``: the rest of
    a corpus is not held back by it. A line that is not such an object (a truncated download, another
    format) raises :class:`SourceError` naming it. With ``title_in_text`` (BEIR's evaluation), every
    document's text is its title, a blank line, and its text."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        document = _record_document(_json_object(line, where), where, title_in_text)
        try:
            check_document(f"{where}: document {document.id[:80]!r}", document)
        except InvalidInputError as error:
            if on_skip is not None:
                on_skip(f"{error}; left out")
            continue
        yield document


def _json_object(line: str, where: str) -> dict[str, Any]:
    try:
        record = parse_json(line, where, if_invalid=": a truncated or damaged file?")
    except InvalidInputError as error:
        raise SourceError(str(error)) from None
    if not isinstance(record, dict):
        raise SourceError(f"{where}: each line must be a JSON object")
    return record


def _record_document(record: dict[str, Any], where: str, title_in_text: bool) -> Document:
    """A JSON Lines record's document, mended as :func:`json_lines_documents` says; :class:`SourceError`
    if its fields are not what the format has."""
    doc_id = record.get("_id", record.get("id"))
    if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
        raise SourceError(f"{where}: needs an '_id' or 'id' (a string or a number)")
    fields = {"text": record.get("text"), "title": record.get("title")}
    for key, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise SourceError(f"{where}: '{key}' must be a string, not {type(value).__name__}")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise SourceError(f"{where}: 'metadata' must be an object")
    # A title as it is (what semsearch export wrote reads back the same), but in BEIR's evaluation, which
    # has always stripped it; a blank one is none.
    title = storable_text(fields["title"] or "")
    title = title.strip() if title_in_text or not title.strip() else title
    text = storable_text(fields["text"] or "")
    if title and not is_blank(text) and (title_in_text or len(title) > MAX_TITLE_LENGTH):
        text = f"{title}\n\n{text}"
    text = text_or_title(text, title)
    extras = {key: value for key, value in record.items() if key not in RECORD_FIELDS}
    return Document(
        id=str(doc_id),
        text=text,
        title=title if 0 < len(title) <= MAX_TITLE_LENGTH else None,
        metadata={**extras, **metadata},
    )
