"""E-mail saved as a file: ``.eml`` (RFC 5322 with MIME: what Thunderbird, Apple Mail and Gmail's "Download
message" write), read with the standard library's email package, and Outlook's ``.msg`` (what dragging a
message out of Outlook on Windows makes: [MS-OXMSG], an OLE2 file of MAPI properties), read with
python-oxmsg.

The subject is the title; who wrote it and when are metadata (``author``, ``created``) and also the first
lines of the text, with whom it went to, so that a search for a correspondent finds the message. The body is
its plain-text part, or else its HTML part read as a web page (without a newsletter's menu); attachments
are named at the end, not read (upload them as files of their own).
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, parsedate_to_datetime

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
    return _message(name, "eml", subject, lines, body, named, _header(message, "From"), _date(message))


def _message(
    name: str,
    fmt: str,
    subject: str | None,
    lines: list[str],
    body: str,
    attachments: list[str],
    author: str | None,
    created: str | None,
) -> Extracted:
    """A message's document: who wrote it to whom and when (``lines``), its body, the names of its
    attachments; the subject is the title."""
    if not body.strip():
        raise NoTextError(f"{name}: the message has no text (only headers and attachments)")
    blocks = [block for block in ("\n".join(lines), body) if block.strip()]
    if attachments:
        blocks.append("Attachments: " + ", ".join(attachments))
    fields = file_fields(author=author, subject=subject, created=created)
    return Extracted(text="\n\n".join(blocks) + "\n", title=subject, format=fmt, fields=fields)


# MAPI properties of a message read beside what python-oxmsg names: whom it went to, as Outlook shows it.
_DISPLAY_TO, _DISPLAY_CC = 0x0E04, 0x0E03


def extract_msg(data: bytes, name: str) -> Extracted:
    from oxmsg import Message as OutlookMessage

    try:
        message = OutlookMessage.load(data)
        subject = _one_line(message.subject)
        sender = _one_line(message.sender)
        to = _one_line(message.properties.str_prop_value(_DISPLAY_TO)) or _one_line(
            "; ".join(recipient.name or recipient.email_address for recipient in message.recipients)
        )
        cc = _one_line(message.properties.str_prop_value(_DISPLAY_CC))
        sent = message.sent_date
        body = (message.body or "").replace("\r\n", "\n").strip()
        html = message.html_body if not body else None
        named = [_one_line(attachment.file_name) for attachment in message.attachments]
    except Exception as error:  # python-oxmsg's own, on properties it cannot make sense of
        raise CorruptFileError(
            f"{name}: not a readable Outlook message ({type(error).__name__}: {error})"
        ) from None
    if html:
        check_markup(markup_elements(html), MAX_HTML_ELEMENTS, name, "message")
        body = read_html(html)[1].strip()
    created = sent.isoformat() if sent is not None else None
    lines = [f"{header}: {value}" for header, value in (("From", sender), ("To", to), ("Cc", cc)) if value]
    if sent is not None:
        lines.append(f"Date: {format_datetime(sent)}")
    attachments = [attachment for attachment in named if attachment]
    return _message(name, "msg", subject, lines, body, attachments, sender, created)


def _one_line(value: str | None) -> str | None:
    """A property's text on one line (NULs dropped); None if blank."""
    text = " ".join((value or "").replace("\x00", "").split())
    return text or None


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
