"""A mailbox (``.mbox``: what Gmail's Takeout, Thunderbird and Apple Mail export) read as its messages: each
becomes a document, read as a saved ``.eml`` is (:mod:`index.ingest.extract.mail`), with its sender, subject
and date as metadata, so that one message is found, filtered and cited on its own rather than as a page of a
document of thousands.

The format is a file of messages each opening with a ``From `` line (the "From_" line, which is not a
header); a body line that starts with ``From `` is written ``>From `` (and ``>From `` as ``>>From ``: mboxrd,
Gmail's), so a message starts at every line that starts with ``From ``, as Python's :mod:`mailbox` reads it,
and one ``>`` is taken from each quoted line.

A message's document id is the mailbox's name, a slash and its ``Message-ID`` (without its angle brackets):
the same message exported again gets the same id, so uploading a newer export replaces the messages it
shares with the older one. A message without one (or with one an earlier message has, or that makes no
id) is numbered by its place in the file instead (``message-12``). Gmail's labels (``X-Gmail-Labels``) become
a ``labels`` list, to filter by as a folder. A message that cannot be read (one with
attachments and no text) is a problem of its own, as a file in a ZIP archive is (:mod:`index.ingest.archive`).
"""

from __future__ import annotations

import csv
import email.policy
import re
from collections.abc import Iterator, Mapping
from email.parser import BytesParser
from typing import Any

from index.errors import InvalidInputError
from index.ingest.extract import CorruptFileError, ExtractionError, UnsupportedFormatError
from index.ingest.extract.dispatch import NOT_READ
from index.ingest.sources import FileContents, file_document, file_id
from index.validation import check_id

_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)
# The most messages read from one mailbox: about as many files as a ZIP's bounded list of members holds
# (index.ingest.extract.base.MAX_ZIP_DIRECTORY_BYTES), and more than a mailbox under the default size limit
# (200 MiB) holds of real mail. Without it, 200 MiB of empty messages ("From \n\n", 7 bytes each) would be
# 30 million of them: some 10 minutes and tens of gigabytes to read (100,000 took 2.3 s and 184 MB, ad hoc).
MAX_MESSAGES = 100_000
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def is_mailbox(data: bytes, name: str) -> bool:
    """Whether ``data`` is a mailbox: named ``.mbox`` and opening with a ``From `` line."""
    return name.lower().endswith(".mbox") and data.lstrip(b"\r\n").startswith(b"From ")


def require_mailbox(data: bytes, name: str) -> None:
    """:class:`UnsupportedFormatError` unless ``data`` is a mailbox (:func:`is_mailbox`)."""
    if not is_mailbox(data, name):
        raise UnsupportedFormatError(f"{name}: {NOT_READ['.mbox']}")


def messages(data: bytes) -> Iterator[bytes]:
    """Each message of a mailbox, without its ``From `` line, its quoted ``From`` lines unquoted once."""
    starts = [match.start() for match in _FROM_LINE.finditer(data)]
    for start, end in zip(starts, [*starts[1:], len(data)], strict=True):
        newline = data.find(b"\n", start, end)
        body = data[newline + 1 : end] if newline >= 0 else b""
        yield _QUOTED_FROM.sub(rb"\1", body)


def read_mailbox(
    name: str, data: bytes, metadata: Mapping[str, Any] | None, id_prefix: str, limit: int | None = None
) -> FileContents:
    """The documents of the messages of the mailbox ``data`` (one :func:`is_mailbox` took for one; see the
    module's text), of which there may be at most ``limit`` (:data:`MAX_MESSAGES`)."""
    limit = MAX_MESSAGES if limit is None else limit
    found = data.count(b"\nFrom ") + data.startswith(b"From ")  # the From_ lines, as _FROM_LINE finds them
    if found > limit:
        raise CorruptFileError(
            f"{name}: {found:,} messages, more than the {limit:,} read from one mailbox (or its archive); "
            "upload it in parts (Google Takeout exports a mailbox per label)"
        )
    contents = FileContents(archive=True)
    box = file_id(name)
    seen: set[str] = set()
    for number, message in enumerate(messages(data), start=1):
        label = f"message-{number}"
        message_id, labels = _headers(message)
        doc_id = f"{id_prefix}{box}/{message_id}"
        if not message_id or doc_id in seen or not _valid_id(doc_id):
            doc_id = f"{id_prefix}{box}/{label}"
        seen.add(doc_id)
        fields: dict[str, Any] = {**(metadata or {}), "mailbox": name, "message": number}
        if labels:
            fields["labels"] = labels
        try:
            # Read as the .eml it would be if saved alone, under a name that says where it is.
            contents.documents.append(file_document(doc_id, f"{name}/{label}.eml", message, fields))
            contents.paths.append(label)
        except ExtractionError as error:
            contents.problems.append((label, error))
    return contents


def _headers(message: bytes) -> tuple[str, list[str]]:
    """The message's Message-ID without its angle brackets ("" for none), and its Gmail labels (Takeout's
    ``X-Gmail-Labels``: ``Inbox,Important,"Travel, 2026"``)."""
    try:
        headers = BytesParser(policy=email.policy.default).parsebytes(message, headersonly=True)
        message_id = " ".join(str(headers.get("Message-ID") or "").split()).strip("<>")
        raw = " ".join(str(headers.get("X-Gmail-Labels") or "").split())
    except Exception:  # headers the email package cannot parse: the message is numbered, without labels
        return "", []
    labels = next(csv.reader([raw], skipinitialspace=True), []) if raw else []
    return message_id, [label for label in dict.fromkeys(label.strip() for label in labels) if label]


def _valid_id(doc_id: str) -> bool:
    try:
        check_id("a message id", doc_id)
    except InvalidInputError:
        return False
    return True
