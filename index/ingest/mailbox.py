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
id) is numbered by its place in the file instead (``#12``). A message that cannot be read (one with
attachments and no text) is a problem of its own, as a file in a ZIP archive is (:mod:`index.ingest.archive`).
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Iterator, Mapping
from email.parser import BytesParser
from typing import Any

from index.errors import InvalidInputError
from index.ingest.archive import FileContents
from index.ingest.extract import ExtractionError
from index.ingest.sources import file_document, file_id
from index.validation import check_id

_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def is_mailbox(data: bytes, name: str) -> bool:
    """Whether ``data`` is a mailbox: named ``.mbox`` and opening with a ``From `` line."""
    return name.lower().endswith(".mbox") and data.lstrip(b"\r\n").startswith(b"From ")


def messages(data: bytes) -> Iterator[bytes]:
    """Each message of a mailbox, without its ``From `` line, its quoted ``From`` lines unquoted once."""
    starts = [match.start() for match in _FROM_LINE.finditer(data)]
    for start, end in zip(starts, [*starts[1:], len(data)], strict=True):
        newline = data.find(b"\n", start, end)
        body = data[newline + 1 : end] if newline >= 0 else b""
        yield _QUOTED_FROM.sub(rb"\1", body)


def read_mailbox(name: str, data: bytes, metadata: Mapping[str, Any] | None, id_prefix: str) -> FileContents:
    """The documents of the messages of the mailbox ``data`` (one :func:`is_mailbox` took for one; see the
    module's text)."""
    contents = FileContents(archive=True)
    box = file_id(name)
    seen: set[str] = set()
    for number, message in enumerate(messages(data), start=1):
        label = f"#{number}"
        doc_id = _message_id(message, f"{id_prefix}{box}/", seen) or f"{id_prefix}{box}/{label}"
        seen.add(doc_id)
        fields = {**(metadata or {}), "mailbox": name, "message": number}
        try:
            # Read as the .eml it would be if saved alone, under a name that says where it is.
            contents.documents.append(file_document(doc_id, f"{name}/{label}.eml", message, fields))
            contents.paths.append(label)
        except ExtractionError as error:
            contents.problems.append((label, error))
    return contents


def _message_id(message: bytes, prefix: str, seen: set[str]) -> str | None:
    """``prefix`` and the message's Message-ID, if it has one that makes a new, valid id."""
    try:
        header = BytesParser(policy=email.policy.default).parsebytes(message, headersonly=True)["Message-ID"]
    except Exception:  # a header the email package cannot parse: the message is numbered instead
        return None
    value = " ".join(str(header or "").split()).strip("<>")
    if not value:
        return None
    doc_id = prefix + value
    try:
        check_id("a message id", doc_id)
    except InvalidInputError:
        return None
    return None if doc_id in seen else doc_id
