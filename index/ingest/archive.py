"""A ZIP archive of files read as the folder it was made from: each file in it that semsearch reads becomes a
document, as if the archive had been unpacked and its files uploaded with their paths.

A file's document id is its path in the archive (``handbook/intro.md``; Windows' backslashes made slashes, a
leading ``/`` or ``./`` dropped), after the caller's prefix; its metadata records the ``archive`` and the
``path``. Folders, hidden files (a name part starting with ``.``) and macOS's ``__MACOSX/`` copies are passed
over, as :func:`index.ingest.sources.discover` passes them over in a folder; files of types semsearch does
not read (pictures beside the text, an archive inside the archive) are counted by suffix in ``skipped``, for
the caller to report; a mailbox in it (``.mbox``, as Google Takeout packs mail) is read as its messages
(:mod:`index.ingest.mailbox`). A file that cannot be read is a problem of its own, named by its path, beside
the documents of the others: the caller decides what to refuse.

What an archive may cost is bounded before anything in it is read: the list of its members
(:data:`~index.ingest.extract.base.MAX_ZIP_DIRECTORY_BYTES`), the bytes they unpack to
(:data:`~index.ingest.extract.dispatch.MAX_UNZIPPED_BYTES`, by the sizes its list states, past which zipfile
inflates nothing), and each one (``max_file_bytes``, as for an uploaded file).
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from index.ingest import mailbox
from index.ingest.extract import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionError,
    UnsupportedFormatError,
)
from index.ingest.extract.base import DAMAGED_ZIP, open_zip
from index.ingest.ignore import IGNORE_FILE, MAX_IGNORE_BYTES, Ignores, ignore_text
from index.ingest.sources import (
    FileContents,
    describe_left_out,
    describe_unsupported,
    file_document,
    file_id,
    passed_over,
)

# Folders a ZIP made on a Mac holds beside the files: resource forks, not documents.
_MAC_FORKS = "__MACOSX"


class MemberTooLargeError(ExtractionError):
    """A file in an archive larger than one file may be."""


class EmptyArchiveError(UnsupportedFormatError):
    """An archive without a file semsearch reads."""


def read_archive(
    name: str,
    data: bytes,
    *,
    metadata: Mapping[str, Any] | None,
    encoding: str | None,
    id_prefix: str,
    max_file_bytes: int,
) -> FileContents:
    """The documents of the files in the ZIP archive ``data`` (see the module's text), which :func:`sniff`
    found to unpack to at most :data:`MAX_UNZIPPED_BYTES`."""
    contents = FileContents(archive=True)
    skipped: Counter[str] = Counter()
    with open_zip(data, name) as archive:
        members = sorted(
            ((path, info) for info in archive.infolist() if (path := member_path(info.filename)) is not None),
            key=lambda item: item[0],
        )
        ignores = _ignore_rules(archive, name)
        for path, info in members:
            if ignores and (where := ignores.left_out_at(path)) is not None:
                if where not in contents.left_out[-1:]:  # members are in path order: a folder's are together
                    contents.left_out.append(where)
                continue
            suffix = PurePosixPath(path).suffix.lower()
            if suffix != ".mbox" and (kind := passed_over(path)) is not None:
                skipped[kind] += 1
                continue
            where = f"{name}: {path}"
            fields = {**(metadata or {}), "archive": name, "path": path}
            try:
                member = _member_bytes(archive, info, where, max_file_bytes)
                if suffix == ".mbox":  # Google Takeout's shape: a ZIP holding Takeout/Mail/<label>.mbox
                    _add_mailbox(contents, path, member, fields, id_prefix)
                    continue
                document = file_document(id_prefix + path, where, member, fields, encoding)
            except ExtractionError as error:
                contents.problems.append((path, error))
                continue
            contents.documents.append(document)
            contents.paths.append(path)
    contents.skipped = dict(skipped)
    if not contents.documents and not contents.problems:
        passed = [describe_unsupported(skipped)] if skipped else []
        passed += [describe_left_out(contents.left_out)] if contents.left_out else []
        raise EmptyArchiveError(
            f"{name}: a ZIP archive with no file semsearch reads in it: "
            + ("; ".join(passed) or "it is empty")
        )
    return contents


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, max_file_bytes: int) -> bytes:
    if info.flag_bits & 0x1:
        raise EncryptedFileError(f"{where}: encrypted in the archive; upload an unprotected one")
    if info.file_size > max_file_bytes:
        raise MemberTooLargeError(
            f"{where}: {info.file_size} bytes, above the limit of {max_file_bytes} for one file "
            "(SEMSEARCH_MAX_FILE_BYTES)"
        )
    try:
        return archive.read(info)
    except DAMAGED_ZIP as error:
        raise CorruptFileError(f"{where}: damaged in the archive ({error})") from None


def _add_mailbox(
    contents: FileContents, path: str, data: bytes, fields: dict[str, Any], id_prefix: str
) -> None:
    """The messages of the mailbox at ``path`` in the archive, each a document, into ``contents``: as many
    as one mailbox may hold, less what the archive gave already (a ZIP of many mailboxes is held to the
    same number of messages as one)."""
    mailbox.require_mailbox(data, path)
    fields.pop("path")
    budget = mailbox.MAX_MESSAGES - len(contents.documents) - len(contents.problems)
    messages = mailbox.read_mailbox(path, data, fields, id_prefix, budget)
    contents.documents.extend(messages.documents)
    contents.paths.extend(f"{path}/{label}" for label in messages.paths)
    contents.problems.extend((f"{path}/{label}", error) for label, error in messages.problems)


def member_path(name: str) -> str | None:
    """The path a ZIP member's name stands for, as a document id would hold it, or None for a folder, a
    hidden file (a part that starts with ``.``) or a macOS resource fork (under ``__MACOSX/``)."""
    parts = _parts(name)
    if not parts or name.endswith(("/", "\\")):
        return None
    if parts[0] == _MAC_FORKS or any(part.startswith(".") for part in parts):
        return None
    return "/".join(parts)


def _parts(name: str) -> list[str]:
    return [part for part in file_id(name).replace("\\", "/").split("/") if part not in ("", ".")]


def _ignore_rules(archive: zipfile.ZipFile, name: str) -> Ignores:
    """The rules of the ``.gitignore`` files in the archive (not in hidden folders or ``__MACOSX/``), each
    applying under its folder, as in a folder on disk (:mod:`index.ingest.ignore`)."""
    ignores = Ignores()
    for info in archive.infolist():
        parts = _parts(info.filename)
        if not parts or parts[-1] != IGNORE_FILE or member_path("/".join([*parts[:-1], "x"])) is None:
            continue
        if info.flag_bits & 0x1 or info.file_size > MAX_IGNORE_BYTES:
            continue
        try:
            text = ignore_text(archive.read(info), f"{name}: {'/'.join(parts)}")
        except DAMAGED_ZIP:
            continue
        if text is not None:
            ignores.add("/".join(parts[:-1]), text)
    return ignores
