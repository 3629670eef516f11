"""E-mail saved as a file (``.eml``, RFC 5322 with MIME: what Outlook, Thunderbird, Apple Mail and Gmail's
"Download message" write), read with the standard library's email package.

The subject is the title; who wrote it and when are metadata (``author``, ``created``) and also the first
lines of the text, with whom it went to, so that a search for a correspondent finds the message. The body is
its plain-text part, or else its HTML part read as a web page (without a newsletter's menu); attachments
are named at the end, not read (upload them as files of their own).
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from index.ingest.extract.base import (
    CorruptFileError,
    Extracted,
    ExtractionError,
    NoTextError,
    check_markup,
    markup_elements,
)
from index.ingest.extract.properties import file_fields
from index.ingest.extract.text import MAX_HTML_ELEMENTS, read_html

_HEADERS = ("From", "To", "Cc", "Date")


def extract_eml(data: bytes, name: str) -> Extracted:
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(data)
        assert isinstance(message, EmailMessage)  # the default policy's message class
        subject = _header(message, "Subject")
        lines = [f"{header}: {value}" for header in _HEADERS if (value := _header(message, header))]
        body = _body(message, name)
        named = [str(a.get_filename() or "") for a in message.iter_attachments()]
        named = [attachment for attachment in named if attachment.strip()]
    except ExtractionError:
        raise
    except Exception as error:  # the email package's own, on MIME it cannot make sense of
        raise CorruptFileError(f"{name}: not a readable e-mail ({type(error).__name__}: {error})") from None
    blocks = [block for block in ("\n".join(lines), body) if block.strip()]
    if named:
        blocks.append("Attachments: " + ", ".join(named))
    if not body.strip():
        raise NoTextError(f"{name}: the message has no text (only headers and attachments)")
    fields = file_fields(author=_header(message, "From"), subject=subject, created=_date(message))
    return Extracted(text="\n\n".join(blocks) + "\n", title=subject, format="eml", fields=fields)


def _header(message: Message, name: str) -> str | None:
    """A header's value as text, on one line; None if absent or unreadable."""
    try:
        value = message.get(name)
        text = " ".join(str(value).split()) if value is not None else ""
    except Exception:  # a header the email package cannot parse is left out, not the message
        return None
    return text or None


def _date(message: Message) -> str | None:
    raw = _header(message, "Date")
    try:
        return parsedate_to_datetime(raw).isoformat() if raw else None
    except (ValueError, TypeError):
        return None


def _body(message: EmailMessage, name: str) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset, a damaged transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        check_markup(markup_elements(content), MAX_HTML_ELEMENTS, name, "message")
        return read_html(content)[1].strip()
    return content.replace("\r\n", "\n").strip()
